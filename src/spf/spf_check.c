/*
 * spf_check.c - check_host() (RFC 7208 4) as a state machine over struct dns_ops:
 * one query at a time; each answer is digested in its callback (the records live
 * only that long) and evaluation goes on from run(), whether the answer came
 * before the query function returned or later from the loop.
 */
#include "spf/spf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "deliver/dns_parse.h"
#include "spf/spf_addr.h"
#include "spf/spf_macro.h"
#include "spf/spf_record.h"

#define RR_A 1
#define RR_PTR 12
#define RR_MX 15
#define RR_TXT 16
#define RR_AAAA 28

#define DNS_TERMS_MAX 10   /* 4.6.4: include, a, mx, ptr, exists, redirect */
#define VOID_MAX 2         /* 4.6.4: lookups answering NXDOMAIN or nothing */
#define NAMES_MAX 10       /* 4.6.4: MX or PTR names looked at per mechanism */
/*
 * Nesting: every include counts as a DNS term, so 10 would do; one more for the
 * check itself. The query cap is a second fence: the limits above allow about
 * 10 * (1 + 10) queries, and a bug must not turn into unbounded work.
 */
#define DEPTH_MAX (DNS_TERMS_MAX + 1)
#define QUERIES_MAX 150
#define TXT_BUF 65536      /* a TXT rdata has fewer octets than this */

enum want { W_RECORD, W_A, W_MX, W_MX_ADDR, W_PTR, W_PTR_ADDR, W_EXISTS, W_EXP };

/* One check_host() call: the outermost, or one made by an include. */
struct frame {
	char domain[256];
	struct spf_record rec;
	bool have_rec;
	bool from_include;  /* none is a permerror for the includer (5.2) */
	bool from_redirect; /* none is a permerror (6.1) */
	size_t term;        /* the mechanism being evaluated */
	bool names_fetched; /* mx, ptr: the names are in names[] */
	char target[256];   /* the current mechanism's target name */
	char names[NAMES_MAX][DNS_NAME_MAX];
	size_t nnames, iname;
	bool matched;
};

struct spf_check {
	struct dns_ops dns;
	spf_done_fn done;
	void *arg;
	struct spf_ip ip;
	char ip_text[64];
	char local[256], sender_domain[256], helo[256], receiver[256];
	bool has_receiver;
	struct spf_result res;
	unsigned dns_terms, voids, queries;
	struct frame *fr; /* fr[0..depth] */
	int depth;
	enum want want;
	bool pending, running, finished;
	char *txt;        /* TXT_BUF octets for one TXT record at a time */
};

static const char *const outcome_names[] = {
	[SPF_NONE] = "none", [SPF_NEUTRAL] = "neutral", [SPF_PASS] = "pass",
	[SPF_FAIL] = "fail", [SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror",
	[SPF_PERMERROR] = "permerror",
};

const char *
spf_outcome_name(enum spf_outcome o)
{
	return (unsigned)o < sizeof outcome_names / sizeof outcome_names[0] ? outcome_names[o]
	    : "permerror";
}

static void step(struct spf_check *c);

static struct frame *
top(struct spf_check *c)
{
	return &c->fr[c->depth];
}

/* finish - the final result; explanation and problem stay as set. */
static void
finish(struct spf_check *c, enum spf_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(struct spf_check *c, enum spf_outcome o, const char *fmt, ...)
{
	c->res.result = o;
	if (fmt != NULL && c->res.problem[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->res.problem, sizeof c->res.problem, fmt, ap);
		va_end(ap);
	}
	c->finished = true;
}

static void
check_free(struct spf_check *c)
{
	if (c->fr != NULL)
		for (int i = 0; i < DEPTH_MAX; i++)
			spf_record_free(&c->fr[i].rec);
	free(c->fr);
	free(c->txt);
	free(c);
}

/* run - evaluate until a query is under way or the result is known; true: done and freed. */
static bool
run(struct spf_check *c)
{
	c->running = true;
	while (!c->finished && !c->pending)
		step(c);
	c->running = false;
	if (!c->finished)
		return false;
	c->done(c->arg, &c->res);
	check_free(c);
	return true;
}

static void digest(struct spf_check *c, enum dns_status st, const struct dns_rdata *rr,
    const char *why);

static void
on_answer(void *arg, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct spf_check *c = arg;

	c->pending = false;
	digest(c, st, rr, why);
	if (!c->running)
		run(c);
}

/*
 * presentation_name - name as the resolver's text form needs it: a macro can put
 * any visible octet or a space in a label (7.3), so all but letters, digits,
 * '-', '_' and the dots between labels are written \DDD.
 */
static void
presentation_name(const char *name, char *out, size_t outlen)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && n + 5 < outlen; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.')
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, outlen - n, "\\%03u", *p);
	}
	out[n] = '\0';
}

