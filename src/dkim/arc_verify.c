/*
 * arc_verify.c - the ARC chain validator (see arc_verify.h): RFC 8617 5.2. The form
 * of the chain and the cv= of each seal are decided from the header block; the
 * newest AMS is checked as a DKIM signature is (dkim_sig, dkim_canon, dkim_vkey);
 * each seal over the sets 1 to its own instance, in order AAR, AMS, AS, relaxed,
 * the seal itself with b= emptied and no line end.
 */
#include "dkim/arc_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/arc_sets.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_verify.h"
#include "util/buf.h"

#define RR_TXT 16
#define WHY_MAX 128

/* One signature to check: the newest AMS (check 0), or the seal of instance i (check i). */
struct acheck {
	struct arc_verify *v;
	struct dkim_sig sig;
	struct buf data;     /* what the signature covers */
	bool pending;        /* its key lookup is under way */
	bool failed;
	char why[WHY_MAX];
};

struct arc_verify {
	enum arc_status status; /* ARC_FAIL decided early, or what is left to find */
	char why[WHY_MAX];
	unsigned n;
	struct acheck *c;       /* c[0..n]: 0 is the AMS of instance n, i the seal of i */
	bool hashing;
	struct dkim_body body;
	time_t now;
	bool finishing;
	size_t waiting;
	struct dns_ops dns;
	struct dkim_vkeycache *keys;
	arc_verify_fn done;
	void *arg;
	struct arc_result res;
};

const char *
arc_status_name(enum arc_status st)
{
	return st == ARC_PASS ? "pass" : st == ARC_FAIL ? "fail" : "none";
}

static void
chain_fails(struct arc_verify *v, const char *why)
{
	if (v->status == ARC_FAIL)
		return;
	v->status = ARC_FAIL;
	snprintf(v->why, sizeof v->why, "%s", why);
}

/* parse - the signature of field f as kind, for instance i; a bad one fails the chain. */
static int
parse(struct arc_verify *v, struct acheck *c, const struct dkim_field *f,
    enum dkim_sig_kind kind, unsigned i)
{
	size_t len;
	const char *val = arc_field_value(f, &len);
	char why[WHY_MAX - 32], msg[WHY_MAX];

	c->v = v;
	if (dkim_sig_parse_kind(val, len, kind, &c->sig, why, sizeof why) < 0) {
		snprintf(msg, sizeof msg, "%s i=%u: %s", kind == DKIM_SIG_SEAL ? "ARC-Seal" :
		    "ARC-Message-Signature", i, why);
		chain_fails(v, msg);
		return -1;
	}
	return 0;
}

