/*
 * test_accounts.c - unit tests for accounts.c and password.c: domains, users,
 * aliases and address resolution against a database in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "accounts.h"
#include "password.h"

struct fixture {
	char dir[64];
	struct accounts *a;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512] = "";

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/test_accounts.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->a = accounts_open(f->dir, true, err, sizeof err);
	if (f->a == NULL) {
		fprintf(stderr, "accounts_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = { "accounts.db", "accounts.db-wal", "accounts.db-shm" };
	char p[128];

	accounts_close(f->a);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ok - an admin call must succeed. */
#define ok(call) do { \
	char err[512] = ""; \
	if ((call) != 0) \
		fail_msg("%s failed: %s", #call, err); \
} while (0)

/* fails - an admin call must fail with exactly this message. */
#define fails(call, msg) do { \
	char err[512] = ""; \
	if ((call) == 0) \
		fail_msg("%s succeeded", #call); \
	assert_string_equal(err, msg); \
} while (0)

#define ERR err, sizeof err

static void
add_user(struct accounts *a, const char *addr)
{
	ok(accounts_user_add(a, addr, "secret", 0, ERR));
}

static void
add_alias(struct accounts *a, const char *source, const char *t1, const char *t2,
    const char *t3)
{
	const char *v[3] = { t1, t2, t3 };
	size_t n = t3 ? 3 : t2 ? 2 : 1;
	ok(accounts_alias_add(a, source, v, n, ERR));
}

/*
 * expect_resolve - resolve addr into a fresh list; want is the expected targets
 * as "L:addr" / "R:addr" joined by spaces, in order.
 */
static void
expect_resolve(struct accounts *a, const char *addr, enum resolve_status st, const char *want)
{
	struct target_list tl = { 0 };
	char got[2048] = "";

	enum resolve_status r = accounts_resolve(a, addr, &tl);
	for (size_t i = 0; i < tl.n; i++) {
		size_t len = strlen(got);
		snprintf(got + len, sizeof got - len, "%s%c:%s", i ? " " : "",
		    tl.v[i].kind == TARGET_LOCAL ? 'L' : 'R', tl.v[i].addr);
	}
	target_list_free(&tl);
	if (r != st)
		fail_msg("resolve %s: status %d, want %d (targets: %s)", addr, r, st, got);
	assert_string_equal(got, want);
}

static void
domain_setup(struct accounts *a)
{
	ok(accounts_domain_add(a, "example.test", ERR));
	ok(accounts_domain_add(a, "other.test", ERR));
}

/* ---- opening ---- */

static void
test_open_requires_init(void **state)
{
	char dir[] = "/tmp/test_accounts_noinit.XXXXXX", err[512] = "";

	assert_non_null(mkdtemp(dir));
	assert_null(accounts_open(dir, false, err, sizeof err));
	assert_non_null(strstr(err, "run 'mailroom init' first"));
	assert_non_null(strstr(err, dir));
	rmdir(dir);
}

