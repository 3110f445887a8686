/*
 * remote_try.c - one delivery's servers in order: each MX host (or the one host of
 * a literal or relayhost), each of its addresses, at most `mx_address_limit` of
 * them, until one answers; the conversation itself is smtp_client.c's. A server
 * that is ourselves (our hostname, or an address and port we listen on) is a loop:
 * it and the worse MX hosts are dropped (RFC 5321 5.1), and when nothing better
 * was left the recipients bounce with 5.4.6.
 */
#include "deliver/remote_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/dane.h"
#include "deliver/outbound_sign.h"
#include "deliver/sign_pool.h"
#include "metrics/metrics.h"
#include "net/tls.h"
#include "util/log.h"

#define LOCAL_ADDRS_TTL 60 /* seconds the interface addresses are cached */

static void next_addr(struct delivery *d);

/* give_up - every server failed (or the address limit was reached): try again later. */
static void
give_up(struct delivery *d)
{
	char text[CLIENT_TEXT_MAX + 64];

	snprintf(text, sizeof text, "451 %s %s: %s", d->last_status ? d->last_status : "4.4.1",
	    d->name, d->last_error[0] ? d->last_error : "no server answered");
	d->relay[0] = '\0';
	finish(d, 451, text);
}

/* limit_reached - whether d has tried as many addresses as mx_address_limit allows. */
static bool
limit_reached(struct delivery *d)
{
	unsigned limit = remote_cfg(d->r)->mx_address_limit;

	if (limit == 0 || d->tried < limit)
		return false;
	ev_info("mx-limit", KS("qid", delivery_id(d)), KS("domain", d->name), KN("tried", d->tried));
	return true;
}

/* is_self - whether a connection to ss on port would reach one of our own listeners. */
static bool
is_self(struct remote *r, const struct sockaddr_storage *ss, uint16_t port)
{
	const struct config *cfg = remote_cfg(r);
	time_t now = time(NULL);

	if (self_addrs_any_wildcard(cfg->listen, SVC_COUNT) &&
	    (r->local_at == 0 || now - r->local_at >= LOCAL_ADDRS_TTL)) {
		local_addrs_free(&r->local);
		if (local_addrs_load(&r->local) < 0)
			ev_warn("self-check-error", KS("error", strerror(errno)));
		r->local_at = now;
	}
	return self_addr_match(cfg->listen, SVC_COUNT, (const struct sockaddr *)ss, port,
	    &r->local);
}

/*
 * self_found - the server d->host is ourselves (at the address ip, or by name when
 * ip is NULL). RFC 5321 5.1: it and every MX host of the same or a worse preference
 * are dropped. If better ones came before (they failed), try them again later; if
 * not, the mail would only loop: bounce.
 */
static void
self_found(struct delivery *d, const char *ip)
{
	char text[CLIENT_TEXT_MAX + 64];
	const struct mx *cur = &d->mx.v[d->mx_next - 1];

	if (ip != NULL)
		snprintf(d->relay, sizeof d->relay, "%s[%s]:%u", d->host, ip, d->route.port);
	if (d->mx.v[0].pref < cur->pref) {
		ev_info("mx-self", KS("qid", delivery_id(d)), KS("host", d->host), KN("pref", cur->pref),
		    KS("domain", d->name));
		d->mx_next = d->mx.n;
		give_up(d);
		return;
	}
	ev_info("loop", KS("qid", delivery_id(d)), KS("host", d->host), KS("ip", ip),
	    KS("domain", d->name));
	snprintf(text, sizeof text, "554 5.4.6 mail for %s loops back to myself (%s)",
	    d->name, d->host);
	finish(d, 554, text);
}

/* check_self - whether one of d's addresses for d->host is ourselves; if so, handled. */
static bool
check_self(struct delivery *d)
{
	for (size_t i = 0; i < d->addrs.n; i++) {
		if (is_self(d->r, &d->addrs.v[i], d->route.port)) {
			char ip[SOCKADDR_TEXT_MAX];
			sockaddr_ip((const struct sockaddr *)&d->addrs.v[i], ip, sizeof ip, NULL);
			self_found(d, ip);
			return true;
		}
	}
	return false;
}

