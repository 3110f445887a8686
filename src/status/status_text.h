/*
 * status_text.h - `mailroom status` for people: the supervisor's JSON
 * (status_json.h) as a few lines of text, and which roles are down. Pure: the
 * parsed object in, text out. A field missing from the object is left out, and
 * every text in it is escaped again before it reaches the terminal.
 */
#ifndef MAILROOM_STATUS_TEXT_H
#define MAILROOM_STATUS_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

/* status_text - the summary of j appended to out. Returns 0, or -1 when out of memory. */
int status_text(struct buf *out, const json_t *j);

/*
 * status_down - the roles of j that should run and do not, as "smtpd (restarting),
 * pop3d (down)" into out ("" when none; cut to len). Returns how many.
 */
size_t status_down(const json_t *j, char *out, size_t len);

#endif