static void
test_db_mode(void **state)
{
	struct fixture *f = *state;
	char p[128];
	struct stat st;

	snprintf(p, sizeof p, "%s/accounts.db", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* it holds password hashes */
}

/* ---- domains ---- */

static void
test_domains(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	struct strlist l = { 0 };

	ok(accounts_domain_add(a, "b.test", ERR));
	ok(accounts_domain_add(a, "A.Test", ERR));
	fails(accounts_domain_add(a, "a.TEST", ERR), "domain exists: a.test");
	fails(accounts_domain_add(a, "bad_domain", ERR), "malformed domain: bad_domain");
	fails(accounts_domain_add(a, "", ERR), "malformed domain: ");
	fails(accounts_domain_add(a, "[127.0.0.1]", ERR), "malformed domain: [127.0.0.1]");
	ok(accounts_domain_list(a, &l, ERR));
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a.test");
	assert_string_equal(l.v[1], "b.test");
	strlist_free(&l);

	assert_true(accounts_domain_is_local(a, "a.test"));
	assert_true(accounts_domain_is_local(a, "A.TEST"));
	assert_false(accounts_domain_is_local(a, "c.test"));
	assert_false(accounts_domain_is_local(a, NULL));

	ok(accounts_domain_del(a, "A.test", ERR));
	fails(accounts_domain_del(a, "a.test", ERR), "no such domain: a.test");
	assert_false(accounts_domain_is_local(a, "a.test"));

	/* not while it holds users or aliases */
	add_user(a, "u@b.test");
	add_alias(a, "x@b.test", "u@b.test", NULL, NULL);
	add_alias(a, "@b.test", "u@b.test", "far@away.test", NULL);
	fails(accounts_domain_del(a, "b.test", ERR), "domain not empty: b.test (1 users, 2 aliases)");
	ok(accounts_user_del(a, "u@b.test", ERR));
	ok(accounts_alias_del(a, "x@b.test", ERR));
	fails(accounts_domain_del(a, "b.test", ERR), "domain not empty: b.test (0 users, 1 aliases)");
	ok(accounts_alias_del(a, "@B.test", ERR));
	ok(accounts_domain_del(a, "b.test", ERR));
}

/* ---- users ---- */

static void
test_users(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	struct strlist l = { 0 };
	char hash[PASSWORD_HASH_MAX];

	domain_setup(a);
	ok(accounts_user_add(a, "Alice@Example.TEST", "pw-alice", 0, ERR));
	ok(accounts_user_add(a, "bob@example.test", "pw-bob", 5 * 1024 * 1024, ERR));
	ok(accounts_user_add(a, "carol@other.test", "pw-carol", 0, ERR));
	fails(accounts_user_add(a, "ALICE@example.test", "x", 0, ERR),
	    "user exists: alice@example.test");
	fails(accounts_user_add(a, "dave@nowhere.test", "x", 0, ERR), "no such domain: nowhere.test");
	fails(accounts_user_add(a, "dave@example.test", "", 0, ERR), "empty password");
	fails(accounts_user_add(a, "dave@example.test", NULL, 0, ERR), "empty password");
	fails(accounts_user_add(a, "not an address", "x", 0, ERR),
	    "malformed address: not an address");
	fails(accounts_user_add(a, "a/b@example.test", "x", 0, ERR),
	    "address not usable as a mailbox name: a/b@example.test");
	fails(accounts_user_add(a, "\"a b\"@example.test", "x", 0, ERR),
	    "address not usable as a mailbox name: \"a b\"@example.test");

	ok(accounts_user_list(a, NULL, &l, ERR));
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "alice@example.test 0");
	assert_string_equal(l.v[1], "bob@example.test 5242880");
	assert_string_equal(l.v[2], "carol@other.test 0");
	strlist_free(&l);
	ok(accounts_user_list(a, "Other.Test", &l, ERR));
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "carol@other.test 0");
	strlist_free(&l);
	fails(accounts_user_list(a, "nowhere.test", &l, ERR), "no such domain: nowhere.test");
	assert_int_equal(l.n, 0);

	uint64_t quota = 1;
	assert_int_equal(accounts_user_quota(a, "BOB@example.test", &quota), 1);
	assert_int_equal(quota, 5242880);
	assert_int_equal(accounts_user_quota(a, "alice@example.test", &quota), 1);
	assert_int_equal(quota, 0);
	assert_int_equal(accounts_user_quota(a, "nobody@example.test", &quota), 0);
	assert_int_equal(accounts_user_quota(a, "garbage", &quota), 0);

	assert_int_equal(accounts_password_hash(a, "alice@EXAMPLE.test", hash, sizeof hash), 1);
	assert_true(strncmp(hash, "$y$", 3) == 0);
	assert_true(password_verify("pw-alice", hash));
	assert_false(password_verify("pw-bob", hash));
	assert_int_equal(accounts_password_hash(a, "nobody@example.test", hash, sizeof hash), 0);
	assert_int_equal(accounts_password_hash(a, "garbage", hash, sizeof hash), 0);

	ok(accounts_user_passwd(a, "Alice@example.test", "new-pw", ERR));
	assert_int_equal(accounts_password_hash(a, "alice@example.test", hash, sizeof hash), 1);
	assert_true(password_verify("new-pw", hash));
	assert_false(password_verify("pw-alice", hash));
	fails(accounts_user_passwd(a, "nobody@example.test", "x", ERR),
	    "no such user: nobody@example.test");
	fails(accounts_user_passwd(a, "alice@example.test", "", ERR), "empty password");

	ok(accounts_user_del(a, "BOB@EXAMPLE.TEST", ERR));
	fails(accounts_user_del(a, "bob@example.test", ERR), "no such user: bob@example.test");
	assert_int_equal(accounts_user_quota(a, "bob@example.test", &quota), 0);
}

/* ---- aliases ---- */

