/*
 * pop3d.c - the POP3 role. Interim: it holds the pop3 and pop3s sockets and
 * answers every connection with -ERR until the POP3 server lands.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "role.h"
#include "util/log.h"

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	static const char msg[] = "-ERR POP3 is not available in this version\r\n";
	ssize_t w = send(fd, msg, sizeof msg - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
	close(fd);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
pop3d_main(const struct role_env *env)
{
	struct event_base *base = event_base_new();
	struct evconnlistener **ls = calloc(env->nfds + 1, sizeof *ls);
	struct event *ev = base ? evsignal_new(base, SIGTERM, on_signal, base) : NULL;

	log_init("pop3d", env->cfg->log_syslog);
	if (base == NULL || ls == NULL || ev == NULL)
		return 1;
	event_add(ev, NULL);
	for (size_t i = 0; i < env->nfds; i++)
		ls[i] = evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, env->fds[i].fd);
	event_base_dispatch(base);
	for (size_t i = 0; i < env->nfds; i++)
		if (ls[i])
			evconnlistener_free(ls[i]);
	free(ls);
	event_free(ev);
	event_base_free(base);
	config_free(env->cfg);
	free(env->cfg);
	close(env->ctl_fd);
	return 0;
}
