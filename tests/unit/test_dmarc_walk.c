/*
 * test_dmarc_walk.c - unit tests for dmarc_walk.c: the names a DNS Tree Walk asks
 * (RFC 9989: at most eight, long names shortened to seven labels after the first
 * query), where it stops (psd=y or psd=n), and the Organizational Domain and
 * policy record it finds, on the examples of the RFC's "Identifier Alignment
 * Evaluation" and "Tree Walk Examples" sections. Answers come from a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc/dmarc_walk.h"

/* The table: a name's _dmarc TXT text (NULL: no record), or "TEMPFAIL", "SEVERAL". */
struct fake {
	const char *name;
	const char *txt;
};

static const struct fake *table;
static struct dmarc_answer answers[16];
static int asked;

static const struct dmarc_answer *
answer(void *ctx, const char *name)
{
	asked++;
	for (size_t i = 0; table[i].name != NULL; i++) {
		if (strcmp(table[i].name, name) != 0)
			continue;
		struct dmarc_answer *a = &answers[i];
		memset(a, 0, sizeof *a);
		if (table[i].txt == NULL)
			a->kind = DMARC_ANS_NONE;
		else if (strcmp(table[i].txt, "TEMPFAIL") == 0)
			a->kind = DMARC_ANS_TEMPFAIL;
		else if (strcmp(table[i].txt, "SEVERAL") == 0)
			a->kind = DMARC_ANS_SEVERAL;
		else if (dmarc_record_parse(table[i].txt, strlen(table[i].txt), &a->rec) == 1)
			a->kind = DMARC_ANS_RECORD;
		else
			a->kind = DMARC_ANS_NONE;
		return a;
	}
	static struct dmarc_answer none = { .kind = DMARC_ANS_NONE };
	return &none;
}

static void
walk(const char *start, const struct fake *t, struct dmarc_walk_result *r)
{
	struct dmarc_walk w;

	table = t;
	assert_int_equal(dmarc_walk_init(&w, start), 0);
	dmarc_walk_decide(&w, answer, NULL, r);
}

