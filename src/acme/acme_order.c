/* acme_order.c - the RFC 8555 exchange that gets one certificate (see acme_order.h). */
#include "acme/acme_order.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_cert.h"
#include "util/log.h"

#define NONCE_RETRIES 10    /* badNonce answers in a row before giving up */
#define POLLS 60            /* polls of one object */
#define POLL_MIN 1          /* seconds between polls, whatever Retry-After says */
#define POLL_MAX 10

/* fail_status - "what: 403 unauthorized: detail" from an error answer. */
static int
fail_status(const char *what, const struct acme_resp *r, char *err, size_t errlen)
{
	char problem[512];

	acme_parse_problem(r->body, r->len, problem, sizeof problem);
	snprintf(err, errlen, "%s: HTTP %d: %s", what, r->status, problem);
	return -1;
}

static int
get_nonce(struct acme_client *c, char *err, size_t errlen)
{
	struct acme_resp r;

	if (acme_http_request(c->http, ACME_HEAD, c->dir.new_nonce, NULL, &r, err, errlen) < 0)
		return -1;
	int rc = 0;
	if (r.status != 200 && r.status != 204) {
		rc = fail_status("newNonce", &r, err, errlen);
	} else if (r.nonce[0] == '\0') {
		snprintf(err, errlen, "newNonce: no Replay-Nonce");
		rc = -1;
	} else {
		memcpy(c->nonce, r.nonce, sizeof c->nonce);
	}
	acme_resp_free(&r);
	return rc;
}

/*
 * post - a signed POST of payload ("" for POST-as-GET) to url; the answer in r
 * whatever its status, 0; or -1 with err. Each answer's nonce is kept for the next.
 */
