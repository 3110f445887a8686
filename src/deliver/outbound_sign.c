/*
 * outbound_sign.c - deciding what signs a message that leaves (DKIM for our own
 * mail, ARC for forwarded mail), reading it once as it will be sent for the body
 * hash and the header block, and asking lookupd for the signatures.
 */
#include "deliver/outbound_sign.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "config.h"
#include "deliver/outform.h"
#include "dkim/arc.h"
#include "dkim/arc_sets.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_fields.h"
#include "dkim/dkim_key.h"
#include "dkim/dkim_sig.h"
#include "dkim/dkim_sign.h"
#include "store/spool.h"
#include "util/log.h"

#define HEADER_MAX (1024 * 1024) /* a longer header block is sent unsigned */
#define EXPIRE_AFTER (5 * 86400) /* x=: the signature is good for five days */
#define SIG_B64_MAX 1024
/*
 * A message's DKIM signatures are kept (sig/<id>) and used again at its retries for
 * this long: signing costs more than the rest of a delivery, and a deferred message
 * is tried many times. Well inside x=, and short enough that a retired key's record
 * is still published.
 */
#define KEEP_FOR 86400

int
sign_domain_of(const char *value, size_t len, char *out, size_t outlen)
{
	const char *end = value + len, *at = NULL, *p;
	const char *lt = memchr(value, '<', len);

	/* The address in angle brackets when there is one, else the first addr-spec. */
	if (lt != NULL) {
		const char *gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt != NULL)
			end = gt;
		at = memchr(lt, '@', (size_t)(end - lt));
	} else {
		at = memchr(value, '@', len);
	}
	if (at == NULL)
		return -1;
	size_t n = 0;
	for (p = at + 1; p < end && n + 1 < outlen; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '>' || c == ',' || c == ';' || c == '(' || c == ')' || isspace(c))
			break;
		out[n++] = (char)tolower(c);
	}
	out[n] = '\0';
	return n > 0 && memchr(out, '.', n) != NULL ? 0 : -1;
}

/*
 * signing_domain - domain or the nearest parent of it that we host and that has
 * signing keys (a bounce from mail.example.com signs as example.com). Returns how
 * many signers went into s, 0 for none, -1 when the store did not answer.
 */
static int
signing_domain(struct accounts *acct, const char *domain, time_t now, char *found,
    size_t foundlen, struct dkim_signer s[2])
{
	for (const char *d = domain; d != NULL && strchr(d, '.') != NULL;) {
		int n = accounts_dkim_signers(acct, d, now, s);
		if (n < 0)
			return -1;
		if (n > 0) {
			snprintf(found, foundlen, "%s", d);
			return n;
		}
		d = strchr(d, '.');
		if (d != NULL)
			d++;
	}
	return 0;
}

/* The message as it leaves, read once: its header block, and its body hashed. */
struct reading {
	struct buf hdr;
	struct dkim_fields fields;
	char bh[64];
};

static int
read_message(const struct sign_job *j, struct reading *m)
{
	struct outform o;
	struct dkim_body body;
	char chunk[65536];
	bool in_body = false;
	int rc = -1;

	if (outform_open(&o, j->queue_dir, j->env) < 0)
		return -1;
	if (dkim_body_init(&body) < 0) {
		outform_close(&o);
		return -1;
	}
	for (;;) {
		ssize_t n = outform_read(&o, chunk, sizeof chunk);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (in_body) {
			dkim_body_update(&body, chunk, (size_t)n);
			continue;
		}
		if (buf_append(&m->hdr, chunk, (size_t)n) < 0)
			goto out;
		size_t body_at, end = dkim_header_end(m->hdr.data, m->hdr.len, &body_at);
		if (end < m->hdr.len || body_at < m->hdr.len) {
			dkim_body_update(&body, m->hdr.data + body_at, m->hdr.len - body_at);
			m->hdr.len = end;
			in_body = true;
		} else if (m->hdr.len > HEADER_MAX) {
			errno = EFBIG;
			goto out;
		}
	}
	if (dkim_body_final(&body, m->bh, sizeof m->bh) < 0 ||
	    dkim_fields_parse(m->hdr.data, m->hdr.len, &m->fields) < 0)
		goto out;
	rc = 0;
out:
	dkim_body_free(&body);
	outform_close(&o);
	return rc;
}

