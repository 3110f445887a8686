/*
 * accounts_dkim.c - the DKIM keys of the hosted domains in the account store
 * (table dkim_keys): made, listed with their states, and used to sign. Only a
 * local handle (lookupd, the CLI) reads private keys; on the roles' remote
 * handle the signers and signatures come from lookupd (LK_DKIM_KEYS, LK_DKIM_SIGN).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "accounts_int.h"
#include "db/db.h"
#include "dkim/dkim_keycache.h"
#include "lookup/lookup_client.h"
#include "util/log.h"
#include "util/lru_slots.h"

/*
 * How long a sign thread keeps a domain's signing selectors (LK_DKIM_KEYS) before
 * it asks again. A key that stopped signing in between makes lookupd answer "no
 * such key", and the caller asks again at once (accounts_dkim_forget); a key that
 * started signing is used within this time.
 */
#define SIGNERS_KEEP 60

struct signers_entry {
	int n;
	struct dkim_signer v[DKIM_ALG_COUNT];
};

/* remote_signers - accounts_dkim_signers from lookupd, the domains that have keys kept a while. */
static int
remote_signers(struct accounts *a, const char *domain, time_t now, struct dkim_signer out[2])
{
	struct lru_slots *cache = accounts_signer_cache(a);
	struct lru_slot *victim = NULL;
	struct signers_entry *e;
	int64_t t = (int64_t)time(NULL);
	size_t len = strlen(domain);

	if (cache != NULL && (e = lru_slots_find(cache, domain, len, t, &victim)) != NULL) {
		memcpy(out, e->v, (size_t)e->n * sizeof *out);
		return e->n;
	}
	int n = lookup_dkim_keys(accounts_lookup(a), domain, now, out);
	/* Only domains with keys: a domain added (or given keys) signs at once. */
	if (n > 0 && cache != NULL && (e = malloc(sizeof *e)) != NULL) {
		e->n = n;
		memcpy(e->v, out, (size_t)n * sizeof *out);
		(void)lru_slots_fill(cache, victim, domain, len, e, t + SIGNERS_KEEP);
	}
	return n;
}

void
accounts_dkim_forget(struct accounts *a, const char *domain)
{
	struct lru_slots *cache = accounts_lookup(a) != NULL ? accounts_signer_cache(a) : NULL;

	if (cache != NULL)
		lru_slots_drop(cache, domain, strlen(domain));
}

void
dkim_key_list_free(struct dkim_key_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
db_fail(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
}

static int
not_local(char *err, size_t errlen)
{
	accounts_fail(err, errlen, ACCT_ERR_STORE,
	    "DKIM keys are read only from the account store itself");
	return -1;
}

/* canon - domain lower-cased into out (256), if it is a domain name. */
static int
canon(const char *domain, char *out)
{
	size_t n = strlen(domain);

	if (n > ADDR_DOMAIN_MAX || !domain_valid(domain))
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)domain[i]);
	return 0;
}

/* hosted - 1 when d is a hosted domain, 0 not, -1 error. */
static int
hosted(struct db *db, const char *d)
{
	return db_int(db, NULL, "SELECT 1 FROM domains WHERE name = ?1", "t", d);
}

static int
list_add(struct dkim_key_list *l, const struct dkim_key_info *k)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct dkim_key_info *v = reallocarray(l->v, cap, sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *k;
	return 0;
}

/* copy_text - column i of s into out (outlen); false when NULL or too long. */
static bool
copy_text(struct db_stmt *s, int i, char *out, size_t outlen)
{
	const char *t = db_col_text(s, i);
	if (t == NULL || strlen(t) >= outlen)
		return false;
	memcpy(out, t, strlen(t) + 1);
	return true;
}

