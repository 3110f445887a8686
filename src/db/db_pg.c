/*
 * db_pg.c - the PostgreSQL driver of the store's executor (db.h), on libpq:
 * statements prepared on the server once per connection (with the types of
 * their first binding), values sent as text (blobs as binary), rows read as
 * text. A connection that breaks is made again at the next call, at once the
 * first time and then after a backoff that doubles to BACKOFF_MAX, so that a
 * server that is down costs each caller a quick "unreachable", not a wait.
 * Writing transactions take one advisory lock (db_begin): one writer at a time
 * across every host, as SQLite's BEGIN IMMEDIATE gives on one.
 */
#include "db/db_int.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define BACKOFF_MAX 30
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
/* "mailroom" as a number: the advisory lock of writing transactions. */
#define WRITE_LOCK "SELECT pg_advisory_xact_lock(7881696737372368749)"

struct pg_db {
	struct db base;
	PGconn *conn;
	char *dsn;
	unsigned gen;       /* connections made; a statement prepared on an older one is again */
	unsigned names;     /* statements named on the server */
	time_t next_try;    /* a broken connection is made again from then */
	unsigned backoff;   /* seconds */
	bool timeout_given; /* the connection string sets statement_timeout itself */
	bool down;          /* the last connection broke or could not be made (logged once) */
};

struct pg_stmt {
	struct db_stmt base;
	char *sql;          /* with $N */
	int nparams;
	unsigned gen;       /* 0: not prepared yet */
	char name[32];
	char *vals[DB_PARAMS_MAX];
	int lens[DB_PARAMS_MAX], fmts[DB_PARAMS_MAX];
	Oid types[DB_PARAMS_MAX];
	PGresult *res;
	int row, nrows;
};

