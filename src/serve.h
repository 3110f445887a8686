/* serve.h - the supervisor of `mailroom serve`. */
#ifndef MAILROOM_SERVE_H
#define MAILROOM_SERVE_H

#include "config.h"

/* serve_main - bind, fork the roles, supervise until SIGTERM/SIGINT. Returns the exit status. */
int serve_main(struct config *cfg);

#endif
