/* cli_users.h - `user suspend|resume|app-password ...` (cli_users.c), called by cli_user. */
#ifndef MAILROOM_CLI_USERS_H
#define MAILROOM_CLI_USERS_H

#include <stdbool.h>

#include "config.h"

#define USER_CONTROL_USAGE "user suspend ADDRESS | user resume ADDRESS |" \
	" user app-password add ADDRESS NAME | user app-password list ADDRESS |" \
	" user app-password del ADDRESS NAME"

/* cli_user_control_cmd - whether sub is one of the subcommands of cli_user_control. */
bool cli_user_control_cmd(const char *sub);

/* cli_user_control - argv[0] is suspend, resume or app-password; returns the exit status. */
int cli_user_control(struct config *cfg, int argc, char **argv);

#endif
