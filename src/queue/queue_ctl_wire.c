/*
 * queue_ctl_wire.c - the frames of the queue control channel (queue_ctl_proto.h):
 * requests and reply parts, encoded and decoded. Pure: no I/O.
 */
#include "queue/queue_ctl_proto.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "ipc/frame.h"
#include "store/spool.h"

static const struct {
	const char *name;
	enum qctl_type type;
} ops[] = {
	{ "list", QC_LIST }, { "show", QC_SHOW }, { "hold", QC_HOLD },
	{ "release", QC_RELEASE }, { "delete", QC_DELETE }, { "flush", QC_FLUSH },
	{ "usage", QC_USAGE },
};

enum qctl_type
qctl_op_type(const char *op)
{
	for (size_t i = 0; op != NULL && i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(op, ops[i].name) == 0)
			return ops[i].type;
	return 0;
}

static bool
is_request(uint16_t t)
{
	return t >= QC_LIST && t <= QC_USAGE;
}

bool
qctl_op_has_arg(enum qctl_type t)
{
	return is_request(t) && t != QC_LIST && t != QC_FLUSH;
}

int
qctl_request_check(const struct qctl_request *r)
{
	char canon[ADDR_MAX + 1];

	if (!qctl_op_has_arg(r->op))
		return r->arg[0] == '\0' ? 0 : 400;
	if (r->op == QC_USAGE)
		return address_canonical(r->arg, canon, sizeof canon, false) == 0 ? 0 : 400;
	return spool_id_valid(r->arg) ? 0 : 400;
}

int
qctl_error_json(struct buf *out, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(o);
	buf_reset(out);
	if (text != NULL)
		rc = buf_append(out, text, strlen(text));
	free(text);
	return rc;
}

int
qctl_request_encode(struct frame *f, const struct qctl_request *r)
{
	if (!is_request(r->op))
		return -1;
	frame_init(f, (uint16_t)r->op);
	frame_put_u64(f, r->req);
	frame_put_u64(f, r->deadline);
	if (qctl_op_has_arg(r->op)) {
		if (strnlen(r->arg, sizeof r->arg) >= sizeof r->arg)
			return -1;
		frame_put_str(f, r->arg);
	}
	return f->bad ? -1 : 0;
}

int
qctl_request_decode(struct frame *f, const void *data, size_t len, struct qctl_request *r)
{
	uint16_t type;

	memset(r, 0, sizeof *r);
	if (frame_parse(f, data, len, &type) < 0 || !is_request(type))
		return -1;
	r->op = (enum qctl_type)type;
	if (!frame_get_u64(f, &r->req) || !frame_get_u64(f, &r->deadline))
		return -1;
	if (qctl_op_has_arg(r->op) && !frame_get_str(f, r->arg, sizeof r->arg))
		return -1;
	return frame_end(f) ? 0 : -1;
}

int
qctl_reply_part(struct frame *f, uint64_t req, int status, uint64_t part,
    const char *text, size_t len, size_t off, size_t *used)
{
	size_t n = off < len ? len - off : 0;

	if (n > QCTL_PART_MAX)
		n = QCTL_PART_MAX;
	if (n > 0 && memchr(text + off, '\0', n) != NULL)
		return -1;
	frame_init(f, QC_REPLY);
	frame_put_u64(f, req);
	frame_put_u64(f, (uint64_t)status);
	frame_put_u64(f, part);
	frame_put_u64(f, off + n >= len ? 1 : 0);
	frame_put_strn(f, n > 0 ? text + off : "", n);
	*used = n;
	return f->bad ? -1 : 0;
}

int
qctl_reply_decode(struct frame *f, const void *data, size_t len, struct qctl_part *p)
{
	uint16_t type;
	uint64_t status, last;

	memset(p, 0, sizeof *p);
	if (frame_parse(f, data, len, &type) < 0 || type != QC_REPLY)
		return -1;
	if (!frame_get_u64(f, &p->req) || !frame_get_u64(f, &status) ||
	    !frame_get_u64(f, &p->part) || !frame_get_u64(f, &last) ||
	    status < 100 || status > 599 || last > 1)
		return -1;
	if ((p->text = malloc(QCTL_PART_MAX + 1)) == NULL)
		return -1;
	if (!frame_get_str(f, p->text, QCTL_PART_MAX + 1) || !frame_end(f)) {
		free(p->text);
		p->text = NULL;
		return -1;
	}
	p->status = (int)status;
	p->last = last == 1;
	p->len = strlen(p->text);
	return 0;
}
