/*
 * remote_sts.c - MTA-STS in the remote agent (RFC 8461 4, 5): a delivery's policy
 * from the cache (deliver/sts_cache.h) before its MX hosts are tried; under an
 * enforce policy an MX host not named by the policy is not used, and the others
 * only over TLS with a certificate that chains to a trusted CA and names the MX
 * host, else the next host is tried and at the end the mail is deferred (4.7.5).
 * A testing policy changes nothing but what is noted. Where DANE applies to a host
 * it takes precedence (RFC 8461 2). And the TLS-RPT results (RFC 8460): each
 * conversation's TLS outcome, and each host not used, as a line of
 * queue/tlsrpt/<day>.log (deliver/tlsrpt.h), for queued's daily reports.
 */
#include "deliver/remote_int.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/sts_cache.h"
#include "deliver/tlsrpt.h"
#include "util/log.h"

void
sts_free(struct delivery *d)
{
	free(d->sts);
	free(d->sts_text);
	free(d->sts_mx);
	free(d->sts_why);
	d->sts = NULL;
	d->sts_text = d->sts_mx = d->sts_why = NULL;
	d->sts_failure = NULL;
}

/* reporting - whether TLS-RPT results are noted for d. */
static bool
reporting(const struct delivery *d)
{
	return d->r->tlsrpt_on && remote_cfg(d->r)->tls_reports &&
	    !d->route.relayhost && d->route.kind == ROUTE_MX;
}

/* note - one result line into today's file (inbound/report_log.h). */
static void
note(struct delivery *d, const struct tlsrpt_result *res)
{
	struct buf line = { 0 };

	if (tlsrpt_line(res, &line) == 0)
		report_log_append(&d->r->tlsrpt, time(NULL), line.data, line.len);
	buf_free(&line);
}

/* tlsa_text - d's usable TLSA records, "usage selector type hex" one a line. */
static void
tlsa_text(const struct delivery *d, struct buf *out)
{
	for (size_t i = 0; i < d->tlsa.n; i++) {
		const struct tlsa *t = &d->tlsa.v[i];
		buf_printf(out, "%u %u %u ", t->usage, t->selector, t->mtype);
		for (size_t k = 0; k < t->len; k++)
			buf_printf(out, "%02x", t->data[k]);
		buf_putc(out, '\n');
	}
}

/* current_ip - the address of the server being tried, "" when none yet. */
static void
current_ip(const struct delivery *d, char *out, size_t len)
{
	out[0] = '\0';
	if (d->addr_next > 0 && d->addr_next <= d->addrs.n)
		sockaddr_ip((const struct sockaddr *)&d->addrs.v[d->addr_next - 1], out, len, NULL);
}

/* record - one result of d's current host under its policy (DANE's, MTA-STS's or none). */
static void
record(struct delivery *d, const char *type, const char *result, const char *reason)
{
	struct buf tl = { 0 };
	char ip[SOCKADDR_TEXT_MAX];
	struct tlsrpt_result res = { d->name, type, NULL, NULL, result, NULL, NULL, reason };

	if (!reporting(d))
		return;
	if (type == NULL) {
		type = d->dane != DANE_NONE ? "tlsa" : d->sts != NULL ? "sts" : "no-policy-found";
		res.type = type;
	}
	if (strcmp(type, "tlsa") == 0) {
		tlsa_text(d, &tl);
		res.policy = tl.len ? tl.data : NULL;
		res.mx = d->host;
	} else if (strcmp(type, "sts") == 0) {
		res.policy = d->sts_text;
		res.mx = d->sts_mx;
	}
	if (result != NULL) {
		current_ip(d, ip, sizeof ip);
		res.host = d->host;
		res.ip = ip[0] ? ip : NULL;
	}
	note(d, &res);
	buf_free(&tl);
}

void
tlsrpt_failure(struct delivery *d, const char *type, const char *result, const char *reason)
{
	record(d, type, result, reason);
}

static char *
mx_lines(const struct sts_policy *p)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < p->nmx; i++)
		buf_printf(&b, "%s\n", p->mx[i]);
	if (b.data == NULL)
		return strdup("");
	return b.data;
}

void
sts_cancel(struct delivery *d)
{
	if (d->sts_waiting)
		sts_cancel_arg(d->r->sts, d);
	d->sts_waiting = false;
}

