/*
 * cli_check.c - `mailroom check spf IP HELO MAILFROM`: the SPF result a message
 * from IP with that HELO and MAIL FROM would get here, asked of the configured
 * [delivery] resolver. MAILFROM "" or "<>" checks the HELO identity.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <unbound.h>

#include "cli/dns_ops_sync.h"
#include "deliver/dns_ub.h"
#include "spf/spf.h"
#include "spf/spf_addr.h"

#define CHECK_USAGE "usage: mailroom check spf IP HELO MAILFROM"

static void
keep_result(void *arg, const struct spf_result *r)
{
	*(struct spf_result *)arg = *r;
}

static int
check_spf(struct config *cfg, const char *ip, const char *helo, const char *mailfrom)
{
	struct spf_ip parsed;
	char err[512];

	if (spf_ip_parse(ip, &parsed) < 0)
		return cli_fail("not an IP address: %s", ip);
	if (helo[0] == '\0')
		return cli_fail("the HELO name is empty");
	struct ub_ctx *ub = dns_ub_new(cfg->resolver, false, err, sizeof err);
	if (ub == NULL)
		return cli_fail("%s", err);
	struct dns_ops ops = dns_ops_sync(ub);
	struct spf_request req = { .ip = ip, .helo = helo, .mailfrom = mailfrom,
		.receiver = cfg->hostname };
	struct spf_result res = { .result = SPF_TEMPERROR, .problem = "no result" };
	(void)spf_check_start(&ops, &req, keep_result, &res);
	ub_ctx_delete(ub);

	printf("%s\n", spf_outcome_name(res.result));
	if (res.result == SPF_FAIL && res.explanation[0] != '\0')
		printf("explanation: %s\n", res.explanation);
	if (fflush(stdout) != 0)
		return cli_fail("cannot write the result");
	return 0;
}

int
cli_check(struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "spf") == 0) {
		if (argc != 4)
			return cli_fail("%s", CHECK_USAGE);
		return check_spf(cfg, argv[1], argv[2], argv[3]);
	}
	return cli_fail("%s", CHECK_USAGE);
}
