/*
 * serve.c - the supervisor of `mailroom serve`: prepares the data dir, reads the
 * TLS certificate and binds every listener (as root where needed), forks one
 * process per role (each dropping to the configured user before it reads from
 * the network), restarts a role that dies with a backoff, passes reloads on
 * SIGHUP, and stops everything on SIGTERM or SIGINT.
 */
#include "serve.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "accounts.h"
#include "net/ctl.h"
#include "net/tls.h"
#include "queue/spool.h"
#include "role.h"
#include "util/log.h"

#define LISTEN_BACKLOG 4096
#define STOP_GRACE 8        /* seconds before SIGKILL on stop */
#define RESTART_MAX 30      /* seconds of backoff at most */
#define STABLE_AFTER 60     /* a role up this long restarts at once when it dies */

enum role_id { ROLE_SMTPD, ROLE_QUEUED, ROLE_POP3D, ROLE_COUNT };

struct role {
	const char *name;
	int (*main)(const struct role_env *);
	bool wanted;
	pid_t pid;
	int ctl;             /* the supervisor's end of the control channel */
	time_t started;
	unsigned backoff;    /* seconds before the next restart */
	struct event *restart_ev;
};

struct supervisor {
	struct config *cfg;
	struct event_base *base;
	struct tls_pem pem;
	struct listener_fd *fds;
	size_t nfds;
	struct role roles[ROLE_COUNT];
	bool stopping;
	struct event *kill_ev;
	int queue_pair[2];   /* smtpd -> queued: ids of newly committed messages */
	uid_t uid;
	gid_t gid;
	bool drop;
};

/* The supervisor is reachable from here in every child, so LeakSanitizer sees it as live. */
static struct supervisor *the_supervisor;

static bool
role_wants(enum role_id id, enum service svc)
{
	switch (id) {
	case ROLE_SMTPD:
		return svc == SVC_SMTP || svc == SVC_SUBMISSION || svc == SVC_SUBMISSIONS;
	case ROLE_POP3D:
		return svc == SVC_POP3 || svc == SVC_POP3S;
	default:
		return false;
	}
}

static int
bind_one(const struct listen_addr *a, char *err, size_t errlen)
{
	/* Non-blocking: a role that accepts in a loop must not hang in accept(). */
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;

	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* "0.0.0.0:25, [::]:25" must be able to coexist. */
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", a->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
bind_all(struct supervisor *sv, char *err, size_t errlen)
{
	size_t n = 0;
	for (int s = 0; s < SVC_COUNT; s++)
		n += sv->cfg->listen[s].n;
	sv->fds = calloc(n ? n : 1, sizeof *sv->fds);
	if (sv->fds == NULL)
		return -1;
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct listen_list *l = &sv->cfg->listen[s];
		if (l->n > 0 && (s == SVC_SUBMISSIONS || s == SVC_POP3S) && sv->cfg->tls_cert == NULL) {
			snprintf(err, errlen, "%s needs [tls] cert and key", service_name((enum service)s));
			return -1;
		}
		for (size_t i = 0; i < l->n; i++) {
			int fd = bind_one(&l->v[i], err, errlen);
			if (fd < 0)
				return -1;
			sv->fds[sv->nfds].svc = (enum service)s;
			sv->fds[sv->nfds++].fd = fd;
		}
	}
	return 0;
}

static int chown_uid, chown_gid;

static int
chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (lchown(path, (uid_t)chown_uid, (gid_t)chown_gid) < 0)
		log_warn("cannot give %s to the mail user: %s", path, strerror(errno));
	return 0;
}

