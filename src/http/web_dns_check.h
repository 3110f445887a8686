/* web_dns_check.h - `dns check` of a hosted domain for the admin page and the API. */
#ifndef MAILROOM_WEB_DNS_CHECK_H
#define MAILROOM_WEB_DNS_CHECK_H

#include <jansson.h>

#include "config.h"
#include "http/web.h"

/* Called with the check's result (freed after the call) once it is done. */
typedef void web_dns_done(void *arg, json_t *result);

/*
 * web_dns_check_start - each of records (lookupd's dns.records answer: name, type,
 * value, purpose) and the host's PTRs asked of the resolver, as `mailroom dns
 * check` does, in a child process; done gets {"domain", "ok", "results":
 * [{"verdict", "purpose", "name", "detail"}]} (verdict ok, missing, wrong, tempfail
 * or warning; ok true when no result is missing, wrong or tempfail) on srv's loop,
 * within 10 s. Returns 0, or -1 when no check could be started (done not called).
 */
int web_dns_check_start(struct httpd *srv, const char *domain, json_t *records,
    web_dns_done *done, void *arg);
/* web_dns_check_cancel_all - the checks under way stopped, their callers never told. */
void web_dns_check_cancel_all(struct httpd *srv);

#endif