static void
ask(struct spf_check *c, const char *name, int type, enum want w)
{
	char qname[DNS_NAME_MAX * 4 + 1];

	presentation_name(name, qname, sizeof qname);
	name = qname;
	if (++c->queries > QUERIES_MAX) {
		finish(c, SPF_PERMERROR, "more than %d DNS queries", QUERIES_MAX);
		return;
	}
	c->want = w;
	c->pending = true;
	if (c->dns.rr(c->dns.ctx, name, type, on_answer, c) < 0) {
		c->pending = false;
		finish(c, SPF_TEMPERROR, "DNS query for %s could not be made", name);
	}
}

/* env - the macro values for the domain of frame f. */
static struct spf_macro_env
env_of(struct spf_check *c, const struct frame *f)
{
	return (struct spf_macro_env){
		.sender = c->res.sender, .local = c->local, .sender_domain = c->sender_domain,
		.domain = f->domain, .ip = &c->ip, .validated = NULL, .helo = c->helo,
		.receiver = c->has_receiver ? c->receiver : NULL, .now = (long long)time(NULL),
	};
}

/* expand_target - spec (NULL: the frame's domain) expanded into out, fit for a query. */
static int
expand_target(struct spf_check *c, const struct frame *f, const char *spec, char *out,
    size_t outlen)
{
	if (spec == NULL) {
		snprintf(out, outlen, "%s", f->domain);
		return 0;
	}
	struct spf_macro_env env = env_of(c, f);
	char buf[1024];
	if (spf_macro_expand(spec, strlen(spec), &env, false, buf, sizeof buf) < 0)
		return -1;
	spf_name_fit(buf);
	snprintf(out, outlen, "%s", buf);
	return 0;
}

static void
next_term(struct frame *f)
{
	f->term++;
	f->names_fetched = false;
	f->nnames = f->iname = 0;
	f->matched = false;
}

static enum spf_outcome
outcome_of(char qual)
{
	switch (qual) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	}
	return SPF_PASS;
}

static void
start_exp(struct spf_check *c, struct frame *f)
{
	char name[256];

	if (expand_target(c, f, f->rec.exp, name, sizeof name) < 0 || !spf_name_ok(name, false)) {
		c->finished = true;
		return;
	}
	ask(c, name, RR_TXT, W_EXP);
	/* A failure to ask for the explanation is no error: fail stays fail (6.2). */
	if (c->finished)
		c->res.result = SPF_FAIL;
}

/* frame_done - the frame's check_host() gave o; by_mech: a mechanism matched. */
static void
frame_done(struct spf_check *c, enum spf_outcome o, bool by_mech)
{
	struct frame *f = top(c);

	if (o == SPF_NONE && (f->from_include || f->from_redirect)) {
		finish(c, SPF_PERMERROR, "%s has no SPF record (%s)", f->domain,
		    f->from_include ? "include" : "redirect");
		return;
	}
	if (o == SPF_TEMPERROR || o == SPF_PERMERROR) {
		finish(c, o, NULL);
		return;
	}
	if (c->depth > 0) {
		/* 5.2: only pass matches; fail, softfail and neutral do not. */
		spf_record_free(&f->rec);
		memset(f, 0, sizeof *f);
		c->depth--;
		struct frame *parent = top(c);
		if (o == SPF_PASS)
			frame_done(c, outcome_of(parent->rec.v[parent->term].qual), true);
		else
			next_term(parent);
		return;
	}
	c->res.result = o;
	if (o == SPF_FAIL && by_mech && f->rec.exp != NULL)
		start_exp(c, f);
	else
		c->finished = true;
}

