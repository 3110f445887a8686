/*
 * remote.c - the remote delivery agent (deliver/agent.h): delivery to other
 * domains. A job's recipients are grouped by route (deliver/route.h): their domain,
 * or the relayhost, and their MAIL FROM (an SRS sender for forwarded mail,
 * remote_srs.c); each group is one delivery, which remote_try.c carries to the
 * servers in order with one SMTP transaction for all its recipients. When a message
 * has recipients in several domains, their MX records are looked up first and
 * domains served by the same hosts are merged into one delivery (remote_mx.c): one
 * connection per host for the message. At most `concurrency` deliveries run at
 * once, and a few per destination; a connection is kept a moment after its delivery
 * for the next one to the same server (deliver/conn_cache.h).
 */
#include "deliver/remote_int.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dane_tls.h"
#include "deliver/sign_pool.h"
#include "deliver/sts_cache.h"
#include "net/tls.h"

#include "util/log.h"

#define PER_DEST_MAX 4 /* connections to one destination at once */

static void dispatch(struct remote *r);

void
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

const char *
delivery_id(const struct delivery *d)
{
	return d->job->job.env->id;
}

void
rcpt_result(struct delivery *d, size_t idx, int code, const char *relay, const char *text)
{
	struct agent_result res = { idx, code, relay, text, false, d->dane_log, d->sts_log,
		d->conn_use };
	if (code < 200 || (code >= 400 && code < 500))
		d->job->deferred = true;
	d->job->job.result(d->job->job.arg, &res);
}

/* job_part_done - one delivery of j is over; the last one ends the job. */
static void
job_part_done(struct rjob *j, bool report)
{
	if (--j->parts > 0)
		return;
	/* Its envelope is still the queue's here (job.done not yet called). */
	if (j->keep && j->deferred && report)
		outbound_sign_keep(&j->sj, &j->prefix);
	struct agent_job job = j->job;
	job_free(j);
	if (report)
		job.done(job.arg);
}

void
job_free(struct rjob *j)
{
	if (j->sign == SIGN_RUNNING) {
		j->orphan = true; /* the signer reads its envelope and fills its prefix */
		return;
	}
	free(j->rcpts);
	buf_free(&j->prefix);
	free(j);
}

void
delivery_free(struct delivery *d)
{
	if (d->parked) {
		struct delivery **pp = &d->job->parked;
		while (*pp != d)
			pp = &(*pp)->parked_next;
		*pp = d->parked_next;
	}
	free(d->pre_text);
	free(d->conn_key);
	free(d->sender);
	free(d->idx);
	free(d->rcpts);
	free(d->mx.v);
	dane_tlsa_free(&d->tlsa);
	sts_free(d);
	free(d);
}

/* delivery_drop - the shutdown: d goes without results, its job without done. */
static void
delivery_drop(struct delivery *d)
{
	struct rjob *j = d->job;

	if (d->client)
		smtp_client_abort(d->client);
	sts_cancel(d);
	delivery_free(d);
	job_part_done(j, false);
}

static struct delivery *
delivery_new(struct remote *r, struct rjob *j, const struct route *route, const char *sender)
{
	struct delivery *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	if (sender != NULL && (d->sender = strdup(sender)) == NULL) {
		free(d);
		return NULL;
	}
	d->r = r;
	d->job = j;
	d->route = *route;
	d->name = d->route.dest;
	struct dest *dest = strmap_get(&r->dests, d->name);
	if (dest == NULL) {
		dest = calloc(1, sizeof *dest);
		if (dest == NULL || strmap_put(&r->dests, d->name, dest) < 0) {
			free(dest);
			free(d->sender);
			free(d);
			return NULL;
		}
	}
	d->dest = dest;
	return d;
}

int
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
	d->rcpts[d->n] = d->job->job.env->rcpts[idx].addr;
	d->n++;
	return 0;
}

void
wait_push(struct remote *r, struct delivery *d)
{
	d->next = NULL;
	if (r->wait_tail)
		r->wait_tail->next = d;
	else
		r->wait_head = d;
	r->wait_tail = d;
}