static void
on_client(void *arg, const struct client_result *res)
{
	struct delivery *d = arg;
	struct smtp_client *c = d->client;

	d->client = NULL;
	if (res->stale) {
		/* Nothing of it was answered: the same address again, on a new connection. */
		ev_info("connection-stale", KS("qid", delivery_id(d)), KS("relay", d->relay),
		    KS("reason", res->text));
		d->addr_next--;
		d->tried--;
		next_addr(d);
		return;
	}
	d->conn_use = res->conn_use;
	sts_session(d, res);
	enum client_outcome outcome = res->outcome;
	if (outcome == CLIENT_TLS_FAILED && (d->dane != DANE_NONE || sts_enforced(d)))
		outcome = CLIENT_TRY_NEXT; /* never in clear where DANE or MTA-STS requires TLS */
	switch (outcome) {
	case CLIENT_TLS_FAILED:
		ev_info("tls-fallback", KS("qid", delivery_id(d)), KS("relay", d->relay),
		    KS("reason", res->text));
		d->no_tls = true;
		d->addr_next--;
		d->tried--; /* the same address once more */
		next_addr(d);
		return;
	case CLIENT_TRY_NEXT:
		d->last_code = res->code;
		snprintf(d->last_error, sizeof d->last_error, "%s", res->text);
		d->last_status = res->tls_status;
		if (d->dane != DANE_NONE)
			d->dane_log = "failed";
		ev_info("attempt", KS("qid", delivery_id(d)), KS("relay", d->relay),
		    KS("domain", d->name), KS("reason", res->text));
		next_addr(d);
		return;
	case CLIENT_DONE:
		break;
	}
	if (d->dane_log != NULL)
		d->dane_log = res->dane_verified ? "verified" : "none";
	bool taken = false;
	for (size_t i = 0; i < d->n; i++) {
		int code = res->rcpt_code[i];
		const char *text = res->rcpt_text[i];
		taken |= code >= 200 && code < 300;
		if (code <= 0) {
			code = 451;
			if (text[0] == '\0')
				text = "451 4.4.2 no answer from the server";
		}
		rcpt_result(d, d->idx[i], code, d->relay, text);
	}
	d->n = 0; /* all recorded */
	/* One transaction the server took: one message sent, however many recipients it had. */
	if (taken)
		MX_INC(sent);
	if (res->reusable && d->conn_key != NULL)
		conn_cache_put(&d->r->conns, d->conn_key, c);
	finish(d, 0, "");
}

/*
 * verify_ctx - the verifying client context for the configured tls_ca_file, made
 * again when a reload changed the path (SSL objects keep the old one alive).
 */