static void
on_sts(void *arg, const struct sts_answer *a)
{
	struct delivery *d = arg;

	d->sts_waiting = false;
	sts_free(d);
	if (a->policy != NULL) {
		d->sts = malloc(sizeof *d->sts);
		d->sts_text = strdup(a->text ? a->text : "");
		if (d->sts == NULL || d->sts_text == NULL || (*d->sts = *a->policy,
		    (d->sts_mx = mx_lines(a->policy)) == NULL)) {
			sts_free(d);
			d->sts_oom = true;
			d->sts_then(d);
			return;
		}
	}
	d->sts_failure = a->failure;
	if (a->why != NULL)
		d->sts_why = strdup(a->why);
	d->sts_log = d->sts == NULL ? "none" : d->sts->mode == STS_ENFORCE ? "enforce" : "testing";
	if (d->sts != NULL)
		ev_info("mta-sts", KS("qid", delivery_id(d)), KS("domain", d->name),
		    KS("mode", sts_mode_name(d->sts->mode)), KS("id", a->id),
		    KS("cached", a->failure ? "yes" : NULL));
	if (a->failure != NULL && reporting(d)) {
		struct tlsrpt_result res = { d->name, "sts", d->sts_text, d->sts_mx, a->failure,
			NULL, NULL, a->why };
		note(d, &res);
	}
	d->sts_then(d);
}

void
sts_start(struct delivery *d, void (*then)(struct delivery *d))
{
	d->sts_then = then;
	d->sts_oom = false;
	d->sts_waiting = true;
	if (sts_lookup(d->r->sts, d->name, on_sts, d) < 0) {
		d->sts_waiting = false;
		d->sts_oom = true;
		then(d);
	}
}

bool
sts_host_gate(struct delivery *d)
{
	char why[CLIENT_TEXT_MAX];

	if (d->sts == NULL || d->dane != DANE_NONE || d->sts_host_checked)
		return true;
	d->sts_host_checked = true;
	if (sts_host_allowed(d->sts, d->host))
		return true;
	snprintf(why, sizeof why, "MX host %s is not in the MTA-STS policy of %s", d->host,
	    d->name);
	record(d, "sts", "validation-failure", why);
	bool enforce = d->sts->mode == STS_ENFORCE;
	ev_info("mta-sts-mx-refused", KS("qid", delivery_id(d)), KS("host", d->host),
	    KS("domain", d->name), KS("mode", sts_mode_name(d->sts->mode)),
	    KS("used", enforce ? "no" : "yes"));
	if (!enforce)
		return true;
	d->last_code = 451;
	d->last_status = "4.7.5";
	snprintf(d->last_error, sizeof d->last_error, "%s", why);
	d->sts_log = "failed";
	return false;
}

bool
sts_params(struct delivery *d, struct client_params *p)
{
	char err[512], text[CLIENT_TEXT_MAX];

	if (d->sts == NULL || d->dane != DANE_NONE)
		return true;
	SSL_CTX *ctx = verify_ctx(d->r, err, sizeof err);
	if (ctx == NULL) {
		ev_err("tls-setup-error", KS("qid", delivery_id(d)), KS("error", err));
		snprintf(text, sizeof text, "451 4.7.5 %s", err);
		finish(d, 451, text);
		return false;
	}
	p->tls = ctx;
	if (d->sts->mode == STS_ENFORCE) {
		/* RFC 8461 4.2: TLS, a certificate of a trusted CA, valid for the MX host name. */
		p->verify_name = d->host;
		p->verify_next = true;
		p->no_tls = false;
	} else {
		p->check_name = d->host;
	}
	return true;
}

/* cert_result - the RFC 8460 4.3.2 result type of an OpenSSL verify error. */
static const char *
cert_result(long v)
{
	switch (v) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate-expired";
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "certificate-host-mismatch";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return "certificate-not-trusted";
	default:
		return "validation-failure";
	}
}

void
sts_session(struct delivery *d, const struct client_result *res)
{
	bool pkix = d->sts != NULL && d->dane == DANE_NONE;

	switch (res->outcome) {
	case CLIENT_TRY_NEXT:
		if (res->tls_status == NULL)
			return; /* no TLS matter: the connection or the greeting failed */
		if (sts_enforced(d))
			d->sts_log = "failed";
		record(d, NULL, strcmp(res->tls_status, "4.7.4") == 0 ? "starttls-not-supported" :
		    pkix ? cert_result(res->verify_result) : "validation-failure", res->text);
		return;
	case CLIENT_TLS_FAILED:
		record(d, NULL, "validation-failure", res->text);
		return;
	case CLIENT_DONE:
		break;
	}
	if (d->sts != NULL)
		d->sts_log = d->dane != DANE_NONE ? "dane" : d->sts->mode == STS_ENFORCE ?
		    "verified" : "testing";
	if (!res->tls_used && d->no_tls)
		return; /* in clear after a failed handshake: counted as that failure */
	if (!res->tls_used)
		record(d, NULL, "starttls-not-supported", "no STARTTLS offered");
	else if (pkix && res->verify_result != X509_V_OK)
		record(d, NULL, cert_result(res->verify_result),
		    X509_verify_cert_error_string(res->verify_result));
	else
		record(d, NULL, NULL, NULL);
}
