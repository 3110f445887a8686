/*
 * test_queue_ctl.c - unit tests for the queue control channel: its frames
 * (queue/queue_ctl_wire.c: requests and reply parts, round trips and refusals,
 * the arguments' syntax) and httpd's call (queue/queue_ctl.c) against a stand-in
 * for queued on a socketpair: a reply in parts, the late answer to an earlier
 * request dropped, the arguments refused before anything is sent, no answer.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc/frame.h"
#include "queue/queue_ctl.h"
#include "queue/queue_ctl_proto.h"

static struct frame *
new_frame(void)
{
	struct frame *f = malloc(sizeof *f);
	assert_non_null(f);
	return f;
}

static void
test_request_round_trip(void **state)
{
	static const char *const ops[] = { "list", "show", "hold", "release", "delete", "flush",
		"usage" };
	struct frame *f = new_frame(), *in = new_frame();

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		struct qctl_request r = { .op = qctl_op_type(ops[i]), .req = 1000 + i,
			.deadline = UINT64_MAX - i }, back;
		assert_int_not_equal(r.op, 0);
		snprintf(r.arg, sizeof r.arg, "%s", qctl_op_has_arg(r.op) ? "0123456789ABCDEF" : "");
		assert_int_equal(qctl_request_encode(f, &r), 0);
		assert_int_equal(qctl_request_decode(in, f->buf, f->len, &back), 0);
		assert_int_equal(back.op, r.op);
		assert_true(back.req == r.req);
		assert_true(back.deadline == r.deadline);
		assert_string_equal(back.arg, r.arg);
	}
	assert_int_equal(qctl_op_type("frob"), 0);
	assert_int_equal(qctl_op_type(NULL), 0);
	assert_true(qctl_op_has_arg(QC_SHOW));
	assert_false(qctl_op_has_arg(QC_LIST));
	assert_false(qctl_op_has_arg(QC_REPLY));
	free(f);
	free(in);
}

static void
test_request_refused(void **state)
{
	struct frame *f = new_frame(), *in = new_frame();
	struct qctl_request r;
	char big[QCTL_ARG_MAX + 2];

	/* Not a request type: a reply, an unknown one. */
	frame_init(f, QC_REPLY);
	frame_put_u64(f, 1);
	frame_put_u64(f, 2);
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	frame_init(f, 99);
	frame_put_u64(f, 1);
	frame_put_u64(f, 2);
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	/* The argument missing, of the wrong kind, too long; a field too many. */
	frame_init(f, QC_SHOW);
	frame_put_u64(f, 1);
	frame_put_u64(f, 2);
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	frame_put_u64(f, 3);
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	frame_init(f, QC_SHOW);
	frame_put_u64(f, 1);
	frame_put_u64(f, 2);
	frame_put_str(f, big);
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	frame_init(f, QC_LIST);
	frame_put_u64(f, 1);
	frame_put_u64(f, 2);
	frame_put_str(f, "extra");
	assert_int_equal(qctl_request_decode(in, f->buf, f->len, &r), -1);
	/* Octets that are no frame at all. */
	assert_int_equal(qctl_request_decode(in, "\x02\x00\x00\x01", 4, &r), -1);
	assert_int_equal(qctl_request_decode(in, "", 0, &r), -1);
	/* A request that cannot be encoded. */
	struct qctl_request bad = { .op = QC_REPLY };
	assert_int_equal(qctl_request_encode(f, &bad), -1);
	free(f);
	free(in);
}

