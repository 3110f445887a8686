/*
 * fuzz_pop3_cmd.c - libFuzzer harness for pop3_cmd.c: every parse stays inside
 * the line, gives a known verb or error, and what it accepted parses again, from
 * its canonical spelling, to the same command.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const char *p, size_t len, const char *line, size_t size)
{
	if (len == 0)
		return;
	if (p < line || p + len > line + size)
		abort();
}

/* canonical - the command as a client would write it; false when it has no such form. */
static bool
canonical(const struct pop3_cmd *c, char *out, size_t outlen)
{
	const char *v = pop3_verb_name(c->verb);
	int n;

	switch (c->verb) {
	case POP3_CMD_USER:
	case POP3_CMD_PASS:
		n = snprintf(out, outlen, "%s %.*s", v, (int)c->arglen, c->arg);
		break;
	case POP3_CMD_TOP:
		n = snprintf(out, outlen, "%s %" PRIu64 " %" PRIu64, v, c->msg, c->lines);
		break;
	case POP3_CMD_AUTH:
		n = snprintf(out, outlen, "%s%s%.*s%s%.*s", v, c->arglen ? " " : "", (int)c->arglen,
		    c->arg, c->has_arg2 ? " " : "", (int)c->arg2len, c->arg2);
		break;
	default:
		if (c->has_msg)
			n = snprintf(out, outlen, "%s %" PRIu64, v, c->msg);
		else
			n = snprintf(out, outlen, "%s", v);
		break;
	}
	return n > 0 && (size_t)n < outlen;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct pop3_cmd cmd, again;
	enum pop3_parse_error err, err2;
	char text[8192];

	if (pop3_cmd_parse(line, size, &cmd, &err) < 0) {
		if (err == POP3_ERR_NONE || err > POP3_ERR_CONTROL)
			abort();
		return 0;
	}
	if (err != POP3_ERR_NONE || cmd.verb >= POP3_CMD_COUNT || cmd.arg == NULL ||
	    cmd.arg2 == NULL)
		abort();
	inside(cmd.arg, cmd.arglen, line, size);
	inside(cmd.arg2, cmd.arg2len, line, size);
	if (cmd.verb == POP3_CMD_USER && (cmd.arglen == 0 || memchr(cmd.arg, ' ', cmd.arglen)))
		abort();
	if (cmd.verb == POP3_CMD_PASS && cmd.arglen == 0)
		abort();
	if (!canonical(&cmd, text, sizeof text))
		return 0;
	if (pop3_cmd_parse(text, strlen(text), &again, &err2) < 0)
		abort();
	if (again.verb != cmd.verb || again.has_msg != cmd.has_msg || again.msg != cmd.msg ||
	    again.lines != cmd.lines || again.arglen != cmd.arglen ||
	    again.arg2len != cmd.arg2len || again.has_arg2 != cmd.has_arg2 ||
	    memcmp(again.arg, cmd.arg, cmd.arglen) != 0 ||
	    memcmp(again.arg2, cmd.arg2, cmd.arg2len) != 0)
		abort();
	return 0;
}
