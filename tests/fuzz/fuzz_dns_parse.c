/*
 * fuzz_dns_parse.c - libFuzzer harness for dns_parse.c. The input is read as a
 * wire-format name (into output buffers of several sizes), as one MX rdata, and
 * as a list of MX rdatas (each prefixed by a length octet) that mx_list_finish
 * orders with random bits taken from the input. Names must come out as safe,
 * lower-case dotted text that encodes back to the octets read; a finished list
 * must be a permutation of its real exchanges, in preference order, with a null
 * MX exactly when every exchange was the root. The input is also read as TXT
 * rdata (the joined text must be the strings' octets, without their length
 * octets), as SRV, as PTR/CNAME rdata and as A/AAAA rdata.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_name - text is what the wire octets p[0..used) say, lower-cased. */
static void
check_name(const uint8_t *p, long used, const char *text, size_t outlen)
{
	size_t tl = strlen(text);
	if (used < 1 || tl >= outlen)
		abort();
	/* Encode the text again: labels split at the dots. */
	uint8_t w[1100];
	size_t o = 0;
	const char *s = text;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63 || o + 1 + l >= sizeof w)
			abort();
		w[o++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z'))
				abort();
			w[o++] = c;
		}
		s += l;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				abort(); /* no trailing dot */
		}
	}
	w[o++] = 0;
	if (o != (size_t)used)
		abort();
	for (size_t i = 0; i < o; i++) {
		uint8_t a = p[i];
		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a + 32);
		if (a != w[i])
			abort();
	}
}

static const uint8_t *rnd_p;
static size_t rnd_n, rnd_i;

static unsigned
input_rnd(void)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++)
		v = v << 8 | (rnd_n ? rnd_p[rnd_i++ % rnd_n] : 0);
	return v;
}

static void
fuzz_list(const uint8_t *data, size_t size)
{
	struct mx v[64], before[64];
	struct mx_list l = { v, 0, false, false };
	size_t i = 0, roots = 0;

	/* length octet, rdata; the rest is random bits. */
	while (i < size && l.n < 64) {
		size_t len = data[i++];
		if (len == 0 || len > size - i)
			break;
		if (dns_parse_mx(data + i, len, &v[l.n]) == 0) {
			roots += v[l.n].host[0] == '\0';
			before[l.n] = v[l.n];
			l.n++;
		}
		i += len;
	}
	size_t n = l.n;
	rnd_p = data + i;
	rnd_n = size - i;
	rnd_i = 0;
	mx_list_finish(&l, input_rnd);
	if (l.null_mx != (n > 0 && roots == n))
		abort();
	if (l.n != n - roots)
		abort();
	bool used[64] = { false };
	for (size_t k = 0; k < l.n; k++) {
		if (l.v[k].host[0] == '\0')
			abort();
		if (k > 0 && l.v[k - 1].pref > l.v[k].pref)
			abort();
		/* Each entry is one of the input's, used once. */
		size_t j;
		for (j = 0; j < n; j++)
			if (!used[j] && before[j].pref == l.v[k].pref &&
			    strcmp(before[j].host, l.v[k].host) == 0)
				break;
		if (j == n)
			abort();
		used[j] = true;
	}
}

static void
fuzz_txt(const uint8_t *data, size_t size)
{
	static const size_t outlens[] = { 1, 16, 300, 70000 };
	static char out[70000];

	for (size_t k = 0; k < sizeof outlens / sizeof outlens[0]; k++) {
		long n = dns_parse_txt(data, size, out, outlens[k]);
		if (n < 0)
			continue;
		if ((size_t)n >= outlens[k] || out[n] != '\0' || strlen(out) != (size_t)n)
			abort();
		/* Rebuild the text from the strings and compare. */
		size_t i = 0, o = 0;
		while (i < size) {
			size_t l = data[i++];
			if (l > size - i || memcmp(out + o, data + i, l) != 0)
				abort();
			o += l;
			i += l;
		}
		if (o != (size_t)n)
			abort();
	}
}

static void
fuzz_records(const uint8_t *data, size_t size)
{
	char out[1024];
	struct srv srv;

	if (dns_parse_srv(data, size, &srv) == 0) {
		if (size < 7 || srv.port != (uint16_t)(data[4] << 8 | data[5]))
			abort();
		long used = dns_name_from_wire(data + 6, size - 6, out, sizeof out);
		if (used != (long)size - 6 || strcmp(out, srv.target) != 0)
			abort();
	}
	if (dns_parse_name_rdata(data, size, out, sizeof out) == 0) {
		if (dns_name_from_wire(data, size, out, sizeof out) != (long)size)
			abort();
	}
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		if (dns_parse_addr(family, data, size, out, sizeof out) == 0) {
			uint8_t back[16];
			if (size != (f ? 16u : 4u) || inet_pton(family, out, back) != 1 ||
			    memcmp(back, data, size) != 0)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t outlens[] = { 1, 2, 8, 64, DNS_NAME_MAX, 1024 };
	char out[1024];
	struct mx mx;

	for (size_t k = 0; k < sizeof outlens / sizeof outlens[0]; k++) {
		memset(out, 'Z', sizeof out);
		long used = dns_name_from_wire(data, size, out, outlens[k]);
		if (used >= 0) {
			if ((size_t)used > size)
				abort();
			check_name(data, used, out, outlens[k]);
		} else if (used != -1) {
			abort();
		}
		/* Nothing written past the buffer it was given. */
		for (size_t i = outlens[k]; i < sizeof out; i++)
			if (out[i] != 'Z')
				abort();
	}
	if (dns_parse_mx(data, size, &mx) == 0) {
		if (size < 3 || mx.pref != (uint16_t)(data[0] << 8 | data[1]))
			abort();
		long used = dns_name_from_wire(data + 2, size - 2, out, sizeof out);
		if (used != (long)size - 2 || strcmp(out, mx.host) != 0)
			abort();
	}
	fuzz_list(data, size);
	fuzz_txt(data, size);
	fuzz_records(data, size);
	return 0;
}
