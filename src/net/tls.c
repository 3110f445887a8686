/*
 * tls.c - the PEM bytes server contexts are built from (net/tls_server.c), and
 * client contexts: opportunistic, or verifying the server against trusted CAs and a name.
 */
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_MAX (1024 * 1024)

static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *data = malloc(PEM_MAX + 1);
	size_t n = data ? fread(data, 1, PEM_MAX + 1, f) : 0;
	bool bad = data == NULL || ferror(f) || n > PEM_MAX;
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "cannot read %s: too large or unreadable", path);
		free(data);
		return NULL;
	}
	data[n] = '\0';
	*len = n;
	return data;
}

int
tls_pem_load(struct tls_pem *p, const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof *p);
	if ((p->cert = read_file(cert_path, &p->certlen, err, errlen)) == NULL)
		return -1;
	if ((p->key = read_file(key_path, &p->keylen, err, errlen)) == NULL) {
		tls_pem_free(p);
		return -1;
	}
	return 0;
}

void
tls_pem_free(struct tls_pem *p)
{
	if (p->key)
		OPENSSL_cleanse(p->key, p->keylen);
	free(p->key);
	free(p->cert);
	memset(p, 0, sizeof *p);
}

int
tls_subject_cn(X509_NAME *subj, const char *name)
{
	if (strlen(name) > 64)
		return 0;
	return X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)name,
	    -1, -1, 0) ? 1 : -1;
}

int
tls_dns_sans(const char *const *names, size_t n, char *out, size_t outlen)
{
	size_t used = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + used, outlen - used, "%sDNS:%s", i ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= outlen - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

char *
tls_bio_text(BIO *b, size_t *len)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;

	if (s != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
		*len = (size_t)n;
	}
	return s;
}

void
tls_last_error(char *out, size_t outlen)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(out, outlen, "unknown TLS error");
	else
		ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

SSL_CTX *
tls_client_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		char why[256];
		tls_last_error(why, sizeof why);
		snprintf(err, errlen, "TLS client context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_client_verify_ctx(const char *ca_file, char *err, size_t errlen)
{
	char why[256];
	SSL_CTX *ctx = tls_client_ctx(err, errlen);

	if (ctx == NULL)
		return NULL;
	/* The name to match is set on each connection (tls_client_verify_name). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int ok = ca_file != NULL ? SSL_CTX_load_verify_file(ctx, ca_file) :
	    SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_last_error(why, sizeof why);
		snprintf(err, errlen, "cannot load the trusted CAs from %s: %s",
		    ca_file ? ca_file : "the system store", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tls_client_verify_name(SSL *ssl, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	unsigned char bin[16];

	if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1 ? 0 : -1;
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(vp, name, 0) != 1)
		return -1;
	/* SNI carries names only (RFC 6066 3): never an address literal. */
	return SSL_set_tlsext_host_name(ssl, name) == 1 ? 0 : -1;
}

void
tls_describe(SSL *ssl, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}
