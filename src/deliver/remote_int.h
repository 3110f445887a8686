/*
 * remote_int.h - the remote delivery agent's state, shared by its files: remote.c
 * (the agent: jobs, grouping by route, limits, dispatch), remote_mx.c (MX lookups,
 * and the merging of a message's domains that share MX hosts), remote_try.c
 * (trying the servers of one delivery in order, and what each conversation ends with)
 * and remote_sts.c (the MTA-STS policy of a delivery, and the TLS-RPT results).
 */
#ifndef MAILROOM_REMOTE_INT_H
#define MAILROOM_REMOTE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "deliver/agent.h"
#include "deliver/conn_cache.h"
#include "deliver/dane.h"
#include "deliver/dns.h"
#include "deliver/mta_sts.h"
#include "deliver/outbound_sign.h"
#include "deliver/route.h"
#include "deliver/smtp_client.h"
#include "inbound/report_log.h"
#include "net/self_addr.h"
#include "net/sockaddr.h"
#include "util/buf.h"
#include "util/strmap.h"

struct event;

/* A destination's connections under way, against PER_DEST_MAX. */
struct dest {
	unsigned active;
};

/* One job (one message's remote recipients) while its deliveries run. */
struct rjob {
	struct agent_job job;
	size_t *rcpts;              /* job.rcpts points here */
	unsigned parts;             /* deliveries of it not yet finished */
	enum { SIGN_NOT_YET, SIGN_RUNNING, SIGN_DONE } sign; /* prefix (deliver/sign_pool.h) */
	bool orphan;                /* its deliveries ended while it was being signed:
				     * the signing's end frees it */
	struct sign_job sj;         /* what the signer reads while it runs */
	struct delivery *parked;    /* deliveries waiting for the signatures */
	struct buf prefix;          /* DKIM-Signature or ARC fields for every delivery of it */
	bool keep;                  /* prefix is ours, just made: kept if a recipient is deferred */
	bool deferred;              /* a recipient of it got a temporary failure */
};

struct mx_set;

/* One delivery: the recipients of a job that go to one destination. */
struct delivery {
	struct remote *r;
	struct rjob *job;
	struct dest *dest;
	struct mx_set *set;         /* its MX lookup is part of the message's merge */
	bool started;               /* in the active list (counted against the limits) */
	bool resolved;              /* mx holds its servers already */
	int pre_code;               /* the lookup ended it: this result for every recipient */
	char *pre_text;
	struct delivery *next;      /* in the waiting list, or the active list */
	struct delivery *prev;
	struct delivery *parked_next; /* in its job's parked list (job->parked) */
	bool parked;
	struct route route;         /* where it goes (deliver/route.h) */
	char *sender;               /* MAIL FROM when not the envelope's: the SRS address
				     * of mail an alias forwards; NULL: env->sender */
	const char *name;           /* route.dest: a domain, a literal, or the relayhost */
	size_t *idx;                /* recipients of the message in this delivery */
	const char **rcpts;
	size_t n;
	struct mx_list mx;
	size_t mx_next;
	const char *host;           /* the server being tried */
	struct addr_list addrs;
	size_t addr_next;
	unsigned tried;             /* server addresses tried, for mx_address_limit */
	bool no_tls;
	bool implicit_mx;           /* no MX records: the domain's own address */
	enum dane_policy dane;      /* of the server being tried (deliver/dane.h) */
	struct tlsa_set tlsa;       /* its usable TLSA records, for DANE_VERIFY */
	char tlsa_base[DNS_NAME_MAX]; /* where they are: the host, or its CNAME target */
	const char *dane_log;       /* "none", "verified", "failed" for the log; NULL: DANE off */
	struct sts_policy *sts;     /* the domain's MTA-STS policy (testing or enforce); NULL: none */
	char *sts_text;             /* as served, for TLS-RPT */
	char *sts_mx;               /* its mx patterns, one a line, for TLS-RPT */
	const char *sts_failure;    /* its discovery failed: the RFC 8460 result type; or NULL */
	char *sts_why;
	const char *sts_log;        /* agent_result.sts; NULL: MTA-STS off */
	bool sts_host_checked;      /* the current host was held against the policy */
	bool sts_oom;               /* the lookup could not be made: the delivery is deferred */
	bool sts_waiting;           /* its lookup is under way (to be cancelled with it) */
	void (*sts_then)(struct delivery *d); /* where the delivery goes on after the lookup */
	struct smtp_client *client;
	char *conn_key;             /* its connection's smtp_client_key, to keep it under; or NULL */
	unsigned conn_use;          /* of the last conversation (agent_result.conn_use) */
	char relay[SOCKADDR_TEXT_MAX + DNS_NAME_MAX + 16];
	int last_code;
	char last_error[CLIENT_TEXT_MAX];
	const char *last_status;    /* its enhanced status when not 4.4.1 (a TLS policy: 4.7.x) */
	char auth_user[256], auth_pass[256];
};

/* The domains of one message whose MX lookups run before they are merged. */
struct mx_set {
	struct remote *r;
	struct mx_set *prev, *next; /* in remote->sets */
	struct delivery **v;
	size_t n, pending;
};

struct sign_pool;

