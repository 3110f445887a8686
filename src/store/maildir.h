/*
 * maildir.h - mailbox paths and file names in the Maildir layout Dovecot reads:
 * <data_dir>/mail/<domain>/<localpart>/{tmp,new,cur}, file names carrying the
 * size (",S=") and the size with CRLF line ends (",W=").
 */
#ifndef MAILROOM_MAILDIR_H
#define MAILROOM_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"

/*
 * maildir_path - the Maildir of a canonical "local@domain" under mail_dir. Octets
 * that are unsafe in a path ('/', a leading '.', control octets, '%') are written
 * as %XX. Returns 0, or -1 when it does not fit.
 */
int maildir_path(const char *mail_dir, const char *address, char *out, size_t outlen);

/* maildir_create - mkdir -p the Maildir and its tmp, new and cur. Returns 0 or -1. */
int maildir_create(const char *path);

/*
 * maildir_name - the file name for recipient idx of queue message id: fixed for
 * that pair, so a delivery interrupted by a crash can be recognised.
 */
void maildir_name(char *out, size_t outlen, time_t arrival, const char *id, size_t idx,
    const char *hostname, uint64_t size, uint64_t vsize);

/* maildir_has - whether base is in new/, or in cur/ with any ":2," flags. */
bool maildir_has(const char *path, const char *base);

/*
 * maildir_parse_sizes - S= and W= from a file name, each left 0 when absent.
 * The base name ends at the first ':'.
 */
void maildir_parse_sizes(const char *name, uint64_t *size, uint64_t *vsize);

/*
 * maildir_usage - the octets in new/ and cur/ of the Maildir at path, from the S=
 * of the file names (a file without one is stat'ed): what a quota is checked against.
 */
uint64_t maildir_usage(const char *path);

/*
 * maildir_trace_headers - what local delivery prepends (INTERFACE.md): Return-Path
 * with the envelope sender and Delivered-To with the mailbox address, both escaped
 * (util/escape.h: they come from the network). Appended to h; returns 0 or -1.
 */
int maildir_trace_headers(struct buf *h, const char *sender, const char *mailbox);

#endif