/* load - the rows of domain d (NULL: all) appended to out, states not yet set. 0 or -1. */
static int
load(struct db *db, const char *d, struct dkim_key_list *out)
{
	struct db_stmt *s = d != NULL ?
	    db_query(db, "SELECT domain, selector, algorithm, public_b64, created, sign_from"
	    " FROM dkim_keys WHERE domain = ?1 ORDER BY domain, algorithm, sign_from, created,"
	    " selector", "t", d) :
	    db_query(db, "SELECT domain, selector, algorithm, public_b64, created, sign_from"
	    " FROM dkim_keys ORDER BY domain, algorithm, sign_from, created, selector", "");
	int rc = DB_FAIL;

	while (s != NULL && (rc = db_step(s)) == DB_ROW) {
		struct dkim_key_info k = { 0 };
		char alg[16];
		if (!copy_text(s, 0, k.domain, sizeof k.domain) ||
		    !copy_text(s, 1, k.selector, sizeof k.selector) ||
		    !copy_text(s, 2, alg, sizeof alg) || !dkim_alg_parse(alg, &k.alg) ||
		    !copy_text(s, 3, k.public_b64, sizeof k.public_b64)) {
			ev_warn("store-error", KS("what", "dkim-keys"), KS("error", "a malformed row skipped"));
			continue;
		}
		k.created = (time_t)db_col_int(s, 4);
		k.sign_from = (time_t)db_col_int(s, 5);
		if (list_add(out, &k) < 0) {
			rc = DB_FAIL;
			break;
		}
	}
	db_done(s);
	return rc == DB_DONE ? 0 : -1;
}

int
accounts_dkim_list(struct accounts *a, const char *domain, time_t now,
    struct dkim_key_list *out, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	char d[256];

	if (db == NULL)
		return not_local(err, errlen);
	if (domain != NULL) {
		int h = canon(domain, d) < 0 ? 0 : hosted(db, d);
		if (h < 0)
			return db_fail(a, err, errlen);
		if (h == 0) {
			accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND,
			    "no such domain: %s", domain);
			return -1;
		}
	}
	size_t n0 = out->n;
	if (load(db, domain != NULL ? d : NULL, out) < 0) {
		out->n = n0;
		return db_fail(a, err, errlen);
	}
	dkim_key_states(out->v + n0, out->n - n0, now);
	return 0;
}

/* One key being made: its PEM is zeroed whatever happens. */
struct new_key {
	enum dkim_alg alg;
	char pem[DKIM_PEM_MAX];
	char pub[DKIM_PUB_MAX];
	char selector[64];
};

static int
insert(struct db *db, const char *d, const struct new_key *k, time_t created, time_t sign_from)
{
	return db_run(db, "INSERT INTO dkim_keys(domain, selector, algorithm, private_pem,"
	    " public_b64, created, sign_from) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", "tttttii", d,
	    k->selector, dkim_alg_name(k->alg), k->pem, k->pub, (int64_t)created,
	    (int64_t)sign_from);
}

