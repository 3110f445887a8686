/*
 * cli_admin.c - `mailroom admin add|del|list|passwd|token add`: the administrators
 * of the web pages and the JSON API (accounts_web.h). A password comes on
 * standard input as for `user add`; a new API token is printed once, alone on its
 * line, and only its digest is kept.
 */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accounts_web.h"

#define ADMIN_USAGE "admin add NAME | admin del NAME | admin list | admin passwd NAME |" \
	" admin token add NAME"

static int
finish(struct accounts *a, int r, const char *err)
{
	accounts_close(a);
	return r < 0 ? cli_fail("%s", err) : 0;
}

/* with_password - add (or passwd) NAME with the password read from standard input. */
static int
with_password(struct config *cfg, const char *name, bool add)
{
	char pw[CLI_PASSWORD_MAX + 1], err[1024], hash[256];

	/* the name's faults first, before a password that would go nowhere */
	if (!web_name_valid(name))
		return cli_fail("bad admin name: '%.80s' (1 to %d of A-Z a-z 0-9 . _ -)", name,
		    WEB_NAME_MAX);
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		return 1;
	int found = accounts_admin_hash(a, name, hash, sizeof hash);
	explicit_bzero(hash, sizeof hash);
	accounts_close(a);
	if (found < 0)
		return cli_fail("the account store failed");
	if (add && found == 1)
		return cli_fail("admin exists: %s", name);
	if (!add && found == 0)
		return cli_fail("no such admin: %s", name);
	if ((a = cli_open_accounts(cfg)) == NULL)
		return 1;
	if (cli_read_password(pw, sizeof pw) != 0) {
		accounts_close(a);
		return 1;
	}
	int r = add ? accounts_admin_add(a, name, pw, time(NULL), err, sizeof err) :
	    accounts_admin_passwd(a, name, pw, err, sizeof err);
	explicit_bzero(pw, sizeof pw);
	return finish(a, r, err);
}

static int
token_add(struct config *cfg, const char *name)
{
	char token[WEB_TOKEN_LEN + 1], err[1024];
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	if (accounts_token_add(a, name, time(NULL), token, err, sizeof err) < 0)
		return finish(a, -1, err);
	accounts_close(a);
	int rc = printf("%s\n", token) < 0 || fflush(stdout) != 0 ?
	    cli_fail("cannot write the new token: delete the admin's tokens with `admin passwd`") :
	    0;
	explicit_bzero(token, sizeof token);
	return rc;
}

int
cli_admin(struct config *cfg, int argc, char **argv)
{
	struct accounts *a;
	struct strlist l = { 0 };
	char err[1024];

	if (argc == 2 && strcmp(argv[0], "add") == 0)
		return with_password(cfg, argv[1], true);
	if (argc == 2 && strcmp(argv[0], "passwd") == 0)
		return with_password(cfg, argv[1], false);
	if (argc == 3 && strcmp(argv[0], "token") == 0 && strcmp(argv[1], "add") == 0)
		return token_add(cfg, argv[2]);
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		return finish(a, accounts_admin_del(a, argv[1], err, sizeof err), err);
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		int rc = accounts_admin_list(a, &l, err, sizeof err) < 0 ? cli_fail("%s", err) :
		    cli_print_list(&l);
		strlist_free(&l);
		accounts_close(a);
		return rc;
	}
	return cli_usage_error(ADMIN_USAGE);
}
