/*
 * smtp_client.h - one outbound SMTP conversation with one server address: EHLO
 * (HELO fallback), STARTTLS (opportunistic; or required: with the certificate
 * verified against CAs, authenticated by DANE TLSA records, or unchecked), optional
 * AUTH PLAIN, PIPELINING when offered, the message streamed with CRLF line ends and
 * dot-stuffing, a result per recipient, and the timeouts of RFC 5321 4.5.3.2.
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
	int *rcpt_code;              /* DONE: per recipient, 0 = no answer (defer) */
	char (*rcpt_text)[CLIENT_TEXT_MAX];
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
};

typedef void (*client_done_fn)(void *arg, const struct client_result *res);

/* smtp_client_start - connect and run; done(arg, result) once at the end. NULL on setup failure. */
struct smtp_client *smtp_client_start(const struct client_params *p, client_done_fn done,
    void *arg);

/* smtp_client_abort - drop the conversation; done is not called. */
void smtp_client_abort(struct smtp_client *c);

#endif
