/*
 * test_dmarc_check.c - unit tests for dmarc_check.c, dmarc_query.c and
 * dmarc_eval.c over a canned DNS (struct dns_ops): the RFC 9989 tree walk
 * examples end to end, relaxed and strict alignment of SPF and DKIM, p/sp/np
 * (np when the Author Domain is NXDOMAIN), t=y, DNS failures (temperror),
 * several records at a name, no record, malformed records, an unusable From,
 * the eight-query limit, shared answers, and a check cancelled midway. Every
 * scenario runs twice: answers given inside the query call, and answers given
 * later from a queue (as the event loop would).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/dmarc_check.h"

/* The scenarios below leave the fields they do not use out of their initializers. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define RR_TXT 16
#define RR_MX 15

/* The zone: a TXT set for _dmarc names, or a status; names for existence (MX). */
struct zone_entry {
	const char *name;      /* the full query name */
	int type;
	enum dns_status st;
	const char *txt[3];
};

static const struct zone_entry *zone;
static bool deferred;

struct pending_q {
	char name[300];
	int type;
	dns_rr_fn fn;
	void *arg;
	bool live;
};
static struct pending_q queue[128];
static size_t nqueue;
static char asked_names[128][300];
static size_t nasked;

static void
answer_now(const char *name, int type, dns_rr_fn fn, void *arg)
{
	uint8_t buf[3][600];
	const uint8_t *v[3];
	int len[3];
	struct dns_rdata rr = { v, len, 0, 300, false };

	for (size_t i = 0; zone[i].name != NULL; i++) {
		if (strcmp(zone[i].name, name) != 0 || zone[i].type != type)
			continue;
		for (size_t k = 0; k < 3 && zone[i].txt[k] != NULL; k++) {
			/* One TXT rdata: the text in character-strings of up to 255 octets. */
			const char *t = zone[i].txt[k];
			size_t tl = strlen(t), o = 0;
			do {
				size_t c = tl > 255 ? 255 : tl;
				buf[k][o++] = (uint8_t)c;
				memcpy(buf[k] + o, t, c);
				o += c;
				t += c;
				tl -= c;
			} while (tl > 0);
			v[k] = buf[k];
			len[k] = (int)o;
			rr.n++;
		}
		fn(arg, zone[i].st, zone[i].st == DNS_OK ? &rr : NULL, "canned");
		return;
	}
	fn(arg, DNS_NXDOMAIN, NULL, "canned: no such name");
}

static int
fake_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	assert_true(nasked < 128);
	snprintf(asked_names[nasked++], sizeof asked_names[0], "%s", name);
	if (strcmp(name, "_dmarc.refused.example") == 0)
		return -1;
	if (!deferred) {
		answer_now(name, rrtype, fn, arg);
		return 0;
	}
	assert_true(nqueue < 128);
	struct pending_q *p = &queue[nqueue++];
	snprintf(p->name, sizeof p->name, "%s", name);
	p->type = rrtype;
	p->fn = fn;
	p->arg = arg;
	p->live = true;
	return 0;
}

static int cancels;

static void
fake_cancel(void *ctx, void *arg)
{
	for (size_t i = 0; i < nqueue; i++) {
		if (queue[i].live && queue[i].arg == arg) {
			queue[i].live = false;
			cancels++;
		}
	}
}

/* Answer the queue in order (answers may queue more), newest last. */
static void
run_queue(void)
{
	for (size_t i = 0; i < nqueue && i < 1000; i++) {
		if (!queue[i].live)
			continue;
		queue[i].live = false;
		answer_now(queue[i].name, queue[i].type, queue[i].fn, queue[i].arg);
	}
}

static struct dmarc_result got;
static int done_calls;

static void
on_done(void *arg, const struct dmarc_result *r)
{
	done_calls++;
	got = *r;
}

static const struct dns_ops ops = { fake_rr, fake_cancel, NULL };

struct msg {
	const char *from;           /* the From field's value */
	enum dmarc_spf_result spf;
	const char *spf_domain;
	const char *dkim[3];        /* passing d= domains */
	const char *dkim_fail;      /* a failing one */
};