/* prepare_data_dir - the directories every role expects, owned by the mail user. */
static int
prepare_data_dir(struct supervisor *sv, char *err, size_t errlen)
{
	const struct config *cfg = sv->cfg;
	char path[4096];
	struct stat st;

	if (mkdir(cfg->data_dir, 0750) < 0 && errno != EEXIST)
		goto fail;
	if (spool_init(cfg->data_dir) < 0)
		goto fail;
	snprintf(path, sizeof path, "%s/mail", cfg->data_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		goto fail;
	struct accounts *a = accounts_open(cfg->data_dir, true, err, errlen);
	if (a == NULL)
		return -1;
	accounts_close(a);
	/* Messages half received when we last stopped: never acknowledged, so dropped. */
	snprintf(path, sizeof path, "%s/queue/tmp", cfg->data_dir);
	DIR *d = opendir(path);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	if (sv->drop) {
		if (stat(cfg->data_dir, &st) < 0)
			goto fail;
		chown_uid = (int)sv->uid;
		chown_gid = (int)sv->gid;
		if (st.st_uid != sv->uid) {
			nftw(cfg->data_dir, chown_entry, 32, FTW_PHYS);
		} else {
			/* Files the CLI (as root) may have made since: the database and its journal. */
			static const char *const top[] = { "accounts.db", "accounts.db-wal",
				"accounts.db-shm", "queue", "queue/msg", "queue/tmp", "queue/state", "mail" };
			for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
				snprintf(path, sizeof path, "%s/%s", cfg->data_dir, top[i]);
				if (lchown(path, sv->uid, sv->gid) < 0 && errno != ENOENT)
					log_warn("cannot give %s to the mail user: %s", path, strerror(errno));
			}
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "data dir %s: %s", cfg->data_dir, strerror(errno));
	return -1;
}

static void
drop_privileges(struct supervisor *sv)
{
	if (!sv->drop)
		return;
	if (setgroups(1, &sv->gid) < 0 || setgid(sv->gid) < 0 || setuid(sv->uid) < 0) {
		log_err("cannot drop privileges to %s: %s", sv->cfg->user, strerror(errno));
		_exit(1);
	}
	if (setuid(0) == 0) {
		log_err("privileges not dropped");
		_exit(1);
	}
}

/* child_run - in the new process: keep only this role's sockets, drop root, run. */
static void
child_run(struct supervisor *sv, enum role_id id, int ctl_fd, pid_t parent)
{
	struct listener_fd *mine = calloc(sv->nfds ? sv->nfds : 1, sizeof *mine);
	size_t n = 0;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE };
	sigset_t none;

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	/* The supervisor's loop is not ours: detach it from the shared epoll and signals. */
	if (sv->base != NULL) {
		event_reinit(sv->base);
		event_base_free(sv->base);
		sv->base = NULL;
	}
	for (size_t i = 0; i < sv->nfds; i++) {
		if (role_wants(id, sv->fds[i].svc) && mine)
			mine[n++] = sv->fds[i];
		else
			close(sv->fds[i].fd);
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (sv->roles[r].ctl >= 0)
			close(sv->roles[r].ctl);
	drop_privileges(sv);
	/* The role owns its config (and replaces it on reload): give it a heap copy. */
	struct config *cfg = malloc(sizeof *cfg);
	if (cfg == NULL)
		_exit(1);
	*cfg = *sv->cfg;
	int qfd = id == ROLE_SMTPD ? sv->queue_pair[0] : id == ROLE_QUEUED ? sv->queue_pair[1] : -1;
	for (int i = 0; i < 2; i++)
		if (sv->queue_pair[i] != qfd)
			close(sv->queue_pair[i]);
	struct role_env env = { cfg, mine, n, ctl_fd, qfd, &sv->pem };
	int rc = sv->roles[id].main(&env);
	/* The role freed the config; what remains of the supervisor is reachable. */
	sv->cfg = NULL;
	free(mine);
	exit(rc);
}

static int
start_role(struct supervisor *sv, enum role_id id)
{
	struct role *r = &sv->roles[id];
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		log_err("socketpair: %s", strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		return -1;
	}
	if (pid == 0) {
		close(pair[0]);
		child_run(sv, id, pair[1], parent);
	}
	close(pair[1]);
	r->ctl = pair[0];
	r->pid = pid;
	r->started = time(NULL);
	log_info("started %s (pid %d)", r->name, (int)pid);
	return 0;
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct role *r = arg;
	struct supervisor *sv = the_supervisor;
	if (!sv->stopping && r->pid == 0)
		start_role(sv, (enum role_id)(r - sv->roles));
}

static bool
all_stopped(struct supervisor *sv)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv->roles[i].pid > 0)
			return false;
	return true;
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor *sv = arg;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct role *r = NULL;
		for (int i = 0; i < ROLE_COUNT; i++)
			if (sv->roles[i].pid == pid)
				r = &sv->roles[i];
		if (r == NULL)
			continue;
		r->pid = 0;
		if (r->ctl >= 0)
			close(r->ctl);
		r->ctl = -1;
		if (sv->stopping)
			continue;
		if (WIFSIGNALED(status))
			log_err("%s (pid %d) killed by signal %d", r->name, (int)pid, WTERMSIG(status));
		else
			log_err("%s (pid %d) exited with status %d", r->name, (int)pid,
			    WEXITSTATUS(status));
		time_t up = time(NULL) - r->started;
		if (up >= STABLE_AFTER)
			r->backoff = 0;
		struct timeval tv = { r->backoff, 0 };
		log_info("restarting %s in %u s", r->name, r->backoff);
		r->backoff = r->backoff == 0 ? 1 : (r->backoff * 2 > RESTART_MAX ? RESTART_MAX : r->backoff * 2);
		evtimer_add(r->restart_ev, &tv);
	}
	if (sv->stopping && all_stopped(sv))
		event_base_loopexit(sv->base, NULL);
}