/* void_lookup - one more term found nothing; past the limit, permerror. */
static bool
void_lookup(struct spf_check *c)
{
	if (++c->voids > VOID_MAX) {
		finish(c, SPF_PERMERROR, "more than %d void DNS lookups", VOID_MAX);
		return true;
	}
	return false;
}

static void
dns_failed(struct spf_check *c, const char *name, const char *why)
{
	finish(c, SPF_TEMPERROR, "DNS lookup of %s failed%s%s", name, why && why[0] ? ": " : "",
	    why ? why : "");
}

static bool
addr_matches(struct spf_check *c, const struct dns_rdata *rr, const struct spf_term *t)
{
	for (size_t i = 0; i < rr->n; i++) {
		if (rr->len[i] == 4 && spf_ip_in(&c->ip, AF_INET, rr->v[i], t ? t->cidr4 : 32))
			return true;
		if (rr->len[i] == 16 && spf_ip_in(&c->ip, AF_INET6, rr->v[i], t ? t->cidr6 : 128))
			return true;
	}
	return false;
}

/* name_within - name is target or a subdomain of it (5.5), ignoring case. */
static bool
name_within(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (t > 0 && target[t - 1] == '.')
		t--;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n < t || strncasecmp(name + n - t, target, t) != 0)
		return false;
	return n == t || name[n - t - 1] == '.';
}

/*
 * txt_join - a TXT rdata's character-strings joined (3.3) into out, NUL-terminated;
 * a NUL inside is kept (an SPF record with one is a syntax error, not no record).
 * Returns the length, or -1 when the rdata is malformed.
 */
static long
txt_join(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t l = p[i++];
		if (l > len - i || n + l >= outlen)
			return -1;
		memcpy(out + n, p + i, l);
		n += l;
		i += l;
	}
	out[n] = '\0';
	return (long)n;
}

static void
digest_record(struct spf_check *c, enum dns_status st, const struct dns_rdata *rr,
    const char *why)
{
	struct frame *f = top(c);
	long found_len = -1;
	size_t nspf = 0;
	char *found = NULL;

	if (st == DNS_TEMPFAIL) {
		dns_failed(c, f->domain, why);
		return;
	}
	for (size_t i = 0; st == DNS_OK && i < rr->n && nspf < 2; i++) {
		long l = txt_join(rr->v[i], (size_t)rr->len[i], c->txt, TXT_BUF);
		if (l < 0 || !spf_is_record(c->txt, (size_t)l))
			continue;
		if (++nspf == 1) {
			free(found);
			found = memchr(c->txt, '\0', (size_t)l) ? strdup("v=spf1 \x01") : strdup(c->txt);
			found_len = l;
		}
	}
	if (nspf == 0) {
		free(found);
		snprintf(c->res.problem, sizeof c->res.problem, "no SPF record at %s", f->domain);
		if (!f->from_include && !f->from_redirect) {
			frame_done(c, SPF_NONE, false);
			return;
		}
		c->res.problem[0] = '\0';
		frame_done(c, SPF_NONE, false);
		return;
	}
	if (nspf > 1 || found == NULL || found_len < 0) {
		free(found);
		finish(c, found ? SPF_PERMERROR : SPF_TEMPERROR, found ? "several SPF records at %s"
		    : "out of memory reading %s", f->domain);
		return;
	}
	char whybuf[160];
	int rc = spf_record_parse(found, &f->rec, whybuf, sizeof whybuf);
	free(found);
	if (rc < 0) {
		finish(c, SPF_PERMERROR, "SPF record of %s: %s", f->domain, whybuf);
		return;
	}
	f->have_rec = true;
}

