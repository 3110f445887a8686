/*
 * dns_zone.c - the records of a hosted domain, as `mailroom dns records` prints
 * them and the web shows them: the DKIM keys read from the store, the rest from
 * the config (dns_records_build).
 */
#include "cli/dns_zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts_int.h"
#include "dkim/dkim_key.h"

const char *
dns_type_name(uint16_t type)
{
	switch (type) {
	case RR_TYPE_A: return "A";
	case RR_TYPE_CNAME: return "CNAME";
	case RR_TYPE_PTR: return "PTR";
	case RR_TYPE_MX: return "MX";
	case RR_TYPE_TXT: return "TXT";
	case RR_TYPE_AAAA: return "AAAA";
	case RR_TYPE_SRV: return "SRV";
	}
	return "";
}

uint16_t
dns_type_parse(const char *name)
{
	static const uint16_t types[] = { RR_TYPE_A, RR_TYPE_CNAME, RR_TYPE_PTR, RR_TYPE_MX,
		RR_TYPE_TXT, RR_TYPE_AAAA, RR_TYPE_SRV };

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(name, dns_type_name(types[i])) == 0)
			return types[i];
	return 0;
}

int
dns_zone_records(struct accounts *a, const struct config *cfg, const char *domain,
    const char *const *addrs, size_t naddrs, bool addrs_from_interfaces, time_t now,
    struct dns_recs *out, char *err, size_t errlen)
{
	struct dkim_key_list keys = { 0 };
	struct strlist txt = { 0 };
	struct dns_dkim_pub *pubs = NULL;
	size_t npubs = 0;
	char line[1200];
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (accounts_dkim_list(a, domain, now, &keys, err, errlen) < 0)
		return -1;
	if ((pubs = calloc(keys.n ? keys.n : 1, sizeof *pubs)) == NULL)
		goto oom;
	for (size_t i = 0; i < keys.n; i++) {
		const struct dkim_key_info *k = &keys.v[i];
		if (!k->publish)
			continue;
		snprintf(line, sizeof line, "v=DKIM1; k=%s; p=%s", dkim_alg_key_type(k->alg),
		    k->public_b64);
		if (strlist_add(&txt, line) < 0)
			goto oom;
		pubs[npubs].selector = k->selector;
		pubs[npubs].txt = txt.v[txt.n - 1];
		npubs++;
	}
	struct dns_records_in in = {
		.domain = domain,
		.hostname = cfg->hostname,
		.addrs = addrs,
		.naddrs = naddrs,
		.addrs_from_interfaces = addrs_from_interfaces,
		.dkim = pubs,
		.ndkim = npubs,
		.mta_sts_mode = cfg->mta_sts_mode,
		.mta_sts_max_age = cfg->mta_sts_max_age,
	};
	for (int s = 0; s < SVC_COUNT; s++)
		in.ports[s] = config_service_port(cfg, (enum service)s);
	if (dns_records_build(&in, out) < 0)
		goto oom;
	rc = 0;
	goto out;
oom:
	accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
out:
	free(pubs);
	strlist_free(&txt);
	dkim_key_list_free(&keys);
	return rc;
}
