/*
 * linefix.c - the long-line transform of linefix.h: a line-at-a-time state machine
 * over the MIME structure (RFC 2045, 2046: headers, boundaries of nested
 * multiparts, attached messages), fed in chunks. Each line's first octets are held
 * until its kind is known (boundary, header field, continuation, body); what
 * follows streams through the current region's encoder.
 */
#include "deliver/linefix.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QP_LINE 76  /* RFC 2045 6.7 (5) */
#define B64_LINE 76 /* RFC 2045 6.8 */

static const char hex[] = "0123456789ABCDEF";

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* emit - output, when transforming. */
static void
emit(struct linefix *lf, const char *p, size_t n)
{
	if (lf->out == NULL || lf->failed || n == 0)
		return;
	if (buf_append(lf->out, p, n) < 0)
		lf->failed = true;
}

static void
emit_str(struct linefix *lf, const char *s)
{
	emit(lf, s, strlen(s));
}

/*
 * fold_point - where to fold p[0..n) so that the first line has at most limit
 * octets: the last space or tab at an index in (0, limit] with something other
 * than whitespace before it (a folded line must not be blank). 0: none.
 */
static size_t
fold_point(const char *p, size_t n, size_t limit)
{
	size_t first = 0;

	while (first < n && is_wsp(p[first]))
		first++;
	size_t i = n - 1 < limit ? n - 1 : limit;
	for (; i > first; i--)
		if (is_wsp(p[i]))
			return i;
	return 0;
}

/*
 * break_point - where to break p (longer than limit) that has no whitespace in
 * reach: at the limit, or a little before it so as not to split a UTF-8 sequence.
 */
static size_t
break_point(const char *p, size_t limit)
{
	size_t i = limit;

	while (i > limit - 3 && ((unsigned char)p[i] & 0xc0) == 0x80)
		i--;
	return ((unsigned char)p[i] & 0xc0) == 0x80 ? limit : i;
}

/*
 * field_name_len - p[0..n) starts a header field "name:" (RFC 5322 2.2; obsolete
 * WSP before the colon): the name's length, or 0.
 */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)p[i] >= 33 && (unsigned char)p[i] <= 126 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	size_t j = i;
	while (j < n && is_wsp(p[j]))
		j++;
	return j < n && p[j] == ':' ? i : 0;
}

static bool
name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* token - a lower-case token at *pp (after whitespace) into out, up to a delimiter. */
static void
token(const char **pp, const char *end, char *out, size_t outlen, const char *delims)
{
	const char *p = *pp;
	size_t o = 0;

	while (p < end && (is_wsp(*p) || *p == '\n'))
		p++;
	while (p < end && !is_wsp(*p) && strchr(delims, *p) == NULL) {
		if (o + 1 < outlen) {
			char c = *p;
			out[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		p++;
	}
	out[o] = '\0';
	*pp = p;
}

/* parse_content_type - the type and, for a multipart, the boundary parameter. */
static void
parse_content_type(struct linefix *lf, const char *p, const char *end)
{
	token(&p, end, lf->type, sizeof lf->type, ";(");
	lf->has_boundary = false;
	while (p < end) {
		/* The next parameter: skip to a ';' outside quotes. */
		bool quoted = false;
		for (; p < end && (quoted || *p != ';'); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (quoted && *p == '\\' && p + 1 < end)
				p++;
		}
		if (p == end)
			break;
		p++;
		char attr[32];
		token(&p, end, attr, sizeof attr, "=;(");
		while (p < end && is_wsp(*p))
			p++;
		if (p == end || *p != '=')
			continue;
		p++;
		while (p < end && is_wsp(*p))
			p++;
		char value[LINEFIX_BOUNDARY_MAX + 1];
		size_t vlen = 0;
		bool toolong = false;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (vlen < LINEFIX_BOUNDARY_MAX)
					value[vlen++] = *p;
				else
					toolong = true;
			}
		} else {
			for (; p < end && !is_wsp(*p) && *p != ';' && *p != '('; p++) {
				if (vlen < LINEFIX_BOUNDARY_MAX)
					value[vlen++] = *p;
				else
					toolong = true;
			}
		}
		if (strcmp(attr, "boundary") == 0 && vlen > 0 && !toolong) {
			memcpy(lf->pending.boundary, value, vlen);
			lf->pending.len = vlen;
			lf->has_boundary = true;
		}
	}
}

