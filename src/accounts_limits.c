/*
 * accounts_limits.c - the account store's part in outbound limits: each user's own
 * sends_per_day and sends_per_hour (NULL: the [limits] default), minute counters of
 * the messages each user sent, and the recipients each user has written to (for
 * first_time_recipients_per_day). Counters older than a day and recipients not
 * written to for RCPT_KEEP are deleted as the user's next message is counted.
 * The decision itself is lookup/sendlimit.c's.
 */
#include "accounts.h"
#include "accounts_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/lookup_client.h"
#include "util/log.h"

/* A recipient not written to for this long is a first-time recipient again. */
#define RCPT_KEEP (365 * 86400)
/* Counters fetched for one user: a day of minutes. */
#define BUCKETS_MAX (SENDLIMIT_DAY / SENDLIMIT_BUCKET)

static const char limits_schema[] =
    "CREATE TABLE IF NOT EXISTS user_limits(address TEXT PRIMARY KEY NOT NULL,"
    " per_day INTEGER, per_hour INTEGER);"
    "CREATE TABLE IF NOT EXISTS limit_sends(user TEXT NOT NULL, start INTEGER NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(user, start));"
    "CREATE TABLE IF NOT EXISTS limit_rcpts(user TEXT NOT NULL, rcpt TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(user, rcpt));"
    "CREATE TRIGGER IF NOT EXISTS user_limits_gone AFTER DELETE ON users BEGIN"
    " DELETE FROM user_limits WHERE address = old.address;"
    " DELETE FROM limit_sends WHERE user = old.address;"
    " DELETE FROM limit_rcpts WHERE user = old.address; END;";

