/*
 * dkimrate.c - DKIM signatures and verifications a second on one core, made with
 * mailroom's own code (src/dkim, linked from build/obj/libmailroom.a), for
 * Ed25519 and RSA-2048 keys and a message of SIZE octets.
 *
 *   dkimrate [-t SECONDS | -n COUNT] [-s SIZE] [-o OP,...]
 *
 * For each algorithm, each operation runs for at least SECONDS of this process's
 * CPU time (one thread), or COUNT times (for callgrind), and one line is printed
 * (-o: only the operations named):
 *
 *   op=OP alg=ALG n=N cpu_s=C per_s=R
 *
 * sign    what a signature of an outgoing message costs without the IPC and the
 *         account store: the body hash, the header fields cut, the DKIM-Signature
 *         built, dkim_key_sign (which reads the key from its PEM each time, as
 *         lookupd does) and the b= value folded in
 *   keysign dkim_key_sign alone (PEM read + the private-key operation)
 *   pemread reading the PEM into an OpenSSL key alone (what a key kept parsed
 *         would save each signature)
 *   keyop   the private-key operation alone, with a key read once
 *   verify  dkim_verify_new/_body/_finish of the signed message, the key record
 *         answered at once by a stand-in for DNS (no lookup cost), the parsed key
 *         kept between messages as smtpd keeps it (dkim_vkeycache): what the
 *         checks of an inbound message cost in CPU for one signature
 *   verifycold the same with no keys kept: the key read from the record each time
 *         (what a key not seen in the last hour costs)
 *   verify2 (alg=both) a message signed with both keys (the same c=), verified
 *         as smtpd does, both signatures
 *
 * Every verification must pass (exit 1 otherwise): the figures are of real work.
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/dns_ops.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_key.h"
#include "dkim/dkim_sign.h"
#include "dkim/dkim_verify.h"
#include "dkim/dkim_vkeycache.h"
#include "util/buf.h"

static double min_cpu = 1.0;
static long count;       /* -n: each operation this many times instead */
static const char *only; /* -o: the operations to run, comma-separated */

static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fail(const char *what)
{
	fprintf(stderr, "dkimrate: %s\n", what);
	exit(1);
}

/* more - whether an operation run n times since t0 goes on. */
static int
more(long n, double t0)
{
	return count > 0 ? n < count : cpu_now() - t0 < min_cpu;
}

