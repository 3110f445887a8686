/*
 * queued.h - the queue manager role: picks messages from the spool, hands their
 * recipients to the delivery agents (deliver/agent.h: local Maildirs, remote SMTP),
 * retries with backoff, bounces. Shared by queued.c (the role, its notices and
 * timers), round.c (delivery rounds and their results) and bounce.c.
 */
#ifndef MAILROOM_QUEUED_H
#define MAILROOM_QUEUED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "deliver/agent.h"
#include "ipc/frame.h"
#include "queue/wait_heap.h"
#include "store/spool.h"
#include "store/store.h"
#include "util/idtable.h"
#include "util/slab.h"

struct event_base;
struct event;
struct bufferevent;
struct accounts;
struct qctl_server;

enum agent_id { AGENT_LOCAL, AGENT_REMOTE, AGENT_COUNT };

/*
 * One queued message, as the scheduler knows it. Small on purpose: a deferred
 * message waits with its envelope on disk only (env NULL), and what the scheduler
 * needs to know of it meanwhile (when it is due, whether it is held) is here; a
 * backlog costs some 100 bytes a message (this, and a slot of the id table), in a
 * slab apart from the heap that delivery rounds churn.
 */
struct qmsg {
	struct queued *q;
	struct envelope *env;   /* the file's envelope and state while a round needs them, else NULL */
	struct qmsg *ready_next;
	time_t next_try;        /* between rounds: when it is due (0: now) */
	uint32_t heap_at;       /* its place in q->waiting, plus one; 0: not there */
	int dsn_fd;             /* the bounce being flushed, or -1 */
	unsigned parts;         /* agent jobs of this round still under way (and one hold while
				 * they are handed out: an agent may finish a job at once) */
	unsigned hops;          /* Received: fields of the message, once known */
	bool busy : 1;          /* a delivery of it is under way */
	bool recovering : 1;    /* found at start-up, or a flush failed: a local delivery may be
				 * in its mailbox already (the next local job looks first) */
	bool in_ready : 1;
	bool dirty : 1;         /* state changed since the last write */
	bool deleted : 1;       /* "queue delete" while busy: forget it when the round ends */
	bool hops_known : 1;
	bool held : 1;          /* while env is NULL: env->held */
	bool flushed : 1;       /* `queue flush` while env was NULL: msg_load makes its waiting
				 * recipients due, until a round begins */
	char id[QUEUE_ID_LEN + 1];
};

struct queued {
	struct event_base *base;
	struct config *cfg;
	struct accounts *acct;
	char data_dir[4096];
	struct store store;      /* the queue, the mailboxes, the group commit */
	struct event *notify_ev;  /* the CLI's datagrams: flush, delete */
	struct qctl_server *qctl; /* httpd's requests (queue_ctl_serve.h), or NULL */
	struct bufferevent *queue_bev; /* smtpd's QN_NEW frames */
	struct frame note;             /* the notice being read (one at a time, on the loop) */
	struct event *wake_ev;   /* the earliest retry, and the rescan */
	struct event *work_ev;   /* run the ready list on the next loop turn */
	struct idtable msgs;     /* id -> struct qmsg */
	struct slab msg_slab;    /* where the struct qmsg are */
	unsigned busy;           /* messages with a round under way */
	struct event *trim_ev;   /* give freed memory back once the rounds are over */
	struct qmsg *ready_head, *ready_tail;
	struct wait_heap waiting; /* the rest but busy and held ones, by next try */
	struct agent_env aenv;   /* what the agents share with the scheduler */
	struct agent agents[AGENT_COUNT]; /* by enum agent_id */
	time_t last_scan;
	time_t wake_at;           /* when wake_ev fires */
	struct dmarc_reporter *dmarc; /* the DMARC aggregate reports (dmarc_reports.h) */
	struct tls_reporter *tlsrpt;  /* the TLS reports (tls_reports.h) */
	/* the metrics' queue gauges: the least id known ("" when none; ids sort by arrival) */
	char oldest[QUEUE_ID_LEN + 1];
	bool oldest_stale;        /* it has left, and the walk for the next is due (oldest_ev) */
	time_t oldest_walked;     /* when the table was last walked for it */
	struct event *oldest_ev;
};

/* queued.c: the message table, the ready list, the timers */
struct qmsg *msg_add(struct queued *q, const char *id, bool recovering);
/* msg_load - read m's envelope and state from the spool when not in memory. 0, or -1 and errno. */
int msg_load(struct queued *q, struct qmsg *m);
/*
 * msg_unload - m waits (deferred, held): keep only what the scheduler needs of it.
 * Its state must be on disk (not dirty).
 */
void msg_unload(struct queued *q, struct qmsg *m);
/* msg_busy - a round of m begins (on) or has ended. */
void msg_busy(struct queued *q, struct qmsg *m, bool on);
/* msg_forget - drop a message from memory (its files are already gone or kept). */
void msg_forget(struct queued *q, struct qmsg *m);
/* ready_push - m is to be looked at in the next round. */
void ready_push(struct queued *q, struct qmsg *m);
struct qmsg *ready_pop(struct queued *q);
/* arm_wake - make the wake timer fire at or before when. */
void arm_wake(struct queued *q, time_t when);
/* queued_wake - make the scheduler look at the ready list again soon. */
void queued_wake(struct queued *q);
/* queued_flush - `queue flush`: rescan the spool and try every waiting recipient now. */
void queued_flush(struct queued *q);
/*
 * queued_forget_deleted - the files of id were removed (`queue delete`): forget it,
 * at the end of its round when one is under way.
 */
void queued_forget_deleted(struct queued *q, const char *id);
/* queued_delete - remove id from the queue and forget it; false when it is not there. */
bool queued_delete(struct queued *q, const char *id);

/* round.c */
/*
 * queued_round - start a delivery round for up to max messages of the ready list,
 * then tell each agent the round is over.
 */
void queued_round(struct queued *q, unsigned max);

#endif
