/* cli_util.c - failure and usage messages, password input and other helpers of the CLI. */
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "util/mkdir_p.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

int
cli_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* The contract is one line: a newline inside the reason would break it. */
	for (char *p = msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	fprintf(stderr, "mailroom: %s\n", msg);
	return 1;
}

int
cli_usage_error(const char *usage)
{
	fprintf(stderr, "usage: mailroom [-c CONFIG] %s\n", usage);
	return 2;
}

int
cli_read_password(char *out, size_t outlen)
{
	struct termios saved, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	char *line = NULL;
	size_t cap = 0;

	if (tty) {
		fputs("Password: ", stderr);
		fflush(stderr);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ssize_t n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	int rc = 1;
	if (n < 0) {
		cli_fail("no password on standard input");
		goto out;
	}
	size_t len = (size_t)n;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		cli_fail("password contains a NUL octet");
	else if (len == 0)
		cli_fail("empty password");
	else if (len > CLI_PASSWORD_MAX || len >= outlen)
		cli_fail("password longer than %d octets", CLI_PASSWORD_MAX);
	else {
		memcpy(out, line, len);
		out[len] = '\0';
		rc = 0;
	}
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}


/* give_to_user - as root, hand what this command created to the configured user. */
static void
give_to_user(const struct config *cfg, bool dir, bool db)
{
	static const char *const files[] = { "accounts.db", "accounts.db-wal", "accounts.db-shm" };
	struct passwd *pw;
	char path[PATH_MAX];

	if (geteuid() != 0 || cfg->user == NULL || (pw = getpwnam(cfg->user)) == NULL ||
	    pw->pw_uid == 0)
		return; /* serve says what is wrong with the user; it also fixes owners */
	/* Failures (a -wal file that is not there) are left alone: serve fixes owners too. */
	int ignored = 0;
	if (dir)
		ignored |= chown(cfg->data_dir, pw->pw_uid, pw->pw_gid);
	for (size_t i = 0; db && i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", cfg->data_dir, files[i]);
		ignored |= lchown(path, pw->pw_uid, pw->pw_gid);
	}
	(void)ignored;
}

struct accounts *
cli_open_accounts(const struct config *cfg)
{
	char err[1024], db[PATH_MAX];
	struct stat st;
	bool made_dir = false;

	const char *dsn = config_accounts_dsn(cfg);
	if (dsn != NULL) {
		/* A shared store: made by the first command of any host, as a file would be. */
		struct accounts *a = accounts_open_at(cfg->data_dir, dsn, true, NULL, err, sizeof err);
		if (a == NULL)
			cli_fail("%s", err);
		return a;
	}
	/* INTERFACE.md: a hand-written config works from the first command. */
	if (stat(cfg->data_dir, &st) < 0) {
		if (errno != ENOENT || mkdir_p(cfg->data_dir, 0750) < 0) {
			cli_fail("data dir %s: %s", cfg->data_dir, strerror(errno));
			return NULL;
		}
		made_dir = true;
	}
	int n = snprintf(db, sizeof db, "%s/accounts.db", cfg->data_dir);
	if (n < 0 || n >= (int)sizeof db) {
		cli_fail("data dir %s: path too long", cfg->data_dir);
		return NULL;
	}
	/* Only a missing database gets the schema: an existing one is never rewritten. */
	bool create = access(db, F_OK) < 0 && errno == ENOENT;
	struct accounts *a = accounts_open(cfg->data_dir, create, err, sizeof err);
	if (a == NULL) {
		cli_fail("%s", err);
		return NULL;
	}
	if (made_dir || create)
		give_to_user(cfg, made_dir, create);
	return a;
}

int
cli_print_list(const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("%s\n", l->v[i]);
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail("cannot write to standard output");
	return 0;
}
