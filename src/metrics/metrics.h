/*
 * metrics.h - the counters every role adds to and the metrics listener shows
 * (metrics_text.h). The supervisor maps them once, shared and anonymous, before it
 * forks the roles (serve.c), so each role, and a role restarted later, counts into
 * the same place. Each is a 64-bit atomic: counters grow with relaxed increments
 * (no lock, no system call on the hot path); gauges are set by the one role that
 * owns what they measure. Before metrics_map (admin commands, unit tests) the
 * counters are a private copy of this process's own.
 */
#ifndef MAILROOM_METRICS_H
#define MAILROOM_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h" /* SVC_COUNT */

/* Why an SMTP (or POP3) client was refused, as the reason label says. */
enum mx_refusal {
	MX_REFUSE_RELAY_DENIED,         /* 554 5.7.1 relay access denied */
	MX_REFUSE_UNKNOWN_USER,         /* 550 5.1.1 */
	MX_REFUSE_SPF,                  /* 550 5.7.23: spf_reject */
	MX_REFUSE_DMARC,                /* 550 5.7.1: p=reject (DKIM and SPF unaligned or failed) */
	MX_REFUSE_DNSBL,                /* 554 5.7.1 at the greeting */
	MX_REFUSE_PREGREET,             /* talked before the greeting (or did before) */
	MX_REFUSE_RATE_LIMIT,           /* connection_rate_limit or message_rate_limit */
	MX_REFUSE_GREYLISTED,           /* 451 4.7.1 */
	MX_REFUSE_OVER_QUOTA,           /* 452 4.2.2 at RCPT */
	MX_REFUSE_TOO_BIG,              /* 552 5.3.4 */
	MX_REFUSE_TOO_MANY_ERRORS,      /* the session sent away after its errors */
	MX_REFUSE_TOO_MANY_CONNECTIONS, /* max_connections or max_connections_per_ip */
	MX_REFUSE_TOO_MANY_HOPS,        /* 554 5.4.6: max_hops */
	MX_REFUSE_AUTH_REQUIRED,        /* 530 5.7.0 MAIL on submission without a login */
	MX_REFUSE_SENDER_NOT_OWNED,     /* 553 5.7.1 a login's sender not its own */
	MX_REFUSE_MILTER,               /* a milter's reject or tempfail (or one down: tempfail) */
	MX_REFUSE_COUNT
};

/* Where a failed login came from (the service label). */
enum mx_auth {
	MX_AUTH_SMTP,       /* AUTH on the smtp listener */
	MX_AUTH_SUBMISSION, /* submission and submissions */
	MX_AUTH_POP3,       /* pop3 and pop3s */
	MX_AUTH_WEB,        /* the web role's logins (counted by lookupd) */
	MX_AUTH_COUNT
};

/* What one milter made of one message (milter/milter_chain.c). */
enum mx_milter { MX_MILTER_ACCEPT, MX_MILTER_REJECT, MX_MILTER_TEMPFAIL, MX_MILTER_DISCARD,
	MX_MILTER_QUARANTINE, MX_MILTER_FAILED, MX_MILTER_COUNT };

enum mx_transport { MX_LOCAL, MX_REMOTE, MX_TRANSPORT_COUNT };
enum mx_result { MX_DELIVERED, MX_DEFERRED, MX_BOUNCED, MX_RESULT_COUNT };

/* The roles the supervisor restarts, in serve.c's order. */
enum mx_role { MX_ROLE_LOOKUPD, MX_ROLE_SMTPD, MX_ROLE_QUEUED, MX_ROLE_POP3D, MX_ROLE_HTTPD,
	MX_ROLE_ACMED, MX_ROLE_COUNT };

/* Requests flushed together by one group commit: buckets up to 1, 2, 4, ... 512, then the rest. */
#define MX_BATCH_BUCKETS 11

/*
 * The fields, written once for the shared region (atomic) and once for a
 * snapshot (plain): the same words in the same order.
 */
#define METRICS_FIELDS(T)                                                        \
	T start_time;                       /* the supervisor's start, Unix seconds */ \
	T listeners;                        /* bit 1 << svc: configured listeners */  \
	T roles;                            /* bit 1 << mx_role: roles that run */   \
	T conn_accepted[SVC_COUNT];         /* connections admitted */                \
	T conn_open[SVC_COUNT];             /* open now (smtpd, pop3d, https) */      \
	T received[SVC_COUNT];              /* messages acknowledged with a 250 */    \
	T deliveries[MX_TRANSPORT_COUNT][MX_RESULT_COUNT]; /* recipients, by outcome */ \
	T sent;                             /* messages a remote server took */       \
	T bounces;                          /* DSNs made */                           \
	T queue_messages;                   /* in the queue now (queued) */           \
	T queue_oldest;                     /* arrival of the oldest, Unix s; 0: empty */ \
	T auth_failures[MX_AUTH_COUNT];                                               \
	T refusals[MX_REFUSE_COUNT];                                                  \
	T milter_results[MX_MILTER_COUNT];  /* one per milter asked about a message */ \
	T batch_buckets[MX_BATCH_BUCKETS];  /* not cumulative: each its own range */  \
	T batch_sum;                                                                  \
	T batch_count;                                                                \
	T restarts[MX_ROLE_COUNT];          /* restarts the supervisor made */

struct metrics {
	METRICS_FIELDS(_Atomic uint64_t)
};

struct metrics_snap {
	METRICS_FIELDS(uint64_t)
};

/* The region in use: a private one until metrics_map, then the shared one. */
extern struct metrics *metrics;

/*
 * metrics_map - the shared region (zeroed), made the one in use; start_time set.
 * For the supervisor, before it forks. Returns 0, or -1 (errno; the private one
 * stays in use).
 */
int metrics_map(void);

/* metrics_snapshot - every word of the region in use, read once. */
void metrics_snapshot(struct metrics_snap *out);

/* The hot path: one relaxed atomic add, or store. */
#define MX_ADD(field, n) atomic_fetch_add_explicit(&metrics->field, (uint64_t)(n), \
	memory_order_relaxed)
#define MX_INC(field) MX_ADD(field, 1)
#define MX_SET(field, v) atomic_store_explicit(&metrics->field, (uint64_t)(v), \
	memory_order_relaxed)

/* metrics_refused - one refusal more. */
static inline void
metrics_refused(enum mx_refusal why)
{
	MX_INC(refusals[why]);
}

/* metrics_auth_failed - one failed login more, on the listener named svc ("pop3s"). */
void metrics_auth_failed(const char *svc);

/* metrics_delivery - one recipient's outcome. */
static inline void
metrics_delivery(enum mx_transport t, enum mx_result r)
{
	MX_INC(deliveries[t][r]);
}

/* metrics_batch - one group commit of n requests. */
void metrics_batch(uint64_t n);

/* metrics_batch_bucket - the bucket of a batch of n (pure). */
unsigned metrics_batch_bucket(uint64_t n);

#endif