static int
post(struct acme_client *c, const char *url, const char *payload, struct acme_resp *r,
    char *err, size_t errlen)
{
	for (int attempt = 0; attempt < NONCE_RETRIES; attempt++) {
		if (c->nonce[0] == '\0' && get_nonce(c, err, errlen) < 0)
			return -1;
		char *jws = acme_jws(c->account, c->kid[0] ? c->kid : NULL, c->nonce, url, payload);
		c->nonce[0] = '\0'; /* used, whatever comes back */
		if (jws == NULL) {
			snprintf(err, errlen, "cannot sign the request");
			return -1;
		}
		int rc = acme_http_request(c->http, ACME_POST, url, jws, r, err, errlen);
		free(jws);
		if (rc < 0)
			return -1;
		memcpy(c->nonce, r->nonce, sizeof c->nonce);
		char problem[512];
		if (r->status == 400 && acme_parse_problem(r->body, r->len, problem, sizeof problem)) {
			ev_info("acme-nonce-refused", KS("url", url), KS("reason", problem));
			acme_resp_free(r);
			continue;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: %d fresh nonces refused in a row", url, NONCE_RETRIES);
	return -1;
}

/* post_ok - post, and fail unless the status is ok1 or ok2. */
static int
post_ok(struct acme_client *c, const char *what, const char *url, const char *payload,
    int ok1, int ok2, struct acme_resp *r, char *err, size_t errlen)
{
	if (post(c, url, payload, r, err, errlen) < 0)
		return -1;
	if (r->status != ok1 && r->status != ok2) {
		fail_status(what, r, err, errlen);
		acme_resp_free(r);
		return -1;
	}
	return 0;
}

static int
directory(struct acme_client *c, const char *url, char *err, size_t errlen)
{
	struct acme_resp r;
	char why[512];

	if (acme_http_request(c->http, ACME_GET, url, NULL, &r, err, errlen) < 0)
		return -1;
	int rc = r.status == 200 ? acme_parse_directory(r.body, r.len, &c->dir, why, sizeof why) :
	    fail_status("directory", &r, err, errlen);
	if (r.status == 200 && rc < 0)
		snprintf(err, errlen, "directory %s: %s", url, why);
	acme_resp_free(&r);
	return rc;
}

static int
account(struct acme_client *c, char *err, size_t errlen)
{
	struct acme_resp r;
	json_t *req = json_pack("{s:b}", "termsOfServiceAgreed", 1);

	if (req != NULL && c->email != NULL) {
		char mailto[512];
		snprintf(mailto, sizeof mailto, "mailto:%s", c->email);
		json_object_set_new(req, "contact", json_pack("[s]", mailto));
	}
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (payload == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->kid[0] = '\0';
	/* 201: made now; 200: the account this key already has (RFC 8555 7.3.1). */
	int rc = post_ok(c, "newAccount", c->dir.new_account, payload, 201, 200, &r, err, errlen);
	free(payload);
	if (rc < 0)
		return -1;
	if (r.location[0] == '\0') {
		snprintf(err, errlen, "newAccount: no Location");
		rc = -1;
	} else {
		memcpy(c->kid, r.location, sizeof c->kid);
	}
	acme_resp_free(&r);
	return rc;
}

/* poll_wait - the pause before the next poll, from Retry-After within bounds. */
static void
poll_wait(struct acme_client *c, unsigned retry_after)
{
	unsigned s = retry_after < POLL_MIN ? POLL_MIN : retry_after > POLL_MAX ? POLL_MAX :
	    retry_after;
	acme_http_wait(c->http, NULL, s);
}

static int
get_order(struct acme_client *c, const char *url, struct acme_order *o, unsigned *retry,
    char *err, size_t errlen)
{
	struct acme_resp r;
	char why[512];

	if (post_ok(c, "order", url, "", 200, 200, &r, err, errlen) < 0)
		return -1;
	int rc = acme_parse_order(r.body, r.len, o, why, sizeof why);
	if (rc < 0)
		snprintf(err, errlen, "order %s: %s", url, why);
	*retry = r.retry_after;
	acme_resp_free(&r);
	return rc;
}

static int
get_authz(struct acme_client *c, const char *url, struct acme_authz *a, unsigned *retry,
    char *err, size_t errlen)
{
	struct acme_resp r;
	char why[512];

	if (post_ok(c, "authorization", url, "", 200, 200, &r, err, errlen) < 0)
		return -1;
	int rc = acme_parse_authz(r.body, r.len, a, why, sizeof why);
	if (rc < 0)
		snprintf(err, errlen, "authorization %s: %s", url, why);
	*retry = r.retry_after;
	acme_resp_free(&r);
	return rc;
}

/* answer - publish the response to a's challenge of our type; its URL in chal_url. */
static int
answer(struct acme_client *c, const struct acme_authz *a, char *chal_url, char *err,
    size_t errlen)
{
	const char *want = c->type == ACME_HTTP01 ? "http-01" : "tls-alpn-01";
	const struct acme_challenge_obj *ch = NULL;

	for (size_t i = 0; i < a->nchal && ch == NULL; i++)
		if (strcmp(a->chal[i].type, want) == 0)
			ch = &a->chal[i];
	if (ch == NULL) {
		snprintf(err, errlen, "%s: the CA offers no %s challenge", a->name, want);
		return -1;
	}
	char *keyauth = acme_key_authorization(ch->token, c->thumb);
	if (keyauth == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = c->type == ACME_HTTP01 ? c->hooks->http01(c->hooks->arg, ch->token, keyauth) :
	    c->hooks->alpn(c->hooks->arg, a->name, keyauth);
	free(keyauth);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot hand the %s response to httpd", a->name, want);
		return -1;
	}
	memcpy(chal_url, ch->url, ACME_URL_MAX);
	return 0;
}

/* authorize - every authorization of o valid, answering the pending ones. */
static int
authorize(struct acme_client *c, const struct acme_order *o, char *err, size_t errlen)
{
	struct acme_authz *a = malloc(sizeof *a);
	char (*chal)[ACME_URL_MAX] = calloc(o->nauthz, ACME_URL_MAX);
	unsigned retry;
	int rc = -1;

	if (a == NULL || chal == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t pending = 0;
	for (size_t i = 0; i < o->nauthz; i++) {
		if (get_authz(c, o->authz[i], a, &retry, err, errlen) < 0)
			goto out;
		if (a->status == ACME_ST_VALID)
			continue;
		if (a->status != ACME_ST_PENDING) {
			snprintf(err, errlen, "%s: authorization is not pending%s%s", a->name,
			    a->error[0] ? ": " : "", a->error);
			goto out;
		}
		if (answer(c, a, chal[i], err, errlen) < 0)
			goto out;
		pending++;
	}
	if (pending > 0 && c->hooks->sync(c->hooks->arg) < 0) {
		snprintf(err, errlen, "httpd did not confirm the challenge responses");
		goto out;
	}
	/* Only now may the CA look (RFC 8555 7.5.1). */
	for (size_t i = 0; i < o->nauthz; i++) {
		struct acme_resp r;
		if (chal[i][0] == '\0')
			continue;
		if (post_ok(c, "challenge", chal[i], "{}", 200, 200, &r, err, errlen) < 0)
			goto out;
		acme_resp_free(&r);
	}
	for (size_t i = 0; i < o->nauthz; i++) {
		if (chal[i][0] == '\0')
			continue;
		for (int n = 0;; n++) {
			if (get_authz(c, o->authz[i], a, &retry, err, errlen) < 0)
				goto out;
			if (a->status == ACME_ST_VALID)
				break;
			if (a->status != ACME_ST_PENDING) {
				snprintf(err, errlen, "%s: the CA's check failed: %s", a->name,
				    a->error[0] ? a->error : "(no detail)");
				goto out;
			}
			if (n == POLLS) {
				snprintf(err, errlen, "%s: still pending after %d polls", a->name, POLLS);
				goto out;
			}
			poll_wait(c, retry);
		}
		ev_info("acme-authorized", KS("name", a->name));
	}
	rc = 0;
out:
	free(chal);
	free(a);
	return rc;
}

/* wait_order - poll the order at url while it is in state from; o ends in another. */
static int
wait_order(struct acme_client *c, const char *url, struct acme_order *o, enum acme_status from,
    unsigned retry, char *err, size_t errlen)
{
	for (int n = 0; o->status == from; n++) {
		if (n == POLLS) {
			snprintf(err, errlen, "order still %s after %d polls",
			    from == ACME_ST_PENDING ? "pending" : "processing", POLLS);
			return -1;
		}
		poll_wait(c, retry);
		if (get_order(c, url, o, &retry, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int
finalize(struct acme_client *c, const char *url, struct acme_order *o, EVP_PKEY *certkey,
    const char *const *names, size_t n, char *err, size_t errlen)
{
	struct acme_resp r;
	char why[512];
	char *csr = acme_csr(certkey, names, n);
	json_t *req = csr ? json_pack("{s:s}", "csr", csr) : NULL;
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;

	json_decref(req);
	free(csr);
	if (payload == NULL) {
		snprintf(err, errlen, "cannot make the CSR");
		return -1;
	}
	int rc = post_ok(c, "finalize", o->finalize, payload, 200, 200, &r, err, errlen);
	free(payload);
	if (rc < 0)
		return -1;
	rc = acme_parse_order(r.body, r.len, o, why, sizeof why);
	unsigned retry = r.retry_after;
	acme_resp_free(&r);
	if (rc < 0) {
		snprintf(err, errlen, "finalize: %s", why);
		return -1;
	}
	if (wait_order(c, url, o, ACME_ST_PROCESSING, retry, err, errlen) < 0)
		return -1;
	if (o->status != ACME_ST_VALID || o->certificate[0] == '\0') {
		snprintf(err, errlen, "the order ended %s%s%s", o->status == ACME_ST_INVALID ?
		    "invalid" : "without a certificate", o->error[0] ? ": " : "", o->error);
		return -1;
	}
	return 0;
}

static int
download(struct acme_client *c, const char *url, char **chain, char *err, size_t errlen)
{
	struct acme_resp r;

	if (post_ok(c, "certificate", url, "", 200, 200, &r, err, errlen) < 0)
		return -1;
	if (strstr(r.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		snprintf(err, errlen, "certificate: the answer (%s) holds no PEM certificate",
		    r.content_type[0] ? r.content_type : "no type");
		acme_resp_free(&r);
		return -1;
	}
	*chain = r.body;
	r.body = NULL;
	acme_resp_free(&r);
	return 0;
}

int
acme_obtain(struct acme_client *c, const char *dir_url, const char *const *names, size_t n,
    EVP_PKEY *certkey, char **chain, char *err, size_t errlen)
{
	struct acme_order *o = NULL;
	char order_url[ACME_URL_MAX];
	struct acme_resp r;
	unsigned retry = 0;
	int rc = -1;

	*chain = NULL;
	c->nonce[0] = '\0';
	json_t *jwk = acme_jwk(c->account);
	int tp = jwk ? acme_jwk_thumbprint(jwk, c->thumb) : -1;
	json_decref(jwk);
	if (tp < 0) {
		snprintf(err, errlen, "the account key is not an EC P-256 key");
		return -1;
	}
	if (directory(c, dir_url, err, errlen) < 0 || account(c, err, errlen) < 0)
		return -1;
	json_t *ids = json_array();
	for (size_t i = 0; ids != NULL && i < n; i++)
		json_array_append_new(ids, json_pack("{s:s, s:s}", "type", "dns", "value", names[i]));
	json_t *req = ids ? json_pack("{s:o}", "identifiers", ids) : NULL;
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (payload == NULL || (o = malloc(sizeof *o)) == NULL) {
		free(payload);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = post_ok(c, "newOrder", c->dir.new_order, payload, 201, 201, &r, err, errlen);
	free(payload);
	if (rc < 0)
		goto out;
	rc = -1;
	char why[512];
	if (r.location[0] == '\0' || acme_parse_order(r.body, r.len, o, why, sizeof why) < 0) {
		snprintf(err, errlen, "newOrder: %s", r.location[0] ? why : "no Location");
		acme_resp_free(&r);
		goto out;
	}
	memcpy(order_url, r.location, sizeof order_url);
	acme_resp_free(&r);
	if (o->status == ACME_ST_PENDING) {
		if (authorize(c, o, err, errlen) < 0)
			goto out;
		if (get_order(c, order_url, o, &retry, err, errlen) < 0 ||
		    wait_order(c, order_url, o, ACME_ST_PENDING, retry, err, errlen) < 0)
			goto out;
	}
	if (o->status != ACME_ST_READY) {
		snprintf(err, errlen, "the order is not ready for its CSR%s%s", o->error[0] ? ": " : "",
		    o->error);
		goto out;
	}
	if (finalize(c, order_url, o, certkey, names, n, err, errlen) < 0 ||
	    download(c, o->certificate, chain, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	c->hooks->clear(c->hooks->arg);
	free(o);
	return rc;
}
