/*
 * http_form.c - forms, cookies and bearer tokens read from a request. Nothing
 * here trusts its input: lengths are bounded, characters checked, and secrets
 * compared without leaking where they differ.
 */
#include "http/http_form.h"

#include <event2/http.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <strings.h>

int
http_form_parse(const char *body, size_t len, struct evkeyvalq *out)
{
	TAILQ_INIT(out);
	if (len > HTTP_FORM_MAX || memchr(body, '\0', len) != NULL)
		return -1;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, body, len);
	copy[len] = '\0';
	int rc = evhttp_parse_query_str(copy, out);
	free(copy);
	if (rc < 0) {
		evhttp_clear_headers(out);
		TAILQ_INIT(out);
		return -1;
	}
	return 0;
}

const char *
http_form_get(struct evkeyvalq *form, const char *name)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, form, next) {
		if (strcmp(kv->key, name) == 0)
			return kv->value;
	}
	return NULL;
}

static bool
cookie_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-';
}

int
http_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = header;

	if (header == NULL || outlen == 0)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			if (vlen == 0 || vlen >= outlen)
				return 0;
			for (size_t i = 0; i < vlen; i++)
				if (!cookie_char(v[i]))
					return 0;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

static bool
token68_char(char c)
{
	return cookie_char(c) || c == '.' || c == '~' || c == '+' || c == '/';
}

int
http_bearer_get(const char *header, char *out, size_t outlen)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return 0;
	const char *v = header + 7;
	while (*v == ' ')
		v++;
	size_t len = strcspn(v, " \t");
	size_t eq = 0;
	if (len == 0 || len >= outlen || v[len + strspn(v + len, " \t")] != '\0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '=') {
			eq++;
			continue;
		}
		if (eq > 0 || !token68_char(v[i]))
			return 0; /* '=' only as trailing padding */
	}
	memcpy(out, v, len);
	out[len] = '\0';
	return 1;
}

bool
http_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb || la == 0)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}