static const struct dkim_field *
find_field(const struct dkim_fields *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (dkim_field_is(&f->v[i], name))
			return &f->v[i];
	return NULL;
}

/* The key a signature of one request is made with, and what came of it. */
struct key_ref {
	struct accounts *acct;
	const char *domain;
	const char *selector;
	enum dkim_sign_status st;
};

static int
sign_with(void *arg, const void *data, size_t len, char *sig, size_t siglen)
{
	struct key_ref *k = arg;

	k->st = accounts_dkim_sign_status(k->acct, k->domain, k->selector, data, len, sig, siglen);
	return k->st == DKIM_SIGN_OK ? 0 : -1;
}

/*
 * own_mail - whether we vouch for the message: our bounce, a user's vacation reply,
 * a message queued made itself (client "local": DMARC reports), a login, or a
 * trusted network.
 */
static bool
own_mail(const struct config *cfg, const struct envelope *env)
{
	return env->is_bounce || env->auto_reply ||
	    (env->client != NULL && strcmp(env->client, "local") == 0) ||
	    env->auth != NULL ||
	    (env->client != NULL && config_is_trusted_text(cfg, env->client));
}

/*
 * sign_all - the DKIM-Signature fields of m by the n signers s of domain found,
 * all signed in one request (accounts_dkim_sign_many), onto prefix; st[i] is what
 * came of signer i (NO_KEY: its selector no longer signs, when the signers were
 * kept from before it stopped). Returns how many fields were added.
 */
static int
sign_all(struct accounts *acct, const struct sign_job *j, const struct reading *m,
    const char *found, const struct dkim_signer *s, int n, struct buf *prefix,
    enum dkim_sign_status st[DKIM_ALG_COUNT])
{
	struct buf field[DKIM_ALG_COUNT] = { 0 }, data[DKIM_ALG_COUNT] = { 0 };
	struct dkim_sign_item items[DKIM_ALG_COUNT];
	char sig[DKIM_ALG_COUNT][SIG_B64_MAX];
	const char *alg[DKIM_ALG_COUNT];
	bool built[DKIM_ALG_COUNT] = { false };
	size_t k = 0;
	int added = 0;

	for (int i = 0; i < n && i < DKIM_ALG_COUNT; i++) {
		alg[i] = dkim_alg_sig_name(s[i].alg);
		struct dkim_sign_req r = { "DKIM-Signature", "v=1", alg[i], found, s[i].selector,
			(long long)j->now, (long long)j->now + EXPIRE_AFTER, m->bh };
		built[i] = dkim_sign_build(&m->fields, &r, &field[i], &data[i]) == 0;
		if (built[i])
			items[k++] = (struct dkim_sign_item){ s[i].selector, data[i].data, data[i].len,
				sig[i], sizeof sig[i], DKIM_SIGN_FAILED };
	}
	if (k > 0)
		(void)accounts_dkim_sign_many(acct, found, items, k);
	k = 0;
	for (int i = 0; i < n && i < DKIM_ALG_COUNT; i++) {
		st[i] = built[i] ? items[k++].status : DKIM_SIGN_FAILED;
		if (st[i] == DKIM_SIGN_OK && (dkim_sign_finish(&field[i], sig[i]) < 0 ||
		    buf_append(prefix, field[i].data, field[i].len) < 0))
			st[i] = DKIM_SIGN_FAILED;
		added += st[i] == DKIM_SIGN_OK;
		buf_free(&field[i]);
		buf_free(&data[i]);
	}
	return added;
}