static struct pg_db *
P(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *
S(struct db_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* gone - whether the connection is gone (not merely a query that failed). */
static bool
gone(struct pg_db *p)
{
	return p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK;
}

/* fail_res - the failure res (or, NULL, the connection) reports; returns -1. */
static int
fail_res(struct pg_db *p, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;

	if (msg == NULL || msg[0] == '\0')
		msg = p->conn ? PQerrorMessage(p->conn) : "no connection";
	/* Class 08: the connection; 57P0x: the server shutting down or starting. */
	bool down = gone(p) || (state != NULL && (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P0", 4) == 0));
	db_fail(&p->base, state != NULL && strcmp(state, "23505") == 0, down,
	    "PostgreSQL %s: %s", p->base.name, msg);
	if (down && !p->down) {
		ev_warn("store-connection-lost", KS("store", p->base.name), KS("error", p->base.err));
		p->down = true;
	}
	if (down && !gone(p)) {
		PQfinish(p->conn);
		p->conn = NULL;
	}
	if (down && p->backoff == 0)
		p->next_try = 0; /* the first try again is at once */
	return -1;
}

/* connect_now - a new connection: 0, or -1 with the failure recorded. */
static int
connect_now(struct pg_db *p)
{
	/* Ours first: the connection string's own values override them. */
	static const char *const keys[] = { "connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"application_name", "client_encoding", "dbname", NULL };
	/* Below the 5 s the roles wait for lookupd (lookup_client.c): a server that hangs
	 * is answered as down while the question still waits. */
	const char *vals[] = { "3", "10", "5", "3", "4000", "mailroom", "UTF8", p->dsn, NULL };

	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		db_fail(&p->base, false, true, "PostgreSQL %s: %s", p->base.name,
		    p->conn ? PQerrorMessage(p->conn) : "out of memory");
		PQfinish(p->conn);
		p->conn = NULL;
		return -1;
	}
	/* A query that hangs holds a worker of lookupd: bounded unless told otherwise. */
	if (!p->timeout_given) {
		PGresult *r = PQexec(p->conn, "SET statement_timeout = 4000");
		PQclear(r);
	}
	p->gen++;
	return 0;
}

/* ensure - a live connection, made again when it broke and its time has come. 0 or -1. */
static int
ensure(struct pg_db *p)
{
	if (!gone(p))
		return 0;
	if (p->base.in_tx) {
		db_fail(&p->base, false, true, "PostgreSQL %s: the connection was lost",
		    p->base.name);
		return -1;
	}
	time_t now = time(NULL);
	if (now < p->next_try) {
		db_fail(&p->base, false, true, "PostgreSQL %s: not reachable (tried again in %lld s)",
		    p->base.name, (long long)(p->next_try - now));
		return -1;
	}
	int rc = connect_now(p);
	if (rc == 0 && p->base.on_connect != NULL) {
		char why[sizeof p->base.err];
		if (p->base.on_connect(&p->base, p->base.on_connect_arg, why, sizeof why) < 0) {
			/* Refused, not absent: said every time it is tried, not only once. */
			ev_err("store-error", KS("what", "connect"), KS("store", p->base.name), KS("error", why));
			PQfinish(p->conn);
			p->conn = NULL;
			db_fail(&p->base, false, false, "%s", why);
			rc = -1;
		}
	}
	if (rc < 0) {
		if (!p->down && p->base.unreachable)
			ev_warn("store-error", KS("what", "connect"), KS("store", p->base.name), KS("error", p->base.err));
		p->down = true;
		p->backoff = p->backoff == 0 ? 1 : p->backoff * 2;
		if (p->backoff > BACKOFF_MAX)
			p->backoff = BACKOFF_MAX;
		p->next_try = now + p->backoff;
		return -1;
	}
	if (p->down)
		ev_info("store-connected", KS("store", p->base.name));
	p->down = false;
	p->backoff = 0;
	return 0;
}

static void
pg_close(struct db *db)
{
	PQfinish(P(db)->conn);
	free(P(db)->dsn);
	free(db);
}

static struct db_stmt *
pg_prepare(struct db *db, const char *sql)
{
	struct pg_stmt *s = calloc(1, sizeof *s);
	size_t n = strlen(sql) + 1;

	if (s == NULL || (s->sql = malloc(n)) == NULL) {
		free(s);
		db_fail(db, false, false, "out of memory");
		return NULL;
	}
	if (db_pg_sql(sql, s->sql, n, &s->nparams) < 0) {
		db_fail(db, false, false, "a statement's parameters are not ?1 to ?%d: %.80s",
		    DB_PARAMS_MAX, sql);
		free(s->sql);
		free(s);
		return NULL;
	}
	/* A parameter left unbound (NULL) the first time: the server infers its type. */
	for (int i = 0; i < DB_PARAMS_MAX; i++)
		s->types[i] = 0;
	return &s->base;
}

static void
clear_values(struct pg_stmt *s)
{
	for (int i = 0; i < DB_PARAMS_MAX; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
		s->lens[i] = s->fmts[i] = 0;
	}
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = S(st);

	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
	clear_values(s);
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = S(st);
	struct pg_db *p = P(st->db);

	/* Server-side statements go with their connection; closing one here is only tidy. */
	if (s->gen != 0 && s->gen == p->gen && !gone(p)) {
		char sql[64];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PGresult *r = PQexec(p->conn, sql);
		PQclear(r);
	}
	pg_reset(st);
	free(s->sql);
	free(s);
}

static int
set_value(struct pg_stmt *s, int i, const void *v, size_t n, int fmt, Oid type)
{
	char *copy = malloc(n + 1);

	if (copy == NULL || n > INT32_MAX) {
		free(copy);
		return -1;
	}
	memcpy(copy, v, n);
	copy[n] = '\0';
	free(s->vals[i - 1]);
	s->vals[i - 1] = copy;
	s->lens[i - 1] = (int)n;
	s->fmts[i - 1] = fmt;
	/* The type is the first binding's: it goes into the statement prepared. */
	if (s->gen == 0)
		s->types[i - 1] = type;
	return 0;
}

static int
pg_bind_text(struct db_stmt *s, int i, const char *v)
{
	return set_value(S(s), i, v, strlen(v), 0, OID_TEXT);
}

static int
pg_bind_int(struct db_stmt *s, int i, int64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof num, "%lld", (long long)v);
	return set_value(S(s), i, num, (size_t)n, 0, OID_INT8);
}

static int
pg_bind_blob(struct db_stmt *s, int i, const void *v, size_t n)
{
	return set_value(S(s), i, v, n, 1, OID_BYTEA);
}

/* run - prepare s on this connection when it is not yet, and execute it. 0 or -1. */
static int
run(struct pg_stmt *s)
{
	struct pg_db *p = P(s->base.db);

	if (ensure(p) < 0)
		return -1;
	if (s->gen != p->gen) {
		snprintf(s->name, sizeof s->name, "mr%u", ++p->names);
		PGresult *r = PQprepare(p->conn, s->name, s->sql, s->nparams, s->types);
		bool ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok) {
			fail_res(p, r);
			PQclear(r);
			return -1;
		}
		PQclear(r);
		s->gen = p->gen;
	}
	s->res = PQexecPrepared(p->conn, s->name, s->nparams, (const char *const *)s->vals,
	    s->lens, s->fmts, 0);
	ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK) {
		s->nrows = PQntuples(s->res);
		s->row = -1;
		return 0;
	}
	if (st == PGRES_COMMAND_OK) {
		const char *n = PQcmdTuples(s->res);
		p->base.changes = n[0] != '\0' ? strtoll(n, NULL, 10) : 0;
		s->nrows = 0;
		s->row = -1;
		return 0;
	}
	fail_res(p, s->res);
	PQclear(s->res);
	s->res = NULL;
	return -1;
}

static int
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = S(st);

	if (s->res == NULL && run(s) < 0)
		return DB_FAIL;
	if (++s->row < s->nrows)
		return DB_ROW;
	s->row = s->nrows;
	if (PQresultStatus(s->res) == PGRES_TUPLES_OK)
		st->db->changes = 0;
	return DB_DONE;
}

