/*
 * dmarc_report_mail.c - gzip through zlib's deflate with the gzip wrapper, base64
 * through OpenSSL in lines of 76, and the MIME structure around them.
 */
#include "dmarc/dmarc_report_mail.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "util/escape.h"

int
dmarc_gzip(const void *in, size_t len, struct buf *out)
{
	z_stream z = { 0 };

	/* 15 + 16: a gzip header and trailer rather than zlib's. */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	uLong bound = deflateBound(&z, (uLong)len);
	if (buf_reserve(out, out->len + bound + 1) < 0) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END)
		out->len += z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

void
report_file_safe(char *out, size_t outlen, const char *s)
{
	size_t k = 0;
	for (; *s && k + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_';
		out[k++] = ok ? (char)c : '_';
	}
	out[k] = '\0';
}

int
report_base64(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	char line[128];
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i += 57) {
		size_t n = len - i < 57 ? len - i : 57;
		int k = EVP_EncodeBlock((unsigned char *)line, p + i, (int)n);
		rc |= buf_append(out, line, (size_t)k);
		rc |= buf_putc(out, '\n');
	}
	return rc ? -1 : 0;
}

static const char *
esc(char *buf, size_t len, const char *s)
{
	return esc_text(buf, len, s, strlen(s), 0);
}

int
dmarc_report_mail(const struct dmarc_mail *m, struct buf *out)
{
	static const struct report_format dmarc = { "xml.gz", "multipart/mixed",
		"application/gzip", "a DMARC aggregate report (RFC 9990)", false };
	return report_mail(m, &dmarc, out);
}

int
report_mail(const struct dmarc_mail *m, const struct report_format *f, struct buf *out)
{
	char date[64], fname[1024], host[256], pd[256], uq[64];
	char e_pd[ESC_SIZE(256)], e_to[ESC_SIZE(320)], e_from[ESC_SIZE(320)];
	char e_host[ESC_SIZE(256)], e_rid[ESC_SIZE(400)];
	struct tm tm;

	gmtime_r(&m->now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	report_file_safe(host, sizeof host, m->hostname);
	report_file_safe(pd, sizeof pd, m->policy_domain);
	report_file_safe(uq, sizeof uq, m->unique);
	for (char *p = uq; *p; p++)
		if (*p == '.' || *p == '-' || *p == '_')
			*p = '0'; /* unique-id = 1*(ALPHA / DIGIT) */
	snprintf(fname, sizeof fname, "%s!%s!%" PRId64 "!%" PRId64 "!%s.%s", host, pd,
	    (int64_t)m->begin, (int64_t)m->end, uq, f->ext);
	esc(e_pd, sizeof e_pd, m->policy_domain);
	esc(e_host, sizeof e_host, m->hostname);
	esc(e_rid, sizeof e_rid, m->report_id);
	int rc = buf_printf(out,
	    "From: <%s>\n"
	    "To: <%s>\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n"
	    "Date: %s\n"
	    "Message-ID: <%s>\n",
	    esc(e_from, sizeof e_from, m->from), esc(e_to, sizeof e_to, m->to), e_pd, e_host,
	    e_rid, date, e_rid);
	if (f->tls_fields)
		rc |= buf_printf(out, "TLS-Report-Domain: %s\nTLS-Report-Submitter: %s\n", e_pd,
		    e_host);
	rc |= buf_printf(out,
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: %s; boundary=\"=_%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n"
	    "--=_%s\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "This is %s from %s for %s,\n"
	    "covering %" PRId64 " to %" PRId64 " (seconds since 1970, UTC).\n"
	    "\n"
	    "--=_%s\n"
	    "Content-Type: %s; name=\"%s\"\n"
	    "Content-Disposition: attachment; filename=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n",
	    f->top_type, uq, uq, f->what, e_host, e_pd, (int64_t)m->begin, (int64_t)m->end, uq,
	    f->part_type, fname, fname);
	if (rc == 0)
		rc = report_base64(m->gz, m->gzlen, out);
	rc |= buf_printf(out, "\n--=_%s--\n", uq);
	return rc ? -1 : 0;
}
