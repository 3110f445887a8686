/*
 * tls_server.c - server contexts from the PEM bytes the supervisor read: one per
 * certificate, all with [tls] min_protocol and ciphers, the main one choosing
 * among the others by the client's SNI. The table of SNI contexts hangs off the
 * main context (its ex_data), so a session begun before a reload keeps the
 * certificates it started with until it ends.
 */
#include "net/tls_server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc/frame.h"

struct sni_slot {
	char name[256];
	SSL_CTX *ctx;
};

struct sni_table {
	size_t n;
	struct sni_slot v[];
};

int
tls_certs_add_sni(struct tls_certs *c, const char *name, struct tls_pem *pem)
{
	if (strlen(name) >= sizeof c->sni->name)
		return -1;
	struct tls_sni_pem *nv = realloc(c->sni, (c->nsni + 1) * sizeof *nv);
	if (nv == NULL)
		return -1;
	c->sni = nv;
	snprintf(nv[c->nsni].name, sizeof nv[c->nsni].name, "%s", name);
	nv[c->nsni].pem = *pem;
	memset(pem, 0, sizeof *pem);
	c->nsni++;
	return 0;
}

void
tls_certs_free(struct tls_certs *c)
{
	tls_pem_free(&c->main);
	for (size_t i = 0; i < c->nsni; i++)
		tls_pem_free(&c->sni[i].pem);
	free(c->sni);
	memset(c, 0, sizeof *c);
}

bool
tls_sni_match(const char *pattern, const char *name)
{
	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(pattern, name) == 0;
	const char *dot = strchr(name, '.');
	return dot != NULL && dot > name && strcasecmp(dot + 1, pattern + 2) == 0;
}

int
tls_cert_names(const char *cert, size_t certlen, const char *name)
{
	BIO *bio = BIO_new_mem_buf(cert, (int)certlen);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	int rc = 0;

	BIO_free(bio);
	if (x == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (strncmp(name, "*.", 2) != 0) {
		rc = X509_check_host(x, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	} else {
		/* A name of its own would not cover the others the pattern admits. */
		GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && !rc; i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
			if (g->type != GEN_DNS)
				continue;
			const unsigned char *s = ASN1_STRING_get0_data(g->d.dNSName);
			int n = ASN1_STRING_length(g->d.dNSName);
			rc = n == (int)strlen(name) && memchr(s, '\0', (size_t)n) == NULL &&
			    strncasecmp((const char *)s, name, (size_t)n) == 0;
		}
		GENERAL_NAMES_free(sans);
	}
	X509_free(x);
	ERR_clear_error();
	return rc;
}

/* apply_policy - what every server context shares: versions, suites, no caches. */
static int
apply_policy(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	char why[256];

	if (SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version ? cfg->tls_min_version :
	    TLS1_2_VERSION) != 1) {
		tls_last_error(why, sizeof why);
		snprintf(err, errlen, "[tls] min_protocol: %s", why);
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Sessions are short and many: no server-side cache to grow. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* The DHE suites of the list need a group: OpenSSL's built-in ones (RFC 7919). */
	SSL_CTX_set_dh_auto(ctx, 1);
	/* TLS 1.3's suites are all AEAD: OpenSSL's defaults stay. */
	if (cfg->tls_ciphers != NULL && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "[tls] ciphers '%s' selects no TLS 1.2 cipher suite",
		    cfg->tls_ciphers);
		return -1;
	}
	return 0;
}

int
tls_server_check_policy(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc = -1;

	if (ctx == NULL)
		snprintf(err, errlen, "out of memory");
	else
		rc = apply_policy(ctx, cfg, err, errlen);
	SSL_CTX_free(ctx);
	return rc;
}

/* one_ctx - a context for the certificate and key in p; for is "" or " for NAME" in errors. */
static SSL_CTX *
one_ctx(const struct tls_pem *p, const struct config *cfg, const char *for_name, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	char why[256];

	if (ctx == NULL)
		goto fail;
	if (apply_policy(ctx, cfg, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(p->cert, (int)p->certlen)) == NULL)
		goto fail;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto fail;
	X509_free(x);
	x = NULL;
	SSL_CTX_clear_chain_certs(ctx);
	X509 *ca;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			goto fail;
		}
	}
	ERR_clear_error(); /* the end of the chain reads as an error */
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(p->key, (int)p->keylen)) == NULL)
		goto fail;
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	EVP_PKEY_free(key);
	BIO_free(bio);
	return ctx;
fail:
	tls_last_error(why, sizeof why);
	snprintf(err, errlen, "TLS certificate or key%s: %s", for_name, why);
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

static void
sni_table_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct sni_table *t = ptr;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		SSL_CTX_free(t->v[i].ctx);
	free(t);
}

