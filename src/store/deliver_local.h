/*
 * deliver_local.h - a message into a local mailbox, the one way both roles do it:
 * smtpd for mail that goes straight into the Maildirs, queued for the rest. The
 * file is the trace headers (Return-Path, Delivered-To), then the stored text in
 * whatever pieces it is in right now (memory, then a file: the spill file or the
 * queue file), copied file to file without passing through memory. Its name is
 * fixed by the queue id and the recipient number (store/maildir.h), so a delivery
 * cut short by a crash is recognised. Each file joins a batch
 * (store/maildir_batch.h) that the caller commits: nothing counts as delivered
 * before that commit's callback.
 */
#ifndef MAILROOM_STORE_DELIVER_LOCAL_H
#define MAILROOM_STORE_DELIVER_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "store/envelope.h"

struct md_batch;

/*
 * The stored text of a message: mem[0..nmem) first, then len octets of fd from off.
 * The batch writes it at its commit: mem must stay as it is until then (fd may be
 * closed: the batch keeps a duplicate).
 */
struct local_text {
	const struct iovec *mem; /* at most MD_MEM_MAX (7) pieces */
	int nmem;
	int fd;                  /* -1: nothing in a file */
	uint64_t off, len;
	uint64_t lines;          /* LFs in all of it, for the size with CRLF (W=) */
};

/* One recipient's mailbox. */
struct local_rcpt {
	const char *mailbox; /* the canonical "user@domain" */
	size_t idx;          /* its number in the envelope: part of the file name */
	uint64_t quota;      /* octets; 0: none */
	bool recovering;     /* a delivery may have been cut short: look for its file first */
	void *owner;         /* the caller's, kept in the batch's file (md_file.owner) */
};

enum local_status {
	LOCAL_ADDED,    /* written into the batch: delivered when it commits */
	LOCAL_PRESENT,  /* the file of an earlier delivery is there already (recovering) */
	LOCAL_FULL,     /* the quota would be exceeded */
	LOCAL_BAD_NAME, /* the address gives no usable Maildir path */
	LOCAL_FAILED,   /* out of memory, or the write failed: errno says why */
};

/* store_deliver_local - write text for rcpt into its Maildir, as part of batch b. */
enum local_status store_deliver_local(struct md_batch *b, const char *mail_dir,
    const char *hostname, const struct envelope *env, const struct local_text *text,
    const struct local_rcpt *rcpt);

#endif
