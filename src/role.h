/* role.h - what the supervisor hands each role process it forks. */
#ifndef MAILROOM_ROLE_H
#define MAILROOM_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "net/conn_limit.h"
#include "net/tls.h"

/* A socket the supervisor bound, and the service it is for. */
struct listener_fd {
	enum service svc;
	int fd;
};

struct role_env {
	struct config *cfg;              /* owned by the role from now on */
	const struct listener_fd *fds;   /* this role's listening sockets */
	size_t nfds;
	int ctl_fd;                      /* control channel from the supervisor */
	int queue_fd;                    /* smtpd: writes "new <id>\n" lines to queued,
					  * which reads them; a stream the supervisor keeps
					  * open, so it survives a restart of either */
	const struct tls_pem *pem;       /* certificate and key, or cert NULL (roles without TLS) */
	int lookup_fd;                   /* lookupd: its listening socket; else -1 */
	gid_t mail_gid;                  /* the group of the mail roles (lookupd admits it) */
};

/* What the roles share: */

/* role_reload_config - read *cfg's file again; on success replace *cfg (else keep it, logged). */
void role_reload_config(struct config **cfg);

/* role_reload_tls - when pem holds a certificate, a new context replacing *ctx (else keep it). */
void role_reload_tls(SSL_CTX **ctx, const struct tls_pem *pem);

/* role_dummy_hash - a hash of a random password: checked for unknown users, so they take as long. */
void role_dummy_hash(char *out, size_t outlen);

struct event_base;
struct event;
/* role_signals - SIGTERM and SIGINT stop base (sigs receives their events); SIGHUP and SIGPIPE ignored. */
int role_signals(struct event_base *base, struct event *sigs[2]);

struct evconnlistener;
struct role_listeners;

/* A client admitted by the connection limits, as role_listen hands it to the role. */
struct role_client {
	int fd;
	enum service svc;      /* the listener */
	const char *ip;        /* as text; valid during the call */
	bool trusted;          /* in trusted_networks */
	struct conn_slot slot; /* the place in the listener's pool */
};

/*
 * The listening sockets of a serving role, admitting clients through its
 * connection limits: a pool for each service (max_connections and
 * max_connections_per_ip apply per listener), counted by client network.
 */
struct role_listen_ctx {
	struct role_listeners *l;
	enum service svc;
};

struct role_listeners {
	/* set by the role */
	void *srv;
	struct config **cfg;       /* the role's current config (limits, hostname) */
	/* the line a client over the limits gets before the close */
	void (*refusal)(void *srv, char *line, size_t len);
	/* an admitted client: 0 when the role took over c->fd and the place in
	 * c->slot (given back with conn_slot_leave when the session ends); -1 when it
	 * could not (role_listen then closes fd and gives the place back) */
	int (*accept)(void *srv, const struct role_client *c);
	/* kept by role_listen */
	struct conn_limit pools[SVC_COUNT];
	struct evconnlistener **v;
	struct role_listen_ctx *ctx;
	size_t n;
};

/* role_listen - listen on every socket of env. Returns 0 or -1. */
int role_listen(struct role_listeners *l, struct event_base *base, const struct role_env *env);
/* role_listeners_free - stop listening (the pools stay for the sessions still open). */
void role_listeners_free(struct role_listeners *l);
/* role_pools_free - after the last session. */
void role_pools_free(struct role_listeners *l);

int lookupd_main(const struct role_env *env);
int smtpd_main(const struct role_env *env);
int queued_main(const struct role_env *env);
int pop3d_main(const struct role_env *env);

#endif