static void
on_kill_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (sv->roles[i].pid > 0) {
			log_warn("%s did not stop in time, killing it", sv->roles[i].name);
			kill(sv->roles[i].pid, SIGKILL);
		}
	}
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor *sv = arg;

	if (sv->stopping)
		return;
	sv->stopping = true;
	log_info("stopping on signal %d", (int)sig);
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv->roles[i].pid > 0)
			kill(sv->roles[i].pid, SIGTERM);
	if (all_stopped(sv)) {
		event_base_loopexit(sv->base, NULL);
		return;
	}
	struct timeval tv = { STOP_GRACE, 0 };
	evtimer_add(sv->kill_ev, &tv);
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor *sv = arg;
	struct config ncfg;
	struct tls_pem pem = { 0 };
	char err[512];

	if (config_load(sv->cfg->path, &ncfg, err, sizeof err) < 0) {
		log_err("reload refused: %s", err);
		return;
	}
	if (ncfg.tls_cert != NULL) {
		SSL_CTX *check = NULL;
		if (tls_pem_load(&pem, ncfg.tls_cert, ncfg.tls_key, err, sizeof err) < 0 ||
		    (check = tls_server_ctx(&pem, err, sizeof err)) == NULL) {
			log_err("reload refused: %s", err);
			tls_pem_free(&pem);
			config_free(&ncfg);
			return;
		}
		SSL_CTX_free(check);
	}
	/* Listeners are bound once: a change to [listen] needs a restart. */
	config_free(sv->cfg);
	*sv->cfg = ncfg;
	tls_pem_free(&sv->pem);
	sv->pem = pem;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv->roles[i].pid > 0 && ctl_send_reload(sv->roles[i].ctl, &sv->pem) < 0)
			log_warn("cannot tell %s to reload: %s", sv->roles[i].name, strerror(errno));
	log_info("reloaded configuration%s", sv->pem.cert ? " and TLS certificate" : "");
}

