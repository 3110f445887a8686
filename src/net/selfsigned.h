/* selfsigned.h - a self-signed certificate for a fresh instance (`mailroom init`). */
#ifndef MAILROOM_SELFSIGNED_H
#define MAILROOM_SELFSIGNED_H

#include <stddef.h>

/*
 * selfsigned_create - an EC P-256 key (key_path, mode 0600) and a certificate for
 * hostname (cert_path): CN and subjectAltName DNS:hostname, IP:127.0.0.1 and
 * IP:::1, valid for 10 years. Neither file may exist. Returns 0, or -1 with a
 * reason in err.
 */
int selfsigned_create(const char *cert_path, const char *key_path, const char *hostname,
    char *err, size_t errlen);

#endif
