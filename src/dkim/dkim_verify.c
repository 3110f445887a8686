/*
 * dkim_verify.c - the DKIM verifier (see dkim_verify.h): RFC 6376 6.1, each
 * signature read, its header hash input made from the header block, its body
 * hash computed as the body streams past, its key looked up, then checked.
 */
#include "dkim/dkim_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dns_parse.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_keyrec.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_sign.h"
#include "dkim/dkim_vkey.h"
#include "dkim/dkim_vkeycache.h"
#include "dkim/dkim_vpool.h"
#include "util/buf.h"
#include "util/log.h"

#define RR_TXT 16
#define KEY_TEXT_MAX 4096 /* a key record: an RSA 4096 key's is about 750 octets */
#define WHY_MAX 96

/*
 * One body hash: the signatures with the same body canonicalization and l= share
 * it (a message signed with Ed25519 and RSA alike is canonicalized and hashed once).
 */
struct vbody {
	struct dkim_body body;
	bool simple;
	uint64_t limit;
	bool digested;          /* md and rc are set, and body.length is the total */
	int rc;                 /* dkim_body_digest's */
	unsigned char md[DKIM_SHA256_LEN];
};

struct vsig {
	struct dkim_verify *v;  /* the owner: a lookup's callback gets this vsig */
	struct dkim_sig sig;
	bool decided;           /* status is final */
	enum dkim_status status;
	char why[WHY_MAX];
	bool testing;
	struct vbody *body;     /* in v->bodies; NULL: a signature that could not be read */
	struct buf data;        /* what the signature covers */
	bool pending;           /* its key lookup is under way */
	struct dkim_vjob *job;  /* its check on a thread is under way */
};

struct dkim_verify {
	/* As many as the message has signatures (at most DKIM_VERIFY_MAX): a dkim_sig is
	 * 2.5 KB, and most messages have one or two. */
	struct vsig *sig;
	size_t n, ignored;
	struct vbody *bodies;
	size_t nbodies;
	time_t now;
	bool finishing;
	size_t waiting;         /* lookups under way, and one for dkim_verify_finish itself */
	struct dns_ops dns;
	struct dkim_vkeycache *keys;
	struct dkim_vpool *pool;
	dkim_verify_fn done;
	void *arg;
	struct dkim_result res[DKIM_VERIFY_MAX];
};

const char *
dkim_status_name(enum dkim_status st)
{
	static const char *const names[] = {
		[DKIM_PASS] = "pass", [DKIM_FAIL] = "fail", [DKIM_NEUTRAL] = "neutral",
		[DKIM_POLICY] = "policy", [DKIM_TEMPERROR] = "temperror",
		[DKIM_PERMERROR] = "permerror",
	};
	return (unsigned)st <= DKIM_PERMERROR ? names[st] : "?";
}

static void
decide(struct vsig *s, enum dkim_status st, const char *why)
{
	s->decided = true;
	s->status = st;
	snprintf(s->why, sizeof s->why, "%s", why);
}

int
dkim_sig_header_data(const struct dkim_sig *sig, const struct dkim_fields *fields,
    const struct dkim_field *f, struct buf *out)
{
	struct buf h = { 0 }, stripped = { 0 };
	const char *value = (const char *)memchr(f->p, ':', f->len) + 1;
	size_t head = (size_t)(value - f->p), value_len = f->len - head;
	int rc = -1;

	if (buf_append(&h, value + sig->h, sig->h_len) < 0 || buf_putc(&h, '\0') < 0)
		goto out;
	if (dkim_pick_fields_c(fields, h.data, sig->simple_header, out) < 0)
		goto out;
	if (buf_append(&stripped, f->p, head + sig->b_val) < 0 ||
	    buf_append(&stripped, value + sig->b_end, value_len - sig->b_end) < 0)
		goto out;
	rc = dkim_canon_header_c(stripped.data, stripped.len, sig->simple_header, false, out);
out:
	buf_free(&h);
	buf_free(&stripped);
	return rc;
}

/* add_sig - read the signature in field f; a bad one is decided (permerror) at once. */
static int
add_sig(struct dkim_verify *v, const struct dkim_fields *fields, const struct dkim_field *f)
{
	struct vsig *s = &v->sig[v->n++];
	const char *value = (const char *)memchr(f->p, ':', f->len) + 1;
	size_t value_len = f->len - (size_t)(value - f->p);
	char why[WHY_MAX];

	s->v = v;
	if (dkim_sig_parse(value, value_len, &s->sig, why, sizeof why) < 0) {
		decide(s, DKIM_PERMERROR, why);
		return 0;
	}
	if (dkim_sig_header_data(&s->sig, fields, f, &s->data) < 0)
		return -1;
	bool simple = s->sig.simple_body;
	uint64_t limit = s->sig.has_l ? s->sig.l : DKIM_BODY_ALL;
	for (size_t i = 0; i < v->nbodies; i++) {
		if (v->bodies[i].simple == simple && v->bodies[i].limit == limit) {
			s->body = &v->bodies[i];
			return 0;
		}
	}
	struct vbody *b = &v->bodies[v->nbodies];
	if (dkim_body_init_c(&b->body, simple, limit) < 0)
		return -1;
	b->simple = simple;
	b->limit = limit;
	v->nbodies++;
	s->body = b;
	return 0;
}

