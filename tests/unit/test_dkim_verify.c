/*
 * test_dkim_verify.c - unit tests for the DKIM verifier with canned DNS answers
 * (synchronous, and later as from the event loop): RFC 8463 Appendix A's message
 * with both its keys; messages the outbound signer (dkim_sign.c, dkim_key.c) signs;
 * tampered header and body; every c= combination; l=; rsa-sha1; a 512-bit key;
 * revoked, t=s, t=y, h= keys; x=; DNS failures; several signatures and the limit
 * on them; and messages dkimpy signed (tests/unit/data/dkim, see make_dkimpy.py).
 * Each message is verified three times, with its keys read for it, with the keys
 * kept from all before (dkim_vkeycache), and with the checks on the threads of a
 * dkim_vpool (answered on an event loop): the results must be the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_key.h"
#include "dkim/dkim_sign.h"
#include "dkim/dkim_verify.h"
#include "dkim/dkim_vkeycache.h"
#include "dkim/dkim_vpool.h"
#include "util/buf.h"

#define DATA_DIR "tests/unit/data/dkim/"

/* The canned DNS: TXT answers by name; deferred answers wait for fire(). */
struct answer {
	char name[300];
	char txt[3000];
	enum dns_status st;
};

struct queued {
	dns_rr_fn fn;
	void *arg;
	const struct answer *a;
};

struct fake_dns {
	struct answer v[16];
	size_t n;
	bool deferred;
	struct queued q[16];
	size_t nq;
	int queries, cancels;
};

static struct fake_dns dns;

static void
dns_reset(bool deferred)
{
	memset(&dns, 0, sizeof dns);
	dns.deferred = deferred;
}

static void
dns_add(const char *name, enum dns_status st, const char *txt)
{
	assert_true(dns.n < 16);
	struct answer *a = &dns.v[dns.n++];
	snprintf(a->name, sizeof a->name, "%s", name);
	snprintf(a->txt, sizeof a->txt, "%s", txt ? txt : "");
	a->st = st;
}

/* answer - the TXT record in wire form (strings of at most 255), given to fn. */
static void
answer(dns_rr_fn fn, void *arg, const struct answer *a)
{
	uint8_t rdata[3200];
	size_t n = 0, len = strlen(a->txt);
	const uint8_t *v[1] = { rdata };
	int lens[1];

	if (a == NULL || a->st != DNS_OK) {
		struct dns_rdata none = { 0 };
		fn(arg, a ? a->st : DNS_NXDOMAIN, &none, a ? "canned failure" : "");
		return;
	}
	for (size_t i = 0; i < len; i += 255) {
		size_t k = len - i < 255 ? len - i : 255;
		rdata[n++] = (uint8_t)k;
		memcpy(rdata + n, a->txt + i, k);
		n += k;
	}
	lens[0] = (int)n;
	struct dns_rdata rr = { v, lens, 1, 300, false };
	fn(arg, DNS_OK, &rr, "");
}

static int
fake_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	const struct answer *a = NULL;

	assert_int_equal(rrtype, 16);
	dns.queries++;
	if (strcmp(name, "refused.test") == 0 || strstr(name, "._domainkey.refused.test"))
		return -1;
	for (size_t i = 0; i < dns.n; i++)
		if (strcmp(dns.v[i].name, name) == 0)
			a = &dns.v[i];
	static const struct answer nx = { "", "", DNS_NXDOMAIN };
	if (a == NULL)
		a = &nx;
	if (dns.deferred) {
		assert_true(dns.nq < 16);
		dns.q[dns.nq++] = (struct queued){ fn, arg, a };
		return 0;
	}
	answer(fn, arg, a);
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	for (size_t i = 0; i < dns.nq; i++) {
		if (dns.q[i].arg == arg) {
			dns.q[i].fn = NULL;
			dns.cancels++;
		}
	}
}

static const struct dns_ops fake_ops = { fake_rr, fake_cancel, NULL };

/* fire - the deferred answers, last asked first (answers come in any order). */
static void
fire(void)
{
	for (size_t i = dns.nq; i-- > 0;) {
		if (dns.q[i].fn != NULL) {
			dns_rr_fn fn = dns.q[i].fn;
			dns.q[i].fn = NULL;
			answer(fn, dns.q[i].arg, dns.q[i].a);
		}
	}
}

/* What done was given, copied. */
struct got {
	int calls;
	size_t n;
	struct {
		enum dkim_status st;
		char why[100], d[256], s[256], a[32], i[320], b[16];
		bool usable, testing;
	} r[DKIM_VERIFY_MAX];
};

static void
on_done(void *arg, const struct dkim_result *res, size_t n)
{
	struct got *g = arg;

	g->calls++;
	g->n = n;
	for (size_t k = 0; k < n; k++) {
		g->r[k].st = res[k].status;
		snprintf(g->r[k].why, sizeof g->r[k].why, "%s", res[k].why);
		snprintf(g->r[k].d, sizeof g->r[k].d, "%s", res[k].d);
		snprintf(g->r[k].s, sizeof g->r[k].s, "%s", res[k].s);
		snprintf(g->r[k].a, sizeof g->r[k].a, "%s", res[k].a);
		snprintf(g->r[k].i, sizeof g->r[k].i, "%s", res[k].i);
		snprintf(g->r[k].b, sizeof g->r[k].b, "%s", res[k].b);
		g->r[k].usable = res[k].usable;
		g->r[k].testing = res[k].testing;
	}
}

