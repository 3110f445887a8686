/*
 * data_reader.c - the message text of DATA (dot-stuffed, RFC 5321 4.5.2) and
 * BDAT (RFC 3030) as a streaming state machine. Every octet of context that a
 * decision needs (a pending CR, a held dot) lives in the state, so input split
 * anywhere gives the same result as input in one piece.
 *
 * This runs on every octet of every message: runs of ordinary octets are found
 * with memchr and copied with one memcpy into space reserved once per call.
 */
#include "smtp/data_reader.h"

#include <string.h>
#include <strings.h>

enum {
	ST_TEXT,       /* inside a line, or after a bare CR or LF */
	ST_LINE_START, /* DATA, after CR LF (or at the start): a dot here is held */
	ST_CR,         /* a CR is pending: CR LF or a bare CR */
	ST_DOT,        /* DATA: a dot at the start of a line is held */
	ST_DOT_CR,     /* DATA: "." CR at the start of a line; LF next ends the message */
	ST_DONE,       /* DATA: the end-of-data line was consumed */
};

/* namelen when the current line can no longer be a field of interest */
#define NAME_SKIP ((size_t)-1)

void
data_reader_init(struct data_reader *r, enum data_mode mode)
{
	memset(r, 0, sizeof *r);
	r->mode = mode;
	r->state = mode == DATA_MODE_DOT ? ST_LINE_START : ST_TEXT;
	r->in_header = true;
	r->line_start = true;
}

/* header_name_done - the current header line's field name ended at ':'. */
static void
header_name_done(struct data_reader *r)
{
	size_t n = r->namelen;

	/* RFC 5322 obsolete syntax allows white space before the colon */
	while (n > 0 && (r->name[n - 1] == ' ' || r->name[n - 1] == '\t'))
		n--;
	if (n == 4 && strncasecmp(r->name, "Date", 4) == 0)
		r->header_flags |= DATA_HDR_DATE;
	else if (n == 10 && strncasecmp(r->name, "Message-ID", 10) == 0)
		r->header_flags |= DATA_HDR_MESSAGE_ID;
}

/* track_header - watch stored text (no newlines in it) for the fields we care about. */
static void
track_header(struct data_reader *r, const char *p, size_t n)
{
	if (r->line_start)
		r->namelen = (p[0] == ' ' || p[0] == '\t') ? NAME_SKIP : 0;
	for (size_t i = 0; i < n && r->namelen != NAME_SKIP; i++) {
		if (p[i] == ':') {
			header_name_done(r);
			r->namelen = NAME_SKIP;
		} else if (r->namelen == sizeof r->name) {
			r->namelen = NAME_SKIP;
		} else {
			r->name[r->namelen++] = p[i];
		}
	}
}

/*
 * put_text - store n ordinary octets (no CR, no LF). The caller reserved the
 * room. With out NULL everything is counted and nothing is stored.
 */
static inline void
put_text(struct data_reader *r, struct buf *out, const char *p, size_t n)
{
	if (r->in_header)
		track_header(r, p, n);
	if (out != NULL) {
		memcpy(out->data + out->len, p, n);
		out->len += n;
	}
	r->out_octets += n;
	r->line_start = false;
}

static inline void
put_newline(struct data_reader *r, struct buf *out)
{
	if (r->line_start)
		r->in_header = false; /* the empty line that ends the header section */
	if (out != NULL)
		out->data[out->len++] = '\n';
	r->out_octets++;
	r->out_lines++;
	r->line_start = true;
}

size_t
data_reader_feed(struct data_reader *r, const char *in, size_t len, struct buf *out,
    bool *done)
{
	size_t i = 0;
	/* The next CR and LF at or after i (len: none); kept so scanning stays linear. */
	size_t cr_at = 0, lf_at = 0;
	bool cr_known = false, lf_known = false;

	if (r->state == ST_DONE)
		goto out;
	/* The stored form is never longer than the input, plus a pending CR's newline. */
	if (out != NULL && buf_reserve(out, len + 1) < 0)
		return (size_t)-1;
	while (i < len) {
		switch (r->state) {
		case ST_TEXT: {
			if (!cr_known || cr_at < i) {
				const char *q = memchr(in + i, '\r', len - i);
				cr_at = q != NULL ? (size_t)(q - in) : len;
				cr_known = true;
			}
			if (!lf_known || lf_at < i) {
				const char *q = memchr(in + i, '\n', len - i);
				lf_at = q != NULL ? (size_t)(q - in) : len;
				lf_known = true;
			}
			size_t j = cr_at < lf_at ? cr_at : lf_at;
			if (j > i)
				put_text(r, out, in + i, j - i);
			i = j;
			if (i == len)
				break;
			if (in[i] == '\n')
				put_newline(r, out); /* bare LF: a newline, not an SMTP line end */
			else
				r->state = ST_CR;
			i++;
			break;
		}
		case ST_LINE_START:
			if (in[i] == '.') {
				r->state = ST_DOT;
				i++;
			} else {
				r->state = ST_TEXT;
			}
			break;
		case ST_CR:
			/* CR LF, or a bare CR: a newline either way, a line start only for CR LF */
			put_newline(r, out);
			if (in[i] == '\n') {
				i++;
				r->state = r->mode == DATA_MODE_DOT ? ST_LINE_START : ST_TEXT;
			} else {
				r->state = ST_TEXT;
			}
			break;
		case ST_DOT:
			/* The dot is dropped unless it turns out to end the message. */
			if (in[i] == '\r') {
				r->state = ST_DOT_CR;
				i++;
			} else {
				r->state = ST_TEXT;
			}
			break;
		case ST_DOT_CR:
			if (in[i] == '\n') {
				i++;
				r->state = ST_DONE;
				goto out;
			}
			put_newline(r, out); /* "." then a bare CR */
			r->state = ST_TEXT;
			break;
		default:
			goto out;
		}
	}
out:
	if (out != NULL && out->data != NULL)
		out->data[out->len] = '\0';
	r->raw_octets += i;
	if (done != NULL)
		*done = r->state == ST_DONE;
	return i;
}

int
data_reader_finish(struct data_reader *r, struct buf *out)
{
	if (out != NULL && buf_reserve(out, 2) < 0)
		return -1;
	switch (r->state) {
	case ST_CR:
	case ST_DOT_CR:
		put_newline(r, out);
		r->state = ST_TEXT;
		break;
	case ST_LINE_START:
	case ST_DOT:
		r->state = ST_TEXT; /* a held dot is dropped */
		break;
	default:
		break;
	}
	if (r->out_octets > 0 && !r->line_start)
		put_newline(r, out);
	if (out != NULL)
		out->data[out->len] = '\0';
	return 0;
}
