/*
 * spool.h - queue files: ids, the envelope header, per-recipient state, and the
 * writer smtpd uses while a message arrives. Layout and crash states: docs/spool.md.
 */
#ifndef MAILROOM_SPOOL_H
#define MAILROOM_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "accounts.h"
#include "smtp/smtp_cmd.h"
#include "util/buf.h"

#define QUEUE_ID_LEN 16

enum rcpt_status {
	RCPT_PENDING,   /* not yet delivered: first attempt or retry due at next_try */
	RCPT_DELIVERED, /* in the mailbox, or accepted by the remote server */
	RCPT_BOUNCED,   /* failed for good; a bounce was queued (or the sender was <>) */
};

struct spool_rcpt {
	enum target_kind kind;
	char *addr;  /* where it goes: a mailbox, or a remote address */
	char *orig;  /* the address the client gave in RCPT TO */
	enum rcpt_status status;
	unsigned attempts;
	time_t next_try; /* 0: now */
	char *error;     /* the last failure, or NULL */
	bool dsn_due;    /* bounced, and no bounce message made durable for it yet: the
			  * bounce is retried (at next_try after a failure), never the
			  * delivery; stored as 'N' in state/<id> */
};

struct envelope {
	char id[QUEUE_ID_LEN + 1];
	time_t arrival;
	char *sender; /* "" for the null sender */
	char *client; /* client IP address, or "local" */
	char *helo;
	char *auth;   /* authenticated login, or NULL */
	enum body_type body;
	bool smtputf8;
	bool is_bounce; /* a DSN we made: never bounced itself */
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	uint64_t body_offset; /* where the message starts in msg/<id> */
	uint64_t body_size;   /* its length (stored form) */
};

void envelope_free(struct envelope *env);
/* envelope_add_rcpt - append a recipient (strings copied). Returns 0 or -1. */
int envelope_add_rcpt(struct envelope *env, enum target_kind kind, const char *addr,
    const char *orig);

/* spool_new_id - a fresh id: arrival time first, then random bits. */
void spool_new_id(char id[QUEUE_ID_LEN + 1]);
bool spool_id_valid(const char *id);

/* spool_init - create queue/{tmp,msg,state} under data_dir. Returns 0 or -1 (errno). */
int spool_init(const char *data_dir);

/*
 * spool_format_header - the envelope header of msg/<id> into out, ending with the
 * blank line; the size line holds env->body_size.
 */
int spool_format_header(const struct envelope *env, struct buf *out);

/*
 * spool_parse_header - parse the envelope header at the start of data (a pure
 * function). Sets body_offset; checks that body_offset + size == len when
 * check_len. Returns 0, or -1 with a reason in err.
 */
int spool_parse_header(const char *data, size_t len, bool check_len, struct envelope *env,
    char *err, size_t errlen);

/*
 * spool_load - read msg/<id> (header only) and apply state/<id> when present.
 * Returns 0, -1 with errno ENOENT when gone, or -1 with EINVAL when the file is
 * incomplete or corrupt.
 */
int spool_load(const char *queue_dir, const char *id, struct envelope *env);

/* spool_write_state - write state/<id> atomically (tmp + rename, not synced). */
int spool_write_state(const char *queue_dir, const struct envelope *env);

/* spool_remove - unlink msg/<id> and state/<id>. */
void spool_remove(const char *queue_dir, const char *id);

/* spool_list - the ids in msg/, sorted. */
int spool_list(const char *queue_dir, struct strlist *out);

/*
 * The writer: smtpd opens tmp/<id> with the envelope, writes the message as it
 * arrives, then finishes: size patched in, renamed into msg/. Not flushed: the
 * caller groups that (commit.h). A crash before the flush can leave a file whose
 * length disagrees with its size line: never acknowledged, and discarded.
 */
struct spool_writer {
	int fd;
	char path[4096];
	uint64_t written;     /* message octets so far */
	uint64_t size_offset; /* where the size digits sit */
	uint64_t header_len;
};

int spool_writer_open(struct spool_writer *w, const char *queue_dir, const struct envelope *env);
int spool_writer_write(struct spool_writer *w, const void *p, size_t n);
/*
 * spool_writer_finish - patch the size in, rename into msg/. With keep_fd, the
 * file stays open and its fd is stored there (for the caller's flush); else closed.
 */
int spool_writer_finish(struct spool_writer *w, const char *queue_dir, const char *id,
    int *keep_fd);
void spool_writer_abort(struct spool_writer *w);

/* spool_writer_copy - append the first len octets of the file src (spool_spill_open's). */
int spool_writer_copy(struct spool_writer *w, int src, uint64_t len);

/*
 * spool_spill_open - a file for message text that is not kept in memory while it
 * arrives (mail written straight into Maildirs): unnamed in tmp/ (O_TMPFILE), or
 * where the file system lacks that, tmp/<id>.spill unlinked at once (a crash in
 * between leaves it to the emptying of tmp/ at the next start). Read and write.
 * Returns the fd or -1 (errno).
 */
int spool_spill_open(const char *queue_dir, const char *id);

#endif
