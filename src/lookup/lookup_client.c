/* lookup_client.c - blocking calls from the roles to lookupd (see lookup_client.h). */
#include "lookup/lookup_client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts_vacation.h"
#include "ipc/frame.h"
#include "net/peer.h"
#include "util/abstract_name.h"
#include "util/log.h"

#define QUERY_TIMEOUT_MS 5000
#define VERIFY_TIMEOUT_MS 30000

void
lookup_socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len)
{
	abstract_name(data_dir, "lookupd", sun, len);
}

void
lookup_client_init(struct lookup_client *c, const char *data_dir)
{
	lookup_socket_name(data_dir, &c->addr, &c->addrlen);
	c->fd = -1;
}

void
lookup_client_close(struct lookup_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
dial(const struct lookup_client *c)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0) {
		close(fd);
		return -1;
	}
	long uid;
	if (!peer_is_server(fd, &uid)) {
		ev_err("lookupd-untrusted", KN("uid", uid));
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* exchange - one request and its reply on fd. 0, -1 (broken: may retry), -2 (timeout). */
static int
exchange(int fd, const struct frame *req, struct frame *rep, int timeout_ms)
{
	uint16_t type;

	if (send(fd, req->buf, req->len, MSG_NOSIGNAL) != (ssize_t)req->len)
		return -1;
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -2;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -2 : -1;
		/* Straight into the frame; MSG_TRUNC tells a longer one, which no reply is. */
		ssize_t n = recv(fd, rep->buf, sizeof rep->buf, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n > sizeof rep->buf)
			return -1;
		if (frame_parse(rep, rep->buf, (size_t)n, &type) < 0 || type != LK_REPLY)
			return -2; /* not retried: the same request would be refused again */
		return 0;
	}
}

int
lookup_call(struct lookup_client *c, const struct frame *req, struct frame *rep, int timeout_ms)
{
	if (req->bad)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && (c->fd = dial(c)) < 0)
			break;
		int r = exchange(c->fd, req, rep, timeout_ms);
		if (r == 0)
			return 0;
		/* A late reply must never answer the next request: start afresh. */
		lookup_client_close(c);
		if (r == -2)
			break;
	}
	ev_warn("lookupd-unanswered", KS("error", errno ? strerror(errno) : "no reply"));
	return -1;
}

enum resolve_status
lookup_resolve(struct lookup_client *c, const char *address, struct target_list *out)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	enum resolve_status st = RESOLVE_TEMPFAIL;
	uint64_t status, n, kind, unlimited, vacation;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_RESOLVE);
	frame_put_str(req, address);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &status) ||
	    !frame_get_u64(rep, &n) || status > RESOLVE_TEMPFAIL)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 4;
			struct target *v = reallocarray(out->v, cap, sizeof *v);
			if (v == NULL)
				goto out;
			out->v = v;
			out->cap = cap;
		}
		struct target *t = &out->v[out->n];
		if (!frame_get_u64(rep, &kind) || kind > TARGET_REMOTE ||
		    !frame_get_str(rep, t->addr, sizeof t->addr) || !frame_get_u64(rep, &unlimited) ||
		    !frame_get_u64(rep, &vacation))
			goto out;
		t->kind = (enum target_kind)kind;
		t->unlimited = unlimited == 1;
		t->vacation = vacation == 1;
		out->n++;
	}
	if (frame_end(rep))
		st = (enum resolve_status)status;
out:
	if (st == RESOLVE_TEMPFAIL)
		out->n = 0;
	free(req);
	free(rep);
	return st;
}

/* query - a request of string arguments whose reply is one or two integers. */
static int
query(struct lookup_client *c, enum lookup_type type, const char *a1, const char *a2,
    uint64_t *v1, uint64_t *v2)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	int rc = -1;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, (uint16_t)type);
	frame_put_str(req, a1);
	if (a2 != NULL)
		frame_put_str(req, a2);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) == 0 && frame_get_u64(rep, v1) &&
	    (v2 == NULL || frame_get_u64(rep, v2)) && frame_end(rep))
		rc = 0;
