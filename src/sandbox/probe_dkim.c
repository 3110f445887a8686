/*
 * probe_dkim.c - the wall probe (test builds, MAILROOM_WALL_PROBE set) of the
 * DKIM requests to lookupd: smtpd and pop3d must be refused both (lookupd logs
 * each refusal); queued, the mail user, gets the signing selectors and a
 * signature of a fixed text per key, logged with the selector so that a test
 * can check it against the published key. The vacation requests likewise: refused
 * to smtpd and pop3d, answered to queued.
 */
#include "sandbox/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "accounts_vacation.h"
#include "util/log.h"

#ifdef MAILROOM_WALL_PROBE
#define PROBE_TEXT "from:wall probe\r\ndkim-signature:v=1; b="

/* probe_vacation - LK_VACATION_GET and LK_VACATION_REPLY of postmaster@domain. */
static void
probe_vacation(struct accounts *a, bool mail_user, const char *domain)
{
	struct vacation_info *v = malloc(sizeof *v);
	char user[300], err[256];

	if (v == NULL)
		return;
	snprintf(user, sizeof user, "postmaster@%s", domain);
	bool got = accounts_vacation_get(a, user, v, err, sizeof err) == 0;
	/* A sender nobody writes from: the record it may leave is harmless. */
	bool recorded = accounts_vacation_reply(a, user, "wall-probe@invalid", 60, time(NULL)) !=
	    VACATION_FAILED;
	if (mail_user)
		log_event(got && recorded ? LOG_LV_INFO : LOG_LV_WARN, "wall-probe",
		    (const struct log_kv[]){ KS("check", "vacation"),
		    KS("result", got && recorded ? "answered" : "failed"),
		    KS("get", got ? "answered" : "failed"),
		    KS("reply", recorded ? "answered" : "failed"), { 0 } });
	else if (!got && !recorded)
		ev_info("wall-probe", KS("check", "vacation"), KS("result", "refused"));
	else
		ev_warn("wall-probe", KS("check", "vacation"), KS("result", "allowed"));
	free(v);
}

static void
probe_with(struct accounts *a, const char *role, const char *domain)
{
	struct dkim_signer signers[DKIM_ALG_COUNT];
	char sig[DKIM_SIG_MAX];
	bool mail_user = strcmp(role, "queued") == 0;
	int n = accounts_dkim_signers(a, domain, time(NULL), signers);

	probe_vacation(a, mail_user, domain);

	if (!mail_user) {
		if (n < 0)
			ev_info("wall-probe", KS("check", "dkim keys"), KS("result", "refused"));
		else
			ev_warn("wall-probe", KS("check", "dkim keys"), KS("result", "allowed"),
			    KN("signers", n), KS("d", domain));
		/* A selector that may exist or not: the request itself must be refused. */
		if (accounts_dkim_sign(a, domain, "m20000101e", PROBE_TEXT, strlen(PROBE_TEXT), sig,
		    sizeof sig) < 0 && sig[0] == '\0')
			ev_info("wall-probe", KS("check", "dkim sign"), KS("result", "refused"));
		else
			ev_warn("wall-probe", KS("check", "dkim sign"), KS("result", "allowed"));
		struct dkim_sign_item it = { "m20000101e", PROBE_TEXT, strlen(PROBE_TEXT), sig,
			sizeof sig, DKIM_SIGN_OK };
		if (accounts_dkim_sign_many(a, domain, &it, 1) < 0 && sig[0] == '\0')
			ev_info("wall-probe", KS("check", "dkim sign many"), KS("result", "refused"));
		else
			ev_warn("wall-probe", KS("check", "dkim sign many"), KS("result", "allowed"));
		return;
	}
	if (n <= 0) {
		ev_warn("wall-probe", KS("check", "dkim sign"), KS("result", "failed"),
		    KS("reason", "no signers"), KS("d", domain), KN("signers", n));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (accounts_dkim_sign(a, domain, signers[i].selector, PROBE_TEXT, strlen(PROBE_TEXT),
		    sig, sizeof sig) < 0)
			ev_warn("wall-probe", KS("check", "dkim sign"), KS("result", "failed"),
			    KS("d", domain), KS("s", signers[i].selector));
		else
			ev_info("wall-probe", KS("check", "dkim sign"), KS("result", "answered"),
			    KS("d", domain), KS("s", signers[i].selector),
			    KS("a", dkim_alg_sig_name(signers[i].alg)), KS("b", sig));
	}
	/* Every signer in one LK_DKIM_SIGN_MANY: each answer is its own signature. */
	struct dkim_sign_item items[DKIM_ALG_COUNT];
	char sigs[DKIM_ALG_COUNT][DKIM_SIG_MAX];
	for (int i = 0; i < n; i++)
		items[i] = (struct dkim_sign_item){ signers[i].selector, PROBE_TEXT,
			strlen(PROBE_TEXT), sigs[i], sizeof sigs[i], DKIM_SIGN_FAILED };
	bool answered = accounts_dkim_sign_many(a, domain, items, (size_t)n) == 0;
	for (int i = 0; i < n; i++) {
		if (!answered || items[i].status != DKIM_SIGN_OK)
			ev_warn("wall-probe", KS("check", "dkim sign many"), KS("result", "failed"),
			    KS("d", domain), KS("s", signers[i].selector));
		else
			ev_info("wall-probe", KS("check", "dkim sign many"), KS("result", "answered"),
			    KS("d", domain), KS("s", signers[i].selector),
			    KS("a", dkim_alg_sig_name(signers[i].alg)), KS("b", sigs[i]));
	}
}
#endif

void
sandbox_probe_dkim(const char *role, const struct config *cfg)
{
#ifdef MAILROOM_WALL_PROBE
	struct strlist domains = { 0 };
	char err[256];

	if (getenv("MAILROOM_WALL_PROBE") == NULL || strcmp(role, "lookupd") == 0)
		return;
	struct accounts *a = accounts_open_remote(cfg->data_dir, err, sizeof err);
	if (a == NULL)
		return;
	if (accounts_domain_list(a, &domains, err, sizeof err) == 0 && domains.n > 0)
		probe_with(a, role, domains.v[0]);
	else
		ev_warn("wall-probe", KS("check", "dkim"), KS("result", "untried"),
		    KS("reason", "no hosted domain"));
	strlist_free(&domains);
	accounts_close(a);
#else
	(void)role;
	(void)cfg;
#endif
}
