/*
 * tls.h - OpenSSL contexts. The supervisor reads the certificate and key files
 * (as root) into memory; the roles build their server context from those bytes
 * (net/tls_server.h), at start and at each reload, so the key file never has to
 * be readable by the unprivileged user.
 */
#ifndef MAILROOM_TLS_H
#define MAILROOM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

struct tls_pem {
	char *cert; /* PEM: the leaf, then the chain */
	size_t certlen;
	char *key;
	size_t keylen;
};

/* tls_pem_load - read both files. Returns 0, or -1 with a reason in err. */
int tls_pem_load(struct tls_pem *p, const char *cert_path, const char *key_path, char *err,
    size_t errlen);
void tls_pem_free(struct tls_pem *p); /* wipes the key */

/* tls_client_ctx - a client context for opportunistic STARTTLS (no verification). */
SSL_CTX *tls_client_ctx(char *err, size_t errlen);

/*
 * tls_client_verify_ctx - a client context that verifies the server's certificate
 * chain against the CAs in ca_file (PEM), or the system's store when NULL. Returns
 * NULL with a reason in err.
 */
SSL_CTX *tls_client_verify_ctx(const char *ca_file, char *err, size_t errlen);

/*
 * tls_client_verify_name - ssl (of a verifying context) accepts only a certificate
 * for name: a DNS name (wildcards only as a whole leftmost label), or an IP address
 * matched against the IP SANs. Also sets SNI for a name. Returns 0 or -1.
 */
int tls_client_verify_name(SSL *ssl, const char *name);

/* tls_describe - "TLSv1.3 TLS_AES_256_GCM_SHA384" for the log. */
void tls_describe(SSL *ssl, char *out, size_t outlen);

/* tls_dns_sans - "DNS:a,DNS:b" for the n names (a subjectAltName value) into out. 0, or -1 when it does not fit. */
int tls_dns_sans(const char *const *names, size_t n, char *out, size_t outlen);
/*
 * tls_subject_cn - CN=name added to subj when name fits a common name (64 octets,
 * RFC 5280's ub-common-name); a longer name is left to the subjectAltName, which
 * is what clients check. Returns 1 (added), 0 (too long: nothing added), or -1.
 */
int tls_subject_cn(X509_NAME *subj, const char *name);

/* tls_bio_text - what the memory BIO b holds, as a new NUL-terminated string (*len its length), or NULL. */
char *tls_bio_text(BIO *b, size_t *len);

/* tls_last_error - the OpenSSL error queue as one line (and cleared). */
void tls_last_error(char *out, size_t outlen);

#endif
