/*
 * accounts_grey.c - greylisting's tables in the account store: greylist (one row
 * per triplet of client network, sender and recipient) and greylist_clients (the
 * passed deliveries per client network), the decision for one RCPT read, made
 * (lookup/greylist.h) and written back in one transaction, and the expiry of old
 * rows. Only lookupd writes them; the roles ask it (LK_GREYLIST).
 */
#include "accounts.h"
#include "accounts_int.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>

#include "lookup/greylist.h"
#include "lookup/lookup_client.h"
#include "util/log.h"

static int
read_row(struct db *db, const char *key, struct grey_row *row)
{
	struct db_stmt *s = db_query(db, "SELECT first_seen, last_seen, passed FROM greylist"
	    " WHERE key = ?1", "t", key);
	int rc = s != NULL ? db_step(s) : DB_FAIL;

	memset(row, 0, sizeof *row);
	if (rc == DB_ROW) {
		row->found = true;
		row->first_seen = (time_t)db_col_int(s, 0);
		row->last_seen = (time_t)db_col_int(s, 1);
		int64_t p = db_col_int(s, 2);
		row->passed = p > 0 ? (uint64_t)p : 0;
	}
	db_done(s);
	return rc == DB_FAIL ? -1 : 0;
}

static int
read_client(struct db *db, const char *net, struct grey_client *c)
{
	struct db_stmt *s = db_query(db, "SELECT passes, last_seen FROM greylist_clients"
	    " WHERE net = ?1", "t", net);
	int rc = s != NULL ? db_step(s) : DB_FAIL;

	memset(c, 0, sizeof *c);
	if (rc == DB_ROW) {
		c->found = true;
		int64_t p = db_col_int(s, 0);
		c->passes = p > 0 ? (uint64_t)p : 0;
		c->last_seen = (time_t)db_col_int(s, 1);
	}
	db_done(s);
	return rc == DB_FAIL ? -1 : 0;
}

/* clamp - a count as the store's (signed) integer. */
static int64_t
clamp(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int
write_back(struct db *db, const char *key, const char *net, const struct grey_decision *d)
{
	if (d->write_row && db_run(db, "INSERT INTO greylist(key, first_seen, last_seen, passed)"
	    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
	    " first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
	    " passed = excluded.passed", "tiii", key, (int64_t)d->row.first_seen,
	    (int64_t)d->row.last_seen, clamp(d->row.passed)) < 0)
		return -1;
	if (d->write_client && db_run(db, "INSERT INTO greylist_clients(net, passes, last_seen)"
	    " VALUES(?1, ?2, ?3) ON CONFLICT(net) DO UPDATE SET passes = excluded.passes,"
	    " last_seen = excluded.last_seen", "tii", net, clamp(d->client.passes),
	    (int64_t)d->client.last_seen) < 0)
		return -1;
	return 0;
}

enum grey_answer
accounts_greylist(struct accounts *a, const char *client_ip, const char *sender,
    const char *rcpt, uint64_t delay, time_t now)
{
	struct lookup_client *c = accounts_lookup(a);
	struct db *db = accounts_db(a);
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
	/* One writer: the read and the write of a triplet are one step, on every host. */
	if (db_begin(db) < 0)
		goto fail;
	if (read_row(db, key, &row) < 0 || read_client(db, net, &client) < 0)
		goto fail;
	grey_decide(&row, &client, now, (time_t)delay, &d);
	if (write_back(db, key, net, &d) < 0 || db_commit(db) < 0)
		goto fail;
	return d.answer;
fail:
	db_rollback(db);
	ev_err("store-error", KS("what", "greylist"), KS("file", accounts_path(a)),
	    KS("error", db_errmsg(db)));
	return GREY_FAILED;
}

int
accounts_greylist_trust(struct accounts *a, const char *client_ip, time_t now)
{
	struct lookup_client *c = accounts_lookup(a);
	struct db *db = accounts_db(a);
	char net[GREY_NET_MAX + 1];

	if (c != NULL)
		return lookup_greylist_trust(c, client_ip);
	if (db == NULL || grey_client_net(client_ip, net, sizeof net) < 0)
		return -1;
	/* As many passes as auto-allow a network: it is not greylisted from now on. */
	if (db_run(db, "INSERT INTO greylist_clients(net, passes, last_seen) VALUES(?1, ?2, ?3)"
	    " ON CONFLICT(net) DO UPDATE SET passes = CASE WHEN greylist_clients.passes > ?2"
	    " THEN greylist_clients.passes ELSE ?2 END, last_seen = ?3", "tii", net,
	    (int64_t)GREY_CLIENT_PASSES, (int64_t)now) < 0) {
		ev_err("store-error", KS("what", "greylist"), KS("file", accounts_path(a)),
		    KS("error", db_errmsg(db)));
		return -1;
	}
	return 0;
}

int
accounts_greylist_expire(struct accounts *a, uint64_t delay, time_t now)
{
	struct db *db = accounts_db(a);
	time_t passed_before, unpassed_before;

	if (db == NULL)
		return -1;
	if (delay > INT32_MAX)
		delay = INT32_MAX;
	grey_cutoffs(now, (time_t)delay, &passed_before, &unpassed_before);
	if (db_begin(db) < 0)
		goto fail;
	if (db_run(db, "DELETE FROM greylist WHERE (passed > 0 AND last_seen < ?1)"
	    " OR (passed = 0 AND first_seen < ?2)", "ii", (int64_t)passed_before,
	    (int64_t)unpassed_before) < 0)
		goto fail;
	int64_t gone = db_changes(db);
	if (db_run(db, "DELETE FROM greylist_clients WHERE last_seen < ?1", "i",
	    (int64_t)passed_before) < 0)
		goto fail;
	gone += db_changes(db);
	if (db_commit(db) < 0)
		goto fail;
	return gone > INT32_MAX ? INT32_MAX : (int)gone;
fail:
	db_rollback(db);
	ev_err("store-error", KS("what", "greylist-expiry"), KS("file", accounts_path(a)),
	    KS("error", db_errmsg(db)));
	return -1;
}
