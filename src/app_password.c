/*
 * app_password.c - app passwords: made from RAND_bytes, printed as grouped base32,
 * normalized when typed back, kept as a SHA-256 digest, matched in constant time.
 *
 * Why SHA-256 and not yescrypt as for the main password: an app password has 120
 * random bits, so a slow hash adds nothing against guessing from a stolen store,
 * while checking up to 20 yescrypt hashes per login would cost 20 times the work
 * (a gift to anyone flooding the login queue) and make the time of a login tell
 * how many app passwords an account has. With digests, every login costs one
 * yescrypt check (the main hash, or the dummy one) and a few microseconds more.
 */
#include "app_password.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

void
app_password_format(const unsigned char raw[APP_PASSWORD_RAW], char out[APP_PASSWORD_SIZE])
{
	size_t o = 0;

	/* 15 octets are 120 bits: 24 groups of 5, most significant bit first */
	for (size_t i = 0; i < APP_PASSWORD_CHARS; i++) {
		size_t bit = i * 5;
		unsigned v = (unsigned)raw[bit / 8] << 8;
		if (bit / 8 + 1 < APP_PASSWORD_RAW)
			v |= raw[bit / 8 + 1];
		v = (v >> (11 - bit % 8)) & 0x1f;
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = b32[v];
	}
	out[o] = '\0';
}

int
app_password_make(char out[APP_PASSWORD_SIZE])
{
	unsigned char raw[APP_PASSWORD_RAW];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	app_password_format(raw, out);
	OPENSSL_cleanse(raw, sizeof raw);
	return 0;
}

bool
app_password_normalize(const char *pw, char out[APP_PASSWORD_CHARS + 1])
{
	/* bounded: a long input is no app password, however it goes on */
	size_t len = strnlen(pw, 2 * APP_PASSWORD_SIZE), n = 0;

	if (len == 2 * APP_PASSWORD_SIZE)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = (char)tolower((unsigned char)pw[i]);
		if (c == '-' || c == ' ')
			continue;
		if (n == APP_PASSWORD_CHARS || strchr(b32, c) == NULL)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == APP_PASSWORD_CHARS;
}

int
app_password_digest(const char *pw, char out[APP_DIGEST_SIZE])
{
	char norm[APP_PASSWORD_CHARS + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	if (!app_password_normalize(pw, norm))
		return -1;
	if (EVP_Digest(norm, APP_PASSWORD_CHARS, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32) {
		size_t o = (size_t)snprintf(out, APP_DIGEST_SIZE, "sha256:");
		for (unsigned i = 0; i < mdlen; i++)
			o += (size_t)snprintf(out + o, APP_DIGEST_SIZE - o, "%02x", md[i]);
		rc = 0;
	}
	OPENSSL_cleanse(norm, sizeof norm);
	OPENSSL_cleanse(md, sizeof md);
	return rc;
}

int
app_password_match(const char *pw, const char (*digests)[APP_DIGEST_SIZE], size_t n)
{
	char d[APP_DIGEST_SIZE];
	int found = -1;

	if (app_password_digest(pw, d) < 0)
		return -1;
	size_t len = strlen(d);
	for (size_t i = 0; i < n; i++) {
		/* stored digests have the same length; a shorter one simply does not match */
		bool same = strnlen(digests[i], APP_DIGEST_SIZE) == len &&
		    CRYPTO_memcmp(d, digests[i], len) == 0;
		if (same && found < 0)
			found = (int)i;
	}
	OPENSSL_cleanse(d, sizeof d);
	return found;
}

bool
app_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++) {
		if (n == APP_NAME_MAX || name[n] <= ' ' || name[n] > '~')
			return false;
	}
	return n > 0;
}

bool
app_password_service_ok(const char *service)
{
	static const char *const mail[] = { "smtp", "submission", "submissions", "pop3", "pop3s" };

	for (size_t i = 0; i < sizeof mail / sizeof mail[0]; i++) {
		if (strcmp(service, mail[i]) == 0)
			return true;
	}
	return false;
}
