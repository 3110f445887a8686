/*
 * dkim_sig.h - the value of a DKIM-Signature field read into a struct (RFC 6376
 * 3.5; pure). Anything that makes the signature unusable (a missing required tag,
 * a duplicate, v= not 1, an algorithm or canonicalization not known, i= outside
 * d=, h= without From, bad numbers or base64) is a permerror with its reason.
 * The same reader takes ARC's two signature fields (RFC 8617 4.1.2, 4.1.3), told
 * which by a kind: their i= is the instance, they have no v=, and the seal has cv=
 * and no h=, bh= or c= (always relaxed).
 */
#ifndef MAILROOM_DKIM_SIG_H
#define MAILROOM_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DKIM_NAME_LEN 254  /* a domain name as text, and its NUL */
#define DKIM_AUID_LEN 320  /* i=: local-part (64), '@', domain */
#define DKIM_B_MAX 1024    /* signature octets: RSA 8192 is 1024 */

enum dkim_sig_alg { DKIM_RSA_SHA256, DKIM_RSA_SHA1, DKIM_ED25519_SHA256 };

enum dkim_sig_kind { DKIM_SIG_DKIM, DKIM_SIG_AMS, DKIM_SIG_SEAL };
#define ARC_INSTANCE_MAX 50 /* RFC 8617 4.2.1 */

enum arc_cv { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

struct dkim_sig {
	enum dkim_sig_alg alg;
	char a[32];                /* a= as written (for Authentication-Results) */
	char d[DKIM_NAME_LEN];     /* the signing domain, lower-cased */
	char s[DKIM_NAME_LEN];     /* the selector */
	char i[DKIM_AUID_LEN];     /* i=, or "@" and d= when absent */
	bool simple_header, simple_body;
	bool has_l, has_t, has_x;
	uint64_t l, t, x;
	size_t h, h_len;           /* h= in the parsed text (offsets) */
	size_t b_val, b_end;       /* the b= value in the text, up to ';' or the end */
	unsigned char b[DKIM_B_MAX];
	size_t b_len;
	unsigned char bh[64];
	size_t bh_len;
	char b_start[9];           /* the first 8 characters of b= (RFC 6008 header.b) */
	unsigned instance;         /* ARC: i=, 1 to ARC_INSTANCE_MAX */
	enum arc_cv cv;            /* ARC-Seal: cv= */
};

/*
 * dkim_sig_parse - text[0..len) (the field's value, after the colon) into sig.
 * Returns 0, or -1 with the reason in why; d= and s= (and so much else as was
 * read) are set even then, for the report.
 */
int dkim_sig_parse(const char *text, size_t len, struct dkim_sig *sig, char *why,
    size_t whylen);
/* dkim_sig_parse_kind - the same for a field of the given kind (i= of ARC: sig->i is "@" d=). */
int dkim_sig_parse_kind(const char *text, size_t len, enum dkim_sig_kind kind,
    struct dkim_sig *sig, char *why, size_t whylen);

/* dkim_domain_within - whether sub is dom or a subdomain of it (any case). */
bool dkim_domain_within(const char *sub, const char *dom);

#endif
