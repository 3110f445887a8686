/*
 * outform.c - the outbound form of a queued message (outform.h): the scan at open,
 * then reads straight from the queue file when nothing changes, or through the
 * linefix transform, a chunk of stored text at a time.
 */
#include "deliver/outform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/wire.h"

#define IN_CHUNK (16 * 1024)

/* run - the whole stored text through lf (scan, or transform with out); 0 or -1. */
static int
run(struct outform *o, struct linefix *lf, struct buf *out, uint64_t *lines, uint64_t *octets)
{
	struct msg_reader r = o->r;
	char in[IN_CHUNK];
	ssize_t n;

	r.pos = 0;
	while ((n = msg_read(&r, in, sizeof in)) > 0) {
		if (linefix_feed(lf, in, (size_t)n, out) < 0)
			return errno = ENOMEM, -1;
		if (out != NULL) {
			*lines += out->len ? count_lf(out->data, out->len) : 0;
			*octets += out->len;
			buf_reset(out);
		}
	}
	if (n < 0)
		return -1;
	if (linefix_finish(lf, out) < 0)
		return errno = ENOMEM, -1;
	if (out != NULL) {
		*lines += out->len ? count_lf(out->data, out->len) : 0;
		*octets += out->len;
		buf_reset(out);
	}
	return 0;
}

int
outform_open(struct outform *o, const char *queue_dir, const struct envelope *env)
{
	memset(o, 0, sizeof *o);
	if (msg_open(&o->r, queue_dir, env) < 0)
		return -1;
	o->open = true;
	struct linefix *lf = malloc(sizeof *lf);
	if (lf == NULL) {
		outform_close(o);
		return errno = ENOMEM, -1;
	}
	linefix_scan_init(lf, &o->plan);
	int rc = run(o, lf, NULL, NULL, NULL);
	free(lf);
	if (rc < 0) {
		int e = errno;
		outform_close(o);
		return errno = e, -1;
	}
	o->changed = linefix_plan_changes(&o->plan);
	return outform_rewind(o);
}

void
outform_set_prefix(struct outform *o, const char *text, size_t len)
{
	free(o->prefix);
	o->prefix = NULL;
	o->prefix_len = o->prefix_pos = 0;
	o->prefix_failed = false;
	if (text == NULL || len == 0)
		return;
	o->prefix = malloc(len);
	if (o->prefix == NULL) {
		o->prefix_failed = true;
		return;
	}
	memcpy(o->prefix, text, len);
	o->prefix_len = len;
}

int
outform_rewind(struct outform *o)
{
	o->r.pos = 0;
	o->prefix_pos = 0;
	o->in_done = false;
	buf_reset(&o->out);
	o->out_pos = 0;
	if (!o->changed)
		return 0;
	if (o->lf == NULL && (o->lf = malloc(sizeof *o->lf)) == NULL)
		return errno = ENOMEM, -1;
	linefix_init(o->lf, &o->plan);
	return 0;
}

/* refill - the transform's next output, from the next chunk of stored text. */
static int
refill(struct outform *o)
{
	char in[IN_CHUNK];

	buf_reset(&o->out);
	o->out_pos = 0;
	while (o->out.len == 0 && !o->in_done) {
		ssize_t n = msg_read(&o->r, in, sizeof in);
		if (n < 0)
			return -1;
		int rc = n > 0 ? linefix_feed(o->lf, in, (size_t)n, &o->out) :
		    linefix_finish(o->lf, &o->out);
		if (rc < 0)
			return errno = ENOMEM, -1;
		if (n == 0)
			o->in_done = true;
	}
	return 0;
}

ssize_t
outform_read(struct outform *o, char *buf, size_t len)
{
	if (o->prefix_failed)
		return errno = ENOMEM, -1;
	if (o->prefix_pos < o->prefix_len) {
		size_t n = o->prefix_len - o->prefix_pos;
		if (n > len)
			n = len;
		memcpy(buf, o->prefix + o->prefix_pos, n);
		o->prefix_pos += n;
		return (ssize_t)n;
	}
	if (!o->changed)
		return msg_read(&o->r, buf, len);
	if (o->out_pos == o->out.len && refill(o) < 0)
		return -1;
	size_t n = o->out.len - o->out_pos;
	if (n > len)
		n = len;
	if (n > 0)
		memcpy(buf, o->out.data + o->out_pos, n);
	o->out_pos += n;
	return (ssize_t)n;
}

int
outform_wire_size(struct outform *o, uint64_t *size)
{
	if (!o->wire_counted) {
		uint64_t lines = 0, octets = 0;
		if (!o->changed) {
			if (msg_count_lf(&o->r, &lines) < 0)
				return -1;
			octets = o->r.size;
		} else {
			struct linefix *lf = malloc(sizeof *lf);
			struct buf out = { 0 };
			if (lf == NULL)
				return errno = ENOMEM, -1;
			linefix_init(lf, &o->plan);
			int rc = run(o, lf, &out, &lines, &octets);
			int e = errno;
			free(lf);
			buf_free(&out);
			if (rc < 0)
				return errno = e, -1;
		}
		o->wire_size = octets + lines;
		o->wire_counted = true;
	}
	*size = o->wire_size + o->prefix_len +
	    (o->prefix_len ? count_lf(o->prefix, o->prefix_len) : 0);
	return 0;
}

bool
outform_changed(const struct outform *o)
{
	return o->changed;
}

void
outform_close(struct outform *o)
{
	if (o->open)
		msg_close(&o->r);
	o->open = false;
	free(o->lf);
	o->lf = NULL;
	buf_free(&o->out);
	free(o->prefix);
	o->prefix = NULL;
	o->prefix_len = o->prefix_pos = 0;
	linefix_plan_free(&o->plan);
}