#define NOW 1700000000

/* Parsed keys kept across every test, as smtpd keeps them across messages. */
static struct dkim_vkeycache *keycache;
/* Threads for the checks, as smtpd has them, and the loop their answers come to. */
static struct event_base *base;
static struct dkim_vpool *pool;

/* pump - run the loop until *calls is at least want (bounded: 5 s). */
static void
pump(const int *calls, int want)
{
	for (int i = 0; i < 5000 && *calls < want; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (*calls < want)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

/* verify_with - msg through the verifier, its body in chunks of step octets. */
static void
verify_with(const char *msg, size_t step, struct dkim_vkeycache *keys, bool threads,
    struct got *g)
{
	size_t len = strlen(msg), body_at;
	size_t end = dkim_header_end(msg, len, &body_at);
	struct dkim_verify *v = dkim_verify_new(msg, end);

	memset(g, 0, sizeof *g);
	assert_non_null(v);
	dkim_verify_set_time(v, NOW);
	dkim_verify_set_keys(v, keys);
	if (threads)
		dkim_verify_set_pool(v, pool);
	for (size_t i = body_at; i < len; i += step)
		dkim_verify_body(v, msg + i, len - i < step ? len - i : step);
	assert_int_equal(dkim_verify_finish(v, &fake_ops, on_done, g), 0);
	assert_int_equal(dkim_verify_finish(v, &fake_ops, on_done, g), -1);
	if (dns.deferred) {
		assert_int_equal(g->calls, dns.nq > 0 ? 0 : 1);
		fire();
	}
	if (threads)
		pump(&g->calls, 1);
	assert_int_equal(g->calls, 1);
	assert_int_equal(g->n, dkim_verify_count(v));
	dkim_verify_free(v);
}

/*
 * verify_step - verify_with, first with each key read for the message, then again
 * with the keys kept: the results must be the same (the DNS counts are the first's).
 */
static void
verify_step(const char *msg, size_t step, struct got *g)
{
	struct got kept, threaded;

	verify_with(msg, step, NULL, false, g);
	int queries = dns.queries;
	dns.nq = 0; /* all answered by now */
	verify_with(msg, step, keycache, false, &kept);
	dns.nq = 0;
	verify_with(msg, step, keycache, true, &threaded);
	dns.queries = queries;
	if (memcmp(g, &kept, sizeof kept) != 0)
		fail_msg("kept keys: %s (%s), read each time: %s (%s)",
		    dkim_status_name(kept.r[0].st), kept.r[0].why, dkim_status_name(g->r[0].st),
		    g->r[0].why);
	if (memcmp(g, &threaded, sizeof threaded) != 0)
		fail_msg("on threads: %s (%s), on the loop: %s (%s)",
		    dkim_status_name(threaded.r[0].st), threaded.r[0].why,
		    dkim_status_name(g->r[0].st), g->r[0].why);
}

static void
verify(const char *msg, struct got *g)
{
	verify_step(msg, 7, g);
}

static void
expect(const struct got *g, size_t k, enum dkim_status st, const char *why_part)
{
	assert_true(k < g->n);
	if (g->r[k].st != st || strstr(g->r[k].why, why_part) == NULL)
		fail_msg("signature %zu: %s (%s), want %s (%s)", k, dkim_status_name(g->r[k].st),
		    g->r[k].why, dkim_status_name(st), why_part);
	assert_int_equal(g->r[k].usable, st == DKIM_PASS);
}

static const char rfc8463_msg[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \n"
	" d=football.example.com; i=@football.example.com; \n"
	" q=dns/txt; s=brisbane; t=1518460054; h=from : to : \n"
	" subject : date : message-id : from : subject : date; \n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"
	" b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\n"
	" o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\n"
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \n"
	" d=football.example.com; i=@football.example.com; \n"
	" q=dns/txt; s=test; t=1527915362; h=from : to : subject : \n"
	" date : message-id : from : subject : date; \n"
	" bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \n"
	" b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\n"
	" l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\n"
	" NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\n"
	"From: Joe SixPack <joe@football.example.com>\n"
	"To: Suzie Q <suzie@shopping.example.net>\n"
	"Subject: Is dinner ready?\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
	"\n"
	"Hi.\n"
	"\n"
	"We lost the game.  Are you hungry yet?\n"
	"\n"
	"Joe.\n"
	"\n"
	;

/* RFC 8463 Appendix A: simple/simple, signed with Ed25519 and with RSA (its keys). */
static void
test_rfc8463(void **state)
{
	struct got g;
	char rsa_txt[600];
	FILE *f = fopen(DATA_DIR "rfc8463_rsa.txt", "r");

	assert_non_null(f);
	assert_non_null(fgets(rsa_txt, sizeof rsa_txt, f));
	fclose(f);
	rsa_txt[strcspn(rsa_txt, "\n")] = '\0';
	for (int deferred = 0; deferred < 2; deferred++) {
		dns_reset(deferred);
		dns_add("brisbane._domainkey.football.example.com", DNS_OK,
		    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
		dns_add("test._domainkey.football.example.com", DNS_OK, rsa_txt);
		size_t steps[] = { 1, 7, 100000 };
		for (size_t k = 0; k < 3; k++) {
			verify_step(rfc8463_msg, steps[k], &g);
			assert_int_equal(g.n, 2);
			expect(&g, 0, DKIM_PASS, "");
			expect(&g, 1, DKIM_PASS, "");
			assert_string_equal(g.r[0].d, "football.example.com");
			assert_string_equal(g.r[0].s, "brisbane");
			assert_string_equal(g.r[0].a, "ed25519-sha256");
			assert_string_equal(g.r[0].i, "@football.example.com");
			assert_string_equal(g.r[0].b, "9/dsDChY");
			assert_string_equal(g.r[1].s, "test");
			assert_string_equal(g.r[1].a, "rsa-sha256");
		}
	}
	/* A changed body: both fail on the body hash; a changed Subject: on the signature. */
	char *msg = strdup(rfc8463_msg);
	char *p = strstr(msg, "hungry");
	p[0] = 'H';
	dns_reset(false);
	dns_add("brisbane._domainkey.football.example.com", DNS_OK,
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	dns_add("test._domainkey.football.example.com", DNS_OK, rsa_txt);
	verify(msg, &g);
	expect(&g, 0, DKIM_FAIL, "body hash mismatch");
	expect(&g, 1, DKIM_FAIL, "body hash mismatch");
	p[0] = 'h';
	p = strstr(msg, "dinner");
	p[0] = 'D';
	verify(msg, &g);
	expect(&g, 0, DKIM_FAIL, "signature invalid");
	expect(&g, 1, DKIM_FAIL, "signature invalid");
	/* Restored: a pass again. */
	p[0] = 'd';
	verify(msg, &g);
	expect(&g, 0, DKIM_PASS, "");
	free(msg);
}

/* Keys made once for the tests below. */
struct key {
	enum dkim_alg alg;
	char pem[DKIM_PEM_MAX];
	char txt[DKIM_PUB_MAX + 64];
};

static struct key ed_key, rsa_key, rsa512_key;

static void
make_keys(void)
{
	char pub[DKIM_PUB_MAX];

	if (ed_key.pem[0] != '\0')
		return;
	ed_key.alg = DKIM_ED25519;
	assert_int_equal(dkim_key_make(DKIM_ED25519, ed_key.pem, sizeof ed_key.pem, pub,
	    sizeof pub), 0);
	snprintf(ed_key.txt, sizeof ed_key.txt, "v=DKIM1; k=ed25519; p=%s", pub);
	rsa_key.alg = DKIM_RSA;
	assert_int_equal(dkim_key_make(DKIM_RSA, rsa_key.pem, sizeof rsa_key.pem, pub,
	    sizeof pub), 0);
	snprintf(rsa_key.txt, sizeof rsa_key.txt, "v=DKIM1; k=rsa; p=%s", pub);

	/* 512 bits: made here, as dkim_key_make makes only keys that may be used. */
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(pkey);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	memcpy(rsa512_key.pem, p, (size_t)n);
	BIO_free(bio);
	unsigned char *der = NULL;
	int dlen = i2d_PUBKEY(pkey, &der);
	assert_true(dlen > 0);
	assert_int_equal(dkim_base64(der, (size_t)dlen, pub, sizeof pub), 0);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	rsa512_key.alg = DKIM_RSA;
	snprintf(rsa512_key.txt, sizeof rsa512_key.txt, "v=DKIM1; p=%s", pub);
}

/* evp_sign - the b= of data with key: RSA with md (SHA-256 or SHA-1), Ed25519 over SHA-256(data). */
static void
evp_sign(const struct key *key, const char *md, const struct buf *data, char *out, size_t outlen)
{
	BIO *bio = BIO_new_mem_buf(key->pem, -1);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[512], hash[32];
	size_t siglen = sizeof sig;
	unsigned int hlen;

	assert_non_null(pkey);
	if (key->alg == DKIM_RSA) {
		assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data->data,
		    data->len), 1);
	} else {
		assert_int_equal(EVP_Digest(data->data, data->len, hash, &hlen, EVP_sha256(), NULL), 1);
		assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, hash, sizeof hash), 1);
	}
	assert_int_equal(dkim_base64(sig, siglen, out, outlen), 0);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
}

struct signing {
	const struct key *key;
	const char *tags;    /* between "v=1;" and "bh=", c= and h= among them */
	bool simple_h, simple_b;
	uint64_t l;          /* DKIM_BODY_ALL: no limit */
	const char *md;      /* "SHA256" unless rsa-sha1 */
	const char *h;
};

/*
 * sign_onto - msg (header block, empty line, body) with a DKIM-Signature made by this
 * test (so that any tags can be had) on top, into out; out may be msg's own buffer.
 */
static void
sign_onto(struct buf *msg, const struct signing *sg)
{
	size_t body_at, end = dkim_header_end(msg->data, msg->len, &body_at);
	struct dkim_body b;
	char bh[64], sig[800];
	struct buf field = { 0 }, data = { 0 }, out = { 0 };
	struct dkim_fields f = { 0 };

	assert_int_equal(dkim_body_init_c(&b, sg->simple_b, sg->l), 0);
	dkim_body_update(&b, msg->data + body_at, msg->len - body_at);
	assert_int_equal(dkim_body_final(&b, bh, sizeof bh), 0);
	dkim_body_free(&b);
	assert_int_equal(buf_printf(&field, "DKIM-Signature: v=1; %s;\n\tbh=%s; b=", sg->tags, bh), 0);
	assert_int_equal(dkim_fields_parse(msg->data, end, &f), 0);
	assert_int_equal(dkim_pick_fields_c(&f, sg->h, sg->simple_h, &data), 0);
	assert_int_equal(dkim_canon_header_c(field.data, field.len, sg->simple_h, false, &data), 0);
	evp_sign(sg->key, sg->md ? sg->md : "SHA256", &data, sig, sizeof sig);
	assert_int_equal(buf_printf(&out, "%s%s\n", field.data, sig), 0);
	assert_int_equal(buf_append(&out, msg->data, msg->len), 0);
	assert_int_equal(buf_putc(&out, '\0'), 0);
	out.len--;
	buf_free(msg);
	*msg = out;
	buf_free(&field);
	buf_free(&data);
	dkim_fields_free(&f);
}

static const char plain_msg[] =
	"Received: from x by y\n"
	"From: Alice <alice@example.test>\n"
	"To: bob@other.test\n"
	"Subject:  Hello   there \n"
	"\tfolded\n"
	"Date: Mon, 13 Nov 2023 22:13:20 +0000\n"
	"\n"
	"Hi Bob,  \n"
	"\n"
	"some  text\there\n"
	"\n"
	"\n";

static void
msg_init(struct buf *m, const char *text)
{
	memset(m, 0, sizeof *m);
	assert_int_equal(buf_append(m, text, strlen(text)), 0);
}

/* One signature made with tags over plain_msg (or text), verified with key's record. */
static void
one(const char *text, const struct key *key, const char *record, const char *tags,
    bool sh, bool sb, uint64_t l, const char *md, struct got *g)
{
	struct buf m;
	struct signing sg = { key, tags, sh, sb, l, md, "from:to:subject:date" };

	msg_init(&m, text ? text : plain_msg);
	sign_onto(&m, &sg);
	dns_reset(false);
	dns_add("sel._domainkey.example.test", DNS_OK, record ? record : key->txt);
	verify(m.data, g);
	buf_free(&m);
}

/* Each c= combination, with both algorithms, passes, and breaks where it should. */
static void
test_canonicalizations(void **state)
{
	static const char *const c[4] = { "simple/simple", "simple/relaxed", "relaxed/simple",
		"relaxed/relaxed" };
	const struct key *keys[2] = { &ed_key, &rsa_key };
	char tags[200];
	struct got g;

	make_keys();
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 4; i++) {
			bool sh = i < 2, sb = i % 2 == 0;
			snprintf(tags, sizeof tags, "a=%s; c=%s; d=example.test; s=sel;\n\th=from:to:subject:date",
			    keys[k] == &ed_key ? "ed25519-sha256" : "rsa-sha256", c[i]);
			one(NULL, keys[k], NULL, tags, sh, sb, DKIM_BODY_ALL, NULL, &g);
			assert_int_equal(g.n, 1);
			expect(&g, 0, DKIM_PASS, "");
			assert_string_equal(g.r[0].i, "@example.test");

			/* Spaces changed in a signed field: only relaxed headers survive it. */
			struct buf m;
			struct signing sg = { keys[k], tags, sh, sb, DKIM_BODY_ALL, NULL,
				"from:to:subject:date" };
			msg_init(&m, plain_msg);
			sign_onto(&m, &sg);
			char *p = strstr(m.data, "Subject:  Hello");
			memcpy(p, "Subject:Hello  ", 15);
			verify(m.data, &g);
			expect(&g, 0, sh ? DKIM_FAIL : DKIM_PASS, sh ? "signature invalid" : "");
			/* Spaces at a body line's end: only a relaxed body survives it. */
			p = strstr(m.data, "Hi Bob,  \n");
			memcpy(p, "Hi Bob,\t\t\n", 10);
			verify(m.data, &g);
			expect(&g, 0, sh || sb ? DKIM_FAIL : DKIM_PASS,
			    sb ? "body hash mismatch" : sh ? "signature invalid" : "");
			/* Empty lines added at the end: ignored by both. */
			buf_free(&m);
			msg_init(&m, plain_msg);
			sign_onto(&m, &sg);
			assert_int_equal(buf_append(&m, "\n\n\n", 4), 0);
			verify(m.data, &g);
			expect(&g, 0, DKIM_PASS, "");
			/* A header field not signed may be added; a second From may not. */
			struct buf m2;
			msg_init(&m2, "X-Added: yes\n");
			assert_int_equal(buf_append(&m2, m.data, m.len), 0);
			verify(m2.data, &g);
			expect(&g, 0, DKIM_PASS, "");
			buf_free(&m2);
			buf_free(&m);
		}
	}
}

