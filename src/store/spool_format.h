/*
 * spool_format.h - the text formats of the spool (docs/spool.md), as pure functions:
 * the envelope header at the start of msg/<id>, and the per-recipient lines of
 * state/<id>. Bytes in, struct out; no I/O.
 */
#ifndef MAILROOM_STORE_SPOOL_FORMAT_H
#define MAILROOM_STORE_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/envelope.h"
#include "util/buf.h"

/* The header's size line holds this many digits, so it can be patched in place. */
#define SPOOL_SIZE_DIGITS 20

/*
 * spool_format_header - the envelope header of msg/<id> into out, ending with the
 * blank line; the size line holds env->body_size. Its digits end two octets before
 * the end of what is appended ("\n\n").
 */
int spool_format_header(const struct envelope *env, struct buf *out);

/*
 * spool_parse_header - parse the envelope header at the start of data. Sets
 * body_offset; checks that body_offset + size == len when check_len. Returns 0, or
 * -1 with a reason in err.
 */
int spool_parse_header(const char *data, size_t len, bool check_len, struct envelope *env,
    char *err, size_t errlen);

/*
 * spool_format_state - one line per recipient: index, status, attempts, next try,
 * error; then the message's hold, last release and whether its sender's limits
 * have counted it, when set.
 */
int spool_format_state(const struct envelope *env, struct buf *out);

/*
 * spool_parse_state - apply the lines of a state file to env's recipients. Lines
 * that are malformed or name no recipient of env are skipped (a newer version's).
 */
void spool_parse_state(const char *data, size_t len, struct envelope *env);

#endif
