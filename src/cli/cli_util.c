/* cli_util.c - failure and usage messages, password input and other helpers of the CLI. */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct accounts *
cli_open_accounts(const struct config *cfg)
{
	char err[1024];
	struct accounts *a = accounts_open(cfg->data_dir, false, err, sizeof err);

	if (a == NULL)
		cli_fail("%s", err);
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