/* Messages made by the outbound signer (what queued puts on mail that leaves). */
static void
test_own_signer(void **state)
{
	const struct key *keys[2] = { &ed_key, &rsa_key };
	struct got g;

	make_keys();
	for (int k = 0; k < 2; k++) {
		size_t body_at, end = dkim_header_end(plain_msg, strlen(plain_msg), &body_at);
		struct dkim_fields f = { 0 };
		struct dkim_body b;
		char bh[64], sig[DKIM_SIG_MAX];
		struct buf field = { 0 }, data = { 0 }, m = { 0 };

		assert_int_equal(dkim_body_init(&b), 0);
		dkim_body_update(&b, plain_msg + body_at, strlen(plain_msg) - body_at);
		assert_int_equal(dkim_body_final(&b, bh, sizeof bh), 0);
		dkim_body_free(&b);
		struct dkim_sign_req r = { "DKIM-Signature", "v=1", dkim_alg_sig_name(keys[k]->alg),
			"example.test", "sel", NOW - 10, NOW + 3600, bh };
		assert_int_equal(dkim_fields_parse(plain_msg, end, &f), 0);
		assert_int_equal(dkim_sign_build(&f, &r, &field, &data), 0);
		assert_int_equal(dkim_key_sign(keys[k]->pem, keys[k]->alg, data.data, data.len, sig,
		    sizeof sig), 0);
		assert_int_equal(dkim_sign_finish(&field, sig), 0);
		assert_int_equal(buf_append(&m, field.data, field.len), 0);
		assert_int_equal(buf_append(&m, plain_msg, strlen(plain_msg)), 0);
		assert_int_equal(buf_putc(&m, '\0'), 0);
		dns_reset(k == 1);
		dns_add("sel._domainkey.example.test", DNS_OK, keys[k]->txt);
		verify(m.data, &g);
		expect(&g, 0, DKIM_PASS, "");
		/* From is oversigned: a second From breaks it. */
		struct buf m2;
		msg_init(&m2, "From: mallory@evil.test\n");
		assert_int_equal(buf_append(&m2, m.data, m.len), 0);
		verify(m2.data, &g);
		expect(&g, 0, DKIM_FAIL, "signature invalid");
		buf_free(&m2);
		/* Past its x=. */
		struct dkim_verify *v;
		size_t bat, e = dkim_header_end(m.data, strlen(m.data), &bat);
		assert_non_null(v = dkim_verify_new(m.data, e));
		dkim_verify_set_time(v, NOW + 3601);
		dkim_verify_body(v, m.data + bat, strlen(m.data) - bat);
		memset(&g, 0, sizeof g);
		assert_int_equal(dkim_verify_finish(v, &fake_ops, on_done, &g), 0);
		fire();
		expect(&g, 0, DKIM_FAIL, "expired");
		dkim_verify_free(v);
		buf_free(&field);
		buf_free(&data);
		buf_free(&m);
		dkim_fields_free(&f);
	}
}