/* store - name the keys (unique in the domain) and insert them, in one transaction. */
static int
store(struct accounts *a, const char *d, struct new_key *keys, size_t nkeys, time_t sign_from,
    char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	struct dkim_key_list have = { 0 };
	const char **taken = NULL;
	time_t now = time(NULL);
	int rc = -1;

	/* One writer: two rotations at once must not pick the same selector. */
	if (db_begin(db) < 0)
		return db_fail(a, err, errlen);
	int h = hosted(db, d);
	if (h <= 0) {
		if (h < 0)
			db_fail(a, err, errlen);
		else
			accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such domain: %s", d);
		goto out;
	}
	if (load(db, d, &have) < 0) {
		db_fail(a, err, errlen);
		goto out;
	}
	if ((taken = calloc(have.n + nkeys + 1, sizeof *taken)) == NULL) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
		goto out;
	}
	size_t ntaken = 0;
	for (size_t i = 0; i < have.n; i++)
		taken[ntaken++] = have.v[i].selector;
	for (size_t i = 0; i < nkeys; i++) {
		if (dkim_selector_make(now, keys[i].alg, taken, ntaken, keys[i].selector,
		    sizeof keys[i].selector) < 0) {
			accounts_fail(err, errlen, ACCT_ERR_CONFLICT, "no free selector for %s", d);
			goto out;
		}
		taken[ntaken++] = keys[i].selector;
		if (insert(db, d, &keys[i], now, sign_from) < 0) {
			db_fail(a, err, errlen);
			goto out;
		}
	}
	if (db_commit(db) < 0) {
		db_fail(a, err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		db_rollback(db);
	free(taken);
	dkim_key_list_free(&have);
	return rc;
}

int
accounts_dkim_make_named(struct accounts *a, const char *domain, unsigned algs,
    time_t sign_from, struct dkim_signer made[DKIM_ALG_COUNT], size_t *nmade,
    char *err, size_t errlen)
{
	char d[256];
	struct new_key *keys;
	size_t n = 0;
	int rc = -1;

	*nmade = 0;
	if (accounts_db(a) == NULL)
		return not_local(err, errlen);
	if (canon(domain, d) < 0) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "malformed domain: %s", domain);
		return -1;
	}
	if ((algs & ((1u << DKIM_ALG_COUNT) - 1)) == 0) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "no DKIM algorithm chosen");
		return -1;
	}
	int h = hosted(accounts_db(a), d);
	if (h <= 0) {
		if (h < 0)
			return db_fail(a, err, errlen);
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such domain: %s", domain);
		return -1;
	}
	if ((keys = calloc(DKIM_ALG_COUNT, sizeof *keys)) == NULL) {
		accounts_fail(err, errlen, ACCT_ERR_STORE, "out of memory");
		return -1;
	}
	/* Made before the transaction: an RSA key takes a while, the write lock should not. */
	for (unsigned alg = 0; alg < DKIM_ALG_COUNT; alg++) {
		if (!(algs & (1u << alg)))
			continue;
		keys[n].alg = (enum dkim_alg)alg;
		if (dkim_key_make(keys[n].alg, keys[n].pem, sizeof keys[n].pem, keys[n].pub,
		    sizeof keys[n].pub) < 0) {
			accounts_fail(err, errlen, ACCT_ERR_STORE,
			    "cannot make a %s key", dkim_alg_name(keys[n].alg));
			goto out;
		}
		n++;
	}
	if (store(a, d, keys, n, sign_from, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		made[i].alg = keys[i].alg;
		snprintf(made[i].selector, sizeof made[i].selector, "%s", keys[i].selector);
	}
	*nmade = n;
	rc = 0;
out:
	explicit_bzero(keys, DKIM_ALG_COUNT * sizeof *keys);
	free(keys);
	return rc;
}

int
accounts_dkim_make(struct accounts *a, const char *domain, unsigned algs, time_t sign_from,
    char *err, size_t errlen)
{
	struct dkim_signer made[DKIM_ALG_COUNT];
	size_t n;

	return accounts_dkim_make_named(a, domain, algs, sign_from, made, &n, err, errlen);
}

int
accounts_dkim_ensure(struct accounts *a, unsigned algs, time_t now, char *err, size_t errlen)
{
	struct strlist domains = { 0 };
	int made = 0;

	if (accounts_db(a) == NULL)
		return not_local(err, errlen);
	if (accounts_domain_list(a, &domains, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < domains.n && made >= 0; i++) {
		struct dkim_key_list have = { 0 };
		unsigned missing = algs & ((1u << DKIM_ALG_COUNT) - 1);
		if (accounts_dkim_list(a, domains.v[i], now, &have, err, errlen) < 0) {
			made = -1;
			break;
		}
		for (size_t k = 0; k < have.n; k++)
			missing &= ~(1u << have.v[k].alg);
		dkim_key_list_free(&have);
		if (missing == 0)
			continue;
		struct dkim_signer sel[DKIM_ALG_COUNT];
		size_t n = 0;
		if (accounts_dkim_make_named(a, domains.v[i], missing, now, sel, &n, err,
		    errlen) < 0) {
			made = -1;
			break;
		}
		for (size_t k = 0; k < n; k++)
			ev_info("dkim-key-made", KS("d", domains.v[i]), KS("s", sel[k].selector),
			    KS("a", dkim_alg_name(sel[k].alg)));
		made += (int)n;
	}
	strlist_free(&domains);
	return made;
}

int
accounts_dkim_signers(struct accounts *a, const char *domain, time_t now,
    struct dkim_signer out[2])
{
	struct dkim_key_list l = { 0 };
	char err[256];
	int n = 0;

	if (accounts_lookup(a) != NULL)
		return remote_signers(a, domain, now, out);
	if (accounts_dkim_list(a, domain, now, &l, err, sizeof err) < 0) {
		bool unknown = strncmp(err, "no such domain", 14) == 0;
		if (!unknown)
			ev_err("store-error", KS("what", "dkim-keys"), KS("error", err));
		return unknown ? 0 : -1;
	}
	for (unsigned alg = 0; alg < DKIM_ALG_COUNT; alg++) {
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].alg == alg && l.v[i].state == DKIM_SIGNING) {
				out[n].alg = l.v[i].alg;
				snprintf(out[n].selector, sizeof out[n].selector, "%s", l.v[i].selector);
				n++;
				break;
			}
		}
	}
	dkim_key_list_free(&l);
	return n;
}

