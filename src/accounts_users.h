/*
 * accounts_users.h - account controls beyond the users table (accounts_users.c):
 * suspended users, who may not log in but still receive mail, and app passwords,
 * generated passwords beside the main one for the mail services (app_password.h).
 * All on a local handle only (the CLI, lookupd).
 */
#ifndef MAILROOM_ACCOUNTS_USERS_H
#define MAILROOM_ACCOUNTS_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "accounts.h"
#include "app_password.h"
#include "password.h"

/* What lookupd needs to check a login of one user. */
struct login_record {
	char hash[PASSWORD_HASH_MAX];
	bool suspended;
	size_t napps;
	char app_name[APP_PASSWORDS_MAX][APP_NAME_MAX + 1];
	char app_digest[APP_PASSWORDS_MAX][APP_DIGEST_SIZE];
};

/*
 * accounts_login_record - the main hash, the suspension and the app passwords of
 * user into out. Returns 1 found, 0 no such user, -1 database error.
 */
int accounts_login_record(struct accounts *a, const char *user, struct login_record *out);

/* accounts_app_password_used - last_used of user's app password name is now. 0 or -1. */
int accounts_app_password_used(struct accounts *a, const char *user, const char *name,
    time_t now);

/*
 * Admin operations: 0, or -1 with one line in err ("no such user: a@b").
 * accounts_user_suspend - suspend (true) or resume (false) a user; doing it twice is no error.
 */
int accounts_user_suspend(struct accounts *a, const char *address, bool suspend, char *err,
    size_t errlen);

/*
 * accounts_app_password_add - a new app password called name for the user, into
 * password (to be shown once: only its digest is kept). At most
 * APP_PASSWORDS_MAX per user, names unique per user (app_name_valid).
 */
int accounts_app_password_add(struct accounts *a, const char *address, const char *name,
    char password[APP_PASSWORD_SIZE], time_t now, char *err, size_t errlen);
int accounts_app_password_del(struct accounts *a, const char *address, const char *name,
    char *err, size_t errlen);
/* One line per app password, by name: "name created last_used" (UTC, or "never"). */
int accounts_app_password_list(struct accounts *a, const char *address, struct strlist *out,
    char *err, size_t errlen);

#endif