static void
test_length(void **state)
{
	struct got g;
#define LEN_TAGS "a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=sel; h=from:to:subject:date; l=%s"
	char t[200];

	make_keys();
	/* l= the whole canonical body ("Hi Bob,\r\n\r\nsome text here\r\n": 27): a pass. */
	snprintf(t, sizeof t, LEN_TAGS, "27");
	one(NULL, &ed_key, NULL, t, false, false, 27, NULL, &g);
	expect(&g, 0, DKIM_PASS, "");
	/* Less: the rest is not signed, so not a pass. */
	snprintf(t, sizeof t, LEN_TAGS, "9");
	one(NULL, &ed_key, NULL, t, false, false, 9, NULL, &g);
	expect(&g, 0, DKIM_POLICY, "l=");
	snprintf(t, sizeof t, LEN_TAGS, "0");
	one(NULL, &ed_key, NULL, t, false, false, 0, NULL, &g);
	expect(&g, 0, DKIM_POLICY, "l=");
	/* More than the body. */
	snprintf(t, sizeof t, LEN_TAGS, "28");
	one(NULL, &ed_key, NULL, t, false, false, 28, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "l= longer");
	snprintf(t, sizeof t, LEN_TAGS, "99999999999999999999999");
	one(NULL, &ed_key, NULL, t, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "l= longer");
}