SSL_CTX *
verify_ctx(struct remote *r, char *err, size_t errlen)
{
	const char *ca = remote_cfg(r)->tls_ca_file;
	bool same = ca == NULL ? r->tls_verify_ca == NULL :
	    r->tls_verify_ca != NULL && strcmp(ca, r->tls_verify_ca) == 0;

	if (r->tls_verify != NULL && same)
		return r->tls_verify;
	char *copy = NULL;
	if (ca != NULL && (copy = strdup(ca)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX *n = tls_client_verify_ctx(ca, err, errlen);
	if (n == NULL) {
		free(copy);
		return NULL;
	}
	SSL_CTX_free(r->tls_verify);
	free(r->tls_verify_ca);
	r->tls_verify = n;
	r->tls_verify_ca = copy;
	return n;
}


/* on_signed - j's signatures are made: the deliveries that waited for them go on. */
static void
on_signed(void *arg, int rc)
{
	struct rjob *j = arg;

	j->sign = SIGN_DONE;
	j->keep = rc == 1;
	if (rc < 0)
		ev_warn("dkim-unsigned", KS("qid", j->job.env->id), KS("reason", strerror(errno)));
	if (j->orphan) {
		job_free(j);
		return;
	}
	/* Each one holds a part of j, so j lives until the last has gone on. */
	struct delivery *d = j->parked;
	j->parked = NULL;
	while (d != NULL) {
		struct delivery *next = d->parked_next;
		d->parked = false;
		d->parked_next = NULL;
		next_addr(d);
		d = next;
	}
}

void
sign_start(struct rjob *j, struct remote *r)
{
	const struct envelope *env = j->job.env;

	if (j->sign != SIGN_NOT_YET)
		return;
	j->sj = (struct sign_job){ env, j->job.queue_dir, NULL, time(NULL), false, "" };
	/* A recipient that an alias of ours sent on: its original address names the alias. */
	for (size_t i = 0; i < j->job.nrcpts && j->sj.forward_domain == NULL; i++) {
		const struct spool_rcpt *rc = &env->rcpts[j->job.rcpts[i]];
		const char *at = strrchr(rc->orig, '@');
		if (at != NULL && strcasecmp(rc->orig, rc->addr) != 0)
			j->sj.forward_domain = at + 1;
	}
	if (!outbound_sign_wanted(remote_cfg(r), &j->sj)) {
		j->sign = SIGN_DONE;
		return;
	}
	j->sign = SIGN_RUNNING;
	if (sign_pool_submit(r->signer, &j->sj, &j->prefix, on_signed, j) == 0)
		return;
	/* No thread for it: on the loop, as it was (a failure to read the file leaves it
	 * unsigned; sending it will fail the same way). */
	j->sign = SIGN_DONE;
	int rc = outbound_sign(r->env.acct, &j->sj, &j->prefix);
	j->keep = rc == 1;
	if (rc < 0)
		ev_warn("dkim-unsigned", KS("qid", env->id), KS("reason", strerror(errno)));
}

/*
 * signed_or_parked - whether d's message has its signatures (made once for all
 * its deliveries); if not yet, d waits for them in its job's list, and on_signed
 * takes it on from next_addr again.
 */
static bool
signed_or_parked(struct delivery *d)
{
	struct rjob *j = d->job;

	sign_start(j, d->r);
	if (j->sign == SIGN_DONE)
		return true;
	d->parked = true;
	d->parked_next = j->parked;
	j->parked = d;
	return false;
}

/*
 * start_on_kept - run d's transaction on a connection kept with the same key, if
 * there is one (true: it is under way); else note the key for the new connection
 * to be kept under (none: p->reuse off).
 */
static bool
start_on_kept(struct delivery *d, struct client_params *p)
{
	char key[CLIENT_KEY_MAX];

	free(d->conn_key);
	d->conn_key = NULL;
	if (!remote_cfg(d->r)->connection_cache || smtp_client_key(p, key, sizeof key) < 0 ||
	    (d->conn_key = strdup(key)) == NULL)
		return false;
	p->reuse = true;
	struct smtp_client *c = conn_cache_take(&d->r->conns, key);
	if (c == NULL)
		return false;
	if (smtp_client_reuse(c, p, on_client, d) < 0) {
		smtp_client_abort(c); /* out of memory: nobody to say QUIT for */
		return false;
	}
	d->client = c;
	return true;
}

static void
next_addr(struct delivery *d)
{
	struct remote *r = d->r;
	const struct config *cfg = remote_cfg(r);

	if (!signed_or_parked(d))
		return;
	if (d->addr_next >= d->addrs.n || !sts_host_gate(d)) {
		next_host(d);
		return;
	}
	if (limit_reached(d)) {
		give_up(d);
		return;
	}
	d->tried++;
	struct sockaddr_storage ss = d->addrs.v[d->addr_next++];
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(d->route.port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(d->route.port);
	char ip[SOCKADDR_TEXT_MAX];
	sockaddr_ip((struct sockaddr *)&ss, ip, sizeof ip, NULL);
	snprintf(d->relay, sizeof d->relay, "%s[%s]:%u", d->host, ip, d->route.port);
	const struct buf *prefix = &d->job->prefix;
	struct client_params p = {
		.prefix = prefix->len ? prefix->data : NULL,
		.prefix_len = prefix->len,
		.base = r->env.base,
		.tls = r->tls,
		.no_tls = d->no_tls,
		.helo = cfg->hostname,
		.host = d->host,
		.addr = ss,
		.queue_dir = d->job->job.queue_dir,
		.env = d->job->job.env,
		.sender = d->sender,
		.rcpts = d->rcpts,
		.nrcpts = d->n,
		.auth_user = d->auth_user[0] ? d->auth_user : NULL,
		.auth_pass = d->auth_pass,
	};
	if (d->dane == DANE_VERIFY) {
		p.tls = r->tls_dane;
		p.dane = &d->tlsa;
		p.dane_base = d->tlsa_base;
		p.dane_names[0] = strcmp(d->tlsa_base, d->host) != 0 ? d->host : NULL;
		p.dane_names[1] = d->name;
		p.no_tls = false;
	} else if (d->dane == DANE_ENCRYPT) {
		p.tls_required = true;
		p.no_tls = false;
	} else if (d->route.relayhost && cfg->relayhost_tls == RELAY_TLS_VERIFY) {
		/* The name as configured, not an MX host name that DNS could forge. */
		char err[512];
		if ((p.tls = verify_ctx(r, err, sizeof err)) == NULL) {
			char text[CLIENT_TEXT_MAX];
			ev_err("tls-setup-error", KS("qid", delivery_id(d)), KS("error", err));
			snprintf(text, sizeof text, "451 4.7.5 %s", err);
			finish(d, 451, text);
			return;
		}
		p.verify_name = d->name;
		p.no_tls = false;
	}
	if (!sts_params(d, &p))
		return;
	if (start_on_kept(d, &p))
		return;
	d->client = smtp_client_start(&p, on_client, d);
	if (d->client == NULL) {
		finish(d, 451, "451 4.3.0 cannot start an SMTP connection");
		return;
	}
}

static void on_tlsa(void *arg, enum dns_status st, const struct dns_rdata *rr,
    const char *why);

/* lookup_tlsa - the TLSA records of base for port 25 (RFC 7672 2.2.3), then on_tlsa. */
static void
lookup_tlsa(struct delivery *d, const char *base)
{
	char name[DNS_NAME_MAX + 16];

	snprintf(d->tlsa_base, sizeof d->tlsa_base, "%s", base);
	snprintf(name, sizeof name, "_25._tcp.%s", base);
	if (dns_rr(d->r->dns, name, RR_TLSA, on_tlsa, d) < 0)
		finish(d, 451, "451 4.3.0 cannot start a DNS lookup");
}

/*
 * on_tlsa - the TLSA records of d->host (RFC 7672 2.2.3): with usable ones, its
 * addresses are tried with DANE; when the lookup failed or was bogus, the host is
 * not used (its addresses are not tried) and the next one is.
 */
static void
on_tlsa(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct delivery *d = arg;

	if ((st == DNS_NODATA || st == DNS_NXDOMAIN) && strcmp(d->tlsa_base, d->host) != 0) {
		/* RFC 7671 7: none where the CNAME chain ends: the host's own name next. */
		lookup_tlsa(d, d->host);
		return;
	}
	dane_tlsa_free(&d->tlsa);
	if (st == DNS_OK && rr->secure && dane_tlsa_select(rr->v, rr->len, rr->n, &d->tlsa) < 0) {
		finish(d, 451, "451 4.3.0 out of memory");
		return;
	}
	d->dane = dane_policy_of(st, rr->secure, &d->tlsa);
	if (d->dane == DANE_UNREACHABLE) {
		d->last_code = 451;
		d->last_status = "4.7.5";
		d->dane_log = "failed";
		snprintf(d->last_error, sizeof d->last_error,
		    "cannot look up the TLSA records of %s (DANE): %s", d->tlsa_base,
		    why[0] ? why : "no answer");
		tlsrpt_failure(d, "tlsa", strstr(why, "DNSSEC") ? "dnssec-invalid" : "tlsa-invalid",
		    d->last_error);
		ev_info("dane-lookup-failed", KS("qid", delivery_id(d)), KS("host", d->host),
		    KS("reason", d->last_error));
		next_host(d);
		return;
	}
	if (d->dane != DANE_NONE)
		ev_info("dane", KS("qid", delivery_id(d)), KS("host", d->host),
		    KS("policy", d->dane == DANE_VERIFY ? "verify" : "tls-only"),
		    KN("usable", d->tlsa.n), KN("unusable", d->tlsa.unusable),
		    KS("tlsa", d->tlsa_base));
	next_addr(d);
}

static void
on_addrs(void *arg, enum dns_status st, const struct addr_list *addrs, const char *why)
{
	struct delivery *d = arg;

	if (st == DNS_OK) {
		d->addrs = *addrs;
		d->addr_next = 0;
		if (check_self(d))
			return;
		if (dane_on(d) && d->route.kind == ROUTE_MX &&
		    dane_host_applies(d->mx.secure, addrs->secure)) {
			/* The TLSA base domain: where a (secure) CNAME chain ends, else the host. */
			lookup_tlsa(d, addrs->canon[0] ? addrs->canon : d->host);
			return;
		}
		next_addr(d);
		return;
	}
	d->last_code = st == DNS_TEMPFAIL ? 451 : 0;
	d->last_status = NULL;
	snprintf(d->last_error, sizeof d->last_error, "cannot find the address of %s: %s",
	    d->host, why[0] ? why : "no A or AAAA record");
	ev_info("address-lookup-failed", KS("qid", delivery_id(d)), KS("host", d->host),
	    KS("domain", d->name), KS("reason", d->last_error));
	if (d->implicit_mx && (st == DNS_NXDOMAIN || st == DNS_NODATA)) {
		/* No MX and no address: the domain cannot receive mail (RFC 5321 5.1). */
		char text[CLIENT_TEXT_MAX + 64];
		snprintf(text, sizeof text, "550 5.4.4 %s: no MX and no address record", d->name);
		finish(d, 550, text);
		return;
	}
	next_host(d);
}

void
next_host(struct delivery *d)
{
	struct remote *r = d->r;

	if (d->mx_next >= d->mx.n || limit_reached(d)) {
		/* Every server failed: try again later, with the last reason. */
		give_up(d);
		return;
	}
	d->host = d->mx.v[d->mx_next++].host;
	d->no_tls = false;
	d->dane = DANE_NONE;
	d->sts_host_checked = false;
	dane_tlsa_free(&d->tlsa);
	if (strcasecmp(d->host, remote_cfg(r)->hostname) == 0 && !d->route.relayhost) {
		self_found(d, NULL);
		return;
	}
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, d->host, &s4->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, d->host, &s6->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
	}
	if (ss.ss_family != 0) {
		d->addrs.n = 1;
		d->addrs.v[0] = ss;
		d->addr_next = 0;
		if (!check_self(d))
			next_addr(d);
		return;
	}
	if (dns_addr(r->dns, d->host, on_addrs, d) < 0)
		finish(d, 451, "451 4.3.0 cannot start a DNS lookup");
}

/* read_auth - the relayhost's "user password" line. */
void
read_auth(struct delivery *d, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[600];

	if (f == NULL) {
		ev_warn("relay-password-error", KS("file", path), KS("error", strerror(errno)));
		return;
	}
	if (fgets(line, sizeof line, f) != NULL &&
	    sscanf(line, "%255s %255s", d->auth_user, d->auth_pass) != 2)
		d->auth_user[0] = d->auth_pass[0] = '\0';
	explicit_bzero(line, sizeof line);
	fclose(f);
}

