/* cli_util.h - helpers shared by the command groups of the command line. */
#ifndef MAILROOM_CLI_UTIL_H
#define MAILROOM_CLI_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "accounts.h"
#include "config.h"

/* The longest password the commands accept (longer input is refused, not cut). */
#define CLI_PASSWORD_MAX 1024

/* cli_usage_error - "usage: mailroom <usage>" on stderr; returns 2. */
int cli_usage_error(const char *usage);

/*
 * cli_read_password - one line from standard input (without echo on a terminal),
 * the newline or CRLF removed, into out (CLI_PASSWORD_MAX+1 octets). Returns 0, or
 * 1 after printing why (empty, missing, too long).
 */
int cli_read_password(char *out, size_t outlen);


/*
 * cli_open_accounts - the accounts database of cfg, or NULL after printing why. A
 * missing data dir (0750) and database (0600, with its schema) are created, and
 * given to the configured user when run as root, as `init` would have.
 */
struct accounts *cli_open_accounts(const struct config *cfg);

/* cli_print_list - each line of l on standard output; returns 0, or 1 on a write error. */
int cli_print_list(const struct strlist *l);

#endif
