/*
 * accounts_srs.c - the account store's part in SRS (srs/srs.h): the secret, made
 * once with the schema (accounts_schema.c) and known only to the processes that
 * open the store (lookupd, the CLI); the SRS sender of
 * forwarded mail; and the resolution of SRS addresses of hosted domains back to
 * the original sender, which is how bounces of forwarded mail find their way.
 */
#include "accounts.h"
#include "accounts_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db/db.h"
#include "lookup/lookup_client.h"
#include "srs/srs.h"
#include "util/log.h"

/* An SRS1 address reverses to an SRS0 address, which may be ours too: no deeper. */
#define SRS_HOPS_MAX 2

/* secret_get - the secret into out: 0, or -1 (no row: a store never opened with create). */
static int
secret_get(struct db *db, unsigned char out[SRS_SECRET_LEN])
{
	struct db_stmt *s = db_query(db, "SELECT secret FROM srs_secret WHERE id = 1", "");
	int r = -1;

	if (s != NULL && db_step(s) == DB_ROW &&
	    db_col_blob(s, 0, out, SRS_SECRET_LEN) == SRS_SECRET_LEN)
		r = 0;
	db_done(s);
	return r;
}

int
accounts_srs_forward(struct accounts *a, const char *sender, const char *srs_domain,
    char *out, size_t outlen)
{
	unsigned char secret[SRS_SECRET_LEN];
	struct lookup_client *c = accounts_lookup(a);
	struct db *db = accounts_db(a);

	if (c != NULL)
		return lookup_srs_forward(c, sender, srs_domain, out, outlen);
	snprintf(out, outlen, "%s", sender);
	const char *domain = address_domain(sender);
	if (sender[0] == '\0' || domain == NULL || accounts_domain_is_local(a, domain) ||
	    !accounts_domain_is_local(a, srs_domain))
		return 0;
	if (db == NULL || secret_get(db, secret) < 0) {
		ev_err("srs-error", KS("error", "no secret in the account store"));
		return -1;
	}
	char srs[ADDR_MAX + 1];
	enum srs_status st = srs_forward(secret, sizeof secret, time(NULL), sender, srs_domain,
	    srs, sizeof srs);
	explicit_bzero(secret, sizeof secret);
	if (st == SRS_FAILED)
		return -1;
	if (st != SRS_OK) {
		ev_info("srs-kept", KA("from", sender), KS("reason", srs_status_text(st)));
		return 0;
	}
	if (strlen(srs) >= outlen)
		return 0;
	snprintf(out, outlen, "%s", srs);
	return 1;
}

/* is_srs_local - whether local part of addr starts with SRS0= or SRS1=, in any case. */
static bool
is_srs_local(const char *addr)
{
	return strncasecmp(addr, "SRS0=", 5) == 0 || strncasecmp(addr, "SRS1=", 5) == 0;
}

/* exact_name - 1 when a user or alias is named addr (canonical), 0 not, -1 error. */
static int
exact_name(struct db *db, const char *addr)
{
	return db_int(db, NULL, "SELECT 1 FROM users WHERE address = ?1"
	    " UNION ALL SELECT 1 FROM aliases WHERE source = ?1 LIMIT 1", "t", addr);
}

/* add_remote - out holds the one target addr (a remote address). */
static enum resolve_status
add_remote(struct target_list *out, const char *addr)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 4;
		struct target *v = reallocarray(out->v, cap, sizeof *v);
		if (v == NULL)
			return RESOLVE_TEMPFAIL;
		out->v = v;
		out->cap = cap;
	}
	struct target *t = &out->v[out->n++];
	memset(t, 0, sizeof *t);
	t->kind = TARGET_REMOTE;
	snprintf(t->addr, sizeof t->addr, "%s", addr);
	return RESOLVE_OK;
}

bool
accounts_srs_resolve(struct accounts *a, const char *address, struct target_list *out,
    enum resolve_status *st)
{
	struct db *db = accounts_db(a);
	unsigned char secret[SRS_SECRET_LEN];
	char canon[ADDR_MAX + 1], cur[ADDR_MAX + 1], orig[ADDR_MAX + 1];

	if (db == NULL || !is_srs_local(address) ||
	    address_canonical(address, canon, sizeof canon, false) < 0 ||
	    !accounts_domain_is_local(a, address_domain(canon)))
		return false;
	int named = exact_name(db, canon);
	if (named != 0) {
		if (named < 0)
			*st = RESOLVE_TEMPFAIL;
		return named < 0;
	}
	if (secret_get(db, secret) < 0) {
		ev_err("srs-error", KS("error", "no secret in the account store"));
		*st = RESOLVE_TEMPFAIL;
		return true;
	}
	snprintf(cur, sizeof cur, "%s", address);
	for (int hop = 0;; hop++) {
		struct mailbox mb;
		enum srs_status s = srs_reverse(secret, sizeof secret, time(NULL), cur, orig,
		    sizeof orig);
		if (s == SRS_OK && address_parse(orig, strlen(orig), &mb, ADDR_UTF8) < 0)
			s = SRS_MALFORMED;
		if (s != SRS_OK) {
			ev_info("srs-refused", KA("to", address), KS("reason", srs_status_text(s)));
			*st = s == SRS_FAILED ? RESOLVE_TEMPFAIL : RESOLVE_NO_SUCH_USER;
			break;
		}
		const char *domain = address_domain(orig);
		if (!accounts_domain_is_local(a, domain)) {
			*st = add_remote(out, orig);
			break;
		}
		/* Our own domain once more: SRS1 naming us as the first forwarder, or a
		 * sender here; the usual way from there. */
		if (!is_srs_local(orig) || hop + 1 >= SRS_HOPS_MAX) {
			*st = accounts_resolve(a, orig, out);
			break;
		}
		snprintf(cur, sizeof cur, "%s", orig);
	}
	explicit_bzero(secret, sizeof secret);
	return true;
}
