/*
 * fuzz_frame.c - libFuzzer harness for ipc/frame.c, as lookupd meets it: any octets
 * parsed as a frame and read as each request shape; a frame that reads cleanly
 * must re-encode to the same octets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct frame in, out;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t type;
	char s[4][600];
	uint64_t v[2];

	if (frame_parse(&in, data, size, &type) < 0)
		return 0;
	/* strings then numbers, the shapes of LK_VERIFY and LK_RESOLVE replies */
	bool ok = true;
	int ns = 0, nv = 0;
	frame_init(&out, type);
	while (ok && in.pos < in.len && ns < 4 && nv < 2) {
		if (in.buf[in.pos] == 's') {
			ok = frame_get_str(&in, s[ns], sizeof s[ns]);
			if (ok)
				frame_put_str(&out, s[ns++]);
		} else {
			ok = frame_get_u64(&in, &v[nv]);
			if (ok)
				frame_put_u64(&out, v[nv++]);
		}
	}
	if (ok && frame_end(&in)) {
		if (out.bad || out.len != in.len || memcmp(out.buf, in.buf, in.len) != 0)
			abort();
	}
	return 0;
}
