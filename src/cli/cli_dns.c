/*
 * cli_dns.c - `mailroom dns records DOMAIN` (the zone-file lines a hosted domain
 * needs) and `mailroom dns check DOMAIN` (each of them asked of the resolver).
 */
#include "cli/cli.h"
#include "cli/cli_dns.h"
#include "cli/cli_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#include "cli/dns_sync.h"
#include "cli/dns_zone.h"
#include "deliver/dns_ub.h"
#include "dkim/dkim_key.h"
#include "util/buf.h"

#define DNS_USAGE "dns records DOMAIN | dns check DOMAIN"

/* hosted_domain - domain lower-cased into out when it is a hosted domain; else 1 printed. */
static int
hosted_domain(const struct config *cfg, const char *domain, char *out, size_t outlen)
{
	size_t n = strlen(domain);

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return cli_fail("not a hosted domain: %s", domain);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)domain[i]);
	out[n] = '\0';
	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		return 1;
	bool local = accounts_domain_is_local(a, out);
	accounts_close(a);
	return local ? 0 : cli_fail("not a hosted domain: %s", out);
}

static int
print_records(const struct dns_recs *recs)
{
	struct buf line = { 0 };
	int rc = 0;

	for (size_t i = 0; i < recs->n && rc == 0; i++) {
		buf_reset(&line);
		if (dns_rec_line(&recs->v[i], &line) < 0 || buf_putc(&line, '\n') < 0)
			rc = cli_fail("out of memory");
		else if (fputs(line.data, stdout) == EOF)
			rc = cli_fail("cannot write the records");
	}
	buf_free(&line);
	if (rc == 0 && fflush(stdout) != 0)
		rc = cli_fail("cannot write the records");
	return rc;
}

/* print_check_line - a line of `dns check` as the command prints it. */
static void
print_check_line(void *arg, const char *verdict, const char *label, const char *name,
    const char *detail)
{
	(void)arg;
	if (strcmp(verdict, "warning") == 0)
		printf("warning: %s\n", detail);
	else
		printf("%-7s %s %s%s\n", verdict, label, name, detail);
}

static int
print_check(struct ub_ctx *ub, const char *domain, const struct dns_host *host,
    const struct dns_recs *recs)
{
	bool ok = dns_check_run(ub, domain, host, recs, print_check_line, NULL);
	if (fflush(stdout) != 0)
		return cli_fail("cannot write the check");
	return ok ? 0 : 1;
}

int
cli_dns(struct config *cfg, int argc, char **argv)
{
	char domain[ADDR_DOMAIN_MAX + 1], err[1024];
	bool check;

	if (argc != 2)
		return cli_usage_error(DNS_USAGE);
	if (strcmp(argv[0], "records") == 0)
		check = false;
	else if (strcmp(argv[0], "check") == 0)
		check = true;
	else
		return cli_usage_error(DNS_USAGE);
	if (hosted_domain(cfg, argv[1], domain, sizeof domain) != 0)
		return 1;

	struct ub_ctx *ub = dns_ub_new(cfg->resolver, false, err, sizeof err);
	if (ub == NULL)
		return cli_fail("%s", err);

	struct dns_host host = { .hostname = cfg->hostname };
	char why[256] = "";
	bool lookup_failed = dns_host_addresses(ub, cfg->hostname, &host.addrs,
	    &host.from_interfaces, why, sizeof why) == DNS_TEMPFAIL;
	int rc = 1;
	if (lookup_failed && check) {
		printf("%-7s %s %s: %s\n", "tempfail", "A/AAAA", cfg->hostname, why);
		goto out;
	}
	if (lookup_failed) {
		/* Records are still worth printing before the DNS works: the machine's own. */
		printf("; the lookup of %s failed (%s)\n", cfg->hostname, why);
		strlist_free(&host.addrs);
		dns_interface_addresses(&host.addrs);
	}

	struct accounts *a = cli_open_accounts(cfg);
	if (a == NULL)
		goto out;
	struct dns_recs recs;
	int r = dns_zone_records(a, cfg, domain, (const char *const *)host.addrs.v, host.addrs.n,
	    host.from_interfaces || lookup_failed, time(NULL), &recs, err, sizeof err);
	accounts_close(a);
	if (r < 0) {
		rc = cli_fail("%s", err);
		goto out;
	}
	rc = check ? print_check(ub, domain, &host, &recs) : print_records(&recs);
	dns_recs_free(&recs);
out:
	strlist_free(&host.addrs);
	ub_ctx_delete(ub);
	return rc;
}
