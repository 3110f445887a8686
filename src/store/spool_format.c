/*
 * spool_format.c - the envelope header and the state lines: "key value" text, values
 * escaped (%XX for octets <= 0x20, '%' and 0x7f; "-" for empty), parsed without
 * reading past the end of what is given.
 */
#include "store/spool_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/spool.h"

#define SPOOL_MAGIC "mailroom-queue 1\n"

/* put_escaped - value with octets <= 0x20, '%' and 0x7f as %XX; "-" stands for empty/NULL. */
static int
put_escaped(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (s == NULL || *s == '\0')
		return buf_putc(out, '-');
	for (const char *c0 = s; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool lone_dash = c == '-' && s == c0 && s[1] == '\0';
		if (c <= 0x20 || c == '%' || c == 0x7f || lone_dash) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (buf_append(out, e, 3) < 0)
				return -1;
		} else if (buf_putc(out, (char)c) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* unescape - the inverse of put_escaped, into a new string. "-" is "". */
static char *
unescape(const char *s, size_t len)
{
	if (len == 1 && s[0] == '-')
		return strdup("");
	char *out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
		int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static const char *const body_names[] = { "7bit", "8bitmime", "binarymime" };

int
spool_format_header(const struct envelope *env, struct buf *out)
{
	int rc = 0;

	rc |= buf_printf(out, SPOOL_MAGIC "id %s\narrival %lld\nsender ", env->id,
	    (long long)env->arrival);
	rc |= put_escaped(out, env->sender);
	rc |= buf_printf(out, "\nclient ");
	rc |= put_escaped(out, env->client);
	rc |= buf_printf(out, "\nhelo ");
	rc |= put_escaped(out, env->helo);
	if (env->auth) {
		rc |= buf_printf(out, "\nauth ");
		rc |= put_escaped(out, env->auth);
	}
	rc |= buf_printf(out, "\nbody %s\nsmtputf8 %d\nbounce %d\n", body_names[env->body],
	    env->smtputf8, env->is_bounce);
	if (env->junk)
		rc |= buf_printf(out, "junk 1\n");
	if (env->auto_reply)
		rc |= buf_printf(out, "autoreply 1\n");
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		rc |= buf_printf(out, "rcpt %c ", r->kind == TARGET_LOCAL ? 'L' : 'R');
		rc |= put_escaped(out, r->addr);
		rc |= buf_putc(out, ' ');
		rc |= put_escaped(out, r->orig);
		rc |= buf_putc(out, '\n');
	}
	rc |= buf_printf(out, "size %0*" PRIu64 "\n\n", SPOOL_SIZE_DIGITS, env->body_size);
	return rc ? -1 : 0;
}

/* next_field - the next space-separated field of [*p, end). */
static bool
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	while (*p < end && **p == ' ')
		(*p)++;
	if (*p >= end)
		return false;
	*f = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*flen = (size_t)(*p - *f);
	return true;
}

static int
parse_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

int
spool_parse_header(const char *data, size_t len, bool check_len, struct envelope *env,
    char *err, size_t errlen)
{
	size_t magic = strlen(SPOOL_MAGIC);
	bool have_size = false;

	memset(env, 0, sizeof *env);
	if (len < magic || memcmp(data, SPOOL_MAGIC, magic) != 0)
		return parse_fail(err, errlen, "not a queue file");
	const char *p = data + magic, *end = data + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			goto bad;
		if (nl == p) { /* the blank line */
			p = nl + 1;
			break;
		}
		const char *q = p, *key, *v1, *v2;
		size_t klen, l1, l2;
		if (!next_field(&q, nl, &key, &klen) || !next_field(&q, nl, &v1, &l1))
			goto bad;
		char **dst = NULL;
		if (klen == 2 && memcmp(key, "id", 2) == 0) {
			if (l1 != QUEUE_ID_LEN)
				goto bad;
			memcpy(env->id, v1, QUEUE_ID_LEN);
			env->id[QUEUE_ID_LEN] = '\0';
			if (!spool_id_valid(env->id))
				goto bad;
		} else if (klen == 7 && memcmp(key, "arrival", 7) == 0) {
			env->arrival = (time_t)strtoll(v1, NULL, 10);
		} else if (klen == 6 && memcmp(key, "sender", 6) == 0) {
			dst = &env->sender;
		} else if (klen == 6 && memcmp(key, "client", 6) == 0) {
			dst = &env->client;
		} else if (klen == 4 && memcmp(key, "helo", 4) == 0) {
			dst = &env->helo;
		} else if (klen == 4 && memcmp(key, "auth", 4) == 0) {
			dst = &env->auth;
		} else if (klen == 4 && memcmp(key, "body", 4) == 0) {
			size_t b;
			for (b = 0; b < 3; b++)
				if (strlen(body_names[b]) == l1 && memcmp(v1, body_names[b], l1) == 0)
					break;
			if (b == 3)
				goto bad;
			env->body = (enum body_type)b;
		} else if (klen == 8 && memcmp(key, "smtputf8", 8) == 0) {
			env->smtputf8 = v1[0] == '1';
		} else if (klen == 6 && memcmp(key, "bounce", 6) == 0) {
			env->is_bounce = v1[0] == '1';
		} else if (klen == 4 && memcmp(key, "junk", 4) == 0) {
			env->junk = v1[0] == '1';
		} else if (klen == 9 && memcmp(key, "autoreply", 9) == 0) {
			env->auto_reply = v1[0] == '1';
		} else if (klen == 4 && memcmp(key, "rcpt", 4) == 0) {
			if (l1 != 1 || (v1[0] != 'L' && v1[0] != 'R') ||
			    !next_field(&q, nl, &v2, &l2))
				goto bad;
			const char *v3;
			size_t l3;
			if (!next_field(&q, nl, &v3, &l3))
				goto bad;
			char *a = unescape(v2, l2), *o = unescape(v3, l3);
			int rc = (a && o) ? envelope_add_rcpt(env,
			    v1[0] == 'L' ? TARGET_LOCAL : TARGET_REMOTE, a, o) : -1;
			free(a);
			free(o);
			if (rc < 0)
				goto bad;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			char num[SPOOL_SIZE_DIGITS + 1];
			if (l1 != SPOOL_SIZE_DIGITS)
				goto bad;
			memcpy(num, v1, l1);
			num[l1] = '\0';
			env->body_size = strtoull(num, NULL, 10);
			have_size = true;
		} /* unknown keys: written by a newer version; ignored */
		if (dst != NULL) {
			free(*dst);
			if ((*dst = unescape(v1, l1)) == NULL)
				goto bad;
		}
		p = nl + 1;
	}
	if (!have_size || env->id[0] == '\0' || env->sender == NULL || env->nrcpts == 0)
		goto bad;
	env->body_offset = (uint64_t)(p - data);
	if (check_len && env->body_offset + env->body_size != len) {
		envelope_free(env);
		return parse_fail(err, errlen, "incomplete queue file");
	}
	return 0;
bad:
	envelope_free(env);
	return parse_fail(err, errlen, "malformed queue file header");
}

