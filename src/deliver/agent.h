/*
 * agent.h - the delivery agents behind one interface. For each message it delivers,
 * queued hands an agent a job: the envelope (its text is msg/<id>, read with
 * store/msg_reader.h), the recipients for that agent, and callbacks: a result per
 * recipient, then done. The local agent (Maildir) and the remote agent (SMTP) are
 * two tables of these functions; an LMTP agent would be a third.
 */
#ifndef MAILROOM_AGENT_H
#define MAILROOM_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/envelope.h"

struct event_base;
struct config;
struct accounts;
struct committer;

/* The outcome for one recipient. */
struct agent_result {
	size_t idx;       /* the recipient: an index into env->rcpts */
	int code;         /* 2xx delivered; 4xx or 0 (no answer) deferred; 5xx failed for good */
	const char *relay; /* where it went, for the log: "local", "host[ip]:port", "none" */
	const char *text; /* the reply or the reason (the log, the state, the bounce) */
	bool unsure;      /* not known (a flush failed): look before delivering it again */
	const char *dane; /* remote, with DANE on: "verified", "failed" or "none"; else NULL */
	const char *sts;  /* remote, with MTA-STS on: "none", "testing", "verified", "failed",
			   * "dane" (DANE took precedence); else NULL */
	unsigned conn_use; /* remote: the transaction's number on its connection (1: a new
			    * one, 2...: a kept one, deliver/conn_cache.h); 0: none */
};

struct agent_job {
	const struct envelope *env; /* valid until done */
	const char *queue_dir;      /* the body: msg/<env->id> there (msg_open(queue_dir, env)) */
	const size_t *rcpts;        /* the recipients for this agent (the agent copies them) */
	size_t nrcpts;
	bool recovering;            /* found at start-up: a delivery may have been cut short */
	void (*result)(void *arg, const struct agent_result *res); /* once per recipient */
	void (*done)(void *arg);    /* once, after the last result; may run inside submit */
	void *arg;
};

struct agent_ops {
	const char *name;
	/* submit - take job. Returns 0, or -1 (nothing taken, no callback will come). */
	int (*submit)(void *self, const struct agent_job *job);
	/* flush - the end of a scheduling round: start what was gathered (NULL: never needed). */
	void (*flush)(void *self);
	/*
	 * free - stop. Jobs under way end without callbacks: their recipients stay
	 * pending in the spool and are tried again at the next start.
	 */
	void (*free)(void *self);
};

struct agent {
	const struct agent_ops *ops;
	void *self;
};

/* What the agents share with the scheduler; pointers to queued's own (they outlive the agents). */
struct agent_env {
	struct event_base *base;
	struct config *const *cfg;  /* the current config: a reload replaces *cfg */
	struct accounts *acct;
	struct committer *committer;
	const char *mail_dir;
	const char *queue_dir;      /* the MTA-STS policies and TLS-RPT results are kept there */
};

/*
 * agent_job_copy - src into dst with its recipients copied into *rcpts (which
 * dst->rcpts then points at; the agent frees it). Returns 0 or -1.
 */
int agent_job_copy(struct agent_job *dst, size_t **rcpts, const struct agent_job *src);

/* local_agent_new, remote_agent_new - each returns 0 with *a ready, or -1. */
int local_agent_new(struct agent *a, const struct agent_env *env);
int remote_agent_new(struct agent *a, const struct agent_env *env);

#endif
