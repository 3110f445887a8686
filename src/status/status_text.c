/*
 * status_text.c - the status as text (status_text.h): one line about the
 * server, one a role, one a listener, the queue, the last errors.
 */
#include "status/status_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"
#include "util/units.h"

/* str - j[key] escaped for the terminal into out ("-" when it is no string). */
static const char *
str(const json_t *j, const char *key, char *out, size_t len)
{
	const json_t *v = json_object_get(j, key);

	if (!json_is_string(v)) {
		snprintf(out, len, "-");
		return out;
	}
	return esc_text(out, len, json_string_value(v), json_string_length(v), 0);
}

/* num - j[key] as an integer, or def when it is none. */
static long long
num(const json_t *j, const char *key, long long def)
{
	const json_t *v = json_object_get(j, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

static int
server_lines(struct buf *out, const json_t *j)
{
	char a[1024], b[1024], c[1024], up[32], when[32];
	int rc = 0;

	format_age(up, sizeof up, num(j, "uptime", 0));
	format_utc(when, sizeof when, (time_t)num(j, "started", 0));
	rc |= buf_printf(out, "mailroom %s, pid %lld, up %s (since %s)\n",
	    str(j, "version", a, sizeof a), num(j, "pid", 0), up, when);
	rc |= buf_printf(out, "hostname %s, data dir %s, config %s\n", str(j, "hostname", a, sizeof a),
	    str(j, "data_dir", b, sizeof b), str(j, "config", c, sizeof c));
	long long reloads = num(j, "reloads", 0);
	if (reloads == 0)
		return rc | buf_printf(out, "reloads: none\n");
	format_utc(when, sizeof when, (time_t)num(j, "last_reload", 0));
	rc |= buf_printf(out, "reloads: %lld, the last at %s", reloads, when);
	if (json_is_string(json_object_get(j, "reload_error")))
		rc |= buf_printf(out, ", refused: %s\n", str(j, "reload_error", a, sizeof a));
	else
		rc |= buf_printf(out, ", done\n");
	return rc;
}

static int
role_line(struct buf *out, const json_t *r)
{
	char name[64], state[64], reason[256], t[32], when[32];
	int rc;

	rc = buf_printf(out, "  %-8s %-10s", str(r, "name", name, sizeof name),
	    str(r, "state", state, sizeof state));
	if (json_is_integer(json_object_get(r, "pid"))) {
		format_age(t, sizeof t, num(r, "uptime", 0));
		rc |= buf_printf(out, " pid %-7lld up %-7s", num(r, "pid", 0), t);
	} else if (json_is_integer(json_object_get(r, "restart_in"))) {
		format_age(t, sizeof t, num(r, "restart_in", 0));
		rc |= buf_printf(out, " restart in %-11s", t);
	} else if (strcmp(state, "off") == 0) {
		return rc | buf_printf(out, " (not configured)\n");
	} else {
		rc |= buf_printf(out, " %-22s", "");
	}
	rc |= buf_printf(out, " restarts %lld", num(r, "restarts", 0));
	const json_t *e = json_object_get(r, "last_exit");
	if (json_is_object(e)) {
		format_utc(when, sizeof when, (time_t)num(e, "time", 0));
		rc |= buf_printf(out, ", last exit %s: %s", when, str(e, "reason", reason, sizeof reason));
	}
	return rc | buf_putc(out, '\n');
}

static int
connection_lines(struct buf *out, const json_t *c)
{
	char name[64];
	size_t i;
	json_t *l;
	int rc;

	rc = buf_printf(out, "connections: %lld open\n", num(c, "open", 0));
	json_array_foreach(json_object_get(c, "listeners"), i, l)
		rc |= buf_printf(out, "  %-12s %6lld open %9lld accepted\n",
		    str(l, "name", name, sizeof name), num(l, "open", 0), num(l, "accepted", 0));
	return rc;
}

static int
queue_line(struct buf *out, const json_t *q)
{
	long long n = num(q, "messages", 0);
	char age[32];

	if (!json_is_integer(json_object_get(q, "oldest_age")) || n == 0)
		return buf_printf(out, "queue: %lld message%s\n", n, n == 1 ? "" : "s");
	format_age(age, sizeof age, num(q, "oldest_age", 0));
	return buf_printf(out, "queue: %lld message%s, the oldest %s old\n", n, n == 1 ? "" : "s",
	    age);
}

static int
error_lines(struct buf *out, const json_t *errors, long long total)
{
	char when[32], role[64], level[32], text[1024];
	size_t i;
	json_t *e;
	int rc;

	if (json_array_size(errors) == 0)
		return buf_printf(out, "last errors: none\n");
	if (total > (long long)json_array_size(errors))
		rc = buf_printf(out, "last errors (%lld since the start, the last %zu):\n", total,
		    json_array_size(errors));
	else
		rc = buf_printf(out, "last errors:\n");
	json_array_foreach(errors, i, e) {
		format_utc(when, sizeof when, (time_t)num(e, "time", 0));
		rc |= buf_printf(out, "  %s %s[%lld] %s: %s\n", when, str(e, "role", role, sizeof role),
		    num(e, "pid", 0), str(e, "level", level, sizeof level),
		    str(e, "text", text, sizeof text));
	}
	return rc;
}

int
status_text(struct buf *out, const json_t *j)
{
	size_t i;
	json_t *r;
	int rc;

	rc = server_lines(out, j);
	rc |= buf_printf(out, "roles:\n");
	json_array_foreach(json_object_get(j, "roles"), i, r)
		rc |= role_line(out, r);
	rc |= connection_lines(out, json_object_get(j, "connections"));
	rc |= queue_line(out, json_object_get(j, "queue"));
	rc |= error_lines(out, json_object_get(j, "errors"), num(j, "errors_total", 0));
	return rc < 0 ? -1 : 0;
}

size_t
status_down(const json_t *j, char *out, size_t len)
{
	char name[64], state[64];
	size_t i, n = 0, used = 0;
	json_t *r;

	if (len > 0)
		out[0] = '\0';
	json_array_foreach(json_object_get(j, "roles"), i, r) {
		str(r, "state", state, sizeof state);
		if (strcmp(state, "running") == 0 || strcmp(state, "off") == 0)
			continue;
		if (used + 1 < len) {
			int w = snprintf(out + used, len - used, "%s%s (%s)", n ? ", " : "",
			    str(r, "name", name, sizeof name), state);
			if (w > 0)
				used += (size_t)w < len - used ? (size_t)w : len - used - 1;
		}
		n++;
	}
	return n;
}