static void
test_aliases(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	struct strlist l = { 0 };

	domain_setup(a);
	add_alias(a, "Team@Example.test", "alice@example.test", "Friend@Remote.TEST", NULL);
	/* adding to an existing source adds the new targets only */
	add_alias(a, "team@example.test", "bob@example.test", "alice@example.test", NULL);
	add_alias(a, "@other.test", "alice@example.test", NULL, NULL);
	const char *bad[] = { "ok@example.test", "not an address" };
	fails(accounts_alias_add(a, "x@example.test", bad, 2, ERR),
	    "malformed address: not an address");
	const char *one[] = { "alice@example.test" };
	fails(accounts_alias_add(a, "x@nowhere.test", one, 1, ERR), "no such domain: nowhere.test");
	fails(accounts_alias_add(a, "@nowhere.test", one, 1, ERR), "no such domain: nowhere.test");
	fails(accounts_alias_add(a, "@bad_domain", one, 1, ERR), "malformed address: @bad_domain");
	fails(accounts_alias_add(a, "x@", one, 1, ERR), "malformed address: x@");
	fails(accounts_alias_add(a, "x@example.test", one, 0, ERR),
	    "no targets for alias x@example.test");

	ok(accounts_alias_list(a, &l, ERR));
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "@other.test alice@example.test");
	assert_string_equal(l.v[1],
	    "team@example.test alice@example.test,Friend@remote.test,bob@example.test");
	strlist_free(&l);

	ok(accounts_alias_del(a, "TEAM@example.test", ERR));
	fails(accounts_alias_del(a, "team@example.test", ERR), "no such alias: team@example.test");
	fails(accounts_alias_del(a, "junk", ERR), "malformed address: junk");
	ok(accounts_alias_list(a, &l, ERR));
	assert_int_equal(l.n, 1);
	strlist_free(&l);
}

/* ---- resolution ---- */

static void
test_resolve_users(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	domain_setup(a);
	add_user(a, "alice@example.test");
	add_user(a, "a+b@example.test");
	expect_resolve(a, "alice@example.test", RESOLVE_OK, "L:alice@example.test");
	expect_resolve(a, "ALICE@Example.TEST", RESOLVE_OK, "L:alice@example.test");
	expect_resolve(a, "\"alice\"@example.test", RESOLVE_OK, "L:alice@example.test");
	expect_resolve(a, "alice+news@example.test", RESOLVE_OK, "L:alice@example.test");
	expect_resolve(a, "Alice+News+More@example.test", RESOLVE_OK, "L:alice@example.test");
	/* a user whose name has a '+' is found exactly before the tag is cut */
	expect_resolve(a, "a+b@example.test", RESOLVE_OK, "L:a+b@example.test");
	expect_resolve(a, "nobody@example.test", RESOLVE_NO_SUCH_USER, "");
	expect_resolve(a, "postmaster@example.test", RESOLVE_NO_SUCH_USER, "");
	expect_resolve(a, "alice@other.test", RESOLVE_NO_SUCH_USER, "");
	expect_resolve(a, "alice@remote.test", RESOLVE_NOT_LOCAL, "");
	expect_resolve(a, "alice@[127.0.0.1]", RESOLVE_NOT_LOCAL, "");
	expect_resolve(a, "not an address", RESOLVE_NO_SUCH_USER, "");
}

static void
test_resolve_catchall(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	domain_setup(a);
	add_user(a, "alice@example.test");
	add_user(a, "bob@example.test");
	add_alias(a, "@example.test", "alice@example.test", NULL, NULL);
	expect_resolve(a, "random@example.test", RESOLVE_OK, "L:alice@example.test");
	expect_resolve(a, "Postmaster@EXAMPLE.test", RESOLVE_OK, "L:alice@example.test");
	/* users and their tags come before the catch-all */
	expect_resolve(a, "bob@example.test", RESOLVE_OK, "L:bob@example.test");
	expect_resolve(a, "bob+x@example.test", RESOLVE_OK, "L:bob@example.test");
	/* only for its own domain */
	expect_resolve(a, "random@other.test", RESOLVE_NO_SUCH_USER, "");
}

