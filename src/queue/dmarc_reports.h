/*
 * dmarc_reports.h - queued's side of the DMARC aggregate reports (RFC 9990): once a
 * day (just after 00:00 UTC, and soon after start for the days not yet reported),
 * or at once on QN_DMARC_REPORT (`mailroom dmarc report-now`, today included),
 * each day's queue/dmarc/<day>.log is aggregated per Policy Domain and one message
 * per verified rua mailto: destination is written into the queue; then the file goes.
 */
#ifndef MAILROOM_DMARC_REPORTS_H
#define MAILROOM_DMARC_REPORTS_H

#include <stdbool.h>

struct queued;
struct dmarc_reporter;

/* dmarc_reporter_new - its timer armed; NULL: out of memory (no reports, logged). */
struct dmarc_reporter *dmarc_reporter_new(struct queued *q);

/* dmarc_reporter_run - report the finished days (and today's data with today). */
void dmarc_reporter_run(struct dmarc_reporter *r, bool today);

/* dmarc_reporter_free - cancels what is under way (its day's file stays for the next start). */
void dmarc_reporter_free(struct dmarc_reporter *r);

#endif
