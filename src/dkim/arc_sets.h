/*
 * arc_sets.h - the ARC sets of a header block (RFC 8617 4.1, 5.2 steps 1-3): which
 * field is the ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal of
 * each instance, and whether they form a chain (1 to N, each complete, none twice,
 * N at most 50). Pure; shared by the validator and the sealer.
 */
#ifndef MAILROOM_ARC_SETS_H
#define MAILROOM_ARC_SETS_H

#include <stddef.h>

#include "dkim/dkim_fields.h"
#include "dkim/dkim_sig.h"

struct arc_set {
	const struct dkim_field *aar, *ams, *as;
};

struct arc_sets {
	struct arc_set v[ARC_INSTANCE_MAX + 1]; /* v[1..n] */
	unsigned n;       /* the highest instance seen (at most ARC_INSTANCE_MAX) */
	unsigned fields;  /* ARC fields seen */
	char why[96];     /* what is wrong with the chain, when arc_sets_find says -1 */
};

/*
 * arc_sets_find - the ARC fields of hdr into s. Returns 0: no ARC fields (n = 0) or a
 * chain of n complete sets; -1: ARC fields that do not form one (why says what).
 */
int arc_sets_find(const struct dkim_fields *hdr, struct arc_sets *s);

/* arc_field_value - the value of field f (after the colon) and its length. */
const char *arc_field_value(const struct dkim_field *f, size_t *len);

/* arc_aar_instance - the i= that opens an ARC-Authentication-Results value, or 0. */
unsigned arc_aar_instance(const char *v, size_t len);

#endif
