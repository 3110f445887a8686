/*
 * fuzz_arc_verify.c - libFuzzer harness for the ARC chain validator over a whole
 * message: the sets found, every seal and the newest AMS read, what they cover
 * made, the body hashed in two pieces, each key answered at once with a fixed
 * record (or, by the first octet, a failure), and done called once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/arc_verify.h"
#include "dkim/dkim_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_txt[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static int
fake_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	uint8_t rdata[sizeof key_txt];
	const uint8_t *v[1] = { rdata };
	int len[1] = { (int)sizeof key_txt };
	int mode = *(const int *)ctx;

	if (strlen(name) > 253)
		abort();
	if (mode == 1)
		return -1;
	rdata[0] = (uint8_t)(sizeof key_txt - 1);
	memcpy(rdata + 1, key_txt, sizeof key_txt - 1);
	struct dns_rdata rr = { v, len, 1, 60, false };
	fn(arg, mode == 2 ? DNS_TEMPFAIL : DNS_OK, &rr, "");
	return 0;
}

static void
done(void *arg, const struct arc_result *res)
{
	size_t *calls = arg;

	(*calls)++;
	if (res->why == NULL || res->n > 50 || (res->status == ARC_NONE && res->n != 0) ||
	    (res->status != ARC_FAIL && res->why[0] != '\0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 3;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, body_at, calls = 0;
	size_t end = dkim_header_end(text, len, &body_at);
	struct arc_verify *v = arc_verify_new(text, end);
	struct dns_ops ops = { fake_rr, NULL, &mode };

	if (v == NULL)
		abort();
	size_t half = (len - body_at) / 2;
	arc_verify_body(v, text + body_at, half);
	arc_verify_body(v, text + body_at + half, len - body_at - half);
	if (arc_verify_finish(v, &ops, done, &calls) != 0 || calls != 1)
		abort();
	arc_verify_free(v);
	return 0;
}