/* Check m against z, in one mode; the result in got. */
static void
check_mode(const struct zone_entry *z, const struct msg *m, bool defer)
{
	char hdr[600];
	struct dmarc_dkim dk[4];
	struct dmarc_input in = { 0 };

	zone = z;
	deferred = defer;
	nqueue = nasked = 0;
	done_calls = 0;
	memset(&got, 0, sizeof got);
	snprintf(hdr, sizeof hdr, "Subject: test\r\nFrom:%s\r\nTo: x@example.net\r\n", m->from);
	in.header = hdr;
	in.header_len = strlen(hdr);
	in.spf_result = m->spf;
	in.spf_domain = m->spf_domain;
	for (size_t i = 0; i < 3 && m->dkim[i] != NULL; i++)
		dk[in.ndkim++] = (struct dmarc_dkim){ m->dkim[i], true };
	if (m->dkim_fail != NULL)
		dk[in.ndkim++] = (struct dmarc_dkim){ m->dkim_fail, false };
	in.dkim = dk;

	struct dmarc_check *c = dmarc_check_start(&ops, &in, on_done, NULL);
	memset(hdr, 'X', sizeof hdr); /* the input was copied */
	if (defer) {
		assert_int_equal(done_calls, c == NULL ? 1 : 0);
		run_queue();
	} else {
		assert_null(c);
	}
	assert_int_equal(done_calls, 1);
}

/* Both modes must agree; got is the deferred one's. */
static void
check(const struct zone_entry *z, const struct msg *m)
{
	check_mode(z, m, false);
	struct dmarc_result now = got;
	size_t now_asked = nasked;
	check_mode(z, m, true);
	assert_int_equal(now.result, got.result);
	assert_int_equal(now.policy_applied, got.policy_applied);
	assert_string_equal(now.policy_domain, got.policy_domain);
	assert_string_equal(now.org_domain, got.org_domain);
	assert_string_equal(now.why, got.why);
	assert_int_equal(now_asked, nasked);
}

static bool
was_asked(const char *name)
{
	for (size_t i = 0; i < nasked; i++)
		if (strcmp(asked_names[i], name) == 0)
			return true;
	return false;
}

#define TXT1(n, t) { n, RR_TXT, DNS_OK, { t } }

static const struct zone_entry simple[] = {
	TXT1("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none; rua=mailto:r@example.com"),
	TXT1("_dmarc.signing.example.com", "v=DMARC1; p=none"),
	{ "sub.example.com", RR_MX, DNS_NODATA, { NULL } },
	{ NULL, 0, 0, { NULL } },
};

static void
test_rfc_simple_example(void **state)
{
	/* SPF pass with the Author Domain itself. */
	struct msg m = { " a@example.com", DMARC_SPF_PASS, "example.com", { NULL } };
	check(simple, &m);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.spf_aligned);
	assert_string_equal(got.header_from, "example.com");
	assert_string_equal(got.policy_domain, "example.com");
	assert_string_equal(got.org_domain, "example.com");
	assert_int_equal(got.policy_applied, DMARC_POLICY_UNSET);
	assert_true(was_asked("_dmarc.example.com"));
	assert_true(was_asked("_dmarc.com"));
	assert_int_equal(nasked, 2);

	/* DKIM only, signed by signing.example.com: relaxed alignment via example.com. */
	struct msg m2 = { " a@example.com", DMARC_SPF_FAIL, "example.com",
		{ "signing.example.com" } };
	check(simple, &m2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.dkim_aligned);
	assert_false(got.spf_aligned);
	assert_true(was_asked("_dmarc.signing.example.com"));
	assert_int_equal(nasked, 3); /* _dmarc.example.com and _dmarc.com asked once */

	/* Nothing aligned: fail, p=reject at the Author Domain. */
	struct msg m3 = { " a@example.com", DMARC_SPF_PASS, "other.example",
		{ "other.example" }, "example.com" };
	check(simple, &m3);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_REJECT);
	assert_int_equal(got.policy_published, DMARC_POLICY_REJECT);
	assert_false(got.testing);
}