/* dkim_fields - our DKIM signatures of m into prefix; *whole: every signer made its own. */
static int
dkim_fields(struct accounts *acct, const struct sign_job *j, const struct reading *m,
    struct buf *prefix, bool *whole)
{
	const struct envelope *env = j->env;
	const struct dkim_field *from = find_field(&m->fields, "From");
	struct dkim_signer s[2];
	char dom[256], found[256];
	int n = 0;

	*whole = false;
	if (from == NULL) {
		ev_info("dkim-unsigned", KS("qid", env->id), KS("reason", "no From field"));
		return 0;
	}
	const char *colon = memchr(from->p, ':', from->len);
	/* Twice at most: the second time with the signers asked of lookupd afresh. */
	for (int attempt = 0; attempt < 2; attempt++) {
		n = 0;
		if (sign_domain_of(colon + 1, from->len - (size_t)(colon + 1 - from->p), dom,
		    sizeof dom) == 0)
			n = signing_domain(acct, dom, j->now, found, sizeof found, s);
		/* A From of a domain we do not sign for: the envelope's, when it is ours. */
		if (n == 0 && env->sender[0] != '\0' &&
		    sign_domain_of(env->sender, strlen(env->sender), dom, sizeof dom) == 0)
			n = signing_domain(acct, dom, j->now, found, sizeof found, s);
		if (n <= 0) {
			if (n < 0)
				ev_warn("dkim-unsigned", KS("qid", env->id),
				    KS("reason", "the account store did not answer"));
			return 0;
		}
		enum dkim_sign_status st[DKIM_ALG_COUNT];
		size_t before = prefix->len;
		int added = sign_all(acct, j, m, found, s, n, prefix, st);
		bool no_key = false;
		for (int i = 0; i < n; i++)
			no_key |= st[i] == DKIM_SIGN_NO_KEY;
		if (no_key && attempt == 0) {
			/* A kept selector stopped signing: sign again with the ones that sign now. */
			prefix->len = before;
			accounts_dkim_forget(acct, found);
			continue;
		}
		*whole = added == n;
		for (int i = 0; i < n; i++) {
			if (st[i] == DKIM_SIGN_OK)
				ev_info("dkim-sign", KS("qid", env->id), KS("d", found),
				    KS("s", s[i].selector), KS("a", dkim_alg_sig_name(s[i].alg)));
			else
				ev_warn("dkim-sign-failed", KS("qid", env->id), KS("d", found),
				    KS("s", s[i].selector));
		}
		return 0;
	}
	return 0;
}

/* our_results - the results of our own Authentication-Results field, if there is one. */
static char *
our_results(const struct reading *m, const char *hostname, struct buf *out)
{
	size_t hl = strlen(hostname);

	for (size_t i = 0; i < m->fields.n; i++) {
		const struct dkim_field *f = &m->fields.v[i];
		if (!dkim_field_is(f, "Authentication-Results"))
			continue;
		const char *v = (const char *)memchr(f->p, ':', f->len) + 1, *end = f->p + f->len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if ((size_t)(end - v) <= hl || strncasecmp(v, hostname, hl) != 0 || v[hl] != ';')
			continue;
		/* The rest, unfolded, as the AAR's payload. */
		for (v += hl + 1; v < end; v++)
			if (*v != '\n' && *v != '\r' && buf_putc(out, *v == '\t' ? ' ' : *v) < 0)
				return NULL;
		while (out->len > 0 && out->data[out->len - 1] == ' ')
			out->len--;
		size_t lead = 0;
		while (lead < out->len && out->data[lead] == ' ')
			lead++;
		if (buf_putc(out, '\0') < 0)
			return NULL;
		return out->data + lead;
	}
	return NULL;
}

/*
 * arc_result_of - the result of the "arc" method in the results of our
 * Authentication-Results ("pass", "fail", "none"), or NULL when it has none. The
 * results are split at the semicolons outside comments and quoted strings, so that
 * nothing a sender put in a reason can pass for a result.
 */
