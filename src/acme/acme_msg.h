/*
 * acme_msg.h - what an ACME server answers (RFC 8555 7.1), read from the JSON
 * of a response body: the directory, orders, authorizations with their
 * challenges, and problem documents (RFC 7807). Pure functions: text in, fields
 * out; every string is bounded and a URL must be https.
 */
#ifndef MAILROOM_ACME_MSG_H
#define MAILROOM_ACME_MSG_H

#include <stdbool.h>
#include <stddef.h>

#define ACME_URL_MAX 1024
#define ACME_TOKEN_MAX 256
#define ACME_MAX_AUTHZ 100   /* as many as [acme] names may hold */
#define ACME_MAX_CHALLENGES 8

/* An object's status (7.1.6); ACME_ST_OTHER for the ends we treat alike (expired, ...). */
enum acme_status {
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_OTHER,
};

struct acme_directory {
	char new_nonce[ACME_URL_MAX];
	char new_account[ACME_URL_MAX];
	char new_order[ACME_URL_MAX];
};

struct acme_order {
	enum acme_status status;
	char finalize[ACME_URL_MAX];
	char certificate[ACME_URL_MAX]; /* "" until valid */
	char authz[ACME_MAX_AUTHZ][ACME_URL_MAX];
	size_t nauthz;
	char error[512];                /* the order's problem, if it has one */
};

struct acme_challenge_obj {
	char type[32];                  /* "http-01", "tls-alpn-01", ... */
	char url[ACME_URL_MAX];
	char token[ACME_TOKEN_MAX];     /* base64url only */
	enum acme_status status;
};

struct acme_authz {
	enum acme_status status;
	char name[254];                 /* the dns identifier */
	struct acme_challenge_obj chal[ACME_MAX_CHALLENGES];
	size_t nchal;
	char error[512];                /* the first failed challenge's problem */
};

/* Each returns 0, or -1 with a reason in err. */
int acme_parse_directory(const char *body, size_t len, struct acme_directory *d, char *err,
    size_t errlen);
int acme_parse_order(const char *body, size_t len, struct acme_order *o, char *err,
    size_t errlen);
int acme_parse_authz(const char *body, size_t len, struct acme_authz *a, char *err,
    size_t errlen);

/*
 * acme_parse_problem - "type: detail" of a problem document into out (the ACME
 * error namespace shortened to its last part, e.g. "badNonce: ..."); whether the
 * type is badNonce. A body that is no problem document gives "(no detail)".
 */
bool acme_parse_problem(const char *body, size_t len, char *out, size_t outlen);

/* acme_token_ok - whether a challenge token is base64url, 1 to ACME_TOKEN_MAX-1 octets. */
bool acme_token_ok(const char *token);

#endif
