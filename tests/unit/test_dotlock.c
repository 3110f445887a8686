/*
 * test_dotlock.c - unit tests for store/dotlock.c: one holder at a time, the
 * stale decision (a gone process of this host, an untouched lock of another),
 * a stale lock broken, a fresh one of another host respected, and release only
 * of our own lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/dotlock.h"

static char dir[64], lock[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/test_dotlock.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(lock, sizeof lock, "%s/x.dotlock", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool
alive_yes(long pid)
{
	return true;
}

static bool
alive_no(long pid)
{
	return false;
}

static void
test_stale_decision(void **state)
{
	/* this host: the holder's life decides; another host: only the time */
	assert_false(dotlock_stale("h1 42 ab", 1000, 1010, 60, "h1", alive_yes));
	assert_true(dotlock_stale("h1 42 ab", 1000, 1010, 60, "h1", alive_no));
	assert_false(dotlock_stale("h2 42 ab", 1000, 1010, 60, "h1", alive_no));
	assert_true(dotlock_stale("h2 42 ab", 1000, 1060, 60, "h1", alive_yes));
	/* half written: only time */
	assert_false(dotlock_stale("", 1000, 1010, 60, "h1", alive_no));
	assert_false(dotlock_stale("h1", 1000, 1010, 60, "h1", alive_no));
	assert_true(dotlock_stale("", 1000, 2000, 60, "h1", alive_no));
}

static int
count_files(void)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
	return system(cmd) == 0 ? 1 : 0;
}

static void
test_one_holder(void **state)
{
	struct dotlock a, b;

	assert_int_equal(dotlock_take(&a, lock, 600), DOTLOCK_OK);
	assert_int_equal(count_files(), 1); /* our own file was removed after the link */
	/* the same process again: a live holder of this host */
	assert_int_equal(dotlock_take(&b, lock, 600), DOTLOCK_HELD);
	assert_false(b.held);
	dotlock_release(&b); /* not held: touches nothing */
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(dotlock_touch(&a, 0), 0);
	dotlock_release(&a);
	assert_int_equal(access(lock, F_OK), -1);
	assert_int_equal(dotlock_take(&b, lock, 600), DOTLOCK_OK);
	dotlock_release(&b);
}

static void
write_lock(const char *content, time_t age)
{
	FILE *f = fopen(lock, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	struct timespec ts[2] = { { time(NULL) - age, 0 }, { time(NULL) - age, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, lock, ts, 0), 0);
}

static void
test_stale_broken(void **state)
{
	char host[256], line[400];
	struct dotlock l;

	/* a process of this host that is gone */
	gethostname(host, sizeof host);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(line, sizeof line, "%s %ld dead\n", host, (long)pid);
	write_lock(line, 0);
	assert_int_equal(dotlock_take(&l, lock, 600), DOTLOCK_OK);
	dotlock_release(&l);
	/* another host's, touched a moment ago: respected */
	write_lock("elsewhere.example 4242 beef\n", 5);
	assert_int_equal(dotlock_take(&l, lock, 600), DOTLOCK_HELD);
	/* the same, untouched for longer than stale_after: its host died */
	write_lock("elsewhere.example 4242 beef\n", 700);
	assert_int_equal(dotlock_take(&l, lock, 600), DOTLOCK_OK);
	/* broken as stale and taken by another meanwhile: release leaves theirs */
	write_lock("elsewhere.example 7 cafe\n", 0);
	dotlock_release(&l);
	assert_int_equal(access(lock, F_OK), 0);
	unlink(lock);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_decision),
		cmocka_unit_test_setup_teardown(test_one_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_broken, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
