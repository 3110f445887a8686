/*
 * https_dns.h - an HTTPS request (net/https_client.h) whose host is looked up
 * through queued's resolver (deliver/dns.h: the same answers as for mail, the
 * `resolver` of the tests included), trying its addresses in turn while they do
 * not connect. For the MTA-STS policy fetch and the TLS-RPT reports posted.
 */
#ifndef MAILROOM_HTTPS_DNS_H
#define MAILROOM_HTTPS_DNS_H

#include <stddef.h>

#include "net/https_client.h"

struct dns;
struct https_dns;

/*
 * https_dns_start - o as for https_request (o->dns and o->connect_to are not used;
 * the URL, the accept value and the body are copied). done is called once, never
 * from inside this call. Returns the handle, or NULL with a reason in err.
 */
struct https_dns *https_dns_start(struct dns *dns, const struct https_opts *o,
    https_done_fn done, void *arg, char *err, size_t errlen);

/* https_dns_cancel - drop it; done is not called. */
void https_dns_cancel(struct https_dns *h);

#endif