static const struct zone_entry deep[] = {
	TXT1("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"),
	TXT1("_dmarc.signing.example.com", "v=DMARC1; p=none"),
	{ NULL, 0, 0, { NULL } },
};

static void
test_rfc_deep_example(void **state)
{
	static const char *const walk[] = { "_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com",
		"_dmarc.g.h.i.j.k.example.com", "_dmarc.h.i.j.k.example.com",
		"_dmarc.i.j.k.example.com", "_dmarc.j.k.example.com", "_dmarc.k.example.com",
		"_dmarc.example.com", "_dmarc.com" };
	struct msg m = { " x@a.b.c.d.e.f.g.h.i.j.k.example.com", DMARC_SPF_PASS, "example.com",
		{ "signing.example.com" } };

	check(deep, &m);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.spf_aligned);
	assert_string_equal(got.policy_domain, "example.com");
	assert_string_equal(got.org_domain, "example.com");
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(asked_names[i], walk[i]);
	/* SPF aligned already: the DKIM domain's walk is not needed. */
	assert_int_equal(nasked, 8);
	assert_false(got.dkim_aligned);

	/* Without SPF, DKIM aligns through the walk of signing.example.com. */
	struct msg d = { " x@a.b.c.d.e.f.g.h.i.j.k.example.com", DMARC_SPF_FAIL, "example.com",
		{ "signing.example.com" } };
	check(deep, &d);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.dkim_aligned);
	assert_int_equal(nasked, 9); /* and _dmarc.signing.example.com */

	/* Failing: the subdomain policy (sp) of example.com applies. */
	struct msg f = { " x@a.b.c.d.e.f.g.h.i.j.k.example.com", DMARC_SPF_SOFTFAIL,
		"example.com", { NULL }, "signing.example.com" };
	check(deep, &f);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_QUARANTINE);
	assert_int_equal(nasked, 8);
}

static const struct zone_entry psd[] = {
	TXT1("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"),
	TXT1("_dmarc.giant.bank.example", "v=DMARC1; p=quarantine"),
	{ NULL, 0, 0, { NULL } },
};

static void
test_rfc_psd_example(void **state)
{
	struct msg m = { " ceo@giant.bank.example", DMARC_SPF_PASS, "mail.giant.bank.example",
		{ "mail.mega.bank.example" } };
	check(psd, &m);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.spf_aligned);
	assert_false(got.dkim_aligned);
	assert_string_equal(got.org_domain, "giant.bank.example");
	assert_string_equal(got.policy_domain, "giant.bank.example");
	/* The walks stop at bank.example: _dmarc.example is never asked. */
	assert_false(was_asked("_dmarc.example"));

	struct msg f = { " ceo@giant.bank.example", DMARC_SPF_FAIL, "mail.giant.bank.example",
		{ "mail.mega.bank.example" } };
	check(psd, &f);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_QUARANTINE);

	/* A domain with no record of its own under the PSD: the PSD's policy. */
	struct msg p = { " x@small.bank.example", DMARC_SPF_NONE, NULL, { NULL } };
	check(psd, &p);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_string_equal(got.policy_domain, "bank.example");
	assert_string_equal(got.org_domain, "small.bank.example");
	assert_int_equal(got.policy_applied, DMARC_POLICY_REJECT);
}

static const struct zone_entry strict[] = {
	TXT1("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s; adkim=s"),
	TXT1("_dmarc.relaxed.example", "v=DMARC1; p=reject"),
	{ NULL, 0, 0, { NULL } },
};

