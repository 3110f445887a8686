/* pop3d.h - the POP3 server role: what its sessions share. */
#ifndef MAILROOM_POP3D_H
#define MAILROOM_POP3D_H

#include <stddef.h>

#include "config.h"
#include "role.h"
#include "net/conn_limit.h"

typedef struct ssl_ctx_st SSL_CTX;

struct event_base;
struct evconnlistener;
struct accounts;
struct workpool;
struct pop3_session;

struct pop3d {
	struct event_base *base;
	struct config *cfg;      /* read afresh at each use: a reload replaces it */
	struct accounts *acct;
	char mail_dir[4096];     /* <data_dir>/mail */
	SSL_CTX *tls_ctx;        /* NULL: no [tls] configured; replaced on reload */
	struct workpool *work;
	unsigned login_pending;  /* logins submitted and not done: at most login_queue */   /* password checks and maildrop snapshots, off the loop */
	struct role_listeners listeners;
	struct pop3_session *sessions; /* every open session, for the shutdown */
};

#endif
