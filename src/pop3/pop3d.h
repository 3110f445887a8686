/* pop3d.h - the POP3 server role: what its sessions share. */
#ifndef MAILROOM_POP3D_H
#define MAILROOM_POP3D_H

#include <stddef.h>

#include "config.h"
#include "role.h"
#include "net/conn_limit.h"
#include "session/login.h"

typedef struct ssl_ctx_st SSL_CTX;

struct event_base;
struct evconnlistener;
struct accounts;
struct workpool;
struct line_session;

struct pop3d {
	struct event_base *base;
	struct config *cfg;      /* read afresh at each use: a reload replaces it */
	struct accounts *acct;
	char mail_dir[4096];     /* <data_dir>/mail */
	SSL_CTX *tls_ctx;        /* NULL: no [tls] configured; replaced on reload */
	struct login_pool logins; /* password checks and maildrop snapshots, off the loop */
	struct role_listeners listeners;
	struct line_session *sessions; /* every open session, for the shutdown */
};

#endif
