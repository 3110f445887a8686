/*
 * test_deliver_local.c - unit tests for store_deliver_local(), the one Maildir write
 * of both roles: the file's contents from memory and file pieces, its fixed name with
 * S= and W=, the quota, a file found from a delivery cut short, an unusable address.
 */
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
	close(f->src);
	envelope_free(&f->env);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* contents - what the batch's file i holds (read through /proc: it may be unnamed). */
static size_t
contents(struct md_batch *b, size_t i, char *out, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", b->files[i].fd);
	int fd = open(proc, O_RDONLY);
	assert_true(fd >= 0);
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
	size_t n = contents(b, 0, got, sizeof got);
	const char *want = "Return-Path: <from@remote.test>\nDelivered-To: demo@example.test\n"
	    "Received: x\nbody\n";
	assert_string_equal(got, want);
	/* S= the stored size; W= with CRLF: two trace lines and the text's two LFs. */
	char name[256];
	snprintf(name, sizeof name, "1795818897.Q0123456789ABCDEF_3.mx.test,S=%zu,W=%zu", n, n + 4);
	assert_string_equal(b->files[0].name, name);
	md_batch_abort(b);
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
	md_batch_abort(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pieces_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_recovery_and_bad_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
