/*
 * test_dns_parse.c - unit tests for dns_parse.c: names in wire format, MX rdata,
 * and the ordering of an MX list (RFC 5321 5.1 preferences, RFC 7505 null MX,
 * equal preferences shuffled by the random function it is given); TXT
 * character-strings joined (RFC 1035 3.3.14), SRV (RFC 2782), PTR/CNAME, A/AAAA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "deliver/dns_parse.h"

/* Every parser gets an exact-size heap copy: ASan catches over-reads. */
static long
name_n(const void *wire, size_t len, char *out, size_t outlen)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, wire, len);
	long rc = dns_name_from_wire(c, len, out, outlen);
	free(c);
	return rc;
}

static int
mx_n(const void *rdata, size_t len, struct mx *out)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, rdata, len);
	int rc = dns_parse_mx(c, len, out);
	free(c);
	return rc;
}

/* wire - "mx1.example.test" -> length-prefixed labels and the zero label. */
static size_t
wire(const char *text, uint8_t *out)
{
	size_t o = 0;
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

static void
test_name_simple(void **state)
{
	uint8_t w[300];
	char out[DNS_NAME_MAX];
	size_t n = wire("mx1.example.test", w);

	assert_int_equal(name_n(w, n, out, sizeof out), (long)n);
	assert_string_equal(out, "mx1.example.test");
	/* Trailing octets after the zero label are not part of the name. */
	w[n] = 0xff;
	assert_int_equal(name_n(w, n + 1, out, sizeof out), (long)n);
	assert_string_equal(out, "mx1.example.test");
	/* The root. */
	assert_int_equal(name_n("\0", 1, out, sizeof out), 1);
	assert_string_equal(out, "");
	/* One label, digits, hyphen, underscore. */
	n = wire("_a-1", w);
	assert_int_equal(name_n(w, n, out, sizeof out), (long)n);
	assert_string_equal(out, "_a-1");
}

static void
test_name_lowercase(void **state)
{
	uint8_t w[64];
	char out[DNS_NAME_MAX];
	size_t n = wire("MX.Example.TEST", w);

	assert_int_equal(name_n(w, n, out, sizeof out), (long)n);
	assert_string_equal(out, "mx.example.test");
}

static void
test_name_malformed(void **state)
{
	char out[DNS_NAME_MAX];

	/* Empty input, and a name without its zero label. */
	assert_int_equal(name_n("", 0, out, sizeof out), -1);
	assert_int_equal(name_n("\3abc", 4, out, sizeof out), -1);
	/* A label longer than what is left. */
	assert_int_equal(name_n("\5abc\0", 5, out, sizeof out), -1);
	/* A compression pointer (0xC0) and the reserved 0x40/0x80 label types. */
	assert_int_equal(name_n("\xc0\x0c", 2, out, sizeof out), -1);
	assert_int_equal(name_n("\3abc\xc0\x0c", 6, out, sizeof out), -1);
	assert_int_equal(name_n("\x40" "a\0", 3, out, sizeof out), -1);
	assert_int_equal(name_n("\x80" "a\0", 3, out, sizeof out), -1);
	/* Octets that would make the text ambiguous or unsafe. */
	assert_int_equal(name_n("\3a.b\0", 5, out, sizeof out), -1);
	assert_int_equal(name_n("\3a b\0", 5, out, sizeof out), -1);
	assert_int_equal(name_n("\3a\0b\0", 5, out, sizeof out), -1);
	assert_int_equal(name_n("\3a\nb\0", 5, out, sizeof out), -1);
	assert_int_equal(name_n("\3a\x7f" "b\0", 5, out, sizeof out), -1);
	assert_int_equal(name_n("\3a\xc3\xa9\0", 5, out, sizeof out), -1);
	/* No room at all. */
	assert_int_equal(name_n("\0", 1, out, 0), -1);
}

static void
test_name_lengths(void **state)
{
	uint8_t w[400];
	char text[300], out[DNS_NAME_MAX];

	/* A 63-octet label is the longest; 64 is refused. */
	memset(text, 'a', 63);
	text[63] = '\0';
	size_t n = wire(text, w);
	assert_int_equal(name_n(w, n, out, sizeof out), (long)n);
	assert_string_equal(out, text);
	w[0] = 64;
	uint8_t w64[80];
	w64[0] = 64;
	memset(w64 + 1, 'a', 64);
	w64[65] = 0;
	assert_int_equal(name_n(w64, 66, out, sizeof out), -1);

	/* 253 characters (255 octets on the wire): the longest name there is. */
	snprintf(text, sizeof text, "%.63s.%.63s.%.63s.%.61s", out, out, out, out);
	assert_int_equal(strlen(text), 253);
	n = wire(text, w);
	assert_int_equal(n, 255);
	assert_int_equal(name_n(w, n, out, sizeof out), 255);
	assert_string_equal(out, text);

	/* The output buffer: the text and its NUL must fit, exactly. */
	n = wire("abc.de", w);
	assert_int_equal(name_n(w, n, out, 7), (long)n);
	assert_string_equal(out, "abc.de");
	assert_int_equal(name_n(w, n, out, 6), -1);
	assert_int_equal(name_n(w, n, out, 4), -1);
	assert_int_equal(name_n(w, n, out, 3), -1);
	assert_int_equal(name_n("\0", 1, out, 1), 1);
	assert_string_equal(out, "");
}

static void
test_mx_rdata(void **state)
{
	uint8_t rd[300];
	struct mx mx;

	rd[0] = 0x01;
	rd[1] = 0x02;
	size_t n = wire("Mail.Example.TEST", rd + 2);
	assert_int_equal(mx_n(rd, n + 2, &mx), 0);
	assert_int_equal(mx.pref, 0x0102);
	assert_string_equal(mx.host, "mail.example.test");

	/* Preference 65535. */
	rd[0] = rd[1] = 0xff;
	assert_int_equal(mx_n(rd, n + 2, &mx), 0);
	assert_int_equal(mx.pref, 65535);

	/* The null MX: preference 0, the root (RFC 7505). */
	assert_int_equal(mx_n("\0\0\0", 3, &mx), 0);
	assert_int_equal(mx.pref, 0);
	assert_string_equal(mx.host, "");

	/* Too short, trailing octets, a truncated or compressed name. */
	assert_int_equal(mx_n("", 0, &mx), -1);
	assert_int_equal(mx_n("\0\x0a", 2, &mx), -1);
	rd[n + 2] = 0;
	assert_int_equal(mx_n(rd, n + 3, &mx), -1);
	assert_int_equal(mx_n(rd, n + 1, &mx), -1);
	assert_int_equal(mx_n("\0\x0a\xc0\x0c", 4, &mx), -1);
}

/* A fake random source: a fixed sequence, repeated. */
static const unsigned *fake_seq;
static size_t fake_len, fake_pos;

static unsigned
fake_rnd(void)
{
	unsigned v = fake_seq[fake_pos % fake_len];
	fake_pos++;
	return v;
}

static void
set_fake(const unsigned *seq, size_t n)
{
	fake_seq = seq;
	fake_len = n;
	fake_pos = 0;
}

static unsigned
zero_rnd(void)
{
	return 0;
}

static void
list_set(struct mx_list *l, struct mx *v, const char *spec)
{
	/* spec: "10 a, 20 b, 0 ." ('.' is the root) */
	size_t n = 0;
	const char *p = spec;
	while (*p) {
		unsigned pref;
		char host[64];
		int used;
		assert_int_equal(sscanf(p, " %u %63[^, ]%n", &pref, host, &used), 2);
		v[n].pref = (uint16_t)pref;
		snprintf(v[n].host, sizeof v[n].host, "%s", strcmp(host, ".") == 0 ? "" : host);
		n++;
		p += used;
		while (*p == ',' || *p == ' ')
			p++;
	}
	l->v = v;
	l->n = n;
	l->null_mx = true; /* must be recomputed */
}

static void
list_text(const struct mx_list *l, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%u %s", i ? ", " : "", l->v[i].pref,
		    l->v[i].host[0] ? l->v[i].host : ".");
}

