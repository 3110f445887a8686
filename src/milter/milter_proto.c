/* milter_proto.c - milter packets made and taken apart (see milter_proto.h). */
#include "milter/milter_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A packet under construction in b, from start (where its length goes). */
struct pkt {
	struct buf *b;
	size_t start;
	int err;
};

static void
pkt_begin(struct pkt *k, struct buf *b, char cmd)
{
	static const char zero[4];

	k->b = b;
	k->start = b->len;
	k->err = buf_append(b, zero, 4);
	if (k->err == 0)
		k->err = buf_putc(b, cmd);
}

static void
pkt_bytes(struct pkt *k, const void *p, size_t n)
{
	if (k->err == 0)
		k->err = buf_append(k->b, p, n);
}

/* pkt_str - n octets as a string: an inner NUL would end it early, so it goes as a blank. */
static void
pkt_str(struct pkt *k, const char *s, size_t n)
{
	size_t from = k->b->len;

	pkt_bytes(k, s, n);
	if (k->err != 0)
		return;
	for (size_t i = from; i < k->b->len; i++)
		if (k->b->data[i] == '\0')
			k->b->data[i] = ' ';
	k->err = buf_putc(k->b, '\0');
}

static void
pkt_u32(struct pkt *k, uint32_t v)
{
	unsigned char o[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };
	pkt_bytes(k, o, 4);
}

static int
pkt_end(struct pkt *k)
{
	size_t len = k->b->len - k->start - 4; /* the command octet and the data */

	if (k->err != 0 || len - 1 > MILTER_CHUNK_MAX) {
		k->b->len = k->start;
		if (k->b->data)
			k->b->data[k->b->len] = '\0';
		return -1;
	}
	unsigned char *o = (unsigned char *)k->b->data + k->start;
	o[0] = (unsigned char)(len >> 24);
	o[1] = (unsigned char)(len >> 16);
	o[2] = (unsigned char)(len >> 8);
	o[3] = (unsigned char)len;
	return 0;
}

int
milter_put_optneg(struct buf *b, uint32_t version, uint32_t actions, uint32_t protocol)
{
	struct pkt k;

	pkt_begin(&k, b, SMFIC_OPTNEG);
	pkt_u32(&k, version);
	pkt_u32(&k, actions);
	pkt_u32(&k, protocol);
	return pkt_end(&k);
}

int
milter_put_empty(struct buf *b, char cmd)
{
	struct pkt k;

	pkt_begin(&k, b, cmd);
	return pkt_end(&k);
}

int
milter_put_strings(struct buf *b, char cmd, const char *const *v, size_t n)
{
	struct pkt k;

	pkt_begin(&k, b, cmd);
	for (size_t i = 0; i < n; i++)
		pkt_str(&k, v[i], strlen(v[i]));
	return pkt_end(&k);
}

int
milter_put_macros(struct buf *b, char stage, const char *const *kv, size_t n)
{
	struct pkt k;

	pkt_begin(&k, b, SMFIC_MACRO);
	pkt_bytes(&k, &stage, 1);
	for (size_t i = 0; i < 2 * n; i++)
		pkt_str(&k, kv[i], strlen(kv[i]));
	return pkt_end(&k);
}

int
milter_put_connect(struct buf *b, const char *hostname, char family, uint16_t port,
    const char *addr)
{
	struct pkt k;
	unsigned char p[2] = { (unsigned char)(port >> 8), (unsigned char)port };

	pkt_begin(&k, b, SMFIC_CONNECT);
	pkt_str(&k, hostname, strlen(hostname));
	pkt_bytes(&k, &family, 1);
	if (family != 'U') {
		pkt_bytes(&k, p, 2);
		pkt_str(&k, addr, strlen(addr));
	}
	return pkt_end(&k);
}

int
milter_put_header(struct buf *b, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct pkt k;

	pkt_begin(&k, b, SMFIC_HEADER);
	pkt_str(&k, name, nlen);
	pkt_str(&k, value, vlen);
	return pkt_end(&k);
}

int
milter_put_body(struct buf *b, const void *p, size_t n)
{
	struct pkt k;

	pkt_begin(&k, b, SMFIC_BODY);
	pkt_bytes(&k, p, n);
	return pkt_end(&k);
}

