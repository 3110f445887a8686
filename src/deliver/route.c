/* route.c - recipients to destinations, and domains merged by their MX hosts. */
#include "deliver/route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"

/* copy_lower - s[0..n) lower-cased into out (cut to fit). */
static void
copy_lower(char *out, size_t outlen, const char *s, size_t n)
{
	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
}

/* is_ip - whether s is an IPv4 or IPv6 address (which has no MX records). */
static bool
is_ip(const char *s)
{
	unsigned char bin[16];
	return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

/* relayhost_route - "host:port" or "[host]:port": by MX only a name without brackets. */
static void
relayhost_route(const char *in, struct route *out)
{
	const char *colon = strrchr(in, ':');
	size_t n = colon ? (size_t)(colon - in) : strlen(in);
	bool bracketed = in[0] == '[';

	out->relayhost = true;
	out->port = colon ? (uint16_t)atoi(colon + 1) : 25;
	if (bracketed && n >= 2) {
		in++;
		n -= 2;
	}
	copy_lower(out->dest, sizeof out->dest, in, n);
	out->kind = bracketed || is_ip(out->dest) ? ROUTE_HOST : ROUTE_MX;
	if (out->kind == ROUTE_HOST)
		snprintf(out->host, sizeof out->host, "%s", out->dest);
}

int
route_rcpt(enum target_kind kind, const char *addr, const struct route_cfg *cfg,
    struct route *out)
{
	memset(out, 0, sizeof *out);
	if (kind == TARGET_LOCAL) {
		out->kind = ROUTE_LOCAL;
		return 0;
	}
	const char *domain = address_domain(addr);
	if (domain == NULL)
		return -1;
	if (cfg->relayhost != NULL) {
		relayhost_route(cfg->relayhost, out);
		return 0;
	}
	copy_lower(out->dest, sizeof out->dest, domain, strlen(domain));
	out->port = cfg->remote_port;
	if (out->dest[0] != '[') {
		out->kind = ROUTE_MX;
		return 0;
	}
	/* An address literal: no DNS, the address inside the brackets. */
	size_t n = strlen(out->dest);
	const char *lit = out->dest + 1;
	size_t litlen = n >= 2 ? n - 2 : 0;
	if (litlen >= 5 && strncasecmp(lit, "ipv6:", 5) == 0) {
		lit += 5;
		litlen -= 5;
	}
	out->kind = ROUTE_HOST;
	snprintf(out->host, sizeof out->host, "%.*s", (int)litlen, lit);
	return 0;
}

bool
route_same(const struct route *a, const struct route *b)
{
	return a->kind == b->kind && a->relayhost == b->relayhost && a->port == b->port &&
	    strcmp(a->dest, b->dest) == 0;
}

bool
route_mergeable(const struct route *r)
{
	return r->kind == ROUTE_MX && !r->relayhost;
}

static int
cmp_mx(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;
	if (x->pref != y->pref)
		return (int)x->pref - (int)y->pref;
	return strcmp(x->host, y->host);
}

bool
mx_same_servers(const struct mx_list *a, const struct mx_list *b)
{
	/* A secure list and an insecure one differ: DANE applies to one only. */
	if (a->n != b->n || a->n == 0 || a->null_mx || b->null_mx || a->secure != b->secure)
		return false;
	struct mx *x = malloc(a->n * sizeof *x), *y = malloc(b->n * sizeof *y);
	bool same = x && y;
	if (same) {
		memcpy(x, a->v, a->n * sizeof *x);
		memcpy(y, b->v, b->n * sizeof *y);
		qsort(x, a->n, sizeof *x, cmp_mx);
		qsort(y, b->n, sizeof *y, cmp_mx);
		for (size_t i = 0; i < a->n && same; i++)
			same = x[i].pref == y[i].pref && strcmp(x[i].host, y[i].host) == 0;
	}
	free(x);
	free(y);
	return same;
}

size_t
mx_merge(const struct mx_list *const *lists, size_t n, size_t *into)
{
	return mx_merge_keyed(lists, NULL, n, into);
}

static bool
same_key(const char *const *keys, size_t i, size_t j)
{
	if (keys == NULL || keys[i] == keys[j])
		return true;
	return keys[i] != NULL && keys[j] != NULL && strcmp(keys[i], keys[j]) == 0;
}

size_t
mx_merge_keyed(const struct mx_list *const *lists, const char *const *keys, size_t n,
    size_t *into)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		into[i] = i;
		for (size_t j = 0; lists[i] != NULL && j < i; j++) {
			if (into[j] == j && lists[j] != NULL && same_key(keys, i, j) &&
			    mx_same_servers(lists[j], lists[i])) {
				into[i] = j;
				break;
			}
		}
		kept += into[i] == i;
	}
	return kept;
}
