/*
 * pop3_cmd.c - the POP3 command parser: keyword, then arguments checked against
 * what each command takes, so the session only sees well-formed commands.
 */
#include "pop3/pop3_cmd.h"

#include <string.h>
#include <strings.h>

enum arg_shape {
	ARGS_NONE,      /* STAT, NOOP, ... */
	ARGS_WORD,      /* USER name */
	ARGS_REST,      /* PASS: everything after the keyword's space */
	ARGS_NUM,       /* RETR n, DELE n */
	ARGS_NUM_OPT,   /* LIST [n], UIDL [n] */
	ARGS_NUM_NUM,   /* TOP n lines */
	ARGS_AUTH,      /* AUTH [mechanism [initial-response]] */
};

static const struct {
	const char *name;
	enum arg_shape shape;
} verbs[POP3_CMD_COUNT] = {
	[POP3_CMD_USER] = { "USER", ARGS_WORD },
	[POP3_CMD_PASS] = { "PASS", ARGS_REST },
	[POP3_CMD_STAT] = { "STAT", ARGS_NONE },
	[POP3_CMD_LIST] = { "LIST", ARGS_NUM_OPT },
	[POP3_CMD_RETR] = { "RETR", ARGS_NUM },
	[POP3_CMD_DELE] = { "DELE", ARGS_NUM },
	[POP3_CMD_NOOP] = { "NOOP", ARGS_NONE },
	[POP3_CMD_RSET] = { "RSET", ARGS_NONE },
	[POP3_CMD_QUIT] = { "QUIT", ARGS_NONE },
	[POP3_CMD_TOP] = { "TOP", ARGS_NUM_NUM },
	[POP3_CMD_UIDL] = { "UIDL", ARGS_NUM_OPT },
	[POP3_CMD_CAPA] = { "CAPA", ARGS_NONE },
	[POP3_CMD_AUTH] = { "AUTH", ARGS_AUTH },
	[POP3_CMD_STLS] = { "STLS", ARGS_NONE },
};

const char *
pop3_verb_name(enum pop3_verb v)
{
	return (unsigned)v < POP3_CMD_COUNT ? verbs[v].name : "?";
}

/* A word: the octets up to the next space. */
struct word {
	const char *p;
	size_t len;
};

/* split - up to max words of s[0..len) into w; returns how many, or max + 1 when more. */
static size_t
split(const char *s, size_t len, struct word *w, size_t max)
{
	size_t n = 0, i = 0;

	for (;;) {
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			return n;
		if (n == max)
			return max + 1;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		w[n].p = s + start;
		w[n].len = i - start;
		n++;
	}
}

/* parse_num - decimal digits only, saturating at UINT64_MAX. */
static bool
parse_num(const struct word *w, uint64_t *out)
{
	uint64_t v = 0;

	if (w->len == 0)
		return false;
	for (size_t i = 0; i < w->len; i++) {
		unsigned char c = (unsigned char)w->p[i];
		if (c < '0' || c > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v))
			v = UINT64_MAX;
	}
	*out = v;
	return true;
}

static int
fail(enum pop3_parse_error *err, enum pop3_parse_error e)
{
	*err = e;
	return -1;
}

int
pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd,
    enum pop3_parse_error *err)
{
	struct word w[3];

	memset(cmd, 0, sizeof *cmd);
	cmd->arg = cmd->arg2 = "";
	*err = POP3_ERR_NONE;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			return fail(err, POP3_ERR_CONTROL);
	}
	size_t klen = 0;
	while (klen < len && line[klen] != ' ')
		klen++;
	if (klen == 0)
		return fail(err, len == 0 ? POP3_ERR_EMPTY : POP3_ERR_UNKNOWN);
	size_t v = 0;
	while (v < POP3_CMD_COUNT &&
	    !(strlen(verbs[v].name) == klen && strncasecmp(verbs[v].name, line, klen) == 0))
		v++;
	if (v == POP3_CMD_COUNT)
		return fail(err, POP3_ERR_UNKNOWN);
	cmd->verb = (enum pop3_verb)v;

	const char *rest = line + klen;
	size_t restlen = len - klen;
	if (verbs[v].shape == ARGS_REST) {
		/* The password is everything after one space, even spaces of its own. */
		if (restlen < 2)
			return fail(err, POP3_ERR_SYNTAX);
		cmd->arg = rest + 1;
		cmd->arglen = restlen - 1;
		return 0;
	}
	size_t n = split(rest, restlen, w, 3);
	switch (verbs[v].shape) {
	case ARGS_NONE:
		if (n != 0)
			return fail(err, POP3_ERR_SYNTAX);
		break;
	case ARGS_WORD:
		if (n != 1)
			return fail(err, POP3_ERR_SYNTAX);
		cmd->arg = w[0].p;
		cmd->arglen = w[0].len;
		break;
	case ARGS_NUM:
		if (n != 1 || !parse_num(&w[0], &cmd->msg))
			return fail(err, POP3_ERR_SYNTAX);
		cmd->has_msg = true;
		break;
	case ARGS_NUM_OPT:
		if (n > 1 || (n == 1 && !parse_num(&w[0], &cmd->msg)))
			return fail(err, POP3_ERR_SYNTAX);
		cmd->has_msg = n == 1;
		break;
	case ARGS_NUM_NUM:
		if (n != 2 || !parse_num(&w[0], &cmd->msg) || !parse_num(&w[1], &cmd->lines))
			return fail(err, POP3_ERR_SYNTAX);
		cmd->has_msg = true;
		break;
	case ARGS_AUTH:
		if (n > 2)
			return fail(err, POP3_ERR_SYNTAX);
		if (n >= 1) {
			cmd->arg = w[0].p;
			cmd->arglen = w[0].len;
		}
		if (n == 2) {
			cmd->arg2 = w[1].p;
			cmd->arg2len = w[1].len;
			cmd->has_arg2 = true;
		}
		break;
	case ARGS_REST:
		break;
	}
	return 0;
}
