/*
 * inbound_check.h - the checks the smtp listener makes of a message from outside,
 * in one object that smtpd and `mailroom check message` share: SPF of the client
 * (RFC 7208: MAIL FROM, or HELO for <>), every DKIM signature (RFC 6376), then DMARC
 * (RFC 9989) from those; the Authentication-Results field that reports them; and
 * what the policy says to do with the message. All DNS goes through struct dns_ops.
 */
#ifndef MAILROOM_INBOUND_CHECK_H
#define MAILROOM_INBOUND_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "deliver/dns_ops.h"
#include "util/buf.h"

struct inbound_check;
struct dkim_vkeycache;

struct inbound_params {
	const struct dns_ops *dns;
	const char *hostname;  /* authserv-id, and the SPF receiver */
	const char *ip;        /* the client; NULL: no SPF check */
	const char *helo;
	const char *mailfrom;  /* "" for <> */
	bool dmarc_reject;     /* [inbound] dmarc_reject */
	bool spf_reject;       /* [inbound] spf_reject */
	const char *id;        /* queue id, for the log (may be NULL) */
	bool dmarc_reports;    /* [inbound] dmarc_reports: make the verdict's report line */
	struct dkim_vkeycache *dkim_keys; /* parsed DKIM public keys kept between messages
					   * (dkim/dkim_vkeycache.h); NULL: none */
	struct dkim_vpool *dkim_pool;     /* threads that check DKIM signatures with their
					   * keys (dkim/dkim_vpool.h); NULL: on the loop */
};

enum inbound_action {
	INBOUND_ACCEPT,
	INBOUND_QUARANTINE, /* DMARC p=quarantine: into the Junk folder */
	INBOUND_REJECT,     /* reply with code/status/text, after the body was read */
};

struct inbound_verdict {
	enum inbound_action action;
	int code;             /* REJECT: 550 */
	const char *status;   /* REJECT: "5.7.1" or "5.7.23" */
	char text[300];       /* REJECT: the reply text */
	struct buf ar;        /* the Authentication-Results field, LF ends */
	bool authenticated;   /* SPF pass and DMARC pass through an aligned DKIM signature */
	struct buf report;    /* the line for the DMARC aggregate reports (report_log.h),
			       * empty when none is due: no policy record with a mailto: rua */
};

/* inbound_check_new - SPF starts at once when p->ip is set. NULL: out of memory. */
struct inbound_check *inbound_check_new(const struct inbound_params *p);

/*
 * inbound_check_headers - the header block as it arrived (LF ends, before any
 * Authentication-Results was removed); the DKIM signatures are read from it.
 * Returns 0, or -1 (out of memory: the checks go on without DKIM).
 */
int inbound_check_headers(struct inbound_check *c, const char *hdr, size_t len);

/* inbound_check_body - the body, in order, in chunks (stored form: LF ends). */
void inbound_check_body(struct inbound_check *c, const char *p, size_t n);

/*
 * inbound_check_finish - the message is all in: look up the DKIM keys, wait for SPF,
 * evaluate DMARC, then done(arg, verdict) once (perhaps before this returns, with a
 * synchronous dns_ops). c may be freed inside done. Returns 0, or -1 (done not called).
 */
int inbound_check_finish(struct inbound_check *c,
    void (*done)(void *arg, const struct inbound_verdict *v), void *arg);

/* inbound_check_free - cancels what is under way (done is not called). */
void inbound_check_free(struct inbound_check *c);

#endif
