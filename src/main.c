/*
 * main.c - `mailroom [-c CONFIG] COMMAND [ARGS]`: pick the config file and hand the
 * command to serve_main() or to the CLI command groups.
 * Exit status: 0 success, 1 failure (one line "mailroom: ..." on stderr), 2 usage.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "serve.h"
#include "version.h"

static const char usage_text[] =
    "usage: mailroom [-c CONFIG] COMMAND [ARGS]\n"
    "CONFIG defaults to $MAILROOM_CONFIG, else " CONFIG_DEFAULT_PATH ".\n"
    "commands:\n"
    "  serve                                run every configured service\n"
    "  init DIR [--domain D] [--hostname H] write a config, certificate and data dir\n"
    "                                       [--data-dir PATH]: the data dir elsewhere\n"
    "  config check                         validate the config file\n"
    "  domain add D | domain del D | domain list\n"
    "  user add ADDRESS [--quota SIZE]      password on standard input\n"
    "  user passwd ADDRESS                  password on standard input\n"
    "  user del ADDRESS | user list [DOMAIN]\n"
    "  user suspend ADDRESS | user resume ADDRESS\n"
    "  user app-password add ADDRESS NAME  prints the new password once\n"
    "  user app-password list ADDRESS | user app-password del ADDRESS NAME\n"
    "  user quota ADDRESS SIZE              0 for none\n"
    "  user limit ADDRESS [--per-day N] [--per-hour N]\n"
    "                                       outbound limits (0: none); none given: show\n"
    "  user vacation ADDRESS --subject TEXT [--until YYYY-MM-DD]\n"
    "                                       auto-reply, body on standard input\n"
    "  user vacation ADDRESS --off | user vacation ADDRESS\n"
    "  alias add SOURCE TARGET [TARGET...]  SOURCE local@domain or @domain\n"
    "  alias del SOURCE | alias list\n"
    "  queue list | queue show ID | queue delete ID | queue flush\n"
    "  queue hold ID | queue release ID     keep a message undelivered, let it go\n"
    "  dkim list [DOMAIN] | dkim rotate DOMAIN\n"
    "  dns records DOMAIN                   the DNS records a hosted domain needs\n"
    "  dns check DOMAIN                     look each of them up\n"
    "  check spf IP HELO MAILFROM           the SPF result for such a sender\n"
    "  check message [--ip IP] [--helo H] [--mailfrom ADDR] < MESSAGE\n"
    "                                       the Authentication-Results it would get\n"
    "  dmarc report-now                     send the DMARC aggregate reports now\n"
    "  tlsrpt report-now                    send the TLS reports (RFC 8460) now\n"
    "  admin add NAME | admin passwd NAME   a web administrator; password on standard input\n"
    "  admin del NAME | admin list\n"
    "  admin token add NAME                 prints a new API token once\n"
    "  accounts migrate                     bring the account store's schema up to date\n"
    "  accounts export | accounts import    the whole account store as JSON, on standard\n"
    "                                       output / from standard input (into an empty store)\n"
    "  status [--json]                      the running server: roles, uptime, connections,\n"
    "                                       queue, last errors (exit 1: none, or a role down)\n"
    "  version\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/*
 * Argument counts of the accounts subcommands, checked before the config is read so
 * that a usage error is reported as one (exit 2) even without a config file. The
 * group functions check the details again.
 */
