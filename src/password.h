/* password.h - crypt(3) password hashes through libxcrypt (yescrypt by default). */
#ifndef MAILROOM_PASSWORD_H
#define MAILROOM_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX 256

/* password_hash - a new yescrypt hash of pw into out. Returns 0 or -1. */
int password_hash(const char *pw, char *out, size_t outlen);

/*
 * password_verify - whether pw matches hash (any method libxcrypt knows); the
 * comparison runs in constant time. Costs milliseconds for yescrypt: keep it off
 * event loops.
 */
bool password_verify(const char *pw, const char *hash);

#endif