static bool
in_row(struct pg_stmt *s, int i)
{
	return s->res != NULL && s->row >= 0 && s->row < s->nrows && i >= 0 &&
	    i < PQnfields(s->res);
}

static int
pg_columns(struct db_stmt *st)
{
	return S(st)->res ? PQnfields(S(st)->res) : 0;
}

static bool
pg_col_null(struct db_stmt *st, int i)
{
	struct pg_stmt *s = S(st);
	return !in_row(s, i) || PQgetisnull(s->res, s->row, i);
}

static const char *
pg_col_text(struct db_stmt *st, int i)
{
	struct pg_stmt *s = S(st);
	return pg_col_null(st, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

static int64_t
pg_col_int(struct db_stmt *st, int i)
{
	const char *t = pg_col_text(st, i);
	return t != NULL ? strtoll(t, NULL, 10) : 0;
}

static long
pg_col_blob(struct db_stmt *st, int i, void *out, size_t outlen)
{
	struct pg_stmt *s = S(st);
	const char *t = pg_col_text(st, i);
	size_t n;

	if (t == NULL)
		return -1;
	if (PQftype(s->res, i) != OID_BYTEA) {
		n = strlen(t);
		if (n > outlen)
			return -1;
		memcpy(out, t, n);
		return (long)n;
	}
	unsigned char *raw = PQunescapeBytea((const unsigned char *)t, &n);
	long r = -1;
	if (raw != NULL && n <= outlen) {
		memcpy(out, raw, n);
		r = (long)n;
	}
	if (raw != NULL) {
		explicit_bzero(raw, n);
		PQfreemem(raw);
	}
	return r;
}

static int
pg_exec(struct db *db, const char *script)
{
	struct pg_db *p = P(db);
	bool ending = strcmp(script, "ROLLBACK") == 0;

	/* A rollback on a connection that is gone has nothing left to undo. */
	if (ending && gone(p))
		return 0;
	if (ensure(p) < 0)
		return -1;
	PGresult *r = PQexec(p->conn, script);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = fail_res(p, r);
	} else if (strcmp(script, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
		/* A transaction that failed answers COMMIT by rolling back: no success. */
		db_fail(&p->base, false, false, "PostgreSQL %s: the transaction was rolled back",
		    p->base.name);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static int
pg_begin(struct db *db)
{
	if (pg_exec(db, "BEGIN") < 0)
		return -1;
	if (pg_exec(db, WRITE_LOCK) < 0) {
		char why[sizeof db->err];
		bool down = db->unreachable;
		snprintf(why, sizeof why, "%s", db->err);
		pg_exec(db, "ROLLBACK");
		db_fail(db, false, down, "%s", why);
		return -1;
	}
	return 0;
}

static const struct db_ops pg_ops = {
	.close = pg_close,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_text = pg_bind_text,
	.bind_int = pg_bind_int,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.columns = pg_columns,
	.col_null = pg_col_null,
	.col_text = pg_col_text,
	.col_int = pg_col_int,
	.col_blob = pg_col_blob,
	.reset = pg_reset,
	.exec = pg_exec,
	.begin = pg_begin,
};

/* describe - "host=H port=P dbname=D" of dsn for messages, and whether it sets a statement_timeout. */
static int
describe(const char *dsn, char *out, size_t outlen, bool *timeout_given, char *err,
    size_t errlen)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(dsn, &why);

	if (opts == NULL) {
		snprintf(err, errlen, "[accounts] dsn: %s", why ? why : "out of memory");
		if (why != NULL) {
			for (char *c = err; *c != '\0'; c++)
				if (*c == '\n')
					*c = ' ';
			PQfreemem(why);
		}
		return -1;
	}
	size_t o = 0;
	out[0] = '\0';
	*timeout_given = false;
	for (PQconninfoOption *k = opts; k->keyword != NULL; k++) {
		if (k->val == NULL || k->val[0] == '\0')
			continue;
		if (strcmp(k->keyword, "host") == 0 || strcmp(k->keyword, "hostaddr") == 0 ||
		    strcmp(k->keyword, "port") == 0 || strcmp(k->keyword, "dbname") == 0) {
			int w = snprintf(out + o, outlen - o, "%s%s=%s", o ? " " : "", k->keyword,
			    k->val);
			if (w > 0 && (size_t)w < outlen - o)
				o += (size_t)w;
		}
		if (strcmp(k->keyword, "options") == 0 && strstr(k->val, "statement_timeout"))
			*timeout_given = true;
	}
	if (o == 0)
		snprintf(out, outlen, "(libpq defaults)");
	PQconninfoFree(opts);
	return 0;
}

struct db *
db_pg_open(const char *dsn, bool lazy, bool *unreachable, char *err, size_t errlen)
{
	char name[200];
	bool timeout_given;
	struct pg_db *p;

	if (unreachable != NULL)
		*unreachable = false;
	if (describe(dsn, name, sizeof name, &timeout_given, err, errlen) < 0)
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL || (p->dsn = strdup(dsn)) == NULL) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db_init(&p->base, &pg_ops, DB_PGSQL, name);
	p->timeout_given = timeout_given;
	if (!lazy && connect_now(p) < 0) {
		snprintf(err, errlen, "%s", db_errmsg(&p->base));
		if (unreachable != NULL)
			*unreachable = true;
		pg_close(&p->base);
		return NULL;
	}
	return &p->base;
}

size_t
db_pg_ports(const char *dsn, uint16_t *ports, size_t max)
{
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	const char *hosts = "", *portlist = "";
	size_t n = 0;

	if (opts == NULL)
		return 0;
	for (PQconninfoOption *k = opts; k->keyword != NULL; k++) {
		if (k->val == NULL)
			continue;
		if (strcmp(k->keyword, "host") == 0 || (strcmp(k->keyword, "hostaddr") == 0 &&
		    hosts[0] == '\0'))
			hosts = k->val;
		else if (strcmp(k->keyword, "port") == 0)
			portlist = k->val;
	}
	/* "h1,h2" with "p1,p2" (or one port for all); a host starting with '/' is a socket. */
	const char *h = hosts, *p = portlist;
	do {
		size_t hl = strcspn(h, ","), pl = strcspn(p, ",");
		long port = pl > 0 ? strtol(p, NULL, 10) : 5432;
		bool socket_dir = hl > 0 && h[0] == '/';
		if (!socket_dir && port > 0 && port < 65536 && n < max)
			ports[n++] = (uint16_t)port;
		h += hl + (h[hl] == ',');
		if (p[pl] == ',')
			p += pl + 1;
	} while (*h != '\0');
	PQconninfoFree(opts);
	return n;
}

size_t
db_pg_files(const char *dsn, char (*paths)[DB_PATH_MAX], size_t max)
{
	static const char *const keys[] = { "passfile", "sslrootcert", "sslcert", "sslkey",
		"sslcrl", "sslcrldir" };
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	size_t n = 0;

	for (PQconninfoOption *k = opts; k != NULL && k->keyword != NULL; k++) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (k->val != NULL && k->val[0] != '\0' && strcmp(k->keyword, keys[i]) == 0 &&
			    n < max)
				snprintf(paths[n++], DB_PATH_MAX, "%s", k->val);
	}
	PQconninfoFree(opts);
	/* libpq's defaults: the password file and the client certificates of the user */
	const char *env = getenv("PGPASSFILE");
	if (env != NULL && env[0] != '\0' && n < max)
		snprintf(paths[n++], DB_PATH_MAX, "%s", env);
	struct passwd *pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL) {
		if (n < max)
			snprintf(paths[n++], DB_PATH_MAX, "%s/.pgpass", pw->pw_dir);
		if (n < max)
			snprintf(paths[n++], DB_PATH_MAX, "%s/.postgresql", pw->pw_dir);
	}
	return n;
}
