/*
 * status_server.h - the supervisor's end of `mailroom status` (status_proto.h):
 * its socket, on the supervisor's loop. A request is answered at once, from what
 * the supervisor has in memory, so the loop never waits on a client: a client
 * that sends nothing is dropped after STATUS_TIMEOUT_MS, and only a few are
 * served at a time. Only root, the mail user and the supervisor's own uid are
 * answered (SO_PEERCRED); others get ST_REFUSED and a warning in the log.
 */
#ifndef MAILROOM_STATUS_SERVER_H
#define MAILROOM_STATUS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct status_server;

/* The status as JSON text (malloc'd; the server frees it), or NULL when it cannot be made. */
typedef char *(*status_fill_fn)(void *arg);

/*
 * status_server_new - listen for data_dir's status requests on base. Returns the
 * server, or NULL with err (the name is taken: another serve of this data dir, or
 * another user squatting it).
 */
struct status_server *status_server_new(struct event_base *base, const char *data_dir,
    uid_t mail_uid, status_fill_fn fill, void *arg, char *err, size_t errlen);

/* status_server_close_fds - in a child just forked: its sockets closed (the loop is not its own). */
void status_server_close_fds(struct status_server *s);

/* status_server_free - stop listening and drop the clients (s may be NULL). */
void status_server_free(struct status_server *s);

#endif