static const char *
arc_result_of(const char *results)
{
	int depth = 0;
	bool quoted = false, start = true;

	for (const char *p = results; p != NULL && *p != '\0'; p++) {
		if (quoted) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == '"' && depth == 0)
			quoted = true;
		if (depth > 0 || quoted)
			continue;
		if (*p == ';') {
			start = true;
			continue;
		}
		if (*p == ' ')
			continue;
		if (start && strncasecmp(p, "arc=", 4) == 0) {
			static const char *const names[] = { "pass", "fail", "none" };
			for (size_t k = 0; k < 3; k++) {
				size_t n = strlen(names[k]);
				if (strncasecmp(p + 4, names[k], n) == 0 &&
				    strchr(" ;(", p[4 + n]) != NULL)
					return names[k];
			}
		}
		start = false;
	}
	return NULL;
}

/*
 * next_set - the instance and cv= of the set we add. A message without a chain
 * gets i=1, cv=none. One with a chain gets i=N+1 and the result smtpd found for
 * it when it arrived (our Authentication-Results' arc=); it is not sealed when
 * there is no such result (the chain was not validated: a seal must say what was
 * found, RFC 8617 5.1), when its newest seal says cv=fail already (nothing can be
 * added to a failed chain, 5.1 step 1), or when it has 50 sets (4.2.1).
 * Returns 0 (seal), or -1 (do not) with the reason in why.
 */
static int
next_set(const struct reading *m, const char *results, unsigned *instance, const char **cv,
    char *why, size_t whylen)
{
	struct arc_sets *sets;
	const char *found;
	int rc = -1;

	*instance = 1;
	*cv = "none";
	if (!arc_has_chain(&m->fields))
		return 0;
	if ((found = arc_result_of(results)) == NULL) {
		snprintf(why, whylen, "the chain was not validated when it arrived");
		return -1;
	}
	if ((sets = malloc(sizeof *sets)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	int whole = arc_sets_find(&m->fields, sets) == 0 && sets->n > 0;
	if (whole) {
		struct dkim_sig *top = malloc(sizeof *top);
		size_t len;
		const char *v = arc_field_value(sets->v[sets->n].as, &len);
		char e[96];
		bool failed = top != NULL && dkim_sig_parse_kind(v, len, DKIM_SIG_SEAL, top, e,
		    sizeof e) == 0 && top->cv == ARC_CV_FAIL;
		free(top);
		if (failed) {
			snprintf(why, whylen, "its newest seal says cv=fail");
			goto out;
		}
	}
	if (sets->n >= ARC_INSTANCE_MAX) {
		snprintf(why, whylen, "it has %d sets", ARC_INSTANCE_MAX);
		goto out;
	}
	*instance = sets->n + 1;
	*cv = whole && strcmp(found, "pass") == 0 ? "pass" : "fail";
	rc = 0;
out:
	free(sets);
	return rc;
}

static int
arc_fields(struct accounts *acct, const struct sign_job *j, const struct reading *m,
    struct buf *prefix)
{
	struct dkim_signer s[2];
	char found[256], why[96];
	struct buf results = { 0 };
	const char *ours = our_results(m, j->hostname, &results), *cv;
	unsigned instance;

	if (next_set(m, ours, &instance, &cv, why, sizeof why) < 0) {
		ev_info("arc-unsealed", KS("qid", j->env->id), KS("reason", why));
		goto out;
	}
	/* Twice at most, as dkim_fields: again afresh if a kept selector stopped signing. */
	for (int attempt = 0; attempt < 2; attempt++) {
		int n = signing_domain(acct, j->forward_domain, j->now, found, sizeof found, s);
		if (n <= 0)
			goto out;
		/* One seal per set: RSA where there is such a key, since more verifiers know it. */
		int pick = 0;
		for (int i = 0; i < n; i++)
			if (s[i].alg == DKIM_RSA)
				pick = i;
		struct key_ref k = { acct, found, s[pick].selector, DKIM_SIGN_FAILED };
		struct arc_req r = { j->hostname, ours, dkim_alg_sig_name(s[pick].alg), found,
			s[pick].selector, (long long)j->now, m->bh, instance, cv };
		size_t before = prefix->len;
		if (arc_seal(&m->fields, &r, sign_with, &k, prefix) == 0) {
			ev_info("arc-seal", KS("qid", j->env->id), KN("i", instance), KS("cv", cv),
			    KS("d", found), KS("s", s[pick].selector));
			break;
		}
		prefix->len = before;
		if (k.st == DKIM_SIGN_NO_KEY && attempt == 0) {
			accounts_dkim_forget(acct, found);
			continue;
		}
		ev_warn("arc-seal-failed", KS("qid", j->env->id), KS("d", found));
		break;
	}
out:
	buf_free(&results);
	return 0;
}

bool
outbound_sign_wanted(const struct config *cfg, struct sign_job *j)
{
	j->own = own_mail(cfg, j->env);
	snprintf(j->hostname, sizeof j->hostname, "%s", cfg->hostname);
	return cfg->dkim_sign && (j->own || j->forward_domain != NULL);
}

/* tried_before - whether a recipient of env has had an attempt: only then can there be a sig/<id>. */
static bool
tried_before(const struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].attempts > 0)
			return true;
	return false;
}