/* finish_field - the header field just ended: what it says, if it matters here. */
static void
finish_field(struct linefix *lf)
{
	if (!lf->in_field)
		return;
	lf->in_field = false;
	lf->drop_field = false;
	size_t nl = field_name_len(lf->field, lf->field_len);
	if (nl == 0)
		return;
	const char *v = (const char *)memchr(lf->field, ':', lf->field_len) + 1;
	const char *end = lf->field + lf->field_len;
	if (name_is(lf->field, nl, "content-type"))
		parse_content_type(lf, v, end);
	else if (name_is(lf->field, nl, "content-transfer-encoding"))
		token(&v, end, lf->cte, sizeof lf->cte, ";(");
	else if (lf->top && name_is(lf->field, nl, "mime-version"))
		lf->top_mime = true;
}

/* begin_region - a new entity (its header first) or an epilogue (body only). */
static void
begin_region(struct linefix *lf, bool header, bool default_rfc822)
{
	lf->region++;
	lf->in_header = header;
	lf->default_rfc822 = default_rfc822;
	lf->type[0] = lf->cte[0] = '\0';
	lf->has_boundary = false;
	lf->in_field = lf->drop_field = false;
	lf->field_len = lf->hline_len = 0;
	lf->col = 0;
	lf->pending_wsp = -1;
	lf->esc_left = 0;
	lf->after_break = false;
	lf->region_long = false;
	lf->if_long = header ? LINEFIX_KEEP : LINEFIX_HARD_BREAK;
	lf->action = LINEFIX_KEEP;
	if (lf->follow != NULL) {
		const struct linefix_plan *pl = lf->follow;
		while (lf->plan_next < pl->n && pl->v[lf->plan_next].region < lf->region)
			lf->plan_next++;
		if (lf->plan_next < pl->n && pl->v[lf->plan_next].region == lf->region)
			lf->action = pl->v[lf->plan_next].action;
	}
}

static void
qp_token(struct linefix *lf, const char *t, size_t n)
{
	if (lf->col + n > QP_LINE - 1) {
		emit(lf, "=\n", 2);
		lf->col = 0;
		lf->after_break = true;
	}
	/* A soft break must not make a line that reads as a boundary. */
	if (lf->after_break && t[0] == '-' && n == 1) {
		t = "=2D";
		n = 3;
	}
	emit(lf, t, n);
	lf->col += (unsigned)n;
	lf->after_break = false;
}

static void
qp_escape(struct linefix *lf, unsigned char c)
{
	char t[3] = { '=', hex[c >> 4], hex[c & 15] };
	qp_token(lf, t, 3);
}

/* end_region - the region ends (a boundary, or the end of the text): what its encoder holds. */
static void
end_region(struct linefix *lf)
{
	if (lf->in_header) {
		/* Only at the end of the text can a header line be left without its LF. */
		if (!lf->drop_field)
			emit(lf, lf->hline, lf->hline_len);
		lf->hline_len = 0;
		finish_field(lf);
		return;
	}
	if (lf->action == LINEFIX_TO_QP && lf->pending_wsp >= 0) {
		qp_escape(lf, (unsigned char)lf->pending_wsp);
		lf->pending_wsp = -1;
	} else if (lf->action == LINEFIX_B64_WRAP && lf->col > 0) {
		emit(lf, "\n", 1);
		lf->col = 0;
	}
}