out:
	free(req);
	free(rep);
	return rc;
}

/* answer - lookupd's 1 / 0 / 2 (store failed) as 1 / 0 / -1. */
static int
answer(uint64_t v)
{
	return v == 1 ? 1 : v == 0 ? 0 : -1;
}

int
lookup_owns(struct lookup_client *c, const char *user, const char *address)
{
	uint64_t v;
	if (query(c, LK_OWNS, user, address, &v, NULL) < 0)
		return -1;
	return answer(v);
}

int
lookup_quota(struct lookup_client *c, const char *address, uint64_t *quota)
{
	uint64_t v, q;
	*quota = 0;
	if (query(c, LK_QUOTA, address, NULL, &v, &q) < 0)
		return -1;
	if (answer(v) == 1)
		*quota = q;
	return answer(v);
}

int
lookup_domains(struct lookup_client *c, struct strlist *out)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	char name[256];
	uint64_t n;
	int rc = -1;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_DOMAINS);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &n))
		goto out;
	for (uint64_t i = 0; i < n; i++)
		if (!frame_get_str(rep, name, sizeof name) || strlist_add(out, name) < 0)
			goto out;
	if (frame_end(rep))
		rc = 0;
out:
	free(req);
	free(rep);
	return rc;
}

enum grey_answer
lookup_greylist(struct lookup_client *c, const char *client_ip, const char *sender,
    const char *rcpt, uint64_t delay)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	enum grey_answer ans = GREY_FAILED;
	uint64_t v;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_GREYLIST);
	frame_put_str(req, client_ip);
	frame_put_str(req, sender);
	frame_put_str(req, rcpt);
	frame_put_u64(req, delay);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) == 0 && frame_get_u64(rep, &v) &&
	    frame_end(rep) && v <= GREY_FAILED)
		ans = (enum grey_answer)v;
out:
	free(req);
	free(rep);
	return ans;
}

int
lookup_greylist_trust(struct lookup_client *c, const char *client_ip)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	uint64_t v = 1;

	if (req != NULL && rep != NULL) {
		frame_init(req, LK_GREYLIST_TRUST);
		frame_put_str(req, client_ip);
		if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) != 0 || !frame_get_u64(rep, &v) ||
		    !frame_end(rep))
			v = 1;
	}
	free(req);
	free(rep);
	return v == 0 ? 0 : -1;
}

int
lookup_srs_forward(struct lookup_client *c, const char *sender, const char *srs_domain,
    char *out, size_t outlen)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	char addr[ADDR_MAX + 1];
	uint64_t status;
	int rc = -1;

	snprintf(out, outlen, "%s", sender);
	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_SRS_FORWARD);
	frame_put_str(req, sender);
	frame_put_str(req, srs_domain);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &status) ||
	    !frame_get_str(rep, addr, sizeof addr) || !frame_end(rep))
		goto out;
	rc = answer(status);
	if (rc == 1 && strlen(addr) < outlen)
		snprintf(out, outlen, "%s", addr);
	else if (rc == 1)
		rc = -1;
out:
	free(req);
	free(rep);
	return rc;
}

enum send_verdict
lookup_sends_count(struct lookup_client *c, const char *user, const char *const *rcpts,
    size_t nrcpts, time_t now, uint64_t *limit)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	uint64_t v = SEND_TEMPFAIL, lim = 0;
	size_t named = 0, room = FRAME_MAX - ADDR_MAX - 64;

	*limit = 0;
	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_SENDS_COUNT);
	frame_put_str(req, user);
	frame_put_u64(req, (uint64_t)now);
	frame_put_u64(req, nrcpts);
	while (named < nrcpts && room >= strlen(rcpts[named]) + 16)
		room -= strlen(rcpts[named++]) + 16;
	frame_put_u64(req, named);
	for (size_t i = 0; i < named; i++)
		frame_put_str(req, rcpts[i]);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &v) ||
	    !frame_get_u64(rep, &lim) || !frame_end(rep) || v > SEND_TEMPFAIL)
		v = SEND_TEMPFAIL;
	else
		*limit = lim;
