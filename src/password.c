/* password.c - crypt(3) hashes through libxcrypt: yescrypt for new ones, any method to verify. */
#include "password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/*
 * new_crypt_data - struct crypt_data is about 32 KiB: too big for the stacks of
 * event-loop callers, and crypt_r wants it zeroed before first use.
 */
static struct crypt_data *
new_crypt_data(void)
{
	return calloc(1, sizeof(struct crypt_data));
}

static void
free_crypt_data(struct crypt_data *cd)
{
	/* It holds the password and intermediate state. */
	explicit_bzero(cd, sizeof *cd);
	free(cd);
}

int
password_hash(const char *pw, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	int rc = -1;

	if (pw == NULL || out == NULL || outlen == 0)
		return -1;
	/* count 0: libxcrypt's default cost; NULL random bytes: it reads the OS RNG */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) == NULL)
		return -1;
	struct crypt_data *cd = new_crypt_data();
	if (cd == NULL)
		return -1;
	const char *h = crypt_r(pw, salt, cd);
	/* libxcrypt reports failure as NULL or as a string starting with '*' */
	if (h != NULL && h[0] != '*' && strlen(h) < outlen) {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
	free_crypt_data(cd);
	return rc;
}

bool
password_verify(const char *pw, const char *hash)
{
	if (pw == NULL || hash == NULL || hash[0] == '\0')
		return false;
	/* '*' and '!' mark locked or disabled accounts (as in /etc/shadow) */
	if (hash[0] == '*' || hash[0] == '!')
		return false;
	struct crypt_data *cd = new_crypt_data();
	if (cd == NULL)
		return false;
	const char *h = crypt_r(pw, hash, cd);
	bool ok = false;
	if (h != NULL && h[0] != '*') {
		/*
		 * The length follows from the method and is no secret; the octets are
		 * compared in constant time so timing tells nothing about the hash.
		 */
		size_t n = strlen(hash);
		ok = strlen(h) == n && CRYPTO_memcmp(h, hash, n) == 0;
	}
	free_crypt_data(cd);
	return ok;
}
