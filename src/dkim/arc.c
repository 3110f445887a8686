/*
 * arc.c - building the next ARC set of a message (RFC 8617 4.1, 5.1).
 */
#include "dkim/arc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/arc_sets.h"
#include "dkim/dkim_canon.h"
#include "dkim/dkim_sign.h"

#define SIG_B64_MAX 1024

bool
arc_has_chain(const struct dkim_fields *hdr)
{
	for (size_t i = 0; i < hdr->n; i++)
		if (dkim_field_is(&hdr->v[i], "ARC-Seal") ||
		    dkim_field_is(&hdr->v[i], "ARC-Message-Signature") ||
		    dkim_field_is(&hdr->v[i], "ARC-Authentication-Results"))
			return true;
	return false;
}

int
arc_seal(const struct dkim_fields *hdr, const struct arc_req *r, dkim_sign_fn sign,
    void *arg, struct buf *out)
{
	struct buf aar = { 0 }, ams = { 0 }, as = { 0 }, data = { 0 };
	char sig[SIG_B64_MAX], num[32], itag[16];
	struct arc_sets *sets = NULL;
	bool whole = strcmp(r->cv, "pass") == 0;
	size_t col;
	int rc = -1;

	if (r->instance < 1 || r->instance > ARC_INSTANCE_MAX || (r->instance == 1) !=
	    (strcmp(r->cv, "none") == 0))
		return -1;
	/* cv=pass: the seal covers the chain before it, which must be whole. */
	if (whole && ((sets = malloc(sizeof *sets)) == NULL || arc_sets_find(hdr, sets) < 0 ||
	    sets->n != r->instance - 1))
		goto out;
	snprintf(itag, sizeof itag, "i=%u", r->instance);
	if (buf_printf(&aar, "ARC-Authentication-Results: %s; %s;\n\t%s\n", itag,
	    r->authserv_id, r->results ? r->results : "none") < 0)
		goto out;

	struct dkim_sign_req mreq = { "ARC-Message-Signature", itag, r->alg, r->domain,
		r->selector, r->t, 0, r->bh };
	if (dkim_sign_build(hdr, &mreq, &ams, &data) < 0 ||
	    sign(arg, data.data, data.len, sig, sizeof sig) < 0 ||
	    dkim_sign_finish(&ams, sig) < 0)
		goto out;

	/* The seal covers the sets in order (AAR, AMS, AS; its own without b=); always relaxed. */
	if (buf_printf(&as, "ARC-Seal: %s;", itag) < 0)
		goto out;
	col = as.len;
	snprintf(num, sizeof num, "%lld", r->t);
	if (dkim_field_add_tag(&as, &col, "a", r->alg, 0) < 0 ||
	    dkim_field_add_tag(&as, &col, "cv", r->cv, 0) < 0 ||
	    dkim_field_add_tag(&as, &col, "d", r->domain, 0) < 0 ||
	    dkim_field_add_tag(&as, &col, "s", r->selector, 0) < 0 ||
	    dkim_field_add_tag(&as, &col, "t", num, 0) < 0 ||
	    buf_append(&as, "\n\tb=", 4) < 0)
		goto out;
	buf_reset(&data);
	for (unsigned k = 1; whole && k < r->instance; k++) {
		const struct arc_set *set = &sets->v[k];
		if (dkim_canon_header(set->aar->p, set->aar->len, true, &data) < 0 ||
		    dkim_canon_header(set->ams->p, set->ams->len, true, &data) < 0 ||
		    dkim_canon_header(set->as->p, set->as->len, true, &data) < 0)
			goto out;
	}
	if (dkim_canon_header(aar.data, aar.len, true, &data) < 0 ||
	    dkim_canon_header(ams.data, ams.len, true, &data) < 0 ||
	    dkim_canon_header(as.data, as.len, false, &data) < 0 ||
	    sign(arg, data.data, data.len, sig, sizeof sig) < 0 ||
	    dkim_sign_finish(&as, sig) < 0)
		goto out;
	if (buf_append(out, as.data, as.len) < 0 || buf_append(out, ams.data, ams.len) < 0 ||
	    buf_append(out, aar.data, aar.len) < 0)
		goto out;
	rc = 0;
out:
	free(sets);
	explicit_bzero(sig, sizeof sig);
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&as);
	buf_free(&data);
	return rc;
}