/*
 * kept_read - the signatures of an earlier attempt at j's message (sig/<id>: "t", a
 * space, the Unix time they were made, a newline, then the fields), into prefix,
 * when they are younger than KEEP_FOR.
 */
static bool
kept_read(const struct sign_job *j, struct buf *prefix)
{
	struct buf b = { 0 };
	long long t = 0;
	size_t i = 2;
	bool ok = false;

	if (tried_before(j->env) && spool_read_sig(j->queue_dir, j->env->id, &b) == 0 && b.len > 2 &&
	    memcmp(b.data, "t ", 2) == 0) {
		for (; i < b.len && i < 22 && b.data[i] >= '0' && b.data[i] <= '9'; i++)
			t = t * 10 + (b.data[i] - '0');
		ok = i > 2 && i < b.len && b.data[i] == '\n' && t <= (long long)j->now &&
		    (long long)j->now - t < KEEP_FOR &&
		    buf_append(prefix, b.data + i + 1, b.len - i - 1) == 0;
	}
	buf_free(&b);
	return ok;
}

void
outbound_sign_keep(const struct sign_job *j, const struct buf *prefix)
{
	struct buf b = { 0 };
	char head[32];
	int n = snprintf(head, sizeof head, "t %lld\n", (long long)j->now);

	if (buf_append(&b, head, (size_t)n) < 0 || buf_append(&b, prefix->data, prefix->len) < 0 ||
	    spool_write_sig(j->queue_dir, j->env->id, b.data, b.len) < 0)
		ev_warn("dkim-not-kept", KS("qid", j->env->id), KS("error", strerror(errno)));
	buf_free(&b);
}

int
outbound_sign(struct accounts *acct, const struct sign_job *j, struct buf *prefix)
{
	struct reading m = { 0 };
	bool whole = false;
	int rc = 0;

	if (j->own && kept_read(j, prefix)) {
		ev_info("dkim-kept", KS("qid", j->env->id));
		return 0;
	}
	if (read_message(j, &m) < 0) {
		if (errno == EFBIG) {
			ev_warn("dkim-unsigned", KS("qid", j->env->id), KS("reason", "header block too long"),
			    KN("limit", HEADER_MAX));
		} else {
			rc = -1;
		}
		goto out;
	}
	if (j->own) {
		rc = dkim_fields(acct, j, &m, prefix, &whole);
		if (rc == 0 && whole && prefix->len > 0)
			rc = 1;
	} else {
		rc = arc_fields(acct, j, &m, prefix);
	}
out:
	buf_free(&m.hdr);
	dkim_fields_free(&m.fields);
	return rc;
}
