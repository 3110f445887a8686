/*
 * greylist.h - greylisting's pure part: the triplet key (client network, sender,
 * recipient), the decision for one RCPT from the stored rows and the time, and
 * which rows have expired. The store (accounts_grey.c) reads and writes the rows;
 * nothing here does I/O or reads the clock.
 */
#ifndef MAILROOM_GREYLIST_H
#define MAILROOM_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "address.h"

#define GREY_RETRY_WINDOW (2 * 24 * 3600)   /* after the delay, a retry passes for this long */
#define GREY_KEEP (35 * 24 * 3600)          /* rows unseen this long are forgotten */
#define GREY_CLIENT_PASSES 5                /* passed deliveries that allow a client network */

#define GREY_NET_MAX 64                     /* "2001:db8:1:2::/64", "192.0.2.0/24" */
#define GREY_KEY_MAX (GREY_NET_MAX + 2 * ADDR_MAX + 3)

/* What lookupd answers to LK_GREYLIST. */
enum grey_answer { GREY_PASS = 0, GREY_LISTED = 1, GREY_FAILED = 2 };

/* A triplet's row (table greylist). */
struct grey_row {
	bool found;
	time_t first_seen, last_seen;
	uint64_t passed; /* deliveries let through */
};

/* A client network's row (table greylist_clients). */
struct grey_client {
	bool found;
	uint64_t passes;
	time_t last_seen;
};

/*
 * grey_client_net - the network of client ip as text: a.b.c.0/24 for IPv4 (and
 * IPv4-mapped IPv6), the first 64 bits and /64 for IPv6. 0, or -1 (not an
 * address, out too small).
 */
int grey_client_net(const char *ip, char *out, size_t outlen);

/*
 * grey_key - the triplet key "net\tsender\trecipient" into out (GREY_KEY_MAX + 1):
 * sender and recipient lower-cased, the null sender ("" or "<>") as "". -1 when
 * ip is not an address, a part is too long or holds a control character (the
 * separator cannot occur inside a part).
 */
int grey_key(const char *ip, const char *sender, const char *rcpt, char *out, size_t outlen);

/* What grey_decide tells the store to do. */
enum grey_why {
	GREY_WHY_CLIENT,  /* pass: the client network has passed GREY_CLIENT_PASSES times */
	GREY_WHY_KNOWN,   /* pass: the triplet passed before */
	GREY_WHY_RETRIED, /* pass: retried after the delay, within the window */
	GREY_WHY_NEW,     /* greylisted: first seen now (also: the window passed, start over) */
	GREY_WHY_EARLY,   /* greylisted: retried before the delay had passed */
};

struct grey_decision {
	enum grey_answer answer;   /* GREY_PASS or GREY_LISTED */
	enum grey_why why;
	struct grey_row row;       /* the triplet's row to store */
	bool write_row;            /* false: leave the triplet's row as it is */
	struct grey_client client; /* the client network's row to store */
	bool write_client;
};

/*
 * grey_decide - the answer for a triplet with stored row and client (each
 * .found false when there is none) at now, with delay seconds of greylisting,
 * and the rows to write back. Every pass counts one delivery of the client
 * network.
 */
void grey_decide(const struct grey_row *row, const struct grey_client *client, time_t now,
    time_t delay, struct grey_decision *d);

/*
 * grey_expired - whether a row has outlived its use at now: a triplet that
 * passed, or a client network, unseen for GREY_KEEP; a triplet that never
 * passed, once its retry window (from first_seen) is over.
 */
bool grey_row_expired(const struct grey_row *row, time_t now, time_t delay);
bool grey_client_expired(const struct grey_client *c, time_t now);

/* grey_cutoffs - the same as times for SQL: rows seen before these have expired. */
void grey_cutoffs(time_t now, time_t delay, time_t *passed_before, time_t *unpassed_before);

#endif