int
accounts_limits_schema(sqlite3 *db, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, limits_schema, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	accounts_fail(err, errlen, ACCT_ERR_STORE,
	    "accounts database: limits: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	return sqlite3_prepare_v2(db, sql, -1, s, NULL) == SQLITE_OK ? 0 : -1;
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* user_exists - 1, 0, or -1 (error). */
static int
user_exists(sqlite3 *db, const char *user)
{
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR;

	if (prepare(db, "SELECT 1 FROM users WHERE address = ?1", &s) < 0)
		return -1;
	if (sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT) == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* own_limits - the user's per_day and per_hour into out (-1: the default). 0 or -1. */
static int
own_limits(sqlite3 *db, const char *user, int64_t out[2])
{
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR;

	out[0] = out[1] = -1;
	if (prepare(db, "SELECT per_day, per_hour FROM user_limits WHERE address = ?1", &s) < 0)
		return -1;
	if (sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
	    (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < 2; i++)
			if (sqlite3_column_type(s, i) != SQLITE_NULL)
				out[i] = sqlite3_column_int64(s, i);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* usage_of - the user's counters and first-time recipients of the windows up to now. */
static int
usage_of(sqlite3 *db, const char *user, time_t now, struct send_usage *u)
{
	struct send_bucket *v = calloc(BUCKETS_MAX + 2, sizeof *v);
	sqlite3_stmt *s;
	size_t n = 0;
	int rc;

	memset(u, 0, sizeof *u);
	if (v == NULL || prepare(db, "SELECT start, n FROM limit_sends WHERE user = ?1 AND start > ?2"
	    " ORDER BY start DESC", &s) < 0) {
		free(v);
		return -1;
	}
	sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, sendlimit_bucket(now) - SENDLIMIT_DAY);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < BUCKETS_MAX + 2) {
		v[n].start = sqlite3_column_int64(s, 0);
		v[n].n = (uint64_t)sqlite3_column_int64(s, 1);
		n++;
	}
	sqlite3_finalize(s);
	u->day = sendlimit_sum(v, n, now, SENDLIMIT_DAY);
	u->hour = sendlimit_sum(v, n, now, SENDLIMIT_HOUR);
	free(v);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return -1;
	if (prepare(db, "SELECT count(*) FROM limit_rcpts WHERE user = ?1 AND first > ?2", &s) < 0)
		return -1;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)now - SENDLIMIT_DAY);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		u->first_time_day = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* lower_copy - addr in lower case (recipients are compared so). */
static void
lower_copy(const char *addr, char out[ADDR_MAX + 1])
{
	size_t i = 0;
	for (; addr[i] != '\0' && i < ADDR_MAX; i++)
		out[i] = (char)tolower((unsigned char)addr[i]);
	out[i] = '\0';
}

/* count_new - how many distinct recipients of v the user never wrote to (or long ago). */
static int
count_new(sqlite3 *db, const char *user, const char *const *v, size_t n, uint64_t *out)
{
	sqlite3_stmt *s;
	char a[ADDR_MAX + 1], b[ADDR_MAX + 1];

	*out = 0;
	if (prepare(db, "SELECT 1 FROM limit_rcpts WHERE user = ?1 AND rcpt = ?2", &s) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		lower_copy(v[i], a);
		for (size_t j = 0; j < i && !dup; j++) {
			lower_copy(v[j], b);
			dup = strcmp(a, b) == 0;
		}
		if (dup)
			continue;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, a, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			(*out)++;
		else if (rc != SQLITE_ROW) {
			sqlite3_finalize(s);
			return -1;
		}
	}
	sqlite3_finalize(s);
	return 0;
}

/* record - the message counted in its minute, its recipients known from now. */
static int
record(sqlite3 *db, const char *user, const char *const *v, size_t n, time_t now)
{
	sqlite3_stmt *s;
	char a[ADDR_MAX + 1];
	int rc;

	if (prepare(db, "INSERT INTO limit_sends(user, start, n) VALUES(?1, ?2, 1)"
	    " ON CONFLICT(user, start) DO UPDATE SET n = n + 1", &s) < 0)
		return -1;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, sendlimit_bucket(now));
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || prepare(db, "INSERT INTO limit_rcpts(user, rcpt, first, last)"
	    " VALUES(?1, ?2, ?3, ?3) ON CONFLICT(user, rcpt) DO UPDATE SET last = ?3", &s) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		lower_copy(v[i], a);
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, a, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 3, (int64_t)now);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* expire - the user's counters past the day and recipients past RCPT_KEEP. */
static int
expire(sqlite3 *db, const char *user, time_t now)
{
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR;

	if (prepare(db, "DELETE FROM limit_sends WHERE user = ?1 AND start <= ?2", &s) < 0)
		return -1;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, sendlimit_bucket(now) - SENDLIMIT_DAY);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE ||
	    prepare(db, "DELETE FROM limit_rcpts WHERE user = ?1 AND last < ?2", &s) < 0)
		return -1;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (int64_t)now - RCPT_KEEP);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* effective - the user's own limits over the defaults. */
static struct send_limits
effective(const struct send_limits *defaults, const int64_t own[2])
{
	struct send_limits l = *defaults;
	if (own[0] >= 0)
		l.per_day = (uint64_t)own[0];
	if (own[1] >= 0)
		l.per_hour = (uint64_t)own[1];
	return l;
}

enum send_verdict
accounts_sends_count(struct accounts *a, const char *user, const char *const *rcpts,
    size_t nrcpts, size_t unnamed, time_t now, const struct send_limits *defaults,
    uint64_t *limit)
{
	struct lookup_client *c = accounts_lookup(a);
	sqlite3 *db = accounts_sqlite(a);
	char canon[ADDR_MAX + 1];
	int64_t own[2];
	struct send_usage u;
	enum send_verdict v = SEND_TEMPFAIL;

	*limit = 0;
	if (c != NULL)
		return lookup_sends_count(c, user, rcpts, nrcpts, now, limit); /* unnamed: none remotely */
	if (db == NULL)
		return SEND_TEMPFAIL;
	if (address_canonical(user, canon, sizeof canon, false) < 0)
		snprintf(canon, sizeof canon, "%s", user);
	if (exec_sql(db, "BEGIN IMMEDIATE") < 0)
		return SEND_TEMPFAIL;
	if (own_limits(db, canon, own) < 0)
		goto fail;
	struct send_limits l = effective(defaults, own);
	if (l.per_day == 0 && l.per_hour == 0 && l.first_time_per_day == 0) {
		v = SEND_OK; /* nothing to count against */
		goto done;
	}
	if (expire(db, canon, now) < 0 || usage_of(db, canon, now, &u) < 0 ||
	    count_new(db, canon, rcpts, nrcpts, &u.new_rcpts) < 0)
		goto fail;
	u.new_rcpts += unnamed;
	v = sendlimit_decide(&l, &u, limit);
	/* A held message is not counted: it has not gone, and its release is the operator's. */
	if (v == SEND_OK && record(db, canon, rcpts, nrcpts, now) < 0)
		goto fail;
done:
	if (exec_sql(db, "COMMIT") == 0)
		return v;
fail:
	ev_err("store-error", KS("what", "limits"), KS("user", canon), KS("error", sqlite3_errmsg(db)));
	exec_sql(db, "ROLLBACK");
	return SEND_TEMPFAIL;
}