struct remote {
	struct agent_env env;
	struct sign_pool *signer;   /* signatures off the loop; NULL: made on it */
	struct mx_set *sets;        /* lookups under way, for the shutdown */
	struct dns *dns;
	SSL_CTX *tls;               /* opportunistic STARTTLS */
	SSL_CTX *tls_verify;        /* relayhost_tls = verify: built when first needed */
	SSL_CTX *tls_dane;          /* dane = yes at start: DANE authentication; and dns validates */
	SSL_CTX *tls_sts;           /* mta_sts = yes at start: the policy fetch (tls_ca_file's CAs) */
	struct sts_cache *sts;      /* mta_sts = yes at start: the policies (deliver/sts_cache.h) */
	bool tlsrpt_on;             /* tls_reports = yes at start */
	struct report_log tlsrpt;   /* then the results go to queue/tlsrpt/<day>.log */
	char *tls_verify_ca;        /* the tls_ca_file it was built from (NULL: the system's) */
	struct strmap dests;        /* destination name -> struct dest */
	struct conn_cache conns;    /* connections kept for the next delivery */
	struct delivery *wait_head, *wait_tail;
	struct delivery *active;    /* running deliveries, for the shutdown */
	unsigned nactive;
	struct event *dispatch_ev;
	struct local_addrs local;   /* this host's addresses, for wildcard listeners */
	time_t local_at;            /* when local was read; 0: never */
};

/* remote_cfg - the current config (a reload replaces it between callbacks). */
static inline const struct config *
remote_cfg(const struct remote *r)
{
	return *r->env.cfg;
}

/* remote.c */
/* delivery_id - the queue id of d's message, for the log. */
const char *delivery_id(const struct delivery *d);
int delivery_add_rcpt(struct delivery *d, size_t idx);
void delivery_free(struct delivery *d);
/* job_free - j's memory, or at the end of its signing when that is under way. */
void job_free(struct rjob *j);
void wait_push(struct remote *r, struct delivery *d);
void kick(struct remote *r);
/* finish - record every recipient still without a result, end this delivery. */
void finish(struct delivery *d, int code, const char *text);
/* rcpt_result - one recipient's result, to the job's callback. */
void rcpt_result(struct delivery *d, size_t idx, int code, const char *relay, const char *text);

/* remote_try.c */
/*
 * sign_start - begin making j's signatures, once, off the loop when it can. Only
 * for a delivery about to wait for them: that one holds j (and the queue its
 * message) until the signing is over.
 */
void sign_start(struct rjob *j, struct remote *r);

/* remote_mx.c */
int set_single_host(struct delivery *d, const char *host);
/* lookup_mx - look up d's MX records, then go on with its servers (or finish it). */
void lookup_mx(struct delivery *d);
/*
 * resolve_together - look up the MX records of several mergeable domains of one
 * message at once (groups[i] with taken[i] set here), so that domains with the same
 * servers are merged into one delivery before they are queued. Returns how many
 * were taken; the rest go to the waiting list.
 */
size_t resolve_together(struct remote *r, struct delivery **groups, size_t ngroups,
    bool *taken);
void mx_set_free(struct mx_set *s);

/* remote_srs.c */
struct sender_memo {
	struct sender_memo_entry *v;
	size_t n;
};
/*
 * rcpt_sender - the MAIL FROM for recipient i of env: *out NULL (env->sender) or
 * the SRS address of a forwarded recipient (valid until m is freed). Returns 0, or
 * -1 when lookupd failed to say (the recipient is deferred, not sent unrewritten).
 */
int rcpt_sender(struct remote *r, const struct envelope *env, size_t i, struct sender_memo *m,
    const char **out);
void sender_memo_free(struct sender_memo *m);
/* log_rewrite - the log line of a recipient sent with an SRS sender. */
void log_rewrite(const struct envelope *env, size_t i, const char *sender);

/* dane_on - whether DANE applies to d at all: on at start and still, and not the relayhost. */
static inline bool
dane_on(const struct delivery *d)
{
	return d->r->tls_dane != NULL && remote_cfg(d->r)->dane && !d->route.relayhost;
}

/* sts_on - whether MTA-STS applies to d: on at start and still, an MX route (not the relayhost). */
static inline bool
sts_on(const struct delivery *d)
{
	return d->r->sts != NULL && remote_cfg(d->r)->mta_sts && !d->route.relayhost &&
	    d->route.kind == ROUTE_MX;
}

/* sts_enforced - whether d's current host must pass the policy: enforce, and not DANE's. */
static inline bool
sts_enforced(const struct delivery *d)
{
	return d->sts != NULL && d->sts->mode == STS_ENFORCE && d->dane == DANE_NONE;
}

/* remote_sts.c */
/*
 * sts_start - look up d's MTA-STS policy (sts_on), then then(d), which may run
 * before this returns; d->sts_oom says the lookup could not be made (out of memory:
 * d must not go on without its policy).
 */
void sts_start(struct delivery *d, void (*then)(struct delivery *d));
/* sts_free - d's policy copies (delivery_free). */
void sts_free(struct delivery *d);
/* sts_cancel - d's lookup, if one is under way: its callback will not come. */
void sts_cancel(struct delivery *d);
/*
 * sts_host_gate - hold the current host against the policy, once per host: false
 * when it is not in an enforced policy (logged, the reason in d; try the next).
 */
bool sts_host_gate(struct delivery *d);
/* sts_params - the TLS of a connection to the current host under the policy. false: finished. */
bool sts_params(struct delivery *d, struct client_params *p);
/* sts_session - one conversation's TLS outcome: d->sts_log, and the TLS-RPT results. */
void sts_session(struct delivery *d, const struct client_result *res);
/* tlsrpt_failure - a host not used (not in the policy, a bogus TLSA answer) for TLS-RPT. */
void tlsrpt_failure(struct delivery *d, const char *type, const char *result,
    const char *reason);
/* verify_ctx - the verifying client context of tls_ca_file (remote_try.c). NULL with err. */
SSL_CTX *verify_ctx(struct remote *r, char *err, size_t errlen);

/* remote_try.c */
/* next_host - try d's next server (its MX hosts in order, or its one host). */
void next_host(struct delivery *d);
/* read_auth - the relayhost's "user password" line into d. */
void read_auth(struct delivery *d, const char *path);

#endif
