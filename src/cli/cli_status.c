/*
 * cli_status.c - `mailroom status [--json]`: asks the supervisor of a running
 * serve (status/status_proto.h) and prints what it says, as text or as its JSON.
 * Exit 0 when it answered and every configured role runs; 1, with one line on
 * stderr, when no server answers or a role is down (after printing the status).
 * It reads only the config (for the data dir's socket name): no account store,
 * so the mail user can run it as well as root.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "ipc/frame.h"
#include "net/peer.h"
#include "status/status_proto.h"
#include "status/status_text.h"
#include "util/buf.h"

#define STATUS_USAGE "status [--json]"

/* socket_shown - the abstract name as ss(8) shows it: "@mailroom-serve-...". */
static void
socket_shown(const struct sockaddr_un *sun, socklen_t len, char *out, size_t outlen)
{
	int n = (int)(len - offsetof(struct sockaddr_un, sun_path) - 1);
	snprintf(out, outlen, "@%.*s", n > 0 ? n : 0, sun->sun_path + 1);
}

/* ask - one request and its reply's text into text (FRAME_MAX octets). Returns 0, or 1 (said why). */
static int
ask(const struct config *cfg, struct frame *f, char *text)
{
	struct sockaddr_un sun;
	socklen_t len;
	char shown[128];
	enum status_code code;
	long uid;
	int rc = 1;

	status_socket_name(cfg->data_dir, &sun, &len);
	socket_shown(&sun, len, shown, sizeof shown);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cli_fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT)
			cli_fail("no server is running (nothing listens on %s for data dir %s)", shown,
			    cfg->data_dir);
		else
			cli_fail("cannot reach the server (%s): %s", shown, strerror(errno));
		goto out;
	}
	if (!peer_is_server(fd, &uid)) {
		cli_fail("%s is held by uid %ld, not by a mailroom server: refusing it", shown, uid);
		goto out;
	}
	status_request_frame(f);
	/*
	 * A server that refuses us answers and closes at once, perhaps before this
	 * request: its answer is waiting all the same, so a broken pipe is no reason to stop.
	 */
	if (send(fd, f->buf, f->len, MSG_NOSIGNAL) != (ssize_t)f->len && errno != EPIPE &&
	    errno != ECONNRESET) {
		cli_fail("cannot ask the server (%s): %s", shown, strerror(errno));
		goto out;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, STATUS_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		cli_fail("the server did not answer within %d s (%s)", STATUS_TIMEOUT_MS / 1000, shown);
		goto out;
	}
	/* A reset (the server closed with our request unread) comes before the answer it sent. */
	ssize_t n = -1;
	for (int tries = 0; tries < 2 && n < 0; tries++)
		n = recv(fd, f->buf, sizeof f->buf, MSG_TRUNC | MSG_DONTWAIT);
	if (n <= 0) {
		cli_fail("the server closed the connection without an answer (%s)", shown);
		goto out;
	}
	if ((size_t)n > sizeof f->buf ||
	    status_reply_parse(f, f->buf, (size_t)n, &code, text, FRAME_MAX) < 0) {
		cli_fail("malformed answer from the server (%s)", shown);
		goto out;
	}
	if (code == ST_REFUSED)
		cli_fail("the server refused: %s", text);
	else if (code == ST_FAILED)
		cli_fail("the server could not answer: %s", text);
	else
		rc = 0;
out:
	close(fd);
	return rc;
}

/* show - the status j on standard output, as JSON or as text. Returns 0, or 1 (said why). */
static int
show(const json_t *j, bool as_json)
{
	struct buf b = { 0 };
	int rc = 0;

	if (as_json) {
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s == NULL || buf_printf(&b, "%s\n", s) < 0)
			rc = cli_fail("out of memory");
		free(s);
	} else if (status_text(&b, j) < 0) {
		rc = cli_fail("out of memory");
	}
	if (rc == 0 && (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0))
		rc = cli_fail("cannot write the status: %s", strerror(errno));
	buf_free(&b);
	return rc;
}

int
cli_status(struct config *cfg, int argc, char **argv)
{
	bool as_json = false;
	struct frame *f = NULL;
	char *text = NULL;
	json_t *j = NULL;
	char down[512];
	int rc = 1;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		as_json = true;
	else if (argc != 0)
		return cli_usage_error(STATUS_USAGE);
	if ((f = malloc(sizeof *f)) == NULL || (text = malloc(FRAME_MAX)) == NULL) {
		rc = cli_fail("out of memory");
		goto out;
	}
	if (ask(cfg, f, text) != 0)
		goto out;
	if ((j = json_loads(text, 0, NULL)) == NULL || !json_is_object(j)) {
		rc = cli_fail("malformed answer from the server (no JSON object)");
		goto out;
	}
	if (show(j, as_json) != 0)
		goto out;
	if (status_down(j, down, sizeof down) > 0)
		rc = cli_fail("not running: %s", down);
	else
		rc = 0;
out:
	json_decref(j);
	free(text);
	free(f);
	return rc;
}
