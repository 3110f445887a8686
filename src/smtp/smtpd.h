/* smtpd.h - the SMTP server role: listeners, limits shared by its sessions, the spool. */
#ifndef MAILROOM_SMTPD_H
#define MAILROOM_SMTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "deliver/dns_ops.h"
#include "inbound/report_log.h"
#include "ipc/frame.h"
#include "role.h"
#include "net/conn_limit.h"
#include "store/store.h"
#include "session/login.h"
#include "net/rate_limit.h"
#include "smtp/screen.h"

typedef struct ssl_ctx_st SSL_CTX;

struct event_base;
struct bufferevent;
struct evconnlistener;
struct accounts;
struct workpool;
struct line_session;
struct dkim_vkeycache;

struct smtpd {
	struct event_base *base;
	struct config *cfg; /* read afresh at each use: SIGHUP replaces it */
	struct accounts *acct;
	struct store store;            /* the queue, the mailboxes, the group commit */
	struct bufferevent *queue_bev; /* QN_NEW frames to queued (queue/notify.h) */
	struct frame note;             /* the notice being written */
	SSL_CTX *tls_ctx;        /* NULL: no [tls] configured; replaced on reload */
	struct login_pool logins; /* password checks off the loop (session/login.h) */
	struct role_listeners listeners;
	struct line_session *sessions; /* every open session, for the shutdown */
	struct dns *dns;               /* for SPF, DKIM and DMARC of mail from outside; NULL: off */
	struct dns_ops dns_ops;
	struct dkim_vkeycache *dkim_keys; /* the DKIM public keys of recent mail, parsed
					   * (NULL: each message reads its own) */
	struct dkim_vpool *dkim_pool;  /* threads for the signature checks (NULL: the loop) */
	struct screen screen;          /* clients screened before the greeting */
	struct rate_limit message_rates; /* MAIL commands a minute per client network */
	struct report_log dmarc_log;   /* lines for the DMARC aggregate reports */
};


#endif
