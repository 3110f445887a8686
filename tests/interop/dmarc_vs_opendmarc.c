/*
 * dmarc_vs_opendmarc.c - a comparison, by hand, of src/dmarc with Debian's
 * libopendmarc 1.4.2 (RFC 7489): how records parse, and pass/fail and the policy
 * in simple cases where the public suffix list and the RFC 9989 tree walk agree
 * (the Organizational Domain is taken as the last two labels on both sides).
 * Not built by make (libopendmarc is not a dependency):
 *   apt-get install libopendmarc-dev
 *   cc -std=c17 -D_GNU_SOURCE -Isrc -o /tmp/dmarc-interop tests/interop/dmarc_vs_opendmarc.c \
 *       src/dmarc/dmarc_record.c src/dmarc/dmarc_eval.c -lopendmarc && /tmp/dmarc-interop
 * Expected differences (RFC 9989 vs 7489): no p= (p=none here, an error there), a
 * bad adkim/aspf (the default here), "v=dmarc1" and v= not first (not a record here).
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/types.h>
#include <opendmarc/dmarc.h>
enum { OD_PASS = DMARC_POLICY_PASS, OD_REJECT = DMARC_POLICY_REJECT, OD_QUAR = DMARC_POLICY_QUARANTINE, OD_NONE = DMARC_POLICY_NONE };
#undef DMARC_POLICY_NONE
#undef DMARC_POLICY_REJECT
#undef DMARC_POLICY_QUARANTINE
#include "dmarc/dmarc_record.h"
#include "dmarc/dmarc_eval.h"

static const char *recs[] = {
	"v=DMARC1; p=reject", "v=DMARC1; p=quarantine; sp=none", "v=DMARC1;p=none;adkim=s;aspf=s",
	"v=DMARC1; p=reject; rua=mailto:a@example.com", "v=DMARC1; p=bogus",
	"v=DMARC1; sp=reject", "v=DMARC2; p=reject", "v=dmarc1; p=reject",
	"p=reject; v=DMARC1", "v=DMARC1; p=reject; pct=50", "v=DMARC1; p=reject; foo=bar",
	"v=DMARC1; p=Reject", "v=DMARC1 ; p = quarantine ;", "v=DMARC1; p=reject; adkim=x",
	"v=DMARC1; p=reject; t=y", "v=DMARC1; p=reject; psd=n", "v=DMARC1; p=reject; np=none",
	"v=DMARC1; p=none; sp=bogus", NULL };

static char pol(int p) { return p == DMARC_RECORD_P_NONE ? 'n' : p == DMARC_RECORD_P_QUARANTINE ? 'q' : p == DMARC_RECORD_P_REJECT ? 'r' : '-'; }
static char mine(enum dmarc_policy p) { return p == DMARC_POLICY_NONE ? 'n' : p == DMARC_POLICY_QUARANTINE ? 'q' : p == DMARC_POLICY_REJECT ? 'r' : '-'; }

static const char *org2(void *ctx, const char *d) {
	static char b[256]; const char *s = d + strlen(d); int dots = 0;
	while (s > d) { if (s[-1] == '.' && ++dots == 2) break; s--; }
	snprintf(b, sizeof b, "%s", s); return b;
}

int main(void) {
	OPENDMARC_LIB_T lib; memset(&lib, 0, sizeof lib);
	opendmarc_policy_library_init(&lib);
	printf("== records: opendmarc(status p sp adkim aspf) | mailroom(rc eff p sp adkim aspf)\n");
	for (int i = 0; recs[i]; i++) {
		DMARC_POLICY_T *c = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 4);
		opendmarc_policy_store_from_domain(c, (u_char *)"example.com");
		int st = opendmarc_policy_parse_dmarc(c, (u_char *)"example.com", (u_char *)recs[i]);
		int p = 0, sp = 0, ad = 0, as = 0;
		opendmarc_policy_fetch_p(c, &p); opendmarc_policy_fetch_sp(c, &sp);
		opendmarc_policy_fetch_adkim(c, &ad); opendmarc_policy_fetch_aspf(c, &as);
		struct dmarc_record r, e; int rc = dmarc_record_parse(recs[i], strlen(recs[i]), &r);
		int er = rc ? dmarc_record_effective(&r, &e) : -2;
		printf("%-48s | %2d %c %c %c %c | %d %2d %c %c %c %c\n", recs[i], st, pol(p), pol(sp), ad ? ad : '-', as ? as : '-',
		    rc, er, er == 0 ? mine(e.p) : '-', er == 0 ? mine(e.sp) : '-', er == 0 ? (e.adkim_strict ? 's' : 'r') : '-', er == 0 ? (e.aspf_strict ? 's' : 'r') : '-');
		opendmarc_policy_connect_shutdown(c);
	}
	struct { const char *rec, *from, *spf; int spfpass; const char *dkim; int dkimpass; } cases[] = {
		{ "v=DMARC1; p=reject", "example.com", "example.com", 1, NULL, 0 },
		{ "v=DMARC1; p=reject", "example.com", "bounce.example.com", 1, NULL, 0 },
		{ "v=DMARC1; p=reject; aspf=s", "example.com", "bounce.example.com", 1, NULL, 0 },
		{ "v=DMARC1; p=reject", "example.com", "other.net", 1, NULL, 0 },
		{ "v=DMARC1; p=reject", "example.com", "other.net", 1, "mail.example.com", 1 },
		{ "v=DMARC1; p=reject; adkim=s", "example.com", "other.net", 1, "mail.example.com", 1 },
		{ "v=DMARC1; p=reject; adkim=s", "example.com", "other.net", 1, "example.com", 1 },
		{ "v=DMARC1; p=quarantine", "example.com", "example.com", 0, "example.com", 0 },
		{ "v=DMARC1; p=none", "example.com", "x.net", 0, NULL, 0 },
		{ "v=DMARC1; p=reject; sp=quarantine", "sub.example.com", "x.net", 0, NULL, 0 },
		{ "v=DMARC1; p=reject; sp=none", "sub.example.com", "sub.example.com", 1, NULL, 0 },
		{ NULL } };
	printf("== cases: opendmarc policy | mailroom result/applied\n");
	for (int i = 0; cases[i].rec; i++) {
		DMARC_POLICY_T *c = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 4);
		opendmarc_policy_store_from_domain(c, (u_char *)cases[i].from);
		opendmarc_policy_store_spf(c, (u_char *)cases[i].spf, cases[i].spfpass ? DMARC_POLICY_SPF_OUTCOME_PASS : DMARC_POLICY_SPF_OUTCOME_FAIL, DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
		if (cases[i].dkim) opendmarc_policy_store_dkim(c, (u_char *)cases[i].dkim, (u_char *)"s", cases[i].dkimpass ? DMARC_POLICY_DKIM_OUTCOME_PASS : DMARC_POLICY_DKIM_OUTCOME_FAIL, NULL);
		opendmarc_policy_store_dmarc(c, (u_char *)cases[i].rec, (u_char *)"example.com", (u_char *)"example.com");
		int o = opendmarc_get_policy_to_enforce(c);
		const char *os = o == OD_PASS ? "pass" : o == OD_REJECT ? "reject" : o == OD_QUAR ? "quarantine" : o == OD_NONE ? "none(fail)" : "other";
		struct dmarc_record r, e; dmarc_record_parse(cases[i].rec, strlen(cases[i].rec), &r); dmarc_record_effective(&r, &e);
		struct dmarc_dkim dk = { cases[i].dkim, cases[i].dkimpass };
		struct dmarc_input in = { NULL, 0, cases[i].spfpass ? DMARC_SPF_PASS : DMARC_SPF_FAIL, cases[i].spf, &dk, cases[i].dkim ? 1 : 0 };
		struct dmarc_result res = { 0 };
		char *ao = strdup(org2(NULL, cases[i].from)); dmarc_evaluate(&in, cases[i].from, ao, &e, org2, NULL, &res); free(ao);
		if (res.result == DMARC_RESULT_FAIL) dmarc_disposition(&e, strcmp(cases[i].from, "example.com") == 0, DMARC_EXISTS_YES, &res);
		printf("%-36s %-16s spf=%s%-20s dkim=%-18s | %-11s | %s/%s\n", cases[i].rec, cases[i].from, cases[i].spfpass ? "pass:" : "fail:", cases[i].spf, cases[i].dkim ? cases[i].dkim : "-", os,
		    dmarc_outcome_name(res.result), res.result == DMARC_RESULT_FAIL ? dmarc_policy_name(res.policy_applied) : "-");
		opendmarc_policy_connect_shutdown(c);
	}
	return 0;
}