/* header_end - the header section ended (a blank line, or explicit false: a line that is no field). */
static void
header_end(struct linefix *lf, bool explicit_blank)
{
	bool added = false;

	finish_field(lf);
	if (lf->top && lf->follow != NULL && lf->follow->add_mime_version) {
		emit_str(lf, "MIME-Version: 1.0\n");
		added = true;
	}
	if (lf->action == LINEFIX_TO_QP) {
		emit_str(lf, "Content-Transfer-Encoding: quoted-printable\n");
		added = true;
	}
	if (added && !explicit_blank)
		emit(lf, "\n", 1);
	lf->top = false;
	lf->in_header = false;
	lf->col = 0;

	const char *type = lf->type[0] ? lf->type : lf->default_rfc822 ? "message/rfc822" :
	    "text/plain";
	bool identity = lf->cte[0] == '\0' || strcmp(lf->cte, "7bit") == 0 ||
	    strcmp(lf->cte, "8bit") == 0 || strcmp(lf->cte, "binary") == 0;
	bool multipart = strncmp(type, "multipart/", 10) == 0;
	bool message = strncmp(type, "message/", 8) == 0;

	if (identity && multipart && lf->has_boundary && lf->depth < LINEFIX_DEPTH) {
		struct linefix_level *l = &lf->lv[lf->depth++];
		*l = lf->pending;
		l->digest = strcmp(type, "multipart/digest") == 0;
		lf->if_long = LINEFIX_HARD_BREAK; /* the preamble */
		return;
	}
	if (identity && (strcmp(type, "message/rfc822") == 0 || strcmp(type, "message/global") == 0)) {
		begin_region(lf, true, false); /* the attached message's own header */
		return;
	}
	if (identity)
		lf->if_long = multipart || message ? LINEFIX_HARD_BREAK : LINEFIX_TO_QP;
	else if (strcmp(lf->cte, "base64") == 0)
		lf->if_long = LINEFIX_B64_WRAP;
	else if (strcmp(lf->cte, "quoted-printable") == 0)
		lf->if_long = LINEFIX_QP_BREAK;
	else
		lf->if_long = LINEFIX_HARD_BREAK;
}

/* fold_header - the header line being output has one octet over the limit: fold it. */
static void
fold_header(struct linefix *lf)
{
	size_t i = fold_point(lf->hline, lf->hline_len, LINEFIX_LIMIT);

	if (lf->plan != NULL)
		lf->plan->folded = true;
	if (i > 0) {
		if (!lf->drop_field) {
			emit(lf, lf->hline, i);
			emit(lf, "\n", 1);
		}
		memmove(lf->hline, lf->hline + i, lf->hline_len - i);
		lf->hline_len -= i;
		return;
	}
	/* No whitespace in reach: a break at the limit, with a space to continue the field. */
	i = break_point(lf->hline, LINEFIX_LIMIT);
	if (!lf->drop_field) {
		emit(lf, lf->hline, i);
		emit(lf, "\n", 1);
	}
	size_t rest = lf->hline_len - i;
	memmove(lf->hline + 1, lf->hline + i, rest);
	lf->hline[0] = ' ';
	lf->hline_len = 1 + rest;
}

static void
header_bytes(struct linefix *lf, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = p[k];
		if (c == '\n') {
			if (!lf->drop_field) {
				emit(lf, lf->hline, lf->hline_len);
				emit(lf, "\n", 1);
			}
			lf->hline_len = 0;
			continue;
		}
		if (lf->field_len < sizeof lf->field)
			lf->field[lf->field_len++] = c;
		lf->hline[lf->hline_len++] = c;
		if (lf->hline_len > LINEFIX_LIMIT)
			fold_header(lf);
	}
}

static void
record_long(struct linefix *lf)
{
	struct linefix_plan *pl = lf->plan;

	lf->region_long = true;
	if (lf->if_long == LINEFIX_KEEP)
		return;
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? 2 * pl->cap : 8;
		struct linefix_change *v = realloc(pl->v, cap * sizeof *v);
		if (v == NULL) {
			lf->failed = true;
			return;
		}
		pl->v = v;
		pl->cap = cap;
	}
	pl->v[pl->n].region = lf->region;
	pl->v[pl->n].action = lf->if_long;
	pl->n++;
	if (lf->if_long == LINEFIX_TO_QP && !lf->top_mime)
		pl->add_mime_version = true;
}

static void
to_qp(struct linefix *lf, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)p[k];
		if (c == '\n') {
			if (lf->pending_wsp >= 0)
				qp_escape(lf, (unsigned char)lf->pending_wsp);
			lf->pending_wsp = -1;
			emit(lf, "\n", 1);
			lf->col = 0;
			lf->after_break = false;
			continue;
		}
		if (lf->pending_wsp >= 0) {
			char w = (char)lf->pending_wsp;
			lf->pending_wsp = -1;
			qp_token(lf, &w, 1);
		}
		if (c == ' ' || c == '\t')
			lf->pending_wsp = c;
		else if (c >= 33 && c <= 126 && c != '=')
			qp_token(lf, (const char *)&p[k], 1);
		else
			qp_escape(lf, c);
	}
}

