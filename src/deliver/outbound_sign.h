/*
 * outbound_sign.h - the header fields queued puts on top of a message it sends to
 * another domain: DKIM signatures (Ed25519 and RSA) for mail from our own domains
 * that a logged-in user or a trusted network sent, and our bounces; an ARC set
 * for mail from elsewhere that an alias forwards. They are computed over the
 * message as it leaves (deliver/outform.h: long lines already folded), and signed
 * by lookupd, which alone holds the keys. Deciding reads the config (on queued's
 * loop); signing reads only the job, so a worker thread can do it (sign_pool.h).
 */
#ifndef MAILROOM_OUTBOUND_SIGN_H
#define MAILROOM_OUTBOUND_SIGN_H

#include <stdbool.h>
#include <time.h>

#include "store/envelope.h"
#include "util/buf.h"

struct accounts;
struct config;

/* What the signer needs to know of a message's remote recipients. */
struct sign_job {
	const struct envelope *env;
	const char *queue_dir;
	const char *forward_domain; /* a recipient was forwarded by an alias of this local
				     * domain (it seals the ARC set), or NULL */
	time_t now;
	/* set by outbound_sign_wanted: */
	bool own;                   /* we vouch for it: DKIM; else ARC for forward_domain */
	char hostname[256];         /* ours: the authserv-id of our Authentication-Results */
};

/*
 * outbound_sign_wanted - whether j's message gets fields at all (signing on, and
 * our own mail or forwarded by an alias), with j->own and j->hostname set from cfg.
 */
bool outbound_sign_wanted(const struct config *cfg, struct sign_job *j);

/*
 * outbound_sign - the fields of a job outbound_sign_wanted said yes to, into prefix
 * (LF line ends; empty when nothing applies or signing failed: the message then
 * goes unsigned, and the reason is logged with the queue id). Our own mail's DKIM
 * signatures kept by outbound_sign_keep at an earlier attempt are used again, for a
 * day. Returns 1: our DKIM signatures, just made and complete (worth keeping when
 * the delivery is deferred); 0: other fields, kept ones, or none; -1 when the queue
 * file cannot be read.
 */
int outbound_sign(struct accounts *acct, const struct sign_job *j, struct buf *prefix);

/*
 * outbound_sign_keep - keep the fields outbound_sign made (it said 1) in sig/<id>
 * for the message's retries: called when a delivery of it was deferred, so that mail
 * delivered at once costs no file.
 */
void outbound_sign_keep(const struct sign_job *j, const struct buf *prefix);

/*
 * sign_domain_of - the domain in an address header's value ("Name <a@b.example>",
 * "a@b.example (c)") into out, lower-case. Returns 0, or -1 when none is found.
 */
int sign_domain_of(const char *value, size_t len, char *out, size_t outlen);

#endif
