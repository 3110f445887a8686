/*
 * smtp_client.h - one outbound SMTP conversation with one server address: EHLO
 * (HELO fallback), STARTTLS (opportunistic; or required: with the certificate
 * verified against CAs, authenticated by DANE TLSA records, or unchecked), optional
 * AUTH PLAIN, PIPELINING when offered, the message streamed with CRLF line ends and
 * dot-stuffing, a result per recipient, and the timeouts of RFC 5321 4.5.3.2. After
 * a transaction the connection may be kept idle for the next one to the same server
 * (deliver/conn_cache.h): a new MAIL on it, with RSET first when the last ended early.
 */
#ifndef MAILROOM_SMTP_CLIENT_H
#define MAILROOM_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "store/spool.h"

struct event_base;
struct smtp_client;
struct tlsa_set;
typedef struct ssl_ctx_st SSL_CTX;

#define CLIENT_TEXT_MAX 512

enum client_outcome {
	CLIENT_DONE,       /* per-recipient results are in rcpt_code/rcpt_text */
	CLIENT_TRY_NEXT,   /* no transaction began (connect, greeting, EHLO): next address */
	CLIENT_TLS_FAILED, /* the TLS handshake failed: the same address again without TLS */
};

struct client_result {
	enum client_outcome outcome;
	int code;                    /* TRY_NEXT: the reply (or 0: no answer) */
	char text[CLIENT_TEXT_MAX];  /* TRY_NEXT: why */
	const char *tls_status;      /* TRY_NEXT: required TLS failed ("4.7.4", "4.7.5"); or NULL */
	bool dane_verified;          /* the server was authenticated by a TLSA record */
	bool tls_used;               /* the conversation went on over TLS */
	long verify_result;          /* with verify_name or check_name: X509_V_OK (0) or the
				      * OpenSSL verify error of the handshake */
	int *rcpt_code;              /* DONE: per recipient, 0 = no answer (defer) */
	char (*rcpt_text)[CLIENT_TEXT_MAX];
	/*
	 * DONE, with params reuse: the connection is idle and clean, and may carry the next
	 * transaction; the done callback keeps it with smtp_client_idle, or it is closed.
	 */
	bool reusable;
	/*
	 * TRY_NEXT on a kept connection (smtp_client_reuse): it was gone, or the server
	 * closed it, before anything of this transaction was answered. The same server
	 * may be tried again on a new connection.
	 */
	bool stale;
	unsigned conn_use;           /* this transaction's number on its connection: 1, 2, ... */
};

struct client_params {
	struct event_base *base;
	SSL_CTX *tls;                /* NULL or no_tls: never STARTTLS */
	bool no_tls;
	/*
	 * Non-NULL: TLS is required and tls is a verifying context (tls_client_verify_ctx);
	 * the certificate must name this host or address. No STARTTLS, or a failed
	 * handshake or check, defers every recipient (4.7.4 / 4.7.5) before any AUTH.
	 */
	const char *verify_name;
	/*
	 * With verify_name: a failed TLS requirement ends as CLIENT_TRY_NEXT with
	 * tls_status set, as for DANE (MTA-STS enforce: another MX host may do).
	 */
	bool verify_next;
	/*
	 * Non-NULL, without verify_name: tls is a verifying context and the certificate
	 * is checked against CAs and this name, but only reported in verify_result;
	 * TLS stays opportunistic (MTA-STS testing).
	 */
	const char *check_name;
	/*
	 * Non-NULL: DANE (RFC 7672). tls is a dane_tls_ctx (deliver/dane_tls.h), TLS is
	 * required and the server must match one of these records; a DANE-TA(2) chain
	 * must name dane_base (the TLSA base domain, also SNI) or one of dane_names (the
	 * MX host before CNAMEs, the next-hop domain; NULL: none). No STARTTLS, or a failed
	 * handshake or match, ends the conversation as CLIENT_TRY_NEXT with tls_status
	 * set: another server may do, never this one in clear.
	 */
	const struct tlsa_set *dane;
	const char *dane_base;
	const char *dane_names[2];
	bool tls_required;           /* TLS as for dane, the certificate unchecked (no usable TLSA) */
	const char *helo;            /* our name (copied: the config may be reloaded) */
	const char *host;            /* the server's name, for logs and SNI */
	struct sockaddr_storage addr; /* with the port set */
	const char *queue_dir;
	const struct envelope *env;  /* sender, body type, id, body offset and size */
	const char *sender;          /* MAIL FROM instead of env->sender (SRS); NULL: env's */
	const char *const *rcpts;    /* addresses to give in RCPT */
	size_t nrcpts;
	const char *prefix;          /* header lines sent before the text (LF ends); NULL: none */
	size_t prefix_len;
	const char *auth_user;       /* relayhost AUTH PLAIN, only over TLS; NULL: none */
	const char *auth_pass;
	bool reuse;                  /* the caller may keep the connection (result reusable) */
};

typedef void (*client_done_fn)(void *arg, const struct client_result *res);

/* smtp_client_start - connect and run; done(arg, result) once at the end. NULL on setup failure. */
struct smtp_client *smtp_client_start(const struct client_params *p, client_done_fn done,
    void *arg);

/* smtp_client_abort - drop the conversation (or the idle connection); done is not called. */
void smtp_client_abort(struct smtp_client *c);

#define CLIENT_KEY_MAX 1600

/*
 * smtp_client_key - what a connection made with p is to be found by: the server's
 * address and port, its name, our EHLO name, and everything that decided its TLS
 * and its login. A transaction whose params give the same key may run on a kept
 * connection made with p. Returns 0, or -1 (too long: not to be kept).
 */
int smtp_client_key(const struct client_params *p, char *out, size_t outlen);

/*
 * smtp_client_idle - keep c, whose result said reusable, idle for the next
 * transaction; only inside its done callback. The keeper owns c until gone(arg, c)
 * says it is closed and freed: after the server closed it or spoke unasked, or
 * after the QUIT that idle_secs idle, or smtp_client_release, begins (until then
 * smtp_client_abort may drop it: the shutdown). gone NULL: c is taken by
 * smtp_client_reuse next.
 */
void smtp_client_idle(struct smtp_client *c, int idle_secs,
    void (*gone)(void *arg, struct smtp_client *c), void *arg);

/* smtp_client_is_idle - whether the kept c can carry a transaction (not saying QUIT). */
bool smtp_client_is_idle(const struct smtp_client *c);

/*
 * smtp_client_reuse - the next transaction on the idle connection c, with p (whose
 * key is c's), then done(arg, result) once, as from smtp_client_start. Returns 0,
 * or -1 (out of memory: c is still idle and the caller's).
 */
int smtp_client_reuse(struct smtp_client *c, const struct client_params *p, client_done_fn done,
    void *arg);

/* smtp_client_release - a kept connection not wanted any more: QUIT, then gone. */
void smtp_client_release(struct smtp_client *c);

#endif