static void
test_keys(void **state)
{
	struct got g;
	const char *rsa = "a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=sel; h=from:to:subject:date";
	const char *ed = "a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=sel; h=from:to:subject:date";
	char rec[DKIM_PUB_MAX + 100];

	make_keys();
	one(NULL, &rsa_key, NULL, "a=rsa-sha1; c=relaxed/relaxed; d=example.test; s=sel; h=from:to:subject:date",
	    false, false, DKIM_BODY_ALL, "SHA1", &g);
	expect(&g, 0, DKIM_FAIL, "rsa-sha1");
	one(NULL, &rsa512_key, NULL, rsa, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "under 1024 bits");
	one(NULL, &rsa_key, "v=DKIM1; k=rsa; p=", rsa, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "revoked");
	/* The wrong key of the right type; a key of the other type. */
	one(NULL, &ed_key, NULL, ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PASS, "");
	one(NULL, &rsa_key, ed_key.txt, rsa, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PERMERROR, "key type");
	snprintf(rec, sizeof rec, "v=DKIM1; k=ed25519; p=%s", "fL+5V9EquCZAovKik3pA6Lk9zwCzoEtjIuIqK9ZXHHA=");
	one(NULL, &ed_key, rec, ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "signature invalid");
	one(NULL, &ed_key, "v=DKIM1; k=ed25519; p=AAAA", ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PERMERROR, "bad key");
	one(NULL, &ed_key, "v=DKIM2; k=ed25519; p=AAAA", ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PERMERROR, "DKIM1");
	/* h= without sha256. */
	snprintf(rec, sizeof rec, "%s; h=sha1", rsa_key.txt);
	one(NULL, &rsa_key, rec, rsa, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "h=");
	snprintf(rec, sizeof rec, "%s; h=sha1:sha256", rsa_key.txt);
	one(NULL, &rsa_key, rec, rsa, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PASS, "");
	/* t=s: i= must be d= itself. */
	snprintf(rec, sizeof rec, "%s; t=s", ed_key.txt);
	one(NULL, &ed_key, rec, "a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=sel; "
	    "i=alice@mail.example.test; h=from:to:subject:date", false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_FAIL, "t=s");
	assert_string_equal(g.r[0].i, "alice@mail.example.test");
	one(NULL, &ed_key, rec, "a=ed25519-sha256; c=relaxed/relaxed; d=example.test; s=sel; "
	    "i=alice@example.test; h=from:to:subject:date", false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PASS, "");
	/* t=y: a pass stays one (marked); a failure is neutral. */
	snprintf(rec, sizeof rec, "%s; t=y", ed_key.txt);
	one(NULL, &ed_key, rec, ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PASS, "");
	assert_true(g.r[0].testing);
	snprintf(rec, sizeof rec, "v=DKIM1; k=ed25519; t=y; p=%s", "fL+5V9EquCZAovKik3pA6Lk9zwCzoEtjIuIqK9ZXHHA=");
	one(NULL, &ed_key, rec, ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_NEUTRAL, "testing");
	/* s= for another service only. */
	snprintf(rec, sizeof rec, "%s; s=other", ed_key.txt);
	one(NULL, &ed_key, rec, ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PERMERROR, "email");
	/* A record that is no key record. */
	one(NULL, &ed_key, "nonsense without tags", ed, false, false, DKIM_BODY_ALL, NULL, &g);
	expect(&g, 0, DKIM_PERMERROR, "");
}

