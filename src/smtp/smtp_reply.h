/* smtp_reply.h - SMTP replies as a client reads them, and EHLO capabilities (pure). */
#ifndef MAILROOM_SMTP_REPLY_H
#define MAILROOM_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_REPLY_TEXT_MAX 2048

struct smtp_reply {
	int code;        /* 0 until the first line */
	unsigned lines;
	size_t len;
	char text[SMTP_REPLY_TEXT_MAX]; /* the lines, as received, joined by '\n' (truncated) */
};

void smtp_reply_init(struct smtp_reply *r);

/*
 * smtp_reply_feed - one reply line (without CRLF). Returns 1 when it was the last
 * line ("250 ..."), 0 when more lines follow ("250-..."), -1 when malformed (not
 * three digits then ' ', '-' or the end; or a code that differs from the first line's).
 */
int smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len);

/* smtp_reply_oneline - the reply as one line for logs and bounces: "550 5.1.1 text". */
void smtp_reply_oneline(const struct smtp_reply *r, char *out, size_t outlen);

struct ehlo_caps {
	bool starttls, pipelining, eightbitmime, smtputf8, chunking, auth_plain;
	uint64_t size; /* 0: no SIZE, or SIZE without a limit */
};

/* ehlo_parse - capabilities from a complete EHLO reply (keywords case-insensitive). */
void ehlo_parse(const struct smtp_reply *r, struct ehlo_caps *caps);

#endif
