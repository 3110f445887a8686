/*
 * accounts_vacation.h - vacation auto-replies in the account store
 * (accounts_vacation.c): one vacation per user (subject, body, last day, when it
 * was set), and the senders each user has answered, so that a sender gets at most
 * one reply every [limits] vacation_interval (RFC 3834, RFC 5230's :days).
 * The CLI (and later the web ops) set and read them on a local handle; queued asks
 * lookupd (LK_VACATION_GET, LK_VACATION_REPLY) on a remote one.
 */
#ifndef MAILROOM_ACCOUNTS_VACATION_H
#define MAILROOM_ACCOUNTS_VACATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "accounts.h"

#define VACATION_SUBJECT_MAX 200        /* octets of the subject (one line, UTF-8) */
#define VACATION_BODY_MAX (16 * 1024)   /* octets of the body (UTF-8) */

struct vacation_info {
	bool found;                 /* the user has a vacation (active or ended) */
	char address[ADDR_MAX + 1]; /* the user, canonical */
	char subject[VACATION_SUBJECT_MAX + 1];
	char body[VACATION_BODY_MAX + 1]; /* LF line ends */
	time_t until;               /* replies stop at this instant; 0: no end */
	time_t set_at;              /* when it was set */
};

/*
 * vacation_day_parse - "YYYY-MM-DD" (a real date) into the instant its UTC day
 * ends (the next midnight): a vacation --until that day. false when malformed. Pure.
 */
bool vacation_day_parse(const char *s, time_t *end);
/* vacation_day_format - the day vacation_day_parse read to make end, "YYYY-MM-DD". Pure. */
void vacation_day_format(time_t end, char *out, size_t outlen);

/* vacation_active - whether v is found and its until has not come at now. Pure. */
bool vacation_active(const struct vacation_info *v, time_t now);

/*
 * vacation_text_check - why subject or body cannot be a vacation's, into err
 * (subject: one line, no control characters, at most VACATION_SUBJECT_MAX octets,
 * not empty; body: at most VACATION_BODY_MAX octets, no NUL or control characters
 * but tab and line ends, not empty; both well-formed UTF-8). 0 when they can. Pure.
 */
int vacation_text_check(const char *subject, const char *body, size_t body_len, char *err,
    size_t errlen);

/*
 * accounts_vacation_set - the user's vacation is subject and body (CRLF stored as
 * LF), until the instant until (0: no end), set now; a vacation set before is
 * replaced and the senders it answered are forgotten (the new text is news to
 * them). 0, or -1 with one line in err ("no such user: a@b", what
 * vacation_text_check says). A local handle only.
 */
int accounts_vacation_set(struct accounts *a, const char *address, const char *subject,
    const char *body, time_t until, char *err, size_t errlen);

/* accounts_vacation_off - no vacation for the user (none already is no error). 0 or -1 with err. */
int accounts_vacation_off(struct accounts *a, const char *address, char *err, size_t errlen);

/*
 * accounts_vacation_get - the user's vacation into out (out->found false: none).
 * 0, or -1 with err ("no such user: a@b", the store failed). On a remote handle
 * lookupd answers (root and the mail user only).
 */
int accounts_vacation_get(struct accounts *a, const char *address, struct vacation_info *out,
    char *err, size_t errlen);

/* What accounts_vacation_reply decides. */
enum vacation_record {
	VACATION_SEND = 0,    /* not answered within the interval: recorded as answered now */
	VACATION_RECENT = 1,  /* answered within the interval: nothing recorded */
	VACATION_FAILED = 2,  /* the store or lookupd failed: no reply */
};

/*
 * accounts_vacation_reply - whether user answers sender now: the check and the
 * record in one transaction, so two deliveries at once send one reply. interval
 * in seconds. On a remote handle lookupd decides, with its own [limits]
 * vacation_interval and clock (interval and now unused).
 */
enum vacation_record accounts_vacation_reply(struct accounts *a, const char *user,
    const char *sender, uint64_t interval, time_t now);

/*
 * accounts_vacation_expire - forget the answered senders older than interval at
 * now. How many, or -1 (logged). A local handle only (lookupd).
 */
int accounts_vacation_expire(struct accounts *a, uint64_t interval, time_t now);

#endif
