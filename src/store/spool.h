/*
 * spool.h - the queue directory: ids, paths, reading a message's envelope and state,
 * recording its state, listing and removing. The contract (files, names, crash
 * states and the recovery after each) is docs/spool.md.
 */
#ifndef MAILROOM_SPOOL_H
#define MAILROOM_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "store/envelope.h"

struct buf;

/* The places of a message in the queue directory. */
enum spool_area {
	SPOOL_TMP,       /* tmp/<id>: being received */
	SPOOL_MSG,       /* msg/<id>: queued */
	SPOOL_STATE,     /* state/<id>: per-recipient state */
	SPOOL_STATE_TMP, /* state/.<id>.tmp: the next state, before its rename */
	SPOOL_SIG,       /* sig/<id>: the signatures made for it, kept for its retries */
	SPOOL_SIG_TMP,   /* sig/.<id>.tmp: before its rename */
};

/* spool_new_id - a fresh id: arrival time first, then random bits. */
void spool_new_id(char id[QUEUE_ID_LEN + 1]);
bool spool_id_valid(const char *id);

/*
 * spool_path - <queue_dir>/<area>/<id>; with id NULL the area's directory. Returns 0,
 * or -1 (errno ENAMETOOLONG) when it does not fit.
 */
int spool_path(char *out, size_t outlen, const char *queue_dir, enum spool_area area,
    const char *id);

/* spool_init - create queue/{tmp,msg,state} under data_dir. Returns 0 or -1 (errno). */
int spool_init(const char *data_dir);

/*
 * spool_recover - before any role runs: what a crash can leave that nobody will
 * finish goes (docs/spool.md): every file in tmp/ (never acknowledged), state files
 * half written (state/.<id>.tmp), and state/<id> whose msg/<id> is gone. Returns how
 * many were removed.
 */
unsigned spool_recover(const char *queue_dir);

/*
 * spool_load - read msg/<id> (header only) and apply state/<id> when present.
 * Returns 0, -1 with errno ENOENT when gone, or -1 with EINVAL when the file is
 * incomplete or corrupt.
 */
int spool_load(const char *queue_dir, const char *id, struct envelope *env);

/* spool_write_state - write state/<id> atomically (tmp + rename, not synced). */
int spool_write_state(const char *queue_dir, const struct envelope *env);

/*
 * spool_write_sig - write sig/<id> atomically (tmp + rename, not synced: a lost one
 * is made again). spool_read_sig - its text into b (replacing what b held); -1 with
 * errno ENOENT when there is none.
 */
int spool_write_sig(const char *queue_dir, const char *id, const void *data, size_t len);
int spool_read_sig(const char *queue_dir, const char *id, struct buf *b);

/*
 * spool_remove - unlink msg/<id>, then state/<id> (a crash between leaves a state
 * file without its message, which spool_recover removes; the other order would
 * leave a message whose finished recipients look pending).
 */
void spool_remove(const char *queue_dir, const char *id);

/* Queue ids, as spool_list finds them. */
struct spool_ids {
	char (*v)[QUEUE_ID_LEN + 1];
	size_t n, cap;
};

/* spool_list - the ids in msg/, sorted (so by arrival). Returns 0 or -1 (errno). */
int spool_list(const char *queue_dir, struct spool_ids *out);
void spool_ids_free(struct spool_ids *ids);

#endif
