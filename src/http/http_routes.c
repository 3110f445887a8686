/*
 * http_routes.c - what the web role answers: on https the pages (/admin/,
 * /account/), the JSON API (/api/v1/), the client setup documents (Thunderbird
 * autoconfig, Outlook autodiscover) and the MTA-STS policy, 404 for the rest;
 * on http a 301 to https, but for ACME's http-01 answers. Every reply carries the same security headers.
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
#include "http/assets.h"
#include "http/http_acme.h"
#include "http/http_host.h"
#include "http/http_reply.h"
#include "http/mail_setup.h"
#include "http/web.h"
#include "util/buf.h"
#include "util/log.h"

static void
reply_doc(struct evhttp_request *req, const char *type, struct buf *doc, int rc)
{
	if (rc < 0)
		http_reply_text(req, true, HTTP_INTERNAL);
	else
		http_reply(req, true, HTTP_OK, type, doc);
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
		ev_err("store-error", KS("what", "domain-list"), KS("error", err));
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
		http_reply_text(req, true, HTTP_BADREQUEST);
		return;
	}
	evhttp_clear_headers(&q);
	address_format(&mb, email, sizeof email);
	if (!setup_for(srv, &mb, email, &s)) {
		http_reply_text(req, true, HTTP_NOTFOUND);
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
		http_reply_text(req, true, HTTP_BADREQUEST);
		return;
	}
	address_format(&mb, email, sizeof email);
	if (!setup_for(srv, &mb, email, &s)) {
		http_reply_text(req, true, HTTP_NOTFOUND);
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
		http_reply_text(req, true, HTTP_NOTFOUND);
		return;
	}
	struct buf doc = { 0 };
	const struct config *cfg = srv->cfg;
	reply_doc(req, "text/plain; charset=utf-8", &doc,
	    dns_mta_sts_policy(cfg->mta_sts_mode, cfg->hostname, cfg->mta_sts_max_age, &doc));
}

/* web_static - the style sheet and script of the pages, from the binary. */
void
web_static(struct web_req *wr)
{
	for (const struct http_asset *a = http_assets; a->path != NULL; a++) {
		if (strcmp(a->path, wr->path) != 0)
			continue;
		struct buf b = { .data = (char *)a->data, .len = a->len, .cap = 0 };
		evhttp_add_header(evhttp_request_get_output_headers(wr->req), "Cache-Control",
		    "public, max-age=3600");
		http_reply(wr->req, true, HTTP_OK, a->type, &b);
		return;
	}
	http_reply_text(wr->req, true, HTTP_NOTFOUND);
}

static bool
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* web - the pages, the API and their files; false when path is none of them. */
static bool
web(struct httpd *srv, struct evhttp_request *req, const char *path, bool get)
{
	struct web_req wr;

	if (!under(path, "/admin") && !under(path, "/account") && !under(path, "/api/v1") &&
	    !under(path, "/static") && strcmp(path, "/logout") != 0 && strcmp(path, "/") != 0)
		return false;
	if (!web_req_init(&wr, srv, req))
		return true;
	if (under(wr.path, "/api/v1"))
		web_api(&wr);
	else if (!get && !wr.post)
		http_reply_text(req, true, HTTP_BADMETHOD);
	else if (strcmp(wr.path, "/") == 0)
		http_redirect(req, true, "/account/");
	else if (under(wr.path, "/static"))
		get ? web_static(&wr) : http_reply_text(req, true, HTTP_BADMETHOD);
	else if (strcmp(wr.path, "/logout") == 0)
		web_logout_page(&wr);
	else if (strcmp(wr.path, "/admin/login") == 0)
		web_login_page(&wr, WEB_ADMIN);
	else if (strcmp(wr.path, "/account/login") == 0)
		web_login_page(&wr, WEB_USER);
	else if (under(wr.path, "/admin"))
		web_admin(&wr);
	else
		web_account(&wr);
	web_req_free(&wr);
	return true;
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
		http_reply_text(req, true, HTTP_BADREQUEST);
		return;
	}
	if (web(srv, req, path, get))
		return;
	if (!get && cmd != EVHTTP_REQ_POST) {
		http_reply_text(req, true, HTTP_BADMETHOD);
		return;
	}
	if (strcmp(path, "/mail/config-v1.1.xml") == 0 ||
	    strcmp(path, "/.well-known/autoconfig/mail/config-v1.1.xml") == 0) {
		if (get)
			autoconfig(srv, req, uri);
		else
			http_reply_text(req, true, HTTP_BADMETHOD);
	} else if (strcasecmp(path, "/autodiscover/autodiscover.xml") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			autodiscover(srv, req);
		else
			http_reply_text(req, true, HTTP_BADMETHOD);
	} else if (strcmp(path, "/.well-known/mta-sts.txt") == 0) {
		if (get)
			mta_sts(srv, req);
		else
			http_reply_text(req, true, HTTP_BADMETHOD);
	} else {
		http_reply_text(req, true, HTTP_NOTFOUND);
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

	if (http_acme_serve(hl->srv->acme, req))
		return;
	if (http_host_name(hosthdr, host, sizeof host) < 0)
		snprintf(host, sizeof host, "%s", hl->srv->cfg->hostname);
	/* Only an origin-form target; evhttp has refused controls and spaces already. */
	if (target == NULL || target[0] != '/' || target[1] == '/')
		target = "/";
	if (buf_printf(&loc, "https://%s%s", host, target) < 0) {
		http_reply_text(req, false, HTTP_INTERNAL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc.data);
	buf_free(&loc);
	http_reply_text(req, false, HTTP_MOVEPERM);
}
