/*
 * dane.c - TLSA records decoded and sorted for SMTP, and the DANE policy of an MX
 * host from its lookups (RFC 7672 2.2, 3.1; RFC 7671).
 */
#include "deliver/dane.h"

#include <stdlib.h>
#include <string.h>

int
dane_tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *out)
{
	if (rdata == NULL || len < 4)
		return -1;
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->data = rdata + 3;
	out->len = len - 3;
	return 0;
}

bool
dane_tlsa_usable(const struct tlsa *t)
{
	if (t->usage != TLSA_DANE_TA && t->usage != TLSA_DANE_EE)
		return false;
	if (t->selector > 1)
		return false;
	switch (t->mtype) {
	case 0:
		return t->len > 0;
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return false;
	}
}

void
dane_tlsa_free(struct tlsa_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free((void *)set->v[i].data);
	memset(set, 0, sizeof *set);
}

int
dane_tlsa_select(const uint8_t *const *rdata, const int *len, size_t n, struct tlsa_set *set)
{
	memset(set, 0, sizeof *set);
	for (size_t i = 0; i < n; i++) {
		struct tlsa t;
		if (len[i] < 0 || dane_tlsa_parse(rdata[i], (size_t)len[i], &t) < 0 ||
		    !dane_tlsa_usable(&t)) {
			set->unusable++;
			continue;
		}
		if (set->n == DANE_TLSA_MAX)
			continue;
		uint8_t *copy = malloc(t.len);
		if (copy == NULL) {
			dane_tlsa_free(set);
			return -1;
		}
		memcpy(copy, t.data, t.len);
		t.data = copy;
		set->v[set->n++] = t;
	}
	return 0;
}

bool
dane_host_applies(bool mx_secure, bool addrs_secure)
{
	return mx_secure && addrs_secure;
}

enum dane_policy
dane_policy_of(enum dns_status st, bool secure, const struct tlsa_set *set)
{
	switch (st) {
	case DNS_OK:
		if (!secure)
			return DANE_NONE;
		return set->n > 0 ? DANE_VERIFY : DANE_ENCRYPT;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		return DANE_NONE;
	case DNS_TEMPFAIL:
		break;
	}
	return DANE_UNREACHABLE;
}

const char *
dane_policy_name(enum dane_policy p)
{
	static const char *const names[] = { "none", "encrypt", "verify", "unreachable" };
	return (size_t)p < sizeof names / sizeof names[0] ? names[p] : "?";
}
