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
#include "db/db.h"

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

/* user_exists - 1, 0, or -1 (error). */
static int
user_exists(struct db *db, const char *user)
{
	return db_int(db, NULL, "SELECT 1 FROM users WHERE address = ?1", "t", user);
}

/* own_limits - the user's per_day and per_hour into out (-1: the default). 0 or -1. */
static int
own_limits(struct db *db, const char *user, int64_t out[2])
{
	struct db_stmt *s = db_query(db, "SELECT per_day, per_hour FROM user_limits"
	    " WHERE address = ?1", "t", user);
	int rc = s != NULL ? db_step(s) : DB_FAIL;

	out[0] = out[1] = -1;
	if (rc == DB_ROW) {
		for (int i = 0; i < 2; i++)
			if (!db_col_null(s, i))
				out[i] = db_col_int(s, i);
	}
	db_done(s);
	return rc == DB_FAIL ? -1 : 0;
}

/* usage_of - the user's counters and first-time recipients of the windows up to now. */
static int
usage_of(struct db *db, const char *user, time_t now, struct send_usage *u)
{
	struct send_bucket *v = calloc(BUCKETS_MAX + 2, sizeof *v);
	struct db_stmt *s;
	size_t n = 0;
	int rc;

	memset(u, 0, sizeof *u);
	if (v == NULL || (s = db_query(db, "SELECT start, n FROM limit_sends WHERE \"user\" = ?1"
	    " AND start > ?2 ORDER BY start DESC", "ti", user,
	    (int64_t)(sendlimit_bucket(now) - SENDLIMIT_DAY))) == NULL) {
		free(v);
		return -1;
	}
	while ((rc = db_step(s)) == DB_ROW && n < BUCKETS_MAX + 2) {
		v[n].start = db_col_int(s, 0);
		v[n].n = (uint64_t)db_col_int(s, 1);
		n++;
	}
	db_done(s);
	u->day = sendlimit_sum(v, n, now, SENDLIMIT_DAY);
	u->hour = sendlimit_sum(v, n, now, SENDLIMIT_HOUR);
	free(v);
	if (rc == DB_FAIL)
		return -1;
	int64_t first = 0;
	if (db_int(db, &first, "SELECT count(*) FROM limit_rcpts WHERE \"user\" = ?1 AND first > ?2",
	    "ti", user, (int64_t)now - SENDLIMIT_DAY) != 1)
		return -1;
	u->first_time_day = first > 0 ? (uint64_t)first : 0;
	return 0;
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
count_new(struct db *db, const char *user, const char *const *v, size_t n, uint64_t *out)
{
	char a[ADDR_MAX + 1], b[ADDR_MAX + 1];

	*out = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		lower_copy(v[i], a);
		for (size_t j = 0; j < i && !dup; j++) {
			lower_copy(v[j], b);
			dup = strcmp(a, b) == 0;
		}
		if (dup)
			continue;
		int r = db_int(db, NULL, "SELECT 1 FROM limit_rcpts WHERE \"user\" = ?1 AND rcpt = ?2",
		    "tt", user, a);
		if (r < 0)
			return -1;
		if (r == 0)
			(*out)++;
	}
	return 0;
}

/* record - the message counted in its minute, its recipients known from now. */
static int
record(struct db *db, const char *user, const char *const *v, size_t n, time_t now)
{
	char a[ADDR_MAX + 1];

	if (db_run(db, "INSERT INTO limit_sends(\"user\", start, n) VALUES(?1, ?2, 1)"
	    " ON CONFLICT(\"user\", start) DO UPDATE SET n = limit_sends.n + 1", "ti", user,
	    (int64_t)sendlimit_bucket(now)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		lower_copy(v[i], a);
		if (db_run(db, "INSERT INTO limit_rcpts(\"user\", rcpt, first, last)"
		    " VALUES(?1, ?2, ?3, ?3) ON CONFLICT(\"user\", rcpt) DO UPDATE SET last = ?3",
		    "tti", user, a, (int64_t)now) < 0)
			return -1;
	}
	return 0;
}

/* expire - the user's counters past the day and recipients past RCPT_KEEP. */
static int
expire(struct db *db, const char *user, time_t now)
{
	if (db_run(db, "DELETE FROM limit_sends WHERE \"user\" = ?1 AND start <= ?2", "ti", user,
	    (int64_t)(sendlimit_bucket(now) - SENDLIMIT_DAY)) < 0)
		return -1;
	return db_run(db, "DELETE FROM limit_rcpts WHERE \"user\" = ?1 AND last < ?2", "ti", user,
	    (int64_t)now - RCPT_KEEP);
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
	struct db *db = accounts_db(a);
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
	/* One writer: a count and the check before it are one step, on every host. */
	if (db_begin(db) < 0)
		goto fail;
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
	if (db_commit(db) == 0)
		return v;
fail:
	db_rollback(db);
	ev_err("store-error", KS("what", "limits"), KS("user", canon), KS("error", db_errmsg(db)));
	return SEND_TEMPFAIL;
}

/* limits_fail - the store's error (or that this handle has none) into err; -1. */
static int
limits_fail(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
}

/* known_user - the canonical address of an existing user into canon: 0, or -1 with err. */
static int
known_user(struct accounts *a, const char *address, char canon[ADDR_MAX + 1], char *err,
    size_t errlen)
{
	struct db *db = accounts_db(a);

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
	struct db *db = accounts_db(a);
	char canon[ADDR_MAX + 1];

	if (known_user(a, address, canon, err, errlen) < 0)
		return -1;
	/* LIMIT_KEEP leaves a value as it is; LIMIT_DEFAULT stores NULL. */
	if (db_run(db, "INSERT INTO user_limits(address, per_day, per_hour) VALUES(?1,"
	    " CASE WHEN ?2 < 0 THEN NULL ELSE ?2 END, CASE WHEN ?3 < 0 THEN NULL ELSE ?3 END)"
	    " ON CONFLICT(address) DO UPDATE SET per_day = CASE WHEN ?2 = -2 THEN"
	    " user_limits.per_day WHEN ?2 = -1 THEN NULL ELSE ?2 END, per_hour = CASE WHEN ?3 = -2"
	    " THEN user_limits.per_hour WHEN ?3 = -1 THEN NULL ELSE ?3 END", "tii", canon, per_day,
	    per_hour) < 0)
		return limits_fail(a, err, errlen);
	return 0;
}

int
accounts_user_limit_get(struct accounts *a, const char *address, time_t now,
    struct user_limit_info *out, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
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
