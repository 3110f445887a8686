/*
 * dane_tls.c - OpenSSL's DANE verification for the SMTP client: the context, the
 * TLSA records and reference names of one connection, and what matched.
 */
#include "deliver/dane_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "net/tls.h"

SSL_CTX *
dane_tls_ctx(char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = tls_client_ctx(err, errlen);

	if (ctx == NULL)
		return NULL;
	/* No CA store is loaded: PKIX trust is never enough (RFC 7672 3.1.3). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		tls_last_error(why, sizeof why);
		snprintf(err, errlen, "DANE client context: %s", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_dane_set_flags(ctx, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	return ctx;
}

int
dane_tls_setup(SSL *ssl, const char *base, const char *const *names, size_t nnames,
    const struct tlsa_set *set, char *err, size_t errlen)
{
	char why[256];
	int added = 0;

	if (SSL_dane_enable(ssl, base) <= 0)
		goto fail;
	/* Wildcards only as a whole leftmost label, as for any server name. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (size_t i = 0; i < nnames; i++)
		if (SSL_add1_host(ssl, names[i]) != 1)
			goto fail;
	for (size_t i = 0; i < set->n; i++) {
		const struct tlsa *t = &set->v[i];
		int rc = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->len);
		if (rc > 0)
			added++;
		else if (rc < 0)
			ERR_clear_error(); /* malformed data: one unusable record, not a failure */
	}
	return added;
fail:
	tls_last_error(why, sizeof why);
	snprintf(err, errlen, "cannot set up DANE for %s: %s", base, why);
	return -1;
}

int
dane_tls_describe(SSL *ssl, char *out, size_t outlen)
{
	static const char *const usages[] = { "PKIX-TA(0)", "PKIX-EE(1)", "DANE-TA(2)",
		"DANE-EE(3)" };
	uint8_t usage, selector, mtype;
	int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, NULL, NULL);

	if (depth < 0)
		return -1;
	snprintf(out, outlen, "%s %u %u at depth %d", usage < 4 ? usages[usage] : "?",
	    selector, mtype, depth);
	return 0;
}