struct dkim_verify *
dkim_verify_new(const char *hdr, size_t hdrlen)
{
	struct dkim_verify *v = calloc(1, sizeof *v);
	struct dkim_fields fields = { 0 };

	if (v == NULL)
		return NULL;
	v->now = time(NULL);
	if (dkim_fields_parse(hdr, hdrlen, &fields) < 0)
		goto fail;
	size_t want = 0;
	for (size_t i = 0; i < fields.n && want < DKIM_VERIFY_MAX; i++)
		want += dkim_field_is(&fields.v[i], "DKIM-Signature");
	if (want > 0 && ((v->sig = calloc(want, sizeof *v->sig)) == NULL ||
	    (v->bodies = calloc(want, sizeof *v->bodies)) == NULL))
		goto fail;
	for (size_t i = 0; i < fields.n; i++) {
		if (!dkim_field_is(&fields.v[i], "DKIM-Signature"))
			continue;
		if (v->n == DKIM_VERIFY_MAX) {
			v->ignored++;
			continue;
		}
		if (add_sig(v, &fields, &fields.v[i]) < 0)
			goto fail;
	}
	if (v->ignored > 0)
		ev_info("dkim-ignored", KN("count", v->ignored), KN("limit", DKIM_VERIFY_MAX));
	dkim_fields_free(&fields);
	return v;
fail:
	dkim_fields_free(&fields);
	dkim_verify_free(v);
	return NULL;
}

size_t
dkim_verify_count(const struct dkim_verify *v)
{
	return v->n;
}

size_t
dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

void
dkim_verify_set_time(struct dkim_verify *v, time_t now)
{
	v->now = now;
}

void
dkim_verify_set_keys(struct dkim_verify *v, struct dkim_vkeycache *keys)
{
	v->keys = keys;
}

void
dkim_verify_set_pool(struct dkim_verify *v, struct dkim_vpool *pool)
{
	v->pool = pool;
}

void
dkim_verify_body(struct dkim_verify *v, const char *p, size_t n)
{
	if (v->finishing)
		return;
	for (size_t i = 0; i < v->nbodies; i++)
		dkim_body_update(&v->bodies[i].body, p, n);
}

/* body_check - the body hash against bh=, and l= against the body (6.1.3). */
static void
body_check(struct vsig *s)
{
	struct vbody *b = s->body;

	if (!b->digested) {
		b->rc = dkim_body_digest(&b->body, b->md);
		b->digested = true;
	}
	if (b->rc < 0) {
		decide(s, DKIM_TEMPERROR, "out of memory");
		return;
	}
	if (s->sig.has_l && s->sig.l > b->body.length) {
		decide(s, DKIM_FAIL, "l= longer than the body");
		return;
	}
	if (s->sig.bh_len != sizeof b->md || memcmp(b->md, s->sig.bh, sizeof b->md) != 0)
		decide(s, DKIM_FAIL, "body hash mismatch");
}

static void
results(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct vsig *s = &v->sig[i];
		v->res[i] = (struct dkim_result){
			.status = s->status, .why = s->why, .d = s->sig.d, .s = s->sig.s,
			.a = s->sig.a, .i = s->sig.i, .b = s->sig.b_start, .testing = s->testing,
			.usable = s->status == DKIM_PASS,
		};
	}
}

/* settle - one wait over; the last calls done (which may free v: nothing after it). */
static void
settle(struct dkim_verify *v)
{
	if (--v->waiting > 0)
		return;
	results(v);
	v->done(v->arg, v->res, v->n);
}

enum dkim_status
dkim_key_answer(const struct dkim_sig *sig, const struct dns_rdata *rr,
    struct dkim_vkeycache *keys, const void *data, size_t len, bool *testing, char *why,
    size_t whylen)
{
	char *text = malloc(KEY_TEXT_MAX);
	struct dkim_keyrec *k = malloc(sizeof *k);
	enum dkim_status st;
	bool found = false;
	long n = 0;

	*testing = false;
	snprintf(why, whylen, "no key record");
	if (text == NULL || k == NULL) {
		snprintf(why, whylen, "out of memory");
		st = DKIM_TEMPERROR;
		goto out;
	}
	for (size_t i = 0; i < rr->n && !found; i++) {
		n = dns_parse_txt(rr->v[i], (size_t)rr->len[i], text, KEY_TEXT_MAX);
		if (n < 0) {
			snprintf(why, whylen, "unreadable key record");
			continue;
		}
		found = dkim_keyrec_parse(text, (size_t)n, k, why, whylen) == 0;
	}
	if (!found) {
		st = DKIM_PERMERROR;
		goto out;
	}
	const char *reason;
	if (keys == NULL) {
		st = dkim_vkey_check(sig, k, data, len, &reason);
	} else if ((st = dkim_vkey_usable(sig, k, &reason)) == DKIM_PASS) {
		struct dkim_pubkey *pk = dkim_vkeycache_get(keys, sig->d, sig->s, text, (size_t)n, k,
		    rr->ttl, dkim_vkeycache_now());
		st = dkim_vkey_verify(sig, pk, data, len, &reason);
	}
	*testing = k->testing;
	snprintf(why, whylen, "%s", reason);
out:
	if (k != NULL)
		explicit_bzero(k, sizeof *k);
	free(k);
	free(text);
	return st;
}