static void
test_dns(void **state)
{
	struct got g;
	struct buf m;
#define ED_TAGS "a=ed25519-sha256; c=relaxed/relaxed; d=%s; s=sel; h=from:to:subject:date"
	char t[200];

	make_keys();
	struct {
		const char *d;
		enum dns_status st;
		enum dkim_status want;
		const char *why;
	} cases[] = {
		{ "nx.test", DNS_NXDOMAIN, DKIM_PERMERROR, "no key record" },
		{ "nodata.test", DNS_NODATA, DKIM_PERMERROR, "no key record" },
		{ "slow.test", DNS_TEMPFAIL, DKIM_TEMPERROR, "key lookup" },
		{ "refused.test", DNS_OK, DKIM_TEMPERROR, "not started" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(t, sizeof t, ED_TAGS, cases[i].d);
		struct signing sg = { &ed_key, t, false, false, DKIM_BODY_ALL, NULL,
			"from:to:subject:date" };
		msg_init(&m, plain_msg);
		sign_onto(&m, &sg);
		for (int deferred = 0; deferred < 2; deferred++) {
			char name[100];
			dns_reset(deferred);
			snprintf(name, sizeof name, "sel._domainkey.%s", cases[i].d);
			dns_add(name, cases[i].st, ed_key.txt);
			verify(m.data, &g);
			expect(&g, 0, cases[i].want, cases[i].why);
		}
		buf_free(&m);
	}

	/* Freed with lookups under way: they are cancelled, done is not called. */
	snprintf(t, sizeof t, ED_TAGS, "example.test");
	struct signing sg = { &ed_key, t, false, false, DKIM_BODY_ALL, NULL, "from:to:subject:date" };
	msg_init(&m, plain_msg);
	sign_onto(&m, &sg);
	sign_onto(&m, &sg);
	dns_reset(true);
	size_t bat, e = dkim_header_end(m.data, m.len, &bat);
	struct dkim_verify *v = dkim_verify_new(m.data, e);
	assert_non_null(v);
	dkim_verify_body(v, m.data + bat, m.len - bat);
	memset(&g, 0, sizeof g);
	assert_int_equal(dkim_verify_finish(v, &fake_ops, on_done, &g), 0);
	assert_int_equal(dns.nq, 2);
	dkim_verify_free(v);
	assert_int_equal(dns.cancels, 2);
	fire();
	assert_int_equal(g.calls, 0);

	/* Freed with checks under way on the threads: done is not called, nothing leaks. */
	dns_reset(false);
	dns_add("sel._domainkey.example.test", DNS_OK, ed_key.txt);
	unsigned long checks = dkim_vpool_checks(pool);
	v = dkim_verify_new(m.data, e);
	assert_non_null(v);
	dkim_verify_set_pool(v, pool);
	dkim_verify_body(v, m.data + bat, m.len - bat);
	memset(&g, 0, sizeof g);
	assert_int_equal(dkim_verify_finish(v, &fake_ops, on_done, &g), 0);
	assert_int_equal(g.calls, 0);
	dkim_verify_free(v);
	for (int i = 0; i < 5000 && dkim_vpool_checks(pool) < checks + 2; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_int_equal(dkim_vpool_checks(pool), checks + 2);
	for (int i = 0; i < 20; i++) { /* the answers come back to the loop, and go nowhere */
		event_base_loop(base, EVLOOP_NONBLOCK);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	assert_int_equal(g.calls, 0);
	buf_free(&m);

	/* No signature at all: done at once with none. */
	dns_reset(false);
	verify(plain_msg, &g);
	assert_int_equal(g.n, 0);
	assert_int_equal(dns.queries, 0);
}

/*
 * Signatures with the same body c= and l= share one body hash, those with another
 * c= or l= have their own: each is still judged on its own body hash and l=.
 */
static void
test_shared_body(void **state)
{
#define SB_TAGS "c=relaxed/%s; d=example.test; s=%s; h=from:to:subject:date%s"
	static const struct {
		const struct key *key;
		const char *sel, *body_c, *l;
		uint64_t limit;
		enum dkim_status want, want_changed;
		const char *why, *why_changed;
	} sigs[] = {
		{ &ed_key, "ed", "relaxed", "", DKIM_BODY_ALL, DKIM_PASS, DKIM_FAIL, "", "body hash" },
		{ &rsa_key, "rsa", "relaxed", "", DKIM_BODY_ALL, DKIM_PASS, DKIM_FAIL, "", "body hash" },
		{ &ed_key, "ed", "relaxed", "; l=9", 9, DKIM_POLICY, DKIM_POLICY, "l=", "l=" },
		{ &ed_key, "ed", "simple", "", DKIM_BODY_ALL, DKIM_PASS, DKIM_FAIL, "", "body hash" },
		{ &rsa_key, "rsa", "relaxed", "; l=28", 28, DKIM_FAIL, DKIM_FAIL, "l= longer",
		  "body hash" },
		{ &rsa_key, "rsa", "relaxed", "; l=27", 27, DKIM_PASS, DKIM_POLICY, "", "l=" },
	};
	size_t n = sizeof sigs / sizeof sigs[0];
	char tags[6][200];
	struct got g;
	struct buf m, changed;

	make_keys();
	msg_init(&m, plain_msg);
	for (size_t i = 0; i < n; i++) {
		snprintf(tags[i], sizeof tags[i], "a=%s; " SB_TAGS,
		    sigs[i].key->alg == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256", sigs[i].body_c,
		    sigs[i].sel, sigs[i].l);
		struct signing sg = { sigs[i].key, tags[i], false, strcmp(sigs[i].body_c, "simple") == 0,
			sigs[i].limit, NULL, "from:to:subject:date" };
		sign_onto(&m, &sg);
	}
	/* The body grows past its 27 canonical octets, the first 27 unchanged. */
	msg_init(&changed, m.data);
	assert_int_equal(buf_append(&changed, "more\n", 6), 0);
	assert_int_equal(buf_putc(&changed, '\0'), 0);
	for (int deferred = 0; deferred < 2; deferred++) {
		dns_reset(deferred);
		dns_add("ed._domainkey.example.test", DNS_OK, ed_key.txt);
		dns_add("rsa._domainkey.example.test", DNS_OK, rsa_key.txt);
		verify(m.data, &g);
		assert_int_equal(g.n, n);
		for (size_t i = 0; i < n; i++) /* the newest signature is on top */
			expect(&g, n - 1 - i, sigs[i].want, sigs[i].why);
		verify(changed.data, &g);
		for (size_t i = 0; i < n; i++)
			expect(&g, n - 1 - i, sigs[i].want_changed, sigs[i].why_changed);
	}
	buf_free(&m);
	buf_free(&changed);
}

/* done may free the verifier, even when it comes before finish returns. */
static void
free_in_done(void *arg, const struct dkim_result *res, size_t n)
{
	struct dkim_verify **v = arg;
	assert_int_equal(n, 2);
	assert_int_equal(res[0].status, DKIM_PASS);
	dkim_verify_free(*v);
	*v = NULL;
}

static void
test_several(void **state)
{
	struct got g;
	struct buf m;
	char t[300];

	make_keys();
	msg_init(&m, plain_msg);
	/* From the bottom up: a good one, one another domain made, a broken one, a good RSA one. */
	snprintf(t, sizeof t, "a=ed25519-sha256; c=simple/simple; d=example.test; s=sel; h=from:subject");
	struct signing a = { &ed_key, t, true, true, DKIM_BODY_ALL, NULL, "from:subject" };
	sign_onto(&m, &a);
	char t2[300] = "a=ed25519-sha256; c=relaxed/simple; d=other.test; s=s2; i=list@lists.other.test; h=from:to";
	struct signing b = { &ed_key, t2, false, true, DKIM_BODY_ALL, NULL, "from:to" };
	sign_onto(&m, &b);
	struct buf broken;
	msg_init(&broken, "DKIM-Signature: v=1; a=ed25519-sha256; d=x.test; s=a; h=from; bh=AAAA; b=AAAA; a=rsa-sha256\n");
	assert_int_equal(buf_append(&broken, m.data, m.len), 0);
	buf_free(&m);
	m = broken;
	char t3[300] = "a=rsa-sha256; c=relaxed/relaxed; d=Example.TEST; s=rsa; h=from:to:subject:date:date";
	struct signing c = { &rsa_key, t3, false, false, DKIM_BODY_ALL, NULL, "from:to:subject:date:date" };
	sign_onto(&m, &c);
	dns_reset(true);
	dns_add("sel._domainkey.example.test", DNS_OK, ed_key.txt);
	dns_add("s2._domainkey.other.test", DNS_OK, ed_key.txt);
	dns_add("rsa._domainkey.example.test", DNS_OK, rsa_key.txt);
	verify(m.data, &g);
	assert_int_equal(g.n, 4);
	expect(&g, 0, DKIM_PASS, "");
	assert_string_equal(g.r[0].d, "example.test");
	assert_string_equal(g.r[0].s, "rsa");
	expect(&g, 1, DKIM_PERMERROR, "duplicate tag a");
	expect(&g, 2, DKIM_PASS, "");
	assert_string_equal(g.r[2].d, "other.test");
	assert_string_equal(g.r[2].i, "list@lists.other.test");
	expect(&g, 3, DKIM_PASS, "");
	assert_string_equal(g.r[3].s, "sel");
	assert_int_equal(dns.queries, 3);

	/* Freed in done, with the answers synchronous and deferred. */
	buf_free(&m);
	msg_init(&m, plain_msg);
	sign_onto(&m, &a);
	sign_onto(&m, &a);
	for (int deferred = 0; deferred < 2; deferred++) {
		dns_reset(deferred);
		dns_add("sel._domainkey.example.test", DNS_OK, ed_key.txt);
		size_t bat, e = dkim_header_end(m.data, m.len, &bat);
		struct dkim_verify *v = dkim_verify_new(m.data, e);
		dkim_verify_body(v, m.data + bat, m.len - bat);
		assert_int_equal(dkim_verify_finish(v, &fake_ops, free_in_done, &v), 0);
		fire();
		assert_null(v);
	}

	/* Twelve: ten are verified, two ignored. */
	for (int i = 0; i < 10; i++)
		sign_onto(&m, &a);
	size_t bat, e = dkim_header_end(m.data, m.len, &bat);
	struct dkim_verify *v = dkim_verify_new(m.data, e);
	assert_int_equal(dkim_verify_count(v), DKIM_VERIFY_MAX);
	assert_int_equal(dkim_verify_ignored(v), 2);
	dkim_verify_free(v);
	buf_free(&m);
}

/* Signatures that do not parse: permerror, with d= and s= when they could be read. */
static void
test_bad_signatures(void **state)
{
	static const struct {
		const char *field;
		const char *why;
	} cases[] = {
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=to; bh=AAAA; b=AAAA\n", "From" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; b=AAAA\n", "no bh=" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA; i=@evil.test\n", "i= not within d=" },
		{ "DKIM-Signature: v=2; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA\n", "v=" },
		{ "DKIM-Signature: v=1; a=rsa-md5; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA\n", "algorithm" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA; c=fancy\n", "c=" },
		{ "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; h=from; bh=AAAA; b=AAAA; q=http\n", "q=" },
	};
	struct got g;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf m;
		msg_init(&m, cases[i].field);
		assert_int_equal(buf_append(&m, plain_msg, strlen(plain_msg) + 1), 0);
		dns_reset(false);
		verify(m.data, &g);
		assert_int_equal(g.n, 1);
		expect(&g, 0, DKIM_PERMERROR, cases[i].why);
		assert_string_equal(g.r[0].d, "example.test");
		assert_string_equal(g.r[0].s, "sel");
		assert_int_equal(dns.queries, 0);
		buf_free(&m);
	}
}

/* read_file - a whole file of DATA_DIR as a C string (free it). */
static char *
read_file(const char *name)
{
	char path[256];
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;

	snprintf(path, sizeof path, DATA_DIR "%s", name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (run from the top of the tree)", path);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	assert_int_equal(buf_putc(&b, '\0'), 0);
	return b.data;
}

/* Messages dkimpy signed (make_dkimpy.py): both algorithms, each c=, and l=. */
static void
test_dkimpy(void **state)
{
	static const char *const files[] = {
		"dkimpy_rsa_simple_simple.eml", "dkimpy_rsa_simple_relaxed.eml",
		"dkimpy_rsa_relaxed_simple.eml", "dkimpy_rsa_relaxed_relaxed.eml",
		"dkimpy_rsa_relaxed_relaxed_l.eml", "dkimpy_ed_simple_simple.eml",
		"dkimpy_ed_simple_relaxed.eml", "dkimpy_ed_relaxed_simple.eml",
		"dkimpy_ed_relaxed_relaxed.eml", "dkimpy_ed_relaxed_relaxed_l.eml",
	};
	char *keys = read_file("dkimpy_keys.txt");
	struct got g;

	dns_reset(false);
	for (char *line = strtok(keys, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');
		assert_non_null(sp);
		*sp = '\0';
		dns_add(line, DNS_OK, sp + 1);
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *msg = read_file(files[i]);
		verify(msg, &g);
		assert_int_equal(g.n, 1);
		if (g.r[0].st != DKIM_PASS)
			fail_msg("%s: %s (%s)", files[i], dkim_status_name(g.r[0].st), g.r[0].why);
		assert_string_equal(g.r[0].d, "dkimpy.test");
		/* And one octet of the body changed: no longer. */
		char *p = strstr(msg, "Hello Bob");
		p[0] = 'J';
		verify(msg, &g);
		expect(&g, 0, DKIM_FAIL, "body hash mismatch");
		free(msg);
	}
	free(keys);
}

static int
setup(void **state)
{
	keycache = dkim_vkeycache_new();
	base = event_base_new();
	pool = base ? dkim_vpool_new(base, 2) : NULL;
	return keycache == NULL || pool == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	/* Every test's keys were kept, and some found again. */
	assert_true(dkim_vkeycache_count(keycache) > 0);
	dkim_vkeycache_free(keycache);
	/* The threads checked signatures (every pass and fail by a key went through them). */
	assert_true(dkim_vpool_checks(pool) > 20);
	dkim_vpool_free(pool);
	event_base_free(base);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_canonicalizations),
		cmocka_unit_test(test_own_signer),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_shared_body),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_dkimpy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
