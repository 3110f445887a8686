/*
 * test_arc_verify.c - unit tests for the ARC chain validator with canned DNS answers
 * (synchronous, and later as from the event loop): chains dkimpy sealed (one and
 * two sets, tests/unit/data/arc, see make_arc.py) and chains our own sealer
 * (arc.c) makes, RSA and Ed25519, one to three sets; a tampered body (the AMS
 * fails), a tampered set (its seal fails), a missing set or field, a set twice,
 * cv= out of place and cv=fail, a missing key; and no chain at all. Each message
 * is validated twice, with its keys read for it and with the keys kept from all
 * before (dkim_vkeycache): the results must be the same.
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

#include "dkim/arc.h"
#include "dkim/arc_sets.h"
#include "dkim/arc_verify.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_key.h"
#include "dkim/dkim_vkeycache.h"
#include "util/buf.h"

#define DATA_DIR "tests/unit/data/arc/"
#define NOW 1764669600

/* The canned DNS: TXT answers by name; deferred answers wait for fire(). */
struct answer {
	char name[300];
	char txt[3000];
};

struct queued {
	dns_rr_fn fn;
	void *arg;
	const struct answer *a;
};

struct fake_dns {
	struct answer v[8];
	size_t n;
	bool deferred;
	struct queued q[64];
	size_t nq;
	int queries;
};

static struct fake_dns dns;

static void
dns_reset(bool deferred)
{
	memset(&dns, 0, sizeof dns);
	dns.deferred = deferred;
}

static void
dns_add(const char *name, const char *txt)
{
	assert_true(dns.n < 8);
	snprintf(dns.v[dns.n].name, sizeof dns.v[dns.n].name, "%s", name);
	snprintf(dns.v[dns.n].txt, sizeof dns.v[dns.n].txt, "%s", txt);
	dns.n++;
}

static void
answer(dns_rr_fn fn, void *arg, const struct answer *a)
{
	uint8_t rdata[3200];
	size_t n = 0, len;
	const uint8_t *v[1] = { rdata };
	int lens[1];

	if (a == NULL) {
		struct dns_rdata none = { 0 };
		fn(arg, DNS_NXDOMAIN, &none, "");
		return;
	}
	len = strlen(a->txt);
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
	for (size_t i = 0; i < dns.n; i++)
		if (strcmp(dns.v[i].name, name) == 0)
			a = &dns.v[i];
	if (dns.deferred) {
		assert_true(dns.nq < 64);
		dns.q[dns.nq++] = (struct queued){ fn, arg, a };
		return 0;
	}
	answer(fn, arg, a);
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	for (size_t i = 0; i < dns.nq; i++)
		if (dns.q[i].arg == arg)
			dns.q[i].fn = NULL;
}

static const struct dns_ops fake_ops = { fake_rr, fake_cancel, NULL };

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

struct got {
	int calls;
	enum arc_status st;
	unsigned n;
	char why[200];
};

static void
on_done(void *arg, const struct arc_result *res)
{
	struct got *g = arg;

	g->calls++;
	g->st = res->status;
	g->n = res->n;
	snprintf(g->why, sizeof g->why, "%s", res->why);
}

/* Parsed keys kept across every test, as smtpd keeps them across messages. */
static struct dkim_vkeycache *keycache;

/* validate - msg through the validator (keys taken from keys), its body in chunks of 7 octets. */
static void
validate(const char *msg, struct dkim_vkeycache *keys, struct got *g)
{
	size_t len = strlen(msg), body_at;
	size_t end = dkim_header_end(msg, len, &body_at);
	struct arc_verify *v = arc_verify_new(msg, end);

	memset(g, 0, sizeof *g);
	dns.nq = 0;
	assert_non_null(v);
	arc_verify_set_time(v, NOW);
	arc_verify_set_keys(v, keys);
	for (size_t i = body_at; i < len; i += 7)
		arc_verify_body(v, msg + i, len - i < 7 ? len - i : 7);
	assert_int_equal(arc_verify_finish(v, &fake_ops, on_done, g), 0);
	assert_int_equal(arc_verify_finish(v, &fake_ops, on_done, g), -1);
	if (dns.deferred) {
		assert_int_equal(g->calls, dns.nq > 0 ? 0 : 1);
		fire();
	}
	assert_int_equal(g->calls, 1);
	arc_verify_free(v);
}

