/* web_dns_check.h - `dns check` of a hosted domain for the admin page and the API. */
#ifndef MAILROOM_WEB_DNS_CHECK_H
#define MAILROOM_WEB_DNS_CHECK_H

#include <jansson.h>

#include "config.h"
#include "http/web.h"

/*
 * web_dns_check - each of records (lookupd's dns.records answer: name, type,
 * value, purpose) and the host's PTRs asked of the resolver, as `mailroom dns
 * check` does: {"domain", "ok", "results": [{"verdict", "purpose", "name",
 * "detail"}]}, verdict ok, missing, wrong, tempfail or warning; ok is true when
 * no result is missing, wrong or tempfail. NULL when no check could be started.
 */
json_t *web_dns_check(const struct config *cfg, const char *domain, json_t *records);

#endif
