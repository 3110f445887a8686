/*
 * test_maildrop.c - unit tests for maildrop.c on real Maildirs in a temporary
 * directory: the snapshot (new/ to cur/, sizes, order), UIDLs, the lock (also
 * against a process that dies holding it), deletion only at commit, and files
 * renamed by another program during a session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "store/maildir.h"
#include "pop3/maildrop.h"

struct fixture {
	char root[256];
	char md[512];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/test_maildrop.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->md, sizeof f->md, "%s/example.test/demo", f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
put(const struct fixture *f, const char *sub, const char *name, const char *text)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s/%s", f->md, sub, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static bool
exists(const struct fixture *f, const char *sub, const char *name)
{
	char p[1024];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s/%s", f->md, sub, name);
	return stat(p, &st) == 0;
}

static size_t
count(const struct fixture *f, const char *sub)
{
	char p[1024];
	size_t n = 0;
	snprintf(p, sizeof p, "%s/%s", f->md, sub);
	DIR *d = opendir(p);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
open_ok(const struct fixture *f, struct maildrop *md)
{
	char err[256] = "";
	enum maildrop_status st = maildrop_open(md, f->md, 600, err, sizeof err);
	if (st != MAILDROP_OK)
		fail_msg("maildrop_open: %d %s", (int)st, err);
}

static void
test_creates_empty(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	open_ok(f, &md);
	assert_int_equal(md.n, 0);
	assert_int_equal(md.total_size, 0);
	assert_true(exists(f, "", "cur"));
	assert_true(exists(f, "", "new"));
	assert_true(exists(f, "", "tmp"));
	assert_true(exists(f, "", MAILDROP_LOCK_NAME));
	maildrop_close(&md);
}

static void
test_snapshot_moves_new(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	assert_int_equal(maildir_create(f->md), 0);
	/* W= is believed as it stands: 999 proves the file was not read. */
	put(f, "new", "1700000002.Qaaa_0.mx,S=5,W=999", "x\ny\n");
	put(f, "new", "1700000001.Qbbb_0.mx,S=4,W=6", "a\nb\n");
	put(f, "cur", "1700000003.M1P2.other:2,S", "From: x\n\nbody\n");
	put(f, "cur", ".hidden", "not a message");
	open_ok(f, &md);
	assert_int_equal(md.n, 3);
	assert_int_equal(count(f, "new"), 0);
	assert_true(exists(f, "cur", "1700000001.Qbbb_0.mx,S=4,W=6:2,"));
	assert_true(exists(f, "cur", "1700000002.Qaaa_0.mx,S=5,W=999:2,"));
	/* Oldest first. */
	assert_string_equal(maildrop_name(&md, 0), "1700000001.Qbbb_0.mx,S=4,W=6:2,");
	assert_string_equal(maildrop_name(&md, 1), "1700000002.Qaaa_0.mx,S=5,W=999:2,");
	assert_string_equal(maildrop_name(&md, 2), "1700000003.M1P2.other:2,S");
	assert_int_equal(md.msgs[0].size, 6);
	assert_int_equal(md.msgs[1].size, 999);
	/* No W=: the file is read, and each LF counts as CRLF. */
	assert_int_equal(md.msgs[2].size, 17);
	assert_int_equal(md.total_size, 6 + 999 + 17);
	assert_string_equal(maildrop_uidl(&md, 0), "1700000001.Qbbb_0.mx,S=4,W=6");
	assert_string_equal(maildrop_uidl(&md, 2), "1700000003.M1P2.other");
	maildrop_close(&md);
}

static void
test_computed_size_crlf(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "cur", "1.crlf:2,", "A: b\r\n\r\nx\r\n");
	put(f, "cur", "2.mixed:2,", "A: b\n\r\nx\ry");
	open_ok(f, &md);
	assert_int_equal(md.n, 2);
	assert_int_equal(md.msgs[0].size, 11);
	assert_int_equal(md.msgs[1].size, 11);
	maildrop_close(&md);
}

static void
test_order_numeric(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "cur", "1000.b,W=1:2,", "");
	put(f, "cur", "999.z,W=1:2,", "");
	put(f, "cur", "1000.a,W=1:2,", "");
	open_ok(f, &md);
	assert_int_equal(md.n, 3);
	assert_string_equal(maildrop_uidl(&md, 0), "999.z,W=1");
	assert_string_equal(maildrop_uidl(&md, 1), "1000.a,W=1");
	assert_string_equal(maildrop_uidl(&md, 2), "1000.b,W=1");
	maildrop_close(&md);
}

