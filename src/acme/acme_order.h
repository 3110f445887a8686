/*
 * acme_order.h - one certificate from an ACME server (RFC 8555 7): the directory,
 * a nonce, the account (newAccount, found again by its key), an order for the
 * names, each pending authorization answered by one challenge that httpd serves
 * (the hooks), polls until the names are valid, finalize with a CSR, polls until
 * the certificate is ready, and its download. Requests are signed with the
 * account key (JWS, kid after newAccount); a badNonce answer is retried with the
 * nonce it brought. Every poll is bounded in count and time.
 */
#ifndef MAILROOM_ACME_ORDER_H
#define MAILROOM_ACME_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>

#include "acme/acme_http.h"
#include "acme/acme_jws.h"
#include "config.h"

/* How the challenge responses reach httpd (acmed.c). Each returns 0 or -1 (logged). */
struct acme_hooks {
	void *arg;
	int (*http01)(void *arg, const char *token, const char *keyauth);
	int (*alpn)(void *arg, const char *name, const char *keyauth);
	/* wait until httpd serves what was given so far */
	int (*sync)(void *arg);
	/* forget them all (the order is over, either way) */
	void (*clear)(void *arg);
};

struct acme_client {
	struct acme_http *http;
	EVP_PKEY *account;                  /* the account key (ES256) */
	const char *email;                  /* NULL: no contact */
	enum acme_challenge type;
	const struct acme_hooks *hooks;
	/* kept by acme_obtain */
	char thumb[ACME_THUMB_LEN + 1];
	struct acme_directory dir;
	char kid[ACME_URL_MAX];
	char nonce[ACME_NONCE_MAX];
};

/*
 * acme_obtain - a certificate for names from the CA at directory, for the public
 * half of certkey. Returns 0 with the PEM chain in *chain (malloc'ed), or -1 with
 * a reason in err.
 */
int acme_obtain(struct acme_client *c, const char *directory, const char *const *names,
    size_t n, EVP_PKEY *certkey, char **chain, char *err, size_t errlen);

#endif
