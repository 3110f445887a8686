/*
 * remote.c - delivery to other domains. The due remote recipients of a message
 * are grouped by destination (their domain, or the relayhost); each group is one
 * delivery: find the servers (MX by preference, else the domain's own address;
 * a null MX bounces), try them in order until one answers, carry every recipient
 * of the group in one SMTP transaction, and record a result per recipient. When a
 * message has recipients in several domains, their MX records are looked up first
 * and domains served by the same hosts are merged into one delivery: one
 * connection per host for the message. At most `concurrency` deliveries run at
 * once, and a few per destination; a delivery tries at most `mx_address_limit`
 * server addresses. A server that is ourselves (our hostname, or an address and
 * port we listen on) is a loop: it and the worse MX hosts are dropped (RFC 5321
 * 5.1), and when nothing better was left the recipients bounce with 5.4.6.
 */
#include "deliver/remote.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "deliver/dns.h"
#include "deliver/smtp_client.h"
#include "net/self_addr.h"
#include "net/sockaddr.h"
#include "net/tls.h"
#include "queue/queued.h"
#include "util/log.h"
#include "util/strmap.h"

#define PER_DEST_MAX 4 /* connections to one destination at once */
#define LOCAL_ADDRS_TTL 60 /* seconds the interface addresses are cached */

struct dest {
	unsigned active;
};

struct mx_set;

struct delivery {
	struct remote *r;
	struct qmsg *m;
	struct dest *dest;
	struct mx_set *set;         /* its MX lookup is part of the message's merge */
	bool started;               /* in the active list (counted against the limits) */
	bool resolved;              /* mx holds its servers already */
	int pre_code;               /* the lookup ended it: this result for every recipient */
	char *pre_text;
	struct delivery *next;      /* in the waiting list, or the active list */
	struct delivery *prev;
	char name[DNS_NAME_MAX + 2]; /* the destination: a domain, or the relayhost */
	bool use_mx;                /* look up MX records for name (else its addresses) */
	uint16_t port;
	bool relayhost;
	size_t *idx;                /* recipients of m in this delivery */
	const char **rcpts;
	size_t n;
	struct mx_list mx;
	size_t mx_next;
	const char *host;           /* the server being tried */
	struct addr_list addrs;
	size_t addr_next;
	unsigned tried;             /* server addresses tried, for mx_address_limit */
	bool no_tls;
	bool implicit_mx;           /* no MX records: the domain's own address */
	struct smtp_client *client;
	char relay[SOCKADDR_TEXT_MAX + DNS_NAME_MAX + 16];
	int last_code;
	char last_error[CLIENT_TEXT_MAX];
	char auth_user[256], auth_pass[256];
};

/* The domains of one message whose MX lookups run before they are merged. */
struct mx_set {
	struct remote *r;
	struct mx_set *prev, *next; /* in remote->sets */
	struct delivery **v;
	size_t n, pending;
};

struct remote {
	struct queued *q;
	struct mx_set *sets;        /* lookups under way, for the shutdown */
	struct dns *dns;
	SSL_CTX *tls;               /* opportunistic STARTTLS */
	SSL_CTX *tls_verify;        /* relayhost_tls = verify: built when first needed */
	char *tls_verify_ca;        /* the tls_ca_file it was built from (NULL: the system's) */
	struct strmap dests;        /* destination name -> struct dest */
	struct delivery *wait_head, *wait_tail;
	struct delivery *active;    /* running deliveries, for the shutdown */
	unsigned nactive;
	struct event *dispatch_ev;
	struct local_addrs local;   /* this host's addresses, for wildcard listeners */
	time_t local_at;            /* when local was read; 0: never */
};

static void dispatch(struct remote *r);
static size_t resolve_together(struct remote *r, struct delivery **groups, size_t ngroups,
    bool *taken);

static void
kick(struct remote *r)
{
	if (!event_pending(r->dispatch_ev, EV_TIMEOUT, NULL))
		event_active(r->dispatch_ev, EV_TIMEOUT, 0);
}

static void
on_dispatch(evutil_socket_t fd, short what, void *arg)
{
	dispatch(arg);
}