/* sni_index - the ex_data slot of SSL_CTX that owns its SNI table (made once; roles are one thread). */
static int
sni_index(void)
{
	static int idx = -1;

	if (idx < 0)
		idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_table_free);
	return idx;
}

void
tls_server_each_ctx(SSL_CTX *ctx, void (*fn)(SSL_CTX *, void *), void *arg)
{
	if (ctx == NULL)
		return;
	fn(ctx, arg);
	const struct sni_table *t = sni_index() >= 0 ? SSL_CTX_get_ex_data(ctx, sni_index()) : NULL;
	for (size_t i = 0; t != NULL && i < t->n; i++)
		fn(t->v[i].ctx, arg);
}

static SSL_CTX *
sni_find(const struct sni_table *t, const char *name)
{
	/* A name of its own wins over a wildcard that also covers it. */
	for (int wild = 0; wild < 2; wild++)
		for (size_t i = 0; i < t->n; i++)
			if ((t->v[i].name[0] == '*') == wild && tls_sni_match(t->v[i].name, name))
				return t->v[i].ctx;
	return NULL;
}

static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	SSL_CTX *c = name != NULL ? sni_find(arg, name) : NULL;

	/* Not ours: the main certificate, and the name is not acknowledged. */
	if (c == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_SSL_CTX(ssl, c) == NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* pem_fits - whether the pair fits one control frame, with room for the frame's other fields. */
static bool
pem_fits(const struct tls_pem *p, const char *path, char *err, size_t errlen)
{
	if (p->certlen + p->keylen + 1024 <= FRAME_MAX)
		return true;
	snprintf(err, errlen, "%s: the certificate and key take %zu octets, more than the %d a "
	    "role can be sent (leave out the CA bundle: the chain up to the root's child is enough)",
	    path, p->certlen + p->keylen, FRAME_MAX - 1024);
	return false;
}

int
tls_certs_load(struct tls_certs *c, const struct config *cfg, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (tls_server_check_policy(cfg, err, errlen) < 0)
		return -1;
	if (cfg->tls_cert == NULL)
		return 0;
	if (tls_pem_load(&c->main, cfg->tls_cert, cfg->tls_key, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < cfg->ntls_sni; i++) {
		const struct tls_sni_entry *e = &cfg->tls_sni[i];
		struct tls_pem pem;
		if (tls_pem_load(&pem, e->cert, e->key, err, errlen) < 0)
			goto fail;
		if (tls_certs_add_sni(c, e->name, &pem) < 0) {
			tls_pem_free(&pem);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	/* Each pair goes to the roles in one control frame (net/ctl.h): refuse here what
	 * could not, rather than start or reload with roles that lack it. */
	if (!pem_fits(&c->main, cfg->tls_cert, err, errlen))
		goto fail;
	for (size_t i = 0; i < c->nsni; i++)
		if (!pem_fits(&c->sni[i].pem, cfg->tls_sni[i].cert, err, errlen))
			goto fail;
	/* What the roles will make of them: a bad key or name is refused here, as root. */
	SSL_CTX *check = tls_server_ctx(c, cfg, err, errlen);
	if (check == NULL)
		goto fail;
	SSL_CTX_free(check);
	return 0;
fail:
	tls_certs_free(c);
	return -1;
}

SSL_CTX *
tls_server_ctx(const struct tls_certs *c, const struct config *cfg, char *err, size_t errlen)
{
	char for_name[300];
	SSL_CTX *ctx = one_ctx(&c->main, cfg, "", err, errlen);

	if (ctx == NULL || c->nsni == 0)
		return ctx;
	struct sni_table *t = calloc(1, sizeof *t + c->nsni * sizeof t->v[0]);
	if (t == NULL || sni_index() < 0 || SSL_CTX_set_ex_data(ctx, sni_index(), t) != 1) {
		free(t);
		snprintf(err, errlen, "out of memory");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* From here the table is the context's: freeing ctx frees it and what it holds. */
	for (size_t i = 0; i < c->nsni; i++) {
		const struct tls_sni_pem *s = &c->sni[i];
		snprintf(for_name, sizeof for_name, " for %s", s->name);
		SSL_CTX *sub = one_ctx(&s->pem, cfg, for_name, err, errlen);
		if (sub == NULL) {
			SSL_CTX_free(ctx);
			return NULL;
		}
		t->v[t->n].ctx = sub;
		snprintf(t->v[t->n].name, sizeof t->v[t->n].name, "%s", s->name);
		t->n++;
		/* Else a client checking the name would fail: the entry would serve no one. */
		if (tls_cert_names(s->pem.cert, s->pem.certlen, s->name) != 1) {
			snprintf(err, errlen, "[tls] sni: the certificate for %s does not name %s",
			    s->name, s->name);
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	return ctx;
}
