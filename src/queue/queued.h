/*
 * queued.h - the queue manager role: picks messages from the spool, hands their
 * recipients to the delivery agents (deliver/agent.h: local Maildirs, remote SMTP),
 * retries with backoff, bounces. Shared by queued.c (the role, its notices and
 * timers), round.c (delivery rounds and their results) and bounce.c.
 */
#ifndef MAILROOM_QUEUED_H
#define MAILROOM_QUEUED_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "deliver/agent.h"
#include "ipc/frame.h"
#include "store/spool.h"
#include "store/store.h"
#include "util/strmap.h"

struct event_base;
struct event;
struct bufferevent;
struct accounts;
struct qctl_server;

enum agent_id { AGENT_LOCAL, AGENT_REMOTE, AGENT_COUNT };

/* One queued message, as the scheduler knows it. */
struct qmsg {
	struct queued *q;
	char id[QUEUE_ID_LEN + 1];
	struct envelope env;
	bool loaded;     /* env holds the file's envelope and state */
	bool busy;       /* a delivery of it is under way */
	bool recovering; /* found at start-up, or a flush failed: a local delivery may be
			  * in its mailbox already (the next local job looks first) */
	bool in_ready;
	unsigned parts;  /* agent jobs of this round still under way (and one hold while
			  * they are handed out: an agent may finish a job at once) */
	bool dirty;      /* state changed since the last write */
	bool deleted;    /* "queue delete" while busy: forget it when the round ends */
	int dsn_fd;      /* the bounce being flushed, or -1 */
	bool hops_known;
	unsigned hops;   /* Received: fields of the message, once known */
	struct qmsg *ready_next;
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
	struct strmap msgs;      /* id -> struct qmsg */
	struct qmsg *ready_head, *ready_tail;
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
