/*
 * test_deliver_local.c - unit tests for store_deliver_local(), the one Maildir write
 * of both roles: the file's contents from memory and file pieces, its fixed name with
 * S= and W=, the quota, a file found from a delivery cut short, an unusable address;
 * and the batch's commit (store/maildir_batch.h), which writes the files on the
 * commit thread: a file that cannot be written fails alone, or all of an
 * all_or_none batch, leaving nothing in new/.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
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

#include "dir_files.h"

#include "store/commit.h"
#include "store/deliver_local.h"
#include "store/maildir.h"
#include "store/maildir_batch.h"

struct fixture {
	char dir[64];
	char mail[128];
	struct envelope env;
	int src; /* a file holding "0123body\n" */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_dlocal_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->mail, sizeof f->mail, "%s/mail", f->dir);
	snprintf(f->env.id, sizeof f->env.id, "0123456789ABCDEF");
	f->env.arrival = 1795818897;
	f->env.sender = strdup("from@remote.test");
	char path[200];
	snprintf(path, sizeof path, "%s/src", f->dir);
	f->src = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(f->src >= 0);
	assert_int_equal(write(f->src, "0123body\n", 9), 9);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	if (f->src >= 0)
		close(f->src);
	envelope_free(&f->env);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

struct committed {
	struct event_base *base;
	int error, calls;
};

static void
on_done(struct md_batch *b, int error, void *arg)
{
	struct committed *c = arg;
	c->error = error;
	c->calls++;
	event_base_loopbreak(c->base);
}

/* commit - the batch through a real committer; the done callback's error. */
static int
commit(struct md_batch *b)
{
	struct committed c = { event_base_new(), -1, 0 };
	assert_non_null(c.base);
	struct committer *cm = committer_new(c.base);
	assert_non_null(cm);
	md_batch_commit(b, cm, on_done, &c);
	for (int i = 0; i < 1000 && c.calls == 0; i++)
		event_base_loop(c.base, EVLOOP_ONCE);
	assert_int_equal(c.calls, 1);
	committer_free(cm);
	event_base_free(c.base);
	return c.error;
}

/* contents - what file name in the Maildir's new/ holds ("" when it is not there). */
static size_t
contents(const char *maildir, const char *name, char *out, size_t len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/new/%s", maildir, name);
	out[0] = '\0';
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, out, len - 1, 0);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
	return (size_t)n;
}

static void
test_pieces_and_name(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new();
	char got[512];

	/* Memory first ("Received: x\n"), then octets 4..9 of the file ("body\n"). */
	struct iovec mem[2] = { { "Received: x\n", 12 }, { "", 0 } };
	struct local_text text = { mem, 2, f->src, 4, 5, 2 };
	struct local_rcpt r = { "demo@example.test", 3, 0, false, f };
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_ADDED);
	assert_int_equal(b->nfiles, 1);
	assert_ptr_equal(b->files[0].owner, f);
	assert_int_equal(b->files[0].idx, 3);
	/* Nothing is written before the commit; the source may be closed by then. */
	char dir[256];
	assert_int_equal(maildir_path(f->mail, "demo@example.test", dir, sizeof dir), 0);
	char newdir[300];
	snprintf(newdir, sizeof newdir, "%s/new", dir);
	assert_int_equal(files_in(newdir), 0);
	close(f->src);
	f->src = -1;
	assert_int_equal(commit(b), 0);
	assert_false(b->files[0].failed);
	const char *want = "Return-Path: <from@remote.test>\nDelivered-To: demo@example.test\n"
	    "Received: x\nbody\n";
	size_t n = contents(dir, b->files[0].name, got, sizeof got);
	assert_string_equal(got, want);
	/* S= the stored size; W= with CRLF: two trace lines and the text's two LFs. */
	char name[256];
	snprintf(name, sizeof name, "1795818897.Q0123456789ABCDEF_3.mx.test,S=%zu,W=%zu", n, n + 4);
	assert_string_equal(b->files[0].name, name);
	assert_int_equal(files_in(newdir), 1);
	md_batch_free(b);
}

