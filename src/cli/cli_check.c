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
#include "dkim/dkim_fields.h"
#include "inbound/inbound_check.h"
#include "util/buf.h"
#include "deliver/dns_ub.h"
#include "spf/spf.h"
#include "spf/spf_addr.h"

#define CHECK_USAGE "usage: mailroom check spf IP HELO MAILFROM | " \
	"mailroom check message [--ip IP] [--helo H] [--mailfrom ADDR] < message"

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

static void
keep_verdict(void *arg, const struct inbound_verdict *v)
{
	struct buf *out = arg;
	buf_append(out, v->ar.data, v->ar.len);
}

/* read_message - standard input (at most max octets) in the stored form: LF line ends. */
static int
read_message(uint64_t max, struct buf *msg)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (msg->len + n > max)
			return cli_fail("the message is over max_message_size (%llu octets)",
			    (unsigned long long)max);
		if (buf_append(msg, chunk, n) < 0)
			return cli_fail("out of memory");
	}
	if (ferror(stdin))
		return cli_fail("cannot read the message");
	size_t w = 0;
	for (size_t i = 0; i < msg->len; i++)
		if (!(msg->data[i] == '\r' && i + 1 < msg->len && msg->data[i + 1] == '\n'))
			msg->data[w++] = msg->data[i];
	msg->len = w;
	return 0;
}

/*
 * check_message - the Authentication-Results field the smtp listener would add:
 * SPF when --ip is given (HELO defaults to the IP's literal, MAIL FROM to <>),
 * every DKIM signature, DMARC.
 */
static int
check_message(struct config *cfg, int argc, char **argv)
{
	const char *ip = NULL, *helo = NULL, *mailfrom = "";
	char literal[80], err[512];

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return cli_fail("%s", CHECK_USAGE);
		if (strcmp(argv[i], "--ip") == 0)
			ip = argv[i + 1];
		else if (strcmp(argv[i], "--helo") == 0)
			helo = argv[i + 1];
		else if (strcmp(argv[i], "--mailfrom") == 0)
			mailfrom = argv[i + 1];
		else
			return cli_fail("%s", CHECK_USAGE);
	}
	struct spf_ip parsed;
	if (ip != NULL && spf_ip_parse(ip, &parsed) < 0)
		return cli_fail("not an IP address: %s", ip);
	if ((helo != NULL || mailfrom[0] != '\0') && ip == NULL)
		return cli_fail("--helo and --mailfrom need --ip");
	if (ip != NULL && helo == NULL) {
		snprintf(literal, sizeof literal, "[%s]", ip);
		helo = literal;
	}
	if (strcmp(mailfrom, "<>") == 0)
		mailfrom = "";

	struct buf msg = { 0 }, out = { 0 };
	int rc = read_message(cfg->max_message_size, &msg);
	if (rc != 0) {
		buf_free(&msg);
		return rc;
	}
	struct ub_ctx *ub = dns_ub_new(cfg->resolver, false, err, sizeof err);
	if (ub == NULL) {
		buf_free(&msg);
		return cli_fail("%s", err);
	}
	struct dns_ops ops = dns_ops_sync(ub);
	struct inbound_params p = { &ops, cfg->hostname, ip, helo, mailfrom,
		cfg->inbound_dmarc_reject, cfg->inbound_spf_reject, NULL, false, NULL, NULL };
	struct inbound_check *c = inbound_check_new(&p);
	if (c == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	size_t body_at, end = dkim_header_end(msg.data ? msg.data : "", msg.len, &body_at);
	if (inbound_check_headers(c, msg.data ? msg.data : "", end) < 0) {
		rc = cli_fail("out of memory");
		goto out;
	}
	inbound_check_body(c, msg.data + body_at, msg.len - body_at);
	/* Synchronous DNS: the verdict is in once finish returns. */
	if (inbound_check_finish(c, keep_verdict, &out) < 0 || out.len == 0) {
		rc = cli_fail("the checks did not finish");
		goto out;
	}
	fwrite(out.data, 1, out.len, stdout);
	if (fflush(stdout) != 0)
		rc = cli_fail("cannot write the result");
out:
	inbound_check_free(c);
	ub_ctx_delete(ub);
	buf_free(&msg);
	buf_free(&out);
	return rc;
}

int
cli_check(struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "message") == 0)
		return check_message(cfg, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "spf") == 0) {
		if (argc != 4)
			return cli_fail("%s", CHECK_USAGE);
		return check_spf(cfg, argv[1], argv[2], argv[3]);
	}
	return cli_fail("%s", CHECK_USAGE);
}
