/*
 * accounts_vacation.c - vacations in the account store: table vacations (one row
 * per user: subject, body, until, set_at) and vacation_replies (the senders each
 * user answered, and when), both emptied with the user by a trigger. The replies
 * are checked and recorded in one IMMEDIATE transaction (lookupd's, for queued);
 * rows older than the interval are swept hourly by lookupd.
 */
#include "accounts_vacation.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts_int.h"
#include "db/db.h"
#include "lookup/lookup_client.h"
#include "util/log.h"
#include "util/utf8.h"

#define DAY_SECONDS 86400

bool
vacation_day_parse(const char *s, time_t *end)
{
	struct tm tm = { 0 }, back;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1)
		return false;
	struct tm given = tm;
	time_t t = timegm(&tm);
	/* timegm normalizes 2027-02-30 into March: such a date is no date. */
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != given.tm_mday ||
	    back.tm_mon != given.tm_mon)
		return false;
	*end = t + DAY_SECONDS;
	return true;
}

void
vacation_day_format(time_t end, char *out, size_t outlen)
{
	struct tm tm;
	time_t last = end - 1;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (gmtime_r(&last, &tm) != NULL)
		strftime(out, outlen, "%Y-%m-%d", &tm);
}

bool
vacation_active(const struct vacation_info *v, time_t now)
{
	return v->found && (v->until == 0 || now < v->until);
}

/*
 * text_ok - s[0..len) is well-formed UTF-8 without control characters but tab
 * (and LF, CR when lines). false with the offending octet's offset in *at.
 */
static bool
text_ok(const char *s, size_t len, bool lines, size_t *at)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		*at = i;
		if (p[i] >= 0x80) {
			size_t n = utf8_decode(p + i, len - i, &cp);
			if (n == 0 || (cp >= 0x80 && cp <= 0x9f))
				return false;
			i += n;
			continue;
		}
		if ((p[i] < 0x20 && p[i] != '\t' && !(lines && (p[i] == '\n' || p[i] == '\r'))) ||
		    p[i] == 0x7f)
			return false;
		i++;
	}
	return true;
}

int
vacation_text_check(const char *subject, const char *body, size_t body_len, char *err,
    size_t errlen)
{
	size_t slen = strlen(subject), at = 0;

	if (slen == 0 || strspn(subject, " \t") == slen) {
		snprintf(err, errlen, "the vacation subject is empty");
		return -1;
	}
	if (slen > VACATION_SUBJECT_MAX) {
		snprintf(err, errlen, "the vacation subject is %zu octets (at most %d)", slen,
		    VACATION_SUBJECT_MAX);
		return -1;
	}
	if (strpbrk(subject, "\r\n") != NULL) {
		snprintf(err, errlen, "the vacation subject must be one line");
		return -1;
	}
	if (!text_ok(subject, slen, false, &at)) {
		snprintf(err, errlen, "the vacation subject is not UTF-8 text (octet %zu)", at + 1);
		return -1;
	}
	if (body_len > VACATION_BODY_MAX) {
		snprintf(err, errlen, "the vacation body is %zu octets (at most %d)", body_len,
		    VACATION_BODY_MAX);
		return -1;
	}
	if (memchr(body, '\0', body_len) != NULL) {
		snprintf(err, errlen, "the vacation body holds a NUL octet");
		return -1;
	}
	size_t blank = 0;
	while (blank < body_len && isspace((unsigned char)body[blank]))
		blank++;
	if (blank == body_len) {
		snprintf(err, errlen, "the vacation body is empty (give it on standard input)");
		return -1;
	}
	if (!text_ok(body, body_len, true, &at)) {
		snprintf(err, errlen, "the vacation body is not UTF-8 text (octet %zu)", at + 1);
		return -1;
	}
	return 0;
}

static int
db_fail(struct accounts *a, char *err, size_t errlen)
{
	return accounts_db_fail(a, err, errlen);
}

/* known_user - the canonical address of an existing user into canon; 0 or -1 with err. */
static int
known_user(struct accounts *a, const char *address, char canon[ADDR_MAX + 1], char *err,
    size_t errlen)
{
	struct db *db = accounts_db(a);

	if (db == NULL)
		return db_fail(a, err, errlen);
	if (address_canonical(address, canon, ADDR_MAX + 1, false) < 0) {
		snprintf(err, errlen, "malformed address: %s", address);
		return -1;
	}
	int rc = db_int(db, NULL, "SELECT 1 FROM users WHERE address = ?1", "t", canon);
	if (rc == 0) {
		snprintf(err, errlen, "no such user: %s", canon);
		return -1;
	}
	return rc == 1 ? 0 : db_fail(a, err, errlen);
}

/* lf_copy - body with each CRLF as LF, NUL-terminated; NULL when out of memory. */
static char *
lf_copy(const char *body)
{
	size_t n = strlen(body), o = 0;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(body[i] == '\r' && body[i + 1] == '\n'))
			out[o++] = body[i];
	out[o] = '\0';
	return out;
}

