/*
 * selfsigned.c - make a key and a self-signed X.509 v3 certificate with OpenSSL 3:
 * as files for `mailroom init`, in memory for serve's stand-in until ACME brings
 * a certificate, and with the acmeIdentifier extension for tls-alpn-01.
 */
#include "net/selfsigned.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#define VALID_DAYS 3650

static int
ssl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, msg, sizeof msg);
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, msg);
	return -1;
}

/* add_ext - one extension in OpenSSL's config syntax ("critical,CA:FALSE"). */
static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* random_serial - a positive 127-bit serial, as RFC 5280 wants it unique. */
static int
random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* acme_identifier - RFC 8737 3: the critical id-pe-acmeIdentifier extension with digest. */
static int
acme_identifier(X509 *x, const unsigned char digest[32])
{
	unsigned char der[34] = { 0x04, 0x20 }; /* the extension's value: an OCTET STRING of 32 */
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	memcpy(der + 2, digest, 32);
	if (os != NULL && obj != NULL && ASN1_OCTET_STRING_set(os, der, sizeof der) &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os)) != NULL && X509_add_ext(x, ext, -1))
		rc = 0;
	X509_EXTENSION_free(ext);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

static X509 *
make_cert(EVP_PKEY *pkey, const char *const *names, size_t n, bool loopback, long days,
    const unsigned char *acme_id)
{
	X509 *x = X509_new();
	char san[8192];
	X509V3_CTX ctx;

	if (x == NULL || n == 0 || tls_dns_sans(names, n, san, sizeof san) < 0)
		goto fail;
	size_t used = strlen(san);
	if (loopback && snprintf(san + used, sizeof san - used, ",IP:127.0.0.1,IP:::1") >=
	    (int)(sizeof san - used))
		goto fail;
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) || random_serial(x) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL ||
	    !X509_set_pubkey(x, pkey))
		goto fail;
	/* Its own issuer, which may not be empty (RFC 5280 4.1.2.4): a name too long for CN gives O. */
	int cn = tls_subject_cn(name, names[0]);
	if (cn < 0 || (cn == 0 && !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"mailroom", -1, -1, 0)) || !X509_set_issuer_name(x, name))
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, &ctx, NID_subject_alt_name, san) < 0 ||
	    (acme_id != NULL && acme_identifier(x, acme_id) < 0))
		goto fail;
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
selfsigned_pem(const char *const *names, size_t n, bool loopback, long days,
    const unsigned char *acme_id, struct tls_pem *out, char *err, size_t errlen)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = pkey ? make_cert(pkey, names, n, loopback, days, acme_id) : NULL;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (x == NULL || cb == NULL || kb == NULL || !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL)) {
		ssl_fail(err, errlen, "cannot make a self-signed certificate");
		goto out;
	}
	out->cert = tls_bio_text(cb, &out->certlen);
	out->key = tls_bio_text(kb, &out->keylen);
	if (out->cert == NULL || out->key == NULL) {
		tls_pem_free(out);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (kb != NULL) {
		char *data;
		long kn = BIO_get_mem_data(kb, &data);
		if (kn > 0)
			OPENSSL_cleanse(data, (size_t)kn);
	}
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/* open_new - fopen for writing a file that must not exist yet, with mode. */
static FILE *
open_new(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (f == NULL)
		close(fd);
	return f;
}

/* finish - flush, sync and close f; whether all of it reached the disk. */
static bool
finish(FILE *f)
{
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	return fclose(f) == 0 && ok;
}

int
selfsigned_create(const char *cert_path, const char *key_path, const char *hostname,
    char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	FILE *f;
	int rc = -1;
	bool key_written = false;

	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		ssl_fail(err, errlen, "cannot generate a key");
		goto out;
	}
	if ((x = make_cert(pkey, &hostname, 1, true, VALID_DAYS, NULL)) == NULL) {
		ssl_fail(err, errlen, "cannot make the certificate");
		goto out;
	}
	if ((f = open_new(key_path, 0600)) == NULL) {
		snprintf(err, errlen, "%s: %s", key_path, strerror(errno));
		goto out;
	}
	key_written = true;
	if (!PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)) {
		fclose(f);
		ssl_fail(err, errlen, key_path);
		goto out;
	}
	if (!finish(f)) {
		snprintf(err, errlen, "%s: %s", key_path, strerror(errno));
		goto out;
	}
	if ((f = open_new(cert_path, 0644)) == NULL) {
		snprintf(err, errlen, "%s: %s", cert_path, strerror(errno));
		goto out;
	}
	if (!PEM_write_X509(f, x)) {
		fclose(f);
		unlink(cert_path);
		ssl_fail(err, errlen, cert_path);
		goto out;
	}
	if (!finish(f)) {
		snprintf(err, errlen, "%s: %s", cert_path, strerror(errno));
		unlink(cert_path);
		goto out;
	}
	rc = 0;
out:
	/* no half-made pair left behind */
	if (rc < 0 && key_written)
		unlink(key_path);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}
