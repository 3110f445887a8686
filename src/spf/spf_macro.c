/* spf_macro.c - expanding SPF macro strings and checking domain-specs (RFC 7208 7). */
#include "spf/spf_macro.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PARTS_MAX 128 /* a value split at delimiters: more parts are kept whole */

struct out {
	char *p;
	size_t n, cap;
};

static void
put(struct out *o, const char *s, size_t len)
{
	for (size_t i = 0; i < len && o->cap > 0; i++)
		if (o->n + 1 < o->cap)
			o->p[o->n++] = s[i];
	if (o->cap > 0)
		o->p[o->n] = '\0';
}

static bool
unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* put_escaped - RFC 3986 percent-encoding with upper-case hex, as 7.3 asks. */
static void
put_escaped(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c)) {
			put(o, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			put(o, e, 3);
		}
	}
}

/* letter_value - what a macro letter stands for, or NULL when it is not allowed here. */
static const char *
letter_value(char letter, const struct spf_macro_env *env, bool exp_text, char *buf,
    size_t buflen)
{
	switch (letter) {
	case 's': return env->sender;
	case 'l': return env->local;
	case 'o': return env->sender_domain;
	case 'd': return env->domain;
	case 'h': return env->helo;
	case 'p': return env->validated ? env->validated : "unknown";
	case 'v': return env->ip->family == AF_INET ? "in-addr" : "ip6";
	case 'i':
		spf_ip_dotted(env->ip, buf, buflen);
		return buf;
	case 'c':
		if (!exp_text)
			return NULL;
		spf_ip_text(env->ip, buf, buflen);
		return buf;
	case 'r':
		if (!exp_text)
			return NULL;
		return env->receiver ? env->receiver : "unknown";
	case 't':
		if (!exp_text)
			return NULL;
		snprintf(buf, buflen, "%lld", env->now);
		return buf;
	}
	return NULL;
}

/*
 * transform - split value at the delimiters, reverse when asked, keep the
 * rightmost keep parts (0: all), join with dots (RFC 7208 7.3).
 */
static void
transform(struct out *o, const char *value, const char *delims, unsigned keep, bool reverse,
    bool escape)
{
	const char *start[PARTS_MAX];
	size_t len[PARTS_MAX], n = 0;
	const char *p = value;

	for (;;) {
		size_t l = n + 1 < PARTS_MAX ? strcspn(p, delims) : strlen(p);
		start[n] = p;
		len[n++] = l;
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	if (reverse) {
		for (size_t i = 0; i < n / 2; i++) {
			const char *ts = start[i];
			size_t tl = len[i];
			start[i] = start[n - 1 - i];
			len[i] = len[n - 1 - i];
			start[n - 1 - i] = ts;
			len[n - 1 - i] = tl;
		}
	}
	size_t first = keep != 0 && keep < n ? n - keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			put(o, ".", 1);
		if (escape)
			put_escaped(o, start[i], len[i]);
		else
			put(o, start[i], len[i]);
	}
}

/*
 * expand_one - the macro-expand at in[*i] (just after "%{"); *i ends after "}".
 * Returns 0 or -1.
 */
static int
expand_one(const char *in, size_t len, size_t *i, const struct spf_macro_env *env,
    bool exp_text, struct out *o)
{
	char buf[80], delims[8] = "";
	size_t nd = 0;
	unsigned keep = 0;
	bool reverse = false, digits = false;

	if (*i >= len)
		return -1;
	char c = in[(*i)++];
	char letter = (char)tolower((unsigned char)c);
	if (strchr("slodiphcrtv", letter) == NULL || letter == '\0')
		return -1;
	if (!exp_text && strchr("crt", letter) != NULL)
		return -1;
	while (*i < len && isdigit((unsigned char)in[*i])) {
		digits = true;
		if (keep < 1000)
			keep = keep * 10 + (unsigned)(in[*i] - '0');
		(*i)++;
	}
	if (digits && keep == 0)
		return -1;
	if (*i < len && (in[*i] == 'r' || in[*i] == 'R')) {
		reverse = true;
		(*i)++;
	}
	while (*i < len && strchr(".-+,/_=", in[*i]) != NULL && in[*i] != '\0') {
		if (nd + 1 < sizeof delims && strchr(delims, in[*i]) == NULL)
			delims[nd++] = in[*i];
		(*i)++;
	}
	delims[nd] = '\0';
	if (*i >= len || in[*i] != '}')
		return -1;
	(*i)++;
	if (env == NULL)
		return 0;
	const char *value = letter_value(letter, env, exp_text, buf, sizeof buf);
	if (value == NULL)
		return -1;
	transform(o, value, nd ? delims : ".", keep, reverse, isupper((unsigned char)c) != 0);
	return 0;
}

int
spf_macro_expand(const char *in, size_t len, const struct spf_macro_env *env, bool exp_text,
    char *out, size_t outlen)
{
	struct out o = { out, 0, out ? outlen : 0 };

	put(&o, "", 0);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)in[i];
		if (c != '%') {
			/* macro-literal: visible ASCII but '%'; explanations also have spaces */
			if (!((c >= 0x21 && c <= 0x7e) || (exp_text && c == ' ')))
				return -1;
			put(&o, (const char *)&c, 1);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		char next = in[i + 1];
		i += 2;
		if (next == '%')
			put(&o, "%", 1);
		else if (next == '_')
			put(&o, " ", 1);
		else if (next == '-')
			put(&o, "%20", 3);
		else if (next != '{' || expand_one(in, len, &i, env, exp_text, &o) < 0)
			return -1;
	}
	return 0;
}

/* toplabel - RFC 7208 7.1: alphanumerics and inner hyphens, not all digits. */
static bool
toplabel(const char *s, size_t len)
{
	bool alpha = false, hyphen = false;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '-')
			hyphen = true;
		else if (isalpha(c))
			alpha = true;
		else if (!isdigit(c))
			return false;
	}
	return alpha || hyphen;
}

/* ends_in_macro - the text ends with a whole macro-expand ("%{...}", "%%", "%_", "%-"). */
static bool
ends_in_macro(const char *in, size_t len)
{
	bool last_was_macro = false;

	for (size_t i = 0; i < len;) {
		if (in[i] != '%') {
			last_was_macro = false;
			i++;
			continue;
		}
		if (i + 1 < len && in[i + 1] == '{') {
			const char *close = memchr(in + i, '}', len - i);
			if (close == NULL)
				return false;
			i = (size_t)(close - in) + 1;
		} else {
			i += 2;
		}
		last_was_macro = true;
	}
	return last_was_macro;
}

bool
spf_domain_spec_ok(const char *in, size_t len)
{
	if (len == 0 || spf_macro_expand(in, len, NULL, false, NULL, 0) < 0)
		return false;
	if (ends_in_macro(in, len))
		return true;
	size_t n = len;
	if (in[n - 1] == '.')
		n--;
	size_t dot = n;
	while (dot > 0 && in[dot - 1] != '.')
		dot--;
	if (dot == 0)
		return false; /* no "." toplabel */
	return toplabel(in + dot, n - dot);
}

void
spf_name_fit(char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	char *p = name;
	while (n > 253) {
		char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (p != name)
		memmove(name, p, n + 1);
}

bool
spf_name_ok(const char *name, bool multi_label)
{
	size_t n = strlen(name), labels = 0, label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			labels++;
			label = 0;
		} else {
			label++;
		}
	}
	return !multi_label || labels > 1;
}
