/*
 * queue_ctl_proto.h - the queue control channel: httpd's requests to queued and
 * queued's replies, over a SOCK_SEQPACKET socketpair the supervisor makes once and
 * keeps across restarts of either role (role_env.qctl_fd). httpd may not read the
 * spool or the Maildirs; queued answers for them. Every message is one frame
 * (ipc/frame.h), its fields in this order:
 *
 *   QC_LIST     u64 req, u64 deadline            -> {"total", "messages": [...]}
 *   QC_SHOW     u64 req, u64 deadline, str id    -> a message, with "headers"
 *   QC_HOLD     u64 req, u64 deadline, str id    -> {"id"}
 *   QC_RELEASE  u64 req, u64 deadline, str id    -> {"id"}
 *   QC_DELETE   u64 req, u64 deadline, str id    -> {"id"}
 *   QC_FLUSH    u64 req, u64 deadline            -> {}
 *   QC_USAGE    u64 req, u64 deadline, str address -> {"address", "bytes", "quota"}
 *
 *   QC_REPLY    u64 req, u64 status, u64 part, u64 last, str text
 *
 * req is the caller's number for the request, echoed in each frame of its reply:
 * a reply that does not carry the number of the request waited for (the answer to
 * a request that timed out, or to one of an httpd since restarted) is dropped.
 * deadline is CLOCK_MONOTONIC in milliseconds (one clock for the host): queued
 * drops a request it reads after it, since its caller has given up (a delete
 * must not happen minutes after the admin was told it failed).
 *
 * A reply is a JSON object (jansson; queue/queue_view.h builds the messages) that
 * may be longer than a frame: it travels as QC_REPLY frames numbered from part 0,
 * each with at most QCTL_PART_MAX octets of the text, the last with last = 1.
 * status is an HTTP status, the same in every part: 200, 400 (a malformed id or
 * address, an unknown request), 404 (no such message or user), 500 (queued could
 * not read the queue or ran out of memory), 503 (lookupd did not answer); an error
 * is {"error": "one line"}. Replies are at most QCTL_REPLY_MAX octets.
 */
#ifndef MAILROOM_QUEUE_CTL_PROTO_H
#define MAILROOM_QUEUE_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"
#include "util/buf.h"

struct frame;

enum qctl_type {
	QC_LIST = 1,
	QC_SHOW = 2,
	QC_HOLD = 3,
	QC_RELEASE = 4,
	QC_DELETE = 5,
	QC_FLUSH = 6,
	QC_USAGE = 7,
	QC_REPLY = 100,
};

#define QCTL_PART_MAX 60000              /* text octets in one QC_REPLY frame */
#define QCTL_REPLY_MAX (16 * 1024 * 1024) /* the longest reply */
#define QCTL_ARG_MAX 320                 /* an id or an address (ADDR_MAX), and its NUL */
#define QCTL_TIMEOUT_MS 5000             /* how long a caller waits */

/* A request, decoded. */
struct qctl_request {
	enum qctl_type op;
	uint64_t req;
	uint64_t deadline;
	char arg[QCTL_ARG_MAX + 1]; /* the id or address; "" for QC_LIST and QC_FLUSH */
};

/* qctl_op_type - the request type of op ("list", "show", ...); 0 when unknown. */
enum qctl_type qctl_op_type(const char *op);

/* qctl_op_has_arg - whether requests of type t carry an argument. */
bool qctl_op_has_arg(enum qctl_type t);

/*
 * qctl_request_check - whether r's argument has the syntax its op needs (a queue
 * id, an address) before it goes near a path: 0, or 400.
 */
int qctl_request_check(const struct qctl_request *r);

/* qctl_error_json - {"error": msg} into out (replacing what it held). Returns 0 or -1. */
int qctl_error_json(struct buf *out, const char *msg);

/*
 * qctl_request_encode - f made into request r (r->arg ignored when the type takes
 * none). Returns 0, or -1 when r's type is not a request or arg does not fit.
 */
int qctl_request_encode(struct frame *f, const struct qctl_request *r);

/*
 * qctl_request_decode - the request in the len octets at data into r (f is the
 * frame to parse them in). Returns 0, or -1 when they are no well-formed request:
 * no frame, a type that is not a request, fields missing, of the wrong kind, too
 * long, or trailing. The argument's syntax is checked by the caller.
 */
int qctl_request_decode(struct frame *f, const void *data, size_t len, struct qctl_request *r);

/*
 * qctl_reply_part - f made into part number part of the reply to req with status,
 * holding the octets of text from offset off (at most QCTL_PART_MAX); *used is
 * how many. The last part (last set) is the one that reaches the end of text.
 * Returns 0 or -1 (text holds a NUL, which no JSON text does).
 */
int qctl_reply_part(struct frame *f, uint64_t req, int status, uint64_t part,
    const char *text, size_t len, size_t off, size_t *used);

/* One QC_REPLY frame, decoded. */
struct qctl_part {
	uint64_t req;
	int status;
	uint64_t part;
	bool last;
	char *text;    /* a NUL-terminated copy; the caller frees it */
	size_t len;
};

/*
 * qctl_reply_decode - the len octets at data as a QC_REPLY frame into p (f is the
 * frame to parse in). Returns 0, or -1 when malformed (a status that is no HTTP
 * status, last not 0 or 1 included) or out of memory.
 */
int qctl_reply_decode(struct frame *f, const void *data, size_t len, struct qctl_part *p);

#endif
