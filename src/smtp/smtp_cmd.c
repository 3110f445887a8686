/*
 * smtp_cmd.c - SMTP command lines (RFC 5321 4.1.1) and the arguments of MAIL,
 * RCPT, BDAT and HELO/EHLO, with the ESMTP parameters we advertise: SIZE
 * (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), AUTH (RFC 4954 5).
 * Pure parsers: the session decides what to do with the result.
 */
#include "smtp/smtp_cmd.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	size_t len;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", 4, SMTP_CMD_HELO },
	{ "EHLO", 4, SMTP_CMD_EHLO },
	{ "MAIL", 4, SMTP_CMD_MAIL },
	{ "RCPT", 4, SMTP_CMD_RCPT },
	{ "DATA", 4, SMTP_CMD_DATA },
	{ "BDAT", 4, SMTP_CMD_BDAT },
	{ "RSET", 4, SMTP_CMD_RSET },
	{ "NOOP", 4, SMTP_CMD_NOOP },
	{ "HELP", 4, SMTP_CMD_HELP },
	{ "VRFY", 4, SMTP_CMD_VRFY },
	{ "EXPN", 4, SMTP_CMD_EXPN },
	{ "QUIT", 4, SMTP_CMD_QUIT },
	{ "STARTTLS", 8, SMTP_CMD_STARTTLS },
	{ "AUTH", 4, SMTP_CMD_AUTH },
};

static int
fail(struct smtp_error *err, int code, const char *status, const char *text)
{
	err->code = code;
	err->status = status;
	err->text = text;
	return -1;
}

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* has_prefix - whether s[0..len) starts with p, ASCII case ignored. */
static bool
has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && strncasecmp(s, p, n) == 0;
}

static bool
equals_ci(const char *s, size_t len, const char *p)
{
	return strlen(p) == len && strncasecmp(s, p, len) == 0;
}

int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_error *err)
{
	for (size_t i = 0; i < len; i++) {
		if (is_ctl((unsigned char)line[i]))
			return fail(err, 500, "5.5.2", "Syntax error: control characters in command");
	}
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	cmd->verb = SMTP_CMD_UNKNOWN;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		if (vlen == verbs[i].len && strncasecmp(line, verbs[i].name, vlen) == 0) {
			cmd->verb = verbs[i].verb;
			break;
		}
	}
	/* Extra spaces are tolerated on both sides, as Postfix does. */
	size_t a = vlen;
	while (a < len && line[a] == ' ')
		a++;
	size_t e = len;
	while (e > a && line[e - 1] == ' ')
		e--;
	cmd->args = a < e ? line + a : "";
	cmd->argslen = e - a;
	return 0;
}

/*
 * parse_digits - 1*DIGIT in s[0..len) into *v. Returns 0, 1 when the value does
 * not fit in 64 bits (*v is then UINT64_MAX), or -1 when not all digits.
 */
static int
parse_digits(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;
	int over = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		if (!over && (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(s[i] - '0'), &n)))
			over = 1;
	}
	*v = over ? UINT64_MAX : n;
	return over;
}

static int
hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * xtext_decode - RFC 3461 4: printable ASCII except '+' and '=', with "+XX" for
 * any other octet. Lower-case hex is accepted too. The decoded value must be
 * printable ASCII (it ends up in logs and headers). Returns 0 or -1.
 */
static int
xtext_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			if (len - i < 3)
				return -1;
			int hi = hexval((unsigned char)s[i + 1]);
			int lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (c < 32 || c > 126 || n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * path_has_8bit - whether the path octets hold anything beyond ASCII: legal only
 * after SMTPUTF8 (RFC 6531 3.5 names the reply).
 */
static bool
path_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

/* Which MAIL parameters were seen, to refuse duplicates. */
#define SEEN_SIZE 0x1
#define SEEN_BODY 0x2
#define SEEN_UTF8 0x4
#define SEEN_AUTH 0x8

/* mail_param - one "keyword[=value]" of MAIL FROM into params. */
static int
mail_param(const char *p, size_t plen, struct mail_params *params, unsigned *seen,
    struct smtp_error *err)
{
	const char *eq = memchr(p, '=', plen);
	size_t klen = eq != NULL ? (size_t)(eq - p) : plen;
	const char *val = eq != NULL ? eq + 1 : NULL;
	size_t vlen = eq != NULL ? plen - klen - 1 : 0;
	unsigned bit;

	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (klen == 0)
		return fail(err, 501, "5.5.4", "Malformed parameter");
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)p[i];
		bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c == '-' && i > 0);
		if (!ok)
			return fail(err, 501, "5.5.4", "Malformed parameter");
	}
	if (equals_ci(p, klen, "SIZE"))
		bit = SEEN_SIZE;
	else if (equals_ci(p, klen, "BODY"))
		bit = SEEN_BODY;
	else if (equals_ci(p, klen, "SMTPUTF8"))
		bit = SEEN_UTF8;
	else if (equals_ci(p, klen, "AUTH"))
		bit = SEEN_AUTH;
	else
		return fail(err, 555, "5.5.4", "Unsupported parameter");
	if (*seen & bit)
		return fail(err, 501, "5.5.4", "Duplicate parameter");
	*seen |= bit;
	if (val != NULL && vlen == 0)
		return fail(err, 501, "5.5.4", "Malformed parameter"); /* esmtp-value is 1* */

	switch (bit) {
	case SEEN_SIZE:
		/* Too large for 64 bits saturates: the session answers 552 5.3.4. */
		if (val == NULL || parse_digits(val, vlen, &params->size) < 0)
			return fail(err, 501, "5.5.4", "Malformed SIZE parameter");
		params->has_size = true;
		return 0;
	case SEEN_BODY:
		if (val != NULL && equals_ci(val, vlen, "7BIT"))
			params->body = BODY_7BIT;
		else if (val != NULL && equals_ci(val, vlen, "8BITMIME"))
			params->body = BODY_8BITMIME;
		else if (val != NULL && equals_ci(val, vlen, "BINARYMIME"))
			params->body = BODY_BINARYMIME;
		else
			return fail(err, 501, "5.5.4", "Malformed BODY parameter");
		return 0;
	case SEEN_UTF8:
		if (val != NULL)
			return fail(err, 501, "5.5.4", "SMTPUTF8 takes no value");
		params->smtputf8 = true;
		return 0;
	default: /* SEEN_AUTH */
		if (val == NULL)
			return fail(err, 501, "5.5.4", "Malformed AUTH parameter");
		if (equals_ci(val, vlen, "<>")) {
			params->auth[0] = '\0';
		} else if (xtext_decode(val, vlen, params->auth, sizeof params->auth) < 0) {
			return fail(err, 501, "5.5.4", "Malformed AUTH parameter");
		}
		params->has_auth = true;
		return 0;
	}
}

