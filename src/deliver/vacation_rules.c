/*
 * vacation_rules.c - the decision whether a vacation replies (vacation_rules.h).
 * Header fields are cut by dkim_fields (continuation lines kept); values are read
 * without their folding and comments.
 */
#include "deliver/vacation_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "dkim/dkim_fields.h"

const char *
vacation_reason_name(enum vacation_reason r)
{
	switch (r) {
	case VACATION_REPLY:
		return "reply";
	case VACATION_NULL_SENDER:
		return "null sender";
	case VACATION_DAEMON_SENDER:
		return "sender is a mailer daemon or list address";
	case VACATION_OWN_SENDER:
		return "sender is the user itself";
	case VACATION_AUTO_SUBMITTED:
		return "Auto-Submitted mail";
	case VACATION_PRECEDENCE:
		return "bulk, list or junk Precedence";
	case VACATION_LIST:
		return "mailing list mail";
	case VACATION_NOT_ADDRESSED:
		return "user not in To, Cc or Bcc";
	case VACATION_NO_MEMORY:
		return "out of memory";
	}
	return "?";
}

/* ends_with - whether s[0..n) ends in suffix (any case). */
static bool
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

bool
vacation_daemon_sender(const char *sender)
{
	static const char *const names[] = { "mailer-daemon", "postmaster", "listserv",
		"majordomo" };
	const char *at = strrchr(sender, '@');
	size_t n = at ? (size_t)(at - sender) : strlen(sender);

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (n == strlen(names[i]) && strncasecmp(sender, names[i], n) == 0)
			return true;
	return (n > 6 && strncasecmp(sender, "owner-", 6) == 0) || ends_with(sender, n, "-owner") ||
	    ends_with(sender, n, "-request") || ends_with(sender, n, "-bounces");
}

/*
 * same_address - whether a and b are one address: canonical forms equal, with or
 * without their "+tag"s. A form that does not parse is compared as it is.
 */
static bool
same_address(const char *a, const char *b)
{
	char ca[ADDR_MAX + 1], cb[ADDR_MAX + 1];

	if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
		return false;
	if (address_canonical(a, ca, sizeof ca, false) < 0 ||
	    address_canonical(b, cb, sizeof cb, false) < 0)
		return strcasecmp(a, b) == 0;
	if (strcmp(ca, cb) == 0)
		return true;
	if (address_canonical(a, ca, sizeof ca, true) < 0 ||
	    address_canonical(b, cb, sizeof cb, true) < 0)
		return false;
	return strcmp(ca, cb) == 0;
}

/* An address-list read into addr-specs: each, as it ends, is matched. */
struct addr_scan {
	char cur[ADDR_MAX + 2];   /* outside angle brackets (a bare addr-spec, or a name) */
	char angle[ADDR_MAX + 2]; /* inside them */
	size_t ncur, nangle;
	bool in_angle, had_angle, too_long;
	const char *user, *orig;
	bool found;
};

static void
scan_emit(struct addr_scan *s, char *v, size_t n)
{
	v[n] = '\0';
	/* A source route "<@a,@b:local@domain>" is ignored (RFC 5322 4.4). */
	char *colon = v[0] == '@' ? strrchr(v, ':') : NULL;
	const char *addr = colon ? colon + 1 : v;
	if (n > 0 && !s->too_long && (same_address(addr, s->user) || same_address(addr, s->orig)))
		s->found = true;
}

static void
scan_add(struct addr_scan *s, char c)
{
	char *v = s->in_angle ? s->angle : s->cur;
	size_t *n = s->in_angle ? &s->nangle : &s->ncur;

	if (*n >= ADDR_MAX) {
		s->too_long = true; /* a display name, most likely: not an address of ours */
		return;
	}
	v[(*n)++] = c;
}

/* scan_end - a mailbox ended (',' ';' or the end of the value). */
static void
scan_end(struct addr_scan *s)
{
	if (!s->had_angle && !s->in_angle)
		scan_emit(s, s->cur, s->ncur);
	s->ncur = s->nangle = 0;
	s->in_angle = s->had_angle = s->too_long = false;
}

bool
vacation_addressed(const char *v, size_t len, const char *user, const char *orig)
{
	struct addr_scan s = { .user = user, .orig = orig };
	const char *end = v + len;

	for (const char *p = v; p < end && !s.found; p++) {
		char c = *p;
		if (c == '(') { /* a comment, nested, with quoted pairs */
			int depth = 1;
			for (p++; p < end && depth > 0; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
			}
			p--;
		} else if (c == '"') { /* kept with its quotes: a quoted local part */
			scan_add(&s, c);
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					scan_add(&s, *p++);
				if (*p != '\r' && *p != '\n')
					scan_add(&s, *p);
			}
			if (p >= end)
				break;
			scan_add(&s, '"');
		} else if (c == '<' && !s.in_angle) {
			s.in_angle = true;
			s.nangle = 0;
		} else if (c == '>' && s.in_angle) {
			s.in_angle = false;
			s.had_angle = true;
			scan_emit(&s, s.angle, s.nangle);
		} else if ((c == ',' || c == ';') && !s.in_angle) {
			scan_end(&s);
		} else if (c == ':' && !s.in_angle) {
			s.ncur = 0; /* a group's name: its mailboxes follow */
			s.too_long = false;
		} else if (!isspace((unsigned char)c)) {
			scan_add(&s, c);
		}
	}
	if (!s.found)
		scan_end(&s);
	return s.found;
}