static void
test_mx_order(void **state)
{
	struct mx v[16];
	struct mx_list l;
	char text[512];

	list_set(&l, v, "30 c, 10 a, 20 b");
	mx_list_finish(&l, zero_rnd);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "10 a, 20 b, 30 c");
	assert_false(l.null_mx);

	/* Preferences compare as unsigned 16-bit numbers. */
	list_set(&l, v, "65535 z, 0 a, 32768 m, 1 b");
	mx_list_finish(&l, zero_rnd);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "0 a, 1 b, 32768 m, 65535 z");

	/* One record. */
	list_set(&l, v, "5 only");
	mx_list_finish(&l, zero_rnd);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "5 only");
	assert_false(l.null_mx);

	/* Empty list: nothing to do, not a null MX. */
	l.v = v;
	l.n = 0;
	l.null_mx = true;
	mx_list_finish(&l, zero_rnd);
	assert_int_equal(l.n, 0);
	assert_false(l.null_mx);
}

static void
test_null_mx(void **state)
{
	struct mx v[16];
	struct mx_list l;
	char text[512];

	/* The one record is "0 .": the domain accepts no mail. */
	list_set(&l, v, "0 .");
	mx_list_finish(&l, zero_rnd);
	assert_true(l.null_mx);

	/* A root exchange with another preference alone is still no mail server. */
	list_set(&l, v, "10 .");
	mx_list_finish(&l, zero_rnd);
	assert_true(l.null_mx);

	/* Among real exchanges the root one is dropped (RFC 7505 3: it must not be there). */
	list_set(&l, v, "0 ., 10 mx1, 20 mx2");
	mx_list_finish(&l, zero_rnd);
	assert_false(l.null_mx);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "10 mx1, 20 mx2");

	list_set(&l, v, "20 mx2, 0 ., 10 mx1");
	mx_list_finish(&l, zero_rnd);
	assert_false(l.null_mx);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "10 mx1, 20 mx2");

	/* Only root exchanges (a misconfigured null MX): still no mail server, not an
	 * empty list that would be retried until max_queue_lifetime. */
	list_set(&l, v, "0 ., 10 .");
	mx_list_finish(&l, zero_rnd);
	assert_true(l.null_mx);
}

