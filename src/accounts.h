/*
 * accounts.h - hosted domains, users and aliases, and address resolution.
 * One interface with SQLite (WAL, the default) or PostgreSQL behind it (db/db.h),
 * so the CLI can change accounts while the server runs and every process (of
 * every host sharing a PostgreSQL store) sees the change at its next lookup.
 */
#ifndef MAILROOM_ACCOUNTS_H
#define MAILROOM_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "address.h"
#include "dkim/dkim_key.h" /* enum dkim_alg */
#include "lookup/greylist.h" /* enum grey_answer */
#include "lookup/lookup_proto.h"
#include "lookup/sendlimit.h"
#include "store/kinds.h" /* enum target_kind */

struct accounts;

/* A list of strings owned by the list. */
struct strlist {
	char **v;
	size_t n, cap;
};
int strlist_add(struct strlist *l, const char *s); /* 0 or -1 (out of memory) */
bool strlist_has(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

struct target {
	enum target_kind kind;
	char addr[ADDR_MAX + 1];
	bool unlimited; /* TARGET_LOCAL: the mailbox has no quota, so it may skip the queue */
	bool vacation;  /* TARGET_LOCAL: the user has a vacation: never past the queue (queued replies) */
};

struct target_list {
	struct target *v;
	size_t n, cap;
};
void target_list_free(struct target_list *l);

enum resolve_status {
	RESOLVE_OK,           /* out holds at least one target (deduplicated) */
	RESOLVE_NO_SUCH_USER, /* local domain, no user, alias or catch-all: 550 5.1.1 */
	RESOLVE_NOT_LOCAL,    /* not a hosted domain: relaying rules apply */
	RESOLVE_TEMPFAIL,     /* database trouble or an alias loop too deep: 451 */
};

/*
 * accounts_open - open <data_dir>/accounts.db; with create, make the schema when
 * missing. Returns NULL with a reason in err.
 */
struct accounts *accounts_open(const char *data_dir, bool create, char *err, size_t errlen);
/*
 * accounts_open_at - the store: SQLite in data_dir when dsn is NULL, else the
 * PostgreSQL database of the libpq connection string dsn (several hosts share
 * it). Either way the schema is brought to this mailroom's version
 * (accounts_int.h); a store of a newer mailroom is refused. NULL with err, and
 * *unreachable (when not NULL) set when the server did not answer (a temporary
 * failure, unlike a refusal).
 */
struct accounts *accounts_open_at(const char *data_dir, const char *dsn, bool create,
    bool *unreachable, char *err, size_t errlen);
/*
 * accounts_open_lazy - the PostgreSQL store of dsn for a long-lived process
 * (lookupd): nothing is asked of the server yet; each connection it makes, now
 * or after the server was gone, checks (and upgrades) the schema first. Calls
 * fail temporarily while the server is down, or refuses the schema. NULL only
 * for a malformed dsn (err).
 */
struct accounts *accounts_open_lazy(const char *dsn, char *err, size_t errlen);
/* accounts_schema_latest - the newest schema version this mailroom knows. */
int accounts_schema_latest(void);
/* accounts_schema_from - the schema version the store had when opened (0: made by this open). */
int accounts_schema_from(struct accounts *a);
void accounts_close(struct accounts *a);

/*
 * accounts_open_remote - the same queries answered by lookupd, for the roles of
 * `serve`, which never open the store themselves. Admin operations and
 * accounts_password_hash fail on such a handle; logins go through accounts_verify.
 */
struct accounts *accounts_open_remote(const char *data_dir, char *err, size_t errlen);

/*
 * accounts_verify - a login checked by lookupd (password, failure limits). Blocks
 * until the check is done: call it from a worker thread. Thread-safe (a connection
 * of its own per call).
 */
enum lookup_verdict accounts_verify(struct accounts *a, const char *user, const char *password,
    const char *client_ip, const char *service);

/*
 * What kind of failure an admin operation met, for callers that answer with a
 * code (the web operations) rather than with err's line.
 */
enum accounts_error {
	ACCT_ERR_NONE = 0,
	ACCT_ERR_INVALID,   /* a malformed argument: address, domain, name, empty password */
	ACCT_ERR_NOT_FOUND, /* no such domain, user, alias, app password, admin */
	ACCT_ERR_EXISTS,    /* it exists already */
	ACCT_ERR_CONFLICT,  /* not now: a domain not empty, a limit reached */
	ACCT_ERR_STORE,     /* the database (or memory, or randomness) failed */
};

/*
 * accounts_last_error - the kind of the last failure an accounts_* call met on
 * this thread (kept like errno: meaningful right after a call that returned -1);
 * accounts_error_clear sets it to ACCT_ERR_NONE.
 */
enum accounts_error accounts_last_error(void);
void accounts_error_clear(void);

/*
 * Admin operations. Each returns 0, or -1 with one line in err ("no such domain:
 * x", "user exists: a@b", "malformed address: ..."). Addresses and domains are
 * stored in their canonical (lower-case) form.
 */
int accounts_domain_add(struct accounts *a, const char *domain, char *err, size_t errlen);
int accounts_domain_del(struct accounts *a, const char *domain, char *err, size_t errlen);
int accounts_domain_list(struct accounts *a, struct strlist *out, char *err, size_t errlen);

/* quota 0: unlimited. password is plain text; it is stored as a yescrypt hash. */
int accounts_user_add(struct accounts *a, const char *address, const char *password,
    uint64_t quota, char *err, size_t errlen);
int accounts_user_passwd(struct accounts *a, const char *address, const char *password,
    char *err, size_t errlen);
int accounts_user_del(struct accounts *a, const char *address, char *err, size_t errlen);
/* accounts_user_quota_set - a user's quota in bytes (0 unlimited). */
int accounts_user_quota_set(struct accounts *a, const char *address, uint64_t quota,
    char *err, size_t errlen);
/*
 * One line per user: "address quota" (quota in bytes, 0 unlimited), and " suspended"
 * for a suspended user (accounts_users.h). domain may be NULL.
 */
int accounts_user_list(struct accounts *a, const char *domain, struct strlist *out,
    char *err, size_t errlen);

/* source: "local@domain" or "@domain" (catch-all) of a hosted domain. */
int accounts_alias_add(struct accounts *a, const char *source, const char *const *targets,
    size_t ntargets, char *err, size_t errlen);
/* accounts_alias_set - the same, the targets replacing those source had (if any). */
int accounts_alias_set(struct accounts *a, const char *source, const char *const *targets,
    size_t ntargets, char *err, size_t errlen);
int accounts_alias_del(struct accounts *a, const char *source, char *err, size_t errlen);
/* accounts_alias_sources - the source of every alias, one per line, in order. */
int accounts_alias_sources(struct accounts *a, struct strlist *out, char *err, size_t errlen);
/*
 * accounts_alias_targets - the targets of alias source (canonical or not) into
 * out, in the order they were added: 1, 0 no such alias, -1 with err.
 */
int accounts_alias_targets(struct accounts *a, const char *source, struct strlist *out,
    char *err, size_t errlen);
/* One line per alias: "source target[,target...]". */
int accounts_alias_list(struct accounts *a, struct strlist *out, char *err, size_t errlen);

bool accounts_domain_is_local(struct accounts *a, const char *domain);

/*
 * accounts_resolve - where mail for address goes. Order for a hosted domain: an
 * alias for the exact address, a user, then the same two for the address without
 * its "+tag", then the "@domain" catch-all. Alias targets are expanded in turn
 * (bounded depth); an alias naming itself, or a user, ends at that mailbox.
 * Matching is case-insensitive. Targets are appended to out, without duplicates.
 */
enum resolve_status accounts_resolve(struct accounts *a, const char *address,
    struct target_list *out);

/*
 * accounts_password_hash - the stored crypt(3) hash of a user into hash (at least
 * 256 octets). Returns 1 found, 0 no such user, -1 database error.
 */
int accounts_password_hash(struct accounts *a, const char *address, char *hash, size_t hashlen);

/*
 * accounts_user_quota - the quota of a user in bytes (0 unlimited) into *quota.
 * Returns 1 found, 0 no such user, -1 database error (a temporary failure: never
 * to be taken for "no such user").
 */
int accounts_user_quota(struct accounts *a, const char *address, uint64_t *quota);

/*
 * accounts_owns_address - whether the user (canonical address) may send as
 * address: its own address (with or without +tag), or an alias that resolves to it.
 * Returns 1 yes, 0 no, -1 database error (a temporary failure).
 */
int accounts_owns_address(struct accounts *a, const char *user, const char *address);

/*
 * DKIM keys (accounts_dkim.c). Each hosted domain has keys per algorithm; a key's
 * state follows from its sign_from and the time: per (domain, algorithm) the
 * newest key whose sign_from has come is the one that signs, keys whose
 * sign_from is still to come are published ahead of it, and older ones are
 * retired. A retired key stays in DNS (publish) for DKIM_RETIRED_PUBLISH after
 * its successor began to sign, so mail signed just before still verifies.
 * Private keys stay in the store and in lookupd: the roles get signatures only.
 */
enum dkim_state { DKIM_PUBLISHED, DKIM_SIGNING, DKIM_RETIRED };
#define DKIM_RETIRED_PUBLISH (7 * 24 * 3600)

struct dkim_key_info {
	char domain[256];
	char selector[64];
	enum dkim_alg alg;
	enum dkim_state state;
	bool publish; /* should be in DNS now */
	time_t created, sign_from;
	char public_b64[1024];
};

struct dkim_key_list {
	struct dkim_key_info *v;
	size_t n, cap;
};
void dkim_key_list_free(struct dkim_key_list *l);

/* "published", "signing" or "retired". */
const char *dkim_state_name(enum dkim_state s);

/*
 * dkim_key_states - the state and publish flag of each of the n keys of v (the
 * other fields filled) at time now. Pure: rows in, states out.
 */
void dkim_key_states(struct dkim_key_info *v, size_t n, time_t now);

/*
 * dkim_selector_make - the selector of a new key of alg made at time when: "m",
 * the UTC date, 'e' (Ed25519) or 'r' (RSA), and "-2", "-3", ... when that is
 * among the n selectors in taken. 0, or -1 (no free name, out too small).
 */
int dkim_selector_make(time_t when, enum dkim_alg alg, const char *const *taken, size_t n,
    char *out, size_t outlen);

/*
 * accounts_dkim_make - one new key per algorithm in algs (bit 1<<DKIM_ED25519,
 * 1<<DKIM_RSA) for the hosted domain, signing from sign_from. 0, or -1 with one
 * line in err ("no such domain: x").
 */
int accounts_dkim_make(struct accounts *a, const char *domain, unsigned algs,
    time_t sign_from, char *err, size_t errlen);
/* accounts_dkim_make_named - the same, with the new keys' selectors in made[] (*nmade of them). */
struct dkim_signer {
	enum dkim_alg alg;
	char selector[64];
};
int accounts_dkim_make_named(struct accounts *a, const char *domain, unsigned algs,
    time_t sign_from, struct dkim_signer made[DKIM_ALG_COUNT], size_t *nmade,
    char *err, size_t errlen);

/*
 * accounts_dkim_list - the keys of domain (NULL: every domain) with their
 * states at now, by domain, algorithm and sign_from. An unknown domain is an
 * error ("no such domain: x"). Not on a remote handle.
 */
int accounts_dkim_list(struct accounts *a, const char *domain, time_t now,
    struct dkim_key_list *out, char *err, size_t errlen);

/*
 * accounts_dkim_ensure - a key signing from now for each algorithm in algs that a
 * hosted domain has none of (each logged). Returns how many were made, or -1.
 */
int accounts_dkim_ensure(struct accounts *a, unsigned algs, time_t now, char *err,
    size_t errlen);

/*
 * accounts_dkim_signers - the signing selector per algorithm for domain (Ed25519
 * first): returns how many (0: none), -1 error. On a remote handle, asks lookupd.
 */
int accounts_dkim_signers(struct accounts *a, const char *domain, time_t now,
    struct dkim_signer out[2]);

/*
 * accounts_dkim_sign - sign data (dkim_key_sign) with domain's key selector,
 * which must be a signing key now: 0 with the b= value in sig_b64, or -1. On a
 * remote handle, lookupd signs (only for root and the mail user).
 */
int accounts_dkim_sign(struct accounts *a, const char *domain, const char *selector,
    const void *data, size_t len, char *sig_b64, size_t siglen);

/* The outcomes of a signature, as LK_DKIM_SIGN reports them. */
enum dkim_sign_status { DKIM_SIGN_OK = 0, DKIM_SIGN_NO_KEY = 1, DKIM_SIGN_FAILED = 2 };
/* accounts_dkim_sign_status - accounts_dkim_sign with the reason of a failure. */
enum dkim_sign_status accounts_dkim_sign_status(struct accounts *a, const char *domain,
    const char *selector, const void *data, size_t len, char *sig_b64, size_t siglen);

/* One signature of accounts_dkim_sign_many: what to sign, and what came of it. */
struct dkim_sign_item {
	const char *selector;
	const void *data;
	size_t len;
	char *sig;      /* the b= value, siglen octets of room ("" unless status is OK) */
	size_t siglen;
	enum dkim_sign_status status;
};

/*
 * accounts_dkim_sign_many - each item's data signed by domain's key of its selector
 * (accounts_dkim_sign_status), its status set. On a remote handle, one request to
 * lookupd for them all. Returns 0 (see each status), or -1 when lookupd did not
 * answer (every status FAILED).
 */
int accounts_dkim_sign_many(struct accounts *a, const char *domain, struct dkim_sign_item *items,
    size_t n);

/*
 * accounts_dkim_forget - domain's signing selectors as a remote handle keeps them
 * (for up to a minute) forgotten: after lookupd said a selector does not sign,
 * the next accounts_dkim_signers asks it again. Nothing on a local handle.
 */
void accounts_dkim_forget(struct accounts *a, const char *domain);

/*
 * accounts_srs_forward - the envelope sender for mail that an alias of srs_domain
 * forwards to another domain: the SRS address of sender in srs_domain
 * (srs/srs.h, with the store's secret) into out (ADDR_MAX+1 octets). Returns 1
 * rewritten; 0 kept as it is (out is sender): the null sender, a sender in a
 * hosted domain, srs_domain not hosted, or a sender that SRS cannot carry (a
 * quoted local part, a result longer than a local part may be); -1 the store or
 * lookupd failed (a temporary failure). Works on both kinds of handle.
 */
int accounts_srs_forward(struct accounts *a, const char *sender, const char *srs_domain,
    char *out, size_t outlen);

/*
 * accounts_srs_resolve - where mail to an SRS0= or SRS1= address (any case) of a
 * hosted domain goes: its original address (TARGET_REMOTE; resolved as usual when
 * in a hosted domain itself), or RESOLVE_NO_SUCH_USER when its hash is forged, it
 * has expired or it is malformed. Returns true with *st and out set, or false when
 * the address is for accounts_resolve: not such an address, not hosted, or the
 * exact name of a user or alias. lookupd's (a handle of accounts_open).
 */
bool accounts_srs_resolve(struct accounts *a, const char *address, struct target_list *out,
    enum resolve_status *st);

/*
 * accounts_greylist - greylisting of one RCPT (lookup/greylist.h): the triplet of
 * client_ip's network, sender ("" or "<>": the null sender) and rcpt, with delay
 * seconds before a retry passes, at now. GREY_PASS, GREY_LISTED, or GREY_FAILED
 * (the store or lookupd failed, or no triplet could be made: logged; the caller
 * lets the mail pass). On a remote handle lookupd decides, at its own clock.
 */
enum grey_answer accounts_greylist(struct accounts *a, const char *client_ip,
    const char *sender, const char *rcpt, uint64_t delay, time_t now);

/*
 * accounts_greylist_trust - client_ip's network is not greylisted any more (as after
 * GREY_CLIENT_PASSES passes): it sent mail that passed SPF and DMARC through an
 * aligned DKIM signature. 0, or -1 (logged).
 */
int accounts_greylist_trust(struct accounts *a, const char *client_ip, time_t now);

/*
 * accounts_greylist_expire - delete the rows of greylist and greylist_clients
 * that have expired at now (grey_row_expired, grey_client_expired). How many, or
 * -1 (logged). A local handle only (lookupd).
 */
int accounts_greylist_expire(struct accounts *a, uint64_t delay, time_t now);

/*
 * Outbound limits (accounts_limits.c; docs/mailroom.8 "user limit").
 * accounts_sends_count - count one message of user (canonical login) to its remote
 * recipients rcpts (and unnamed more, each taken for a first-time recipient) at now,
 * unless it would pass a limit: the user's own per_day and per_hour, else defaults
 * (which also gives first_time_per_day). Returns SEND_OK
 * (counted), an SEND_OVER_* verdict (not counted; *limit is the limit passed), or
 * SEND_TEMPFAIL. On a remote handle lookupd decides, with its own [limits], and
 * defaults is not used.
 */
enum send_verdict accounts_sends_count(struct accounts *a, const char *user,
    const char *const *rcpts, size_t nrcpts, size_t unnamed, time_t now,
    const struct send_limits *defaults, uint64_t *limit);

/* For accounts_user_limit_set: a value left as it is, or set back to the default. */
#define LIMIT_DEFAULT (-1)
#define LIMIT_KEEP (-2)

/* accounts_user_limit_set - a user's own limits (0: none); 0, or -1 with err. */
int accounts_user_limit_set(struct accounts *a, const char *address, int64_t per_day,
    int64_t per_hour, char *err, size_t errlen);

struct user_limit_info {
	char address[ADDR_MAX + 1];
	int64_t per_day, per_hour; /* the user's own, or LIMIT_DEFAULT */
	uint64_t sent_day, sent_hour, first_time_day; /* counted in the windows up to now */
};
/* accounts_user_limit_get - a user's limits and what is counted; 0, or -1 with err. */
int accounts_user_limit_get(struct accounts *a, const char *address, time_t now,
    struct user_limit_info *out, char *err, size_t errlen);

#endif
