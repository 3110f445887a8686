/*
 * queued.h - the queue manager role: picks messages from the spool, delivers
 * local recipients into Maildirs and remote ones through the SMTP client, retries
 * with backoff, bounces. Shared between the scheduler and the delivery agents.
 */
#ifndef MAILROOM_QUEUED_H
#define MAILROOM_QUEUED_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "ipc/frame.h"
#include "store/spool.h"
#include "util/strmap.h"

struct event_base;
struct event;
struct bufferevent;
struct accounts;
struct committer;
struct remote;

/* One queued message, as the scheduler knows it. */
struct qmsg {
	struct queued *q;
	char id[QUEUE_ID_LEN + 1];
	struct envelope env;
	bool loaded;     /* env holds the file's envelope and state */
	bool busy;       /* a delivery of it is under way */
	bool recovering; /* found at start-up: a delivery may have been cut short */
	bool in_ready;
	unsigned parts;  /* deliveries of this round still under way */
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
	char queue_dir[4096];
	char mail_dir[4096];
	struct committer *committer;
	int msgdir_fd;           /* queue/msg, flushed after new files appear in it */
	struct event *notify_ev;  /* the CLI's datagrams: flush, delete */
	struct bufferevent *queue_bev; /* smtpd's QN_NEW frames */
	struct frame note;             /* the notice being read (one at a time, on the loop) */
	struct event *wake_ev;   /* the earliest retry, and the rescan */
	struct event *work_ev;   /* run the ready list on the next loop turn */
	struct strmap msgs;      /* id -> struct qmsg */
	struct qmsg *ready_head, *ready_tail;
	bool batch_busy;         /* a local batch is between its two syncs */
	struct remote *remote;   /* the remote delivery agent */
	time_t last_scan;
	time_t wake_at;           /* when wake_ev fires */
};


/*
 * queued_rcpt_result - record the outcome of one recipient: code 2xx delivered,
 * 4xx (or 0: no answer) deferred or, past max_queue_lifetime, bounced; 5xx bounced.
 * text is the reply or the reason, for the log, the state and the bounce.
 */
void queued_rcpt_result(struct queued *q, struct qmsg *m, size_t idx, int code,
    const char *relay, const char *text);

/* queued_settle - after a delivery round: remove, bounce, or schedule the message. */
void queued_settle(struct queued *q, struct qmsg *m);

/* queued_wake - make the scheduler look at the ready list again soon. */
void queued_wake(struct queued *q);

#endif