struct remote *
remote_new(struct queued *q)
{
	struct remote *r = calloc(1, sizeof *r);
	char err[512];

	if (r == NULL)
		return NULL;
	r->q = q;
	if ((r->dns = dns_new(q->base, q->cfg->resolver, err, sizeof err)) == NULL ||
	    (r->tls = tls_client_ctx(err, sizeof err)) == NULL) {
		log_err("%s", err);
		remote_free(r);
		return NULL;
	}
	r->dispatch_ev = event_new(q->base, -1, 0, on_dispatch, r);
	if (r->dispatch_ev == NULL) {
		remote_free(r);
		return NULL;
	}
	return r;
}

static void
delivery_free(struct delivery *d)
{
	free(d->pre_text);
	free(d->idx);
	free(d->rcpts);
	free(d->mx.v);
	free(d);
}

static void
free_dest(const char *key, void *value, void *arg)
{
	free(value);
}

void
remote_free(struct remote *r)
{
	if (r == NULL)
		return;
	/* Shutdown: the recipients stay pending in the spool and are tried at the next start. */
	while (r->active) {
		struct delivery *d = r->active;
		r->active = d->next;
		if (d->client)
			smtp_client_abort(d->client);
		delivery_free(d);
	}
	while (r->wait_head) {
		struct delivery *d = r->wait_head;
		r->wait_head = d->next;
		delivery_free(d);
	}
	while (r->sets) {
		struct mx_set *s = r->sets;
		r->sets = s->next;
		for (size_t i = 0; i < s->n; i++)
			delivery_free(s->v[i]);
		free(s->v);
		free(s);
	}
	dns_free(r->dns);
	SSL_CTX_free(r->tls);
	SSL_CTX_free(r->tls_verify);
	free(r->tls_verify_ca);
	if (r->dispatch_ev)
		event_free(r->dispatch_ev);
	strmap_each(&r->dests, free_dest, NULL);
	strmap_free(&r->dests);
	local_addrs_free(&r->local);
	free(r);
}

/* split_hostport - "host:port" or "[host]:port" (config.c stores the port always). */
static void
split_hostport(const char *in, char *host, size_t hostlen, uint16_t *port, bool *bracketed)
{
	const char *colon = strrchr(in, ':');
	size_t n = colon ? (size_t)(colon - in) : strlen(in);
	*port = colon ? (uint16_t)atoi(colon + 1) : 25;
	*bracketed = in[0] == '[';
	if (*bracketed && n >= 2) {
		in++;
		n -= 2;
	}
	if (n >= hostlen)
		n = hostlen - 1;
	memcpy(host, in, n);
	host[n] = '\0';
}

static struct delivery *
delivery_new(struct remote *r, struct qmsg *m, const char *domain)
{
	struct delivery *d = calloc(1, sizeof *d);
	const struct config *cfg = r->q->cfg;

	if (d == NULL)
		return NULL;
	d->r = r;
	d->m = m;
	if (cfg->relayhost != NULL) {
		bool br;
		split_hostport(cfg->relayhost, d->name, sizeof d->name, &d->port, &br);
		/* An address has no MX records: only a name without brackets is looked up. */
		unsigned char bin[16];
		d->use_mx = !br && inet_pton(AF_INET, d->name, bin) != 1 &&
		    inet_pton(AF_INET6, d->name, bin) != 1;
		d->relayhost = true;
	} else {
		snprintf(d->name, sizeof d->name, "%s", domain);
		d->port = cfg->remote_port;
		d->use_mx = domain[0] != '[';
	}
	struct dest *dest = strmap_get(&r->dests, d->name);
	if (dest == NULL) {
		dest = calloc(1, sizeof *dest);
		if (dest == NULL || strmap_put(&r->dests, d->name, dest) < 0) {
			free(dest);
			free(d);
			return NULL;
		}
	}
	d->dest = dest;
	return d;
}

