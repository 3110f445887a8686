/*
 * accounts_grey.c - greylisting's tables in the account store: greylist (one row
 * per triplet of client network, sender and recipient) and greylist_clients (the
 * passed deliveries per client network), the decision for one RCPT read, made
 * (lookup/greylist.h) and written back in one transaction, and the expiry of old
 * rows. Only lookupd writes them; the roles ask it (LK_GREYLIST).
 */
#include "accounts.h"
#include "accounts_int.h"

#include <stdio.h>
#include <string.h>

#include "lookup/greylist.h"
#include "lookup/lookup_client.h"
#include "util/log.h"

static const char grey_schema[] =
    "CREATE TABLE IF NOT EXISTS greylist(key TEXT PRIMARY KEY NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " passed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS greylist_clients(net TEXT PRIMARY KEY NOT NULL,"
    " passes INTEGER NOT NULL DEFAULT 0, last_seen INTEGER NOT NULL);";

int
accounts_grey_schema(sqlite3 *db, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, grey_schema, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	accounts_fail(err, errlen, ACCT_ERR_STORE,
	    "accounts database: greylist: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/*
 * exec_row - prepare sql, bind text t1 (when not NULL) and then ints, and step
 * once; the sqlite code. A row is left in *keep for the caller to finalize.
 */
static int
exec_row(sqlite3 *db, const char *sql, const char *t1, const int64_t *ints, int nints,
    sqlite3_stmt **keep)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	int i = 1;
	if (t1 != NULL && sqlite3_bind_text(s, i++, t1, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		goto out;
	for (int k = 0; k < nints; k++)
		if (sqlite3_bind_int64(s, i++, ints[k]) != SQLITE_OK)
			goto out;
	rc = sqlite3_step(s);
	if (keep != NULL && rc == SQLITE_ROW) {
		*keep = s;
		return rc;
	}
out:
	sqlite3_finalize(s);
	return rc;
}

static int
read_row(sqlite3 *db, const char *key, struct grey_row *row)
{
	sqlite3_stmt *s = NULL;

	memset(row, 0, sizeof *row);
	int rc = exec_row(db, "SELECT first_seen, last_seen, passed FROM greylist WHERE key = ?1",
	    key, NULL, 0, &s);
	if (rc == SQLITE_ROW) {
		row->found = true;
		row->first_seen = (time_t)sqlite3_column_int64(s, 0);
		row->last_seen = (time_t)sqlite3_column_int64(s, 1);
		int64_t p = sqlite3_column_int64(s, 2);
		row->passed = p > 0 ? (uint64_t)p : 0;
		sqlite3_finalize(s);
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
read_client(sqlite3 *db, const char *net, struct grey_client *c)
{
	sqlite3_stmt *s = NULL;

	memset(c, 0, sizeof *c);
	int rc = exec_row(db, "SELECT passes, last_seen FROM greylist_clients WHERE net = ?1",
	    net, NULL, 0, &s);
	if (rc == SQLITE_ROW) {
		c->found = true;
		int64_t p = sqlite3_column_int64(s, 0);
		c->passes = p > 0 ? (uint64_t)p : 0;
		c->last_seen = (time_t)sqlite3_column_int64(s, 1);
		sqlite3_finalize(s);
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* clamp - a count as SQLite's integer. */
static int64_t
clamp(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int
write_back(sqlite3 *db, const char *key, const char *net, const struct grey_decision *d)
{
	if (d->write_row) {
		int64_t v[3] = { d->row.first_seen, d->row.last_seen, clamp(d->row.passed) };
		if (exec_row(db, "INSERT OR REPLACE INTO greylist(key, first_seen, last_seen, passed)"
		    " VALUES(?1, ?2, ?3, ?4)", key, v, 3, NULL) != SQLITE_DONE)
			return -1;
	}
	if (d->write_client) {
		int64_t v[2] = { clamp(d->client.passes), d->client.last_seen };
		if (exec_row(db, "INSERT OR REPLACE INTO greylist_clients(net, passes, last_seen)"
		    " VALUES(?1, ?2, ?3)", net, v, 2, NULL) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/* simple - BEGIN, COMMIT, ROLLBACK. */
static int
simple(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

enum grey_answer
accounts_greylist(struct accounts *a, const char *client_ip, const char *sender,
    const char *rcpt, uint64_t delay, time_t now)
{
	struct lookup_client *c = accounts_lookup(a);
	sqlite3 *db = accounts_sqlite(a);
	char key[GREY_KEY_MAX + 1], net[GREY_NET_MAX + 1];
	struct grey_row row;
	struct grey_client client;
	struct grey_decision d;

	if (c != NULL)
		return lookup_greylist(c, client_ip, sender, rcpt, delay);
	if (db == NULL)
		return GREY_FAILED;
	if (grey_key(client_ip, sender, rcpt, key, sizeof key) < 0 ||
	    grey_client_net(client_ip, net, sizeof net) < 0) {
		ev_warn("greylist-error", KS("client", client_ip), KA("from", sender), KA("to", rcpt),
		    KS("error", "no triplet"));
		return GREY_FAILED;
	}
	if (delay > INT32_MAX)
		delay = INT32_MAX;
	/* IMMEDIATE: the read and the write of a triplet are one step. */
	if (simple(db, "BEGIN IMMEDIATE") < 0)
		goto fail;
	if (read_row(db, key, &row) < 0 || read_client(db, net, &client) < 0)
		goto rollback;
	grey_decide(&row, &client, now, (time_t)delay, &d);
	if (write_back(db, key, net, &d) < 0 || simple(db, "COMMIT") < 0)
		goto rollback;
	return d.answer;
rollback:
	if (sqlite3_get_autocommit(db) == 0)
		simple(db, "ROLLBACK");
fail:
	ev_err("store-error", KS("what", "greylist"), KS("file", accounts_path(a)),
	    KS("error", sqlite3_errmsg(db)));
	return GREY_FAILED;
}

int
accounts_greylist_trust(struct accounts *a, const char *client_ip, time_t now)
{
	struct lookup_client *c = accounts_lookup(a);
	sqlite3 *db = accounts_sqlite(a);
	char net[GREY_NET_MAX + 1];

	if (c != NULL)
		return lookup_greylist_trust(c, client_ip);
	if (db == NULL || grey_client_net(client_ip, net, sizeof net) < 0)
		return -1;
	/* As many passes as auto-allow a network: it is not greylisted from now on. */
	int64_t v[2] = { GREY_CLIENT_PASSES, now };
	if (exec_row(db, "INSERT INTO greylist_clients(net, passes, last_seen) VALUES(?1, ?2, ?3)"
	    " ON CONFLICT(net) DO UPDATE SET passes = max(passes, ?2), last_seen = ?3", net, v, 2,
	    NULL) != SQLITE_DONE) {
		ev_err("store-error", KS("what", "greylist"), KS("file", accounts_path(a)),
		    KS("error", sqlite3_errmsg(db)));
		return -1;
	}
	return 0;
}

int
accounts_greylist_expire(struct accounts *a, uint64_t delay, time_t now)
{
	sqlite3 *db = accounts_sqlite(a);
	time_t passed_before, unpassed_before;

	if (db == NULL)
		return -1;
	if (delay > INT32_MAX)
		delay = INT32_MAX;
	grey_cutoffs(now, (time_t)delay, &passed_before, &unpassed_before);
	int64_t v[2] = { passed_before, unpassed_before }, vc[1] = { passed_before };
	if (simple(db, "BEGIN IMMEDIATE") < 0)
		goto fail;
	if (exec_row(db, "DELETE FROM greylist WHERE (passed > 0 AND last_seen < ?1)"
	    " OR (passed = 0 AND first_seen < ?2)", NULL, v, 2, NULL) != SQLITE_DONE)
		goto rollback;
	int gone = sqlite3_changes(db);
	if (exec_row(db, "DELETE FROM greylist_clients WHERE last_seen < ?1", NULL, vc, 1,
	    NULL) != SQLITE_DONE)
		goto rollback;
	gone += sqlite3_changes(db);
	if (simple(db, "COMMIT") < 0)
		goto rollback;
	return gone;
rollback:
	if (sqlite3_get_autocommit(db) == 0)
		simple(db, "ROLLBACK");
fail:
	ev_err("store-error", KS("what", "greylist-expiry"), KS("file", accounts_path(a)),
	    KS("error", sqlite3_errmsg(db)));
	return -1;
}
