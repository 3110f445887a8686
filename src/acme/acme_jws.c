/* acme_jws.c - base64url, JWK, thumbprints and ES256 JWS for ACME (see acme_jws.h). */
#include "acme/acme_jws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>

#include "smtp/sasl.h"

/* The URL-safe alphabet (RFC 4648 5) is the standard one with two letters changed. */
char *
b64url(const void *in, size_t n)
{
	size_t cap = 4 * ((n + 2) / 3) + 1;
	char *out = n < (size_t)1 << 28 ? malloc(cap) : NULL;

	if (out == NULL)
		return NULL;
	long len = base64_encode(in, n, out, cap);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len < 0 ? 0 : len] = '\0';
	for (long i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

int
b64url_decode(const char *in, unsigned char *out, size_t outlen, size_t *n)
{
	size_t len = strlen(in);

	while (len > 0 && in[len - 1] == '=')
		len--;
	char *std = len < (size_t)1 << 28 ? malloc(len + 4) : NULL;
	char *raw = std ? malloc(len + 1) : NULL;
	int rc = -1;
	if (raw == NULL)
		goto out;
	for (size_t i = 0; i < len; i++) {
		/* the standard alphabet's two letters are not base64url */
		if (in[i] == '+' || in[i] == '/')
			goto out;
		std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	}
	size_t padded = len;
	while (padded % 4 != 0)
		std[padded++] = '=';
	long got = base64_decode(std, padded, raw, len + 1);
	if (got >= 0 && (size_t)got <= outlen) {
		memcpy(out, raw, (size_t)got);
		*n = (size_t)got;
		rc = 0;
	}
out:
	free(std);
	free(raw);
	return rc;
}

/* coordinate - the named EC coordinate of key as 32 octets in base64url. */
static char *
coordinate(EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char bin[32];
	char *s = NULL;

	if (EVP_PKEY_get_bn_param(key, name, &bn) == 1 && BN_bn2binpad(bn, bin, sizeof bin) == 32)
		s = b64url(bin, sizeof bin);
	BN_free(bn);
	return s;
}

json_t *
acme_jwk(EVP_PKEY *key)
{
	char curve[32];
	json_t *jwk = NULL;

	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
	    NULL) != 1 || strcmp(curve, "prime256v1") != 0)
		return NULL;
	char *x = coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X);
	char *y = coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y);
	if (x != NULL && y != NULL)
		jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
	free(x);
	free(y);
	return jwk;
}

int
acme_jwk_thumbprint(const json_t *jwk, char *out)
{
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *members = kty == NULL ? NULL : strcmp(kty, "EC") == 0 ? ec :
	    strcmp(kty, "RSA") == 0 ? rsa : NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	int rc = -1;

	if (members == NULL)
		return -1;
	json_t *req = json_object();
	for (size_t i = 0; req != NULL && members[i] != NULL; i++) {
		json_t *v = json_object_get(jwk, members[i]);
		if (!json_is_string(v) || json_object_set(req, members[i], v) < 0) {
			json_decref(req);
			return -1;
		}
	}
	/* Sorted keys and no white space: the one text every party hashes alike. */
	char *text = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (text != NULL) {
		SHA256((const unsigned char *)text, strlen(text), md);
		char *b = b64url(md, sizeof md);
		if (b != NULL && strlen(b) == ACME_THUMB_LEN) {
			memcpy(out, b, ACME_THUMB_LEN + 1);
			rc = 0;
		}
		free(b);
	}
	free(text);
	json_decref(req);
	return rc;
}

/* es256 - the signature of in as JWS wants it: r and s, 32 octets each (RFC 7518 3.4). */
static char *
es256(EVP_PKEY *key, const char *in)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80], raw[64];
	size_t derlen = sizeof der;
	ECDSA_SIG *sig = NULL;
	char *out = NULL;

	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)in, strlen(in)) != 1)
		goto out;
	const unsigned char *p = der;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32)
		out = b64url(raw, sizeof raw);
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

char *
acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
    const char *payload)
{
	json_t *prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce, "url", url);
	char *ptext = NULL, *p64 = NULL, *b64 = NULL, *input = NULL, *sig = NULL, *out = NULL;
	json_t *jws = NULL;

	if (prot == NULL)
		return NULL;
	if (kid != NULL ? json_object_set_new(prot, "kid", json_string(kid)) < 0 :
	    json_object_set_new(prot, "jwk", acme_jwk(key)) < 0)
		goto out;
	if ((ptext = json_dumps(prot, JSON_COMPACT)) == NULL || (p64 = b64url(ptext,
	    strlen(ptext))) == NULL || (b64 = b64url(payload, strlen(payload))) == NULL)
		goto out;
	size_t n = strlen(p64) + strlen(b64) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", p64, b64);
	if ((sig = es256(key, input)) == NULL)
		goto out;
	jws = json_pack("{s:s, s:s, s:s}", "protected", p64, "payload", b64, "signature", sig);
	if (jws != NULL)
		out = json_dumps(jws, JSON_COMPACT);
out:
	json_decref(jws);
	json_decref(prot);
	free(ptext);
	free(p64);
	free(b64);
	free(input);
	free(sig);
	return out;
}

char *
acme_key_authorization(const char *token, const char *thumbprint)
{
	size_t n = strlen(token) + strlen(thumbprint) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s.%s", token, thumbprint);
	return s;
}
