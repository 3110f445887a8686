/*
 * test_tls_server.c - unit tests for net/tls_server.c: SNI name matching, the
 * check that a certificate names its SNI name, and handshakes in memory against
 * the server context (the certificate each name gets, min_protocol, ciphers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "net/selfsigned.h"
#include "net/tls_server.h"

static char dir[64];

/* The certificates the tests make: the main one and three for SNI. */
static const char *const names[] = { "mx.example.test", "mail.customer.example",
	"*.hosted.example", "other.example" };
#define NNAMES (sizeof names / sizeof names[0])

static void
paths(size_t i, char *cert, char *key)
{
	snprintf(cert, 128, "%s/cert%zu.pem", dir, i);
	snprintf(key, 128, "%s/key%zu.pem", dir, i);
}

static int
setup(void **state)
{
	char cert[128], key[128], err[256];

	snprintf(dir, sizeof dir, "/tmp/test_tls_server.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	for (size_t i = 0; i < NNAMES; i++) {
		paths(i, cert, key);
		if (selfsigned_create(cert, key, names[i], err, sizeof err) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	return 0;
}

static int
teardown(void **state)
{
	char cert[128], key[128];

	for (size_t i = 0; i < NNAMES; i++) {
		paths(i, cert, key);
		unlink(cert);
		unlink(key);
	}
	rmdir(dir);
	return 0;
}

/* make_config - defaults, the main certificate, and SNI entries for names[1..nsni]. */
static void
make_config(struct config *cfg, size_t nsni)
{
	char cert[128], key[128];

	config_defaults(cfg);
	paths(0, cert, key);
	cfg->tls_cert = strdup(cert);
	cfg->tls_key = strdup(key);
	cfg->tls_sni = calloc(nsni + 1, sizeof *cfg->tls_sni);
	assert_non_null(cfg->tls_sni);
	for (size_t i = 0; i < nsni; i++) {
		paths(i + 1, cert, key);
		snprintf(cfg->tls_sni[i].name, sizeof cfg->tls_sni[i].name, "%s", names[i + 1]);
		cfg->tls_sni[i].cert = strdup(cert);
		cfg->tls_sni[i].key = strdup(key);
	}
	cfg->ntls_sni = nsni;
}

/* shake - one handshake in memory; *peer gets the server's certificate. Returns whether it worked. */
static int
shake(SSL_CTX *server, const char *sni, int client_max, const char *client_ciphers, X509 **peer)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(cctx);
	SSL_CTX_set_security_level(cctx, 0);
	if (client_max != 0)
		SSL_CTX_set_max_proto_version(cctx, client_max);
	if (client_ciphers != NULL)
		assert_int_equal(SSL_CTX_set_cipher_list(cctx, client_ciphers), 1);
	SSL *c = SSL_new(cctx), *s = SSL_new(server);
	BIO *cb, *sb;
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	if (sni != NULL)
		SSL_set_tlsext_host_name(c, sni);
	int cdone = 0, sdone = 0, failed = 0;
	for (int round = 0; round < 50 && !(cdone && sdone) && !failed; round++) {
		if (!cdone) {
			int r = SSL_do_handshake(c);
			cdone = r == 1;
			failed |= r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ;
		}
		if (!sdone && !failed) {
			int r = SSL_do_handshake(s);
			sdone = r == 1;
			failed |= r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ;
		}
	}
	*peer = cdone && sdone ? SSL_get1_peer_certificate(c) : NULL;
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	return cdone && sdone;
}

/* served - the name on the certificate the server shows to a client asking for sni. */
static void
served(SSL_CTX *server, const char *sni, const char *want)
{
	X509 *x = NULL;
	char cn[256] = "";

	if (!shake(server, sni, 0, NULL, &x))
		fail_msg("handshake for %s failed", sni ? sni : "(no SNI)");
	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	X509_free(x);
	if (strcmp(cn, want) != 0)
		fail_msg("asked for %s, got the certificate of %s, want %s", sni ? sni : "(no SNI)",
		    cn, want);
}

static void
test_sni_match(void **state)
{
	assert_true(tls_sni_match("mail.example", "mail.example"));
	assert_true(tls_sni_match("mail.example", "MAIL.Example"));
	assert_false(tls_sni_match("mail.example", "mail.example.org"));
	assert_false(tls_sni_match("mail.example", "x.mail.example"));
	assert_true(tls_sni_match("*.example.com", "a.example.com"));
	assert_true(tls_sni_match("*.example.com", "Mail.EXAMPLE.com"));
	assert_false(tls_sni_match("*.example.com", "example.com"));
	assert_false(tls_sni_match("*.example.com", ".example.com"));
	assert_false(tls_sni_match("*.example.com", "a.b.example.com"));
	assert_false(tls_sni_match("*.example.com", "aexample.com"));
}

static void
test_cert_names(void **state)
{
	struct tls_pem p;
	char cert[128], key[128], err[256];

	paths(1, cert, key);
	assert_int_equal(tls_pem_load(&p, cert, key, err, sizeof err), 0);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "mail.customer.example"), 1);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "MAIL.customer.example"), 1);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "customer.example"), 0);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "*.customer.example"), 0);
	assert_int_equal(tls_cert_names(p.key, p.keylen, "mail.customer.example"), -1);
	tls_pem_free(&p);
	/* A wildcard certificate covers one name under it, and the wildcard entry itself. */
	paths(2, cert, key);
	assert_int_equal(tls_pem_load(&p, cert, key, err, sizeof err), 0);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "a.hosted.example"), 1);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "*.hosted.example"), 1);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "*.HOSTED.example"), 1);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "hosted.example"), 0);
	assert_int_equal(tls_cert_names(p.cert, p.certlen, "*.other.example"), 0);
	tls_pem_free(&p);
}

