/* dkim_tags.c - tag=value lists (RFC 6376 3.2). */
#include "dkim/dkim_tags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A VALCHAR (%x21-3A / %x3C-7E), or an octet of UTF-8 (RFC 8616 lets addresses have them). */
static bool
is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

int
dkim_tags_parse(const char *text, size_t len, struct dkim_tags *t, char *why, size_t whylen)
{
	size_t i = 0;

	t->n = 0;
	t->text = text;
	while (i < len) {
		size_t start = i, end;
		const char *semi = memchr(text + i, ';', len - i);
		end = semi ? (size_t)(semi - text) : len;
		i = semi ? end + 1 : len;
		while (start < end && is_fws(text[start]))
			start++;
		if (start == end) {
			/* Nothing but FWS: allowed after the last ';' only. */
			if (i >= len)
				break;
			snprintf(why, whylen, "empty tag");
			return -1;
		}
		size_t name = start;
		if (!is_alpha(text[start])) {
			snprintf(why, whylen, "bad tag name");
			return -1;
		}
		while (start < end && (is_alpha(text[start]) || is_digit(text[start]) ||
		    text[start] == '_'))
			start++;
		size_t name_len = start - name;
		while (start < end && is_fws(text[start]))
			start++;
		if (start == end || text[start] != '=') {
			snprintf(why, whylen, "tag %.*s without '='", (int)(name_len > 16 ? 16 : name_len),
			    text + name);
			return -1;
		}
		start++;
		while (start < end && is_fws(text[start]))
			start++;
		size_t val_end = end;
		while (val_end > start && is_fws(text[val_end - 1]))
			val_end--;
		for (size_t k = start; k < val_end; k++) {
			if (!is_valchar((unsigned char)text[k]) && !is_fws(text[k])) {
				snprintf(why, whylen, "bad octet in tag %.*s",
				    (int)(name_len > 16 ? 16 : name_len), text + name);
				return -1;
			}
		}
		for (size_t k = 0; k < t->n; k++) {
			if (t->v[k].name_len == name_len &&
			    memcmp(text + t->v[k].name, text + name, name_len) == 0) {
				snprintf(why, whylen, "duplicate tag %.*s",
				    (int)(name_len > 16 ? 16 : name_len), text + name);
				return -1;
			}
		}
		if (t->n == DKIM_TAGS_MAX) {
			snprintf(why, whylen, "too many tags");
			return -1;
		}
		t->v[t->n++] = (struct dkim_tag){ name, name_len, start, val_end - start };
	}
	return 0;
}

const struct dkim_tag *
dkim_tags_find(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].name_len == n && memcmp(t->text + t->v[i].name, name, n) == 0)
			return &t->v[i];
	return NULL;
}

bool
dkim_tag_is(const struct dkim_tags *t, const struct dkim_tag *tag, const char *s)
{
	return strlen(s) == tag->val_len && memcmp(t->text + tag->val, s, tag->val_len) == 0;
}

int
dkim_tag_copy(const struct dkim_tags *t, const struct dkim_tag *tag, char *out, size_t outlen)
{
	if (tag->val_len >= outlen || memchr(t->text + tag->val, '\0', tag->val_len) != NULL)
		return -1;
	memcpy(out, t->text + tag->val, tag->val_len);
	out[tag->val_len] = '\0';
	return 0;
}

bool
dkim_list_has(const char *p, size_t n, const char *item, bool nocase)
{
	size_t want = strlen(item);

	for (size_t i = 0; i <= n;) {
		const char *colon = memchr(p + i, ':', n - i);
		size_t end = colon ? (size_t)(colon - p) : n;
		size_t a = i, b = end;
		while (a < b && is_fws(p[a]))
			a++;
		while (b > a && is_fws(p[b - 1]))
			b--;
		if (b - a == want && (nocase ? strncasecmp(p + a, item, want) == 0 :
		    memcmp(p + a, item, want) == 0))
			return true;
		if (colon == NULL)
			break;
		i = end + 1;
	}
	return false;
}