static void
test_resolve_aliases(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	domain_setup(a);
	add_user(a, "alice@example.test");
	add_user(a, "bob@example.test");
	add_user(a, "carol@other.test");
	add_user(a, "dave@example.test");

	add_alias(a, "team@example.test", "alice@example.test", "Bob@Example.test",
	    "Friend@Remote.TEST");
	expect_resolve(a, "team@example.test", RESOLVE_OK,
	    "L:alice@example.test L:bob@example.test R:Friend@remote.test");
	expect_resolve(a, "TEAM+x@example.test", RESOLVE_OK,
	    "L:alice@example.test L:bob@example.test R:Friend@remote.test");

	/* a chain across domains */
	add_alias(a, "a1@example.test", "a2@other.test", NULL, NULL);
	add_alias(a, "a2@other.test", "a3@example.test", NULL, NULL);
	add_alias(a, "a3@example.test", "carol+lists@other.test", NULL, NULL);
	expect_resolve(a, "a1@example.test", RESOLVE_OK, "L:carol@other.test");

	/* an exact alias comes before the user: forwarding away */
	add_alias(a, "dave@example.test", "dave@remote.test", NULL, NULL);
	expect_resolve(a, "dave@example.test", RESOLVE_OK, "R:dave@remote.test");
	/* keep a copy and forward: the alias names the user itself */
	add_alias(a, "bob@example.test", "bob@example.test", "bob@remote.test", NULL);
	expect_resolve(a, "bob@example.test", RESOLVE_OK, "L:bob@example.test R:bob@remote.test");
	expect_resolve(a, "bob+tag@example.test", RESOLVE_OK,
	    "L:bob@example.test R:bob@remote.test");

	/* a tagged alias source is its own alias */
	add_alias(a, "alice+spam@example.test", "alice+spam@remote.test", NULL, NULL);
	expect_resolve(a, "alice+spam@example.test", RESOLVE_OK, "R:alice+spam@remote.test");
	expect_resolve(a, "alice+ham@example.test", RESOLVE_OK, "L:alice@example.test");
}

static void
test_resolve_loops(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	domain_setup(a);
	add_user(a, "alice@example.test");

	/* a loop that never reaches a mailbox ends nowhere */
	add_alias(a, "l1@example.test", "l2@example.test", NULL, NULL);
	add_alias(a, "l2@example.test", "l1@example.test", NULL, NULL);
	expect_resolve(a, "l1@example.test", RESOLVE_NO_SUCH_USER, "");
	add_alias(a, "self@example.test", "self@example.test", NULL, NULL);
	expect_resolve(a, "self@example.test", RESOLVE_NO_SUCH_USER, "");

	/* a loop through a user ends at that user's mailbox */
	add_alias(a, "alice@example.test", "m1@example.test", NULL, NULL);
	add_alias(a, "m1@example.test", "alice@example.test", "alice@remote.test", NULL);
	expect_resolve(a, "alice@example.test", RESOLVE_OK, "L:alice@example.test R:alice@remote.test");
	expect_resolve(a, "m1@example.test", RESOLVE_OK, "L:alice@example.test R:alice@remote.test");

	/* two users forwarding to each other: the loop ends at both, from either side */
	add_user(a, "p@example.test");
	add_user(a, "q@example.test");
	add_alias(a, "p@example.test", "q@example.test", NULL, NULL);
	add_alias(a, "q@example.test", "p@example.test", NULL, NULL);
	expect_resolve(a, "p@example.test", RESOLVE_OK, "L:p@example.test L:q@example.test");
	expect_resolve(a, "q@example.test", RESOLVE_OK, "L:q@example.test L:p@example.test");

	/* a loop with other targets keeps them */
	add_alias(a, "n1@example.test", "n2@example.test", "far@remote.test", NULL);
	add_alias(a, "n2@example.test", "n1@example.test", NULL, NULL);
	expect_resolve(a, "n1@example.test", RESOLVE_OK, "R:far@remote.test");

	/* the catch-all pointing at a missing local address ends too */
	add_alias(a, "@other.test", "ghost@other.test", NULL, NULL);
	expect_resolve(a, "anyone@other.test", RESOLVE_NO_SUCH_USER, "");
}

static void
test_resolve_depth(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	char src[64], dst[64];

	domain_setup(a);
	add_user(a, "end@example.test");
	/* d0 -> d1 -> ... -> d7 -> end: 8 aliases, within the limit */
	for (int i = 0; i < 8; i++) {
		snprintf(src, sizeof src, "d%d@example.test", i);
		if (i < 7)
			snprintf(dst, sizeof dst, "d%d@example.test", i + 1);
		else
			snprintf(dst, sizeof dst, "end@example.test");
		add_alias(a, src, dst, NULL, NULL);
	}
	expect_resolve(a, "d0@example.test", RESOLVE_OK, "L:end@example.test");
	/* one more in front is too deep: a temporary failure, the admin has to look */
	add_alias(a, "deep@example.test", "d0@example.test", NULL, NULL);
	expect_resolve(a, "deep@example.test", RESOLVE_TEMPFAIL, "");
}

