/*
 * queue_view.c - the queue as an admin looks at it (see queue_view.h): shared by
 * `mailroom queue` and queued's control channel, so both read the spool, name the
 * states and cut the header block the same way.
 */
#include "queue/queue_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue/schedule.h"
#include "store/msg_reader.h"
#include "store/spool.h"
#include "util/utf8.h"

enum queue_rcpt_state
queue_rcpt_state(const struct spool_rcpt *r)
{
	switch (r->status) {
	case RCPT_DELIVERED:
		return QS_DELIVERED;
	case RCPT_BOUNCED:
		return QS_BOUNCED;
	case RCPT_PENDING:
		break;
	}
	return r->attempts > 0 || r->error != NULL ? QS_DEFERRED : QS_QUEUED;
}

const char *
queue_state_name(enum queue_rcpt_state s)
{
	static const char *const names[] = { "queued", "deferred", "delivered", "bounced" };
	return s <= QS_BOUNCED ? names[s] : "queued";
}

int
queue_each(const char *queue_dir, size_t max, queue_cached_fn cached, void *cache_arg,
    queue_each_fn fn, void *arg, size_t *total)
{
	struct spool_ids ids = { 0 };
	size_t given = 0;
	int rc = 0;

	if (total != NULL)
		*total = 0;
	if (spool_list(queue_dir, &ids) < 0)
		return -1;
	if (total != NULL)
		*total = ids.n;
	for (size_t i = 0; i < ids.n && (max == 0 || given < max); i++) {
		const struct envelope *mine = cached != NULL ? cached(cache_arg, ids.v[i]) : NULL;
		struct envelope env;
		if (mine != NULL) {
			rc = fn(arg, mine);
		} else {
			if (spool_load(queue_dir, ids.v[i], &env) < 0)
				continue; /* delivered meanwhile, or still being written */
			rc = fn(arg, &env);
			envelope_free(&env);
		}
		given++;
		if (rc < 0)
			break;
	}
	int e = errno;
	spool_ids_free(&ids);
	errno = e;
	return rc < 0 ? -1 : 0;
}

json_t *
queue_json_text(const char *s, size_t n)
{
	static const char replacement[] = "\xef\xbf\xbd";
	struct buf b = { 0 };
	size_t i = 0;

	while (i < n) {
		const unsigned char *p = (const unsigned char *)s + i;
		uint32_t cp;
		size_t k = *p != 0 && *p < 0x80 ? 1 : utf8_decode(p, n - i, &cp);
		/* Runs of plain text are copied whole, not an octet at a time. */
		size_t run = 0;
		if (k == 1) {
			while (i + run < n && s[i + run] != 0 && (unsigned char)s[i + run] < 0x80)
				run++;
			k = run;
		}
		if ((k > 0 ? buf_append(&b, s + i, k) : buf_append(&b, replacement, 3)) < 0) {
			buf_free(&b);
			return NULL;
		}
		i += k > 0 ? k : 1;
	}
	json_t *j = json_stringn(b.len > 0 ? b.data : "", b.len);
	buf_free(&b);
	return j;
}

static json_t *
text_or_null(const char *s)
{
	return s != NULL ? queue_json_text(s, strlen(s)) : json_null();
}

/* set - o[key] = v (taken), false when v is NULL (out of memory) or the set fails. */
static bool
set(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

static json_t *
rcpt_json(const struct spool_rcpt *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (!set(o, "address", text_or_null(r->addr)) ||
	    !set(o, "status", json_string(queue_state_name(queue_rcpt_state(r)))) ||
	    !set(o, "error", text_or_null(r->error))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
queue_msg_json(const struct envelope *env, time_t now, size_t max_rcpts)
{
	json_t *o = json_object(), *rcpts = json_array();
	time_t next = msg_next_try(env);
	bool waiting = !msg_finished(env);

	if (o == NULL || rcpts == NULL)
		goto fail;
	for (size_t i = 0; i < env->nrcpts && (max_rcpts == 0 || i < max_rcpts); i++)
		if (json_array_append_new(rcpts, rcpt_json(&env->rcpts[i])) < 0)
			goto fail;
	if (next < now)
		next = now; /* due: tried as soon as queued gets to it */
	bool ok = set(o, "id", json_string(env->id)) &&
	    set(o, "arrived", json_integer((json_int_t)env->arrival)) &&
	    set(o, "age", json_integer(now > env->arrival ? (json_int_t)(now - env->arrival) : 0)) &&
	    set(o, "size", json_integer((json_int_t)env->body_size)) &&
	    set(o, "from", text_or_null(env->sender != NULL ? env->sender : "")) &&
	    set(o, "held", json_boolean(env->held)) &&
	    set(o, "hold_reason", env->held ? text_or_null(env->hold_reason) : json_null()) &&
	    set(o, "recipients_total", json_integer((json_int_t)env->nrcpts));
	if (!ok)
		goto fail;
	/* jansson takes rcpts here, whether the set succeeds or not. */
	if (json_object_set_new(o, "recipients", rcpts) < 0 ||
	    !set(o, "next_try", env->held || !waiting ? json_null() :
	    json_integer((json_int_t)next))) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(o);
	json_decref(rcpts);
	return NULL;
}

size_t
queue_header_block(const char *text, size_t len)
{
	size_t line = 0; /* where the current line starts */

	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n')
			continue;
		size_t n = i - line; /* the line's octets before its LF */
		if (n == 0 || (n == 1 && text[line] == '\r'))
			return i + 1;
		line = i + 1;
	}
	return len;
}

int
queue_headers(const char *queue_dir, const struct envelope *env, size_t max, struct buf *out)
{
	if (msg_read_head(queue_dir, env, max, out) < 0)
		return -1;
	out->len = queue_header_block(out->data, out->len);
	out->data[out->len] = '\0';
	return 0;
}
