/*
 * cli_users.c - `user suspend|resume ADDRESS` and `user app-password
 * add|list|del`: the account controls of accounts_users.h. A new app password is
 * printed once, alone on its line; nothing else ever shows it.
 */
#include "cli/cli_users.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accounts_users.h"
#include "cli/cli.h"
#include "cli/cli_util.h"

bool
cli_user_control_cmd(const char *sub)
{
	return strcmp(sub, "suspend") == 0 || strcmp(sub, "resume") == 0 ||
	    strcmp(sub, "app-password") == 0;
}

static int
finish(struct accounts *a, int r, const char *err)
{
	accounts_close(a);
	return r < 0 ? cli_fail("%s", err) : 0;
}

static int
app_add(struct accounts *a, const char *address, const char *name)
{
	char pw[APP_PASSWORD_SIZE], err[1024];

	if (accounts_app_password_add(a, address, name, pw, time(NULL), err, sizeof err) < 0)
		return finish(a, -1, err);
	accounts_close(a);
	int rc = printf("%s\n", pw) < 0 || fflush(stdout) != 0 ?
	    cli_fail("cannot write the new app password: delete it and add another") : 0;
	explicit_bzero(pw, sizeof pw);
	return rc;
}

static int
app_list(struct accounts *a, const char *address)
{
	struct strlist l = { 0 };
	char err[1024];
	int rc = accounts_app_password_list(a, address, &l, err, sizeof err) < 0 ?
	    cli_fail("%s", err) : cli_print_list(&l);

	strlist_free(&l);
	accounts_close(a);
	return rc;
}

int
cli_user_control(struct config *cfg, int argc, char **argv)
{
	char err[1024];
	bool suspend = strcmp(argv[0], "suspend") == 0;
	bool app = strcmp(argv[0], "app-password") == 0;
	const char *op = app && argc >= 2 ? argv[1] : "";

	if (!app && argc != 2)
		return cli_usage_error(USER_CONTROL_USAGE);
	if (app && !((argc == 4 && (strcmp(op, "add") == 0 || strcmp(op, "del") == 0)) ||
	    (argc == 3 && strcmp(op, "list") == 0)))
		return cli_usage_error(USER_CONTROL_USAGE);

	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		return 1;
	if (!app)
		return finish(a, accounts_user_suspend(a, argv[1], suspend, err, sizeof err), err);
	if (strcmp(op, "add") == 0)
		return app_add(a, argv[2], argv[3]);
	if (strcmp(op, "del") == 0)
		return finish(a, accounts_app_password_del(a, argv[2], argv[3], err, sizeof err), err);
	return app_list(a, argv[2]);
}