static void
test_alignment_modes(void **state)
{
	/* Strict: a subdomain does not align, for SPF or DKIM; no walk is needed. */
	struct msg m = { " a@example.com", DMARC_SPF_PASS, "bounce.example.com",
		{ "mail.example.com" } };
	check(strict, &m);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_false(was_asked("_dmarc.bounce.example.com"));
	assert_false(was_asked("_dmarc.mail.example.com"));
	/* Strict: identical (any case) aligns. */
	struct msg m2 = { " a@example.com", DMARC_SPF_PASS, "EXAMPLE.com.", { NULL } };
	check(strict, &m2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	struct msg m3 = { " a@example.com", DMARC_SPF_FAIL, "x", { "Example.Com" } };
	check(strict, &m3);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.dkim_aligned);

	/* Relaxed: a parent and a subdomain share the Organizational Domain. */
	struct msg r1 = { " a@news.relaxed.example", DMARC_SPF_PASS, "relaxed.example",
		{ NULL } };
	check(strict, &r1);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	assert_true(got.spf_aligned);
	struct msg r2 = { " a@relaxed.example", DMARC_SPF_NONE, NULL,
		{ "foo.relaxed.example" } };
	check(strict, &r2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	/* A different Organizational Domain does not align. */
	struct msg r3 = { " a@relaxed.example", DMARC_SPF_PASS, "relaxed.example.net",
		{ "foo.example.com" } };
	check(strict, &r3);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	/* A failed signature from the very domain does not align. */
	struct msg r4 = { " a@relaxed.example", DMARC_SPF_NEUTRAL, "relaxed.example",
		{ NULL }, "relaxed.example" };
	check(strict, &r4);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_false(got.spf_aligned);
}

static const struct zone_entry policies[] = {
	TXT1("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=none"),
	TXT1("_dmarc.only-p.example", "v=DMARC1; p=quarantine"),
	TXT1("_dmarc.np.example", "v=DMARC1; p=none; np=reject"),
	TXT1("_dmarc.test-reject.example", "v=DMARC1; p=reject; t=y"),
	TXT1("_dmarc.test-quar.example", "v=DMARC1; p=quarantine; t=y"),
	TXT1("_dmarc.test-none.example", "v=DMARC1; p=none; t=y"),
	TXT1("_dmarc.no-p.example", "v=DMARC1; rua=mailto:r@no-p.example"),
	{ "exists.example.com", RR_MX, DNS_NODATA, { NULL } },
	{ "flaky.np.example", RR_MX, DNS_TEMPFAIL, { NULL } },
	{ NULL, 0, 0, { NULL } },
};

static enum dmarc_policy
fail_policy(const char *from)
{
	struct msg m = { from, DMARC_SPF_FAIL, "elsewhere.example", { NULL } };
	check(policies, &m);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	return got.policy_applied;
}

static void
test_p_sp_np(void **state)
{
	assert_int_equal(fail_policy(" a@example.com"), DMARC_POLICY_REJECT);
	assert_false(was_asked("example.com")); /* no existence question for p */
	/* An existing subdomain: sp. */
	assert_int_equal(fail_policy(" a@exists.example.com"), DMARC_POLICY_QUARANTINE);
	assert_true(was_asked("exists.example.com"));
	/* A non-existent one (NXDOMAIN): np. */
	assert_int_equal(fail_policy(" a@ghost.example.com"), DMARC_POLICY_NONE);
	assert_true(was_asked("ghost.example.com"));
	/* Neither sp nor np: p for subdomains, existing or not. */
	assert_int_equal(fail_policy(" a@ghost.only-p.example"), DMARC_POLICY_QUARANTINE);
	assert_false(was_asked("ghost.only-p.example"));
	/* np without sp. */
	assert_int_equal(fail_policy(" a@ghost.np.example"), DMARC_POLICY_REJECT);
	assert_int_equal(fail_policy(" a@np.example"), DMARC_POLICY_NONE);
	/* Existence not known (DNS failure): taken to exist (p, as there is no sp). */
	assert_int_equal(fail_policy(" a@flaky.np.example"), DMARC_POLICY_NONE);
	assert_non_null(strstr(got.why, "unknown"));
	/* A record without p: p=none. */
	assert_int_equal(fail_policy(" a@no-p.example"), DMARC_POLICY_NONE);
}

static void
test_testing(void **state)
{
	assert_int_equal(fail_policy(" a@test-reject.example"), DMARC_POLICY_QUARANTINE);
	assert_true(got.testing);
	assert_int_equal(got.policy_published, DMARC_POLICY_REJECT);
	assert_int_equal(fail_policy(" a@test-quar.example"), DMARC_POLICY_NONE);
	assert_true(got.testing);
	assert_int_equal(fail_policy(" a@test-none.example"), DMARC_POLICY_NONE);
	assert_false(got.testing);
}

static const struct zone_entry broken[] = {
	{ "_dmarc.down.example", RR_TXT, DNS_TEMPFAIL, { NULL } },
	TXT1("_dmarc.a.halfdown.example", "v=DMARC1; p=reject"),
	{ "_dmarc.halfdown.example", RR_TXT, DNS_TEMPFAIL, { NULL } },
	{ "_dmarc.several.example", RR_TXT, DNS_OK,
	  { "v=DMARC1; p=reject", "v=DMARC1; p=none", "v=spf1 -all" } },
	{ "_dmarc.one.example", RR_TXT, DNS_OK,
	  { "v=spf1 -all", "v=DMARC1; p=reject", "google-site-verification=x" } },
	{ "_dmarc.sub.parent.example", RR_TXT, DNS_OK,
	  { "v=DMARC1; p=none", "v=DMARC1; p=none" } },
	TXT1("_dmarc.parent.example", "v=DMARC1; p=quarantine"),
	TXT1("_dmarc.badp.example", "v=DMARC1; p=hold"),
	TXT1("_dmarc.badp-rua.example", "v=DMARC1; p=hold; rua=mailto:r@badp-rua.example"),
	TXT1("_dmarc.badsp.example", "v=DMARC1; p=reject; sp=hold"),
	TXT1("_dmarc.notdmarc.example", "v=DMARC2; p=reject"),
	{ NULL, 0, 0, { NULL } },
};

static void
test_errors(void **state)
{
	/* A DNS failure for the policy: temperror. */
	struct msg m = { " a@down.example", DMARC_SPF_PASS, "down.example", { NULL } };
	check(broken, &m);
	assert_int_equal(got.result, DMARC_RESULT_TEMPERROR);
	assert_int_equal(got.policy_applied, DMARC_POLICY_UNSET);
	/* A refused query is a DNS failure too. */
	struct msg m1 = { " a@refused.example", DMARC_SPF_PASS, "refused.example", { NULL } };
	check(broken, &m1);
	assert_int_equal(got.result, DMARC_RESULT_TEMPERROR);

	/* The record is found but the Organizational Domain is not known: strict
	 * identity still passes, relaxed alignment is a temperror. */
	struct msg m2 = { " a@a.halfdown.example", DMARC_SPF_PASS, "a.halfdown.example",
		{ NULL } };
	check(broken, &m2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	struct msg m3 = { " a@a.halfdown.example", DMARC_SPF_PASS, "b.halfdown.example",
		{ NULL } };
	check(broken, &m3);
	assert_int_equal(got.result, DMARC_RESULT_TEMPERROR);
	assert_string_equal(got.org_domain, "");
	/* Nothing passes at all: fail, whatever the walk. */
	struct msg m4 = { " a@a.halfdown.example", DMARC_SPF_FAIL, "a.halfdown.example",
		{ NULL } };
	check(broken, &m4);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_REJECT);

	/* Several DMARC records at one name: none there (other TXT records don't count). */
	struct msg m5 = { " a@several.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &m5);
	assert_int_equal(got.result, DMARC_RESULT_NONE);
	struct msg m6 = { " a@one.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &m6);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_REJECT);
	struct msg m7 = { " a@sub.parent.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &m7);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_string_equal(got.policy_domain, "parent.example");
	assert_int_equal(got.policy_applied, DMARC_POLICY_QUARANTINE);

	/* No record: none. A record of another version is none too. */
	struct msg m8 = { " a@nowhere.example", DMARC_SPF_PASS, "nowhere.example", { NULL } };
	check(broken, &m8);
	assert_int_equal(got.result, DMARC_RESULT_NONE);
	assert_string_equal(got.policy_domain, "");
	struct msg m9 = { " a@notdmarc.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &m9);
	assert_int_equal(got.result, DMARC_RESULT_NONE);

	/* A bad p: permerror without rua; as p=none with one. */
	struct msg b1 = { " a@badp.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &b1);
	assert_int_equal(got.result, DMARC_RESULT_PERMERROR);
	assert_false(got.from_unusable);
	struct msg b2 = { " a@badp-rua.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &b2);
	assert_int_equal(got.result, DMARC_RESULT_FAIL);
	assert_int_equal(got.policy_applied, DMARC_POLICY_NONE);
	struct msg b3 = { " a@badsp.example", DMARC_SPF_FAIL, "x.example", { NULL } };
	check(broken, &b3);
	assert_int_equal(got.result, DMARC_RESULT_PERMERROR);
}

static void
test_from(void **state)
{
	/* Two Author Domains: not evaluable, no DNS question asked. */
	struct msg m = { " a@example.com, b@evil.example", DMARC_SPF_PASS, "example.com",
		{ NULL } };
	check(simple, &m);
	assert_int_equal(got.result, DMARC_RESULT_PERMERROR);
	assert_true(got.from_unusable);
	assert_string_equal(got.header_from, "");
	assert_int_equal(nasked, 0);
	assert_non_null(strstr(got.why, "different domains"));
	/* Two addresses in the one domain: evaluated. */
	struct msg m2 = { " a@example.com, b@example.com", DMARC_SPF_PASS, "example.com",
		{ NULL } };
	check(simple, &m2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	/* No address. */
	struct msg m3 = { " undisclosed:;", DMARC_SPF_PASS, "example.com", { NULL } };
	check(simple, &m3);
	assert_int_equal(got.result, DMARC_RESULT_PERMERROR);
	assert_true(got.from_unusable);
}

static void
test_query_limit_and_sharing(void **state)
{
	static const struct zone_entry z[] = { { NULL, 0, 0, { NULL } } };
	char from[300] = " a@";
	for (int i = 0; i < 20; i++)
		strcat(from, "x.");
	strcat(from, "example");
	struct msg m = { from, DMARC_SPF_PASS, "example", { "a.example", "b.example" } };
	check(z, &m);
	assert_int_equal(got.result, DMARC_RESULT_NONE);
	assert_int_equal(nasked, 8);
	assert_string_equal(asked_names[1], "_dmarc.x.x.x.x.x.x.example");

	/* Several DKIM domains under one parent: each name asked once. */
	struct msg m2 = { " a@mail.relaxed.example", DMARC_SPF_PASS, "bounce.relaxed.example",
		{ "s1.relaxed.example", "s2.relaxed.example", "mail.relaxed.example" } };
	check(strict, &m2);
	assert_int_equal(got.result, DMARC_RESULT_PASS);
	for (size_t i = 0; i < nasked; i++)
		for (size_t k = i + 1; k < nasked; k++)
			assert_string_not_equal(asked_names[i], asked_names[k]);
	/* Strictly aligned DKIM: no walk for the others. */
	assert_false(was_asked("_dmarc.s1.relaxed.example"));
}

static void
test_cancel(void **state)
{
	char hdr[] = "From: a@a.b.example.com\r\n";
	struct dmarc_input in = { hdr, sizeof hdr - 1, DMARC_SPF_PASS, "example.com", NULL, 0 };

	zone = simple;
	deferred = true;
	nqueue = nasked = 0;
	done_calls = cancels = 0;
	struct dmarc_check *c = dmarc_check_start(&ops, &in, on_done, NULL);
	assert_non_null(c);
	/* One name at a time: the first answer brings the second question. */
	assert_int_equal(nqueue, 1);
	queue[0].live = false;
	answer_now(queue[0].name, queue[0].type, queue[0].fn, queue[0].arg);
	assert_int_equal(nqueue, 2);
	assert_string_equal(queue[1].name, "_dmarc.b.example.com");
	dmarc_check_cancel(c);
	assert_int_equal(cancels, 1);
	run_queue();
	assert_int_equal(done_calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_simple_example),
		cmocka_unit_test(test_rfc_deep_example),
		cmocka_unit_test(test_rfc_psd_example),
		cmocka_unit_test(test_alignment_modes),
		cmocka_unit_test(test_p_sp_np),
		cmocka_unit_test(test_testing),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_query_limit_and_sharing),
		cmocka_unit_test(test_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
