/*
 * fsyncbench.c - the disk's limit for durable, Maildir-style writes.
 *
 * Each operation is what a durable mail server must do at least once per
 * acknowledged message: create a file in tmp/, write the message, fsync it,
 * close it, rename it into new/ and fsync new/. W writers (threads) share the
 * two directories and do OPS operations between them; the result is the rate.
 *
 *   fsyncbench DIR WRITERS OPS SIZE
 *
 * prints one line: writers=W ops=N size=S seconds=T ops_per_s=R
 * The files are removed afterwards (outside the timed part).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct job {
	const char *dir;	/* base directory holding tmp/ and new/ */
	int newfd;		/* open new/ for the directory fsync */
	long size;		/* bytes per file */
	atomic_long next;	/* next operation number to take */
	long ops;		/* operations in all */
	const char *payload;	/* size bytes to write */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fsyncbench: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* writer - take operation numbers until all are done; each is one durable file. */
static void *writer(void *arg)
{
	struct job *j = arg;
	char tmp[4096], dst[4096];
	for (;;) {
		long n = atomic_fetch_add(&j->next, 1);
		if (n >= j->ops)
			break;
		snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.bench", j->dir, n);
		snprintf(dst, sizeof(dst), "%s/new/%ld.bench", j->dir, n);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			die("open", tmp);
		long off = 0;
		while (off < j->size) {
			ssize_t w = write(fd, j->payload + off, (size_t)(j->size - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				die("write", tmp);
			}
			off += w;
		}
		if (fsync(fd) != 0)
			die("fsync", tmp);
		if (close(fd) != 0)
			die("close", tmp);
		if (rename(tmp, dst) != 0)
			die("rename", tmp);
		if (fsync(j->newfd) != 0)
			die("fsync", "new/");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fsyncbench DIR WRITERS OPS SIZE\n");
		return 2;
	}
	struct job j;
	j.dir = argv[1];
	int writers = atoi(argv[2]);
	j.ops = atol(argv[3]);
	j.size = atol(argv[4]);
	if (writers < 1 || writers > 256 || j.ops < 1 || j.size < 0) {
		fprintf(stderr, "fsyncbench: bad arguments\n");
		return 2;
	}
	atomic_init(&j.next, 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/tmp", j.dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		die("mkdir", path);
	snprintf(path, sizeof(path), "%s/new", j.dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		die("mkdir", path);
	j.newfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j.newfd < 0)
		die("open", path);
	char *payload = malloc((size_t)j.size + 1);
	if (payload == NULL)
		die("malloc", "payload");
	for (long i = 0; i < j.size; i++)
		payload[i] = (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	j.payload = payload;

	pthread_t th[256];
	double t0 = now();
	for (int i = 0; i < writers; i++)
		if (pthread_create(&th[i], NULL, writer, &j) != 0)
			die("pthread_create", "");
	for (int i = 0; i < writers; i++)
		pthread_join(th[i], NULL);
	double dt = now() - t0;
	printf("writers=%d ops=%ld size=%ld seconds=%.6f ops_per_s=%.1f\n", writers, j.ops,
	       j.size, dt, j.ops / dt);
	fflush(stdout);

	for (long n = 0; n < j.ops; n++) {
		snprintf(path, sizeof(path), "%s/new/%ld.bench", j.dir, n);
		unlink(path);
	}
	close(j.newfd);
	free(payload);
	return 0;
}
