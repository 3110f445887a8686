/*
 * acme_cert.h - the X.509 side of ACME: EC P-256 keys in PEM, the CSR that
 * finalizes an order (RFC 8555 7.4: every name as a subjectAltName), what a
 * certificate chain says (validity, names, whether it fits a key), and when to
 * renew it.
 */
#ifndef MAILROOM_ACME_CERT_H
#define MAILROOM_ACME_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>

/* acme_key_new - a new EC P-256 key, or NULL. */
EVP_PKEY *acme_key_new(void);
/* acme_key_pem - key as PKCS #8 PEM (malloc'ed; wipe before free), or NULL; *len its length. */
char *acme_key_pem(EVP_PKEY *key, size_t *len);
/* acme_key_read - a key from PEM text, or NULL. */
EVP_PKEY *acme_key_read(const char *pem, size_t len);

/* acme_csr - a DER CSR for names (CN the first), signed by key, in base64url (malloc'ed), or NULL. */
char *acme_csr(EVP_PKEY *key, const char *const *names, size_t n);

struct acme_cert_info {
	time_t not_before;
	time_t not_after;
	bool names_ok;   /* every name is in the certificate */
	bool key_ok;     /* its public key is key's (true when no key was given) */
};

/*
 * acme_cert_inspect - the leaf (first certificate) of a PEM chain, against names
 * and key (may be NULL). Returns 0, or -1 with a reason in err when there is no
 * certificate to read.
 */
int acme_cert_inspect(const char *pem, size_t len, EVP_PKEY *key, const char *const *names,
    size_t n, struct acme_cert_info *info, char *err, size_t errlen);

/*
 * acme_renew_at - when a certificate valid from not_before to not_after is due:
 * renew_before ahead of its end, but never less than a third of its lifetime
 * ahead (short-lived certificates renew at two thirds).
 */
time_t acme_renew_at(time_t not_before, time_t not_after, uint64_t renew_before);

#endif
