/*
 * dmarc_record.h - a DMARC policy record (RFC 9989 4.7, 4.8) parsed from the text
 * of one TXT record (pure). Tags of RFC 7489 that RFC 9989 removed (pct, rf, ri)
 * and unknown tags are ignored; a tag whose value is malformed keeps its default,
 * except p, sp and np, whose malformed values make the record need its rua (see
 * dmarc_record_effective).
 */
#ifndef MAILROOM_DMARC_RECORD_H
#define MAILROOM_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

enum dmarc_policy {
	DMARC_POLICY_UNSET = 0, /* the tag is absent (in a record); nothing to apply (in a result) */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_psd {
	DMARC_PSD_U = 0, /* the default: the tree walk decides */
	DMARC_PSD_Y,     /* a public suffix domain */
	DMARC_PSD_N,     /* an organizational domain */
};

#define DMARC_URIS_MAX 1024

struct dmarc_record {
	enum dmarc_policy p, sp, np; /* UNSET when absent or malformed */
	bool policy_malformed;       /* p, sp or np was present with a bad value */
	bool adkim_strict, aspf_strict;
	enum dmarc_psd psd;
	bool testing;                /* t=y */
	bool rua_valid;              /* rua holds at least one syntactically valid URI */
	char rua[DMARC_URIS_MAX];    /* as published, trimmed; cut at a comma if too long */
	char ruf[DMARC_URIS_MAX];
	char fo[16];                 /* as published when valid, else "0" */
};

/*
 * dmarc_record_parse - txt[0..len) as a DMARC record. Returns 1 (a DMARC record:
 * v=DMARC1 first), or 0 (not one: the walk discards it). Never fails otherwise:
 * syntax errors after the version fall back to defaults (RFC 9989 4.8).
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *out);

/*
 * dmarc_record_effective - the record as a receiver applies it (RFC 9989 4.10.1):
 * p absent -> p=none; p, sp or np malformed -> with a valid rua, as if the record
 * were "p=none" (with its reporting tags); without one, the record cannot be
 * applied: returns -1. Otherwise 0, eff filled.
 */
int dmarc_record_effective(const struct dmarc_record *rec, struct dmarc_record *eff);

/* dmarc_policy_name - "none", "quarantine", "reject"; "" for UNSET. */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
