/* cli_accounts.c - `mailroom domain|user|alias ...`: the admin commands for accounts. */
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cli_users.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/maildir_retire.h"
#include "password.h"
#include "util/units.h"

#define DOMAIN_USAGE "domain add DOMAIN | domain del DOMAIN | domain list"
#define USER_USAGE "user add ADDRESS [--quota SIZE] | user passwd ADDRESS |" \
	" user del ADDRESS | user list [DOMAIN] | user quota ADDRESS SIZE |" \
	" user limit ADDRESS [--per-day N] [--per-hour N] |" \
	" user vacation ADDRESS [--subject TEXT [--until YYYY-MM-DD] | --off]"
#define ALIAS_USAGE "alias add SOURCE TARGET [TARGET...] | alias del SOURCE | alias list"

/* finish - close a and turn the result of an accounts call into an exit status. */
static int
finish(struct accounts *a, int r, const char *err)
{
	accounts_close(a);
	return r < 0 ? cli_fail("%s", err) : 0;
}

/* list - print the lines an accounts listing call gave, or its failure. */
static int
list(struct accounts *a, int r, struct strlist *l, const char *err)
{
	int rc = r < 0 ? cli_fail("%s", err) : cli_print_list(l);

	strlist_free(l);
	accounts_close(a);
	return rc;
}

/*
 * domain_del - the domain must have no users or aliases left; mailboxes still under
 * mail/<domain>/ (with no user behind them) are moved aside, so that the domain's
 * users, should it come back, start empty.
 */
static int
domain_del(struct config *cfg, const char *domain)
{
	char err[1024];
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	if (accounts_domain_del(a, domain, err, sizeof err) < 0)
		return finish(a, -1, err);
	accounts_close(a);
	char d[ADDR_DOMAIN_MAX + 1];
	size_t i;
	for (i = 0; domain[i] != '\0' && i < ADDR_DOMAIN_MAX; i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	d[i] = '\0';
	char where[8192] = "";
	int n = maildir_retire_domain(cfg->data_dir, d, time(NULL), where, sizeof where);
	if (n < 0)
		return cli_fail("deleted domain %s, but cannot move its mailboxes to %s/deleted/%s: "
		    "%s; move %s/mail/%s away before the domain is added again", d, cfg->data_dir, d,
		    strerror(errno), cfg->data_dir, d);
	if (n > 0)
		printf("moved %d mailbox%s to %s/\n", n, n == 1 ? "" : "es", where);
	return 0;
}

int
cli_domain(struct config *cfg, int argc, char **argv)
{
	struct accounts *a;
	struct strlist l = { 0 };
	char err[1024];

	if (argc == 2 && strcmp(argv[0], "add") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		if (accounts_domain_add(a, argv[1], err, sizeof err) < 0)
			return finish(a, -1, err);
		/* Its keys sign at once; `dkim rotate` brings new ones in ahead of time. */
		if (accounts_dkim_make(a, argv[1], cfg->dkim_algs, time(NULL), err, sizeof err) < 0) {
			accounts_close(a);
			return cli_fail("added domain %s, but not its DKIM keys (serve makes them at "
			    "its start): %s", argv[1], err);
		}
		accounts_close(a);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "del") == 0)
		return domain_del(cfg, argv[1]);
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		return list(a, accounts_domain_list(a, &l, err, sizeof err), &l, err);
	}
	return cli_usage_error(DOMAIN_USAGE);
}

/* user_add - `user add ADDRESS [--quota SIZE]`, the option before or after the address. */
static int
user_add(struct config *cfg, int argc, char **argv)
{
	const char *address = NULL, *quota_arg = NULL;
	uint64_t quota = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--quota") == 0) {
			if (++i == argc || quota_arg != NULL)
				return cli_usage_error(USER_USAGE);
			quota_arg = argv[i];
		} else if (strncmp(argv[i], "--quota=", 8) == 0 && quota_arg == NULL) {
			quota_arg = argv[i] + 8;
		} else if (argv[i][0] == '-' || address != NULL) {
			return cli_usage_error(USER_USAGE);
		} else {
			address = argv[i];
		}
	}
	if (address == NULL)
		return cli_usage_error(USER_USAGE);
	if (quota_arg != NULL && parse_size(quota_arg, &quota) < 0)
		return cli_fail("bad quota: '%s' (a size such as 500M or 2G; 0 for none)", quota_arg);

	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		return 1;
	char pw[CLI_PASSWORD_MAX + 1], err[1024];
	if (cli_read_password(pw, sizeof pw) != 0) {
		accounts_close(a);
		return 1;
	}
	int r = accounts_user_add(a, address, pw, quota, err, sizeof err);
	explicit_bzero(pw, sizeof pw);
	return finish(a, r, err);
}

