/*
 * probe_web.c - the wall probe (test builds, MAILROOM_WALL_PROBE set) of the web's
 * requests to lookupd: every role but httpd must be refused LK_WEB_WHO and
 * LK_WEB_OP (lookupd logs each refusal); httpd gets an answer ("not known").
 */
#include "sandbox/sandbox.h"

#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "lookup/web_client.h"
#include "util/log.h"

#define PROBE_SID "s:0000000000000000000000000000000000000000000000000000000000000000"

void
sandbox_probe_web(const char *role, const struct config *cfg)
{
#ifdef MAILROOM_WALL_PROBE
	char err[256];
	struct web_who who;
	struct buf json = { 0 };

	if (getenv("MAILROOM_WALL_PROBE") == NULL || strcmp(role, "lookupd") == 0)
		return;
	struct accounts *a = accounts_open_remote(cfg->data_dir, err, sizeof err);
	if (a == NULL)
		return;
	int who_r = web_whois(a, PROBE_SID, &who);
	/* an answer of lookupd is a 401 for an unknown session; a refusal, our own 500 */
	int op_r = web_op(a, PROBE_SID, "domain.list", NULL, 0, &json);
	if (strcmp(role, "httpd") == 0) {
		if (who_r == 0 && op_r == 401)
			ev_info("wall-probe", KS("check", "web"), KS("result", "answered"));
		else
			ev_warn("wall-probe", KS("check", "web"), KS("result", "failed"), KN("who", who_r),
			    KN("op", op_r));
	} else {
		if (who_r < 0)
			ev_info("wall-probe", KS("check", "web who"), KS("result", "refused"));
		else
			ev_warn("wall-probe", KS("check", "web who"), KS("result", "allowed"),
			    KN("status", who_r));
		if (op_r == 500)
			ev_info("wall-probe", KS("check", "web op"), KS("result", "refused"));
		else
			ev_warn("wall-probe", KS("check", "web op"), KS("result", "allowed"),
			    KN("status", op_r));
	}
	buf_free(&json);
	accounts_close(a);
#else
	(void)role;
	(void)cfg;
#endif
}
