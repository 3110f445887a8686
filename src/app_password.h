/*
 * app_password.h - the generated passwords a user may have beside the main one
 * (for mail clients: SMTP AUTH and POP3 only): their form, their names, and how
 * a login is matched against them. Pure functions, except app_password_make.
 */
#ifndef MAILROOM_APP_PASSWORD_H
#define MAILROOM_APP_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define APP_PASSWORDS_MAX 20     /* per user */
#define APP_NAME_MAX 64          /* octets of a name */
#define APP_PASSWORD_RAW 15      /* random octets: 120 bits */
#define APP_PASSWORD_CHARS 24    /* base32 characters of those octets */
#define APP_PASSWORD_SIZE 30     /* the printed form, "abcd-efgh-...-uvwx", and its NUL */
#define APP_DIGEST_SIZE 72       /* "sha256:" and 64 hex digits, and the NUL */

/*
 * app_password_format - raw as lower-case base32 (RFC 4648 alphabet) in six
 * groups of four joined by '-', into out.
 */
void app_password_format(const unsigned char raw[APP_PASSWORD_RAW], char out[APP_PASSWORD_SIZE]);

/* app_password_make - a new password from the OS's random octets (RAND_bytes). 0 or -1. */
int app_password_make(char out[APP_PASSWORD_SIZE]);

/*
 * app_password_normalize - pw without its dashes and spaces, lower-cased, into out,
 * when that is 24 base32 characters (how a user may retype the printed form);
 * false otherwise (then it cannot be an app password).
 */
bool app_password_normalize(const char *pw, char out[APP_PASSWORD_CHARS + 1]);

/*
 * app_password_digest - what the store keeps of a password: "sha256:" and the
 * hex SHA-256 of its normalized form (see app_password_match for why not a slow
 * hash). 0, or -1 (pw is not of the app password form, or the digest failed).
 */
int app_password_digest(const char *pw, char out[APP_DIGEST_SIZE]);

/*
 * app_password_match - the index of the digest among the n in digests that pw
 * matches, or -1. Every digest is compared, in constant time, whatever is found:
 * the time does not tell how many there are or which matched.
 */
int app_password_match(const char *pw, const char (*digests)[APP_DIGEST_SIZE], size_t n);

/* app_name_valid - 1 to APP_NAME_MAX printable ASCII characters, no spaces. */
bool app_name_valid(const char *name);

/*
 * app_password_service_ok - whether an app password may log in to service (the
 * name a role passes in LK_VERIFY): the mail services only, never "web" or
 * anything else.
 */
bool app_password_service_ok(const char *service);

#endif
