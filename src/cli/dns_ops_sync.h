/*
 * dns_ops_sync.h - struct dns_ops over a synchronous libunbound context, for the
 * command line: each query is answered before the query function returns.
 */
#ifndef MAILROOM_DNS_OPS_SYNC_H
#define MAILROOM_DNS_OPS_SYNC_H

#include "deliver/dns_ops.h"

struct ub_ctx;

/* dns_ops_sync - the ops of ub (made by dns_ub_new(resolver, false, ...)). */
struct dns_ops dns_ops_sync(struct ub_ctx *ub);

#endif