static void
test_request_check(void **state)
{
	struct qctl_request r = { .op = QC_SHOW };

	snprintf(r.arg, sizeof r.arg, "0123456789ABCDEF");
	assert_int_equal(qctl_request_check(&r), 0);
	static const char *const bad_ids[] = { "../../etc/passwd", "0123456789abcdef",
		"0123456789ABCDE", "0123456789ABCDEF0", "", "0123456789ABCDE/" };
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		snprintf(r.arg, sizeof r.arg, "%s", bad_ids[i]);
		assert_int_equal(qctl_request_check(&r), 400);
	}
	r.op = QC_USAGE;
	snprintf(r.arg, sizeof r.arg, "Demo@Example.test");
	assert_int_equal(qctl_request_check(&r), 0);
	snprintf(r.arg, sizeof r.arg, "../x");
	assert_int_equal(qctl_request_check(&r), 400);
	r.op = QC_LIST;
	assert_int_equal(qctl_request_check(&r), 400); /* an argument where none goes */
	r.arg[0] = '\0';
	assert_int_equal(qctl_request_check(&r), 0);
}

/* parts - text cut into reply frames and put together again, as the two ends do. */
static void
test_reply_parts(void **state)
{
	struct frame *f = new_frame(), *in = new_frame();
	size_t len = 2 * QCTL_PART_MAX + 123, off = 0, used;
	char *text = malloc(len + 1), *back = calloc(1, len + 1);
	uint64_t part = 0;
	struct qctl_part p;

	assert_non_null(text);
	assert_non_null(back);
	for (size_t i = 0; i < len; i++)
		text[i] = (char)('a' + i % 26);
	text[len] = '\0';
	for (;;) {
		assert_int_equal(qctl_reply_part(f, 77, 200, part, text, len, off, &used), 0);
		assert_int_equal(qctl_reply_decode(in, f->buf, f->len, &p), 0);
		assert_true(p.req == 77);
		assert_int_equal(p.status, 200);
		assert_true(p.part == part);
		assert_int_equal(p.len, used);
		memcpy(back + off, p.text, p.len);
		free(p.text);
		off += used;
		part++;
		if (p.last)
			break;
		assert_true(part < 10);
	}
	assert_int_equal(part, 3);
	assert_int_equal(off, len);
	assert_memory_equal(back, text, len);
	/* An empty reply is one last part. */
	assert_int_equal(qctl_reply_part(f, 5, 404, 0, "", 0, 0, &used), 0);
	assert_int_equal(qctl_reply_decode(in, f->buf, f->len, &p), 0);
	assert_true(p.last);
	assert_int_equal(p.len, 0);
	free(p.text);
	/* No NUL in a JSON text. */
	assert_int_equal(qctl_reply_part(f, 5, 200, 0, "a\0b", 3, 0, &used), -1);
	/* Refused: a status that is none, last neither 0 nor 1, a request frame. */
	frame_init(f, QC_REPLY);
	frame_put_u64(f, 1);
	frame_put_u64(f, 99);
	frame_put_u64(f, 0);
	frame_put_u64(f, 1);
	frame_put_str(f, "{}");
	assert_int_equal(qctl_reply_decode(in, f->buf, f->len, &p), -1);
	frame_init(f, QC_REPLY);
	frame_put_u64(f, 1);
	frame_put_u64(f, 200);
	frame_put_u64(f, 0);
	frame_put_u64(f, 2);
	frame_put_str(f, "{}");
	assert_int_equal(qctl_reply_decode(in, f->buf, f->len, &p), -1);
	struct qctl_request r = { .op = QC_LIST, .req = 1, .deadline = 2 };
	assert_int_equal(qctl_request_encode(f, &r), 0);
	assert_int_equal(qctl_reply_decode(in, f->buf, f->len, &p), -1);
	free(text);
	free(back);
	free(f);
	free(in);
}

/* ---- queue_ctl_call against a stand-in for queued ---- */

static void
send_part(int fd, struct frame *f, uint64_t req, int status, const char *text, size_t len,
    size_t *off, uint64_t part)
{
	size_t used;
	if (qctl_reply_part(f, req, status, part, text, len, *off, &used) < 0 ||
	    send(fd, f->buf, f->len, 0) != (ssize_t)f->len)
		_exit(3);
	*off += used;
}

