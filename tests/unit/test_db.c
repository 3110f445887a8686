/*
 * test_db.c - unit tests for the store's SQL executor (db/db.h) on SQLite, the
 * PostgreSQL driver's placeholder rewriting, and the schema's versions
 * (accounts_schema.c): a store of before versions upgraded with its data, and a
 * store of a newer mailroom refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "accounts.h"
#include "db/db.h"

static void
test_pg_placeholders(void **state)
{
	char out[256];
	int n = -1;

	assert_int_equal(db_pg_sql("SELECT 1 FROM t WHERE a = ?1 AND b = ?2", out, sizeof out, &n), 0);
	assert_string_equal(out, "SELECT 1 FROM t WHERE a = $1 AND b = $2");
	assert_int_equal(n, 2);
	/* out of order, repeated, and inside quotes left alone */
	assert_int_equal(db_pg_sql("UPDATE t SET x = ?3 WHERE y = ?1 AND z = '?2' AND \"w?\" = ?3",
	    out, sizeof out, &n), 0);
	assert_string_equal(out, "UPDATE t SET x = $3 WHERE y = $1 AND z = '?2' AND \"w?\" = $3");
	assert_int_equal(n, 3);
	assert_int_equal(db_pg_sql("SELECT 'it''s ?1', ?12", out, sizeof out, &n), 0);
	assert_string_equal(out, "SELECT 'it''s ?1', $12");
	assert_int_equal(n, 12);
	assert_int_equal(db_pg_sql("SELECT 1", out, sizeof out, &n), 0);
	assert_int_equal(n, 0);
	/* a bare ?, one past the limit, an open quote, no room */
	assert_int_equal(db_pg_sql("SELECT ?", out, sizeof out, &n), -1);
	assert_int_equal(db_pg_sql("SELECT ?17", out, sizeof out, &n), -1);
	assert_int_equal(db_pg_sql("SELECT ?0", out, sizeof out, &n), -1);
	assert_int_equal(db_pg_sql("SELECT 'x", out, sizeof out, &n), -1);
	assert_int_equal(db_pg_sql("SELECT ?1", out, 6, &n), -1);
}

static void
test_pg_ports(void **state)
{
	uint16_t ports[4];

	assert_int_equal(db_pg_ports("host=db1 dbname=m", ports, 4), 1);
	assert_int_equal(ports[0], 5432);
	assert_int_equal(db_pg_ports("host=db1,db2 port=5433,5434 dbname=m", ports, 4), 2);
	assert_int_equal(ports[0], 5433);
	assert_int_equal(ports[1], 5434);
	/* one port for every host; a socket directory needs none */
	assert_int_equal(db_pg_ports("host=/run/postgresql,db2 port=6000", ports, 4), 1);
	assert_int_equal(ports[0], 6000);
	assert_int_equal(db_pg_ports("postgresql://u@db3:7000/m", ports, 4), 1);
	assert_int_equal(ports[0], 7000);
	assert_int_equal(db_pg_ports("not a = dsn =", ports, 4), 0);
}

static char dir[64];

/* new_dir - a fresh directory in dir (mkdtemp's template: its six X are replaced). */
static void
new_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static struct db *
fresh(void)
{
	char path[128], err[256];

	new_dir();
	snprintf(path, sizeof path, "%s/t.db", dir);
	struct db *db = db_sqlite_open(path, true, err, sizeof err);
	assert_non_null(db);
	return db;
}

