/*
 * smtpload.c - SMTP load: SESSIONS threads send COUNT messages in all, taken in
 * turn from the given files, to recipients spread over several domains.
 *
 *   smtpload [-s SESSIONS] [-m COUNT] [-f FROM] [-t RCPT] [-D DOMAINS] [-M HELO] [-C]
 *            HOST PORT FILE...
 *
 * Postfix's smtp-source sends one recipient address and its own text; the outbound
 * and verification benchmarks need others: RCPT may hold "%d", replaced by
 * 1..DOMAINS (message i goes to domain i % DOMAINS + 1), and each message is the
 * text of a file (LF or CRLF line ends; sent with CRLF and dot-stuffed), message i
 * the file i % FILES, so that a corpus of signed messages goes out unchanged.
 * No pipelining; many messages per connection, or with -C one connection each.
 * Any reply other than 2xx/3xx where expected ends the run (exit 1, the reply on
 * stderr). Every read and write has a 300 s timeout.
 *
 * Prints one line:  msgs=N total_s=T sessions=S
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct text {
	char *p;
	size_t len;
};

static struct text *texts;
static size_t ntexts;
static long count = 100, domains = 1;
static const char *from = "bench@client.test", *rcpt = "demo@example.test";
static const char *helo = "client.test";
static int per_message;
static struct sockaddr_in server;
static atomic_long next_msg;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "smtpload: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

/* load - the file as it goes on the wire: CRLF line ends, dot-stuffed, ".\r\n" last. */
static struct text
load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail("cannot open", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *raw = malloc((size_t)n + 1);
	if (raw == NULL || fread(raw, 1, (size_t)n, f) != (size_t)n)
		fail("cannot read", path);
	fclose(f);
	char *out = malloc(2 * (size_t)n + 8);
	if (out == NULL)
		fail("out of memory", NULL);
	size_t o = 0;
	int bol = 1;
	for (long i = 0; i < n; i++) {
		char c = raw[i];
		if (bol && c == '.')
			out[o++] = '.';
		bol = 0;
		if (c == '\r' && i + 1 < n && raw[i + 1] == '\n')
			continue;
		if (c == '\n') {
			out[o++] = '\r';
			bol = 1;
		}
		out[o++] = c;
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	free(raw);
	return (struct text){ out, o };
}

struct conn {
	int fd;
	char buf[8192];
	size_t start, end;
};

static void
send_all(struct conn *c, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = write(c->fd, s, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail("write", strerror(errno));
		}
		s += w;
		len -= (size_t)w;
	}
}

/* reply - read a whole reply (its last line has a space after the code); its code. */
static int
reply(struct conn *c, const char *what)
{
	for (;;) {
		char *p = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (p != NULL) {
			char *line = c->buf + c->start;
			size_t len = (size_t)(p - line);
			c->start += len + 1;
			if (len >= 4 && line[3] == '-')
				continue;
			if (len < 3)
				fail(what, "short reply");
			int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			if (code >= 400) {
				char msg[600];
				snprintf(msg, sizeof(msg), "%.*s", (int)(len > 500 ? 500 : len), line);
				fail(what, msg);
			}
			return code;
		}
		if (c->start > 0) {
			memmove(c->buf, c->buf + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
		}
		if (c->end == sizeof(c->buf))
			fail(what, "reply line too long");
		ssize_t r = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(what, strerror(errno));
		if (r == 0)
			fail(what, "connection closed");
		c->end += (size_t)r;
	}
}

static void
command(struct conn *c, const char *what, const char *fmt, const char *arg)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), fmt, arg);
	if (n < 0 || (size_t)n >= sizeof(line))
		fail(what, "command too long");
	send_all(c, line, (size_t)n);
	reply(c, what);
}

static void
open_conn(struct conn *c)
{
	c->start = c->end = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		fail("socket", strerror(errno));
	int one = 1;
	struct timeval tv = { .tv_sec = 300 };
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) != 0)
		fail("connect", strerror(errno));
	reply(c, "greeting");
	command(c, "EHLO", "EHLO %s\r\n", helo);
}

static void
close_conn(struct conn *c)
{
	command(c, "QUIT", "QUIT\r\n", NULL);
	close(c->fd);
	c->fd = -1;
}

static void *
session(void *arg)
{
	(void)arg;
	struct conn *c = calloc(1, sizeof(*c));
	char to[512];
	if (c == NULL)
		fail("out of memory", NULL);
	c->fd = -1;
	for (;;) {
		long i = atomic_fetch_add(&next_msg, 1);
		if (i >= count)
			break;
		if (c->fd < 0)
			open_conn(c);
		const char *pct = strstr(rcpt, "%d");
		if (pct != NULL)
			snprintf(to, sizeof(to), "%.*s%ld%s", (int)(pct - rcpt), rcpt,
			    i % domains + 1, pct + 2);
		else
			snprintf(to, sizeof(to), "%s", rcpt);
		command(c, "MAIL", "MAIL FROM:<%s>\r\n", from);
		command(c, "RCPT", "RCPT TO:<%s>\r\n", to);
		command(c, "DATA", "DATA\r\n", NULL);
		const struct text *t = &texts[(size_t)i % ntexts];
		send_all(c, t->p, t->len);
		reply(c, "end of DATA");
		if (per_message)
			close_conn(c);
	}
	if (c->fd >= 0)
		close_conn(c);
	free(c);
	return NULL;
}

int
main(int argc, char **argv)
{
	int sessions = 1, opt;
	while ((opt = getopt(argc, argv, "s:m:f:t:D:M:C")) != -1) {
		switch (opt) {
		case 's': sessions = atoi(optarg); break;
		case 'm': count = atol(optarg); break;
		case 'f': from = optarg; break;
		case 't': rcpt = optarg; break;
		case 'D': domains = atol(optarg); break;
		case 'M': helo = optarg; break;
		case 'C': per_message = 1; break;
		default:
			fail("usage: smtpload [-s SESSIONS] [-m COUNT] [-f FROM] [-t RCPT] "
			    "[-D DOMAINS] [-M HELO] [-C] HOST PORT FILE...", NULL);
		}
	}
	if (argc - optind < 3 || sessions < 1 || count < 1 || domains < 1)
		fail("usage: smtpload [-s SESSIONS] [-m COUNT] [-f FROM] [-t RCPT] "
		    "[-D DOMAINS] [-M HELO] [-C] HOST PORT FILE...", NULL);
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &server.sin_addr) != 1)
		fail("bad host address", argv[optind]);
	ntexts = (size_t)(argc - optind - 2);
	texts = calloc(ntexts, sizeof(*texts));
	if (texts == NULL)
		fail("out of memory", NULL);
	for (size_t i = 0; i < ntexts; i++)
		texts[i] = load(argv[optind + 2 + (int)i]);
	if (sessions > count)
		sessions = (int)count;
	pthread_t *th = calloc((size_t)sessions, sizeof(*th));
	if (th == NULL)
		fail("out of memory", NULL);
	double t0 = now();
	for (int i = 0; i < sessions; i++)
		if (pthread_create(&th[i], NULL, session, NULL) != 0)
			fail("pthread_create", NULL);
	for (int i = 0; i < sessions; i++)
		pthread_join(th[i], NULL);
	double t1 = now();
	printf("msgs=%ld total_s=%.4f sessions=%d\n", count, t1 - t0, sessions);
	return 0;
}
