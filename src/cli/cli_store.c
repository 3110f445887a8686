/*
 * cli_store.c - `mailroom accounts migrate|export|import`: the account store as
 * a whole. migrate brings the schema to this mailroom's version (every command
 * does so too; this one says what it did); export writes the store as JSON on
 * standard output and import reads such a document into an empty store
 * (accounts_dump.h), which is how a provider moves from SQLite to PostgreSQL and
 * back: export with one config, import with the other.
 */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "accounts_dump.h"

#define ACCOUNTS_USAGE "accounts migrate | accounts export > FILE | accounts import < FILE"

static int
flushed(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail("cannot write to standard output");
	return 0;
}

static int
migrate(struct config *cfg)
{
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	int from = accounts_schema_from(a), now = accounts_schema_latest();
	const char *where = config_accounts_dsn(cfg) != NULL ? "PostgreSQL" : "SQLite";
	if (from == 0)
		printf("accounts store (%s): made at schema version %d\n", where, now);
	else if (from < now)
		printf("accounts store (%s): schema version %d, upgraded from %d\n", where, now, from);
	else
		printf("accounts store (%s): schema version %d, the newest this mailroom knows\n",
		    where, now);
	accounts_close(a);
	return flushed();
}

static int
export(struct config *cfg)
{
	char err[1024];
	json_t *doc = NULL;
	struct accounts *a = cli_open_accounts(cfg);

	if (a == NULL)
		return 1;
	int r = accounts_export(a, &doc, err, sizeof err);
	accounts_close(a);
	if (r < 0)
		return cli_fail("%s", err);
	r = json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (r < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0 || ferror(stdout))
		return cli_fail("cannot write to standard output");
	return 0;
}

static int
import(struct config *cfg)
{
	char err[1024];
	json_error_t jerr;
	size_t rows = 0;

	/* Read first: a document that does not parse touches no store. */
	json_t *doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return cli_fail("standard input, line %d: %s", jerr.line, jerr.text);
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL) {
		json_decref(doc);
		return 1;
	}
	int r = accounts_import(a, doc, &rows, err, sizeof err);
	accounts_close(a);
	json_decref(doc);
	if (r < 0)
		return cli_fail("%s", err);
	printf("imported %zu rows\n", rows);
	return flushed();
}

int
cli_accounts(struct config *cfg, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage_error(ACCOUNTS_USAGE);
	if (strcmp(argv[0], "migrate") == 0)
		return migrate(cfg);
	if (strcmp(argv[0], "export") == 0)
		return export(cfg);
	if (strcmp(argv[0], "import") == 0)
		return import(cfg);
	return cli_usage_error(ACCOUNTS_USAGE);
}
