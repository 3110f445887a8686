/*
 * status_json.c - the supervisor's status as JSON (status_json.h), with jansson.
 * What comes from the shared regions is the roles' to write, so a count is
 * clamped to what JSON holds and a log line is escaped before it goes in.
 */
#include "status/status_json.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/escape.h"

const char *
status_state_name(enum status_state s)
{
	static const char *const names[] = { "off", "running", "restarting", "down", "stopping" };
	return (unsigned)s <= SS_STOPPING ? names[s] : "down";
}

/* set - o[key] = v (taken); false when v is NULL (out of memory) or the set fails. */
static bool
set(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* append - v (taken) to the array a; false when v is NULL or the append fails. */
static bool
append(json_t *a, json_t *v)
{
	return v != NULL && json_array_append_new(a, v) == 0;
}

/* text - s escaped as a log line would be: any octets in, valid UTF-8 out (jansson takes no other). */
static json_t *
text(const char *s)
{
	size_t n = strlen(s);
	char *e = malloc(ESC_SIZE(n));
	json_t *j = NULL;

	if (e != NULL)
		j = json_string(esc_text(e, ESC_SIZE(n), s, n, 0));
	free(e);
	return j;
}

static json_t *
count(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* since - seconds from t to now; none before t. */
static json_t *
since(time_t now, time_t t)
{
	return json_integer(now > t ? (json_int_t)(now - t) : 0);
}

static json_t *
time_or_null(time_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

static json_t *
exit_json(const struct status_role *r)
{
	json_t *o;

	if (r->exit_time <= 0)
		return json_null();
	if ((o = json_object()) != NULL && set(o, "time", json_integer((json_int_t)r->exit_time)) &&
	    set(o, "reason", json_string(r->exit_reason)))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *
role_json(const struct status_role *r, time_t now)
{
	json_t *o = json_object();
	bool up = r->pid > 0;

	/* set takes its value even when it fails: nothing to free but o. */
	bool ok = o != NULL && set(o, "name", json_string(r->name)) &&
	    set(o, "state", json_string(status_state_name(r->state))) &&
	    set(o, "pid", up ? json_integer(r->pid) : json_null()) &&
	    set(o, "started", up ? time_or_null(r->started) : json_null()) &&
	    set(o, "uptime", up ? since(now, r->started) : json_null()) &&
	    set(o, "restarts", json_integer(r->restarts)) && set(o, "last_exit", exit_json(r));
	if (ok && r->state == SS_RESTARTING)
		ok = set(o, "restart_in", since(r->restart_at, now));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
connections_json(const struct status_snapshot *s)
{
	json_t *o = json_object(), *l = json_array();
	uint64_t open = 0;
	bool ok = o != NULL && l != NULL;

	for (int svc = 0; ok && svc < SVC_COUNT; svc++) {
		if (!(s->listeners & (uint64_t)1 << svc))
			continue;
		json_t *e = json_object();
		ok = e != NULL && set(e, "name", json_string(service_name((enum service)svc))) &&
		    set(e, "open", count(s->m->conn_open[svc])) &&
		    set(e, "accepted", count(s->m->conn_accepted[svc]));
		if (!ok)
			json_decref(e);
		else
			ok = append(l, e);
		/* Clamped: a role's nonsense in one gauge cannot wrap the total. */
		open += s->m->conn_open[svc] > UINT32_MAX ? UINT32_MAX : s->m->conn_open[svc];
	}
	if (ok && set(o, "open", count(open))) {
		ok = set(o, "listeners", l);
		l = NULL;
		if (ok)
			return o;
	}
	json_decref(l);
	json_decref(o);
	return NULL;
}

/* role_name - a role's name as the ring has it, if it is a name: else "?". */
static const char *
role_name(const char *s)
{
	if (s[0] == '\0')
		return "?";
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return "?";
	return s;
}

static json_t *
error_json(const struct log_ring_entry *e)
{
	json_t *o = json_object();

	/* Honest lines were escaped when logged and pass unchanged; no other line can pass for one. */
	if (o != NULL && set(o, "time", json_integer((json_int_t)(e->time_ms / 1000))) &&
	    set(o, "role", json_string(role_name(e->role))) &&
	    set(o, "pid", json_integer(e->pid)) &&
	    set(o, "level", json_string(log_ring_level_name(e->level))) &&
	    set(o, "text", text(e->text)))
		return o;
	json_decref(o);
	return NULL;
}

char *
status_json(const struct status_snapshot *s)
{
	json_t *o = json_object(), *roles = json_array(), *errors = json_array(), *q = json_object();
	char *out = NULL;
	bool ok = o != NULL && roles != NULL && errors != NULL && q != NULL;

	for (size_t i = 0; ok && i < s->nroles; i++)
		ok = append(roles, role_json(&s->roles[i], s->now));
	for (size_t i = 0; ok && i < s->nerrors; i++)
		ok = append(errors, error_json(&s->errors[i]));
	ok = ok && set(q, "messages", count(s->m->queue_messages)) &&
	    set(q, "oldest_age", s->m->queue_oldest > 0 && s->m->queue_messages > 0 ?
	    since(s->now, (time_t)s->m->queue_oldest) : json_null());
	ok = ok && set(o, "version", json_string(s->version)) &&
	    set(o, "pid", json_integer(s->pid)) &&
	    set(o, "started", json_integer((json_int_t)s->started)) &&
	    set(o, "uptime", since(s->now, s->started)) &&
	    set(o, "hostname", text(s->hostname)) &&
	    set(o, "data_dir", text(s->data_dir)) &&
	    set(o, "config", text(s->config_path)) &&
	    set(o, "reloads", json_integer(s->reloads)) &&
	    set(o, "last_reload", time_or_null(s->last_reload)) &&
	    set(o, "reload_error", s->reload_error ? text(s->reload_error) : json_null());
	if (ok) {
		ok = set(o, "roles", roles);
		roles = NULL;
	}
	if (ok) {
		ok = set(o, "connections", connections_json(s));
	}
	if (ok) {
		ok = set(o, "queue", q);
		q = NULL;
	}
	if (ok) {
		ok = set(o, "errors", errors);
		errors = NULL;
	}
	ok = ok && set(o, "errors_total", count(s->errors_total));
	if (ok)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(roles);
	json_decref(errors);
	json_decref(q);
	json_decref(o);
	return out;
}
