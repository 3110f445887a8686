/*
 * acme_state.h - what ACME keeps under data_dir/acme/ (owned by acmed's user,
 * 0700): account.key (the ACME account's EC key), key.pem and cert.pem (the
 * certificate's key and its chain, leaf first). Reached only through a
 * directory descriptor the supervisor opened as root, never following links;
 * each file is written whole under a temporary name and renamed into place.
 */
#ifndef MAILROOM_ACME_STATE_H
#define MAILROOM_ACME_STATE_H

#include <stddef.h>
#include <sys/types.h>

#include "net/tls.h"

#define ACME_STATE_DIR "acme"
#define ACME_ACCOUNT_KEY "account.key"
#define ACME_CERT "cert.pem"
#define ACME_KEY "key.pem"

/*
 * acme_state_read - the plain file name of dfd (no link, one name, at most 1 MiB)
 * into *data (NUL-terminated, malloc'ed). Returns 0, 1 when it does not exist,
 * or -1 with a reason in err.
 */
int acme_state_read(int dfd, const char *name, char **data, size_t *len, char *err,
    size_t errlen);

/* acme_state_write - name of dfd replaced by len octets of data, with mode; synced. 0 or -1 with err. */
int acme_state_write(int dfd, const char *name, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen);

/*
 * acme_state_load_pem - cert.pem and key.pem of dfd into p. Returns 0, 1 when
 * there is no certificate yet, or -1 with a reason in err.
 */
int acme_state_load_pem(int dfd, struct tls_pem *p, char *err, size_t errlen);

#endif