/* skip_spaces - past spaces from i: clients send some after "FROM:" and between parameters. */
static size_t
skip_spaces(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

int
smtp_parse_mail(const char *args, size_t len, struct mailbox *from, bool *null_sender,
    struct mail_params *params, struct smtp_error *err)
{
	memset(params, 0, sizeof *params);
	if (!has_prefix(args, len, "FROM:"))
		return fail(err, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	size_t i = skip_spaces(args, len, 5);
	size_t used;
	/*
	 * Parameters follow the path, but SMTPUTF8 among them decides whether the
	 * path may hold UTF-8: parse it permissively, check once parameters are known.
	 */
	if (address_parse_path(args + i, len - i, from, true, null_sender, &used,
	    ADDR_UTF8) < 0)
		return fail(err, 501, "5.1.7", "Bad sender address syntax");
	const char *path = args + i;
	i += used;
	if (i < len && args[i] != ' ')
		return fail(err, 501, "5.1.7", "Bad sender address syntax");

	unsigned seen = 0;
	for (;;) {
		i = skip_spaces(args, len, i);
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && args[i] != ' ')
			i++;
		if (mail_param(args + start, i - start, params, &seen, err) < 0)
			return -1;
	}
	if (!params->smtputf8 && path_has_8bit(path, used))
		return fail(err, 553, "5.6.7", "Non-ASCII addresses need SMTPUTF8");
	return 0;
}

int
smtp_parse_rcpt(const char *args, size_t len, struct mailbox *to, bool utf8,
    struct smtp_error *err)
{
	if (!has_prefix(args, len, "TO:"))
		return fail(err, 501, "5.5.4", "Syntax: RCPT TO:<address>");
	size_t i = skip_spaces(args, len, 3);
	size_t used;
	bool is_null;

	/* RFC 5321 4.5.1: every server accepts "<Postmaster>" without a domain. */
	if (has_prefix(args + i, len - i, "<postmaster>")) {
		strcpy(to->local, "postmaster");
		to->domain[0] = '\0';
		used = 12;
	} else if (address_parse_path(args + i, len - i, to, false, &is_null, &used,
	    ADDR_UTF8) < 0) {
		return fail(err, 501, "5.1.3", "Bad recipient address syntax");
	} else if (!utf8 && path_has_8bit(args + i, used)) {
		return fail(err, 553, "5.6.7", "Non-ASCII addresses need SMTPUTF8");
	}
	i += used;
	if (i < len && args[i] != ' ')
		return fail(err, 501, "5.1.3", "Bad recipient address syntax");
	if (skip_spaces(args, len, i) < len)
		return fail(err, 555, "5.5.4", "Unsupported parameter");
	return 0;
}

int
smtp_parse_bdat(const char *args, size_t len, uint64_t *size, bool *last,
    struct smtp_error *err)
{
	size_t i = 0;

	while (i < len && is_digit((unsigned char)args[i]))
		i++;
	if (parse_digits(args, i, size) != 0)
		return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	*last = false;
	size_t j = skip_spaces(args, len, i);
	if (j == len)
		return 0;
	if (j == i)
		return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	if (!has_prefix(args + j, len - j, "LAST") || skip_spaces(args, len, j + 4) != len)
		return fail(err, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	*last = true;
	return 0;
}

int
smtp_parse_helo(const char *args, size_t len, char *out, size_t outlen,
    struct smtp_error *err)
{
	size_t a = skip_spaces(args, len, 0);
	size_t e = len;

	while (e > a && args[e - 1] == ' ')
		e--;
	if (a == e)
		return fail(err, 501, "5.5.4", "Syntax: EHLO hostname");
	/* Printable ASCII only: the name goes into Received: as it is. */
	for (size_t i = a; i < e; i++) {
		unsigned char c = (unsigned char)args[i];
		if (c < 0x20 || c > 0x7e)
			return fail(err, 501, "5.5.4", "Syntax: EHLO hostname");
	}
	if (e - a >= outlen)
		return fail(err, 501, "5.5.4", "Hostname too long");
	memcpy(out, args + a, e - a);
	out[e - a] = '\0';
	return 0;
}
