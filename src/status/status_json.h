/*
 * status_json.h - what the supervisor knows of itself and its roles, and the JSON
 * reply of `mailroom status` made from it (status_proto.h). Pure: the snapshot in
 * (the supervisor's own records, a metrics snapshot, the last log lines), the
 * text out. The JSON object:
 *
 *   version, pid, started (Unix s), uptime (s), hostname, data_dir, config,
 *   reloads (SIGHUPs taken), last_reload (Unix s or null), reload_error (the last
 *   refusal, or null when the last reload succeeded or there was none),
 *   roles: [{name, state ("running", "restarting", "down", "stopping", "off":
 *     not configured), pid, started, uptime (null when not running), restarts,
 *     last_exit (null, or {time, reason}), restart_in (s; restarting only)}],
 *   connections: {open (every listener's), listeners: [{name, open, accepted}]},
 *   queue: {messages, oldest_age (s, null when empty)},
 *   errors: [{time (Unix s), role, pid, level ("warning", "error"), text}], oldest first,
 *   errors_total: the warnings and errors logged since the start (more than errors holds).
 *
 * The counters (connections, queue) come from the shared metrics region, and the
 * errors from the shared log ring, which any role can write: their text is
 * escaped (util/escape.h) and their names checked here.
 */
#ifndef MAILROOM_STATUS_JSON_H
#define MAILROOM_STATUS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "metrics/metrics.h"
#include "util/log_ring.h"

enum status_state { SS_OFF, SS_RUNNING, SS_RESTARTING, SS_DOWN, SS_STOPPING };

struct status_role {
	const char *name;
	enum status_state state;
	long pid;               /* 0: no process */
	time_t started;         /* the current process's start */
	unsigned restarts;      /* restarts the supervisor made */
	time_t exit_time;       /* the last exit; 0: none yet */
	char exit_reason[48];   /* "killed by signal 9", "exited with status 1" */
	time_t restart_at;      /* SS_RESTARTING: when */
};

struct status_snapshot {
	const char *version, *hostname, *data_dir, *config_path;
	long pid;
	time_t started, now;
	unsigned reloads;
	time_t last_reload;            /* 0: none */
	const char *reload_error;      /* the last reload's refusal; NULL: none */
	uint64_t listeners;            /* bit 1 << enum service: configured listeners */
	struct status_role roles[MX_ROLE_COUNT];
	size_t nroles;
	const struct metrics_snap *m;
	const struct log_ring_entry *errors;
	size_t nerrors;
	uint64_t errors_total;
};

/* status_state_name - "running", "off", ... */
const char *status_state_name(enum status_state s);

/* status_json - s as one line of JSON (malloc'd), or NULL when out of memory. */
char *status_json(const struct status_snapshot *s);

#endif
