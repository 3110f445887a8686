/*
 * cli_queue.c - `mailroom queue list|show|delete|flush|hold|release`: reads the
 * spool directly (so it works with or without a running server; queue_view.h, which
 * queued's answers to httpd use too) and tells a running queued through its
 * notification socket. A hold or release is queued's to record
 * while it runs (it holds the state in memory); when it does not, this writes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "queue/notify.h"
#include "queue/queue_view.h"
#include "store/msg_reader.h"
#include "store/spool.h"
#include "util/units.h"

/*
 * status_name - a recipient's state as the CLI has always put it (scripts read it):
 * queue_view's "queued" and "deferred" are both "pending" here.
 */
static const char *
status_name(const struct spool_rcpt *r)
{
	switch (queue_rcpt_state(r)) {
	case QS_BOUNCED:
		return r->dsn_due ? "bounced (bounce not yet sent)" : "bounced";
	case QS_DELIVERED:
		return "delivered";
	case QS_QUEUED:
	case QS_DEFERRED:
		break;
	}
	return "pending";
}

/* list_line - one message of `queue list`. */
static int
list_line(void *arg, const struct envelope *env)
{
	const time_t *now = arg;
	const char *err = NULL;
	char age[32];
	int shown = 0;

	format_age(age, sizeof age, (int64_t)(*now - env->arrival));
	printf("%s %s %llu <%s> ", env->id, age, (unsigned long long)env->body_size, env->sender);
	for (size_t j = 0; j < env->nrcpts; j++) {
		const struct spool_rcpt *r = &env->rcpts[j];
		if (r->status != RCPT_PENDING && !r->dsn_due)
			continue;
		printf("%s%s", shown++ ? "," : "", r->addr);
		if (r->error)
			err = r->error;
	}
	if (env->held)
		printf(" held: %s\n", env->hold_reason ? env->hold_reason : "-");
	else
		printf(" %s\n", err ? err : "-");
	return 0;
}

