/*
 * fuzz_smtp_reply.c - libFuzzer harness for smtp_reply.c. The input is split at
 * LF into reply lines (a CR before the LF stays in the line) and fed in order,
 * starting a new reply after each last line or error. The gathered text must stay
 * bounded, NUL-terminated and free of control octets other than the line
 * separators; the code must be that of the first line; the one-line form must fit
 * any buffer; and ehlo_parse must only report keywords present in the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct smtp_reply *r)
{
	if (r->len >= sizeof r->text || strlen(r->text) != r->len)
		abort();
	for (size_t i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->text[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			abort();
	}
	if (r->code < 200 || r->code > 599)
		abort();
	/* The text starts with the code. */
	if (r->len >= 3 && (r->text[0] - '0') * 100 + (r->text[1] - '0') * 10 +
	    (r->text[2] - '0') != r->code)
		abort();
}

static void
check_oneline(const struct smtp_reply *r)
{
	static const size_t lens[] = { 1, 2, 4, 16, 512 };
	char out[600];

	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		memset(out, 'Z', sizeof out);
		smtp_reply_oneline(r, out, lens[k]);
		size_t n = strnlen(out, lens[k]);
		if (n >= lens[k])
			abort();
		for (size_t i = lens[k]; i < sizeof out; i++)
			if (out[i] != 'Z')
				abort();
		if (memchr(out, '\n', n) != NULL)
			abort();
		/* The code comes first, whole or as much as fits. */
		if (n > 0 && memcmp(out, r->text, n < 3 ? n : 3) != 0)
			abort();
	}
}

/* has_keyword - a line after the first is "ddd-KW..." or "ddd KW...", case-insensitively. */
static bool
has_keyword(const char *text, const char *kw)
{
	size_t kl = strlen(kw);
	const char *p = strchr(text, '\n');
	while (p != NULL) {
		p++;
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= 4 + kl && strncasecmp(p + 4, kw, kl) == 0 && (n == 4 + kl || p[4 + kl] == ' '))
			return true;
		p = nl;
	}
	return false;
}

static void
check_ehlo(const struct smtp_reply *r)
{
	struct ehlo_caps c;
	ehlo_parse(r, &c);
	if ((c.starttls && !has_keyword(r->text, "STARTTLS")) ||
	    (c.pipelining && !has_keyword(r->text, "PIPELINING")) ||
	    (c.eightbitmime && !has_keyword(r->text, "8BITMIME")) ||
	    (c.smtputf8 && !has_keyword(r->text, "SMTPUTF8")) ||
	    (c.chunking && !has_keyword(r->text, "CHUNKING")) ||
	    (c.auth_plain && !has_keyword(r->text, "AUTH")) ||
	    (c.size != 0 && !has_keyword(r->text, "SIZE")))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	size_t i = 0;

	smtp_reply_init(&r);
	/* Bounded by the input: each pass consumes one line. */
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
		/* An exact-size copy, so that an over-read is caught. */
		char *line = malloc(n ? n : 1);
		if (line == NULL)
			return 0;
		memcpy(line, data + i, n);
		int first = r.lines == 0 ? 0 : r.code;
		int rc = smtp_reply_feed(&r, line, n);
		free(line);
		i += n + (nl != NULL);
		if (rc < -1 || rc > 1)
			abort();
		if (rc < 0) {
			/* A refused line changes nothing. */
			if (r.lines > 0 && r.code != first)
				abort();
			if (r.lines > 0)
				check_reply(&r);
			smtp_reply_init(&r);
			continue;
		}
		check_reply(&r);
		if (rc == 1) {
			check_oneline(&r);
			check_ehlo(&r);
			smtp_reply_init(&r);
		}
	}
	if (r.lines > 0) {
		check_oneline(&r);
		check_ehlo(&r);
	}
	return 0;
}