/* want - whether op is to be run (-o). */
static int
want(const char *op)
{
	size_t n = strlen(op);

	if (only == NULL)
		return 1;
	for (const char *p = only; *p != '\0';) {
		size_t k = strcspn(p, ",");
		if (k == n && strncmp(p, op, n) == 0)
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

struct msg {
	struct buf hdr;  /* header block, LF line ends, no empty line */
	struct buf body; /* the text after the empty line */
};

static void
make_message(struct msg *m, size_t size)
{
	buf_printf(&m->hdr, "From: Bench <bench@example.test>\nTo: <demo@remote.test>\n"
	    "Subject: dkimrate\nDate: Wed, 02 Dec 2026 05:00:00 +0000\n"
	    "Message-ID: <dkimrate@example.test>\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n");
	const char *line = "The quick brown fox jumps over the lazy dog, again and again and again.\n";
	while (m->hdr.len + m->body.len < size)
		buf_append(&m->body, line, strlen(line));
}

/* sign_once - the DKIM-Signature field (LF ends) for m with the key pem into field. */
static void
sign_once(const struct msg *m, enum dkim_alg alg, const char *pem, struct buf *field)
{
	struct dkim_body body;
	struct dkim_fields fields = { 0 };
	struct buf data = { 0 };
	char bh[64], sig[DKIM_SIG_MAX];

	if (dkim_body_init(&body) < 0)
		fail("dkim_body_init");
	dkim_body_update(&body, m->body.data, m->body.len);
	if (dkim_body_final(&body, bh, sizeof bh) < 0)
		fail("dkim_body_final");
	dkim_body_free(&body);
	if (dkim_fields_parse(m->hdr.data, m->hdr.len, &fields) < 0)
		fail("dkim_fields_parse");
	struct dkim_sign_req r = { "DKIM-Signature", "v=1", dkim_alg_sig_name(alg), "example.test",
		dkim_alg_name(alg), 1796000000LL, 0, bh };
	buf_reset(field);
	if (dkim_sign_build(&fields, &r, field, &data) < 0)
		fail("dkim_sign_build");
	if (dkim_key_sign(pem, alg, data.data, data.len, sig, sizeof sig) < 0)
		fail("dkim_key_sign");
	if (dkim_sign_finish(field, sig) < 0)
		fail("dkim_sign_finish");
	dkim_fields_free(&fields);
	buf_free(&data);
}

/* The stand-in for DNS: a TXT query gets the key record of its selector (the algorithm) at once. */
struct fake_dns {
	struct buf rd[2]; /* by enum dkim_alg */
};

static int
fake_rr(void *ctx, const char *name, int rrtype, dns_rr_fn fn, void *arg)
{
	struct fake_dns *d = ctx;
	enum dkim_alg alg = strncmp(name, dkim_alg_name(DKIM_RSA), strlen(dkim_alg_name(DKIM_RSA))) == 0 ?
	    DKIM_RSA : DKIM_ED25519;
	const uint8_t *v[1] = { (const uint8_t *)d->rd[alg].data };
	int len[1] = { (int)d->rd[alg].len };
	struct dns_rdata rr = { v, len, 1, 3600, false };
	(void)rrtype;
	fn(arg, DNS_OK, &rr, NULL);
	return 0;
}

static void
fake_cancel(void *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
}

static int verify_passes;

/* verify_done - arg: the signatures expected, each to pass. */
static void
verify_done(void *arg, const struct dkim_result *res, size_t n)
{
	size_t want_n = *(const size_t *)arg, good = 0;

	for (size_t i = 0; i < n; i++) {
		if (res[i].status == DKIM_PASS)
			good++;
		else
			fprintf(stderr, "dkimrate: verification: %s %s\n",
			    dkim_status_name(res[i].status), res[i].why);
	}
	if (n == want_n && good == n)
		verify_passes++;
}

/* verify_run - hdr's signatures (nsig of them) verified over m's body, as op. */
static void
verify_run(const char *op, const char *alg, const struct buf *hdr, const struct msg *m,
    size_t nsig, struct fake_dns *fd, struct dkim_vkeycache *keys)
{
	struct dns_ops ops = { fake_rr, fake_cancel, fd };
	long n;
	double t0;

	if (!want(op))
		return;
	verify_passes = 0;
	for (n = 0, t0 = cpu_now(); more(n, t0); n++) {
		struct dkim_verify *v = dkim_verify_new(hdr->data, hdr->len);
		if (v == NULL || dkim_verify_count(v) != nsig)
			fail("dkim_verify_new: not the signatures made");
		dkim_verify_set_time(v, 1796000100);
		dkim_verify_set_keys(v, keys);
		dkim_verify_body(v, m->body.data, m->body.len);
		if (dkim_verify_finish(v, &ops, verify_done, &nsig) < 0)
			fail("dkim_verify_finish");
		dkim_verify_free(v);
	}
	double cpu = cpu_now() - t0;
	if (verify_passes != n)
		fail("a verification did not pass");
	printf("op=%s alg=%s n=%ld cpu_s=%.4f per_s=%.1f\n", op, alg, n, cpu, n / cpu);
	fflush(stdout);
}

/* txt_rdata - the TXT rdata of text: character-strings of at most 255 octets. */
static void
txt_rdata(const char *text, struct buf *out)
{
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i += 255) {
		size_t k = n - i < 255 ? n - i : 255;
		buf_putc(out, (char)k);
		buf_append(out, text + i, k);
	}
}

static void
report(const char *op, enum dkim_alg alg, long n, double cpu)
{
	if (!want(op))
		return;
	printf("op=%s alg=%s n=%ld cpu_s=%.4f per_s=%.1f\n", op, dkim_alg_name(alg), n, cpu,
	    n / cpu);
	fflush(stdout);
}

/* run_alg - alg's rows; its DKIM-Signature (LF ends) is left in field, its key record's rdata in rd. */
static void
run_alg(enum dkim_alg alg, const struct msg *m, struct buf *field, struct buf *rd)
{
	char *pem = malloc(DKIM_PEM_MAX), pub[DKIM_PUB_MAX];
	long n;
	double t0;

	if (pem == NULL || dkim_key_make(alg, pem, DKIM_PEM_MAX, pub, sizeof pub) < 0)
		fail("dkim_key_make");

	sign_once(m, alg, pem, field);
	for (n = 0, t0 = cpu_now(); want("sign") && more(n, t0); n++)
		sign_once(m, alg, pem, field);
	report("sign", alg, n, cpu_now() - t0);

	const char data[] = "from:Bench <bench@example.test>\r\nto:<demo@remote.test>\r\n"
	    "dkim-signature:v=1; a=rsa-sha256; d=example.test; s=bench; b=";
	char sig[DKIM_SIG_MAX];
	for (n = 0, t0 = cpu_now(); want("keysign") && more(n, t0); n++)
		if (dkim_key_sign(pem, alg, data, sizeof data - 1, sig, sizeof sig) < 0)
			fail("dkim_key_sign");
	report("keysign", alg, n, cpu_now() - t0);

	for (n = 0, t0 = cpu_now(); want("pemread") && more(n, t0); n++) {
		BIO *bio = BIO_new_mem_buf(pem, -1);
		EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		if (k == NULL)
			fail("PEM_read_bio_PrivateKey");
		EVP_PKEY_free(k);
		BIO_free(bio);
	}
	report("pemread", alg, n, cpu_now() - t0);

	/* The private-key operation with a key read once: what dkim_key_sign would cost
	 * with its key kept parsed (Ed25519 over SHA-256(data), RSA PKCS #1 v1.5 SHA-256). */
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (key == NULL)
		fail("PEM_read_bio_PrivateKey");
	for (n = 0, t0 = cpu_now(); want("keyop") && more(n, t0); n++) {
		unsigned char h[32], out[512];
		size_t outlen = sizeof out;
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		int ok;
		if (ctx == NULL)
			fail("EVP_MD_CTX_new");
		if (alg == DKIM_ED25519) {
			EVP_Digest(data, sizeof data - 1, h, NULL, EVP_sha256(), NULL);
			ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
			    EVP_DigestSign(ctx, out, &outlen, h, sizeof h) == 1;
		} else {
			ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
			    EVP_DigestSign(ctx, out, &outlen, (const unsigned char *)data,
			    sizeof data - 1) == 1;
		}
		EVP_MD_CTX_free(ctx);
		if (!ok)
			fail("EVP_DigestSign");
	}
	report("keyop", alg, n, cpu_now() - t0);
	EVP_PKEY_free(key);

	/* The signed message as a receiver gets it: the new field on top. */
	struct buf hdr = { 0 }, rec = { 0 };
	buf_append(&hdr, field->data, field->len);
	buf_append(&hdr, m->hdr.data, m->hdr.len);
	buf_printf(&rec, "v=DKIM1; k=%s; p=%s", dkim_alg_key_type(alg), pub);
	txt_rdata(rec.data, rd);
	struct fake_dns fd = { { { 0 }, { 0 } } };
	fd.rd[alg] = *rd;
	struct dkim_vkeycache *keys = dkim_vkeycache_new();
	if (keys == NULL)
		fail("dkim_vkeycache_new");
	verify_run("verify", dkim_alg_name(alg), &hdr, m, 1, &fd, keys);
	verify_run("verifycold", dkim_alg_name(alg), &hdr, m, 1, &fd, NULL);
	dkim_vkeycache_free(keys);

	explicit_bzero(pem, DKIM_PEM_MAX);
	free(pem);
	buf_free(&hdr);
	buf_free(&rec);
}

int
main(int argc, char **argv)
{
	size_t size = 10240;
	int opt;
	const char *usage = "usage: dkimrate [-t SECONDS | -n COUNT] [-s SIZE] [-o OP,...]";
	while ((opt = getopt(argc, argv, "t:n:s:o:")) != -1) {
		switch (opt) {
		case 't': min_cpu = atof(optarg); break;
		case 'n': count = atol(optarg); break;
		case 's': size = (size_t)atol(optarg); break;
		case 'o': only = optarg; break;
		default: fail(usage);
		}
	}
	if (min_cpu <= 0 || count < 0 || size < 512)
		fail(usage);
	struct msg m = { { 0 }, { 0 } };
	struct buf field[2] = { { 0 }, { 0 } };
	struct fake_dns fd = { { { 0 }, { 0 } } };
	make_message(&m, size);
	run_alg(DKIM_ED25519, &m, &field[DKIM_ED25519], &fd.rd[DKIM_ED25519]);
	run_alg(DKIM_RSA, &m, &field[DKIM_RSA], &fd.rd[DKIM_RSA]);

	/* Both signatures on one message, as a sender that signs with both keys makes it. */
	struct buf hdr = { 0 };
	struct dkim_vkeycache *keys = dkim_vkeycache_new();
	if (keys == NULL)
		fail("dkim_vkeycache_new");
	buf_append(&hdr, field[DKIM_ED25519].data, field[DKIM_ED25519].len);
	buf_append(&hdr, field[DKIM_RSA].data, field[DKIM_RSA].len);
	buf_append(&hdr, m.hdr.data, m.hdr.len);
	verify_run("verify2", "both", &hdr, &m, 2, &fd, keys);
	dkim_vkeycache_free(keys);

	buf_free(&hdr);
	for (int i = 0; i < 2; i++) {
		buf_free(&field[i]);
		buf_free(&fd.rd[i]);
	}
	buf_free(&m.hdr);
	buf_free(&m.body);
	return 0;
}