/* private_key - the PEM and algorithm of domain's key selector into pem. 1, 0 none, -1 error. */
static int
private_key(struct db *db, const char *d, const char *selector, char *pem, size_t pemlen,
    enum dkim_alg *alg)
{
	struct db_stmt *s = db_query(db, "SELECT private_pem, algorithm FROM dkim_keys"
	    " WHERE domain = ?1 AND selector = ?2", "tt", d, selector);
	char name[16];
	int r = -1;

	if (s == NULL)
		return -1;
	int rc = db_step(s);
	if (rc == DB_ROW)
		r = copy_text(s, 0, pem, pemlen) && copy_text(s, 1, name, sizeof name) &&
		    dkim_alg_parse(name, alg) ? 1 : -1;
	else if (rc == DB_DONE)
		r = 0;
	db_done(s);
	return r;
}

enum dkim_sign_status
accounts_dkim_sign_status(struct accounts *a, const char *domain, const char *selector,
    const void *data, size_t len, char *sig_b64, size_t siglen)
{
	struct dkim_signer signers[DKIM_ALG_COUNT];
	char d[256];
	enum dkim_sign_status st = DKIM_SIGN_NO_KEY;

	if (siglen > 0)
		sig_b64[0] = '\0';
	if (accounts_lookup(a) != NULL)
		return lookup_dkim_sign(accounts_lookup(a), domain, selector, data, len, sig_b64,
		    siglen);
	if (canon(domain, d) < 0)
		return DKIM_SIGN_NO_KEY;
	/* Only the key that signs now: a retired or a merely published key never does. */
	int n = accounts_dkim_signers(a, d, time(NULL), signers);
	if (n < 0)
		return DKIM_SIGN_FAILED;
	int which = -1;
	for (int i = 0; i < n; i++)
		if (strcmp(signers[i].selector, selector) == 0)
			which = i;
	if (which < 0)
		return DKIM_SIGN_NO_KEY;
	char *pem = malloc(DKIM_PEM_MAX);
	enum dkim_alg alg;
	if (pem == NULL)
		return DKIM_SIGN_FAILED;
	int r = private_key(accounts_db(a), d, selector, pem, DKIM_PEM_MAX, &alg);
	if (r == 0)
		st = DKIM_SIGN_NO_KEY;
	else if (r < 0 || alg != signers[which].alg ||
	    dkim_keycache_sign(accounts_keycache(a), pem, alg, data, len, sig_b64, siglen) < 0)
		st = DKIM_SIGN_FAILED;
	else
		st = DKIM_SIGN_OK;
	explicit_bzero(pem, DKIM_PEM_MAX);
	free(pem);
	return st;
}

int
accounts_dkim_sign(struct accounts *a, const char *domain, const char *selector,
    const void *data, size_t len, char *sig_b64, size_t siglen)
{
	return accounts_dkim_sign_status(a, domain, selector, data, len, sig_b64, siglen) ==
	    DKIM_SIGN_OK ? 0 : -1;
}

int
accounts_dkim_sign_many(struct accounts *a, const char *domain, struct dkim_sign_item *items,
    size_t n)
{
	if (accounts_lookup(a) != NULL)
		return lookup_dkim_sign_many(accounts_lookup(a), domain, items, n);
	for (size_t i = 0; i < n; i++)
		items[i].status = accounts_dkim_sign_status(a, domain, items[i].selector,
		    items[i].data, items[i].len, items[i].sig, items[i].siglen);
	return 0;
}
