/*
 * dns_ub.h - the one place a libunbound context is made from the config's
 * [delivery] resolver: queued's asynchronous lookups (dns.c) and the CLI's
 * synchronous ones (`mailroom dns check`) ask the same server the same way.
 */
#ifndef MAILROOM_DNS_UB_H
#define MAILROOM_DNS_UB_H

#include <stdbool.h>
#include <stddef.h>

struct ub_ctx;

/*
 * dns_ub_new - a context asking resolver ("ip", "ip:port", "[ip6]:port"; NULL: the
 * system's, from resolv.conf and the hosts file). With a resolver, every name is
 * forwarded to it, loopback, special-use and private reverse names included. With
 * async, answers come through a background worker (ub_fd/ub_process). Returns NULL
 * with a reason in err.
 */
struct ub_ctx *dns_ub_new(const char *resolver, bool async, char *err, size_t errlen);

/*
 * dns_ub_new_validating - dns_ub_new that validates answers (DNSSEC) against the
 * trust anchors in the file trust_anchor (DS or DNSKEY records in zone file
 * syntax), which must be readable now and when the first lookup starts.
 */
struct ub_ctx *dns_ub_new_validating(const char *resolver, bool async, const char *trust_anchor,
    char *err, size_t errlen);

#endif
