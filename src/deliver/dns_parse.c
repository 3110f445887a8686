/*
 * dns_parse.c - decoding DNS wire format (names, MX, TXT, SRV, PTR/CNAME, A/AAAA)
 * and ordering MX hosts.
 */
#include "deliver/dns_parse.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

long
dns_name_from_wire(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -1;
	for (;;) {
		if (i >= len)
			return -1;
		size_t l = p[i++];
		if (l == 0)
			break;
		if (l > 63 || i + l > len) /* 0xC0 and up: compression, not expected here */
			return -1;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		if (o + l >= outlen)
			return -1;
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];
			if (c <= 0x20 || c >= 0x7f || c == '.')
				return -1;
			out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		}
		i += l;
	}
	out[o] = '\0';
	return (long)i;
}

int
dns_parse_mx(const uint8_t *rdata, size_t len, struct mx *out)
{
	if (len < 3)
		return -1;
	out->pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
	long used = dns_name_from_wire(rdata + 2, len - 2, out->host, sizeof out->host);
	return used < 0 || (size_t)used + 2 != len ? -1 : 0;
}

static int
cmp_pref(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;
	return (int)x->pref - (int)y->pref;
}

void
mx_list_finish(struct mx_list *l, unsigned (*rnd)(void))
{
	size_t o = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].host[0] != '\0')
			l->v[o++] = l->v[i];
	/* Only root exchanges (one, or a misconfigured several): no mail server at all. */
	l->null_mx = l->n > 0 && o == 0;
	l->n = o;
	if (l->n == 0)
		return;
	/* Shuffle first, then a stable order by preference keeps equal ones shuffled. */
	for (size_t i = l->n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		struct mx t = l->v[i];
		l->v[i] = l->v[j];
		l->v[j] = t;
	}
	/* Insertion sort: stable, and MX lists are short. */
	for (size_t i = 1; i < l->n; i++) {
		struct mx t = l->v[i];
		size_t j = i;
		while (j > 0 && cmp_pref(&l->v[j - 1], &t) > 0) {
			l->v[j] = l->v[j - 1];
			j--;
		}
		l->v[j] = t;
	}
}

long
dns_parse_txt(const uint8_t *rdata, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (len == 0 || outlen == 0)
		return -1;
	while (i < len) {
		size_t l = rdata[i++];
		if (l > len - i || o + l >= outlen)
			return -1;
		if (memchr(rdata + i, '\0', l) != NULL)
			return -1;
		memcpy(out + o, rdata + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return (long)o;
}

int
dns_parse_srv(const uint8_t *rdata, size_t len, struct srv *out)
{
	if (len < 7)
		return -1;
	out->prio = (uint16_t)(rdata[0] << 8 | rdata[1]);
	out->weight = (uint16_t)(rdata[2] << 8 | rdata[3]);
	out->port = (uint16_t)(rdata[4] << 8 | rdata[5]);
	long used = dns_name_from_wire(rdata + 6, len - 6, out->target, sizeof out->target);
	return used < 0 || (size_t)used + 6 != len ? -1 : 0;
}

int
dns_parse_name_rdata(const uint8_t *rdata, size_t len, char *out, size_t outlen)
{
	long used = dns_name_from_wire(rdata, len, out, outlen);
	return used < 0 || (size_t)used != len ? -1 : 0;
}

int
dns_parse_addr(int family, const uint8_t *rdata, size_t len, char *out, size_t outlen)
{
	if ((family == AF_INET && len != 4) || (family == AF_INET6 && len != 16) ||
	    (family != AF_INET && family != AF_INET6))
		return -1;
	return inet_ntop(family, rdata, out, (socklen_t)outlen) == NULL ? -1 : 0;
}
