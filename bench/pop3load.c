/*
 * pop3load.c - POP3 retrieval load: log in, LIST, RETR every message, QUIT.
 *
 *   pop3load [-P SESSIONS] [-W WINDOW] HOST PORT USER PASSWORD
 *
 * RETR commands are pipelined (RFC 2449 PIPELINING), WINDOW of them in flight
 * (default 32), so that the client waits on the server, not the other way round.
 * Nothing is deleted. With -P, SESSIONS processes run at once, each as the user
 * named by USER with "%d" replaced by 1..SESSIONS; the figures are then summed
 * and the time is the wall time of the whole.
 *
 * Prints one line:
 *   sessions=S msgs=N bytes=B login_s=L list_s=T retr_s=R total_s=W
 * (login_s, list_s and retr_s are the maxima over the sessions). Exit 1 on any
 * protocol error, with a line on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

struct conn {
	int fd;			/* the socket */
	char *buf;		/* received, not yet consumed */
	size_t start;		/* first unconsumed octet */
	size_t end;		/* one past the last received octet */
	long long bytes;	/* octets received in all */
};

struct result {
	long msgs;		/* messages retrieved */
	long long bytes;	/* octets received */
	double login_s, list_s, retr_s;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	fprintf(stderr, "pop3load: %s\n", what);
	exit(1);
}

/* send_all - write the whole string (commands are small; blocking is fine). */
static void send_all(struct conn *c, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = write(c->fd, s, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fail("write failed");
		}
		s += w;
		len -= (size_t)w;
	}
}

/* get_line - the next line without its LF (CR kept); NULL at EOF. */
static char *get_line(struct conn *c, size_t *len)
{
	for (;;) {
		char *p = memchr(c->buf + c->start, '\n', c->end - c->start);
		if (p != NULL) {
			char *line = c->buf + c->start;
			*len = (size_t)(p - line);
			c->start = (size_t)(p - c->buf) + 1;
			return line;
		}
		if (c->start > 0) {
			memmove(c->buf, c->buf + c->start, c->end - c->start);
			c->end -= c->start;
			c->start = 0;
		}
		if (c->end == BUF_SIZE)
			fail("line too long");
		ssize_t r = read(c->fd, c->buf + c->end, BUF_SIZE - c->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		c->end += (size_t)r;
		c->bytes += r;
	}
}

/* status - read one status line; fail unless it is +OK. */
static void status(struct conn *c, const char *what)
{
	size_t len;
	char *line = get_line(c, &len);
	if (line == NULL)
		fail("connection closed");
	if (len < 3 || memcmp(line, "+OK", 3) != 0) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %.*s", what, (int)(len > 500 ? 500 : len), line);
		fail(msg);
	}
}

/* multiline - read data lines up to the terminating "."; return how many. */
static long multiline(struct conn *c)
{
	long lines = 0;
	size_t len;
	char *line;
	while ((line = get_line(c, &len)) != NULL) {
		if ((len == 2 && line[0] == '.' && line[1] == '\r') || (len == 1 && line[0] == '.'))
			return lines;
		lines++;
	}
	fail("connection closed in a multi-line reply");
	return -1;
}

static struct result session(const char *host, int port, const char *user, const char *pass,
			     int window)
{
	struct result res = { 0 };
	struct conn c = { 0 };
	c.buf = malloc(BUF_SIZE);
	if (c.buf == NULL)
		fail("out of memory");
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c.fd < 0)
		fail("socket failed");
	int one = 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		fail("bad host address");
	double t0 = now();
	if (connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail("connect failed");
	status(&c, "greeting");
	char cmd[1024];
	int n = snprintf(cmd, sizeof(cmd), "USER %s\r\n", user);
	send_all(&c, cmd, (size_t)n);
	status(&c, "USER");
	n = snprintf(cmd, sizeof(cmd), "PASS %s\r\n", pass);
	send_all(&c, cmd, (size_t)n);
	status(&c, "PASS");
	double t1 = now();
	send_all(&c, "LIST\r\n", 6);
	status(&c, "LIST");
	long count = multiline(&c);
	double t2 = now();

	long sent = 0, done = 0;
	char batch[64 * 32];
	while (done < count) {
		size_t blen = 0;
		while (sent < count && sent - done < window && blen + 32 < sizeof(batch))
			blen += (size_t)snprintf(batch + blen, sizeof(batch) - blen, "RETR %ld\r\n",
						 ++sent);
		if (blen > 0)
			send_all(&c, batch, blen);
		status(&c, "RETR");
		multiline(&c);
		done++;
	}
	double t3 = now();
	send_all(&c, "QUIT\r\n", 6);
	status(&c, "QUIT");
	close(c.fd);
	free(c.buf);
	res.msgs = done;
	res.bytes = c.bytes;
	res.login_s = t1 - t0;
	res.list_s = t2 - t1;
	res.retr_s = t3 - t2;
	return res;
}

int main(int argc, char **argv)
{
	int sessions = 1, window = 32, opt;
	while ((opt = getopt(argc, argv, "P:W:")) != -1) {
		switch (opt) {
		case 'P':
			sessions = atoi(optarg);
			break;
		case 'W':
			window = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 4 || sessions < 1 || sessions > 1000 || window < 1 || window > 60)
		goto usage;
	const char *host = argv[optind], *user = argv[optind + 2], *pass = argv[optind + 3];
	int port = atoi(argv[optind + 1]);

	if (sessions == 1) {
		double t0 = now();
		struct result r = session(host, port, user, pass, window);
		printf("sessions=1 msgs=%ld bytes=%lld login_s=%.6f list_s=%.6f retr_s=%.6f "
		       "total_s=%.6f\n", r.msgs, r.bytes, r.login_s, r.list_s, r.retr_s, now() - t0);
		return 0;
	}

	int fds[1000];
	double t0 = now();
	for (int i = 0; i < sessions; i++) {
		int p[2];
		if (pipe(p) != 0)
			fail("pipe failed");
		pid_t pid = fork();
		if (pid < 0)
			fail("fork failed");
		if (pid == 0) {
			close(p[0]);
			char name[512];
			snprintf(name, sizeof(name), user, i + 1);
			struct result r = session(host, port, name, pass, window);
			if (write(p[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	struct result sum = { 0 };
	int bad = 0;
	for (int i = 0; i < sessions; i++) {
		struct result r;
		if (read(fds[i], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			bad = 1;
			continue;
		}
		sum.msgs += r.msgs;
		sum.bytes += r.bytes;
		if (r.login_s > sum.login_s)
			sum.login_s = r.login_s;
		if (r.list_s > sum.list_s)
			sum.list_s = r.list_s;
		if (r.retr_s > sum.retr_s)
			sum.retr_s = r.retr_s;
	}
	double total = now() - t0;
	for (int i = 0; i < sessions; i++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	if (bad)
		fail("a session failed");
	printf("sessions=%d msgs=%ld bytes=%lld login_s=%.6f list_s=%.6f retr_s=%.6f total_s=%.6f\n",
	       sessions, sum.msgs, sum.bytes, sum.login_s, sum.list_s, sum.retr_s, total);
	return 0;
usage:
	fprintf(stderr, "usage: pop3load [-P SESSIONS] [-W WINDOW] HOST PORT USER PASSWORD\n");
	return 2;
}
