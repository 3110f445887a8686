/* dns_sync.c - one synchronous libunbound question, its rdata decoded by dns_parse. */
#include "cli/dns_sync.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "cli/dns_records.h"
#include "deliver/dns_parse.h"

#define RCODE_NXDOMAIN 3
#define TXT_MAX 70000 /* a TXT rdata cannot be larger than 65535 octets */

/* rdata_text - one record as text, or -1 when it does not parse. */
static int
rdata_text(uint16_t type, const uint8_t *p, size_t len, char *out, size_t outlen)
{
	char name[DNS_NAME_MAX];

	switch (type) {
	case RR_TYPE_TXT:
		return dns_parse_txt(p, len, out, outlen) < 0 ? -1 : 0;
	case RR_TYPE_MX: {
		struct mx mx;
		if (dns_parse_mx(p, len, &mx) < 0)
			return -1;
		snprintf(out, outlen, "%u %s.", mx.pref, mx.host);
		return 0;
	}
	case RR_TYPE_SRV: {
		struct srv s;
		if (dns_parse_srv(p, len, &s) < 0)
			return -1;
		snprintf(out, outlen, "%u %u %u %s.", s.prio, s.weight, s.port,
		    s.target[0] ? s.target : "");
		return 0;
	}
	case RR_TYPE_PTR:
	case RR_TYPE_CNAME:
		if (dns_parse_name_rdata(p, len, name, sizeof name) < 0)
			return -1;
		snprintf(out, outlen, "%s.", name);
		return 0;
	case RR_TYPE_A:
		return dns_parse_addr(AF_INET, p, len, out, outlen);
	case RR_TYPE_AAAA:
		return dns_parse_addr(AF_INET6, p, len, out, outlen);
	}
	return -1;
}

void
dns_sync_query(struct ub_ctx *ub, const char *name, uint16_t type, struct dns_answer *out)
{
	struct ub_result *r = NULL;

	memset(out, 0, sizeof *out);
	int err = ub_resolve(ub, name, type, 1, &r);
	if (err != 0) {
		out->st = DNS_TEMPFAIL;
		snprintf(out->why, sizeof out->why, "DNS lookup failed: %s", ub_strerror(err));
		return;
	}
	if (r->nxdomain || r->rcode == RCODE_NXDOMAIN) {
		out->st = DNS_NXDOMAIN;
	} else if (r->rcode != 0) {
		out->st = DNS_TEMPFAIL;
		snprintf(out->why, sizeof out->why, "DNS lookup of %s failed (rcode %d)", name,
		    r->rcode);
	} else if (!r->havedata) {
		out->st = DNS_NODATA;
	} else {
		char *text = malloc(TXT_MAX);
		out->st = DNS_OK;
		for (size_t i = 0; text && r->data[i]; i++)
			if (rdata_text(type, (const uint8_t *)r->data[i], (size_t)r->len[i], text,
			    TXT_MAX) == 0 && !strlist_has(&out->v, text))
				strlist_add(&out->v, text);
		free(text);
		/* Only a record of the type itself counts (a CNAME's target is another name). */
		if (out->v.n == 0)
			out->st = DNS_NODATA;
	}
	ub_resolve_free(r);
}

void
dns_answer_free(struct dns_answer *a)
{
	strlist_free(&a->v);
}

/* interface_addresses - the machine's own addresses, loopback and link-local left out. */
void
dns_interface_addresses(struct strlist *out)
{
	struct ifaddrs *ifs = NULL;

	if (getifaddrs(&ifs) < 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)i->ifa_addr;
			inet_ntop(AF_INET, &s4->sin_addr, text, sizeof text);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
				continue;
			inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text);
		} else {
			continue;
		}
		if (!strlist_has(out, text))
			strlist_add(out, text);
	}
	freeifaddrs(ifs);
}

enum dns_status
dns_host_addresses(struct ub_ctx *ub, const char *host, struct strlist *out,
    bool *from_interfaces, char *why, size_t whylen)
{
	static const uint16_t types[] = { RR_TYPE_A, RR_TYPE_AAAA };

	*from_interfaces = false;
	for (size_t t = 0; t < 2; t++) {
		struct dns_answer a;
		dns_sync_query(ub, host, types[t], &a);
		if (a.st == DNS_TEMPFAIL) {
			snprintf(why, whylen, "%s", a.why);
			dns_answer_free(&a);
			return DNS_TEMPFAIL;
		}
		for (size_t i = 0; i < a.v.n; i++)
			strlist_add(out, a.v.v[i]);
		dns_answer_free(&a);
	}
	if (out->n == 0) {
		*from_interfaces = true;
		dns_interface_addresses(out);
	}
	return DNS_OK;
}