/* judge - the key's verdict on the signature, with what l= and t=y make of it. */
static void
judge(struct vsig *s, enum dkim_status st, const char *why)
{
	char msg[WHY_MAX + 24];

	if (st == DKIM_PASS && s->sig.has_l && s->sig.l < s->body->body.length) {
		decide(s, DKIM_POLICY, "l= leaves part of the body unsigned");
		return;
	}
	if (st == DKIM_FAIL && s->testing) {
		snprintf(msg, sizeof msg, "%s (key in testing mode)", why);
		decide(s, DKIM_NEUTRAL, msg);
		return;
	}
	decide(s, st, why);
}

static void
on_checked(void *arg, enum dkim_status st, bool testing, const char *why)
{
	struct vsig *s = arg;

	s->job = NULL;
	s->testing = testing;
	judge(s, st, why);
	settle(s->v);
}

/*
 * key_found - the records of the key; the first that reads decides. With a pool,
 * the check runs on one of its threads and settles later; else here.
 */
static bool
key_found(struct vsig *s, const struct dns_rdata *rr)
{
	char why[WHY_MAX];

	if (s->v->pool != NULL && (s->job = dkim_vpool_check(s->v->pool, &s->sig, rr, s->data.data,
	    s->data.len, on_checked, s)) != NULL)
		return false;
	enum dkim_status st = dkim_key_answer(&s->sig, rr, s->v->keys, s->data.data, s->data.len,
	    &s->testing, why, sizeof why);
	judge(s, st, why);
	return true;
}

static void
on_key(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct vsig *s = arg;
	char msg[WHY_MAX];

	s->pending = false;
	switch (st) {
	case DNS_OK:
		if (!key_found(s, rr))
			return; /* on_checked settles */
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		decide(s, DKIM_PERMERROR, "no key record");
		break;
	default:
		snprintf(msg, sizeof msg, "key lookup: %s", why && *why ? why : "failed");
		decide(s, DKIM_TEMPERROR, msg);
		break;
	}
	settle(s->v);
}

/* pre_check - what is decided before the key: the body, RFC 8301's rsa-sha1, x=. */
static void
pre_check(struct dkim_verify *v, struct vsig *s)
{
	if (s->decided)
		return;
	body_check(s);
	if (s->decided)
		return;
	if (s->sig.alg == DKIM_RSA_SHA1)
		decide(s, DKIM_FAIL, "rsa-sha1 is not valid (RFC 8301)");
	else if (s->sig.has_x && (v->now < 0 || s->sig.x < (uint64_t)v->now))
		decide(s, DKIM_FAIL, "signature expired (x=)");
}

int
dkim_verify_finish(struct dkim_verify *v, const struct dns_ops *dns, dkim_verify_fn done,
    void *arg)
{
	char name[2 * DKIM_NAME_LEN + 16];

	if (v->finishing)
		return -1;
	v->finishing = true;
	v->dns = *dns;
	v->done = done;
	v->arg = arg;
	v->waiting = 1;
	for (size_t i = 0; i < v->n; i++) {
		struct vsig *s = &v->sig[i];
		pre_check(v, s);
		if (s->decided)
			continue;
		snprintf(name, sizeof name, "%s._domainkey.%s", s->sig.s, s->sig.d);
		if (strlen(name) > 253) {
			decide(s, DKIM_PERMERROR, "key name too long");
			continue;
		}
		s->pending = true;
		v->waiting++;
		if (v->dns.rr(v->dns.ctx, name, RR_TXT, on_key, s) < 0) {
			s->pending = false;
			v->waiting--;
			decide(s, DKIM_TEMPERROR, "key lookup not started");
		}
	}
	settle(v);
	return 0;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		struct vsig *s = &v->sig[i];
		if (s->pending && v->dns.cancel != NULL)
			v->dns.cancel(v->dns.ctx, s);
		dkim_vjob_cancel(s->job);
		buf_free(&s->data);
	}
	for (size_t i = 0; i < v->nbodies; i++)
		dkim_body_free(&v->bodies[i].body);
	free(v->sig);
	free(v->bodies);
	free(v);
}
