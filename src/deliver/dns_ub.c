/* dns_ub.c - a libunbound context set up from the configured resolver. */
#include "deliver/dns_ub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unbound.h>

/* to_unbound_addr - "ip:port" / "[ip6]:port" / "ip" -> "ip@port" as unbound wants. */
static int
to_unbound_addr(const char *in, char *out, size_t outlen)
{
	unsigned char bin[16];
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;

	if (inet_pton(AF_INET6, in, bin) == 1 || inet_pton(AF_INET, in, bin) == 1) {
		snprintf(out, outlen, "%s", in);
		return 0;
	}
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (close == NULL || (size_t)(close - in - 1) >= sizeof host)
			return -1;
		memcpy(host, in + 1, (size_t)(close - in - 1));
		host[close - in - 1] = '\0';
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strrchr(in, ':');
		if (colon == NULL || (size_t)(colon - in) >= sizeof host)
			return -1;
		memcpy(host, in, (size_t)(colon - in));
		host[colon - in] = '\0';
		port = colon + 1;
	}
	if (port)
		snprintf(out, outlen, "%s@%s", host, port);
	else
		snprintf(out, outlen, "%s", host);
	return 0;
}

/*
 * Zones unbound answers itself by default. The configured server is asked about
 * them instead: tests serve .test names, and `dns check` must see the PTR records
 * the server holds for loopback and private addresses.
 */
static const char *const local_zones[] = {
	"localhost.", "test.", "invalid.", "onion.", "home.arpa.", "local.",
	"127.in-addr.arpa.", "10.in-addr.arpa.", "168.192.in-addr.arpa.", "254.169.in-addr.arpa.",
	"16.172.in-addr.arpa.", "17.172.in-addr.arpa.", "18.172.in-addr.arpa.",
	"19.172.in-addr.arpa.", "20.172.in-addr.arpa.", "21.172.in-addr.arpa.",
	"22.172.in-addr.arpa.", "23.172.in-addr.arpa.", "24.172.in-addr.arpa.",
	"25.172.in-addr.arpa.", "26.172.in-addr.arpa.", "27.172.in-addr.arpa.",
	"28.172.in-addr.arpa.", "29.172.in-addr.arpa.", "30.172.in-addr.arpa.",
	"31.172.in-addr.arpa.",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"d.f.ip6.arpa.", "8.e.f.ip6.arpa.", "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
};

struct ub_ctx *
dns_ub_new(const char *resolver, bool async, char *err, size_t errlen)
{
	return dns_ub_new_validating(resolver, async, NULL, err, errlen);
}

struct ub_ctx *
dns_ub_new_validating(const char *resolver, bool async, const char *trust_anchor, char *err,
    size_t errlen)
{
	struct ub_ctx *ub = ub_ctx_create();
	int rc;

	if (ub == NULL) {
		snprintf(err, errlen, "cannot create the DNS resolver");
		return NULL;
	}
	/* Before anything that finalizes the context (ub_ctx_zone_remove does). */
	if ((rc = ub_ctx_async(ub, async ? 1 : 0)) != 0)
		goto fail;
	if (trust_anchor != NULL) {
		/* libunbound reads the file only at the first lookup: say now if it cannot. */
		FILE *f = fopen(trust_anchor, "re");
		if (f == NULL) {
			snprintf(err, errlen, "cannot read the DNSSEC trust anchor %s: %s",
			    trust_anchor, strerror(errno));
			ub_ctx_delete(ub);
			return NULL;
		}
		fclose(f);
		if ((rc = ub_ctx_add_ta_file(ub, trust_anchor)) != 0)
			goto fail;
	}
	if (resolver != NULL) {
		char fwd[128];
		/* The configured server may be on loopback (tests, a local cache)... */
		if (to_unbound_addr(resolver, fwd, sizeof fwd) < 0) {
			snprintf(err, errlen, "bad resolver address: %s", resolver);
			ub_ctx_delete(ub);
			return NULL;
		}
		if ((rc = ub_ctx_set_option(ub, "do-not-query-localhost:", "no")) != 0 ||
		    (rc = ub_ctx_set_fwd(ub, fwd)) != 0)
			goto fail;
		/* ...and is asked about every name: no locally answered special-use zones. */
		ub_ctx_set_option(ub, "unblock-lan-zones:", "yes");
		ub_ctx_set_option(ub, "insecure-lan-zones:", "yes");
		for (size_t i = 0; i < sizeof local_zones / sizeof local_zones[0]; i++) {
			char opt[128];
			snprintf(opt, sizeof opt, "%s nodefault", local_zones[i]);
			ub_ctx_set_option(ub, "local-zone:", opt);
		}
		for (size_t i = 0; i < sizeof local_zones / sizeof local_zones[0]; i++)
			ub_ctx_zone_remove(ub, local_zones[i]);
	} else {
		if ((rc = ub_ctx_resolvconf(ub, NULL)) != 0)
			goto fail;
		ub_ctx_hosts(ub, NULL);
	}
	return ub;
fail:
	snprintf(err, errlen, "DNS resolver setup: %s", ub_strerror(rc));
	ub_ctx_delete(ub);
	return NULL;
}
