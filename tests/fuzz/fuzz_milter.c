/*
 * fuzz_milter.c - libFuzzer harness for what a milter sends back
 * (milter/milter_proto.c) and what its header changes do to a message's header
 * block (milter/milter_hdr.c): the input is read as a stream of reply packets, as
 * milter_conn.c reads it, every header change applied to a header block parsed
 * from a fixed message, every reply text made into an SMTP reply line; the block
 * written out must parse back into the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter/milter_hdr.h"
#include "milter/milter_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MSG[] = "From: a@b.test\nSubject: one\n\ttwo\nX-Spam: yes\nx-spam: no\n\nbody\n";

static void
check_roundtrip(const struct mhdr *h)
{
	struct buf out = { 0 };
	struct mhdr back = { 0 };
	size_t end;

	if (mhdr_write(h, &out) < 0)
		abort();
	if (mhdr_parse(&back, out.data ? out.data : "", out.len, true, &end) < 0)
		abort();
	/* every field it wrote is a field, and the block ends where the text does */
	if (end != out.len || back.n != h->n || back.octets != h->octets)
		abort();
	mhdr_free(&back);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mhdr h = { 0 };
	size_t end, pos = 0, len;
	char line[320];

	/* the input as a header block too */
	if (mhdr_parse(&h, (const char *)data, size, true, &end) < 0 || end > size)
		abort();
	mhdr_free(&h);
	if (mhdr_parse(&h, MSG, strlen(MSG), true, &end) < 0)
		abort();
	bool leadspc = size > 0 && (data[0] & 1);
	while (pos < size) {
		int f = milter_frame(data + pos, size - pos, &len);
		if (f <= 0)
			break;
		const char *p = (const char *)data + pos + 4;
		struct milter_reply r;
		const char *why;
		if (milter_parse_reply(p, len, &r, &why) == 0) {
			switch (r.cmd) {
			case SMFIR_ADDHEADER:
				(void)mhdr_add(&h, r.name, r.value, leadspc);
				break;
			case SMFIR_INSHEADER:
				(void)mhdr_insert(&h, r.index, r.name, r.value, leadspc);
				break;
			case SMFIR_CHGHEADER:
				(void)mhdr_change(&h, r.index, r.name, r.value, leadspc);
				break;
			case SMFIR_REPLYCODE:
				if (milter_reply_line(r.text, line, sizeof line) >= 0 &&
				    strpbrk(line, "\r\n") != NULL)
					abort();
				break;
			default:
				break;
			}
		}
		pos += 4 + len;
	}
	if (h.octets > MHDR_BLOCK_MAX || h.n > MHDR_FIELDS_MAX)
		abort();
	check_roundtrip(&h);
	mhdr_free(&h);
	return 0;
}