int
spool_format_state(const struct envelope *env, struct buf *out)
{
	int rc = 0;

	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		char st = r->status == RCPT_DELIVERED ? 'D' : r->status != RCPT_BOUNCED ? 'P' :
		    r->dsn_due ? 'N' : 'B';
		rc |= buf_printf(out, "r %zu %c %u %lld ", i, st, r->attempts, (long long)r->next_try);
		rc |= put_escaped(out, r->error);
		rc |= buf_putc(out, '\n');
	}
	if (env->held) {
		rc |= buf_printf(out, "hold %lld ", (long long)env->held_since);
		rc |= put_escaped(out, env->hold_reason);
		rc |= buf_putc(out, '\n');
	}
	if (env->released != 0)
		rc |= buf_printf(out, "release %lld\n", (long long)env->released);
	if (env->limits_done)
		rc |= buf_printf(out, "limits 1\n");
	return rc ? -1 : 0;
}

/* field_num - a decimal field (an optional '-' when negative_ok); false when it is not one. */
static bool
field_num(const char *f, size_t len, bool negative_ok, long long *out)
{
	char num[24];

	if (len == 0 || len >= sizeof num)
		return false;
	memcpy(num, f, len);
	num[len] = '\0';
	char *end;
	*out = strtoll(num, &end, 10);
	return *end == '\0' && (negative_ok || num[0] != '-');
}

/* field_is - whether field f (len octets) is the word w. */
static bool
field_is(const char *f, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(f, w, len) == 0;
}

/*
 * apply_message_line - "hold <since> <reason>", "release <time>" or "limits 1":
 * the message's own lines (docs/spool.md "Holds"); false when it is none of them.
 */
static bool
apply_message_line(const char *p, const char *nl, struct envelope *env)
{
	const char *f[3];
	size_t fl[3];
	long long t;

	if (!next_field(&p, nl, &f[0], &fl[0]) || !next_field(&p, nl, &f[1], &fl[1]) ||
	    !field_num(f[1], fl[1], false, &t))
		return false;
	if (field_is(f[0], fl[0], "hold")) {
		char *reason = NULL;
		if (!next_field(&p, nl, &f[2], &fl[2]) || (reason = unescape(f[2], fl[2])) == NULL)
			return false;
		free(env->hold_reason);
		env->hold_reason = reason;
		env->held = true;
		env->held_since = (time_t)t;
		return true;
	}
	if (field_is(f[0], fl[0], "release")) {
		env->released = (time_t)t;
		return true;
	}
	if (field_is(f[0], fl[0], "limits")) {
		env->limits_done = t != 0;
		return true;
	}
	return false;
}

/* apply_state_line - one "r idx st attempts next error" line; false when malformed. */
static bool
apply_state_line(const char *p, const char *nl, struct envelope *env)
{
	const char *f[6];
	size_t fl[6];
	long long idx, attempts, next;

	if (nl - p < 2 || p[0] != 'r' || p[1] != ' ')
		return apply_message_line(p, nl, env);
	for (int i = 0; i < 6; i++)
		if (!next_field(&p, nl, &f[i], &fl[i]))
			return false;
	if (fl[0] != 1 || f[0][0] != 'r' || fl[2] != 1 || !field_num(f[1], fl[1], false, &idx) ||
	    !field_num(f[3], fl[3], false, &attempts) || !field_num(f[4], fl[4], true, &next) ||
	    (uint64_t)idx >= env->nrcpts || attempts > UINT32_MAX)
		return false;
	char st = f[2][0];
	if (st != 'D' && st != 'B' && st != 'N' && st != 'P')
		return false;
	char *error = NULL;
	if (!(fl[5] == 1 && f[5][0] == '-') && (error = unescape(f[5], fl[5])) == NULL)
		return false;
	struct spool_rcpt *r = &env->rcpts[idx];
	r->status = st == 'D' ? RCPT_DELIVERED : st == 'B' || st == 'N' ? RCPT_BOUNCED :
	    RCPT_PENDING;
	r->dsn_due = st == 'N';
	r->attempts = (unsigned)attempts;
	r->next_try = (time_t)next;
	free(r->error);
	r->error = error;
	return true;
}

void
spool_parse_state(const char *data, size_t len, struct envelope *env)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		apply_state_line(p, nl, env);
		p = nl + (nl < end);
	}
}
