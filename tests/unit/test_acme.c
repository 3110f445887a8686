/*
 * test_acme.c - unit tests for the ACME pieces: base64url (RFC 4648 test vectors),
 * the JWK thumbprint (RFC 7638 3.1's example), ES256 JWS checked by OpenSSL with
 * the key rebuilt from the JWK, the parsing of directories, orders,
 * authorizations and problems, the CSR, the tls-alpn-01 certificate (RFC 8737),
 * and when a certificate is due for renewal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme/acme_cert.h"
#include "acme/acme_jws.h"
#include "acme/acme_msg.h"
#include "net/selfsigned.h"

static void
test_b64url(void **state)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char out[64];
	size_t n;

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		char *s = b64url(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(s, vec[i][1]);
		free(s);
		assert_int_equal(b64url_decode(vec[i][1], out, sizeof out, &n), 0);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_memory_equal(out, vec[i][0], n);
	}
	/* The URL-safe alphabet: 0xfb 0xff -> "-_8", never '+' or '/'. */
	char *s = b64url("\xfb\xff", 2);
	assert_string_equal(s, "-_8");
	free(s);
	assert_int_equal(b64url_decode("Zm9vYg==", out, sizeof out, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(b64url_decode("Zm9v+g", out, sizeof out, &n), -1);
	assert_int_equal(b64url_decode("Z", out, sizeof out, &n), -1);
	assert_int_equal(b64url_decode("Zm9vYmFy", out, 5, &n), -1);
}

/* RFC 7638 3.1: the RSA key of RFC 7517's example and its thumbprint. */
static void
test_thumbprint_rfc7638(void **state)
{
	const char *jwk_text = "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAF"
	    "bWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5"
	    "JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d"
	    "0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHa"
	    "Q-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\","
	    "\"kid\":\"2011-04-29\"}";
	char thumb[ACME_THUMB_LEN + 1];
	json_t *jwk = json_loads(jwk_text, 0, NULL);

	assert_non_null(jwk);
	assert_int_equal(acme_jwk_thumbprint(jwk, thumb), 0);
	assert_string_equal(thumb, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* Members the thumbprint does not use (alg, kid) do not change it; a missing one fails. */
	json_object_del(jwk, "alg");
	assert_int_equal(acme_jwk_thumbprint(jwk, thumb), 0);
	assert_string_equal(thumb, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_object_del(jwk, "e");
	assert_int_equal(acme_jwk_thumbprint(jwk, thumb), -1);
	json_decref(jwk);

	char *ka = acme_key_authorization("tok_EN-1", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_string_equal(ka, "tok_EN-1.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	free(ka);
}

/* b64_json - the JSON object that a base64url field holds. */
static json_t *
b64_json(const char *b64)
{
	unsigned char buf[4096];
	size_t n;

	assert_int_equal(b64url_decode(b64, buf, sizeof buf - 1, &n), 0);
	buf[n] = '\0';
	json_t *j = json_loads((const char *)buf, 0, NULL);
	assert_non_null(j);
	return j;
}

/* key_from_jwk - the EC public key a verifier builds from the JWK alone. */
static EVP_PKEY *
key_from_jwk(const json_t *jwk)
{
	unsigned char x[32], y[32], pub[65];
	size_t n;

	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_int_equal(b64url_decode(json_string_value(json_object_get(jwk, "x")), x, 32, &n), 0);
	assert_int_equal(n, 32);
	assert_int_equal(b64url_decode(json_string_value(json_object_get(jwk, "y")), y, 32, &n), 0);
	assert_int_equal(n, 32);
	pub[0] = 0x04;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return key;
}

/* verify_es256 - the JWS signature (r || s) over "protected.payload", by pub. */
static bool
verify_es256(EVP_PKEY *pub, const char *prot, const char *payload, const char *sig64)
{
	unsigned char raw[64], *der = NULL;
	size_t n;
	char input[8192];

	assert_int_equal(b64url_decode(sig64, raw, sizeof raw, &n), 0);
	assert_int_equal(n, 64);
	ECDSA_SIG *sig = ECDSA_SIG_new();
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	int dlen = i2d_ECDSA_SIG(sig, &der);
	snprintf(input, sizeof input, "%s.%s", prot, payload);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	int ok = EVP_DigestVerify(md, der, (size_t)dlen, (unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	return ok == 1;
}

static void
test_jws(void **state)
{
	EVP_PKEY *key = acme_key_new();
	assert_non_null(key);

	/* newAccount: the JWK in the header, no kid. */
	char *text = acme_jws(key, NULL, "nonce-1", "https://ca.example/new-acct",
	    "{\"termsOfServiceAgreed\":true}");
	assert_non_null(text);
	json_t *jws = json_loads(text, 0, NULL);
	const char *p64 = json_string_value(json_object_get(jws, "protected"));
	const char *b64 = json_string_value(json_object_get(jws, "payload"));
	const char *s64 = json_string_value(json_object_get(jws, "signature"));
	json_t *prot = b64_json(p64);
	assert_string_equal(json_string_value(json_object_get(prot, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "nonce-1");
	assert_string_equal(json_string_value(json_object_get(prot, "url")),
	    "https://ca.example/new-acct");
	assert_null(json_object_get(prot, "kid"));
	json_t *payload = b64_json(b64);
	assert_true(json_is_true(json_object_get(payload, "termsOfServiceAgreed")));
	EVP_PKEY *pub = key_from_jwk(json_object_get(prot, "jwk"));
	assert_true(verify_es256(pub, p64, b64, s64));
	/* A changed payload does not verify. */
	assert_false(verify_es256(pub, p64, "e30", s64));
	/* The JWK's thumbprint is that of acme_jwk. */
	char t1[ACME_THUMB_LEN + 1], t2[ACME_THUMB_LEN + 1];
	json_t *jwk = acme_jwk(key);
	assert_int_equal(acme_jwk_thumbprint(jwk, t1), 0);
	assert_int_equal(acme_jwk_thumbprint(json_object_get(prot, "jwk"), t2), 0);
	assert_string_equal(t1, t2);
	json_decref(jwk);
	json_decref(payload);
	json_decref(prot);
	json_decref(jws);
	free(text);

	/* Later requests: kid, no JWK; POST-as-GET has an empty payload. */
	text = acme_jws(key, "https://ca.example/acct/7", "nonce-2", "https://ca.example/order/1",
	    "");
	jws = json_loads(text, 0, NULL);
	p64 = json_string_value(json_object_get(jws, "protected"));
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
	prot = b64_json(p64);
	assert_string_equal(json_string_value(json_object_get(prot, "kid")),
	    "https://ca.example/acct/7");
	assert_null(json_object_get(prot, "jwk"));
	assert_true(verify_es256(pub, p64, "", json_string_value(json_object_get(jws, "signature"))));
	json_decref(prot);
	json_decref(jws);
	free(text);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

static void
test_parse_directory(void **state)
{
	struct acme_directory d;
	char err[256];
	const char *ok = "{\"newNonce\":\"https://ca.example/nonce\",\"newAccount\":"
	    "\"https://ca.example/acct\",\"newOrder\":\"https://ca.example/order\","
	    "\"meta\":{\"termsOfService\":\"https://ca.example/tos\"}}";

	assert_int_equal(acme_parse_directory(ok, strlen(ok), &d, err, sizeof err), 0);
	assert_string_equal(d.new_nonce, "https://ca.example/nonce");
	assert_string_equal(d.new_order, "https://ca.example/order");
	const char *plain = "{\"newNonce\":\"http://ca.example/nonce\",\"newAccount\":\"https://a/\","
	    "\"newOrder\":\"https://a/\"}";
	assert_int_equal(acme_parse_directory(plain, strlen(plain), &d, err, sizeof err), -1);
	assert_string_equal(err, "'newNonce' is not an https URL");
	const char *missing = "{\"newNonce\":\"https://a/\",\"newAccount\":\"https://a/\"}";
	assert_int_equal(acme_parse_directory(missing, strlen(missing), &d, err, sizeof err), -1);
	assert_string_equal(err, "'newOrder' is missing");
	assert_int_equal(acme_parse_directory("[1]", 3, &d, err, sizeof err), -1);
	assert_int_equal(acme_parse_directory("{\"a\":", 5, &d, err, sizeof err), -1);
	const char *dup = "{\"newNonce\":\"https://a/\",\"newNonce\":\"https://b/\"}";
	assert_int_equal(acme_parse_directory(dup, strlen(dup), &d, err, sizeof err), -1);
}

static void
test_parse_order(void **state)
{
	struct acme_order *o = malloc(sizeof *o);
	char err[256];
	const char *pending = "{\"status\":\"pending\",\"expires\":\"2030-01-01T00:00:00Z\","
	    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"mx.example.org\"}],"
	    "\"finalize\":\"https://ca.example/finalize/1\",\"authorizations\":"
	    "[\"https://ca.example/authz/a\",\"https://ca.example/authz/b\"]}";

	assert_int_equal(acme_parse_order(pending, strlen(pending), o, err, sizeof err), 0);
	assert_int_equal(o->status, ACME_ST_PENDING);
	assert_int_equal(o->nauthz, 2);
	assert_string_equal(o->authz[1], "https://ca.example/authz/b");
	assert_string_equal(o->certificate, "");
	const char *valid = "{\"status\":\"valid\",\"finalize\":\"https://ca.example/f\","
	    "\"certificate\":\"https://ca.example/cert/9\",\"authorizations\":[\"https://a/\"]}";
	assert_int_equal(acme_parse_order(valid, strlen(valid), o, err, sizeof err), 0);
	assert_int_equal(o->status, ACME_ST_VALID);
	assert_string_equal(o->certificate, "https://ca.example/cert/9");
	const char *invalid = "{\"status\":\"invalid\",\"finalize\":\"https://a/f\",\"authorizations\":"
	    "[\"https://a/\"],\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
	    "\"detail\":\"no\"}}";
	assert_int_equal(acme_parse_order(invalid, strlen(invalid), o, err, sizeof err), 0);
	assert_int_equal(o->status, ACME_ST_INVALID);
	assert_string_equal(o->error, "unauthorized: no");
	const char *none = "{\"status\":\"pending\",\"finalize\":\"https://a/f\",\"authorizations\":[]}";
	assert_int_equal(acme_parse_order(none, strlen(none), o, err, sizeof err), -1);
	const char *notstr = "{\"status\":\"pending\",\"finalize\":\"https://a/f\","
	    "\"authorizations\":[7]}";
	assert_int_equal(acme_parse_order(notstr, strlen(notstr), o, err, sizeof err), -1);
	const char *nul = "{\"status\":\"ready\",\"finalize\":\"https://a/\\u0000x\","
	    "\"authorizations\":[\"https://a/\"]}";
	assert_int_equal(acme_parse_order(nul, strlen(nul), o, err, sizeof err), -1);
	free(o);
}

static void
test_parse_authz(void **state)
{
	struct acme_authz *a = malloc(sizeof *a);
	char err[256];
	const char *pending = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	    "\"mx.example.org\"},\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://a/c/1\","
	    "\"token\":\"dns_token\",\"status\":\"pending\"},{\"type\":\"http-01\",\"url\":"
	    "\"https://a/c/2\",\"token\":\"DGyRejmCefe7v4NfDGDKfA\",\"status\":\"pending\"},"
	    "{\"type\":\"tls-alpn-01\",\"url\":\"https://a/c/3\",\"token\":\"tls_tok-3\","
	    "\"status\":\"pending\"}]}";

	assert_int_equal(acme_parse_authz(pending, strlen(pending), a, err, sizeof err), 0);
	assert_int_equal(a->status, ACME_ST_PENDING);
	assert_string_equal(a->name, "mx.example.org");
	assert_int_equal(a->nchal, 2); /* dns-01 is not kept */
	assert_string_equal(a->chal[0].type, "http-01");
	assert_string_equal(a->chal[0].token, "DGyRejmCefe7v4NfDGDKfA");
	assert_string_equal(a->chal[1].url, "https://a/c/3");
	const char *failed = "{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":"
	    "\"mx.example.org\"},\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://a/c/2\","
	    "\"token\":\"t\",\"status\":\"invalid\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:connection\",\"detail\":\"refused\"}}]}";
	assert_int_equal(acme_parse_authz(failed, strlen(failed), a, err, sizeof err), 0);
	assert_int_equal(a->status, ACME_ST_INVALID);
	assert_string_equal(a->error, "connection: refused");
	/* A token that could leave its path, and an identifier that is no name. */
	const char *slash = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	    "\"a.example\"},\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://a/c\","
	    "\"token\":\"../../etc\"}]}";
	assert_int_equal(acme_parse_authz(slash, strlen(slash), a, err, sizeof err), -1);
	assert_string_equal(err, "a http-01 token is not base64url");
	/* A challenge URL must be there and https (found by fuzz_acme_msg: an empty one). */
	const char *empty = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	    "\"a.example\"},\"challenges\":[{\"type\":\"http-01\",\"url\":\"\",\"token\":\"t\"}]}";
	assert_int_equal(acme_parse_authz(empty, strlen(empty), a, err, sizeof err), -1);
	assert_string_equal(err, "'url' is not an https URL");
	const char *ip = "{\"status\":\"pending\",\"identifier\":{\"type\":\"ip\",\"value\":"
	    "\"192.0.2.1\"},\"challenges\":[]}";
	assert_int_equal(acme_parse_authz(ip, strlen(ip), a, err, sizeof err), -1);
	free(a);

	assert_true(acme_token_ok("aB3-_"));
	assert_false(acme_token_ok(""));
	assert_false(acme_token_ok("a/b"));
	assert_false(acme_token_ok("a.b"));
	assert_false(acme_token_ok("a%2F"));
}

static void
test_parse_problem(void **state)
{
	char out[256];
	const char *bad = "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"JWS has an "
	    "invalid anti-replay nonce\",\"status\":400}";

	assert_true(acme_parse_problem(bad, strlen(bad), out, sizeof out));
	assert_string_equal(out, "badNonce: JWS has an invalid anti-replay nonce");
	const char *other = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"slow\"}";
	assert_false(acme_parse_problem(other, strlen(other), out, sizeof out));
	assert_string_equal(out, "rateLimited: slow");
	assert_false(acme_parse_problem("<html>", 6, out, sizeof out));
	assert_string_equal(out, "(no detail)");
	assert_false(acme_parse_problem(NULL, 0, out, sizeof out));
}

static void
test_csr(void **state)
{
	EVP_PKEY *key = acme_key_new();
	const char *names[] = { "mx.example.org", "mta-sts.example.org" };
	unsigned char der[4096];
	size_t n;

	char *b64 = acme_csr(key, names, 2);
	assert_non_null(b64);
	assert_int_equal(b64url_decode(b64, der, sizeof der, &n), 0);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)n);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	for (int i = 0; i < sk_X509_EXTENSION_num(exts) && gens == NULL; i++)
		if (OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i))) ==
		    NID_subject_alt_name)
			gens = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, i));
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	for (int i = 0; i < 2; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), names[i]);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(b64);

	/* A first name over the 64 octets of a common name: in the SAN alone (it failed). */
	const char *longer[] = {
		"a-rather-long-label-for-a-mail-host-of-some-provider.customers.example.org" };
	b64 = acme_csr(key, longer, 1);
	assert_non_null(b64);
	assert_int_equal(b64url_decode(b64, der, sizeof der, &n), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)n);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	X509_REQ_free(req);
	free(b64);
	EVP_PKEY_free(key);
}

static void
test_inspect_and_alpn_cert(void **state)
{
	const char *names[] = { "mx.example.org", "mta-sts.example.org" };
	struct tls_pem pem;
	struct acme_cert_info info;
	char err[256];

	assert_int_equal(selfsigned_pem(names, 2, false, 90, NULL, &pem, err, sizeof err), 0);
	EVP_PKEY *key = acme_key_read(pem.key, pem.keylen);
	assert_non_null(key);
	assert_int_equal(acme_cert_inspect(pem.cert, pem.certlen, key, names, 2, &info, err,
	    sizeof err), 0);
	assert_true(info.names_ok && info.key_ok);
	assert_int_equal(info.not_after - info.not_before, 90 * 86400);
	const char *more[] = { "mx.example.org", "autoconfig.example.org" };
	assert_int_equal(acme_cert_inspect(pem.cert, pem.certlen, key, more, 2, &info, err,
	    sizeof err), 0);
	assert_false(info.names_ok);
	EVP_PKEY *other = acme_key_new();
	assert_int_equal(acme_cert_inspect(pem.cert, pem.certlen, other, names, 1, &info, err,
	    sizeof err), 0);
	assert_false(info.key_ok);
	assert_int_equal(acme_cert_inspect("junk", 4, NULL, names, 1, &info, err, sizeof err), -1);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	tls_pem_free(&pem);

	/* tls-alpn-01: the critical acmeIdentifier holding SHA-256 of the key authorization. */
	unsigned char digest[32];
	const char *ka = "tok.thumb";
	SHA256((const unsigned char *)ka, strlen(ka), digest);
	assert_int_equal(selfsigned_pem(names, 1, false, 7, digest, &pem, err, sizeof err), 0);
	BIO *b = BIO_new_mem_buf(pem.cert, (int)pem.certlen);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	int at = X509_get_ext_by_OBJ(x, oid, -1);
	assert_true(at >= 0);
	X509_EXTENSION *ext = X509_get_ext(x, at);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(v), 34);
	const unsigned char *d = ASN1_STRING_get0_data(v);
	assert_int_equal(d[0], 0x04);
	assert_int_equal(d[1], 0x20);
	assert_memory_equal(d + 2, digest, 32);
	assert_int_equal(X509_check_host(x, "mx.example.org", 0, 0, NULL), 1);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	tls_pem_free(&pem);

	/*
	 * A name longer than a common name may be (64 octets, RFC 5280's ub-common-name)
	 * is a host name all the same: the certificate names it in its SAN (it failed:
	 * no stand-in, no tls-alpn-01 answer for such a name).
	 */
	const char *longer[] = {
		"a-rather-long-label-for-a-mail-host-of-some-provider.customers.example.org" };
	assert_true(strlen(longer[0]) > 64);
	assert_int_equal(selfsigned_pem(longer, 1, false, 7, digest, &pem, err, sizeof err), 0);
	b = BIO_new_mem_buf(pem.cert, (int)pem.certlen);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	assert_int_equal(X509_check_host(x, longer[0], 0, 0, NULL), 1);
	X509_free(x);
	tls_pem_free(&pem);
}

static void
test_renew_at(void **state)
{
	const time_t day = 86400, t0 = 1800000000;

	/* 90 days: 30 days ahead. */
	assert_int_equal(acme_renew_at(t0, t0 + 90 * day, 30 * day), t0 + 60 * day);
	/* Five years (pebble's): still 30 days ahead. */
	assert_int_equal(acme_renew_at(t0, t0 + 1826 * day, 30 * day), t0 + 1796 * day);
	/* Short-lived, 6 days: at two thirds, not at once. */
	assert_int_equal(acme_renew_at(t0, t0 + 6 * day, 30 * day), t0 + 4 * day);
	/* A smaller renew_before wins when it is under a third. */
	assert_int_equal(acme_renew_at(t0, t0 + 90 * day, 7 * day), t0 + 83 * day);
	/* Nonsense validity: due at its end. */
	assert_int_equal(acme_renew_at(t0, t0 - 5, 30 * day), t0 - 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_jws),
		cmocka_unit_test(test_parse_directory),
		cmocka_unit_test(test_parse_order),
		cmocka_unit_test(test_parse_authz),
		cmocka_unit_test(test_parse_problem),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_inspect_and_alpn_cert),
		cmocka_unit_test(test_renew_at),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