static void
test_targets(void **state)
{
	struct dmarc_walk w;

	assert_int_equal(dmarc_walk_init(&w, "A.Mail.Example.COM."), 0);
	assert_string_equal(w.start, "a.mail.example.com");
	assert_int_equal(w.n, 4);
	assert_string_equal(w.target[0], "a.mail.example.com");
	assert_string_equal(w.target[1], "mail.example.com");
	assert_string_equal(w.target[2], "example.com");
	assert_string_equal(w.target[3], "com");

	assert_int_equal(dmarc_walk_init(&w, "example"), 0);
	assert_int_equal(w.n, 1);

	/* The RFC's example: 13 labels, eight queries, 7 labels after the first. */
	static const char *const deep[] = { "a.b.c.d.e.f.g.h.i.j.mail.example.com",
		"g.h.i.j.mail.example.com", "h.i.j.mail.example.com", "i.j.mail.example.com",
		"j.mail.example.com", "mail.example.com", "example.com", "com" };
	assert_int_equal(dmarc_walk_init(&w, deep[0]), 0);
	assert_int_equal(w.n, 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(w.target[i], deep[i]);

	/* Exactly 8 labels: eight queries, one label off each time. */
	assert_int_equal(dmarc_walk_init(&w, "1.2.3.4.5.6.7.example"), 0);
	assert_int_equal(w.n, 8);
	assert_string_equal(w.target[1], "2.3.4.5.6.7.example");
	/* 7 labels: seven queries. */
	assert_int_equal(dmarc_walk_init(&w, "2.3.4.5.6.7.example"), 0);
	assert_int_equal(w.n, 7);
	/* 9 labels: straight to 7. */
	assert_int_equal(dmarc_walk_init(&w, "0.1.2.3.4.5.6.7.example"), 0);
	assert_int_equal(w.n, 8);
	assert_string_equal(w.target[1], "2.3.4.5.6.7.example");

	assert_int_equal(dmarc_walk_init(&w, ""), -1);
	assert_int_equal(dmarc_walk_init(&w, "."), -1);
	assert_int_equal(dmarc_walk_init(&w, "a..example"), -1);
	assert_int_equal(dmarc_walk_init(&w, ".example"), -1);
	assert_int_equal(dmarc_walk_init(&w, "exa mple.com"), -1);
	char big[300];
	memset(big, 'a', 70);
	strcpy(big + 70, ".example");
	assert_int_equal(dmarc_walk_init(&w, big), -1); /* a label over 63 */
	for (size_t i = 0; i < 250; i += 2)
		big[i] = 'a', big[i + 1] = '.';
	strcpy(big + 250, "example");
	assert_int_equal(dmarc_walk_init(&w, big), -1); /* _dmarc.<name> would be too long */
	assert_int_equal(dmarc_label_count(""), 0);
	assert_int_equal(dmarc_label_count("a.b"), 2);
	assert_string_equal(dmarc_last_labels("a.b.c", 2), "b.c");
	assert_string_equal(dmarc_last_labels("a.b.c", 5), "a.b.c");
}

static void
test_org_examples(void **state)
{
	struct dmarc_walk_result r;

	/* Records at mail.example.com and example.com: the fewest labels wins. */
	static const struct fake t1[] = {
		{ "mail.example.com", "v=DMARC1; p=none" },
		{ "example.com", "v=DMARC1; p=reject" },
		{ NULL, NULL },
	};
	walk("a.mail.example.com", t1, &r);
	assert_true(r.complete);
	assert_string_equal(r.org, "example.com");
	assert_true(r.found);
	assert_false(r.at_start);
	assert_string_equal(r.policy_domain, "example.com");
	assert_int_equal(r.rec.p, DMARC_POLICY_REJECT);

	/* psd=n at mail.example.com: that is the Organizational Domain, the walk stops. */
	static const struct fake t2[] = {
		{ "mail.example.com", "v=DMARC1; p=quarantine; psd=n" },
		{ "example.com", "TEMPFAIL" }, /* never needed */
		{ NULL, NULL },
	};
	walk("a.mail.example.com", t2, &r);
	assert_true(r.complete);
	assert_string_equal(r.org, "mail.example.com");
	assert_string_equal(r.policy_domain, "mail.example.com");
	assert_int_equal(r.rec.p, DMARC_POLICY_QUARANTINE);

	/* Only _dmarc.com, with psd=y: the Organizational Domain is example.com. */
	static const struct fake t3[] = {
		{ "com", "v=DMARC1; p=reject; psd=y" },
		{ NULL, NULL },
	};
	walk("a.mail.example.com", t3, &r);
	assert_true(r.complete);
	assert_string_equal(r.org, "example.com");
	/* No record there: the PSD's record is the policy. */
	assert_true(r.found);
	assert_true(r.from_psd);
	assert_string_equal(r.policy_domain, "com");

	/* No record anywhere: the domain is its own Organizational Domain, no policy. */
	static const struct fake t4[] = { { NULL, NULL } };
	walk("a.mail.example.com", t4, &r);
	assert_true(r.complete);
	assert_false(r.found);
	assert_string_equal(r.org, "a.mail.example.com");

	/* psd=y at the starting domain: not "one below"; it is its own org. */
	static const struct fake t5[] = {
		{ "bank.example", "v=DMARC1; p=reject; psd=y" },
		{ NULL, NULL },
	};
	walk("bank.example", t5, &r);
	assert_string_equal(r.org, "bank.example");
	assert_true(r.at_start);
}

static void
test_rfc_tree_examples(void **state)
{
	struct dmarc_walk_result r;

	/* "Example with a PSD DMARC Policy Record". */
	static const struct fake psd[] = {
		{ "bank.example", "v=DMARC1; p=reject; psd=y" },
		{ "giant.bank.example", "v=DMARC1; p=quarantine" },
		{ NULL, NULL },
	};
	walk("giant.bank.example", psd, &r);
	assert_string_equal(r.org, "giant.bank.example");
	assert_true(r.at_start);
	assert_string_equal(r.policy_domain, "giant.bank.example");
	walk("mail.giant.bank.example", psd, &r);
	assert_string_equal(r.org, "giant.bank.example");
	assert_string_equal(r.policy_domain, "giant.bank.example");
	walk("mail.mega.bank.example", psd, &r);
	assert_string_equal(r.org, "mega.bank.example");
	assert_true(r.from_psd);
	assert_string_equal(r.policy_domain, "bank.example");

	/* "Deep Tree Walk Example" and "Simple Organizational and Policy Example". */
	static const struct fake deep[] = {
		{ "example.com", "v=DMARC1; p=reject" },
		{ "signing.example.com", "v=DMARC1; p=none" },
		{ NULL, NULL },
	};
	walk("a.b.c.d.e.f.g.h.i.j.k.example.com", deep, &r);
	assert_string_equal(r.org, "example.com");
	assert_string_equal(r.policy_domain, "example.com");
	walk("signing.example.com", deep, &r);
	assert_string_equal(r.org, "example.com");
	assert_true(r.at_start);
	walk("example.com", deep, &r);
	assert_string_equal(r.org, "example.com");
}

static void
test_failures_and_several(void **state)
{
	struct dmarc_walk_result r;

	/* A DNS failure on the way: no Organizational Domain; the start's record stands. */
	static const struct fake t1[] = {
		{ "mail.example.com", "v=DMARC1; p=reject" },
		{ "example.com", "TEMPFAIL" },
		{ NULL, NULL },
	};
	walk("mail.example.com", t1, &r);
	assert_false(r.complete);
	assert_true(r.found);
	assert_true(r.at_start);
	assert_false(r.start_tempfail);
	walk("a.mail.example.com", t1, &r);
	assert_false(r.complete);
	assert_false(r.found);

	static const struct fake t2[] = {
		{ "example.com", "TEMPFAIL" },
		{ NULL, NULL },
	};
	walk("example.com", t2, &r);
	assert_true(r.start_tempfail);
	assert_false(r.found);

	/* Several records at a name count as none there. */
	static const struct fake t3[] = {
		{ "mail.example.com", "SEVERAL" },
		{ "example.com", "v=DMARC1; p=quarantine" },
		{ NULL, NULL },
	};
	walk("mail.example.com", t3, &r);
	assert_true(r.complete);
	assert_false(r.at_start);
	assert_string_equal(r.policy_domain, "example.com");

	/* The walk stops at the first psd= tag: later names are not needed. */
	static const struct fake t4[] = {
		{ "b.example.com", "v=DMARC1; p=none; psd=n" },
		{ NULL, NULL },
	};
	struct dmarc_walk w;
	table = t4;
	assert_int_equal(dmarc_walk_init(&w, "a.b.example.com"), 0);
	assert_int_equal(dmarc_walk_needed(&w, answer, NULL), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_org_examples),
		cmocka_unit_test(test_rfc_tree_examples),
		cmocka_unit_test(test_failures_and_several),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