static void
test_resolve_dedupe(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	struct target_list tl = { 0 };

	domain_setup(a);
	add_user(a, "alice@example.test");
	add_user(a, "bob@example.test");
	add_alias(a, "dup@example.test", "alice@example.test", "alice+x@example.test",
	    "ALICE@example.test");
	expect_resolve(a, "dup@example.test", RESOLVE_OK, "L:alice@example.test");

	/* a diamond: both branches reach alice and the remote once */
	add_alias(a, "top@example.test", "left@example.test", "right@example.test", NULL);
	add_alias(a, "left@example.test", "bottom@example.test", NULL, NULL);
	add_alias(a, "right@example.test", "bottom@example.test", "bob@example.test", NULL);
	add_alias(a, "bottom@example.test", "alice@example.test", "x@remote.test", NULL);
	expect_resolve(a, "top@example.test", RESOLVE_OK,
	    "L:alice@example.test R:x@remote.test L:bob@example.test");

	/* appending to a list that has them already: OK, nothing doubled */
	assert_int_equal(accounts_resolve(a, "alice@example.test", &tl), RESOLVE_OK);
	assert_int_equal(accounts_resolve(a, "dup@example.test", &tl), RESOLVE_OK);
	assert_int_equal(accounts_resolve(a, "alice+y@example.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 1);
	assert_int_equal(accounts_resolve(a, "bob@example.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 2);
	assert_int_equal(accounts_resolve(a, "nobody@example.test", &tl), RESOLVE_NO_SUCH_USER);
	assert_int_equal(tl.n, 2);
	target_list_free(&tl);
}

/* resolve says whether each mailbox has a quota (it may then not skip the queue) */
static void
test_resolve_knows_quota(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	struct target_list tl = { 0 };

	domain_setup(a);
	add_user(a, "free@example.test");
	ok(accounts_user_add(a, "capped@example.test", "pw-capped", 4096, ERR));
	add_alias(a, "both@example.test", "free@example.test", "capped@example.test", NULL);
	assert_int_equal(accounts_resolve(a, "both@example.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 2);
	assert_true(tl.v[0].unlimited);                 /* free, through the alias */
	assert_false(tl.v[1].unlimited);                /* capped */
	tl.n = 0;
	assert_int_equal(accounts_resolve(a, "capped+tag@example.test", &tl), RESOLVE_OK);
	assert_int_equal(tl.n, 1);
	assert_false(tl.v[0].unlimited);
	tl.n = 0;
	assert_int_equal(accounts_resolve(a, "free+tag@example.test", &tl), RESOLVE_OK);
	assert_true(tl.v[0].unlimited);
	target_list_free(&tl);
}

static void
test_owns_address(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	domain_setup(a);
	add_user(a, "alice@example.test");
	add_user(a, "bob@example.test");
	add_alias(a, "team@example.test", "alice@example.test", "bob@example.test", NULL);
	add_alias(a, "sales@example.test", "bob@example.test", NULL, NULL);
	add_alias(a, "@other.test", "alice@example.test", NULL, NULL);
	add_user(a, "carol@example.test");
	add_alias(a, "carol@example.test", "carol@remote.test", NULL, NULL);
	add_alias(a, "fwd@example.test", "carol@example.test", NULL, NULL);

	assert_int_equal(accounts_owns_address(a, "alice@example.test", "alice@example.test"), 1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "Alice@EXAMPLE.test"), 1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "alice+tag@example.test"), 1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "team@example.test"), 1);
	assert_int_equal(accounts_owns_address(a, "bob@example.test", "team@example.test"), 1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "whoever@other.test"), 1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "sales@example.test"), 0);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "bob@example.test"), 0);
	assert_int_equal(accounts_owns_address(a, "bob@example.test", "alice@example.test"), 0);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "alice@remote.test"), 0);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "nobody@example.test"), 0);
	assert_int_equal(accounts_owns_address(a, "bob@example.test", "sales@example.test"), 1);
	/* its own address even while an alias forwards it elsewhere... */
	assert_int_equal(accounts_owns_address(a, "carol@example.test", "carol@example.test"), 1);
	assert_int_equal(accounts_owns_address(a, "carol@example.test", "carol+x@example.test"), 1);
	/* ...but not an alias whose mail never reaches its mailbox */
	assert_int_equal(accounts_owns_address(a, "carol@example.test", "fwd@example.test"), 0);
	/* no user, no address */
	assert_int_equal(accounts_owns_address(a, "ghost@example.test", "ghost@example.test"), 0);
	assert_int_equal(accounts_owns_address(a, "garbage", "alice@example.test"), 0);
}

