/* role.h - what the supervisor hands each role process it forks. */
#ifndef MAILROOM_ROLE_H
#define MAILROOM_ROLE_H

#include <stddef.h>

#include "config.h"
#include "net/tls.h"

/* A socket the supervisor bound, and the service it is for. */
struct listener_fd {
	enum service svc;
	int fd;
};

struct role_env {
	struct config *cfg;              /* owned by the role from now on */
	const struct listener_fd *fds;   /* this role's listening sockets */
	size_t nfds;
	int ctl_fd;                      /* control channel from the supervisor */
	int queue_fd;                    /* smtpd: writes "new <id>\n" lines to queued,
					  * which reads them; a stream the supervisor keeps
					  * open, so it survives a restart of either */
	const struct tls_pem *pem;       /* certificate and key, or cert NULL */
};

int smtpd_main(const struct role_env *env);
int queued_main(const struct role_env *env);
int pop3d_main(const struct role_env *env);

#endif