/*
 * stand_in - in a child: answer one request on fd as mode says: 'm' (the late
 * reply of another request first, then a reply in two parts), 's' (silence).
 */
static void
stand_in(int fd, char mode)
{
	struct frame *f = malloc(sizeof *f), *in = malloc(sizeof *in);
	struct qctl_request r;
	char text[QCTL_PART_MAX + 100];

	ssize_t n = recv(fd, in->buf, sizeof in->buf, 0);
	if (n <= 0 || qctl_request_decode(in, in->buf, (size_t)n, &r) < 0)
		_exit(2);
	if (mode == 's') {
		sleep(7);
		_exit(0);
	}
	size_t off = 0;
	send_part(fd, f, r.req + 1, 200, "{\"stale\":true}", 14, &off, 0);
	/* {"x":"aaa...a","op":N} longer than one part. */
	int k = snprintf(text, sizeof text, "{\"x\":\"");
	memset(text + k, 'a', QCTL_PART_MAX);
	k += QCTL_PART_MAX;
	k += snprintf(text + k, sizeof text - (size_t)k, "\",\"op\":%d,\"arg\":\"%s\"}", (int)r.op,
	    r.arg);
	off = 0;
	send_part(fd, f, r.req, 200, text, (size_t)k, &off, 0);
	send_part(fd, f, r.req, 200, text, (size_t)k, &off, 1);
	_exit(off == (size_t)k ? 0 : 4);
}

static pid_t
start_stand_in(int sv[2], char mode)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		/* The stand-in blocks, for 10 s at most. */
		struct timeval tv = { 10, 0 };
		if (fcntl(sv[1], F_SETFL, 0) < 0 ||
		    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
			_exit(5);
		stand_in(sv[1], mode);
	}
	close(sv[1]);
	return pid;
}

static void
test_call(void **state)
{
	struct buf out = { 0 };
	int sv[2], status;

	pid_t pid = start_stand_in(sv, 'm');
	assert_int_equal(queue_ctl_call(sv[0], "show", "0123456789ABCDEF", &out), 200);
	assert_null(strstr(out.data, "stale"));
	assert_int_equal(out.len, strlen("{\"x\":\"\",\"op\":2,\"arg\":\"0123456789ABCDEF\"}") +
	    QCTL_PART_MAX);
	assert_non_null(strstr(out.data, "\"op\":2,\"arg\":\"0123456789ABCDEF\"}"));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	buf_free(&out);
}

static void
test_call_refused_here(void **state)
{
	struct buf out = { 0 };
	int sv[2];

	/* Nothing reaches queued for these: the socket stays empty. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(queue_ctl_call(sv[0], "show", "../../etc/passwd", &out), 400);
	assert_string_equal(out.data, "{\"error\":\"malformed queue id\"}");
	assert_int_equal(queue_ctl_call(sv[0], "frob", NULL, &out), 400);
	assert_int_equal(queue_ctl_call(sv[0], "show", NULL, &out), 400);
	assert_int_equal(queue_ctl_call(sv[0], "list", "x", &out), 400);
	assert_int_equal(queue_ctl_call(sv[0], "usage", "not an address", &out), 400);
	assert_string_equal(out.data, "{\"error\":\"malformed address\"}");
	char buf[16];
	assert_true(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) < 0);
	assert_int_equal(queue_ctl_call(-1, "list", NULL, &out), 503);
	assert_non_null(strstr(out.data, "\"error\""));
	close(sv[0]);
	close(sv[1]);
	buf_free(&out);
}

static void
test_call_no_answer(void **state)
{
	struct buf out = { 0 };
	int sv[2], status;
	struct timespec t0, t1;

	pid_t pid = start_stand_in(sv, 's');
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(queue_ctl_call(sv[0], "flush", NULL, &out), 503);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(out.data, "{\"error\":\"queued did not answer\"}");
	double took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 4.9 && took < 6.5);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(sv[0]);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_reply_parts),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_call_refused_here),
		cmocka_unit_test(test_call_no_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