/* perm_index - which ordering of the hosts a, b, c the list holds (a number). */
static int
order_code(const struct mx_list *l, size_t from, size_t n)
{
	int code = 0;
	for (size_t i = from; i < from + n; i++)
		code = code * 10 + (l->v[i].host[0] - 'a' + 1);
	return code;
}

static void
test_mx_shuffle(void **state)
{
	struct mx v[16];
	struct mx_list l;
	char text[512];

	/* Equal preferences stay grouped, in preference order, whatever rnd says. */
	static const unsigned seqs[][4] = {
		{ 0, 0, 0, 0 }, { 1, 1, 1, 1 }, { 2, 0, 1, 3 }, { 7, 3, 5, 1 }, { 0xffffffffu, 5, 9, 2 },
	};
	for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
		set_fake(seqs[s], 4);
		list_set(&l, v, "20 x, 10 a, 10 b, 30 z, 10 c");
		mx_list_finish(&l, fake_rnd);
		assert_int_equal(l.n, 5);
		assert_int_equal(l.v[0].pref, 10);
		assert_int_equal(l.v[1].pref, 10);
		assert_int_equal(l.v[2].pref, 10);
		assert_string_equal(l.v[3].host, "x");
		assert_string_equal(l.v[4].host, "z");
		/* a, b and c each once among the first three. */
		int seen = 0;
		for (size_t i = 0; i < 3; i++)
			seen |= 1 << (l.v[i].host[0] - 'a');
		assert_int_equal(seen, 7);
	}

	/* Every order of three equal-preference hosts comes out for some random bits,
	 * and nothing but those six. */
	int found[6] = { 0 };
	static const int perms[6] = { 123, 132, 213, 231, 312, 321 };
	for (unsigned r0 = 0; r0 < 3; r0++) {
		for (unsigned r1 = 0; r1 < 2; r1++) {
			unsigned seq[2] = { r0, r1 };
			set_fake(seq, 2);
			list_set(&l, v, "5 a, 5 b, 5 c");
			mx_list_finish(&l, fake_rnd);
			int code = order_code(&l, 0, 3);
			int k;
			for (k = 0; k < 6 && perms[k] != code; k++)
				;
			assert_true(k < 6);
			found[k]++;
		}
	}
	for (int k = 0; k < 6; k++)
		assert_int_equal(found[k], 1);

	/* Different preferences never mix, whatever the shuffle did. */
	unsigned seq[3] = { 1, 0, 2 };
	set_fake(seq, 3);
	list_set(&l, v, "10 a, 20 b, 30 c");
	mx_list_finish(&l, fake_rnd);
	list_text(&l, text, sizeof text);
	assert_string_equal(text, "10 a, 20 b, 30 c");

	/* The shuffle asks for random bits only while there is something to shuffle. */
	unsigned one[1] = { 0 };
	set_fake(one, 1);
	list_set(&l, v, "10 a");
	mx_list_finish(&l, fake_rnd);
	assert_int_equal(fake_pos, 0);
}

/* copy - an exact-size heap copy, so ASan sees any read past the rdata. */
static uint8_t *
copy(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);
	assert_non_null(c);
	memcpy(c, p, len);
	return c;
}

static long
txt_n(const void *rdata, size_t len, char *out, size_t outlen)
{
	uint8_t *c = copy(rdata, len);
	long rc = dns_parse_txt(c, len, out, outlen);
	free(c);
	return rc;
}

