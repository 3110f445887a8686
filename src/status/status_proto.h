/*
 * status_proto.h - how `mailroom status` asks the supervisor of a running
 * `serve`. The supervisor listens on an abstract Unix socket named after the data
 * dir (util/abstract_name.h, role "serve"), SOCK_SEQPACKET, one frame
 * (ipc/frame.h) a message:
 *
 *   ST_REQUEST  (no fields)
 *   ST_REPLY    u64 code, str text
 *
 * The client sends one request; the supervisor sends one reply and closes. code
 * ST_OK: text is the status as JSON (status_json.h); ST_REFUSED: the client's uid
 * may not ask (only root and the mail user may), text says so in one line;
 * ST_FAILED: the supervisor could not make the status, text says why. The
 * supervisor checks the client's credentials (SO_PEERCRED); the client checks the
 * supervisor's (root, or its own uid), so that no other user can pose as the
 * server by binding the name first.
 */
#ifndef MAILROOM_STATUS_PROTO_H
#define MAILROOM_STATUS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct frame;

enum status_type { ST_REQUEST = 1, ST_REPLY = 2 };
enum status_code { ST_OK = 0, ST_REFUSED = 1, ST_FAILED = 2 };

#define STATUS_TIMEOUT_MS 5000  /* how long either side waits for the other */

/* status_socket_name - the supervisor's socket for data_dir into *sun. */
void status_socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len);

/* status_request_frame - f made into a request. */
void status_request_frame(struct frame *f);

/* status_request_parse - whether the len octets at data are a well-formed request (f parses them). */
bool status_request_parse(struct frame *f, const void *data, size_t len);

/* status_reply_frame - f made into a reply. Returns 0, or -1 when text does not fit a frame. */
int status_reply_frame(struct frame *f, enum status_code code, const char *text);

/*
 * status_reply_parse - the reply in the len octets at data: its code and its text
 * (NUL-terminated, at most textlen-1 octets). Returns 0, or -1 when they are no
 * well-formed reply (an unknown code included).
 */
int status_reply_parse(struct frame *f, const void *data, size_t len, enum status_code *code,
    char *text, size_t textlen);

#endif