/* seal_data - what the seal of instance i covers: the sets 1..i, relaxed. */
static int
seal_data(const struct arc_sets *s, unsigned i, struct acheck *c)
{
	for (unsigned k = 1; k <= i; k++) {
		const struct arc_set *set = &s->v[k];
		if (dkim_canon_header(set->aar->p, set->aar->len, true, &c->data) < 0 ||
		    dkim_canon_header(set->ams->p, set->ams->len, true, &c->data) < 0)
			return -1;
		if (k < i) {
			if (dkim_canon_header(set->as->p, set->as->len, true, &c->data) < 0)
				return -1;
			continue;
		}
		/* The seal being checked, with its b= value taken out. */
		struct buf stripped = { 0 };
		size_t len;
		const char *val = arc_field_value(set->as, &len);
		size_t head = (size_t)(val - set->as->p);
		int rc = buf_append(&stripped, set->as->p, head + c->sig.b_val) < 0 ||
		    buf_append(&stripped, val + c->sig.b_end, len - c->sig.b_end) < 0 ||
		    dkim_canon_header(stripped.data, stripped.len, false, &c->data) < 0 ? -1 : 0;
		buf_free(&stripped);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* setup - the chain read from fields: its form, every seal's cv=, the data each covers. */
static int
setup(struct arc_verify *v, const struct dkim_fields *fields)
{
	struct arc_sets *s = malloc(sizeof *s);
	char msg[WHY_MAX];
	int rc = -1;

	if (s == NULL)
		return -1;
	if (arc_sets_find(fields, s) < 0) {
		v->n = s->n;
		chain_fails(v, s->why);
		rc = 0;
		goto out;
	}
	if ((v->n = s->n) == 0) {
		rc = 0;
		goto out;
	}
	v->status = ARC_PASS;
	if ((v->c = calloc(v->n + 1, sizeof *v->c)) == NULL)
		goto out;
	/* The seals first: a cv= out of place fails the chain whatever the signatures say. */
	for (unsigned i = v->n; i >= 1; i--) {
		struct acheck *c = &v->c[i];
		if (parse(v, c, s->v[i].as, DKIM_SIG_SEAL, i) < 0)
			continue;
		enum arc_cv want = i == 1 ? ARC_CV_NONE : ARC_CV_PASS;
		if (c->sig.cv == ARC_CV_FAIL) {
			snprintf(msg, sizeof msg, "ARC-Seal i=%u has cv=fail", i);
			chain_fails(v, msg);
		} else if (c->sig.cv != want) {
			snprintf(msg, sizeof msg, "ARC-Seal i=%u has cv=%s", i,
			    c->sig.cv == ARC_CV_NONE ? "none" : "pass");
			chain_fails(v, msg);
		}
	}
	if (v->status == ARC_FAIL) {
		rc = 0;
		goto out;
	}
	struct acheck *ams = &v->c[0];
	if (parse(v, ams, s->v[v->n].ams, DKIM_SIG_AMS, v->n) == 0) {
		if (dkim_sig_header_data(&ams->sig, fields, s->v[v->n].ams, &ams->data) < 0 ||
		    dkim_body_init_c(&v->body, ams->sig.simple_body,
		    ams->sig.has_l ? ams->sig.l : DKIM_BODY_ALL) < 0)
			goto out;
		v->hashing = true;
	}
	for (unsigned i = 1; i <= v->n && v->status != ARC_FAIL; i++)
		if (seal_data(s, i, &v->c[i]) < 0)
			goto out;
	rc = 0;
out:
	free(s);
	return rc;
}

struct arc_verify *
arc_verify_new(const char *hdr, size_t hdrlen)
{
	struct arc_verify *v = calloc(1, sizeof *v);
	struct dkim_fields fields = { 0 };

	if (v == NULL)
		return NULL;
	v->now = time(NULL);
	if (dkim_fields_parse(hdr, hdrlen, &fields) < 0 || setup(v, &fields) < 0) {
		dkim_fields_free(&fields);
		arc_verify_free(v);
		return NULL;
	}
	dkim_fields_free(&fields);
	return v;
}

void
arc_verify_set_time(struct arc_verify *v, time_t now)
{
	v->now = now;
}

void
arc_verify_set_keys(struct arc_verify *v, struct dkim_vkeycache *keys)
{
	v->keys = keys;
}

void
arc_verify_body(struct arc_verify *v, const char *p, size_t n)
{
	if (v->hashing && !v->finishing)
		dkim_body_update(&v->body, p, n);
}

/* conclude - the result in the order RFC 8617 5.2 checks: the AMS, then the seals from N down. */
static void
conclude(struct arc_verify *v)
{
	char msg[WHY_MAX];

	if (v->status == ARC_PASS && v->c[0].failed) {
		snprintf(msg, sizeof msg, "ARC-Message-Signature i=%u: %s", v->n, v->c[0].why);
		chain_fails(v, msg);
	}
	for (unsigned i = v->n; i >= 1 && v->status == ARC_PASS; i--) {
		if (v->c[i].failed) {
			snprintf(msg, sizeof msg, "ARC-Seal i=%u: %s", i, v->c[i].why);
			chain_fails(v, msg);
		}
	}
	v->res = (struct arc_result){ v->status, v->n, v->status == ARC_FAIL ? v->why : "" };
}

static void
settle(struct arc_verify *v)
{
	if (--v->waiting > 0)
		return;
	conclude(v);
	v->done(v->arg, &v->res); /* may free v */
}

static void
check_fails(struct acheck *c, const char *why)
{
	c->failed = true;
	snprintf(c->why, sizeof c->why, "%s", why);
}

static void
on_key(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct acheck *c = arg;
	char msg[WHY_MAX - 24];
	bool testing;

	c->pending = false;
	switch (st) {
	case DNS_OK:
		if (dkim_key_answer(&c->sig, rr, c->v->keys, c->data.data, c->data.len, &testing,
		    msg, sizeof msg) != DKIM_PASS)
			check_fails(c, msg);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		check_fails(c, "no key record");
		break;
	default:
		snprintf(msg, sizeof msg, "key lookup: %s", why && *why ? why : "failed");
		check_fails(c, msg);
		break;
	}
	settle(c->v);
}

/* ams_pre_check - the body hash, l=, rsa-sha1 and x= of the newest AMS. */
static void
ams_pre_check(struct arc_verify *v)
{
	struct acheck *c = &v->c[0];
	unsigned char md[DKIM_SHA256_LEN];

	if (dkim_body_digest(&v->body, md) < 0)
		check_fails(c, "out of memory");
	else if (c->sig.has_l && c->sig.l > v->body.length)
		check_fails(c, "l= longer than the body");
	else if (c->sig.bh_len != sizeof md || memcmp(md, c->sig.bh, sizeof md) != 0)
		check_fails(c, "body hash mismatch");
	else if (c->sig.alg == DKIM_RSA_SHA1)
		check_fails(c, "rsa-sha1 is not valid (RFC 8301)");
	else if (c->sig.has_x && (v->now < 0 || c->sig.x < (uint64_t)v->now))
		check_fails(c, "signature expired (x=)");
}

static void
lookup(struct arc_verify *v, struct acheck *c)
{
	char name[2 * DKIM_NAME_LEN + 16];

	if (c->failed)
		return;
	if (c->sig.alg == DKIM_RSA_SHA1) {
		check_fails(c, "rsa-sha1 is not valid (RFC 8301)");
		return;
	}
	snprintf(name, sizeof name, "%s._domainkey.%s", c->sig.s, c->sig.d);
	if (strlen(name) > 253) {
		check_fails(c, "key name too long");
		return;
	}
	c->pending = true;
	v->waiting++;
	if (v->dns.rr(v->dns.ctx, name, RR_TXT, on_key, c) < 0) {
		c->pending = false;
		v->waiting--;
		check_fails(c, "key lookup not started");
	}
}

int
arc_verify_finish(struct arc_verify *v, const struct dns_ops *dns, arc_verify_fn done,
    void *arg)
{
	if (v->finishing)
		return -1;
	v->finishing = true;
	v->dns = *dns;
	v->done = done;
	v->arg = arg;
	v->waiting = 1;
	if (v->status == ARC_PASS) {
		ams_pre_check(v);
		/* Every lookup starts before any answer is used: settle runs once at the end. */
		for (unsigned i = 0; i <= v->n; i++)
			lookup(v, &v->c[i]);
	}
	settle(v);
	return 0;
}

void
arc_verify_free(struct arc_verify *v)
{
	if (v == NULL)
		return;
	for (unsigned i = 0; v->c != NULL && i <= v->n; i++) {
		if (v->c[i].pending && v->dns.cancel != NULL)
			v->dns.cancel(v->dns.ctx, &v->c[i]);
		buf_free(&v->c[i].data);
	}
	free(v->c);
	if (v->hashing)
		dkim_body_free(&v->body);
	free(v);
}
