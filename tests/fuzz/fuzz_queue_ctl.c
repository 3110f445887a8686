/*
 * fuzz_queue_ctl.c - libFuzzer harness for the queue control channel as queued
 * meets it (queue/queue_ctl_wire.c): any octets read from the channel decoded as a
 * request, its argument checked as queued checks it before any path is made; a
 * request that decodes must encode back to the same octets, and one that passes
 * the check must hold a queue id (or an address, for usage) and nothing else. The
 * same octets go through httpd's reply decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/frame.h"
#include "queue/queue_ctl_proto.h"
#include "store/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct frame in, out;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qctl_request r;
	struct qctl_part p;

	if (qctl_request_decode(&in, data, size, &r) == 0) {
		if (qctl_request_encode(&out, &r) < 0 || out.len != size ||
		    memcmp(out.buf, data, size) != 0)
			abort();
		if (qctl_request_check(&r) == 0 && qctl_op_has_arg(r.op) && r.op != QC_USAGE &&
		    (!spool_id_valid(r.arg) || strchr(r.arg, '/') != NULL))
			abort();
	}
	if (qctl_reply_decode(&in, data, size, &p) == 0) {
		if (p.len > QCTL_PART_MAX || strlen(p.text) != p.len || p.status < 100 ||
		    p.status > 599)
			abort();
		free(p.text);
	}
	return 0;
}