static const struct arity {
	const char *group, *sub;
	int min, max; /* arguments after the subcommand */
} arities[] = {
	{ "domain", "add", 1, 1 },
	{ "domain", "del", 1, 1 },
	{ "domain", "list", 0, 0 },
	{ "user", "add", 1, 3 },
	{ "user", "passwd", 1, 1 },
	{ "user", "del", 1, 1 },
	{ "user", "list", 0, 1 },
	{ "user", "suspend", 1, 1 },
	{ "user", "resume", 1, 1 },
	{ "user", "app-password", 2, 3 },
	{ "user", "limit", 1, 5 },
	{ "user", "vacation", 1, 5 },
	{ "alias", "add", 2, INT_MAX },
	{ "alias", "del", 1, 1 },
	{ "alias", "list", 0, 0 },
	{ "dkim", "list", 0, 1 },
	{ "dkim", "rotate", 1, 1 },
	{ "dns", "records", 1, 1 },
	{ "dns", "check", 1, 1 },
	{ "dmarc", "report-now", 0, 0 },
	{ "tlsrpt", "report-now", 0, 0 },
	{ "user", "quota", 2, 2 },
	{ "admin", "add", 1, 1 },
	{ "admin", "del", 1, 1 },
	{ "admin", "list", 0, 0 },
	{ "admin", "passwd", 1, 1 },
	{ "admin", "token", 2, 2 },
	{ "accounts", "migrate", 0, 0 },
	{ "accounts", "export", 0, 0 },
	{ "accounts", "import", 0, 0 },
};

static bool
arity_ok(const char *group, int argc, char **argv)
{
	bool group_known = false;

	for (size_t i = 0; i < sizeof arities / sizeof arities[0]; i++) {
		const struct arity *a = &arities[i];
		if (strcmp(a->group, group) != 0)
			continue;
		group_known = true;
		if (argc >= 1 && strcmp(a->sub, argv[0]) == 0)
			return argc - 1 >= a->min && argc - 1 <= a->max;
	}
	return !group_known; /* groups without a table entry check for themselves */
}

typedef int (*group_fn)(struct config *cfg, int argc, char **argv);

static const struct group {
	const char *name;
	group_fn fn;
} groups[] = {
	{ "domain", cli_domain },
	{ "user", cli_user },
	{ "alias", cli_alias },
	{ "queue", cli_queue },
	{ "dkim", cli_dkim },
	{ "dns", cli_dns },
	{ "check", cli_check },
	{ "dmarc", cli_dmarc },
	{ "tlsrpt", cli_tlsrpt },
	{ "admin", cli_admin },
	{ "accounts", cli_accounts },
	{ "status", cli_status },
};

/* run_group - load the config, then run a command group that needs it. */
static int
run_group(const struct group *g, const char *path, int argc, char **argv)
{
	struct config cfg;
	char err[1024];

	if (!arity_ok(g->name, argc, argv))
		return usage();
	if (config_load(path, &cfg, err, sizeof err) < 0)
		return cli_fail("%s", err);
	int rc = g->fn(&cfg, argc, argv);
	config_free(&cfg);
	return rc;
}

static int
serve(const char *path, int argc)
{
	struct config cfg;
	char err[1024];

	if (argc != 0)
		return usage();
	if (config_load(path, &cfg, err, sizeof err) < 0)
		return cli_fail("%s", err);
	int rc = serve_main(&cfg);
	config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config_arg = NULL;
	int i = 1;

	/* Only options before the command: the commands' own options stay theirs. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc)
				return usage();
			config_arg = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			config_arg = a + 9;
		} else if (strncmp(a, "-c", 2) == 0) {
			config_arg = a + 2;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("mailroom %s\n", MAILROOM_VERSION);
			return 0;
		} else {
			return usage();
		}
	}
	if (i == argc)
		return usage();
	if (config_arg != NULL && config_arg[0] == '\0')
		return usage();

	const char *cmd = argv[i];
	const char *path = config_path(config_arg);
	int nargs = argc - i - 1;
	char **args = argv + i + 1;

	if (strcmp(cmd, "serve") == 0)
		return serve(path, nargs);
	if (strcmp(cmd, "init") == 0)
		return cli_init(nargs, args);
	if (strcmp(cmd, "config") == 0)
		return cli_config(path, nargs, args);
	if (strcmp(cmd, "version") == 0) {
		if (nargs != 0)
			return usage();
		printf("mailroom %s\n", MAILROOM_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
		if (strcmp(cmd, groups[g].name) == 0)
			return run_group(&groups[g], path, nargs, args);
	}
	return usage();
}