static void
test_sni_selects(void **state)
{
	struct config cfg;
	struct tls_certs certs;
	char err[512];

	make_config(&cfg, 3);
	if (tls_certs_load(&certs, &cfg, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_int_equal(certs.nsni, 3);
	SSL_CTX *ctx = tls_server_ctx(&certs, &cfg, err, sizeof err);
	assert_non_null(ctx);
	served(ctx, NULL, "mx.example.test");
	served(ctx, "mx.example.test", "mx.example.test");
	served(ctx, "mail.customer.example", "mail.customer.example");
	served(ctx, "Mail.Customer.EXAMPLE", "mail.customer.example");
	served(ctx, "www.hosted.example", "*.hosted.example");
	served(ctx, "a.b.hosted.example", "mx.example.test");
	served(ctx, "other.example", "other.example");
	served(ctx, "unknown.example", "mx.example.test");
	/* The table lives as long as a session made before the context is let go. */
	SSL *early = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_free(early);
	tls_certs_free(&certs);
	config_free(&cfg);
}

static void
test_sni_refusals(void **state)
{
	struct config cfg;
	struct tls_certs certs;
	char err[512];

	/* A certificate that does not name its entry's name. */
	make_config(&cfg, 1);
	snprintf(cfg.tls_sni[0].name, sizeof cfg.tls_sni[0].name, "webmail.customer.example");
	assert_int_equal(tls_certs_load(&certs, &cfg, err, sizeof err), -1);
	assert_string_equal(err, "[tls] sni: the certificate for webmail.customer.example does not "
	    "name webmail.customer.example");
	assert_null(certs.sni);
	config_free(&cfg);
	/* A key of another certificate. */
	make_config(&cfg, 1);
	free(cfg.tls_sni[0].key);
	cfg.tls_sni[0].key = strdup(cfg.tls_key);
	assert_int_equal(tls_certs_load(&certs, &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, "TLS certificate or key for mail.customer.example: "));
	config_free(&cfg);
	/* A file that is not there, named. */
	make_config(&cfg, 1);
	free(cfg.tls_sni[0].cert);
	cfg.tls_sni[0].cert = strdup("/nonexistent/cert.pem");
	assert_int_equal(tls_certs_load(&certs, &cfg, err, sizeof err), -1);
	assert_string_equal(err, "cannot read /nonexistent/cert.pem: No such file or directory");
	config_free(&cfg);
	/* A cipher list that selects nothing. */
	make_config(&cfg, 0);
	free(cfg.tls_ciphers);
	cfg.tls_ciphers = strdup("NOSUCHCIPHER");
	assert_int_equal(tls_certs_load(&certs, &cfg, err, sizeof err), -1);
	assert_string_equal(err, "[tls] ciphers 'NOSUCHCIPHER' selects no TLS 1.2 cipher suite");
	config_free(&cfg);
}

static void
test_policy(void **state)
{
	struct config cfg;
	struct tls_certs certs;
	char err[512];
	X509 *x;

	make_config(&cfg, 0);
	assert_int_equal(tls_certs_load(&certs, &cfg, err, sizeof err), 0);
	SSL_CTX *ctx = tls_server_ctx(&certs, &cfg, err, sizeof err);
	assert_non_null(ctx);
	/* TLS 1.2 with an AEAD suite: yes; older versions or CBC suites only: no. */
	assert_true(shake(ctx, NULL, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", &x));
	X509_free(x);
	assert_false(shake(ctx, NULL, TLS1_1_VERSION, "DEFAULT", &x));
	assert_false(shake(ctx, NULL, TLS1_VERSION, "DEFAULT", &x));
	assert_false(shake(ctx, NULL, TLS1_2_VERSION,
	    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256", &x));
	SSL_CTX_free(ctx);
	/* The same CBC client passes with a list that has its suite: the default is what refused it. */
	free(cfg.tls_ciphers);
	cfg.tls_ciphers = strdup("ECDHE-ECDSA-AES128-SHA");
	ctx = tls_server_ctx(&certs, &cfg, err, sizeof err);
	assert_non_null(ctx);
	assert_true(shake(ctx, NULL, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA", &x));
	X509_free(x);
	SSL_CTX_free(ctx);
	/* min_protocol = TLSv1.3 refuses a TLS 1.2 client. */
	cfg.tls_min_version = TLS1_3_VERSION;
	ctx = tls_server_ctx(&certs, &cfg, err, sizeof err);
	assert_non_null(ctx);
	assert_false(shake(ctx, NULL, TLS1_2_VERSION, NULL, &x));
	assert_true(shake(ctx, NULL, 0, NULL, &x));
	X509_free(x);
	SSL_CTX_free(ctx);
	tls_certs_free(&certs);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sni_match),
		cmocka_unit_test(test_cert_names),
		cmocka_unit_test(test_sni_selects),
		cmocka_unit_test(test_sni_refusals),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
