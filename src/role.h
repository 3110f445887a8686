/* role.h - what the supervisor hands each role process it forks. */
#ifndef MAILROOM_ROLE_H
#define MAILROOM_ROLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "net/conn_limit.h"
#include "net/rate_limit.h"
#include "net/tls_server.h"
#include "sandbox/sandbox.h"

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
	int qctl_fd;                     /* the queue control channel (queue/queue_ctl_proto.h):
					  * httpd's end in httpd, queued's in queued, else -1;
					  * kept open by the supervisor like queue_fd */
	const struct tls_certs *certs;   /* certificates and keys, or main.cert NULL (roles without TLS) */
	int lookup_fd;                   /* lookupd: its listening socket; else -1 */
	gid_t mail_gid;                  /* the group of the mail roles (lookupd admits it) */
	uid_t mail_uid;                  /* queued's user: lookupd signs DKIM for it alone (and root) */
	uid_t httpd_uid;                 /* httpd's user: lookupd answers the web's requests to it alone */
	int acme_fd;                     /* httpd and acmed: their ends of the ACME challenge
					  * channel (acme/acme_chan.h), kept open by the
					  * supervisor; else -1 */
	int acme_dir_fd;                 /* acmed: data_dir/acme/, opened by the supervisor; else -1 */
};

/* What the roles share: */

/*
 * role_reload_config - parse text (the supervisor's reading of the file; NULL: read
 * *cfg's file again); on success replace *cfg (else keep it, logged).
 */
void role_reload_config(struct config **cfg, const char *text, size_t len);

/*
 * role_reload_tls - when certs hold a certificate, a new context (with cfg's
 * [tls] policy) replacing *ctx (else keep it).
 */
void role_reload_tls(SSL_CTX **ctx, const struct tls_certs *certs, const struct config *cfg);

/* role_dummy_hash - a hash of a random password: checked for unknown users, so they take as long. */
void role_dummy_hash(char *out, size_t outlen);

struct event_base;
struct event;
struct ctl;
/* role_signals - SIGTERM and SIGINT stop base (sigs receives their events); SIGHUP and SIGPIPE ignored. */
int role_signals(struct event_base *base, struct event *sigs[2]);

/*
 * What starts and stops a role process the same way in every role: SIGTERM and
 * SIGINT stop its loop; on the supervisor's control channel a reload reads *cfg
 * again (and makes a new *tls from the certificates it carries, for roles with TLS), and
 * the channel's end (the supervisor is gone) stops the loop.
 */
struct role_control {
	struct event_base *base;
	struct config **cfg;
	SSL_CTX **tls;          /* NULL: the role has no TLS to reload */
	struct event *sigs[2];
	struct ctl *ctl;
	/* set by a role whose threads read *cfg (lookupd): a reload holds it for writing */
	pthread_rwlock_t *cfg_lock;
};

/* role_control_start - on base, with the control channel ctl_fd. Returns 0 or -1. */
int role_control_start(struct role_control *rc, struct event_base *base, int ctl_fd,
    struct config **cfg, SSL_CTX **tls);
/* role_control_free - the events of a role_control (started or not, zeroed at first). */
void role_control_free(struct role_control *rc);

struct role_listeners;
/*
 * role_serve_start - what the roles that serve clients (smtpd, pop3d) start
 * alike: the TLS context *tls from env's certificates (NULL without one), the
 * control (rc; a reload replaces *cfg and *tls), then the listeners l (set up by
 * the role) on env's sockets. Returns 0 or -1 (logged).
 */
int role_serve_start(struct role_control *rc, struct role_listeners *l, struct event_base *base,
    const struct role_env *env, struct config **cfg, SSL_CTX **tls);

struct accounts;
struct line_session;
/*
 * role_begin - a role process's first steps: its name in the logs, its event
 * loop (*base) and, when acct is not NULL, its queries to lookupd (*acct).
 * Returns 0 or -1 (logged).
 */
int role_begin(const char *role, const struct role_env *env, struct event_base **base,
    struct accounts **acct);

/*
 * role_serve_stop - the other end of role_serve_start, once no thread works for
 * a session any more: the listeners, the sessions still open (*sessions), the
 * control, the TLS context, the connection pools.
 */
void role_serve_stop(struct role_control *rc, struct role_listeners *l,
    struct line_session **sessions, SSL_CTX *tls);

/* role_end - a role process's last steps: its accounts handle, loop and config (each may be NULL). */
void role_end(struct event_base *base, struct accounts *acct, struct config *cfg);

/* role_run - put up the walls of profile (logging what the probes find), then serve until stopped. */
void role_run(struct event_base *base, enum sandbox_profile profile, const char *role,
    const struct config *cfg);

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
	struct rate_limit rates[SVC_COUNT]; /* connections a minute per client network */
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
int httpd_main(const struct role_env *env);
int acmed_main(const struct role_env *env);

#endif
