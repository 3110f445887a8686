/*
 * dkim_keyrec.h - a DKIM key record (the TXT at selector._domainkey.domain, RFC 6376
 * 3.6.1; k=ed25519 from RFC 8463) read into a struct (pure). The key stays as the
 * octets of p=; dkim_verify makes an EVP key of them.
 */
#ifndef MAILROOM_DKIM_KEYREC_H
#define MAILROOM_DKIM_KEYREC_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_KEY_MAX 2048 /* p= octets: an RSA 8192 SubjectPublicKeyInfo is about 1060 */

enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

struct dkim_keyrec {
	enum dkim_key_type type;  /* k=, rsa when absent */
	bool revoked;             /* p= empty */
	bool sha256_ok, sha1_ok;  /* h=: the hashes the key may be used with (all when absent) */
	bool testing;             /* t=y */
	bool strict;              /* t=s: i= must be d= itself, no subdomain */
	unsigned char key[DKIM_KEY_MAX];
	size_t key_len;
};

/*
 * dkim_keyrec_parse - the record text[0..len) into k. Refused (-1, with why): a bad
 * tag list, v= other than DKIM1 or not first, no p=, p= not base64, an unknown k=, an
 * s= without "email" or "*" (the key is not for mail).
 */
int dkim_keyrec_parse(const char *text, size_t len, struct dkim_keyrec *k, char *why,
    size_t whylen);

#endif
