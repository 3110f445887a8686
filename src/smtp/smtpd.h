/* smtpd.h - the SMTP server role: listeners, limits shared by its sessions, the spool. */
#ifndef MAILROOM_SMTPD_H
#define MAILROOM_SMTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ipc/frame.h"
#include "role.h"
#include "net/conn_limit.h"
#include "store/store.h"

typedef struct ssl_ctx_st SSL_CTX;

struct event_base;
struct bufferevent;
struct evconnlistener;
struct accounts;
struct workpool;
struct smtp_session;

struct smtpd {
	struct event_base *base;
	struct config *cfg; /* read afresh at each use: SIGHUP replaces it */
	struct accounts *acct;
	struct store store;            /* the queue, the mailboxes, the group commit */
	struct bufferevent *queue_bev; /* QN_NEW frames to queued (queue/notify.h) */
	struct frame note;             /* the notice being written */
	SSL_CTX *tls_ctx;        /* NULL: no [tls] configured; replaced on reload */
	struct workpool *auth;   /* password checks off the loop */
	unsigned auth_pending;   /* checks submitted and not done: at most login_queue */
	struct role_listeners listeners;
	struct smtp_session *sessions; /* every open session, for the shutdown */
};


#endif