static int
resolve_user(struct supervisor *sv, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0; /* "started as another user, this key is ignored" */
	struct passwd *pw = getpwnam(sv->cfg->user);
	if (pw == NULL) {
		snprintf(err, errlen, "no such system user: %s", sv->cfg->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: refusing to run roles as root", sv->cfg->user);
		return -1;
	}
	sv->uid = pw->pw_uid;
	sv->gid = pw->pw_gid;
	sv->drop = true;
	return 0;
}

int
serve_main(struct config *cfg)
{
	static struct supervisor sv;
	struct event *evs[5] = { 0 };
	char err[512];
	int rc = 1;

	the_supervisor = &sv;
	memset(&sv, 0, sizeof sv);
	sv.cfg = cfg;
	sv.queue_pair[0] = sv.queue_pair[1] = -1;
	log_init("serve", cfg->log_syslog);
	static const char *const names[ROLE_COUNT] = { "smtpd", "queued", "pop3d" };
	int (*const mains[ROLE_COUNT])(const struct role_env *) = { smtpd_main, queued_main,
		pop3d_main };
	for (int i = 0; i < ROLE_COUNT; i++) {
		sv.roles[i].name = names[i];
		sv.roles[i].main = mains[i];
		sv.roles[i].ctl = -1;
	}
	if (resolve_user(&sv, err, sizeof err) < 0)
		goto fail;
	if (cfg->tls_cert != NULL) {
		SSL_CTX *check;
		if (tls_pem_load(&sv.pem, cfg->tls_cert, cfg->tls_key, err, sizeof err) < 0 ||
		    (check = tls_server_ctx(&sv.pem, err, sizeof err)) == NULL)
			goto fail;
		SSL_CTX_free(check);
	}
	if (prepare_data_dir(&sv, err, sizeof err) < 0 || bind_all(&sv, err, sizeof err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv.queue_pair) < 0) {
		snprintf(err, sizeof err, "socketpair: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sv.nfds; i++) {
		sv.roles[ROLE_SMTPD].wanted |= role_wants(ROLE_SMTPD, sv.fds[i].svc);
		sv.roles[ROLE_POP3D].wanted |= role_wants(ROLE_POP3D, sv.fds[i].svc);
	}
	sv.roles[ROLE_QUEUED].wanted = true;

	signal(SIGPIPE, SIG_IGN);
	if ((sv.base = event_base_new()) == NULL)
		goto fail_quiet;
	evs[0] = evsignal_new(sv.base, SIGTERM, on_stop, &sv);
	evs[1] = evsignal_new(sv.base, SIGINT, on_stop, &sv);
	evs[2] = evsignal_new(sv.base, SIGHUP, on_reload, &sv);
	evs[3] = evsignal_new(sv.base, SIGCHLD, on_sigchld, &sv);
	sv.kill_ev = evs[4] = evtimer_new(sv.base, on_kill_timeout, &sv);
	for (int i = 0; i < 5; i++)
		if (evs[i] == NULL || (i < 4 && event_add(evs[i], NULL) < 0))
			goto fail_quiet;
	for (int i = 0; i < ROLE_COUNT; i++) {
		sv.roles[i].restart_ev = evtimer_new(sv.base, on_restart, &sv.roles[i]);
		if (sv.roles[i].restart_ev == NULL)
			goto fail_quiet;
	}
	log_info("mailroom starting: hostname %s, data dir %s, %zu listeners", cfg->hostname,
	    cfg->data_dir, sv.nfds);
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv.roles[i].wanted && start_role(&sv, (enum role_id)i) < 0)
			goto fail_quiet;
	event_base_dispatch(sv.base);
	log_info("stopped");
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "mailroom: %s\n", err);
	goto out;
fail_quiet:
	fprintf(stderr, "mailroom: cannot start: %s\n", strerror(errno));
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv.roles[i].pid > 0)
			kill(sv.roles[i].pid, SIGTERM);
out:
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (sv.roles[i].restart_ev)
			event_free(sv.roles[i].restart_ev);
		if (sv.roles[i].ctl >= 0)
			close(sv.roles[i].ctl);
	}
	for (int i = 0; i < 5; i++)
		if (evs[i])
			event_free(evs[i]);
	for (size_t i = 0; i < sv.nfds; i++)
		close(sv.fds[i].fd);
	for (int i = 0; i < 2; i++)
		if (sv.queue_pair[i] >= 0)
			close(sv.queue_pair[i]);
	free(sv.fds);
	tls_pem_free(&sv.pem);
	if (sv.base)
		event_base_free(sv.base);
	return rc;
}
