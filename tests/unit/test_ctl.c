/*
 * test_ctl.c - unit tests for net/ctl.c, the supervisor's control channel: a
 * reload's config text arrives whole however many frames it takes, with the
 * certificates; a malformed piece refuses that reload (and only that one); a
 * reload whose certificates do not fit a frame sends nothing, so its text cannot
 * be taken for the start of the next reload's.
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

/*
 * A certificate too large for a frame (a chain file with a CA bundle appended):
 * that reload fails as a whole, before any piece of its text is sent; the next
 * reload's text arrives alone (before, the role kept the first text and got
 * both run together: a duplicate key for every reload after).
 */
static void
test_oversized_certificate(void **state)
{
	int sv[2];
	struct seen s = { 0 };
	struct event_base *base = event_base_new();
	size_t big = FRAME_MAX + 100;
	char *cert = malloc(big + 1), *key = strdup("KEY");
	struct tls_certs certs = { 0 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int sndbuf = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	struct ctl *c = ctl_new(base, sv[1], on_reload, on_gone, &s);
	assert_non_null(c);
	memset(cert, 'C', big);
	cert[big] = '\0';
	certs.main.cert = cert;
	certs.main.certlen = big;
	certs.main.key = key;
	certs.main.keylen = 3;

	assert_int_equal(ctl_send_reload(sv[0], "[server]\nhostname = a.test\n", 27, &certs), -1);
	pump(base);
	assert_int_equal(s.reloads, 0);
	assert_int_equal(ctl_send_reload(sv[0], "[server]\nhostname = b.test\n", 27, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 1);
	assert_string_equal(s.text, "[server]\nhostname = b.test\n");

	/* The same for an SNI name's certificate. */
	struct tls_pem sni = { strdup("SNI CERT"), 8, strdup("SNI KEY"), 7 };
	certs.main.cert = strdup("MAIN CERT");
	certs.main.certlen = 9;
	assert_int_equal(tls_certs_add_sni(&certs, "a.test", &sni), 0);
	struct tls_pem huge = { cert, big, strdup("K"), 1 };
	assert_int_equal(tls_certs_add_sni(&certs, "b.test", &huge), 0);
	assert_int_equal(ctl_send_reload(sv[0], "[server]\nhostname = c.test\n", 27, &certs), -1);
	pump(base);
	assert_int_equal(s.reloads, 1);
	assert_int_equal(ctl_send_reload(sv[0], "[server]\nhostname = d.test\n", 27, NULL), 0);
	pump(base);
	assert_int_equal(s.reloads, 2);
	assert_string_equal(s.text, "[server]\nhostname = d.test\n");

	tls_certs_free(&certs);
	ctl_free(c);
	close(sv[0]);
	event_base_free(base);
	free(s.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_in_pieces),
		cmocka_unit_test(test_oversized_certificate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