static void
qp_break(struct linefix *lf, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = p[k];
		if (c == '\n') {
			emit(lf, "\n", 1);
			lf->col = 0;
			lf->esc_left = 0;
			lf->after_break = false;
			continue;
		}
		if (lf->esc_left > 0) { /* never inside an =XX */
			emit(lf, &c, 1);
			lf->col++;
			lf->esc_left--;
			continue;
		}
		unsigned need = c == '=' ? 3 : 1;
		if (lf->col + need > LINEFIX_LIMIT - 1) {
			emit(lf, "=\n", 2);
			lf->col = 0;
			lf->after_break = true;
		}
		if (lf->after_break && c == '-') {
			emit(lf, "=2D", 3);
			lf->col += 3;
		} else {
			emit(lf, &c, 1);
			lf->col++;
			if (c == '=')
				lf->esc_left = 2;
		}
		lf->after_break = false;
	}
}

static void
b64_wrap(struct linefix *lf, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char c = p[k];
		if (c == '\n' || c == '\r' || is_wsp(c))
			continue;
		if (lf->col == B64_LINE) {
			emit(lf, "\n", 1);
			lf->col = 0;
		}
		emit(lf, &c, 1);
		lf->col++;
	}
}

static void
hard_break(struct linefix *lf, const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (p[k] == '\n') {
			lf->col = 0;
		} else if (lf->col == LINEFIX_LIMIT) {
			emit(lf, "\n", 1);
			lf->col = 0;
		}
		emit(lf, &p[k], 1);
		if (p[k] != '\n')
			lf->col++;
	}
}

/* body_bytes - octets of one body line (an LF only at the end). */
static void
body_bytes(struct linefix *lf, const char *p, size_t n)
{
	bool ends = p[n - 1] == '\n';

	if (lf->plan != NULL) {
		lf->line_len += n - ends;
		if (lf->line_len > LINEFIX_LIMIT && !lf->region_long)
			record_long(lf);
		if (ends)
			lf->line_len = 0;
		return;
	}
	switch (lf->action) {
	case LINEFIX_KEEP:
		emit(lf, p, n);
		break;
	case LINEFIX_TO_QP:
		to_qp(lf, p, n);
		break;
	case LINEFIX_QP_BREAK:
		qp_break(lf, p, n);
		break;
	case LINEFIX_B64_WRAP:
		b64_wrap(lf, p, n);
		break;
	case LINEFIX_HARD_BREAK:
		hard_break(lf, p, n);
		break;
	}
}

/* line_bytes - octets of the current (classified) line; an LF only at the end. */
static void
line_bytes(struct linefix *lf, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (lf->line_passes)
		emit(lf, p, n);
	else if (lf->in_header)
		header_bytes(lf, p, n);
	else
		body_bytes(lf, p, n);
	if (p[n - 1] == '\n') {
		lf->classified = false;
		lf->line_passes = false;
		lf->hold_len = 0;
		lf->line_len = 0;
	}
}

/* boundary_level - the held line is a delimiter of level k (strict: only padding after it). */
static bool
boundary_level(const struct linefix *lf, bool complete, size_t *level, bool *close)
{
	const char *h = lf->hold;
	size_t n = lf->hold_len;

	if (lf->depth == 0 || !complete || n > LINEFIX_LIMIT || n < 3 || h[0] != '-' || h[1] != '-')
		return false;
	for (size_t k = lf->depth; k-- > 0;) {
		const struct linefix_level *l = &lf->lv[k];
		if (n < 2 + l->len || memcmp(h + 2, l->boundary, l->len) != 0)
			continue;
		size_t i = 2 + l->len;
		*close = n >= i + 2 && h[i] == '-' && h[i + 1] == '-';
		if (*close)
			i += 2;
		while (i < n && is_wsp(h[i]))
			i++;
		if (i == n) {
			*level = k;
			return true;
		}
	}
	return false;
}

/*
 * classify - the held start of a line (complete: all of it) decides what the line
 * is; the state moves on accordingly.
 */
