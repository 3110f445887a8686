/* cli_dkim.c - `mailroom dkim list [DOMAIN] | dkim rotate DOMAIN`: the DKIM keys of the hosted domains. */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/units.h"

#define DKIM_USAGE "dkim list [DOMAIN] | dkim rotate DOMAIN"

static int
dkim_list(struct config *cfg, const char *domain)
{
	struct dkim_key_list l = { 0 };
	char err[1024], when[32];
	struct accounts *a = cli_open_accounts(cfg);
	int rc = 0;

	if (a == NULL)
		return 1;
	if (accounts_dkim_list(a, domain, time(NULL), &l, err, sizeof err) < 0) {
		accounts_close(a);
		return cli_fail("%s", err);
	}
	accounts_close(a);
	for (size_t i = 0; i < l.n; i++) {
		const struct dkim_key_info *k = &l.v[i];
		format_utc(when, sizeof when, k->created);
		printf("%s %s %s %s %s\n", k->domain, k->selector, dkim_alg_name(k->alg),
		    dkim_state_name(k->state), when);
	}
	dkim_key_list_free(&l);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = cli_fail("cannot write to standard output");
	return rc;
}

static int
dkim_rotate(struct config *cfg, const char *domain)
{
	struct dkim_signer made[DKIM_ALG_COUNT];
	size_t n = 0;
	char err[1024];
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	time_t from = time(NULL) + (time_t)cfg->dkim_rotate_after;
	int r = accounts_dkim_make_named(a, domain, cfg->dkim_algs, from, made, &n, err,
	    sizeof err);
	accounts_close(a);
	if (r < 0)
		return cli_fail("%s", err);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", made[i].selector);
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail("cannot write to standard output");
	return 0;
}

int
cli_dkim(struct config *cfg, int argc, char **argv)
{
	if ((argc == 1 || argc == 2) && strcmp(argv[0], "list") == 0)
		return dkim_list(cfg, argc == 2 ? argv[1] : NULL);
	if (argc == 2 && strcmp(argv[0], "rotate") == 0)
		return dkim_rotate(cfg, argv[1]);
	return cli_usage_error(DKIM_USAGE);
}