static int
delivery_add_rcpt(struct delivery *d, size_t idx)
{
	size_t *v = realloc(d->idx, (d->n + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	d->idx = v;
	const char **a = realloc(d->rcpts, (d->n + 1) * sizeof *a);
	if (a == NULL)
		return -1;
	d->rcpts = a;
	d->idx[d->n] = idx;
	d->rcpts[d->n] = d->m->env.rcpts[idx].addr;
	d->n++;
	return 0;
}

static void
wait_push(struct remote *r, struct delivery *d)
{
	d->next = NULL;
	if (r->wait_tail)
		r->wait_tail->next = d;
	else
		r->wait_head = d;
	r->wait_tail = d;
}

unsigned
remote_start(struct queued *q, struct qmsg *m, time_t now)
{
	struct remote *r = q->remote;
	struct delivery **groups = NULL;
	size_t ngroups = 0;
	unsigned started = 0;

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct spool_rcpt *rc = &m->env.rcpts[i];
		if (rc->kind != TARGET_REMOTE || rc->status != RCPT_PENDING || rc->next_try > now)
			continue;
		const char *domain = address_domain(rc->addr);
		if (domain == NULL) {
			queued_rcpt_result(q, m, i, 553, "none", "553 5.1.3 malformed recipient address");
			continue;
		}
		/* With a relayhost, every recipient goes in one delivery. */
		struct delivery *d = NULL;
		for (size_t g = 0; g < ngroups && d == NULL; g++)
			if (q->cfg->relayhost != NULL || strcasecmp(groups[g]->name, domain) == 0)
				d = groups[g];
		if (d == NULL) {
			struct delivery **ng = realloc(groups, (ngroups + 1) * sizeof *ng);
			if (ng == NULL || (d = delivery_new(r, m, domain)) == NULL) {
				free(ng ? ng : groups);
				groups = NULL;
				ngroups = 0;
				queued_rcpt_result(q, m, i, 451, "none", "451 4.3.0 out of memory");
				continue;
			}
			for (char *p = d->name; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			groups = ng;
			groups[ngroups++] = d;
		}
		if (delivery_add_rcpt(d, i) < 0)
			queued_rcpt_result(q, m, i, 451, "none", "451 4.3.0 out of memory");
	}
	size_t kept = 0;
	for (size_t g = 0; g < ngroups; g++) {
		if (groups[g]->n == 0)
			delivery_free(groups[g]);
		else
			groups[kept++] = groups[g];
	}
	ngroups = kept;
	size_t nmx = 0;
	for (size_t g = 0; g < ngroups; g++)
		if (groups[g]->use_mx && !groups[g]->relayhost && groups[g]->name[0] != '[')
			nmx++;
	bool *taken = calloc(ngroups ? ngroups : 1, sizeof *taken);
	/* Every group is a round part now; merging later gives parts back. */
	started = (unsigned)ngroups;
	if (nmx >= 2 && taken != NULL)
		resolve_together(r, groups, ngroups, taken);
	for (size_t g = 0; g < ngroups; g++)
		if (taken == NULL || !taken[g])
			wait_push(r, groups[g]);
	free(taken);
	free(groups);
	if (started > 0)
		kick(r);
	return started;
}

/* finish - record every recipient still without a result, end this part of the round. */
static void
finish(struct delivery *d, int code, const char *text)
{
	struct remote *r = d->r;
	struct qmsg *m = d->m;

	for (size_t i = 0; i < d->n; i++)
		queued_rcpt_result(r->q, m, d->idx[i], code, d->relay[0] ? d->relay : d->name, text);
	if (d->started) {
		if (d->prev)
			d->prev->next = d->next;
		else
			r->active = d->next;
		if (d->next)
			d->next->prev = d->prev;
		r->nactive--;
		d->dest->active--;
	}
	dns_cancel_arg(r->dns, d);
	delivery_free(d);
	if (--m->parts == 0)
		queued_settle(r->q, m);
	kick(r);
}

static void next_host(struct delivery *d);
static void next_addr(struct delivery *d);

/* give_up - every server failed (or the address limit was reached): try again later. */
static void
give_up(struct delivery *d)
{
	char text[CLIENT_TEXT_MAX + 64];

	snprintf(text, sizeof text, "451 4.4.1 %s: %s", d->name,
	    d->last_error[0] ? d->last_error : "no server answered");
	d->relay[0] = '\0';
	finish(d, 451, text);
}

/* limit_reached - whether d has tried as many addresses as mx_address_limit allows. */
static bool
limit_reached(struct delivery *d)
{
	unsigned limit = d->r->q->cfg->mx_address_limit;

	if (limit == 0 || d->tried < limit)
		return false;
	log_info("%s: %s: tried %u server addresses (mx_address_limit), trying again later",
	    d->m->id, d->name, d->tried);
	return true;
}

/* is_self - whether a connection to ss on port would reach one of our own listeners. */
static bool
is_self(struct remote *r, const struct sockaddr_storage *ss, uint16_t port)
{
	const struct config *cfg = r->q->cfg;
	time_t now = time(NULL);

	if (self_addrs_any_wildcard(cfg->listen, SVC_COUNT) &&
	    (r->local_at == 0 || now - r->local_at >= LOCAL_ADDRS_TTL)) {
		local_addrs_free(&r->local);
		if (local_addrs_load(&r->local) < 0)
			log_warn("cannot list the interface addresses: %s", strerror(errno));
		r->local_at = now;
	}
	return self_addr_match(cfg->listen, SVC_COUNT, (const struct sockaddr *)ss, port,
	    &r->local);
}

/*
 * self_found - the server d->host is ourselves (at the address ip, or by name when
 * ip is NULL). RFC 5321 5.1: it and every MX host of the same or a worse preference
 * are dropped. If better ones came before (they failed), try them again later; if
 * not, the mail would only loop: bounce.
 */
static void
self_found(struct delivery *d, const char *ip)
{
	char text[CLIENT_TEXT_MAX + 64];
	const struct mx *cur = &d->mx.v[d->mx_next - 1];

	if (ip != NULL)
		snprintf(d->relay, sizeof d->relay, "%s[%s]:%u", d->host, ip, d->port);
	if (d->mx.v[0].pref < cur->pref) {
		log_info("%s: %s (MX %u of %s) is this host: MX hosts from there on are not tried",
		    d->m->id, d->host, cur->pref, d->name);
		d->mx_next = d->mx.n;
		give_up(d);
		return;
	}
	bool at = ip != NULL && strcmp(ip, d->host) != 0;
	log_info("%s: %s%s%s is this host: mail for %s would loop", d->m->id, d->host,
	    at ? " at " : "", at ? ip : "", d->name);
	snprintf(text, sizeof text, "554 5.4.6 mail for %s loops back to myself (%s)",
	    d->name, d->host);
	finish(d, 554, text);
}

/* check_self - whether one of d's addresses for d->host is ourselves; if so, handled. */
static bool
check_self(struct delivery *d)
{
	for (size_t i = 0; i < d->addrs.n; i++) {
		if (is_self(d->r, &d->addrs.v[i], d->port)) {
			char ip[SOCKADDR_TEXT_MAX];
			sockaddr_ip((const struct sockaddr *)&d->addrs.v[i], ip, sizeof ip, NULL);
			self_found(d, ip);
			return true;
		}
	}
	return false;
}

static void
on_client(void *arg, const struct client_result *res)
{
	struct delivery *d = arg;
	struct remote *r = d->r;

	d->client = NULL;
	switch (res->outcome) {
	case CLIENT_TLS_FAILED:
		log_info("%s: %s; trying again without TLS", d->m->id, res->text);
		d->no_tls = true;
		d->addr_next--;
		d->tried--; /* the same address once more */
		next_addr(d);
		return;
	case CLIENT_TRY_NEXT:
		d->last_code = res->code;
		snprintf(d->last_error, sizeof d->last_error, "%s", res->text);
		log_info("%s: %s", d->m->id, res->text);
		next_addr(d);
		return;
	case CLIENT_DONE:
		break;
	}
	for (size_t i = 0; i < d->n; i++) {
		int code = res->rcpt_code[i];
		const char *text = res->rcpt_text[i];
		if (code <= 0) {
			code = 451;
			if (text[0] == '\0')
				text = "451 4.4.2 no answer from the server";
		}
		queued_rcpt_result(r->q, d->m, d->idx[i], code, d->relay, text);
	}
	d->n = 0; /* all recorded */
	finish(d, 0, "");
}

/*
 * verify_ctx - the verifying client context for the configured tls_ca_file, made
 * again when a reload changed the path (SSL objects keep the old one alive).
 */
static SSL_CTX *
verify_ctx(struct remote *r, char *err, size_t errlen)
{
	const char *ca = r->q->cfg->tls_ca_file;
	bool same = ca == NULL ? r->tls_verify_ca == NULL :
	    r->tls_verify_ca != NULL && strcmp(ca, r->tls_verify_ca) == 0;

	if (r->tls_verify != NULL && same)
		return r->tls_verify;
	char *copy = NULL;
	if (ca != NULL && (copy = strdup(ca)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX *n = tls_client_verify_ctx(ca, err, errlen);
	if (n == NULL) {
		free(copy);
		return NULL;
	}
	SSL_CTX_free(r->tls_verify);
	free(r->tls_verify_ca);
	r->tls_verify = n;
	r->tls_verify_ca = copy;
	return n;
}

static void
next_addr(struct delivery *d)
{
	struct remote *r = d->r;
	const struct config *cfg = r->q->cfg;

	if (d->addr_next >= d->addrs.n) {
		next_host(d);
		return;
	}
	if (limit_reached(d)) {
		give_up(d);
		return;
	}
	d->tried++;
	struct sockaddr_storage ss = d->addrs.v[d->addr_next++];
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(d->port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(d->port);
	char ip[SOCKADDR_TEXT_MAX];
	sockaddr_ip((struct sockaddr *)&ss, ip, sizeof ip, NULL);
	snprintf(d->relay, sizeof d->relay, "%s[%s]:%u", d->host, ip, d->port);
	struct client_params p = {
		.base = r->q->base,
		.tls = r->tls,
		.no_tls = d->no_tls,
		.helo = cfg->hostname,
		.host = d->host,
		.addr = ss,
		.queue_dir = r->q->queue_dir,
		.env = &d->m->env,
		.rcpts = d->rcpts,
		.nrcpts = d->n,
		.auth_user = d->auth_user[0] ? d->auth_user : NULL,
		.auth_pass = d->auth_pass,
	};
	if (d->relayhost && cfg->relayhost_tls == RELAY_TLS_VERIFY) {
		/* The name as configured, not an MX host name that DNS could forge. */
		char err[512];
		if ((p.tls = verify_ctx(r, err, sizeof err)) == NULL) {
			char text[CLIENT_TEXT_MAX];
			log_err("%s", err);
			snprintf(text, sizeof text, "451 4.7.5 %s", err);
			finish(d, 451, text);
			return;
		}
		p.verify_name = d->name;
		p.no_tls = false;
	}
	d->client = smtp_client_start(&p, on_client, d);
	if (d->client == NULL) {
		finish(d, 451, "451 4.3.0 cannot start an SMTP connection");
		return;
	}
}

static void
on_addrs(void *arg, enum dns_status st, const struct addr_list *addrs, const char *why)
{
	struct delivery *d = arg;

	if (st == DNS_OK) {
		d->addrs = *addrs;
		d->addr_next = 0;
		if (!check_self(d))
			next_addr(d);
		return;
	}
	d->last_code = st == DNS_TEMPFAIL ? 451 : 0;
	snprintf(d->last_error, sizeof d->last_error, "cannot find the address of %s: %s",
	    d->host, why[0] ? why : "no A or AAAA record");
	log_info("%s: %s", d->m->id, d->last_error);
	if (d->implicit_mx && (st == DNS_NXDOMAIN || st == DNS_NODATA)) {
		/* No MX and no address: the domain cannot receive mail (RFC 5321 5.1). */
		char text[CLIENT_TEXT_MAX + 64];
		snprintf(text, sizeof text, "550 5.4.4 %s: no MX and no address record", d->name);
		finish(d, 550, text);
		return;
	}
	next_host(d);
}

static void
next_host(struct delivery *d)
{
	struct remote *r = d->r;

	if (d->mx_next >= d->mx.n || limit_reached(d)) {
		/* Every server failed: try again later, with the last reason. */
		give_up(d);
		return;
	}
	d->host = d->mx.v[d->mx_next++].host;
	d->no_tls = false;
	if (strcasecmp(d->host, r->q->cfg->hostname) == 0 && !d->relayhost) {
		self_found(d, NULL);
		return;
	}
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, d->host, &s4->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, d->host, &s6->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
	}
	if (ss.ss_family != 0) {
		d->addrs.n = 1;
		d->addrs.v[0] = ss;
		d->addr_next = 0;
		if (!check_self(d))
			next_addr(d);
		return;
	}
	if (dns_addr(r->dns, d->host, on_addrs, d) < 0)
		finish(d, 451, "451 4.3.0 cannot start a DNS lookup");
}

static int
set_single_host(struct delivery *d, const char *host)
{
	free(d->mx.v);
	d->mx.v = calloc(1, sizeof *d->mx.v);
	if (d->mx.v == NULL)
		return -1;
	d->mx.n = 1;
	snprintf(d->mx.v[0].host, sizeof d->mx.v[0].host, "%s", host);
	d->mx_next = 0;
	return 0;
}

/*
 * take_mx - the outcome of d's MX lookup: its servers in d->mx and 0, or the
 * code of the result every recipient gets, with its text.
 */
static int
take_mx(struct delivery *d, enum dns_status st, struct mx_list *mx, const char *why,
    char *text, size_t textlen)
{
	switch (st) {
	case DNS_OK:
		if (mx->null_mx) {
			snprintf(text, textlen,
			    "556 5.1.10 %s does not accept mail (null MX, RFC 7505)", d->name);
			return 556;
		}
		free(d->mx.v);
		d->mx = *mx;
		mx->v = NULL; /* ours now */
		mx->n = 0;
		d->mx_next = 0;
		return 0;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, so the domain itself is the mail server. */
		d->implicit_mx = true;
		if (set_single_host(d, d->name) < 0) {
			snprintf(text, textlen, "451 4.3.0 out of memory");
			return 451;
		}
		return 0;
	case DNS_NXDOMAIN:
		snprintf(text, textlen, "550 5.4.4 %s: %s", d->name, why);
		return 550;
	case DNS_TEMPFAIL:
		break;
	}
	snprintf(text, textlen, "451 4.4.3 %s: %s", d->name, why);
	return 451;
}

static void
on_mx(void *arg, enum dns_status st, struct mx_list *mx, const char *why)
{
	struct delivery *d = arg;
	char text[CLIENT_TEXT_MAX + 64];

	int code = take_mx(d, st, mx, why, text, sizeof text);
	if (code != 0) {
		finish(d, code, text);
		return;
	}
	next_host(d);
}

static int
cmp_mx(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;
	if (x->pref != y->pref)
		return (int)x->pref - (int)y->pref;
	return strcmp(x->host, y->host);
}

/* same_servers - whether two domains are served by the same MX hosts and preferences. */
static bool
same_servers(const struct delivery *a, const struct delivery *b)
{
	if (a->mx.n != b->mx.n || a->mx.n == 0)
		return false;
	struct mx *x = malloc(a->mx.n * sizeof *x), *y = malloc(b->mx.n * sizeof *y);
	bool same = x && y;
	if (same) {
		memcpy(x, a->mx.v, a->mx.n * sizeof *x);
		memcpy(y, b->mx.v, b->mx.n * sizeof *y);
		qsort(x, a->mx.n, sizeof *x, cmp_mx);
		qsort(y, b->mx.n, sizeof *y, cmp_mx);
		for (size_t i = 0; i < a->mx.n && same; i++)
			same = x[i].pref == y[i].pref && strcmp(x[i].host, y[i].host) == 0;
	}
	free(x);
	free(y);
	return same;
}

/* set_done - every lookup of the set is in: merge domains with the same servers, queue them. */
static void
set_done(struct remote *r, struct mx_set *s)
{
	struct delivery **kept = calloc(s->n, sizeof *kept);
	size_t nkept = 0;

	if (s->prev)
		s->prev->next = s->next;
	else
		r->sets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	for (size_t i = 0; i < s->n; i++) {
		struct delivery *d = s->v[i];
		d->set = NULL;
		if (d->pre_code != 0) {
			finish(d, d->pre_code, d->pre_text ? d->pre_text : "451 4.3.0 lookup failed");
			continue;
		}
		struct delivery *into = NULL;
		for (size_t k = 0; kept && k < nkept && into == NULL; k++)
			if (same_servers(kept[k], d))
				into = kept[k];
		size_t moved = 0;
		for (; into && moved < d->n; moved++)
			if (delivery_add_rcpt(into, d->idx[moved]) < 0)
				break;
		if (into && moved == d->n) {
			/* Its recipients ride along in the other delivery: one part fewer. */
			d->m->parts--;
			delivery_free(d);
			continue;
		}
		d->resolved = true;
		if (kept)
			kept[nkept++] = d;
		wait_push(r, d);
	}
	free(kept);
	free(s->v);
	free(s);
	kick(r);
}

static void
set_done_later(evutil_socket_t fd, short what, void *arg)
{
	struct mx_set *s = arg;
	set_done(s->r, s);
}

static void
on_set_mx(void *arg, enum dns_status st, struct mx_list *mx, const char *why)
{
	struct delivery *d = arg;
	struct mx_set *s = d->set;
	char text[CLIENT_TEXT_MAX + 64];

	d->pre_code = take_mx(d, st, mx, why, text, sizeof text);
	if (d->pre_code != 0)
		d->pre_text = strdup(text);
	if (--s->pending == 0)
		set_done(d->r, s);
}

/*
 * resolve_together - look up the MX records of several domains of one message at
 * once (groups[i] with use_mx), so that set_done can merge those with the same
 * servers. Returns how many were taken; the rest go to the waiting list.
 */
static size_t
resolve_together(struct remote *r, struct delivery **groups, size_t ngroups, bool *taken)
{
	struct mx_set *s = calloc(1, sizeof *s);
	size_t n = 0;

	if (s == NULL || (s->v = calloc(ngroups, sizeof *s->v)) == NULL) {
		free(s);
		return 0;
	}
	for (size_t g = 0; g < ngroups; g++) {
		struct delivery *d = groups[g];
		if (!d->use_mx || d->relayhost || d->name[0] == '[')
			continue;
		d->set = s;
		s->v[s->n++] = d;
		taken[g] = true;
		n++;
	}
	s->next = r->sets;
	if (s->next)
		s->next->prev = s;
	r->sets = s;
	s->pending = s->n;
	for (size_t i = 0; i < s->n; i++) {
		struct delivery *d = s->v[i];
		if (dns_mx(r->dns, d->name, on_set_mx, d) < 0) {
			d->pre_code = 451;
			d->pre_text = strdup("451 4.3.0 cannot start a DNS lookup");
			/*
			 * Counted as answered now. If none is left to answer, finish on
			 * the next loop turn: the caller has not counted the parts yet.
			 */
			if (--s->pending == 0) {
				struct timeval zero = { 0, 0 };
				s->r = r;
				event_base_once(r->q->base, -1, EV_TIMEOUT, set_done_later, s, &zero);
			}
		}
	}
	return n;
}

/* read_auth - the relayhost's "user password" line. */
static void
read_auth(struct delivery *d, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[600];

	if (f == NULL) {
		log_warn("cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (fgets(line, sizeof line, f) != NULL &&
	    sscanf(line, "%255s %255s", d->auth_user, d->auth_pass) != 2)
		d->auth_user[0] = d->auth_pass[0] = '\0';
	explicit_bzero(line, sizeof line);
	fclose(f);
}

static void
begin(struct delivery *d)
{
	struct remote *r = d->r;
	const struct config *cfg = r->q->cfg;

	d->next = r->active;
	d->prev = NULL;
	if (r->active)
		r->active->prev = d;
	r->active = d;
	r->nactive++;
	d->dest->active++;
	d->started = true;
	if (d->relayhost && cfg->relayhost_password_file)
		read_auth(d, cfg->relayhost_password_file);
	if (d->resolved) {
		d->mx_next = 0;
		next_host(d);
		return;
	}
	if (d->name[0] == '[') {
		/* An address literal: no DNS. */
		char lit[DNS_NAME_MAX];
		size_t n = strlen(d->name);
		snprintf(lit, sizeof lit, "%.*s", (int)(n >= 2 ? n - 2 : 0), d->name + 1);
		const char *ip = strncasecmp(lit, "IPv6:", 5) == 0 ? lit + 5 : lit;
		if (set_single_host(d, ip) < 0) {
			finish(d, 451, "451 4.3.0 out of memory");
			return;
		}
		next_host(d);
		return;
	}
	if (!d->use_mx) {
		if (set_single_host(d, d->name) < 0) {
			finish(d, 451, "451 4.3.0 out of memory");
			return;
		}
		next_host(d);
		return;
	}
	if (dns_mx(r->dns, d->name, on_mx, d) < 0)
		finish(d, 451, "451 4.3.0 cannot start a DNS lookup");
}

static void
dispatch(struct remote *r)
{
	unsigned limit = r->q->cfg->concurrency ? r->q->cfg->concurrency : 1;
	struct delivery **pp = &r->wait_head, *prev = NULL;

	/* Bounded by the waiting list: each delivery is looked at once per call. */
	while (*pp != NULL && r->nactive < limit) {
		struct delivery *d = *pp;
		if (d->dest->active >= PER_DEST_MAX) {
			prev = d;
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		if (r->wait_tail == d)
			r->wait_tail = prev;
		begin(d);
	}
}