out:
	free(req);
	free(rep);
	return (enum send_verdict)v;
}

int
lookup_vacation_get(struct lookup_client *c, const char *user, struct vacation_info *out)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	uint64_t status, until, set_at;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_VACATION_GET);
	frame_put_str(req, user);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &status) ||
	    !frame_get_str(rep, out->subject, sizeof out->subject) ||
	    !frame_get_str(rep, out->body, sizeof out->body) || !frame_get_u64(rep, &until) ||
	    !frame_get_u64(rep, &set_at) || !frame_end(rep) || status > 2 || until > INT64_MAX ||
	    set_at > INT64_MAX)
		goto out;
	snprintf(out->address, sizeof out->address, "%s", user);
	out->found = status == 1;
	out->until = (time_t)until;
	out->set_at = (time_t)set_at;
	rc = 0;
out:
	if (rc < 0)
		memset(out, 0, sizeof *out);
	free(req);
	free(rep);
	return rc;
}

enum vacation_record
lookup_vacation_reply(struct lookup_client *c, const char *user, const char *sender)
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	uint64_t v = VACATION_FAILED;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_VACATION_REPLY);
	frame_put_str(req, user);
	frame_put_str(req, sender);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &v) ||
	    !frame_end(rep) || v > VACATION_FAILED)
		v = VACATION_FAILED;
out:
	free(req);
	free(rep);
	return (enum vacation_record)v;
}

enum lookup_verdict
lookup_verify(const struct lookup_client *c, const char *user, const char *password,
    const char *client_ip, const char *service)
{
	struct lookup_client own;
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	enum lookup_verdict v = VERDICT_TEMPFAIL;
	uint64_t r;

	/* Only the address, never c->fd: the loop thread may be using it right now. */
	memcpy(&own.addr, &c->addr, sizeof own.addr);
	own.addrlen = c->addrlen;
	own.fd = -1;
	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_VERIFY);
	frame_put_str(req, user);
	frame_put_str(req, password);
	frame_put_str(req, client_ip);
	frame_put_str(req, service);
	if (lookup_call(&own, req, rep, VERIFY_TIMEOUT_MS) == 0 && frame_get_u64(rep, &r) &&
	    frame_end(rep) && r <= VERDICT_SUSPENDED)
		v = (enum lookup_verdict)r;
	lookup_client_close(&own);
out:
	if (req != NULL)
		explicit_bzero(req->buf, req->len);
	free(req);
	free(rep);
	return v;
}

int
lookup_dkim_keys(struct lookup_client *c, const char *domain, time_t now,
    struct dkim_signer out[2])
{
	struct frame *req = malloc(sizeof *req), *rep = malloc(sizeof *rep);
	uint64_t status, n, alg;
	int rc = -1;

	if (req == NULL || rep == NULL)
		goto out;
	frame_init(req, LK_DKIM_KEYS);
	frame_put_str(req, domain);
	frame_put_u64(req, now < 0 ? 0 : (uint64_t)now);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &status) ||
	    !frame_get_u64(rep, &n) || status != 0 || n > DKIM_ALG_COUNT)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		if (!frame_get_u64(rep, &alg) || alg >= DKIM_ALG_COUNT ||
		    !frame_get_str(rep, out[i].selector, sizeof out[i].selector))
			goto out;
		out[i].alg = (enum dkim_alg)alg;
	}
	if (frame_end(rep))
		rc = (int)n;
out:
	free(req);
	free(rep);
	return rc;
}

