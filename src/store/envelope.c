/* envelope.c - the envelope's memory: recipients added one at a time, all freed at once. */
#include "store/envelope.h"

#include <stdlib.h>
#include <string.h>

void
envelope_free(struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].orig);
		free(env->rcpts[i].error);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->client);
	free(env->helo);
	free(env->auth);
	free(env->hold_reason);
	memset(env, 0, sizeof *env);
}

int
envelope_add_rcpt(struct envelope *env, enum target_kind kind, const char *addr,
    const char *orig)
{
	struct spool_rcpt *v = realloc(env->rcpts, (env->nrcpts + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	env->rcpts = v;
	struct spool_rcpt *r = &v[env->nrcpts];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->addr = strdup(addr);
	r->orig = strdup(orig ? orig : addr);
	if (r->addr == NULL || r->orig == NULL) {
		free(r->addr);
		free(r->orig);
		return -1;
	}
	env->nrcpts++;
	return 0;
}