static void
cleanup(void)
{
	static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm", "accounts.db",
		"accounts.db-wal", "accounts.db-shm" };
	char p[128];

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void
test_sqlite_executor(void **state)
{
	struct db *db = fresh();
	int64_t v = 0;

	assert_int_equal(db_backend(db), DB_SQLITE);
	assert_int_equal(db_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, n INTEGER, b BLOB)"), 0);
	assert_int_equal(db_run(db, "INSERT INTO t(k, n, b) VALUES(?1, ?2, ?3)", "tib", "a",
	    (int64_t)5, "\0\1\2", (size_t)3), 0);
	assert_int_equal(db_changes(db), 1);
	/* the same key again: a duplicate, told apart from other failures */
	assert_int_equal(db_run(db, "INSERT INTO t(k, n) VALUES(?1, ?2)", "ti", "a", (int64_t)6), -1);
	assert_true(db_duplicate(db));
	assert_false(db_unreachable(db));
	assert_int_equal(db_run(db, "INSERT INTO nosuch VALUES(1)", ""), -1);
	assert_false(db_duplicate(db));
	assert_non_null(strstr(db_errmsg(db), "nosuch"));
	assert_int_equal(db_int(db, &v, "SELECT n FROM t WHERE k = ?1", "t", "a"), 1);
	assert_int_equal(v, 5);
	assert_int_equal(db_int(db, &v, "SELECT n FROM t WHERE k = ?1", "t", "zz"), 0);
	/* parameters skipped ('-') are NULL */
	assert_int_equal(db_run(db, "INSERT INTO t(k, n) VALUES(?2, ?1)", "-t", "b"), 0);
	struct db_stmt *s = db_query(db, "SELECT n, b FROM t WHERE k = ?1", "t", "b");
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	assert_true(db_col_null(s, 0));
	assert_null(db_col_text(s, 0));
	db_done(s);
	s = db_query(db, "SELECT n, b FROM t WHERE k = ?1", "t", "a");
	unsigned char raw[8];
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_blob(s, 1, raw, sizeof raw), 3);
	assert_memory_equal(raw, "\0\1\2", 3);
	assert_int_equal(db_col_blob(s, 1, raw, 2), -1);
	/* the same statement again while the first is being read: one of its own */
	struct db_stmt *s2 = db_query(db, "SELECT n, b FROM t WHERE k = ?1", "t", "a");
	assert_non_null(s2);
	assert_ptr_not_equal(s, s2);
	assert_int_equal(db_step(s2), DB_ROW);
	assert_int_equal(db_col_int(s2, 0), 5);
	db_done(s2);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	/* a rolled back transaction leaves nothing; a committed one stays */
	assert_int_equal(db_begin(db), 0);
	assert_true(db_in_tx(db));
	assert_int_equal(db_begin(db), -1);
	assert_int_equal(db_run(db, "DELETE FROM t", ""), 0);
	db_rollback(db);
	assert_false(db_in_tx(db));
	assert_int_equal(db_int(db, &v, "SELECT count(*) FROM t", ""), 1);
	assert_int_equal(v, 2);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_run(db, "DELETE FROM t WHERE k = ?1", "t", "b"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_int(db, &v, "SELECT count(*) FROM t", ""), 1);
	assert_int_equal(v, 1);
	db_close(db);
	cleanup();
}

/* sql - run a script on the store file directly, as an older mailroom would have. */
static void
sql(const char *script)
{
	char path[128];
	sqlite3 *h;

	snprintf(path, sizeof path, "%s/accounts.db", dir);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(h, script, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s", msg);
	sqlite3_close(h);
}

static void
test_upgrade_keeps_data(void **state)
{
	char err[512] = "";
	struct strlist l = { 0 };

	new_dir();
	/* the tables of before versions, with aliases ordered only by rowid */
	sql("CREATE TABLE domains(name TEXT PRIMARY KEY NOT NULL);"
	    "CREATE TABLE users(address TEXT PRIMARY KEY NOT NULL, domain TEXT NOT NULL,"
	    " hash TEXT NOT NULL, quota INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE aliases(source TEXT NOT NULL, target TEXT NOT NULL,"
	    " PRIMARY KEY(source, target));"
	    "INSERT INTO domains VALUES('a.test');"
	    "INSERT INTO aliases VALUES('x@a.test', 'z@remote.test');"
	    "INSERT INTO aliases VALUES('x@a.test', 'b@remote.test');"
	    "PRAGMA user_version = 1;");
	struct accounts *a = accounts_open(dir, false, err, sizeof err);
	if (a == NULL)
		fail_msg("%s", err);
	assert_int_equal(accounts_schema_from(a), 1);
	assert_int_equal(accounts_alias_targets(a, "x@a.test", &l, err, sizeof err), 1);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "z@remote.test");
	assert_string_equal(l.v[1], "b@remote.test");
	strlist_free(&l);
	/* a target added now comes after them */
	const char *t[] = { "a@remote.test" };
	assert_int_equal(accounts_alias_add(a, "x@a.test", t, 1, err, sizeof err), 0);
	assert_int_equal(accounts_alias_list(a, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "x@a.test z@remote.test,b@remote.test,a@remote.test");
	strlist_free(&l);
	/* the tables that came later are there */
	assert_int_equal(accounts_greylist(a, "192.0.2.1", "s@r.test", "x@a.test", 60, 1000),
	    GREY_LISTED);
	accounts_close(a);
	a = accounts_open(dir, false, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(accounts_schema_from(a), 2);
	accounts_close(a);
	cleanup();
}

static void
test_newer_schema_refused(void **state)
{
	char err[512] = "";

	new_dir();
	struct accounts *a = accounts_open(dir, true, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(accounts_schema_from(a), 0);
	accounts_close(a);
	sql("UPDATE schema_version SET version = 99");
	assert_null(accounts_open(dir, false, err, sizeof err));
	assert_non_null(strstr(err, "schema version 99 is newer than this mailroom knows (2)"));
	assert_null(strchr(err, '\n'));
	/* with create too: never made over */
	assert_null(accounts_open(dir, true, err, sizeof err));
	assert_non_null(strstr(err, "is newer"));
	cleanup();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_placeholders),
		cmocka_unit_test(test_pg_ports),
		cmocka_unit_test(test_sqlite_executor),
		cmocka_unit_test(test_upgrade_keeps_data),
		cmocka_unit_test(test_newer_schema_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
