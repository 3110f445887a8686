/*
 * srs.h - the Sender Rewriting Scheme (Shevek's SRS paper; the address forms of
 * libsrs2 and postsrsd), as pure functions: the secret and the time come in, an
 * address goes out. A forwarder sends mail it forwards with a sender in its own
 * domain, so SPF at the next hop checks the forwarder; a bounce to that address
 * is turned back into the original sender here.
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
 *   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@srs-domain
 *
 * TT is the day number (time / 86400, mod 1024) in two base32 characters; HHHH
 * the first 4 characters of base64(HMAC-SHA256(secret, fields)), the fields
 * lower-cased and separated by NUL octets (so that no two field lists hash alike);
 * hashes are compared without regard to case, as libsrs2 does, since some MTAs
 * change the case of addresses. An SRS1 address carries the hash of the first
 * forwarder's SRS0 address on to it; only the first forwarder checks the time.
 */
#ifndef MAILROOM_SRS_H
#define MAILROOM_SRS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SRS_SECRET_LEN 32  /* octets of the secret in the account store */
#define SRS_HASH_LEN 4     /* base64 characters of the hash in an address */
#define SRS_MAX_AGE_DAYS 21 /* an older SRS0 address is refused */

enum srs_status {
	SRS_OK,
	SRS_NOT_SRS,   /* reverse: the local part starts with neither SRS0= nor SRS1= */
	SRS_MALFORMED, /* reverse: fields missing or bad; forward: no usable sender */
	SRS_BAD_HASH,  /* reverse: the hash is not ours (forged or damaged) */
	SRS_EXPIRED,   /* reverse: older than SRS_MAX_AGE_DAYS, or more than a day ahead */
	SRS_TOO_LONG,  /* forward: the result would not fit a local part (64 octets) or out */
	SRS_FAILED,    /* the HMAC could not be computed */
};

/* srs_status_text - a short description of st, for logs. */
const char *srs_status_text(enum srs_status st);

/*
 * srs_forward - the SRS sender for forwarding mail from sender ("local@domain") as
 * srs_domain, into out. A plain sender becomes SRS0; an SRS0 sender of another
 * domain becomes SRS1 naming that domain as the first forwarder; an SRS1 sender
 * keeps its first forwarder (with a fresh hash). A sender already in srs_domain
 * is copied as it is.
 */
enum srs_status srs_forward(const uint8_t *secret, size_t secretlen, time_t now,
    const char *sender, const char *srs_domain, char *out, size_t outlen);

/*
 * srs_reverse - the address that an SRS address (any domain: the caller knows
 * which are its own) was made from, into out: the original sender for SRS0, the
 * first forwarder's SRS0 address for SRS1.
 */
enum srs_status srs_reverse(const uint8_t *secret, size_t secretlen, time_t now,
    const char *address, char *out, size_t outlen);

#endif
