/*
 * queue_view.h - the queue as an admin looks at it, for `mailroom queue`
 * (cli/cli_queue.c, reading the spool itself) and for queued's answers on the
 * control channel (queue/queue_ctl_serve.c): the messages oldest first, what each
 * recipient's state is called, a message as a JSON object (jansson), and the
 * header block of its text.
 */
#ifndef MAILROOM_QUEUE_VIEW_H
#define MAILROOM_QUEUE_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "store/envelope.h"
#include "util/buf.h"

#define QUEUE_LIST_MAX 1000            /* messages in one listing */
#define QUEUE_LIST_RCPTS_MAX 100       /* recipients of each message listed */
#define QUEUE_HEADERS_MAX (64 * 1024)  /* the header block shown */

enum queue_rcpt_state {
	QS_QUEUED,    /* pending, never tried */
	QS_DEFERRED,  /* pending, tried and failed for now: tried again at next_try */
	QS_DELIVERED,
	QS_BOUNCED,   /* failed for good (its bounce may not be made yet: dsn_due) */
};

enum queue_rcpt_state queue_rcpt_state(const struct spool_rcpt *r);
/* queue_state_name - "queued", "deferred", "delivered", "bounced". */
const char *queue_state_name(enum queue_rcpt_state s);

/*
 * queue_cached_fn - queued's own copy of message id when it has one loaded (newer
 * than the files while a round runs), else NULL; the CLI has none.
 */
typedef const struct envelope *(*queue_cached_fn)(void *arg, const char *id);
/* queue_each_fn - one message; 0 to go on, -1 to stop. */
typedef int (*queue_each_fn)(void *arg, const struct envelope *env);

/*
 * queue_each - the messages in queue_dir's msg/, oldest first, to fn: at most max
 * of them (0: all), each from cached (may be NULL) or else read from the spool (a
 * message that cannot be read, delivered meanwhile or still being written, is
 * skipped). *total (may be NULL) is how many msg/ holds. Returns 0, or -1: the
 * queue cannot be listed (errno; ENOENT: there is no queue yet), or fn stopped.
 */
int queue_each(const char *queue_dir, size_t max, queue_cached_fn cached, void *cache_arg,
    queue_each_fn fn, void *arg, size_t *total);

/*
 * queue_msg_json - env as seen at now: {"id", "arrived" (unix time), "age"
 * (seconds), "size", "from", "held" (bool), "hold_reason" (or null), "recipients":
 * [{"address", "status" (queue_state_name), "error" (or null)}] (at most
 * max_rcpts, 0: all; "recipients_total" counts them all), "next_try" (unix time,
 * at least now; null when held or nothing is left to try)}. NULL when out of memory.
 */
json_t *queue_msg_json(const struct envelope *env, time_t now, size_t max_rcpts);

/*
 * queue_header_block - the header block at the start of the len octets of text:
 * up to and including the empty line that ends it, or all of them when there is
 * none. Returns its length.
 */
size_t queue_header_block(const char *text, size_t len);

/*
 * queue_headers - the header block of env's message (at most max octets) into out
 * (NUL-terminated). Returns 0 or -1 (errno).
 */
int queue_headers(const char *queue_dir, const struct envelope *env, size_t max,
    struct buf *out);

/*
 * queue_json_text - a JSON string of the n octets at s as text: what is not
 * well-formed UTF-8 (and NUL) becomes U+FFFD, since a mail's bytes need not be
 * UTF-8 and jansson takes nothing else. NULL when out of memory.
 */
json_t *queue_json_text(const char *s, size_t n);

#endif