static void
classify(struct linefix *lf, bool complete)
{
	size_t level;
	bool close;

	lf->classified = true;
	if (boundary_level(lf, complete, &level, &close)) {
		end_region(lf);
		lf->depth = level + 1;
		if (close) {
			lf->depth = level;
			begin_region(lf, false, false);
		} else {
			begin_region(lf, true, lf->lv[level].digest);
		}
		lf->line_passes = true;
		return;
	}
	/* At most twice: a line that is no field ends an attached message's header too. */
	while (lf->in_header) {
		const char *h = lf->hold;
		size_t n = lf->hold_len;
		if (n == 0 && complete) {
			header_end(lf, true);
			lf->line_passes = true;
			return;
		}
		if (n > 0 && is_wsp(h[0])) {
			lf->in_field = true; /* a continuation (of nothing, at the very start) */
			return;
		}
		size_t nl = field_name_len(h, n);
		if (nl > 0) {
			finish_field(lf);
			lf->in_field = true;
			lf->field_len = 0;
			lf->drop_field = lf->action == LINEFIX_TO_QP &&
			    name_is(h, nl, "content-transfer-encoding");
			return;
		}
		header_end(lf, false);
	}
}

static void
init_common(struct linefix *lf)
{
	lf->failed = false;
	lf->out = NULL;
	lf->hold_len = 0;
	lf->classified = lf->line_passes = false;
	lf->line_len = 0;
	lf->depth = 0;
	lf->plan_next = 0;
	lf->top = true;
	lf->top_mime = false;
	lf->region = UINT64_MAX; /* the message itself becomes region 0 */
	begin_region(lf, true, false);
}

void
linefix_scan_init(struct linefix *lf, struct linefix_plan *plan)
{
	plan->n = 0;
	plan->folded = plan->add_mime_version = false;
	lf->plan = plan;
	lf->follow = NULL;
	init_common(lf);
}

void
linefix_init(struct linefix *lf, const struct linefix_plan *plan)
{
	lf->plan = NULL;
	lf->follow = plan;
	init_common(lf);
}

int
linefix_feed(struct linefix *lf, const char *in, size_t len, struct buf *out)
{
	size_t i = 0;

	lf->out = out;
	while (i < len && !lf->failed) {
		if (lf->classified) {
			const char *nl = memchr(in + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
			line_bytes(lf, in + i, n);
			i += n;
			continue;
		}
		const char *nl = memchr(in + i, '\n', len - i);
		size_t upto = nl ? (size_t)(nl - (in + i)) : len - i;
		size_t room = sizeof lf->hold - lf->hold_len;
		size_t take = upto < room ? upto : room;
		memcpy(lf->hold + lf->hold_len, in + i, take);
		lf->hold_len += take;
		i += take;
		/* A full hold is classified as it is, whatever follows: the same for any chunking. */
		if (lf->hold_len == sizeof lf->hold) {
			classify(lf, false);
			line_bytes(lf, lf->hold, lf->hold_len);
		} else if (i < len) { /* at the LF */
			classify(lf, true);
			line_bytes(lf, lf->hold, lf->hold_len);
			line_bytes(lf, "\n", 1);
			i++;
		}
	}
	lf->out = NULL;
	return lf->failed ? -1 : 0;
}

int
linefix_finish(struct linefix *lf, struct buf *out)
{
	lf->out = out;
	if (!lf->failed && !lf->classified && lf->hold_len > 0) {
		classify(lf, true);
		line_bytes(lf, lf->hold, lf->hold_len);
	}
	if (!lf->failed)
		end_region(lf);
	lf->out = NULL;
	return lf->failed ? -1 : 0;
}

bool
linefix_plan_changes(const struct linefix_plan *plan)
{
	return plan->n > 0 || plan->folded;
}

void
linefix_plan_free(struct linefix_plan *plan)
{
	free(plan->v);
	plan->v = NULL;
	plan->n = plan->cap = 0;
}

int
linefix_fold_lines(const char *in, size_t len, struct buf *out)
{
	while (len > 0) {
		const char *nl = memchr(in, '\n', len);
		size_t n = nl ? (size_t)(nl - in) : len;
		const char *p = in;
		size_t left = n;
		size_t limit = LINEFIX_LIMIT;
		while (left > limit) {
			size_t i = fold_point(p, left, limit);
			if (i > 0) {
				if (buf_append(out, p, i) < 0 || buf_putc(out, '\n') < 0)
					return -1;
				limit = LINEFIX_LIMIT;
			} else {
				i = break_point(p, limit);
				if (buf_append(out, p, i) < 0 || buf_append(out, "\n ", 2) < 0)
					return -1;
				limit = LINEFIX_LIMIT - 1; /* the space inserted counts */
			}
			p += i;
			left -= i;
		}
		if (buf_append(out, p, left) < 0)
			return -1;
		if (nl != NULL && buf_putc(out, '\n') < 0)
			return -1;
		in += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}