static void
digest_names(struct spf_check *c, enum dns_status st, const struct dns_rdata *rr,
    const char *why, bool mx)
{
	struct frame *f = top(c);

	f->names_fetched = true;
	if (st == DNS_TEMPFAIL) {
		/* 5.5: a failed PTR lookup is no match; a failed MX lookup is an error (5.4). */
		if (mx)
			dns_failed(c, f->target, why);
		return;
	}
	if (st != DNS_OK || rr->n == 0) {
		void_lookup(c);
		return;
	}
	if (mx && rr->n > NAMES_MAX) {
		finish(c, SPF_PERMERROR, "%s has more than %d MX records", f->target, NAMES_MAX);
		return;
	}
	for (size_t i = 0; i < rr->n && f->nnames < NAMES_MAX; i++) {
		char *name = f->names[f->nnames];
		if (mx) {
			struct mx m;
			if (dns_parse_mx(rr->v[i], (size_t)rr->len[i], &m) < 0 || m.host[0] == '\0')
				continue;
			snprintf(name, DNS_NAME_MAX, "%s", m.host);
		} else if (dns_parse_name_rdata(rr->v[i], (size_t)rr->len[i], name, DNS_NAME_MAX) < 0
		    || !name_within(name, f->target)) {
			/* Only names within the target can match: the others are not validated. */
			continue;
		}
		f->nnames++;
	}
}

static void
digest(struct spf_check *c, enum dns_status st, const struct dns_rdata *rr, const char *why)
{
	struct frame *f = top(c);
	const struct spf_term *t = f->have_rec && f->term < f->rec.n ? &f->rec.v[f->term] : NULL;

	switch (c->want) {
	case W_RECORD:
		digest_record(c, st, rr, why);
		return;
	case W_A:
	case W_EXISTS:
		if (st == DNS_TEMPFAIL)
			dns_failed(c, f->target, why);
		else if (st != DNS_OK || rr->n == 0)
			void_lookup(c);
		else
			f->matched = c->want == W_EXISTS ? true : addr_matches(c, rr, t);
		if (!f->matched && !c->finished)
			next_term(f);
		return;
	case W_MX:
		digest_names(c, st, rr, why, true);
		return;
	case W_PTR:
		digest_names(c, st, rr, why, false);
		return;
	case W_MX_ADDR:
		if (st == DNS_TEMPFAIL)
			dns_failed(c, f->names[f->iname - 1], why);
		else if (st == DNS_OK)
			f->matched = addr_matches(c, rr, t);
		return;
	case W_PTR_ADDR:
		/* 5.5: a name whose addresses cannot be had is skipped; one with ours is valid. */
		if (st == DNS_OK)
			f->matched = addr_matches(c, rr, NULL);
		return;
	case W_EXP:
		c->finished = true;
		if (st != DNS_OK || rr->n != 1)
			return;
		if (dns_parse_txt(rr->v[0], (size_t)rr->len[0], c->txt, TXT_BUF) < 0)
			return;
		struct spf_macro_env env = env_of(c, f);
		if (spf_macro_expand(c->txt, strlen(c->txt), &env, true, c->res.explanation,
		    sizeof c->res.explanation) < 0)
			c->res.explanation[0] = '\0';
		return;
	}
}

/* count_dns_term - one more term that asks DNS; past the limit, permerror (4.6.4). */
static bool
count_dns_term(struct spf_check *c)
{
	if (++c->dns_terms > DNS_TERMS_MAX) {
		finish(c, SPF_PERMERROR, "more than %d DNS lookups", DNS_TERMS_MAX);
		return false;
	}
	return true;
}

