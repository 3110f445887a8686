/*
 * web_dns_check.c - `dns check` for the admin page and the API. The check asks
 * the resolver synchronously, one question after another; the web role serves
 * everyone from one loop, so it runs in a child process that writes its lines to
 * a pipe the loop watches, and the request is answered when the child is done, or
 * after CHECK_SECONDS with a tempfail: nobody else waits for it.
 */
#include "http/web_dns_check.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* A check under way: the child, its pipe, what it wrote so far, whom to tell. */
struct web_dns_pending {
	struct httpd *srv;
	pid_t pid;
	int fd;
	struct event *ev, *deadline;
	struct buf out;
	char domain[300];
	web_dns_done *done;
	void *arg;
	struct web_dns_pending **prev, *next; /* srv->dns_checks */
};

/* result - the child's lines (timed_out: none, the limit instead) as the check's JSON. */
static json_t *
result(struct web_dns_pending *p, bool timed_out)
{
	json_t *results = json_array();
	bool ok = true;

	if (timed_out) {
		ok = false;
		char why[100];
		snprintf(why, sizeof why, "no answer within %d seconds", CHECK_SECONDS);
		json_array_append_new(results, json_pack("{s:s, s:s, s:s, s:s}", "verdict",
		    "tempfail", "purpose", "", "name", p->domain, "detail", why));
	} else {
		buf_putc(&p->out, '\0');
		char *save = NULL;
		for (char *line = p->out.data ? strtok_r(p->out.data, "\n", &save) : NULL;
		    line != NULL; line = strtok_r(NULL, "\n", &save))
			add_line(results, line, &ok);
		if (json_array_size(results) == 0)
			ok = false;
	}
	return json_pack("{s:s, s:b, s:o}", "domain", p->domain, "ok", ok, "results", results);
}

/* finish - the child reaped, the caller told (unless cancelled), p freed. */
static void
finish(struct web_dns_pending *p, bool timed_out, bool tell)
{
	if (timed_out || !tell)
		kill(p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	event_free(p->ev);
	event_free(p->deadline);
	close(p->fd);
	*p->prev = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (tell) {
		json_t *j = result(p, timed_out);
		p->done(p->arg, j);
		json_decref(j);
	}
	buf_free(&p->out);
	free(p);
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	struct web_dns_pending *p = arg;
	char chunk[4096];

	ssize_t got = read(fd, chunk, sizeof chunk);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got > 0 && p->out.len + (size_t)got <= CHECK_OUTPUT_MAX &&
	    buf_append(&p->out, chunk, (size_t)got) == 0)
		return;
	finish(p, false, true); /* EOF: the child is done (or wrote too much) */
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	finish(arg, true, true);
}

int
web_dns_check_start(struct httpd *srv, const char *domain, json_t *records, web_dns_done *done,
    void *arg)
{
	struct web_dns_pending *p = calloc(1, sizeof *p);
	int fds[2];

	if (p == NULL)
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(p);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(p);
		return -1;
	}
	if (pid == 0) {
		struct buf out = { 0 };
		close(fds[0]);
		alarm(CHECK_SECONDS + 1); /* should the parent be gone */
		run_check(srv->cfg, domain, records, &out);
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
	evutil_make_socket_nonblocking(fds[0]);
	p->srv = srv;
	p->pid = pid;
	p->fd = fds[0];
	p->done = done;
	p->arg = arg;
	snprintf(p->domain, sizeof p->domain, "%s", domain);
	p->ev = event_new(srv->base, fds[0], EV_READ | EV_PERSIST, on_output, p);
	p->deadline = evtimer_new(srv->base, on_deadline, p);
	struct timeval tv = { CHECK_SECONDS, 0 };
	p->next = srv->dns_checks;
	if (p->next != NULL)
		p->next->prev = &p->next;
	p->prev = &srv->dns_checks;
	srv->dns_checks = p;
	if (p->ev == NULL || p->deadline == NULL || event_add(p->ev, NULL) < 0 ||
	    evtimer_add(p->deadline, &tv) < 0) {
		finish(p, false, false);
		return -1;
	}
	return 0;
}

void
web_dns_check_cancel_all(struct httpd *srv)
{
	while (srv->dns_checks != NULL)
		finish(srv->dns_checks, false, false);
}
