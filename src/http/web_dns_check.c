/*
 * web_dns_check.c - `dns check` for the admin page and the API. The check asks
 * the resolver synchronously, one question after another; the web role serves
 * everyone from one loop, so it runs in a child process that writes its lines to
 * a pipe, and the role waits for them at most CHECK_SECONDS: a dead resolver
 * holds the web face for that long, not for the resolver's own retries.
 */
#include "http/web_dns_check.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "cli/cli_dns.h"
#include "cli/dns_sync.h"
#include "cli/dns_zone.h"
#include "deliver/dns_ub.h"
#include "util/buf.h"

#define CHECK_SECONDS 10
#define CHECK_OUTPUT_MAX (256 * 1024)

/* field - text with the separators of the line format made spaces. */
static void
field(struct buf *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++)
		buf_putc(out, *p == '\t' || *p == '\n' ? ' ' : *p);
}

/* emit_line - one line to the pipe: verdict, label, name, detail, tab separated. */
static void
emit_line(void *arg, const char *verdict, const char *label, const char *name,
    const char *detail)
{
	struct buf *out = arg;

	field(out, verdict);
	buf_putc(out, '\t');
	field(out, label);
	buf_putc(out, '\t');
	field(out, name);
	buf_putc(out, '\t');
	/* The command's detail goes on after the name; alone, a leading ": " says nothing. */
	field(out, strncmp(detail, ": ", 2) == 0 ? detail + 2 : detail[0] == ' ' ? detail + 1 : detail);
	buf_putc(out, '\n');
}

/* records_from_json - lookupd's dns.records answer as the records the check reads. */
static int
records_from_json(json_t *records, struct dns_recs *out)
{
	size_t i;
	json_t *v;

	memset(out, 0, sizeof *out);
	json_array_foreach(records, i, v) {
		uint16_t type = dns_type_parse(jstr(v, "type"));
		enum dns_rec_kind kind = dns_rec_parse_kind(jstr(v, "purpose"), type);
		if (type == 0 || kind == REC_COMMENT)
			continue;
		if (dns_recs_add(out, kind, jstr(v, "name"), type, jstr(v, "value")) < 0)
			return -1;
	}
	return 0;
}

/* run_check - the child: every line of the check into out. */
static void
run_check(const struct config *cfg, const char *domain, json_t *records, struct buf *out)
{
	char err[512], why[256] = "";
	struct dns_host host = { .hostname = cfg->hostname };
	struct dns_recs recs;
	struct ub_ctx *ub = dns_ub_new(cfg->resolver, false, err, sizeof err);

	if (ub == NULL) {
		emit_line(out, "tempfail", "A/AAAA", cfg->hostname, err);
		return;
	}
	if (dns_host_addresses(ub, cfg->hostname, &host.addrs, &host.from_interfaces, why,
	    sizeof why) == DNS_TEMPFAIL) {
		emit_line(out, "tempfail", "A/AAAA", cfg->hostname, why);
	} else if (records_from_json(records, &recs) < 0) {
		emit_line(out, "tempfail", "", domain, "out of memory");
	} else {
		/* lookupd builds the records without the host's addresses: their PTRs here. */
		char host_abs[300];
		snprintf(host_abs, sizeof host_abs, "%s.", cfg->hostname);
		if (dns_records_add_ptrs(host_abs, (const char *const *)host.addrs.v, host.addrs.n,
		    &recs) < 0)
			emit_line(out, "tempfail", "", domain, "out of memory");
		else
			dns_check_run(ub, domain, &host, &recs, emit_line, out);
		dns_recs_free(&recs);
	}
	strlist_free(&host.addrs);
	ub_ctx_delete(ub);
}

/* read_child - the child's output until EOF or the deadline; 0, or -1 at the deadline. */
static int
read_child(int fd, struct buf *out)
{
	struct timespec start;
	char chunk[4096];

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = CHECK_SECONDS * 1000L - ((now.tv_sec - start.tv_sec) * 1000L +
		    (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		if (out->len + (size_t)got > CHECK_OUTPUT_MAX || buf_append(out, chunk, (size_t)got) < 0)
			return -1;
	}
}

/* add_line - one "verdict\tlabel\tname\tdetail" line as an object of results. */
static void
add_line(json_t *results, char *line, bool *ok)
{
	char *f[4] = { line, "", "", "" };

	for (int i = 1; i < 4; i++) {
		char *tab = strchr(f[i - 1], '\t');
		if (tab == NULL)
			break;
		*tab = '\0';
		f[i] = tab + 1;
	}
	if (strcmp(f[0], "ok") != 0 && strcmp(f[0], "warning") != 0)
		*ok = false;
	json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s}", "verdict", f[0],
	    "purpose", f[1], "name", f[2], "detail", f[3]));
}

json_t *
web_dns_check(const struct config *cfg, const char *domain, json_t *records)
{
	struct buf out = { 0 };
	int fds[2];
	bool ok = true;

	if (pipe(fds) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		close(fds[0]);
		alarm(CHECK_SECONDS + 1); /* should the parent be gone */
		run_check(cfg, domain, records, &out);
		size_t off = 0;
		while (off < out.len) {
			ssize_t n = write(fds[1], out.data + off, out.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		/* Nothing of the parent's (its loop, its buffers) is torn down here. */
		_exit(0);
	}
	close(fds[1]);
	int rc = read_child(fds[0], &out);
	close(fds[0]);
	if (rc < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;

	json_t *results = json_array();
	if (rc < 0) {
		ok = false;
		char why[100];
		snprintf(why, sizeof why, "no answer within %d seconds", CHECK_SECONDS);
		json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s}", "verdict",
		    "tempfail", "purpose", "", "name", domain, "detail", why));
	} else {
		buf_putc(&out, '\0');
		char *save = NULL;
		for (char *line = strtok_r(out.data, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			add_line(results, line, &ok);
		if (json_array_size(results) == 0)
			ok = false;
	}
	buf_free(&out);
	return json_pack("{s:s, s:b, s:o}", "domain", domain, "ok", ok, "results", results);
}