int
accounts_vacation_set(struct accounts *a, const char *address, const char *subject,
    const char *body, time_t until, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	char canon[ADDR_MAX + 1];
	char *text = NULL;
	int rc = -1;

	if (until < 0) {
		snprintf(err, errlen, "bad vacation end");
		return -1;
	}
	if (vacation_text_check(subject, body, strlen(body), err, errlen) < 0 ||
	    known_user(a, address, canon, err, errlen) < 0)
		return -1;
	if ((text = lf_copy(body)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (db_begin(db) < 0 ||
	    db_run(db, "INSERT INTO vacations(address, subject, body, until, set_at)"
	    " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(address) DO UPDATE SET"
	    " subject = excluded.subject, body = excluded.body, until = excluded.until,"
	    " set_at = excluded.set_at", "tttii", canon, subject, text, (int64_t)until,
	    (int64_t)time(NULL)) < 0 ||
	    db_run(db, "DELETE FROM vacation_replies WHERE \"user\" = ?1", "t", canon) < 0 ||
	    db_commit(db) < 0) {
		db_fail(a, err, errlen);
		db_rollback(db);
	} else {
		rc = 0;
	}
	free(text);
	return rc;
}

int
accounts_vacation_off(struct accounts *a, const char *address, char *err, size_t errlen)
{
	struct db *db = accounts_db(a);
	char canon[ADDR_MAX + 1];

	if (known_user(a, address, canon, err, errlen) < 0)
		return -1;
	if (db_begin(db) < 0 ||
	    db_run(db, "DELETE FROM vacations WHERE address = ?1", "t", canon) < 0 ||
	    db_run(db, "DELETE FROM vacation_replies WHERE \"user\" = ?1", "t", canon) < 0 ||
	    db_commit(db) < 0) {
		db_fail(a, err, errlen);
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
accounts_vacation_get(struct accounts *a, const char *address, struct vacation_info *out,
    char *err, size_t errlen)
{
	struct lookup_client *c = accounts_lookup(a);
	struct db *db = accounts_db(a);
	char canon[ADDR_MAX + 1];

	memset(out, 0, sizeof *out);
	if (c != NULL) {
		if (lookup_vacation_get(c, address, out) == 0)
			return 0;
		snprintf(err, errlen, "lookupd did not answer for the vacation of %s", address);
		return -1;
	}
	if (known_user(a, address, canon, err, errlen) < 0)
		return -1;
	snprintf(out->address, sizeof out->address, "%s", canon);
	struct db_stmt *s = db_query(db, "SELECT subject, body, until, set_at FROM vacations"
	    " WHERE address = ?1", "t", canon);
	if (s == NULL)
		return db_fail(a, err, errlen);
	int rc = db_step(s);
	if (rc == DB_ROW) {
		const char *subj = db_col_text(s, 0);
		const char *body = db_col_text(s, 1);
		out->found = true;
		snprintf(out->subject, sizeof out->subject, "%s", subj ? subj : "");
		snprintf(out->body, sizeof out->body, "%s", body ? body : "");
		out->until = (time_t)db_col_int(s, 2);
		out->set_at = (time_t)db_col_int(s, 3);
	}
	db_done(s);
	if (rc == DB_FAIL)
		return db_fail(a, err, errlen);
	return 0;
}

int
accounts_vacation_active(struct accounts *a, const char *user, time_t now)
{
	struct db *db = accounts_db(a);

	if (db == NULL)
		return -1;
	return db_int(db, NULL, "SELECT 1 FROM vacations WHERE address = ?1"
	    " AND (until = 0 OR until > ?2)", "ti", user, (int64_t)now);
}

/* lower_copy - addr in lower case (senders are compared so). */
static void
lower_copy(const char *addr, char out[ADDR_MAX + 1])
{
	size_t i = 0;
	for (; addr[i] != '\0' && i < ADDR_MAX; i++)
		out[i] = (char)tolower((unsigned char)addr[i]);
	out[i] = '\0';
}

enum vacation_record
accounts_vacation_reply(struct accounts *a, const char *user, const char *sender,
    uint64_t interval, time_t now)
{
	struct lookup_client *c = accounts_lookup(a);
	struct db *db = accounts_db(a);
	char u[ADDR_MAX + 1], snd[ADDR_MAX + 1];
	enum vacation_record v = VACATION_FAILED;

	if (c != NULL)
		return lookup_vacation_reply(c, user, sender);
	if (db == NULL)
		return VACATION_FAILED;
	if (interval > INT32_MAX)
		interval = INT32_MAX;
	lower_copy(user, u);
	lower_copy(sender, snd);
	int64_t at = 0;
	if (db_begin(db) < 0)
		goto fail;
	int found = db_int(db, &at, "SELECT at FROM vacation_replies WHERE \"user\" = ?1 AND"
	    " sender = ?2", "tt", u, snd);
	if (found < 0)
		goto fail;
	if (found == 1 && at > (int64_t)now - (int64_t)interval && at <= (int64_t)now) {
		v = VACATION_RECENT;
	} else {
		if (db_run(db, "INSERT INTO vacation_replies(\"user\", sender, at) VALUES(?1, ?2, ?3)"
		    " ON CONFLICT(\"user\", sender) DO UPDATE SET at = excluded.at", "tti", u, snd,
		    (int64_t)now) < 0)
			goto fail;
		v = VACATION_SEND;
	}
	if (db_commit(db) == 0)
		return v;
fail:
	db_rollback(db);
	ev_err("store-error", KS("what", "vacation"), KS("user", u), KS("file", accounts_path(a)),
	    KS("error", db_errmsg(db)));
	return VACATION_FAILED;
}

int
accounts_vacation_expire(struct accounts *a, uint64_t interval, time_t now)
{
	struct db *db = accounts_db(a);

	if (db == NULL)
		return -1;
	if (interval > INT32_MAX)
		interval = INT32_MAX;
	/* A row from the future (the clock went back) goes too: it would block replies. */
	if (db_run(db, "DELETE FROM vacation_replies WHERE at <= ?1 OR at > ?2", "ii",
	    (int64_t)now - (int64_t)interval, (int64_t)now) < 0) {
		ev_err("store-error", KS("what", "vacation-expiry"), KS("file", accounts_path(a)),
		    KS("error", db_errmsg(db)));
		return -1;
	}
	int64_t n = db_changes(db);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
