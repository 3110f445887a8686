/*
 * cli_dmarc.c - `mailroom dmarc report-now` and `mailroom tlsrpt report-now`: ask
 * a running queued to send the DMARC aggregate reports, or the TLS reports, of the
 * days so far, today's data included (otherwise they go once a day, after 00:00 UTC).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "queue/notify.h"

/* request - tell queued to send the reports now. */
static int
request(struct config *cfg, enum queue_note type, const char *what)
{
	struct notifier n;

	int rc = notifier_open(&n, cfg->data_dir) == 0 ? notifier_send(&n, type, NULL) : -1;
	notifier_close(&n);
	if (rc < 0)
		return cli_fail("mailroom is not running: the reports go when it runs");
	printf("%s reports requested\n", what);
	return 0;
}

int
cli_dmarc(struct config *cfg, int argc, char **argv)
{

	if (argc != 1 || strcmp(argv[0], "report-now") != 0)
		return cli_usage_error("dmarc report-now");
	if (!cfg->inbound_dmarc_reports)
		return cli_fail("DMARC reports are off ([inbound] dmarc_reports = no)");
	return request(cfg, QN_DMARC_REPORT, "DMARC");
}

int
cli_tlsrpt(struct config *cfg, int argc, char **argv)
{
	if (argc != 1 || strcmp(argv[0], "report-now") != 0)
		return cli_usage_error("tlsrpt report-now");
	if (!cfg->tls_reports)
		return cli_fail("TLS reports are off ([delivery] tls_reports = no)");
	return request(cfg, QN_TLSRPT_REPORT, "TLS");
}