/* value_of - the value of field f: after the colon, leading blanks and line ends skipped. */
static const char *
value_of(const struct dkim_field *f, size_t *len)
{
	const char *v = f->p + f->name_len, *end = f->p + f->len;
	while (v < end && *v != ':')
		v++;
	if (v < end)
		v++;
	while (v < end && isspace((unsigned char)*v))
		v++;
	*len = (size_t)(end - v);
	return v;
}

/*
 * first_token - the first word of a value (up to a blank, ';', '(' or a line
 * end), lower-cased, into out.
 */
static void
first_token(const char *v, size_t len, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)v[i];
		if (isspace(c) || c == ';' || c == '(')
			break;
		out[n++] = (char)tolower(c);
	}
	out[n] = '\0';
}

static bool
is_list_field(const struct dkim_field *f)
{
	static const char *const names[] = { "List-Id", "List-Help", "List-Subscribe",
		"List-Unsubscribe", "List-Post", "List-Owner", "List-Archive" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (dkim_field_is(f, names[i]))
			return true;
	return false;
}

static bool
is_recipient_field(const struct dkim_field *f)
{
	static const char *const names[] = { "To", "Cc", "Bcc", "Resent-To", "Resent-Cc",
		"Resent-Bcc" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (dkim_field_is(f, names[i]))
			return true;
	return false;
}

enum vacation_reason
vacation_decide(const struct vacation_facts *f)
{
	struct dkim_fields fields = { 0 };
	enum vacation_reason r = VACATION_NOT_ADDRESSED;
	enum vacation_reason header_no = VACATION_REPLY;
	char tok[32];

	if (f->sender == NULL || f->sender[0] == '\0')
		return VACATION_NULL_SENDER;
	if (vacation_daemon_sender(f->sender))
		return VACATION_DAEMON_SENDER;
	if (same_address(f->sender, f->user) || same_address(f->sender, f->orig))
		return VACATION_OWN_SENDER;
	if (dkim_fields_parse(f->headers, f->len, &fields) < 0)
		return VACATION_NO_MEMORY;
	bool addressed = false;
	/* The header rules in a fixed order, whatever the order of the fields. */
	for (size_t i = 0; i < fields.n; i++) {
		const struct dkim_field *fl = &fields.v[i];
		size_t len;
		const char *v = value_of(fl, &len);
		if (dkim_field_is(fl, "Auto-Submitted")) {
			first_token(v, len, tok, sizeof tok);
			if (strcmp(tok, "no") != 0)
				header_no = VACATION_AUTO_SUBMITTED;
		} else if (dkim_field_is(fl, "Precedence") && header_no != VACATION_AUTO_SUBMITTED) {
			first_token(v, len, tok, sizeof tok);
			if (strcmp(tok, "bulk") == 0 || strcmp(tok, "list") == 0 ||
			    strcmp(tok, "junk") == 0)
				header_no = VACATION_PRECEDENCE;
		} else if (is_list_field(fl) && header_no == VACATION_REPLY) {
			header_no = VACATION_LIST;
		} else if (is_recipient_field(fl) && !addressed) {
			addressed = vacation_addressed(v, len, f->user, f->orig);
		}
	}
	dkim_fields_free(&fields);
	if (header_no != VACATION_REPLY)
		r = header_no;
	else if (addressed)
		r = VACATION_REPLY;
	return r;
}

bool
vacation_parent_id(const char *headers, size_t len, char *out, size_t outlen)
{
	struct dkim_fields fields = { 0 };
	bool ok = false;

	if (dkim_fields_parse(headers, len, &fields) < 0)
		return false;
	for (size_t i = 0; i < fields.n && !ok; i++) {
		if (!dkim_field_is(&fields.v[i], "Message-ID"))
			continue;
		size_t n;
		const char *v = value_of(&fields.v[i], &n);
		while (n > 0 && isspace((unsigned char)v[n - 1]))
			n--;
		if (n < 3 || n > VACATION_MSGID_MAX || n + 1 > outlen || v[0] != '<' ||
		    v[n - 1] != '>')
			break;
		ok = true;
		for (size_t k = 1; k + 1 < n && ok; k++)
			ok = v[k] > ' ' && v[k] < 0x7f && v[k] != '<' && v[k] != '>';
		if (ok) {
			memcpy(out, v, n);
			out[n] = '\0';
		}
		break;
	}
	dkim_fields_free(&fields);
	return ok;
}