static void
test_uidl_for(void **state)
{
	char a[MAILDROP_UIDL_MAX + 1], b[MAILDROP_UIDL_MAX + 1], c[MAILDROP_UIDL_MAX + 1];
	char longname[200];

	maildrop_uidl_for("1700000000.Q0123456789ABCDEF_0.mx.example.test,S=1,W=2:2,S", a, sizeof a);
	assert_string_equal(a, "1700000000.Q0123456789ABCDEF_0.mx.example.test,S=1,W=2");
	maildrop_uidl_for("plain", a, sizeof a);
	assert_string_equal(a, "plain");

	/* 70 octets is still the name; 71 is hashed. */
	memset(longname, 'x', 70);
	longname[70] = '\0';
	maildrop_uidl_for(longname, a, sizeof a);
	assert_string_equal(a, longname);
	memset(longname, 'x', 71);
	strcpy(longname + 71, ":2,S");
	maildrop_uidl_for(longname, a, sizeof a);
	assert_int_equal(strlen(a), 65);
	assert_int_equal(a[0], 'H');
	/* Stable, independent of the flags, and different for another name. */
	longname[71] = '\0';
	maildrop_uidl_for(longname, b, sizeof b);
	assert_string_equal(a, b);
	longname[0] = 'y';
	maildrop_uidl_for(longname, c, sizeof c);
	assert_string_not_equal(a, c);

	/* Octets outside 0x21..0x7E: hashed, and the result is all printable. */
	const char *odd[] = { "with space", "caf\xc3\xa9", "tab\there", "", ":2,S" };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		maildrop_uidl_for(odd[i], a, sizeof a);
		assert_int_equal(strlen(a), 65);
		for (size_t k = 0; a[k]; k++)
			assert_true(a[k] >= 0x21 && a[k] <= 0x7e);
	}
}

static void
test_lock_excludes(void **state)
{
	struct fixture *f = *state;
	struct maildrop md1, md2;
	char err[256];

	open_ok(f, &md1);
	assert_int_equal(maildrop_open(&md2, f->md, 600, err, sizeof err), MAILDROP_IN_USE);
	maildrop_close(&md1);
	open_ok(f, &md2);
	maildrop_close(&md2);
}

/* A session of another host sharing the Maildir (NFS) is seen by its dot lock alone. */
static void
test_lock_of_another_host(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;
	char err[256], p[1024];

	open_ok(f, &md);
	assert_true(exists(f, "", MAILDROP_DOTLOCK_NAME));
	maildrop_close(&md);
	assert_false(exists(f, "", MAILDROP_DOTLOCK_NAME));
	snprintf(p, sizeof p, "%s/" MAILDROP_DOTLOCK_NAME, f->md);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("elsewhere.example 4242 beef\n", fp);
	fclose(fp);
	assert_int_equal(maildrop_open(&md, f->md, 600, err, sizeof err), MAILDROP_IN_USE);
	/* untouched for longer than a session may be idle: that host is gone */
	struct timespec old[2] = { { time(NULL) - 700, 0 }, { time(NULL) - 700, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	open_ok(f, &md);
	maildrop_close(&md);
	assert_false(exists(f, "", MAILDROP_DOTLOCK_NAME));
}

static void
test_lock_dies_with_process(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;
	char err[256];
	int ready[2];

	assert_int_equal(maildir_create(f->md), 0);
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct maildrop held;
		close(ready[0]);
		if (maildrop_open(&held, f->md, 600, err, sizeof err) != MAILDROP_OK)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause(); /* killed while holding the lock, without maildrop_close */
		_exit(0);
	}
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(maildrop_open(&md, f->md, 600, err, sizeof err), MAILDROP_IN_USE);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* The lock file is still there; the lock is not. */
	assert_true(exists(f, "", MAILDROP_LOCK_NAME));
	open_ok(f, &md);
	maildrop_close(&md);
}

static void
test_dele_only_at_commit(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "new", "1.a,W=3", "a\n");
	put(f, "new", "2.b,W=3", "b\n");
	put(f, "new", "3.c,W=3", "c\n");

	/* Marked, then the session ends without QUIT: nothing goes. */
	open_ok(f, &md);
	maildrop_dele(&md, 0);
	maildrop_dele(&md, 0);
	assert_int_equal(md.ndeleted, 1);
	assert_int_equal(md.deleted_size, 3);
	maildrop_close(&md);
	assert_int_equal(count(f, "cur"), 3);

	/* RSET forgets the marks. */
	open_ok(f, &md);
	maildrop_dele(&md, 1);
	maildrop_rset(&md);
	assert_int_equal(md.ndeleted, 0);
	assert_int_equal(maildrop_commit(&md), 0);
	maildrop_close(&md);
	assert_int_equal(count(f, "cur"), 3);

	/* QUIT: the marked ones are unlinked, the others stay with their UIDLs. */
	open_ok(f, &md);
	maildrop_dele(&md, 0);
	maildrop_dele(&md, 2);
	assert_int_equal(maildrop_commit(&md), 0);
	maildrop_close(&md);
	assert_int_equal(count(f, "cur"), 1);
	open_ok(f, &md);
	assert_int_equal(md.n, 1);
	assert_string_equal(maildrop_uidl(&md, 0), "2.b,W=3");
	maildrop_close(&md);
}