static void
expect(const char *msg, enum arc_status st, unsigned n, const char *why_part)
{
	struct got g, kept;

	validate(msg, NULL, &g);
	int queries = dns.queries; /* the counts the tests look at are the first pass's */
	validate(msg, keycache, &kept);
	dns.queries = queries;
	if (memcmp(&g, &kept, sizeof g) != 0)
		fail_msg("kept keys: %s (%s), read each time: %s (%s)", arc_status_name(kept.st),
		    kept.why, arc_status_name(g.st), g.why);
	if (g.st != st || g.n != n || strstr(g.why, why_part) == NULL)
		fail_msg("got %s n=%u (%s), want %s n=%u (%s)", arc_status_name(g.st), g.n, g.why,
		    arc_status_name(st), n, why_part);
	if (st != ARC_FAIL)
		assert_string_equal(g.why, "");
}

static char *
read_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, DATA_DIR "%s", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *p = calloc(1, 65536);
	assert_non_null(p);
	size_t n = fread(p, 1, 65535, f);
	fclose(f);
	p[n] = '\0';
	return p;
}

/* dkimpy_dns - the records of arc_keys.txt ("name record" lines). */
static void
dkimpy_dns(bool deferred)
{
	char *keys = read_file("arc_keys.txt");

	dns_reset(deferred);
	for (char *line = strtok(keys, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');
		assert_non_null(sp);
		*sp = '\0';
		dns_add(line, sp + 1);
	}
	free(keys);
}

/* replace - msg with the first from made to, in place (read_file leaves room). */
static void
replace(char *msg, const char *from, const char *to)
{
	char *p = strstr(msg, from);
	size_t fl = strlen(from), tl = strlen(to);

	assert_non_null(p);
	memmove(p + tl, p + fl, strlen(p + fl) + 1);
	memcpy(p, to, tl);
}

/* cut_field - the header field of msg that starts with prefix (at a line start), removed. */
static void
cut_field(char *msg, const char *prefix)
{
	char *p = msg;

	while (strncmp(p, prefix, strlen(prefix)) != 0) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	char *e = p;
	do {
		e = strchr(e, '\n');
		assert_non_null(e);
		e++;
	} while (*e == ' ' || *e == '\t');
	memmove(p, e, strlen(e) + 1);
}

static void
test_dkimpy(void **state)
{
	for (int deferred = 0; deferred < 2; deferred++) {
		char *one = read_file("arc_rsa_1.eml"), *two = read_file("arc_rsa_2.eml");
		dkimpy_dns(deferred);
		expect(one, ARC_PASS, 1, "");
		expect(two, ARC_PASS, 2, "");
		/* The newest AMS and both seals looked up. */
		assert_int_equal(dns.queries, 2 + 3);
		free(one);
		free(two);
	}
}

static void
test_dkimpy_tampered(void **state)
{
	char *m;

	dkimpy_dns(false);
	/* The body changed after sealing: the newest AMS fails. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "Hello list,", "Hello LIST,");
	expect(m, ARC_FAIL, 2, "ARC-Message-Signature i=2: body hash mismatch");
	free(m);
	/* A signed field changed: the same. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "Subject: ARC", "Subject: ARK");
	expect(m, ARC_FAIL, 2, "ARC-Message-Signature i=2: signature invalid");
	free(m);
	/* The AAR of the second set changed: its seal fails (the AMS does not cover it). */
	m = read_file("arc_rsa_2.eml");
	replace(m, "i=2; mx.second.test; arc=pass;", "i=2; mx.second.test; arc=fail;");
	expect(m, ARC_FAIL, 2, "ARC-Seal i=2: signature invalid");
	free(m);
	/* The first set's AAR changed: both seals cover it; the newest is reported. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "i=1; mx.first.test; spf=pass", "i=1; mx.first.test; spf=fail");
	expect(m, ARC_FAIL, 2, "ARC-Seal i=2");
	free(m);
	/* The first seal's own signature broken. */
	m = read_file("arc_rsa_1.eml");
	replace(m, "b=fY7ncMj3", "b=fY7ncMj4");
	expect(m, ARC_FAIL, 1, "ARC-Seal i=1: signature invalid");
	free(m);
}

static void
test_dkimpy_form(void **state)
{
	char *m;

	dkimpy_dns(false);
	/* A field of a set missing. */
	m = read_file("arc_rsa_2.eml");
	cut_field(m, "ARC-Seal: i=1;");
	expect(m, ARC_FAIL, 2, "ARC set i=1 incomplete");
	free(m);
	/* The first set missing altogether. */
	m = read_file("arc_rsa_2.eml");
	cut_field(m, "ARC-Seal: i=1;");
	cut_field(m, "ARC-Message-Signature: i=1;");
	cut_field(m, "ARC-Authentication-Results: i=1;");
	expect(m, ARC_FAIL, 2, "ARC set i=1 incomplete");
	free(m);
	/* The second set alone is no chain either: i=1 must seal cv=none. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "ARC-Seal: i=1;", "ARC-Seal: i=3;");
	expect(m, ARC_FAIL, 3, "ARC set i=1 incomplete");
	free(m);
	/* A set twice. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "ARC-Seal: i=2;", "ARC-Seal: i=1;");
	expect(m, ARC_FAIL, 2, "two ARC-Seal with i=1");
	free(m);
	/* cv= out of place, and cv=fail. */
	m = read_file("arc_rsa_2.eml");
	replace(m, "i=2; cv=pass;", "i=2; cv=none;");
	expect(m, ARC_FAIL, 2, "ARC-Seal i=2 has cv=none");
	free(m);
	m = read_file("arc_rsa_1.eml");
	replace(m, "i=1; cv=none;", "i=1; cv=pass;");
	expect(m, ARC_FAIL, 1, "ARC-Seal i=1 has cv=pass");
	free(m);
	m = read_file("arc_rsa_2.eml");
	replace(m, "i=2; cv=pass;", "i=2; cv=fail;");
	expect(m, ARC_FAIL, 2, "ARC-Seal i=2 has cv=fail");
	free(m);
	/* Instances past 50, and an AAR without i=. */
	m = read_file("arc_rsa_1.eml");
	replace(m, "ARC-Seal: i=1;", "ARC-Seal: i=51;");
	expect(m, ARC_FAIL, 1, "ARC-Seal without a good i=");
	free(m);
	m = read_file("arc_rsa_1.eml");
	replace(m, "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: j=1;");
	expect(m, ARC_FAIL, 1, "ARC-Authentication-Results without a good i=");
	free(m);
	/* No key. */
	m = read_file("arc_rsa_2.eml");
	dns_reset(false);
	expect(m, ARC_FAIL, 2, "no key record");
	free(m);
	/* No ARC fields: none, and nothing looked up. */
	dns_reset(false);
	expect("From: a@b.test\nSubject: x\n\nbody\n", ARC_NONE, 0, "");
	assert_int_equal(dns.queries, 0);
}

/* Our own sealer's chains: keys made here, records published in the canned DNS. */
struct key {
	enum dkim_alg alg;
	char pem[DKIM_PEM_MAX];
	const char *domain, *selector;
};

static int
sign_cb(void *arg, const void *data, size_t len, char *sig, size_t siglen)
{
	const struct key *k = arg;
	return dkim_key_sign(k->pem, k->alg, data, len, sig, siglen);
}

static void
publish(struct key *k, enum dkim_alg alg, const char *domain, const char *selector)
{
	char pub[DKIM_PUB_MAX], name[300], txt[1200];

	k->alg = alg;
	k->domain = domain;
	k->selector = selector;
	assert_int_equal(dkim_key_make(alg, k->pem, sizeof k->pem, pub, sizeof pub), 0);
	snprintf(name, sizeof name, "%s._domainkey.%s", selector, domain);
	snprintf(txt, sizeof txt, "v=DKIM1; k=%s; p=%s", alg == DKIM_RSA ? "rsa" : "ed25519",
	    pub);
	dns_add(name, txt);
}

/* add_set - msg (malloc'd) with the next set of k on top; returns the new message. */
static char *
add_set(char *msg, const struct key *k, unsigned instance, const char *cv)
{
	size_t len = strlen(msg), body_at, end = dkim_header_end(msg, len, &body_at);
	struct dkim_fields f = { 0 };
	struct dkim_body body;
	char bh[64];
	struct buf out = { 0 };

	assert_int_equal(dkim_body_init(&body), 0);
	dkim_body_update(&body, msg + body_at, len - body_at);
	assert_int_equal(dkim_body_final(&body, bh, sizeof bh), 0);
	dkim_body_free(&body);
	assert_int_equal(dkim_fields_parse(msg, end, &f), 0);
	struct arc_req r = { "mx.example.test", "spf=pass smtp.mailfrom=other.test",
		dkim_alg_sig_name(k->alg), k->domain, k->selector, NOW, bh, instance, cv };
	assert_int_equal(arc_seal(&f, &r, sign_cb, (void *)k, &out), 0);
	dkim_fields_free(&f);
	assert_int_equal(buf_append(&out, msg, len + 1), 0);
	free(msg);
	return out.data;
}

static const char own_msg[] =
	"Received: from x by y; Tue, 02 Dec 2025 10:00:00 +0000\n"
	"From: Someone <someone@other.test>\n"
	"To: fwd@example.test\n"
	"Subject: forwarded\n"
	"Message-ID: <own-1@other.test>\n"
	"\n"
	"Text  with spaces \n"
	"\n";

static void
test_own_chains(void **state)
{
	static struct key rsa, ed, third;

	for (int deferred = 0; deferred < 2; deferred++) {
		dns_reset(deferred);
		publish(&rsa, DKIM_RSA, "example.test", "rsa");
		publish(&ed, DKIM_ED25519, "relay.test", "ed");
		publish(&third, DKIM_RSA, "third.test", "s1");
		char *m = strdup(own_msg);
		m = add_set(m, &rsa, 1, "none");
		expect(m, ARC_PASS, 1, "");
		m = add_set(m, &ed, 2, "pass");
		expect(m, ARC_PASS, 2, "");
		char *tampered = strdup(m);
		m = add_set(m, &third, 3, "pass");
		expect(m, ARC_PASS, 3, "");
		free(m);
		/* A fail seal (covering only its own set) ends the chain. */
		tampered = add_set(tampered, &third, 3, "fail");
		expect(tampered, ARC_FAIL, 3, "ARC-Seal i=3 has cv=fail");
		free(tampered);
	}
}

/* The sealer refuses what would not make a chain. */
static void
test_seal_refuses(void **state)
{
	static struct key rsa;
	const char *hdr = "From: a@other.test\nSubject: s\n";
	struct dkim_fields f = { 0 };
	struct buf out = { 0 };

	dns_reset(false);
	publish(&rsa, DKIM_RSA, "example.test", "rsa");
	assert_int_equal(dkim_fields_parse(hdr, strlen(hdr), &f), 0);
	struct arc_req r = { "mx.example.test", NULL, "rsa-sha256", "example.test", "rsa", NOW,
		"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 2, "pass" };
	assert_int_equal(arc_seal(&f, &r, sign_cb, &rsa, &out), -1); /* no set 1 */
	r.instance = 1;
	r.cv = "pass";
	assert_int_equal(arc_seal(&f, &r, sign_cb, &rsa, &out), -1); /* i=1 is cv=none */
	r.instance = 51;
	r.cv = "fail";
	assert_int_equal(arc_seal(&f, &r, sign_cb, &rsa, &out), -1);
	r.instance = 2;
	assert_int_equal(arc_seal(&f, &r, sign_cb, &rsa, &out), 0); /* fail: its own set only */
	buf_free(&out);
	dkim_fields_free(&f);
}

static int
setup(void **state)
{
	keycache = dkim_vkeycache_new();
	return keycache == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	assert_true(dkim_vkeycache_count(keycache) > 0);
	dkim_vkeycache_free(keycache);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dkimpy),
		cmocka_unit_test(test_dkimpy_tampered),
		cmocka_unit_test(test_dkimpy_form),
		cmocka_unit_test(test_own_chains),
		cmocka_unit_test(test_seal_refuses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
