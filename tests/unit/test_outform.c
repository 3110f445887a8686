/*
 * test_outform.c - unit tests for deliver/outform.c over a queue file in a
 * temporary directory: a compliant text is read as it is stored; a changed one
 * gives the same octets on every read from the start; the prefix comes first; and
 * the wire size is the output's size with CRLF line ends.
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

#include "deliver/outform.h"
#include "store/spool.h"

#define ENVELOPE_HEAD "mailroom-queue 1\nid 0000000000000ABC\n\n"

struct fixture {
	char dir[64];
	struct envelope env;
};

/* queue - a queue directory with msg/<id> holding text after a stand-in envelope header. */
static void
queue(struct fixture *f, const char *text)
{
	char path[4096];

	snprintf(f->dir, sizeof f->dir, "/tmp/test_outform.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof path, "%s/msg", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	memset(&f->env, 0, sizeof f->env);
	snprintf(f->env.id, sizeof f->env.id, "0000000000000ABC");
	assert_int_equal(spool_path(path, sizeof path, f->dir, SPOOL_MSG, f->env.id), 0);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(ENVELOPE_HEAD, fp);
	fputs(text, fp);
	fclose(fp);
	f->env.body_offset = strlen(ENVELOPE_HEAD);
	f->env.body_size = strlen(text);
}

static void
unqueue(struct fixture *f)
{
	char path[4096];
	spool_path(path, sizeof path, f->dir, SPOOL_MSG, f->env.id);
	unlink(path);
	snprintf(path, sizeof path, "%s/msg", f->dir);
	rmdir(path);
	rmdir(f->dir);
}

/* read_all - everything outform_read gives, in reads of step octets. */
static char *
read_all(struct outform *o, size_t step, size_t *len)
{
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;

	while ((n = outform_read(o, chunk, step)) > 0)
		assert_int_equal(buf_append(&b, chunk, (size_t)n), 0);
	assert_int_equal(n, 0);
	buf_putc(&b, '\0');
	*len = b.len - 1;
	return b.data;
}

static uint64_t
crlf_size(const char *s, size_t n)
{
	uint64_t size = n;
	for (size_t i = 0; i < n; i++)
		size += s[i] == '\n';
	return size;
}

static void
test_identity(void **state)
{
	struct fixture f;
	struct outform o;
	const char *text = "Subject: hi\n\nline one\nline two\n";
	size_t n;
	uint64_t size;

	queue(&f, text);
	assert_int_equal(outform_open(&o, f.dir, &f.env), 0);
	assert_false(outform_changed(&o));
	char *got = read_all(&o, 5, &n);
	assert_string_equal(got, text);
	free(got);
	assert_int_equal(outform_wire_size(&o, &size), 0);
	assert_int_equal(size, crlf_size(text, strlen(text)));
	outform_close(&o);
	unqueue(&f);
}

static void
test_changed_prefix_rewind(void **state)
{
	struct fixture f;
	struct outform o;
	char *text = malloc(30000);
	const char *prefix = "DKIM-Signature: v=1; a=rsa-sha256;\n\tb=abc\n";
	size_t n1, n2;
	uint64_t size;

	snprintf(text, 30000, "Subject: long\n\n");
	memset(text + strlen(text), 'q', 25000);
	text[15 + 25000] = '\0';
	strcat(text, "\nend\n");
	queue(&f, text);
	assert_int_equal(outform_open(&o, f.dir, &f.env), 0);
	assert_true(outform_changed(&o));
	char *first = read_all(&o, 4096, &n1);
	assert_int_equal(outform_wire_size(&o, &size), 0);
	assert_int_equal(size, crlf_size(first, n1));
	outform_set_prefix(&o, prefix, strlen(prefix));
	assert_int_equal(outform_rewind(&o), 0);
	char *second = read_all(&o, 7, &n2);
	assert_int_equal(n2, strlen(prefix) + n1);
	assert_memory_equal(second, prefix, strlen(prefix));
	assert_memory_equal(second + strlen(prefix), first, n1);
	assert_int_equal(outform_wire_size(&o, &size), 0);
	assert_int_equal(size, crlf_size(second, n2));
	size_t line = 0;
	for (size_t i = 0; i < n2; i++) {
		line = second[i] == '\n' ? 0 : line + 1;
		assert_true(line <= LINEFIX_LIMIT);
	}
	free(first);
	free(second);
	free(text);
	outform_close(&o);
	outform_close(&o); /* twice is harmless */
	unqueue(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_changed_prefix_rewind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
