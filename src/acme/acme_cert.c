/* acme_cert.c - keys, CSRs and certificate checks for ACME with OpenSSL 3 (see acme_cert.h). */
#include "acme/acme_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_jws.h"
#include "net/tls.h"

EVP_PKEY *
acme_key_new(void)
{
	return EVP_EC_gen("P-256");
}

char *
acme_key_pem(EVP_PKEY *key, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;

	if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		s = tls_bio_text(b, len);
		long n = BIO_get_mem_data(b, &data);
		if (n > 0)
			OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(b);
	return s;
}

EVP_PKEY *
acme_key_read(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return k;
}

char *
acme_csr(EVP_PKEY *key, const char *const *names, size_t n)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *san = NULL;
	unsigned char *der = NULL;
	char *out = NULL, list[8192];

	if (req == NULL || exts == NULL || n == 0 || tls_dns_sans(names, n, list, sizeof list) < 0)
		goto out;
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	/* RFC 8555 7.4: the names may be in the SAN alone (an empty subject). */
	if (!X509_REQ_set_version(req, 0) || tls_subject_cn(subj, names[0]) < 0 ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if ((san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, list)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, san))
		goto out;
	san = NULL; /* the stack has it */
	if (!X509_REQ_add_extensions(req, exts) || X509_REQ_sign(req, key, EVP_sha256()) == 0)
		goto out;
	int dlen = i2d_X509_REQ(req, &der);
	if (dlen > 0)
		out = b64url(der, (size_t)dlen);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_EXTENSION_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return out;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

int
acme_cert_inspect(const char *pem, size_t len, EVP_PKEY *key, const char *const *names,
    size_t n, struct acme_cert_info *info, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	if (x == NULL) {
		snprintf(err, errlen, "no certificate in the PEM text");
		return -1;
	}
	info->not_before = asn1_time(X509_get0_notBefore(x));
	info->not_after = asn1_time(X509_get0_notAfter(x));
	info->names_ok = true;
	/* Names only as dNSName entries: the subject's CN does not count. */
	for (size_t i = 0; i < n && info->names_ok; i++)
		info->names_ok = X509_check_host(x, names[i], 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
		    NULL) == 1;
	info->key_ok = key == NULL || X509_check_private_key(x, key) == 1;
	ERR_clear_error();
	X509_free(x);
	if (info->not_before == 0 || info->not_after <= info->not_before) {
		snprintf(err, errlen, "the certificate's validity cannot be read");
		return -1;
	}
	return 0;
}

time_t
acme_renew_at(time_t not_before, time_t not_after, uint64_t renew_before)
{
	uint64_t life = not_after > not_before ? (uint64_t)(not_after - not_before) : 0;
	uint64_t ahead = renew_before < life / 3 ? renew_before : life / 3;

	return not_after - (time_t)ahead;
}
