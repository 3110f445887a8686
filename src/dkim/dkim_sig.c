/* dkim_sig.c - reading a DKIM-Signature value (RFC 6376 3.5, RFC 8463, RFC 8301). */
#include "dkim/dkim_sig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_tags.h"

static const char *const required_dkim[] = { "v", "a", "b", "bh", "d", "h", "s", NULL };
static const char *const required_ams[] = { "i", "a", "b", "bh", "d", "h", "s", NULL };
static const char *const required_seal[] = { "i", "a", "b", "cv", "d", "s", NULL };

/* name_ok - a domain name or selector: LDH labels (and '_'), none empty, < 254 octets. */
static bool
name_ok(const char *p)
{
	size_t n = strlen(p), label = 0;

	if (n == 0 || n >= DKIM_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static void
lower(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* number - 1 to digits digits into *out; past 64 bits, UINT64_MAX when saturate, else false. */
static bool
number(const struct dkim_tags *t, const struct dkim_tag *tag, size_t digits, bool saturate,
    uint64_t *out)
{
	uint64_t v = 0;

	if (tag->val_len == 0 || tag->val_len > digits)
		return false;
	for (size_t k = 0; k < tag->val_len; k++) {
		char c = t->text[tag->val + k];
		if (c < '0' || c > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10) {
			if (!saturate)
				return false;
			v = UINT64_MAX;
			continue;
		}
		v = v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return true;
}

bool
dkim_domain_within(const char *sub, const char *dom)
{
	size_t ns = strlen(sub), nd = strlen(dom);

	if (ns < nd || strcasecmp(sub + ns - nd, dom) != 0)
		return false;
	return ns == nd || sub[ns - nd - 1] == '.';
}

/* canon - c= into the two flags: "simple" or "relaxed", then optionally "/" and the body's. */
static int
canon(const struct dkim_tags *t, const struct dkim_tag *tag, struct dkim_sig *sig)
{
	char c[32], *slash;

	if (dkim_tag_copy(t, tag, c, sizeof c) < 0)
		return -1;
	slash = strchr(c, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (strcmp(c, "simple") != 0 && strcmp(c, "relaxed") != 0)
		return -1;
	sig->simple_header = strcmp(c, "simple") == 0;
	sig->simple_body = true;
	if (slash != NULL) {
		if (strcmp(slash, "simple") != 0 && strcmp(slash, "relaxed") != 0)
			return -1;
		sig->simple_body = strcmp(slash, "simple") == 0;
	}
	return 0;
}

/* auid - i=: [local-part] "@" domain, the domain d= or under it. */
static int
auid(const struct dkim_tags *t, const struct dkim_tag *tag, struct dkim_sig *sig, char *why,
    size_t whylen)
{
	if (dkim_tag_copy(t, tag, sig->i, sizeof sig->i) < 0) {
		snprintf(why, whylen, "i= too long");
		return -1;
	}
	const char *at = strrchr(sig->i, '@');
	if (at == NULL || !name_ok(at + 1)) {
		snprintf(why, whylen, "i= is not an identity");
		return -1;
	}
	if (!dkim_domain_within(at + 1, sig->d)) {
		snprintf(why, whylen, "i= not within d=");
		return -1;
	}
	return 0;
}

static int
alg(const struct dkim_tags *t, const struct dkim_tag *tag, struct dkim_sig *sig)
{
	if (dkim_tag_copy(t, tag, sig->a, sizeof sig->a) < 0)
		return -1;
	lower(sig->a);
	if (strcmp(sig->a, "rsa-sha256") == 0)
		sig->alg = DKIM_RSA_SHA256;
	else if (strcmp(sig->a, "rsa-sha1") == 0)
		sig->alg = DKIM_RSA_SHA1;
	else if (strcmp(sig->a, "ed25519-sha256") == 0)
		sig->alg = DKIM_ED25519_SHA256;
	else
		return -1;
	return 0;
}

/* arc_tags - i= as the instance, and the seal's cv=, which no other tag may stand beside. */
static int
arc_tags(const struct dkim_tags *t, enum dkim_sig_kind kind, struct dkim_sig *sig, char *why,
    size_t whylen)
{
	uint64_t n;
	char cv[8];

	if (!number(t, dkim_tags_find(t, "i"), 2, false, &n) || n < 1 || n > ARC_INSTANCE_MAX) {
		snprintf(why, whylen, "bad i= (an instance 1 to %d)", ARC_INSTANCE_MAX);
		return -1;
	}
	sig->instance = (unsigned)n;
	snprintf(sig->i, sizeof sig->i, "@%s", sig->d);
	if (kind != DKIM_SIG_SEAL)
		return 0;
	if (dkim_tags_find(t, "h") != NULL) {
		snprintf(why, whylen, "h= in an ARC-Seal");
		return -1;
	}
	if (dkim_tag_copy(t, dkim_tags_find(t, "cv"), cv, sizeof cv) < 0)
		cv[0] = '\0';
	if (strcmp(cv, "none") == 0)
		sig->cv = ARC_CV_NONE;
	else if (strcmp(cv, "pass") == 0)
		sig->cv = ARC_CV_PASS;
	else if (strcmp(cv, "fail") == 0)
		sig->cv = ARC_CV_FAIL;
	else {
		snprintf(why, whylen, "bad cv=");
		return -1;
	}
	return 0;
}

int
dkim_sig_parse(const char *text, size_t len, struct dkim_sig *sig, char *why, size_t whylen)
{
	return dkim_sig_parse_kind(text, len, DKIM_SIG_DKIM, sig, why, whylen);
}

int
dkim_sig_parse_kind(const char *text, size_t len, enum dkim_sig_kind kind,
    struct dkim_sig *sig, char *why, size_t whylen)
{
	struct dkim_tags t;
	const struct dkim_tag *tag;
	const char *const *required = kind == DKIM_SIG_DKIM ? required_dkim :
	    kind == DKIM_SIG_AMS ? required_ams : required_seal;

	memset(sig, 0, sizeof *sig);
	snprintf(why, whylen, "bad signature");
	if (dkim_tags_parse(text, len, &t, why, whylen) < 0)
		return -1;
	/* d= and s= first: the report names them even when the rest is bad. */
	if ((tag = dkim_tags_find(&t, "d")) != NULL &&
	    (dkim_tag_copy(&t, tag, sig->d, sizeof sig->d) < 0 || !name_ok(sig->d))) {
		sig->d[0] = '\0';
		snprintf(why, whylen, "bad d=");
		return -1;
	}
	lower(sig->d);
	if ((tag = dkim_tags_find(&t, "s")) != NULL &&
	    (dkim_tag_copy(&t, tag, sig->s, sizeof sig->s) < 0 || !name_ok(sig->s))) {
		sig->s[0] = '\0';
		snprintf(why, whylen, "bad s=");
		return -1;
	}
	for (size_t k = 0; required[k] != NULL; k++) {
		if (dkim_tags_find(&t, required[k]) == NULL) {
			snprintf(why, whylen, "no %s= tag", required[k]);
			return -1;
		}
	}
	if (kind == DKIM_SIG_DKIM && !dkim_tag_is(&t, dkim_tags_find(&t, "v"), "1")) {
		snprintf(why, whylen, "v= is not 1");
		return -1;
	}
	if (alg(&t, dkim_tags_find(&t, "a"), sig) < 0) {
		snprintf(why, whylen, "unknown algorithm a=");
		return -1;
	}
	if (kind == DKIM_SIG_SEAL) {
		sig->simple_header = sig->simple_body = false;
	} else if ((tag = dkim_tags_find(&t, "c")) != NULL) {
		if (canon(&t, tag, sig) < 0) {
			snprintf(why, whylen, "unknown canonicalization c=");
			return -1;
		}
	} else {
		sig->simple_header = sig->simple_body = true;
	}
	if (kind != DKIM_SIG_DKIM) {
		if (arc_tags(&t, kind, sig, why, whylen) < 0)
			return -1;
	} else if ((tag = dkim_tags_find(&t, "i")) != NULL) {
		if (auid(&t, tag, sig, why, whylen) < 0)
			return -1;
	} else {
		snprintf(sig->i, sizeof sig->i, "@%s", sig->d);
	}
	if (kind != DKIM_SIG_SEAL) {
		tag = dkim_tags_find(&t, "h");
		sig->h = tag->val;
		sig->h_len = tag->val_len;
		if (!dkim_list_has(text + sig->h, sig->h_len, "from", true)) {
			snprintf(why, whylen, "h= does not sign From");
			return -1;
		}
	}
	if ((tag = dkim_tags_find(&t, "q")) != NULL &&
	    !dkim_list_has(text + tag->val, tag->val_len, "dns/txt", false)) {
		snprintf(why, whylen, "no known query method q=");
		return -1;
	}
	if ((tag = dkim_tags_find(&t, "l")) != NULL) {
		/* More digits than 64 bits hold: more than any body. */
		if (!number(&t, tag, 76, true, &sig->l)) {
			snprintf(why, whylen, "bad l=");
			return -1;
		}
		sig->has_l = true;
	}
	if ((tag = dkim_tags_find(&t, "t")) != NULL) {
		if (!number(&t, tag, 12, false, &sig->t)) {
			snprintf(why, whylen, "bad t=");
			return -1;
		}
		sig->has_t = true;
	}
	if ((tag = dkim_tags_find(&t, "x")) != NULL) {
		if (!number(&t, tag, 12, false, &sig->x)) {
			snprintf(why, whylen, "bad x=");
			return -1;
		}
		sig->has_x = true;
		if (sig->has_t && sig->x < sig->t) {
			snprintf(why, whylen, "x= before t=");
			return -1;
		}
	}
	long n;
	if (kind != DKIM_SIG_SEAL) {
		tag = dkim_tags_find(&t, "bh");
		n = dkim_base64_decode(text + tag->val, tag->val_len, sig->bh, sizeof sig->bh);
		if (n <= 0) {
			snprintf(why, whylen, "bad bh=");
			return -1;
		}
		sig->bh_len = (size_t)n;
	}
	tag = dkim_tags_find(&t, "b");
	/* Stripping b= takes all after its '=' (FWS too), to the ';' or the end. */
	sig->b_val = tag->val;
	while (sig->b_val > 0 && text[sig->b_val - 1] != '=')
		sig->b_val--;
	const char *semi = memchr(text + tag->val, ';', len - tag->val);
	sig->b_end = semi ? (size_t)(semi - text) : len;
	n = dkim_base64_decode(text + tag->val, tag->val_len, sig->b, sizeof sig->b);
	if (n <= 0) {
		snprintf(why, whylen, "bad b=");
		return -1;
	}
	sig->b_len = (size_t)n;
	size_t k = 0;
	for (size_t j = 0; j < tag->val_len && k < sizeof sig->b_start - 1; j++) {
		char c = text[tag->val + j];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			sig->b_start[k++] = c;
	}
	sig->b_start[k] = '\0';
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	return 0;
}
