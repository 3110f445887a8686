/*
 * cli_vacation.c - `mailroom user vacation ADDRESS --subject TEXT [--until
 * YYYY-MM-DD]` (the body on standard input), `user vacation ADDRESS --off`, and,
 * without options, the vacation as it is set (accounts_vacation.h). Dates are
 * UTC days: --until names the last day that gets replies.
 */
#include "cli/cli.h"
#include "cli/cli_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts_vacation.h"

#define VACATION_USAGE "user vacation ADDRESS --subject TEXT [--until YYYY-MM-DD] < BODY |" \
	" user vacation ADDRESS --off | user vacation ADDRESS"
/* read_body - standard input, at most VACATION_BODY_MAX octets, into a string. NULL after saying why. */
static char *
read_body(size_t *len)
{
	char *b = malloc(VACATION_BODY_MAX + 2);
	size_t n = 0, got;

	if (b == NULL) {
		cli_fail("out of memory");
		return NULL;
	}
	while (n <= VACATION_BODY_MAX &&
	    (got = fread(b + n, 1, VACATION_BODY_MAX + 1 - n, stdin)) > 0)
		n += got;
	if (ferror(stdin)) {
		free(b);
		cli_fail("cannot read the vacation body from standard input");
		return NULL;
	}
	if (n > VACATION_BODY_MAX) {
		free(b);
		cli_fail("the vacation body is longer than %d octets", VACATION_BODY_MAX);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static void
print_day(const char *name, time_t end)
{
	char day[16];

	vacation_day_format(end, day, sizeof day);
	printf("%s: %s\n", name, day);
}

static int
show(struct accounts *a, const char *address)
{
	struct vacation_info *v = malloc(sizeof *v);
	char err[1024], when[64];
	struct tm tm;

	if (v == NULL) {
		accounts_close(a);
		return cli_fail("out of memory");
	}
	int r = accounts_vacation_get(a, address, v, err, sizeof err);
	accounts_close(a);
	if (r < 0) {
		free(v);
		return cli_fail("%s", err);
	}
	printf("user: %s\n", v->address);
	if (!v->found) {
		printf("vacation: off\n");
	} else {
		printf("vacation: %s\n", vacation_active(v, time(NULL)) ? "on" : "ended");
		printf("subject: %s\n", v->subject);
		if (v->until == 0)
			printf("until: none\n");
		else
			print_day("until", v->until);
		gmtime_r(&v->set_at, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("set: %s\n\n%s", when, v->body);
		size_t n = strlen(v->body);
		if (n > 0 && v->body[n - 1] != '\n')
			putchar('\n');
	}
	free(v);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
cli_user_vacation(struct config *cfg, int argc, char **argv)
{
	const char *address = NULL, *subject = NULL, *until_s = NULL;
	bool off = false;
	time_t until = 0;
	char err[1024];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--subject") == 0 || strcmp(argv[i], "--until") == 0) {
			const char **dst = argv[i][2] == 's' ? &subject : &until_s;
			if (++i == argc || *dst != NULL)
				return cli_usage_error(VACATION_USAGE);
			*dst = argv[i];
		} else if (strcmp(argv[i], "--off") == 0 && !off) {
			off = true;
		} else if (argv[i][0] == '-' || address != NULL) {
			return cli_usage_error(VACATION_USAGE);
		} else {
			address = argv[i];
		}
	}
	if (address == NULL || (off && (subject || until_s)) || (until_s && !subject))
		return cli_usage_error(VACATION_USAGE);
	if (until_s != NULL) {
		if (!vacation_day_parse(until_s, &until))
			return cli_fail("bad date for --until: '%s' (YYYY-MM-DD)", until_s);
		if (until <= time(NULL))
			return cli_fail("--until %s is in the past", until_s);
	}
	char *body = NULL;
	size_t blen = 0;
	if (subject != NULL) {
		/* The text is checked before the body is waited for, and again when stored. */
		if (vacation_text_check(subject, "x", 1, err, sizeof err) < 0)
			return cli_fail("%s", err);
		if ((body = read_body(&blen)) == NULL)
			return 1;
		if (vacation_text_check(subject, body, blen, err, sizeof err) < 0) {
			free(body);
			return cli_fail("%s", err);
		}
	}
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL) {
		free(body);
		return 1;
	}
	if (!off && subject == NULL)
		return show(a, address);
	int r = off ? accounts_vacation_off(a, address, err, sizeof err) :
	    accounts_vacation_set(a, address, subject, body, until, err, sizeof err);
	free(body);
	accounts_close(a);
	return r < 0 ? cli_fail("%s", err) : 0;
}
