/* cli.h - the admin commands of the command line, one function per command group. */
#ifndef MAILROOM_CLI_H
#define MAILROOM_CLI_H

#include "config.h"

/*
 * Each takes the arguments after its own name (argv[0] is the first argument)
 * and returns the exit status: 0 success, 1 failure (after printing one line
 * "mailroom: <what went wrong>" on stderr), 2 usage error.
 */
int cli_init(int argc, char **argv);
int cli_config(const char *path, int argc, char **argv);
int cli_domain(struct config *cfg, int argc, char **argv);
int cli_user(struct config *cfg, int argc, char **argv);
/* cli_user_limit - `user limit ...` (argv after "limit"); cli_limits.c. */
int cli_user_limit(struct config *cfg, int argc, char **argv);
/* cli_user_vacation - `user vacation ...` (argv after "vacation"); cli_vacation.c. */
int cli_user_vacation(struct config *cfg, int argc, char **argv);
int cli_alias(struct config *cfg, int argc, char **argv);
int cli_queue(struct config *cfg, int argc, char **argv);
int cli_dkim(struct config *cfg, int argc, char **argv);
int cli_dns(struct config *cfg, int argc, char **argv);
int cli_check(struct config *cfg, int argc, char **argv);
int cli_dmarc(struct config *cfg, int argc, char **argv);
int cli_tlsrpt(struct config *cfg, int argc, char **argv);
int cli_admin(struct config *cfg, int argc, char **argv);
/* cli_accounts - `accounts migrate|export|import`: the store as a whole (cli_store.c). */
int cli_accounts(struct config *cfg, int argc, char **argv);
/* cli_status - `status [--json]`: asks the running server (cli_status.c). */
int cli_status(struct config *cfg, int argc, char **argv);

/* cli_fail - print "mailroom: <message>" on stderr and return 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