static void
test_quota_recovery_and_bad_names(void **state)
{
	struct fixture *f = *state;
	struct md_batch *b = md_batch_new();
	struct local_text text = { NULL, 0, f->src, 0, 9, 1 };
	char dir[256], path[512], name[256];

	/* Over the quota: nothing written. */
	struct local_rcpt r = { "demo@example.test", 0, 10, false, NULL };
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_FULL);
	assert_int_equal(b->nfiles, 0);
	/* A file of an earlier delivery (seen by a POP3 client: in cur/ with flags). */
	assert_int_equal(maildir_path(f->mail, "demo@example.test", dir, sizeof dir), 0);
	assert_int_equal(maildir_create(dir), 0);
	uint64_t size = 32 + 32 + 9; /* the two trace lines, and the text */
	maildir_name(name, sizeof name, f->env.arrival, f->env.id, 0, "mx.test", size, size + 3);
	snprintf(path, sizeof path, "%s/cur/%s:2,S", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	r.quota = 0;
	r.recovering = true;
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_PRESENT);
	assert_int_equal(b->nfiles, 0);
	/* Not recovering: it is written again (a second recipient number would differ). */
	r.recovering = false;
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_ADDED);
	assert_string_equal(b->files[0].name, name);
	r.mailbox = "no-at-sign";
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r),
	    LOCAL_BAD_NAME);
	/* The quota counts what is in the mailbox: the file above has S= in its name. */
	r.mailbox = "demo@example.test";
	r.quota = 2 * size - 1;
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_FULL);
	r.quota = 2 * size;
	assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &text, &r), LOCAL_ADDED);
	md_batch_free(b);
}

/*
 * test_unwritable_file - a file whose text cannot be read (its source is open for
 * writing only) fails alone with its errno; in an all_or_none batch every file
 * fails, nothing reaches new/, and the batch says it was not written.
 */
static void
test_unwritable_file(void **state)
{
	struct fixture *f = *state;
	char path[200], dir[256], newdir[300], got[512];
	snprintf(path, sizeof path, "%s/src", f->dir);
	int bad = open(path, O_WRONLY);
	assert_true(bad >= 0);
	assert_int_equal(maildir_path(f->mail, "demo@example.test", dir, sizeof dir), 0);
	snprintf(newdir, sizeof newdir, "%s/new", dir);
	struct local_text good = { NULL, 0, f->src, 0, 9, 1 };
	struct local_text broken = { NULL, 0, bad, 0, 9, 1 };

	for (int whole = 0; whole <= 1; whole++) {
		struct md_batch *b = md_batch_new();
		struct local_rcpt r0 = { "demo@example.test", 10 * (size_t)whole, 0, false, NULL };
		struct local_rcpt r1 = { "demo@example.test", 10 * (size_t)whole + 1, 0, false, NULL };
		assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &good, &r0),
		    LOCAL_ADDED);
		assert_int_equal(store_deliver_local(b, f->mail, "mx.test", &f->env, &broken, &r1),
		    LOCAL_ADDED);
		b->all_or_none = whole;
		unsigned before = files_in(newdir);
		int error = commit(b);
		assert_true(b->files[1].failed);
		assert_int_equal(b->files[1].error, EBADF);
		assert_int_equal(contents(dir, b->files[1].name, got, sizeof got), 0);
		if (!whole) {
			assert_int_equal(error, 0);
			assert_false(b->unwritten);
			assert_false(b->files[0].failed);
			assert_true(contents(dir, b->files[0].name, got, sizeof got) > 64);
			assert_int_equal(files_in(newdir), before + 1);
		} else {
			assert_int_equal(error, EBADF);
			assert_true(b->unwritten);
			assert_true(b->files[0].failed);
			assert_int_equal(files_in(newdir), before);
			char tmpdir[300];
			snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
			assert_int_equal(files_in(tmpdir), 0);
		}
		md_batch_free(b);
	}
	close(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pieces_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_recovery_and_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
