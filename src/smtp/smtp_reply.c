/* smtp_reply.c - gathering multi-line SMTP replies and reading EHLO keywords. */
#include "smtp/smtp_reply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->len = 0;
	r->text[0] = '\0';
}

int
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines > 0 && code != r->code)
		return -1;
	r->code = code;
	/*
	 * Keep as much text as fits; control octets become spaces. The first line may
	 * be cut short, later lines are kept whole or not at all: a cut EHLO line
	 * would read as another keyword or a smaller SIZE.
	 */
	bool keep = r->lines == 0 || r->len + 1 + len < sizeof r->text;
	if (r->lines > 0 && keep)
		r->text[r->len++] = '\n';
	for (size_t i = 0; keep && i < len && r->len + 1 < sizeof r->text; i++) {
		unsigned char c = (unsigned char)line[i];
		r->text[r->len++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	r->text[r->len] = '\0';
	r->lines++;
	return (len == 3 || line[3] == ' ') ? 1 : 0;
}

void
smtp_reply_oneline(const struct smtp_reply *r, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = r->text;

	if (outlen == 0)
		return;
	/* The code once, then the text of every line after its "ddd-" or "ddd ". */
	for (size_t i = 0; i < 3 && p[i] && o + 1 < outlen; i++)
		out[o++] = p[i];
	for (unsigned l = 0; l < r->lines && *p; l++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *s = n > 4 ? p + 4 : p + n;
		size_t sl = (size_t)(p + n - s);
		if (sl > 0 && o + 1 < outlen)
			out[o++] = ' ';
		for (size_t i = 0; i < sl && o + 1 < outlen; i++)
			out[o++] = s[i];
		p = nl ? nl + 1 : p + n;
	}
	out[o] = '\0';
}

void
ehlo_parse(const struct smtp_reply *r, struct ehlo_caps *caps)
{
	const char *p = r->text;

	memset(caps, 0, sizeof *caps);
	/* The first line is the greeting ("250-host ..."); keywords follow. */
	const char *nl = strchr(p, '\n');
	while (nl != NULL) {
		p = nl + 1;
		nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n < 4)
			continue;
		char kw[128];
		size_t kl = n - 4 < sizeof kw - 1 ? n - 4 : sizeof kw - 1;
		memcpy(kw, p + 4, kl);
		kw[kl] = '\0';
		char *arg = strchr(kw, ' ');
		if (arg)
			*arg++ = '\0';
		if (strcasecmp(kw, "STARTTLS") == 0)
			caps->starttls = true;
		else if (strcasecmp(kw, "PIPELINING") == 0)
			caps->pipelining = true;
		else if (strcasecmp(kw, "8BITMIME") == 0)
			caps->eightbitmime = true;
		else if (strcasecmp(kw, "SMTPUTF8") == 0)
			caps->smtputf8 = true;
		else if (strcasecmp(kw, "CHUNKING") == 0)
			caps->chunking = true;
		else if (strcasecmp(kw, "SIZE") == 0 && arg)
			caps->size = strtoull(arg, NULL, 10);
		else if (strcasecmp(kw, "AUTH") == 0 && arg) {
			char *save = NULL;
			for (char *m = strtok_r(arg, " ", &save); m; m = strtok_r(NULL, " ", &save))
				if (strcasecmp(m, "PLAIN") == 0)
					caps->auth_plain = true;
		}
	}
}