/*
 * A database that fails (here: a table gone under a live handle) is a temporary
 * failure for every lookup that mail handling relies on, never "no such user".
 */
static void
test_database_errors_are_temporary(void **state)
{
	struct fixture *f = *state;
	struct accounts *a = f->a;
	char path[128];
	sqlite3 *db = NULL;
	uint64_t quota;

	domain_setup(a);
	add_user(a, "alice@example.test");
	assert_int_equal(accounts_user_quota(a, "alice@example.test", &quota), 1);
	snprintf(path, sizeof path, "%s/accounts.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE users", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(accounts_user_quota(a, "alice@example.test", &quota), -1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "alice@example.test"), -1);
	assert_int_equal(accounts_owns_address(a, "alice@example.test", "alias@example.test"), -1);
	char hash[PASSWORD_HASH_MAX];
	assert_int_equal(accounts_password_hash(a, "alice@example.test", hash, sizeof hash), -1);
	struct target_list tl = { 0 };
	assert_int_equal(accounts_resolve(a, "alice@example.test", &tl), RESOLVE_TEMPFAIL);
	assert_int_equal(tl.n, 0);
	target_list_free(&tl);
}

/* Another process (here another handle) sees committed changes at its next call. */
static void
test_second_handle_sees_changes(void **state)
{
	struct fixture *f = *state;
	char why[512] = "";

	domain_setup(f->a);
	struct accounts *reader = accounts_open(f->dir, false, why, sizeof why);
	if (reader == NULL)
		fail_msg("accounts_open: %s", why);
	expect_resolve(reader, "late@example.test", RESOLVE_NO_SUCH_USER, "");
	add_user(f->a, "late@example.test");
	expect_resolve(reader, "late@example.test", RESOLVE_OK, "L:late@example.test");
	ok(accounts_user_del(f->a, "late@example.test", ERR));
	expect_resolve(reader, "late@example.test", RESOLVE_NO_SUCH_USER, "");
	/* and the reader holds nothing that blocks the writer */
	ok(accounts_domain_add(f->a, "third.test", ERR));
	assert_true(accounts_domain_is_local(reader, "third.test"));
	accounts_close(reader);
}

/* ---- passwords ---- */

static void
test_password(void **state)
{
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	assert_int_equal(password_hash("correct horse", h1, sizeof h1), 0);
	assert_int_equal(password_hash("correct horse", h2, sizeof h2), 0);
	assert_true(strncmp(h1, "$y$", 3) == 0);
	assert_string_not_equal(h1, h2); /* salted */
	assert_true(password_verify("correct horse", h1));
	assert_true(password_verify("correct horse", h2));
	assert_false(password_verify("correct horsE", h1));
	assert_false(password_verify("correct horse ", h1));
	assert_false(password_verify("", h1));
	assert_false(password_verify(NULL, h1));
	assert_false(password_verify("x", NULL));
	assert_false(password_verify("x", ""));
	assert_int_equal(password_hash("x", h1, 10), -1); /* no room */

	/* locked and disabled accounts, as in /etc/shadow */
	assert_false(password_verify("", "!"));
	assert_false(password_verify("", "*"));
	assert_int_equal(password_hash("pw", h1, sizeof h1), 0);
	char locked[PASSWORD_HASH_MAX + 1];
	snprintf(locked, sizeof locked, "!%s", h1);
	assert_false(password_verify("pw", locked));
	/* a truncated hash does not verify */
	h1[strlen(h1) - 1] = '\0';
	assert_false(password_verify("pw", h1));

	/* hashes made elsewhere (openssl passwd -6 / -5) */
	const char *sha512 = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5"
	    "knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
	assert_true(password_verify("secret", sha512));
	assert_false(password_verify("Secret", sha512));
	assert_true(password_verify("hunter2", "$5$abc$aw8kcfRnzkuA1XFRzd1AgTNuyzM2RdMYKc3X22kKYc0"));
	assert_false(password_verify("hunter2", "garbage"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_requires_init),
		cmocka_unit_test_setup_teardown(test_db_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_catchall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_knows_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_dedupe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owns_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_sees_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_database_errors_are_temporary, setup, teardown),
		cmocka_unit_test(test_password),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
