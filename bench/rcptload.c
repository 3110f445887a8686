/*
 * rcptload.c - the account store under load, as SMTP clients see it.
 *
 *   rcptload rcpt HOST PORT SESSIONS SECONDS ADDRESS_FILE
 *   rcptload login HOST PORT SESSIONS TOTAL USER PASSWORD
 *
 * rcpt: SESSIONS connections (a thread each) send MAIL once, then RCPT TO one of
 * the addresses of ADDRESS_FILE (one a line, picked at random) after another, for
 * SECONDS (RSET and MAIL again every 1,000); each RCPT is a lookup in the store.
 * Prints: sessions=S rcpts=N seconds=T rate=R refused=E
 *
 * login: SESSIONS threads make TOTAL logins in all, each a connection with EHLO,
 * AUTH PLAIN and QUIT (on submission, from loopback: no TLS); the time from AUTH
 * to its reply is the latency.
 * Prints: sessions=S logins=N p50_ms=A p95_ms=B max_ms=C failed=E
 *
 * Exit 1 on a connection or protocol failure, with a line on stderr.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096
#define RSET_EVERY 1000

struct conn {
	int fd;
	char buf[65536];
	size_t start, end;
};

static const char *host;
static int port;
static char **addrs;
static size_t naddrs;
static double deadline;
static const char *user, *password;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total_rcpts, total_refused, logins_left, logins_failed;
static double *latencies;
static long nlat;

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fail(const char *what)
{
	fprintf(stderr, "rcptload: %s\n", what);
	exit(1);
}

static void
conn_open(struct conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;

	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		fail("bad host (an IPv4 address)");
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		fail("cannot connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->start = c->end = 0;
}

static void
send_str(struct conn *c, const char *s)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t n = write(c->fd, s + off, len - off);
		if (n <= 0)
			fail("write failed");
		off += (size_t)n;
	}
}

/* read_line - one reply line into out (without CRLF). */
static void
read_line(struct conn *c, char *out)
{
	for (;;) {
		char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (nl != NULL) {
			size_t len = (size_t)(nl - (c->buf + c->start));
			if (len > 0 && c->buf[c->start + len - 1] == '\r')
				len--;
			if (len >= LINE_MAX_LEN)
				len = LINE_MAX_LEN - 1;
			memcpy(out, c->buf + c->start, len);
			out[len] = '\0';
			c->start = (size_t)(nl - c->buf) + 1;
			return;
		}
		if (c->start > 0) {
			memmove(c->buf, c->buf + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
		}
		if (c->end == sizeof c->buf)
			fail("reply line too long");
		ssize_t n = read(c->fd, c->buf + c->end, sizeof c->buf - c->end);
		if (n <= 0)
			fail("connection closed");
		c->end += (size_t)n;
	}
}

/* reply - the code of a whole (maybe multi-line) reply. */
static int
reply(struct conn *c)
{
	char line[LINE_MAX_LEN];

	do
		read_line(c, line);
	while (strlen(line) > 3 && line[3] == '-');
	return atoi(line);
}

static void
expect(struct conn *c, int want, const char *what)
{
	int code = reply(c);
	if (code != want) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s: %d, not %d", what, code, want);
		fail(msg);
	}
}

