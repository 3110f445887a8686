/* sasl.h - SASL PLAIN (RFC 4616) and LOGIN payloads, base64 (pure functions). */
#ifndef MAILROOM_SASL_H
#define MAILROOM_SASL_H

#include <stddef.h>

#define SASL_FIELD_MAX 512 /* authzid, authcid, password: each at most this (with NUL) */

/*
 * base64_decode - strict RFC 4648 decoding of in[0..len) into out (NUL-added);
 * padding required, no whitespace. Returns the decoded length, or -1.
 */
long base64_decode(const char *in, size_t len, char *out, size_t outlen);

/* base64_encode - into out (NUL-terminated). Returns the length or -1 when it does not fit. */
long base64_encode(const void *in, size_t len, char *out, size_t outlen);

struct sasl_plain {
	char authzid[SASL_FIELD_MAX];
	char authcid[SASL_FIELD_MAX];
	char password[SASL_FIELD_MAX];
};

/*
 * sasl_plain_decode - a base64 PLAIN response: authzid NUL authcid NUL password,
 * no NUL inside a field, authcid and password not empty. "=" is the empty
 * response (refused). Returns 0 or -1.
 */
int sasl_plain_decode(const char *b64, size_t len, struct sasl_plain *out);

/* sasl_login_decode - one base64 LOGIN step (user name or password) into out. 0 or -1. */
int sasl_login_decode(const char *b64, size_t len, char *out, size_t outlen);

#endif
