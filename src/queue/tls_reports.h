/*
 * tls_reports.h - queued's side of the SMTP TLS reports (RFC 8460): once a day
 * (just after 00:00 UTC, and soon after start for the days not yet reported), or at
 * once on QN_TLSRPT_REPORT (`mailroom tlsrpt report-now`, today included), each
 * day's queue/tlsrpt/<day>.log (the remote agent's results, deliver/tlsrpt.h) is
 * added up per policy domain; the domain's _smtp._tls TXT record names where its
 * report goes: a mailto: gets a message written into the queue (DKIM-signed on its
 * way out like any of ours), an https: URL a POST. Then the file goes.
 */
#ifndef MAILROOM_TLS_REPORTS_H
#define MAILROOM_TLS_REPORTS_H

#include <stdbool.h>

struct queued;
struct tls_reporter;

/* tls_reporter_new - its timer armed; NULL: out of memory (no reports, logged). */
struct tls_reporter *tls_reporter_new(struct queued *q);

/* tls_reporter_run - report the finished days (and today's results with today). */
void tls_reporter_run(struct tls_reporter *r, bool today);

/* tls_reporter_free - cancels what is under way (its day's file stays for the next start). */
void tls_reporter_free(struct tls_reporter *r);

#endif