static void
redirect(struct spf_check *c, struct frame *f)
{
	char target[256];

	if (!count_dns_term(c))
		return;
	if (expand_target(c, f, f->rec.redirect, target, sizeof target) < 0 ||
	    !spf_name_ok(target, false)) {
		finish(c, SPF_PERMERROR, "bad redirect= target in the SPF record of %s", f->domain);
		return;
	}
	bool from_include = f->from_include;
	spf_record_free(&f->rec);
	memset(f, 0, sizeof *f);
	snprintf(f->domain, sizeof f->domain, "%s", target);
	f->from_include = from_include;
	f->from_redirect = true;
}

/* address_type - the A or AAAA query that suits the client's family (5.3). */
static int
address_type(const struct spf_check *c)
{
	return c->ip.family == AF_INET ? RR_A : RR_AAAA;
}

/* eval_mechanism - start or go on with the current mechanism of f. */
static void
eval_mechanism(struct spf_check *c, struct frame *f)
{
	const struct spf_term *t = &f->rec.v[f->term];

	if (f->matched) {
		frame_done(c, outcome_of(t->qual), true);
		return;
	}
	if (f->names_fetched) {
		/* mx, ptr: the addresses of each name in turn, until one matches. */
		if (f->iname >= f->nnames) {
			next_term(f);
			return;
		}
		const char *name = f->names[f->iname++];
		ask(c, name, address_type(c), t->mech == SPF_MECH_MX ? W_MX_ADDR : W_PTR_ADDR);
		return;
	}
	switch (t->mech) {
	case SPF_MECH_ALL:
		frame_done(c, outcome_of(t->qual), true);
		return;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6: {
		bool v6 = t->mech == SPF_MECH_IP6;
		if (spf_ip_in(&c->ip, v6 ? AF_INET6 : AF_INET, t->net, v6 ? t->cidr6 : t->cidr4))
			frame_done(c, outcome_of(t->qual), true);
		else
			next_term(f);
		return;
	}
	default:
		break;
	}
	if (!count_dns_term(c))
		return;
	if (expand_target(c, f, t->spec, f->target, sizeof f->target) < 0) {
		finish(c, SPF_PERMERROR, "bad macro in %s", spf_mech_name(t->mech));
		return;
	}
	/* A name no query can be made of matches nothing (4.3, 4.8; the suite allows it). */
	if (!spf_name_ok(f->target, false) && t->mech != SPF_MECH_INCLUDE) {
		next_term(f);
		return;
	}
	switch (t->mech) {
	case SPF_MECH_A:
		ask(c, f->target, address_type(c), W_A);
		return;
	case SPF_MECH_MX:
		ask(c, f->target, RR_MX, W_MX);
		return;
	case SPF_MECH_PTR: {
		char rev[128];
		spf_ip_reverse_name(&c->ip, rev, sizeof rev);
		ask(c, rev, RR_PTR, W_PTR);
		return;
	}
	case SPF_MECH_EXISTS:
		ask(c, f->target, RR_A, W_EXISTS);
		return;
	case SPF_MECH_INCLUDE: {
		if (!spf_name_ok(f->target, false)) {
			finish(c, SPF_PERMERROR, "bad include target %s", f->target);
			return;
		}
		if (c->depth + 1 >= DEPTH_MAX) {
			finish(c, SPF_PERMERROR, "includes nested too deep");
			return;
		}
		struct frame *child = &c->fr[++c->depth];
		memset(child, 0, sizeof *child);
		snprintf(child->domain, sizeof child->domain, "%s", f->target);
		child->from_include = true;
		return;
	}
	default:
		return;
	}
}

static void
step(struct spf_check *c)
{
	struct frame *f = top(c);

	if (!f->have_rec) {
		ask(c, f->domain, RR_TXT, W_RECORD);
		return;
	}
	if (f->term < f->rec.n) {
		eval_mechanism(c, f);
		return;
	}
	if (f->rec.redirect != NULL)
		redirect(c, f);
	else
		frame_done(c, SPF_NEUTRAL, false);
}

