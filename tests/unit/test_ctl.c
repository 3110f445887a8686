/*
 * test_ctl.c - unit tests for net/ctl.c, the supervisor's control channel: a
 * reload's config text arrives whole however many frames it takes, with the
 * certificates; a malformed piece refuses that reload (and only that one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ipc/frame.h"
#include "net/ctl.h"

struct seen {
	int reloads;
	char *text; /* the last reload's config text, or NULL */
	size_t len;
	bool tls;
};

static void
on_reload(void *arg, const char *text, size_t len, const struct tls_certs *certs)
{
	struct seen *s = arg;

	s->reloads++;
	free(s->text);
	s->text = text ? strndup(text, len) : NULL;
	s->len = len;
	s->tls = certs->main.cert != NULL;
}

static void
on_gone(void *arg)
{
	(void)arg;
}

/* pump - run the loop until nothing more is ready to read. */
static void
pump(struct event_base *base)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
test_config_in_pieces(void **state)
{
	int sv[2];
	struct seen s = { 0 };
	struct event_base *base = event_base_new();
	size_t len = 150000; /* three frames */
	char *text = malloc(len + 1);

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	/* The socket's buffer must hold the whole reload: the sender does not wait here. */
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	struct ctl *c = ctl_new(base, sv[1], on_reload, on_gone, &s);
	assert_non_null(c);
	for (size_t i = 0; i < len; i++)
		text[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
	text[len] = '\0';

	assert_int_equal(ctl_send_reload(sv[0], text, len, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 1);
	assert_non_null(s.text);
	assert_int_equal(s.len, len);
	assert_memory_equal(s.text, text, len);
	assert_false(s.tls);

	/* The next reload has its own text, not the last one's appended. */
	assert_int_equal(ctl_send_reload(sv[0], "[server]\n", 9, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 2);
	assert_string_equal(s.text, "[server]\n");

	/* No text: the role reads the file (NULL). */
	assert_int_equal(ctl_send_reload(sv[0], NULL, 0, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 3);
	assert_null(s.text);

	/* A malformed piece (a field that is not a string) refuses its reload only. */
	struct frame *f = malloc(sizeof *f);
	frame_init(f, CTL_CONFIG);
	frame_put_u64(f, 7);
	assert_int_equal(send(sv[0], f->buf, f->len, 0), (ssize_t)f->len);
	free(f);
	assert_int_equal(ctl_send_reload(sv[0], NULL, 0, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 3);
	assert_int_equal(ctl_send_reload(sv[0], "a = b\n", 6, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 4);
	assert_string_equal(s.text, "a = b\n");

	ctl_free(c);
	close(sv[0]);
	event_base_free(base);
	free(s.text);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_in_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