static int
queue_list(const char *queue_dir)
{
	time_t now = time(NULL);

	if (queue_each(queue_dir, 0, NULL, NULL, list_line, &now, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return cli_fail("cannot read the queue %s: %s", queue_dir, strerror(errno));
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
queue_show(const char *queue_dir, const char *id)
{
	struct envelope env;
	char when[64];

	if (spool_load(queue_dir, id, &env) < 0)
		return cli_fail("no such message in the queue: %s", id);
	struct tm tm;
	gmtime_r(&env.arrival, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("id: %s\narrival: %s\nsender: <%s>\nclient: %s\nhelo: %s\n", env.id, when,
	    env.sender, env.client ? env.client : "-", env.helo ? env.helo : "-");
	if (env.auth)
		printf("login: %s\n", env.auth);
	if (env.held) {
		gmtime_r(&env.held_since, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("held: %s (since %s)\n", env.hold_reason ? env.hold_reason : "-", when);
	}
	printf("size: %llu\n", (unsigned long long)env.body_size);
	for (size_t j = 0; j < env.nrcpts; j++) {
		const struct spool_rcpt *r = &env.rcpts[j];
		printf("recipient: %s (for %s) %s attempts=%u%s%s\n", r->addr, r->orig,
		    status_name(r), r->attempts, r->error ? " last error: " : "",
		    r->error ? r->error : "");
	}
	printf("\n");
	fflush(stdout);
	struct msg_reader r;
	if (msg_open(&r, queue_dir, &env) == 0) {
		char buf[65536];
		ssize_t n;
		while ((n = msg_read(&r, buf, sizeof buf)) > 0)
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				break;
	}
	msg_close(&r);
	envelope_free(&env);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * write_hold - queued is not running: record the hold or release in state/<id>
 * ourselves, owned as the message is (so queued can replace it later).
 */
static int
write_hold(const char *queue_dir, const char *id, bool on)
{
	struct envelope env;
	char msg[4096], state[4096];
	struct stat st;

	if (spool_load(queue_dir, id, &env) < 0)
		return cli_fail("no such message in the queue: %s", id);
	if (on && !env.held) {
		env.held = true;
		env.held_since = time(NULL);
		free(env.hold_reason);
		env.hold_reason = strdup("queue hold");
	} else if (!on && env.held) {
		env.held = false;
		env.held_since = 0;
		free(env.hold_reason);
		env.hold_reason = NULL;
		env.released = time(NULL);
		env.limits_done = true;
		for (size_t i = 0; i < env.nrcpts; i++)
			env.rcpts[i].next_try = 0;
	}
	int rc = spool_write_state(queue_dir, &env);
	envelope_free(&env);
	if (rc < 0)
		return cli_fail("cannot write the state of %s: %s", id, strerror(errno));
	if (spool_path(msg, sizeof msg, queue_dir, SPOOL_MSG, id) == 0 &&
	    spool_path(state, sizeof state, queue_dir, SPOOL_STATE, id) == 0 &&
	    stat(msg, &st) == 0 && getuid() == 0 && chown(state, st.st_uid, st.st_gid) < 0)
		return cli_fail("cannot give %s to the mail user: %s", state, strerror(errno));
	return 0;
}

/* held_now - whether the state of id says held (on) or not; -1: gone from the queue. */
static int
held_now(const char *queue_dir, const char *id)
{
	struct envelope env;
	if (spool_load(queue_dir, id, &env) < 0)
		return -1;
	int h = env.held;
	envelope_free(&env);
	return h;
}

/* queue_hold - `queue hold ID` (on) or `queue release ID`. */
static int
queue_hold(const char *data_dir, const char *queue_dir, const char *id, bool on)
{
	struct notifier n;
	const char *done = on ? "held" : "released";

	if (held_now(queue_dir, id) < 0)
		return cli_fail("no such message in the queue: %s", id);
	int sent = notifier_open(&n, data_dir) == 0 ?
	    notifier_send(&n, on ? QN_HOLD : QN_RELEASE, id) : -1;
	notifier_close(&n);
	if (sent < 0) {
		if (write_hold(queue_dir, id, on) != 0)
			return 1;
		printf("%s %s\n", done, id);
		return 0;
	}
	/* queued records it; wait (bounded) to say so. A delivery under way finishes first. */
	for (int i = 0; i < 50; i++) {
		int h = held_now(queue_dir, id);
		if (h < 0) { /* a release may be sent and done before we look */
			if (on)
				printf("%s is no longer in the queue (delivered or removed)\n", id);
			else
				printf("released %s (and it has left the queue)\n", id);
			return 0;
		}
		if (h == (on ? 1 : 0)) {
			printf("%s %s\n", done, id);
			return 0;
		}
		usleep(100 * 1000);
	}
	printf("%s requested for %s: it takes effect when its delivery under way ends\n",
	    on ? "hold" : "release", id);
	return 0;
}

static void
tell_queued(const char *data_dir, enum queue_note type, const char *id)
{
	struct notifier n;
	if (notifier_open(&n, data_dir) == 0) {
		notifier_send(&n, type, id);
		notifier_close(&n);
	}
}

int
cli_queue(struct config *cfg, int argc, char **argv)
{
	char queue_dir[4096];
	static const char usage[] = "queue list | queue show ID | queue delete ID | queue flush"
	    " | queue hold ID | queue release ID";

	snprintf(queue_dir, sizeof queue_dir, "%s/queue", cfg->data_dir);
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return queue_list(queue_dir);
	if (argc == 1 && strcmp(argv[0], "flush") == 0) {
		/* queued obeys only root and its own uid or group (queued.c control_sender_ok):
		 * say so here rather than send a request it drops. */
		struct stat st;
		int r = stat(queue_dir, &st);
		if (geteuid() != 0 && ((r < 0 && errno == EACCES) ||
		    (r == 0 && st.st_uid != geteuid() && st.st_gid != getegid())))
			return cli_fail("only root and the mail user may flush the queue");
		struct notifier n;
		int rc = notifier_open(&n, cfg->data_dir) == 0 ? notifier_send(&n, QN_FLUSH, NULL) : -1;
		notifier_close(&n);
		if (rc < 0)
			printf("mailroom is not running: deferred messages are retried when it starts\n");
		else
			printf("flush requested\n");
		return 0;
	}
	if (argc == 2 && (strcmp(argv[0], "hold") == 0 || strcmp(argv[0], "release") == 0)) {
		if (!spool_id_valid(argv[1]))
			return cli_fail("malformed queue id: %s", argv[1]);
		return queue_hold(cfg->data_dir, queue_dir, argv[1], argv[0][0] == 'h');
	}
	if (argc == 2 && (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "delete") == 0)) {
		if (!spool_id_valid(argv[1]))
			return cli_fail("malformed queue id: %s", argv[1]);
		if (argv[0][0] == 's')
			return queue_show(queue_dir, argv[1]);
		char path[4096];
		if (spool_path(path, sizeof path, queue_dir, SPOOL_MSG, argv[1]) < 0 ||
		    access(path, F_OK) < 0)
			return cli_fail("no such message in the queue: %s", argv[1]);
		spool_remove(queue_dir, argv[1]);
		tell_queued(cfg->data_dir, QN_DELETE, argv[1]);
		printf("deleted %s\n", argv[1]);
		return 0;
	}
	return cli_usage_error(usage);
}