/* lower_copy - src lower-cased, without one final dot. */
static void
lower_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = 0;
	for (; src[n] && n + 1 < dstlen; n++)
		dst[n] = (char)tolower((unsigned char)src[n]);
	if (n > 0 && dst[n - 1] == '.')
		n--;
	dst[n] = '\0';
}

static struct spf_check *
start(const struct dns_ops *dns, const struct spf_request *r, bool helo_identity,
    spf_done_fn done, void *arg)
{
	struct spf_check *c = calloc(1, sizeof *c);
	struct spf_result fail = { .result = SPF_TEMPERROR };

	if (c == NULL || (c->fr = calloc(DEPTH_MAX, sizeof *c->fr)) == NULL ||
	    (c->txt = malloc(TXT_BUF)) == NULL) {
		if (c != NULL)
			check_free(c);
		snprintf(fail.problem, sizeof fail.problem, "out of memory");
		fail.identity = helo_identity ? "helo" : "mailfrom";
		done(arg, &fail);
		return NULL;
	}
	c->dns = *dns;
	c->done = done;
	c->arg = arg;
	const char *helo = r->helo ? r->helo : "";
	const char *mailfrom = r->mailfrom ? r->mailfrom : "";
	snprintf(c->helo, sizeof c->helo, "%s", helo);
	if (r->receiver != NULL) {
		snprintf(c->receiver, sizeof c->receiver, "%s", r->receiver);
		c->has_receiver = true;
	}
	size_t mlen = strlen(mailfrom);
	if (mlen >= 2 && mailfrom[0] == '<' && mailfrom[mlen - 1] == '>') {
		mailfrom++;
		mlen -= 2;
	}
	if (helo_identity || mlen == 0) {
		c->res.identity = "helo";
		snprintf(c->local, sizeof c->local, "postmaster");
		lower_copy(c->sender_domain, sizeof c->sender_domain, helo);
	} else {
		c->res.identity = "mailfrom";
		char copy[512];
		snprintf(copy, sizeof copy, "%.*s", (int)mlen, mailfrom);
		char *at = strrchr(copy, '@');
		const char *dom = copy;
		if (at != NULL) {
			*at = '\0';
			snprintf(c->local, sizeof c->local, "%s", copy);
			dom = at + 1;
		}
		/* 4.3: a sender without a local-part is postmaster@domain. */
		if (c->local[0] == '\0')
			snprintf(c->local, sizeof c->local, "postmaster");
		lower_copy(c->sender_domain, sizeof c->sender_domain, dom);
	}
	snprintf(c->res.sender, sizeof c->res.sender, "%s@%s", c->local, c->sender_domain);
	snprintf(c->res.domain, sizeof c->res.domain, "%s", c->sender_domain);
	snprintf(c->fr[0].domain, sizeof c->fr[0].domain, "%s", c->sender_domain);

	if (spf_ip_parse(r->ip ? r->ip : "", &c->ip) < 0) {
		finish(c, SPF_PERMERROR, "bad client address %s", r->ip ? r->ip : "");
	} else if (!spf_name_ok(c->sender_domain, true)) {
		/* 4.3: a malformed or single-label domain gives none at once. */
		finish(c, SPF_NONE, "%s is not a domain name SPF can check", c->sender_domain);
	}
	return run(c) ? NULL : c;
}

struct spf_check *
spf_check_start(const struct dns_ops *dns, const struct spf_request *r, spf_done_fn done,
    void *arg)
{
	return start(dns, r, false, done, arg);
}

struct spf_check *
spf_check_helo_start(const struct dns_ops *dns, const struct spf_request *r, spf_done_fn done,
    void *arg)
{
	return start(dns, r, true, done, arg);
}

void
spf_check_cancel(struct spf_check *c)
{
	if (c == NULL)
		return;
	if (c->pending && c->dns.cancel != NULL)
		c->dns.cancel(c->dns.ctx, c);
	check_free(c);
}