static void
test_arrival_during_session(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "new", "1.a,W=3", "a\n");
	open_ok(f, &md);
	assert_int_equal(md.n, 1);
	put(f, "new", "2.b,W=3", "b\n");
	maildrop_dele(&md, 0);
	assert_int_equal(maildrop_commit(&md), 0);
	assert_int_equal(md.n, 1);
	maildrop_close(&md);
	/* The newcomer survived the commit and shows in the next session. */
	open_ok(f, &md);
	assert_int_equal(md.n, 1);
	assert_string_equal(maildrop_uidl(&md, 0), "2.b,W=3");
	maildrop_close(&md);
}

static void
test_renamed_by_another_program(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;
	char from[1024], to[1024];

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "new", "1.a,W=6", "aa\nb\n");
	put(f, "new", "2.b,W=3", "b\n");
	open_ok(f, &md);
	/* Dovecot sets \Seen on both: the files get new names in cur/. */
	for (int i = 0; i < 2; i++) {
		const char *base = i == 0 ? "1.a,W=6" : "2.b,W=3";
		snprintf(from, sizeof from, "%s/cur/%s:2,", f->md, base);
		snprintf(to, sizeof to, "%s/cur/%s:2,S", f->md, base);
		assert_int_equal(rename(from, to), 0);
	}
	int fd = maildrop_open_msg(&md, 0);
	assert_true(fd >= 0);
	char buf[16];
	assert_int_equal(read(fd, buf, sizeof buf), 5);
	assert_memory_equal(buf, "aa\nb\n", 5);
	close(fd);
	assert_string_equal(maildrop_name(&md, 0), "1.a,W=6:2,S");
	assert_string_equal(maildrop_uidl(&md, 0), "1.a,W=6");
	/* Message 2 was renamed too and is deleted under its new name. */
	maildrop_dele(&md, 1);
	assert_int_equal(maildrop_commit(&md), 0);
	maildrop_close(&md);
	assert_false(exists(f, "cur", "2.b,W=3:2,S"));
	assert_true(exists(f, "cur", "1.a,W=6:2,S"));
}

static void
test_gone_message(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;
	char p[1024];

	assert_int_equal(maildir_create(f->md), 0);
	put(f, "cur", "1.a,W=3:2,", "a\n");
	open_ok(f, &md);
	snprintf(p, sizeof p, "%s/cur/1.a,W=3:2,", f->md);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(maildrop_open_msg(&md, 0), -1);
	/* Deleting what someone else removed already is no failure. */
	maildrop_dele(&md, 0);
	assert_int_equal(maildrop_commit(&md), 0);
	maildrop_close(&md);
}

static void
test_many_messages(void **state)
{
	struct fixture *f = *state;
	struct maildrop md;
	char name[128];

	assert_int_equal(maildir_create(f->md), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "%d.Q%04d_0.mx,S=1,W=%d", 1700000000 + i % 7, i, i + 1);
		put(f, i % 2 ? "new" : "cur", name, "");
	}
	open_ok(f, &md);
	assert_int_equal(md.n, 2000);
	uint64_t total = 0;
	for (size_t i = 0; i < md.n; i++) {
		total += md.msgs[i].size;
		if (i > 0)
			assert_true(md.msgs[i - 1].stamp <= md.msgs[i].stamp);
	}
	assert_int_equal(total, 2000ull * 2001 / 2);
	assert_int_equal(md.total_size, total);
	maildrop_close(&md);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_of_another_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_moves_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_computed_size_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_numeric, setup, teardown),
		cmocka_unit_test(test_uidl_for),
		cmocka_unit_test_setup_teardown(test_lock_excludes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_dies_with_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dele_only_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arrival_during_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed_by_another_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_messages, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
