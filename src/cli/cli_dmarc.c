/*
 * cli_dmarc.c - `mailroom dmarc report-now`: asks a running queued to send the
 * DMARC aggregate reports of the days so far, today's data included (otherwise
 * they go once a day, after 00:00 UTC).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "queue/notify.h"

int
cli_dmarc(struct config *cfg, int argc, char **argv)
{
	struct notifier n;

	if (argc != 1 || strcmp(argv[0], "report-now") != 0)
		return cli_usage_error("dmarc report-now");
	if (!cfg->inbound_dmarc_reports)
		return cli_fail("DMARC reports are off ([inbound] dmarc_reports = no)");
	int rc = notifier_open(&n, cfg->data_dir) == 0 ? notifier_send(&n, QN_DMARC_REPORT, NULL) :
	    -1;
	notifier_close(&n);
	if (rc < 0)
		return cli_fail("mailroom is not running: the reports go when it runs");
	printf("DMARC reports requested\n");
	return 0;
}