enum dkim_sign_status
lookup_dkim_sign(struct lookup_client *c, const char *domain, const char *selector,
    const void *data, size_t len, char *sig_b64, size_t siglen)
{
	struct frame *req = NULL, *rep = NULL;
	char *text = NULL;
	uint64_t status;
	enum dkim_sign_status st = DKIM_SIGN_FAILED;

	if (siglen > 0)
		sig_b64[0] = '\0';
	/* A string field: no NUL inside, and it must fit in one frame. */
	if (len > LK_DKIM_DATA_MAX || memchr(data, '\0', len) != NULL) {
		ev_warn("dkim-too-long", KN("size", len));
		return DKIM_SIGN_FAILED;
	}
	if ((req = malloc(sizeof *req)) == NULL || (rep = malloc(sizeof *rep)) == NULL ||
	    (text = malloc(len + 1)) == NULL)
		goto out;
	memcpy(text, data, len);
	text[len] = '\0';
	frame_init(req, LK_DKIM_SIGN);
	frame_put_str(req, domain);
	frame_put_str(req, selector);
	frame_put_str(req, text);
	if (lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 || !frame_get_u64(rep, &status) ||
	    status > DKIM_SIGN_FAILED || !frame_get_str(rep, sig_b64, siglen) || !frame_end(rep)) {
		if (siglen > 0)
			sig_b64[0] = '\0';
		goto out;
	}
	st = (enum dkim_sign_status)status;
	if (st != DKIM_SIGN_OK && siglen > 0)
		sig_b64[0] = '\0';
out:
	free(text);
	free(req);
	free(rep);
	return st;
}

/* many_fits - whether n items go in one LK_DKIM_SIGN_MANY (no NUL in any data). */
static bool
many_fits(const struct dkim_sign_item *items, size_t n)
{
	size_t total = 0;

	if (n == 0 || n > DKIM_ALG_COUNT)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (items[i].len > LK_DKIM_DATA_MAX || memchr(items[i].data, '\0', items[i].len))
			return false;
		total += items[i].len;
	}
	return total <= LK_DKIM_DATA_MAX;
}

int
lookup_dkim_sign_many(struct lookup_client *c, const char *domain,
    struct dkim_sign_item *items, size_t n)
{
	struct frame *req = NULL, *rep = NULL;
	uint64_t got, status;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		items[i].status = DKIM_SIGN_FAILED;
		if (items[i].siglen > 0)
			items[i].sig[0] = '\0';
	}
	if (!many_fits(items, n)) {
		for (size_t i = 0; i < n; i++)
			items[i].status = lookup_dkim_sign(c, domain, items[i].selector, items[i].data,
			    items[i].len, items[i].sig, items[i].siglen);
		return 0;
	}
	if ((req = malloc(sizeof *req)) == NULL || (rep = malloc(sizeof *rep)) == NULL)
		goto out;
	frame_init(req, LK_DKIM_SIGN_MANY);
	frame_put_str(req, domain);
	frame_put_u64(req, n);
	for (size_t i = 0; i < n; i++) {
		frame_put_str(req, items[i].selector);
		frame_put_strn(req, items[i].data, items[i].len);
	}
	if (req->bad || lookup_call(c, req, rep, QUERY_TIMEOUT_MS) < 0 ||
	    !frame_get_u64(rep, &got) || got != n)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!frame_get_u64(rep, &status) || status > DKIM_SIGN_FAILED ||
		    !frame_get_str(rep, items[i].sig, items[i].siglen))
			goto out;
		items[i].status = (enum dkim_sign_status)status;
	}
	rc = frame_end(rep) ? 0 : -1;
out:
	/* Nothing half-read counts: a reply that did not parse to the end signs nothing. */
	for (size_t i = 0; i < n; i++) {
		if (rc < 0)
			items[i].status = DKIM_SIGN_FAILED;
		if (items[i].status != DKIM_SIGN_OK && items[i].siglen > 0)
			items[i].sig[0] = '\0';
	}
	free(req);
	free(rep);
	return rc;
}