int
milter_frame(const void *p, size_t n, size_t *len)
{
	const unsigned char *o = p;

	if (n < 4)
		return 0;
	uint32_t l = (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[2] << 8 | o[3];
	if (l == 0 || l > MILTER_REPLY_MAX)
		return -1;
	*len = l;
	return n - 4 >= l;
}

static uint32_t
get_u32(const char *p)
{
	const unsigned char *o = (const unsigned char *)p;
	return (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[2] << 8 | o[3];
}

/*
 * take_str - the NUL-terminated string at p[*pos..n): its start, *pos after its
 * NUL. NULL when the packet ends before a NUL.
 */
static const char *
take_str(const char *p, size_t n, size_t *pos)
{
	const char *s = p + *pos;
	const char *nul = memchr(s, '\0', n - *pos);

	if (nul == NULL)
		return NULL;
	*pos = (size_t)(nul - p) + 1;
	return s;
}

int
milter_parse_reply(const char *p, size_t n, struct milter_reply *r, const char **why)
{
	size_t pos = 1;

	memset(r, 0, sizeof *r);
	if (n == 0) {
		*why = "empty packet";
		return -1;
	}
	r->cmd = p[0];
	switch (r->cmd) {
	case SMFIR_OPTNEG:
		/* v6 filters may append the macros they want per stage: not used. */
		if (n < 13) {
			*why = "short option negotiation";
			return -1;
		}
		r->version = get_u32(p + 1);
		r->actions = get_u32(p + 5);
		r->protocol = get_u32(p + 9);
		return 0;
	case SMFIR_CHGHEADER:
	case SMFIR_INSHEADER:
		if (n < 5) {
			*why = "short header change";
			return -1;
		}
		r->index = get_u32(p + 1);
		pos = 5;
		/* fall through */
	case SMFIR_ADDHEADER:
		if ((r->name = take_str(p, n, &pos)) == NULL ||
		    (r->value = take_str(p, n, &pos)) == NULL) {
			*why = "header reply without its two strings";
			return -1;
		}
		if (r->name[0] == '\0') {
			*why = "header reply with an empty name";
			return -1;
		}
		return 0;
	case SMFIR_REPLYCODE:
	case SMFIR_QUARANTINE:
		if ((r->text = take_str(p, n, &pos)) == NULL) {
			*why = "reply text without its NUL";
			return -1;
		}
		return 0;
	case SMFIR_ACCEPT:
	case SMFIR_CONTINUE:
	case SMFIR_DISCARD:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_SKIP:
	case SMFIR_PROGRESS:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_REPLBODY:
	case SMFIR_CHGFROM:
	case SMFIR_SETSYMLIST:
		return 0;
	default:
		*why = "unknown reply";
		return -1;
	}
}

/* put - c into out at *o if there is room (one octet kept for the NUL). */
static void
put(char *out, size_t outlen, size_t *o, char c)
{
	if (*o + 1 < outlen)
		out[(*o)++] = c;
}

/* status_len - the length of an enhanced status code "c.d.e" at t (RFC 3463), or 0. */
static size_t
status_len(const char *t)
{
	size_t i = 0;

	if (t[i] != '2' && t[i] != '4' && t[i] != '5')
		return 0;
	i++;
	for (int part = 0; part < 2; part++) {
		if (t[i] != '.')
			return 0;
		i++;
		size_t d = 0;
		while (d < 3 && isdigit((unsigned char)t[i])) {
			i++;
			d++;
		}
		if (d == 0)
			return 0;
	}
	return t[i] == ' ' || t[i] == '\0' || t[i] == '\r' || t[i] == '\n' ? i : 0;
}

int
milter_reply_line(const char *t, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 16)
		return -1;
	if ((t[0] != '4' && t[0] != '5') || !isdigit((unsigned char)t[1]) ||
	    !isdigit((unsigned char)t[2]) || (t[3] != ' ' && t[3] != '-' && t[3] != '\0'))
		return -1;
	int code = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
	const char *s = t[3] ? t + 4 : t + 3;
	size_t sl = status_len(s);
	if (sl > 0 && s[0] == t[0]) {
		snprintf(out, outlen, "%d %.*s", code, (int)sl, s);
		s += sl;
	} else {
		snprintf(out, outlen, "%d %c.7.1", code, t[0]);
		if (sl > 0)
			s += sl;
	}
	o = strlen(out);
	while (*s == ' ')
		s++;
	if (*s != '\0')
		put(out, outlen, &o, ' ');
	while (*s != '\0') {
		if (*s == '\r' || *s == '\n') {
			/* The next line of a multi-line reply: its code and status again. */
			while (*s == '\r' || *s == '\n')
				s++;
			if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
			    isdigit((unsigned char)s[2]) && (s[3] == ' ' || s[3] == '-')) {
				s += 4;
				s += status_len(s);
			}
			while (*s == ' ')
				s++;
			if (*s != '\0')
				put(out, outlen, &o, ' ');
			continue;
		}
		unsigned char c = (unsigned char)*s++;
		put(out, outlen, &o, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
	out[o] = '\0';
	return code;
}

const char *
milter_cmd_name(char cmd)
{
	switch (cmd) {
	case SMFIC_OPTNEG: return "negotiation";
	case SMFIC_CONNECT: return "connect";
	case SMFIC_HELO: return "helo";
	case SMFIC_MAIL: return "mail";
	case SMFIC_RCPT: return "rcpt";
	case SMFIC_DATA: return "data";
	case SMFIC_HEADER: return "header";
	case SMFIC_EOH: return "eoh";
	case SMFIC_BODY: return "body";
	case SMFIC_BODYEOB: return "eom";
	default: return "?";
	}
}
