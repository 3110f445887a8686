/*
 * kinds.h - the two facts about a message that the store keeps and other layers
 * produce: where each recipient's mail goes (accounts resolve it) and the body type
 * (SMTP's BODY= parameter). Defined here so that the store needs neither.
 */
#ifndef MAILROOM_STORE_KINDS_H
#define MAILROOM_STORE_KINDS_H

/* Where a resolved address goes. */
enum target_kind {
	TARGET_LOCAL,  /* a mailbox: addr is the user's canonical "user@domain" */
	TARGET_REMOTE, /* another domain: addr as written in the alias (forwarding) */
};

/* The body type of a message (RFC 6152, RFC 3030). */
enum body_type { BODY_7BIT, BODY_8BITMIME, BODY_BINARYMIME };

#endif