static void
test_txt(void **state)
{
	char out[600];

	assert_int_equal(txt_n("\x06v=spf1", 7, out, sizeof out), 6);
	assert_string_equal(out, "v=spf1");
	/* Several character-strings are joined without anything between them. */
	assert_int_equal(txt_n("\x03" "abc" "\x02" "de" "\x00" "\x01" "f", 10, out, sizeof out), 6);
	assert_string_equal(out, "abcdef");
	/* A 255-octet string and a second one: an RSA key's length. */
	uint8_t big[600];
	big[0] = 255;
	memset(big + 1, 'k', 255);
	big[256] = 100;
	memset(big + 257, 'q', 100);
	assert_int_equal(txt_n(big, 357, out, sizeof out), 355);
	assert_int_equal(strspn(out, "k"), 255);
	assert_int_equal(strlen(out), 355);
	/* One empty string is an empty text. */
	assert_int_equal(txt_n("\0", 1, out, sizeof out), 0);
	assert_string_equal(out, "");
	/* No rdata, a string longer than the rdata, a NUL inside. */
	assert_int_equal(txt_n("", 0, out, sizeof out), -1);
	assert_int_equal(txt_n("\x05" "abc", 4, out, sizeof out), -1);
	assert_int_equal(txt_n("\x03" "a\0c", 4, out, sizeof out), -1);
	/* The output buffer: the text and its NUL must fit. */
	assert_int_equal(txt_n("\x03" "abc", 4, out, 4), 3);
	assert_int_equal(txt_n("\x03" "abc", 4, out, 3), -1);
	assert_int_equal(txt_n("\x03" "abc", 4, out, 0), -1);
}

static void
test_srv(void **state)
{
	uint8_t rd[300];
	struct srv s;

	memcpy(rd, "\x00\x0a\x00\x01\x02\x4b", 6); /* 10 1 587 */
	size_t n = wire("MX.example.test", rd + 6) + 6;
	uint8_t *c = copy(rd, n);
	assert_int_equal(dns_parse_srv(c, n, &s), 0);
	free(c);
	assert_int_equal(s.prio, 10);
	assert_int_equal(s.weight, 1);
	assert_int_equal(s.port, 587);
	assert_string_equal(s.target, "mx.example.test");
	/* "0 0 0 .": not offered (RFC 6186 3.4). */
	c = copy("\0\0\0\0\0\0\0", 7);
	assert_int_equal(dns_parse_srv(c, 7, &s), 0);
	free(c);
	assert_int_equal(s.port, 0);
	assert_string_equal(s.target, "");
	/* Too short, trailing octets, a compressed target. */
	assert_int_equal(dns_parse_srv((const uint8_t *)"\0\0\0\0\0\0", 6, &s), -1);
	rd[n] = 0;
	c = copy(rd, n + 1);
	assert_int_equal(dns_parse_srv(c, n + 1, &s), -1);
	free(c);
	assert_int_equal(dns_parse_srv((const uint8_t *)"\0\0\0\0\0\0\xc0\x0c", 8, &s), -1);
}

static void
test_name_rdata(void **state)
{
	uint8_t rd[300];
	char out[DNS_NAME_MAX];
	size_t n = wire("Mx.Example.Test", rd);

	uint8_t *c = copy(rd, n);
	assert_int_equal(dns_parse_name_rdata(c, n, out, sizeof out), 0);
	free(c);
	assert_string_equal(out, "mx.example.test");
	/* The name is all of the rdata. */
	rd[n] = 1;
	c = copy(rd, n + 1);
	assert_int_equal(dns_parse_name_rdata(c, n + 1, out, sizeof out), -1);
	free(c);
	assert_int_equal(dns_parse_name_rdata((const uint8_t *)"", 0, out, sizeof out), -1);
}

static void
test_addr(void **state)
{
	char out[INET6_ADDRSTRLEN];
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	v6[15] = 1;

	assert_int_equal(dns_parse_addr(AF_INET, (const uint8_t *)"\xc0\x00\x02\x01", 4, out,
	    sizeof out), 0);
	assert_string_equal(out, "192.0.2.1");
	assert_int_equal(dns_parse_addr(AF_INET6, v6, 16, out, sizeof out), 0);
	assert_string_equal(out, "2001:db8::1");
	/* The length must be the family's; the buffer large enough. */
	assert_int_equal(dns_parse_addr(AF_INET, v6, 16, out, sizeof out), -1);
	assert_int_equal(dns_parse_addr(AF_INET6, v6, 4, out, sizeof out), -1);
	assert_int_equal(dns_parse_addr(AF_INET, v6, 3, out, sizeof out), -1);
	assert_int_equal(dns_parse_addr(AF_UNIX, v6, 4, out, sizeof out), -1);
	assert_int_equal(dns_parse_addr(AF_INET, (const uint8_t *)"\xc0\x00\x02\x01", 4, out, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_simple),
		cmocka_unit_test(test_name_lowercase),
		cmocka_unit_test(test_name_malformed),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_mx_rdata),
		cmocka_unit_test(test_mx_order),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_mx_shuffle),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_name_rdata),
		cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
