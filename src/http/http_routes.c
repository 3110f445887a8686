/*
 * http_routes.c - what the web role answers: on https the client setup documents
 * (Thunderbird autoconfig, Outlook autodiscover) and the MTA-STS policy, 404 for
 * the rest; on http a 301 to https. Every reply carries the same security headers.
 */
#include "http/httpd.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "cli/dns_records.h"
#include "http/http_host.h"
#include "http/http_reply.h"
#include "http/mail_setup.h"
#include "util/buf.h"
#include "util/escape.h"
#include "util/log.h"

#define HSTS_MAX_AGE 31536000 /* a year */

static void
log_request(struct evhttp_request *req, int code)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *uri = evhttp_request_get_uri(req);
	char *peer = NULL, path[ESC_SIZE(200)];
	ev_uint16_t port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	esc_text(path, sizeof path, uri ? uri : "", uri ? strnlen(uri, 200) : 0, ESC_BACKSLASH);
	log_info("%s %s %d", peer ? peer : "?", path, code);
}

/* reply - code with body (may be NULL) of content type, and the headers every reply has. */
static void
reply(struct evhttp_request *req, bool tls, int code, const char *reason, const char *type,
    const struct buf *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (tls) {
		char v[64];
		snprintf(v, sizeof v, "max-age=%u", HSTS_MAX_AGE);
		evhttp_add_header(h, "Strict-Transport-Security", v);
	}
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	if (out != NULL && body != NULL && body->len > 0 && evbuffer_add(out, body->data, body->len) < 0)
		code = HTTP_INTERNAL, reason = "Internal Server Error";
	log_request(req, code);
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

/* status_reason - the phrase of the statuses the JSON replies carry. */
static const char *
status_reason(int status)
{
	switch (status) {
	case HTTP_OK:
		return "OK";
	case HTTP_BADREQUEST:
		return "Bad Request";
	case HTTP_NOTFOUND:
		return "Not Found";
	case HTTP_BADMETHOD:
		return "Method Not Allowed";
	case HTTP_SERVUNAVAIL:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void
http_reply_json(struct evhttp_request *req, int status, const struct buf *json)
{
	reply(req, true, status, status_reason(status), "application/json", json);
}

static void
reply_text(struct evhttp_request *req, bool tls, int code, const char *reason)
{
	struct buf b = { 0 };
	if (buf_printf(&b, "%s\n", reason) < 0)
		buf_free(&b);
	reply(req, tls, code, reason, "text/plain; charset=utf-8", &b);
	buf_free(&b);
}

static void
reply_doc(struct evhttp_request *req, const char *type, struct buf *doc, int rc)
{
	if (rc < 0)
		reply_text(req, true, HTTP_INTERNAL, "Internal Server Error");
	else
		reply(req, true, HTTP_OK, "OK", type, doc);
	buf_free(doc);
}

/* hosted - domain (lower-cased) is one of ours, as lookupd lists them (LK_DOMAINS). */
static bool
hosted(struct httpd *srv, const char *domain)
{
	struct strlist domains = { 0 };
	char err[256];
	bool found = false;

	if (accounts_domain_list(srv->acct, &domains, err, sizeof err) < 0) {
		log_err("cannot list the hosted domains: %s", err);
		return false;
	}
	for (size_t i = 0; i < domains.n && !found; i++)
		found = strcasecmp(domains.v[i], domain) == 0;
	strlist_free(&domains);
	return found;
}

/* setup_for - the settings for mb when its domain is hosted; false otherwise. */
static bool
setup_for(struct httpd *srv, const struct mailbox *mb, const char *email, struct mail_setup *s)
{
	const struct config *cfg = srv->cfg;

	if (mb->domain[0] == '[' || !hosted(srv, mb->domain))
		return false;
	*s = (struct mail_setup){ .hostname = cfg->hostname, .domain = mb->domain, .email = email,
		.pop3s = config_service_port(cfg, SVC_POP3S),
		.pop3 = config_service_port(cfg, SVC_POP3),
		.submissions = config_service_port(cfg, SVC_SUBMISSIONS),
		.submission = config_service_port(cfg, SVC_SUBMISSION) };
	return true;
}

static void
autoconfig(struct httpd *srv, struct evhttp_request *req, const struct evhttp_uri *uri)
{
	struct evkeyvalq q = { 0 };
	const char *query = evhttp_uri_get_query(uri);
	struct mailbox mb;
	struct mail_setup s;
	char email[ADDR_MAX + 1];

	const char *addr = query != NULL && evhttp_parse_query_str(query, &q) == 0 ?
	    evhttp_find_header(&q, "emailaddress") : NULL;
	if (addr == NULL || address_parse(addr, strlen(addr), &mb, 0) < 0) {
		evhttp_clear_headers(&q);
		reply_text(req, true, HTTP_BADREQUEST, "Bad Request");
		return;
	}
	evhttp_clear_headers(&q);
	address_format(&mb, email, sizeof email);
	if (!setup_for(srv, &mb, email, &s)) {
		reply_text(req, true, HTTP_NOTFOUND, "Not Found");
		return;
	}
	struct buf doc = { 0 };
	reply_doc(req, "text/xml; charset=utf-8", &doc, mail_setup_autoconfig(&s, &doc));
}

static void
autodiscover(struct httpd *srv, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct mailbox mb;
	struct mail_setup s;
	char email[ADDR_MAX + 1];

	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (body == NULL || mail_setup_request_address(body, len, &mb) < 0) {
		reply_text(req, true, HTTP_BADREQUEST, "Bad Request");
		return;
	}
	address_format(&mb, email, sizeof email);
	if (!setup_for(srv, &mb, email, &s)) {
		reply_text(req, true, HTTP_NOTFOUND, "Not Found");
		return;
	}
	struct buf doc = { 0 };
	reply_doc(req, "application/xml; charset=utf-8", &doc, mail_setup_autodiscover(&s, &doc));
}

/* mta_sts - the policy, for a Host mta-sts.<hosted domain> only (RFC 8461 3.3). */
static void
mta_sts(struct httpd *srv, struct evhttp_request *req)
{
	const char *hosthdr = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	char host[256];

	if (http_host_name(hosthdr, host, sizeof host) < 0 || strncmp(host, "mta-sts.", 8) != 0 ||
	    !hosted(srv, host + 8)) {
		reply_text(req, true, HTTP_NOTFOUND, "Not Found");
		return;
	}
	struct buf doc = { 0 };
	reply_doc(req, "text/plain; charset=utf-8", &doc, dns_mta_sts_policy(srv->cfg->hostname, &doc));
}

void
http_serve_https(struct evhttp_request *req, void *arg)
{
	struct http_listener *hl = arg;
	struct httpd *srv = hl->srv;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;

	if (path == NULL) {
		reply_text(req, true, HTTP_BADREQUEST, "Bad Request");
		return;
	}
	if (!get && cmd != EVHTTP_REQ_POST) {
		reply_text(req, true, HTTP_BADMETHOD, "Method Not Allowed");
		return;
	}
	if (strcmp(path, "/mail/config-v1.1.xml") == 0 ||
	    strcmp(path, "/.well-known/autoconfig/mail/config-v1.1.xml") == 0) {
		if (get)
			autoconfig(srv, req, uri);
		else
			reply_text(req, true, HTTP_BADMETHOD, "Method Not Allowed");
	} else if (strcasecmp(path, "/autodiscover/autodiscover.xml") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			autodiscover(srv, req);
		else
			reply_text(req, true, HTTP_BADMETHOD, "Method Not Allowed");
	} else if (strcmp(path, "/.well-known/mta-sts.txt") == 0) {
		if (get)
			mta_sts(srv, req);
		else
			reply_text(req, true, HTTP_BADMETHOD, "Method Not Allowed");
	} else {
		reply_text(req, true, HTTP_NOTFOUND, "Not Found");
	}
}

void
http_serve_redirect(struct evhttp_request *req, void *arg)
{
	struct http_listener *hl = arg;
	const char *hosthdr = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	const char *target = evhttp_request_get_uri(req);
	char host[256];
	struct buf loc = { 0 };

	if (http_host_name(hosthdr, host, sizeof host) < 0)
		snprintf(host, sizeof host, "%s", hl->srv->cfg->hostname);
	/* Only an origin-form target; evhttp has refused controls and spaces already. */
	if (target == NULL || target[0] != '/' || target[1] == '/')
		target = "/";
	if (buf_printf(&loc, "https://%s%s", host, target) < 0) {
		reply_text(req, false, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc.data);
	buf_free(&loc);
	reply_text(req, false, HTTP_MOVEPERM, "Moved Permanently");
}