/* same_sender - whether two MAIL FROMs (NULL: the envelope's) are the same. */
static bool
same_sender(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * group - the deliveries of j: its recipients by route and MAIL FROM (forwarded
 * recipients go with an SRS sender, remote_srs.c), in groups[0..*ngroups).
 */
static void
group(struct remote *r, struct rjob *j, struct delivery ***groups, size_t *ngroups)
{
	const struct config *cfg = remote_cfg(r);
	const struct envelope *env = j->job.env;
	struct route_cfg rc = { cfg->relayhost, cfg->remote_port };
	struct sender_memo memo = { 0 };

	for (size_t k = 0; k < j->job.nrcpts; k++) {
		size_t i = j->rcpts[k];
		struct route route;
		if (route_rcpt(env->rcpts[i].kind, env->rcpts[i].addr, &rc, &route) < 0) {
			struct agent_result res = { i, 553, "none",
				"553 5.1.3 malformed recipient address", false, NULL, NULL, 0 };
			j->job.result(j->job.arg, &res);
			continue;
		}
		const char *sender;
		if (rcpt_sender(r, env, i, &memo, &sender) < 0) {
			struct agent_result res = { i, 451, "none",
				"451 4.3.0 cannot make the SRS sender now", false, NULL, NULL, 0 };
			j->job.result(j->job.arg, &res);
			continue;
		}
		if (sender != NULL)
			log_rewrite(env, i, sender);
		struct delivery *d = NULL;
		for (size_t g = 0; g < *ngroups && d == NULL; g++)
			if (route_same(&(*groups)[g]->route, &route) &&
			    same_sender((*groups)[g]->sender, sender))
				d = (*groups)[g];
		if (d == NULL) {
			struct delivery **ng = realloc(*groups, (*ngroups + 1) * sizeof *ng);
			if (ng != NULL)
				*groups = ng;
			if (ng == NULL || (d = delivery_new(r, j, &route, sender)) == NULL) {
				struct agent_result res = { i, 451, "none", "451 4.3.0 out of memory", false, NULL,
				    NULL, 0 };
				j->job.result(j->job.arg, &res);
				continue;
			}
			(*groups)[(*ngroups)++] = d;
		}
		if (delivery_add_rcpt(d, i) < 0) {
			struct agent_result res = { i, 451, "none", "451 4.3.0 out of memory", false, NULL,
				    NULL, 0 };
			j->job.result(j->job.arg, &res);
		}
	}
	sender_memo_free(&memo);
}

static int
remote_submit(void *self, const struct agent_job *job)
{
	struct remote *r = self;
	struct delivery **groups = NULL;
	size_t ngroups = 0, nmx = 0;
	struct rjob *j = calloc(1, sizeof *j);

	if (j == NULL || agent_job_copy(&j->job, &j->rcpts, job) < 0) {
		free(j);
		return -1;
	}
	j->parts = 1; /* held until every delivery is queued: one may end at once */
	group(r, j, &groups, &ngroups);
	size_t kept = 0;
	for (size_t g = 0; g < ngroups; g++) {
		if (groups[g]->n == 0) {
			delivery_free(groups[g]);
			continue;
		}
		groups[kept++] = groups[g];
		nmx += route_mergeable(&groups[g]->route);
	}
	ngroups = kept;
	j->parts += (unsigned)ngroups; /* merging later gives parts back */
	bool *taken = calloc(ngroups ? ngroups : 1, sizeof *taken);
	if (nmx >= 2 && taken != NULL)
		resolve_together(r, groups, ngroups, taken);
	for (size_t g = 0; g < ngroups; g++)
		if (taken == NULL || !taken[g])
			wait_push(r, groups[g]);
	free(taken);
	free(groups);
	if (ngroups > 0)
		kick(r);
	job_part_done(j, true);
	return 0;
}

void
finish(struct delivery *d, int code, const char *text)
{
	struct remote *r = d->r;

	for (size_t i = 0; i < d->n; i++)
		rcpt_result(d, d->idx[i], code, d->relay[0] ? d->relay : d->name, text);
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
	sts_cancel(d);
	struct rjob *j = d->job;
	delivery_free(d);
	job_part_done(j, true);
	kick(r);
}

/* begin - start d: its servers are known, or found by DNS. */
static void
begin(struct delivery *d)
{
	struct remote *r = d->r;
	const struct config *cfg = remote_cfg(r);

	d->next = r->active;
	d->prev = NULL;
	if (r->active)
		r->active->prev = d;
	r->active = d;
	r->nactive++;
	d->dest->active++;
	d->started = true;
	if (d->route.relayhost && cfg->relayhost_password_file)
		read_auth(d, cfg->relayhost_password_file);
	if (dane_on(d))
		d->dane_log = "none";
	if (d->resolved) {
		d->mx_next = 0;
		next_host(d);
		return;
	}
	if (d->route.kind == ROUTE_HOST) {
		/* An address literal, or a relayhost not to be looked up: no MX. */
		if (set_single_host(d, d->route.host) < 0) {
			finish(d, 451, "451 4.3.0 out of memory");
			return;
		}
		next_host(d);
		return;
	}
	lookup_mx(d);
}

static void
dispatch(struct remote *r)
{
	const struct config *cfg = remote_cfg(r);
	unsigned limit = cfg->concurrency ? cfg->concurrency : 1;
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

static void
free_dest(const char *key, void *value, void *arg)
{
	free(value);
}

static void
remote_free(void *self)
{
	struct remote *r = self;

	if (r == NULL)
		return;
	/* Shutdown: the recipients stay pending in the spool and are tried at the next start. */
	while (r->active) {
		struct delivery *d = r->active;
		r->active = d->next;
		delivery_drop(d);
	}
	while (r->wait_head) {
		struct delivery *d = r->wait_head;
		r->wait_head = d->next;
		delivery_drop(d);
	}
	while (r->sets) {
		struct mx_set *s = r->sets;
		r->sets = s->next;
		for (size_t i = 0; i < s->n; i++)
			delivery_drop(s->v[i]);
		mx_set_free(s);
	}
	conn_cache_free(&r->conns);
	sign_pool_free(r->signer); /* the signings under way end, and free their orphans */
	sts_cache_free(r->sts); /* before the resolver: it cancels its lookups there */
	dns_free(r->dns);
	SSL_CTX_free(r->tls_sts);
	SSL_CTX_free(r->tls);
	SSL_CTX_free(r->tls_verify);
	SSL_CTX_free(r->tls_dane);
	free(r->tls_verify_ca);
	if (r->dispatch_ev)
		event_free(r->dispatch_ev);
	strmap_each(&r->dests, free_dest, NULL);
	strmap_free(&r->dests);
	local_addrs_free(&r->local);
	free(r);
}

static const struct agent_ops remote_ops = { "remote", remote_submit, NULL, remote_free };

int
remote_agent_new(struct agent *a, const struct agent_env *env)
{
	struct remote *r = calloc(1, sizeof *r);
	char err[512];

	if (r == NULL)
		return -1;
	conn_cache_init(&r->conns);
	r->env = *env;
	const struct config *cfg = remote_cfg(r);
	/* DANE needs validated answers: the resolver and its trust anchor are fixed at start. */
	const char *anchor = cfg->dane ? cfg->dnssec_trust_anchor : NULL;
	if ((r->dns = dns_new_validating(env->base, cfg->resolver, anchor, err, sizeof err)) == NULL ||
	    (r->tls = tls_client_ctx(err, sizeof err)) == NULL ||
	    (cfg->dane && (r->tls_dane = dane_tls_ctx(err, sizeof err)) == NULL)) {
		ev_err("start-failed", KS("error", err));
		remote_free(r);
		return -1;
	}
	if (cfg->dane)
		ev_info("dane-on", KS("trust_anchor", anchor));
	if (cfg->mta_sts) {
		/* The CAs and the cache directory are fixed at start, as the sandbox's walls. */
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/mta-sts", env->queue_dir);
		if ((r->tls_sts = tls_client_verify_ctx(cfg->tls_ca_file, err, sizeof err)) == NULL ||
		    (r->sts = sts_cache_new(env->base, r->dns, r->tls_sts, dir)) == NULL) {
			ev_err("start-failed", KS("error", r->tls_sts == NULL ? err : "out of memory"));
			remote_free(r);
			return -1;
		}
		ev_info("mta-sts-on", KS("dir", dir),
		    KS("ca_file", cfg->tls_ca_file ? cfg->tls_ca_file : "system"));
	}
	if (cfg->tls_reports) {
		r->tlsrpt_on = true;
		report_log_init_in(&r->tlsrpt, env->queue_dir, "tlsrpt", EV_NAME("tlsrpt-data-error"),
		    EV_NAME("tlsrpt-data-full"));
	}
	r->dispatch_ev = event_new(env->base, -1, 0, on_dispatch, r);
	r->signer = sign_pool_new(env->base, cfg->data_dir);
	if (r->dispatch_ev == NULL || r->signer == NULL) {
		remote_free(r);
		return -1;
	}
	a->ops = &remote_ops;
	a->self = r;
	return 0;
}