static void *
rcpt_thread(void *arg)
{
	struct conn *c = calloc(1, sizeof *c);
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
	char cmd[600];
	long n = 0, refused = 0;

	if (c == NULL)
		fail("out of memory");
	conn_open(c);
	expect(c, 220, "greeting");
	send_str(c, "EHLO load.test\r\n");
	expect(c, 250, "EHLO");
	send_str(c, "MAIL FROM:<load@remote.test>\r\n");
	expect(c, 250, "MAIL");
	while (now() < deadline) {
		const char *a = addrs[rand_r(&seed) % naddrs];
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", a);
		send_str(c, cmd);
		int code = reply(c);
		if (code != 250)
			refused++;
		if (++n % RSET_EVERY == 0) {
			send_str(c, "RSET\r\nMAIL FROM:<load@remote.test>\r\n");
			expect(c, 250, "RSET");
			expect(c, 250, "MAIL");
		}
	}
	send_str(c, "QUIT\r\n");
	close(c->fd);
	free(c);
	pthread_mutex_lock(&mu);
	total_rcpts += n;
	total_refused += refused;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void
b64(const unsigned char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < len ? in[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

static void *
login_thread(void *arg)
{
	unsigned char plain[600];
	char enc[900], cmd[1000];
	size_t ul = strlen(user), pl = strlen(password);

	(void)arg;
	if (ul + pl + 2 > sizeof plain)
		fail("user or password too long");
	plain[0] = '\0';
	memcpy(plain + 1, user, ul);
	plain[1 + ul] = '\0';
	memcpy(plain + 2 + ul, password, pl);
	b64(plain, ul + pl + 2, enc);
	snprintf(cmd, sizeof cmd, "AUTH PLAIN %s\r\n", enc);
	for (;;) {
		pthread_mutex_lock(&mu);
		bool more = logins_left > 0;
		logins_left--;
		pthread_mutex_unlock(&mu);
		if (!more)
			break;
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL)
			fail("out of memory");
		conn_open(c);
		expect(c, 220, "greeting");
		send_str(c, "EHLO load.test\r\n");
		expect(c, 250, "EHLO");
		double t0 = now();
		send_str(c, cmd);
		int code = reply(c);
		double dt = now() - t0;
		send_str(c, "QUIT\r\n");
		close(c->fd);
		free(c);
		pthread_mutex_lock(&mu);
		if (code == 235)
			latencies[nlat++] = dt;
		else
			logins_failed++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
read_addresses(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[600];
	size_t cap = 0;

	if (f == NULL)
		fail("cannot read the address file");
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (naddrs == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((addrs = realloc(addrs, cap * sizeof *addrs)) == NULL)
				fail("out of memory");
		}
		if ((addrs[naddrs++] = strdup(line)) == NULL)
			fail("out of memory");
	}
	fclose(f);
	if (naddrs == 0)
		fail("no addresses");
}

int
main(int argc, char **argv)
{
	if (argc < 7 || (strcmp(argv[1], "rcpt") != 0 && strcmp(argv[1], "login") != 0) ||
	    (strcmp(argv[1], "login") == 0 && argc != 8)) {
		fprintf(stderr, "usage: rcptload rcpt HOST PORT SESSIONS SECONDS ADDRESS_FILE\n"
		    "       rcptload login HOST PORT SESSIONS TOTAL USER PASSWORD\n");
		return 2;
	}
	bool rcpt = strcmp(argv[1], "rcpt") == 0;
	host = argv[2];
	port = atoi(argv[3]);
	int sessions = atoi(argv[4]);
	if (sessions < 1 || sessions > 10000)
		fail("bad number of sessions");
	pthread_t *t = calloc((size_t)sessions, sizeof *t);
	if (t == NULL)
		fail("out of memory");
	double start = now();
	if (rcpt) {
		read_addresses(argv[6]);
		deadline = now() + atof(argv[5]);
	} else {
		logins_left = atol(argv[5]);
		user = argv[6];
		password = argv[7];
		if (logins_left < 1 || (latencies = calloc((size_t)logins_left,
		    sizeof *latencies)) == NULL)
			fail("bad number of logins");
	}
	for (int i = 0; i < sessions; i++)
		if (pthread_create(&t[i], NULL, rcpt ? rcpt_thread : login_thread,
		    (void *)(uintptr_t)(i + 1)) != 0)
			fail("cannot start a thread");
	for (int i = 0; i < sessions; i++)
		pthread_join(t[i], NULL);
	double secs = now() - start;
	if (rcpt) {
		printf("sessions=%d rcpts=%ld seconds=%.2f rate=%.0f refused=%ld\n", sessions,
		    total_rcpts, secs, total_rcpts / secs, total_refused);
	} else {
		qsort(latencies, (size_t)nlat, sizeof *latencies, cmp_double);
		double p50 = nlat ? latencies[nlat / 2] : 0, p95 = nlat ? latencies[nlat * 95 / 100] : 0;
		double max = nlat ? latencies[nlat - 1] : 0;
		printf("sessions=%d logins=%ld p50_ms=%.1f p95_ms=%.1f max_ms=%.1f failed=%ld "
		    "seconds=%.2f\n", sessions, nlat, p50 * 1e3, p95 * 1e3, max * 1e3, logins_failed,
		    secs);
	}
	return 0;
}