static int
user_passwd(struct config *cfg, const char *address)
{
	char pw[CLI_PASSWORD_MAX + 1], err[1024];
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	/* Say "no such user" before asking for a password that would go nowhere. */
	char hash[PASSWORD_HASH_MAX];
	int found = accounts_password_hash(a, address, hash, sizeof hash);
	explicit_bzero(hash, sizeof hash);
	if (found == 0) {
		char canon[ADDR_MAX + 1];
		accounts_close(a);
		if (address_canonical(address, canon, sizeof canon, false) < 0)
			return cli_fail("malformed address: %s", address);
		return cli_fail("no such user: %s", canon);
	}
	if (cli_read_password(pw, sizeof pw) != 0) {
		accounts_close(a);
		return 1;
	}
	int r = accounts_user_passwd(a, address, pw, err, sizeof err);
	explicit_bzero(pw, sizeof pw);
	return finish(a, r, err);
}

/*
 * user_del - the user goes first, then its Maildir is moved aside: mail that arrives
 * in between is refused as for any unknown user, and a later user of the address
 * never sees the old mail.
 */
static int
user_del(struct config *cfg, const char *address)
{
	char err[1024], canon[ADDR_MAX + 1], moved[8192];
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	if (accounts_user_del(a, address, err, sizeof err) < 0)
		return finish(a, -1, err);
	accounts_close(a);
	if (address_canonical(address, canon, sizeof canon, false) < 0)
		return cli_fail("malformed address: %s", address);
	int r = maildir_retire_user(cfg->data_dir, canon, time(NULL), moved, sizeof moved);
	if (r < 0)
		return cli_fail("deleted user %s, but cannot move its mailbox to %s/deleted/: %s; "
		    "move it away before the address is used again", canon, cfg->data_dir,
		    strerror(errno));
	if (r > 0)
		printf("moved the mailbox of %s to %s\n", canon, moved);
	return 0;
}

int
cli_user(struct config *cfg, int argc, char **argv)
{
	struct accounts *a;
	struct strlist l = { 0 };
	char err[1024];

	if (argc >= 2 && strcmp(argv[0], "add") == 0)
		return user_add(cfg, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[0], "passwd") == 0)
		return user_passwd(cfg, argv[1]);
	if (argc == 2 && strcmp(argv[0], "del") == 0)
		return user_del(cfg, argv[1]);
	if (argc == 3 && strcmp(argv[0], "quota") == 0) {
		uint64_t quota;
		if (parse_size(argv[2], &quota) < 0)
			return cli_fail("bad quota: '%s' (a size such as 500M or 2G; 0 for none)",
			    argv[2]);
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		return finish(a, accounts_user_quota_set(a, argv[1], quota, err, sizeof err), err);
	}
	if (argc >= 2 && strcmp(argv[0], "limit") == 0)
		return cli_user_limit(cfg, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[0], "vacation") == 0)
		return cli_user_vacation(cfg, argc - 1, argv + 1);
	if ((argc == 1 || argc == 2) && strcmp(argv[0], "list") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		const char *domain = argc == 2 ? argv[1] : NULL;
		return list(a, accounts_user_list(a, domain, &l, err, sizeof err), &l, err);
	}
	if (argc >= 1 && cli_user_control_cmd(argv[0]))
		return cli_user_control(cfg, argc, argv);
	return cli_usage_error(USER_USAGE " | " USER_CONTROL_USAGE);
}

/*
 * alias_add - targets may also be given as one comma-separated argument, the
 * form `alias list` prints.
 */
static int
alias_add(struct config *cfg, const char *source, int argc, char **argv)
{
	struct strlist targets = { 0 };
	char err[1024];
	int rc = 1;

	for (int i = 0; i < argc; i++) {
		char *copy = strdup(argv[i]), *save = NULL;
		if (copy == NULL)
			goto out;
		/* a quoted local part may hold a comma: leave such an argument whole */
		const char *sep = strchr(copy, '"') ? "" : ",";
		for (char *t = strtok_r(copy, sep, &save); t != NULL; t = strtok_r(NULL, sep, &save)) {
			t += strspn(t, " \t");
			if (*t != '\0' && strlist_add(&targets, t) < 0) {
				free(copy);
				cli_fail("out of memory");
				goto out;
			}
		}
		free(copy);
	}
	if (targets.n == 0) {
		rc = cli_usage_error(ALIAS_USAGE);
		goto out;
	}
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		goto out;
	rc = finish(a, accounts_alias_add(a, source, (const char *const *)targets.v, targets.n,
	    err, sizeof err), err);
out:
	strlist_free(&targets);
	return rc;
}

int
cli_alias(struct config *cfg, int argc, char **argv)
{
	struct accounts *a;
	struct strlist l = { 0 };
	char err[1024];

	if (argc >= 3 && strcmp(argv[0], "add") == 0)
		return alias_add(cfg, argv[1], argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[0], "del") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		return finish(a, accounts_alias_del(a, argv[1], err, sizeof err), err);
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if ((a = cli_open_accounts(cfg)) == NULL)
			return 1;
		return list(a, accounts_alias_list(a, &l, err, sizeof err), &l, err);
	}
	return cli_usage_error(ALIAS_USAGE);
}