/* limits_fail - the store's error (or that this handle has none) into err; -1. */
static int
limits_fail(struct accounts *a, char *err, size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);
	accounts_fail(err, errlen, ACCT_ERR_STORE, "accounts database %s: %s", accounts_path(a),
	    db ? sqlite3_errmsg(db) : "not open here");
	return -1;
}

/* known_user - the canonical address of an existing user into canon: 0, or -1 with err. */
static int
known_user(struct accounts *a, const char *address, char canon[ADDR_MAX + 1], char *err,
    size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);

	if (db == NULL)
		return limits_fail(a, err, errlen);
	if (address_canonical(address, canon, ADDR_MAX + 1, false) < 0) {
		accounts_fail(err, errlen, ACCT_ERR_INVALID, "malformed address: %s", address);
		return -1;
	}
	int r = user_exists(db, canon);
	if (r < 0)
		return limits_fail(a, err, errlen);
	if (r == 0) {
		accounts_fail(err, errlen, ACCT_ERR_NOT_FOUND, "no such user: %s", canon);
		return -1;
	}
	return 0;
}

int
accounts_user_limit_set(struct accounts *a, const char *address, int64_t per_day,
    int64_t per_hour, char *err, size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);
	char canon[ADDR_MAX + 1];
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR;

	if (known_user(a, address, canon, err, errlen) < 0)
		return -1;
	/* LIMIT_KEEP leaves a value as it is; LIMIT_DEFAULT stores NULL. */
	if (prepare(db, "INSERT INTO user_limits(address, per_day, per_hour) VALUES(?1,"
	    " CASE WHEN ?2 < 0 THEN NULL ELSE ?2 END, CASE WHEN ?3 < 0 THEN NULL ELSE ?3 END)"
	    " ON CONFLICT(address) DO UPDATE SET"
	    " per_day = CASE WHEN ?2 = -2 THEN per_day WHEN ?2 = -1 THEN NULL ELSE ?2 END,"
	    " per_hour = CASE WHEN ?3 = -2 THEN per_hour WHEN ?3 = -1 THEN NULL ELSE ?3 END", &s) < 0)
		return limits_fail(a, err, errlen);
	sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, per_day);
	sqlite3_bind_int64(s, 3, per_hour);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : limits_fail(a, err, errlen);
}

int
accounts_user_limit_get(struct accounts *a, const char *address, time_t now,
    struct user_limit_info *out, char *err, size_t errlen)
{
	sqlite3 *db = accounts_sqlite(a);
	char canon[ADDR_MAX + 1];
	int64_t own[2];
	struct send_usage u;

	memset(out, 0, sizeof *out);
	if (known_user(a, address, canon, err, errlen) < 0)
		return -1;
	if (own_limits(db, canon, own) < 0 || usage_of(db, canon, now, &u) < 0)
		return limits_fail(a, err, errlen);
	snprintf(out->address, sizeof out->address, "%s", canon);
	out->per_day = own[0];
	out->per_hour = own[1];
	out->sent_day = u.day;
	out->sent_hour = u.hour;
	out->first_time_day = u.first_time_day;
	return 0;
}
