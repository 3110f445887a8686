/*
 * remote_srs.c - the MAIL FROM of each remote recipient. Mail that an alias of a
 * hosted domain forwards elsewhere goes out with the SRS address of its sender in
 * that domain (lookupd makes it: accounts_srs_forward), so SPF at the next hop
 * checks the alias domain, which lists us, and not the sender's, which does not.
 * Mail relayed as it came, from the null sender or from a hosted sender keeps its
 * sender. The answers are kept per alias domain for the job.
 */
#include "deliver/remote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "address.h"
#include "util/log.h"

struct sender_memo_entry {
	char *domain; /* the alias domain */
	char *sender; /* its SRS sender, or NULL: the envelope's */
};

void
sender_memo_free(struct sender_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].domain);
		free(m->v[i].sender);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* memo_put - remember domain's sender (NULL: none); the entry, or NULL out of memory. */
static struct sender_memo_entry *
memo_put(struct sender_memo *m, const char *domain, const char *sender)
{
	struct sender_memo_entry *v = reallocarray(m->v, m->n + 1, sizeof *v);
	if (v == NULL)
		return NULL;
	m->v = v;
	struct sender_memo_entry *e = &v[m->n];
	e->domain = strdup(domain);
	e->sender = sender ? strdup(sender) : NULL;
	if (e->domain == NULL || (sender && e->sender == NULL)) {
		free(e->domain);
		free(e->sender);
		return NULL;
	}
	m->n++;
	return e;
}

int
rcpt_sender(struct remote *r, const struct envelope *env, size_t i, struct sender_memo *m,
    const char **out)
{
	const struct spool_rcpt *rc = &env->rcpts[i];
	const char *domain = rc->orig ? address_domain(rc->orig) : NULL;

	*out = NULL;
	/* relayed as it came (orig is the remote address itself), or nothing to rewrite */
	if (env->sender[0] == '\0' || env->is_bounce || domain == NULL ||
	    strcasecmp(rc->orig, rc->addr) == 0)
		return 0;
	for (size_t k = 0; k < m->n; k++) {
		if (strcasecmp(m->v[k].domain, domain) == 0) {
			*out = m->v[k].sender;
			return 0;
		}
	}
	char srs[ADDR_MAX + 1];
	int got = accounts_srs_forward(r->env.acct, env->sender, domain, srs, sizeof srs);
	if (got < 0)
		return -1;
	struct sender_memo_entry *e = memo_put(m, domain, got == 1 ? srs : NULL);
	if (e == NULL)
		return -1;
	*out = e->sender;
	return 0;
}

void
log_rewrite(const struct envelope *env, size_t i, const char *sender)
{
	ev_info("srs", KS("qid", env->id), KA("from", env->sender), KA("sent_as", sender),
	    KA("to", env->rcpts[i].addr), KA("orig_to", env->rcpts[i].orig));
}
