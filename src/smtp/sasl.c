/* sasl.c - base64 and the SASL PLAIN and LOGIN payloads, strictly checked. */
#include "smtp/sasl.h"

#include <string.h>

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	/* No room for the NUL (an empty input still writes one): refuse, write nothing. */
	if (len % 4 != 0 || outlen == 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64val(c)) < 0)
				return -1;
		}
		unsigned n = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
		    (unsigned)v[3];
		size_t got = 3 - (size_t)pad;
		if (o + got + 1 > outlen)
			return -1;
		out[o++] = (char)(n >> 16);
		if (got > 1)
			out[o++] = (char)(n >> 8 & 0xff);
		if (got > 2)
			out[o++] = (char)(n & 0xff);
	}
	out[o] = '\0';
	return (long)o;
}

long
base64_encode(const void *in, size_t len, char *out, size_t outlen)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t o = 0;

	if ((len + 2) / 3 * 4 + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned n = (unsigned)p[i] << 16;
		if (i + 1 < len)
			n |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			n |= p[i + 2];
		out[o++] = alphabet[n >> 18 & 63];
		out[o++] = alphabet[n >> 12 & 63];
		out[o++] = i + 1 < len ? alphabet[n >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[n & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

int
sasl_plain_decode(const char *b64, size_t len, struct sasl_plain *out)
{
	char raw[3 * SASL_FIELD_MAX + 4];
	long n = base64_decode(b64, len, raw, sizeof raw);

	memset(out, 0, sizeof *out);
	if (n <= 0)
		return -1;
	const char *end = raw + n;
	const char *nul1 = memchr(raw, '\0', (size_t)n);
	if (nul1 == NULL)
		return -1;
	const char *nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL)
		return -1;
	size_t lz = (size_t)(nul1 - raw), lc = (size_t)(nul2 - nul1 - 1),
	       lp = (size_t)(end - nul2 - 1);
	/* A third NUL would sit inside the password. An empty password is well-formed:
	 * it is refused as a wrong one (535), not as a syntax error. */
	if (lc == 0 || memchr(nul2 + 1, '\0', lp) != NULL || lz >= SASL_FIELD_MAX ||
	    lc >= SASL_FIELD_MAX || lp >= SASL_FIELD_MAX) {
		memset(raw, 0, sizeof raw);
		return -1;
	}
	memcpy(out->authzid, raw, lz);
	memcpy(out->authcid, nul1 + 1, lc);
	memcpy(out->password, nul2 + 1, lp);
	memset(raw, 0, sizeof raw);
	return 0;
}

int
sasl_login_decode(const char *b64, size_t len, char *out, size_t outlen)
{
	long n = base64_decode(b64, len, out, outlen);
	if (n <= 0 || memchr(out, '\0', (size_t)n) != NULL)
		return -1;
	return 0;
}
