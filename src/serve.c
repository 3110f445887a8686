/*
 * serve.c - the supervisor of `mailroom serve`: prepares the data dir, reads the
 * TLS certificate and binds every listener (as root where needed), forks one
 * process per role, each under a uid of its own (lookupd alone owns the account
 * store; smtpd, pop3d, httpd and queued share the mail group for the queue and the
 * mailboxes; only smtpd, pop3d and httpd are given the TLS key; acmed, when [acme] is
 * set, gets data_dir/acme/ and a channel to httpd), restarts a role that
 * dies with a backoff, passes reloads on SIGHUP, answers `mailroom status` from what
 * it records of them (status/status_server.h), and stops everything on SIGTERM
 * or SIGINT. As root it opens nothing in a directory another user can write:
 * the data dir is walked with openat(O_NOFOLLOW), and the queue and mailboxes
 * are prepared by a child that has dropped to the mail user first.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "accounts.h"
#include "acme/acme_state.h"
#include "lookup/lookup_client.h"
#include "metrics/metrics.h"
#include "net/ctl.h"
#include "net/selfsigned.h"
#include "net/tls_server.h"
#include "store/spool.h"
#include "role.h"
#include "status/status_json.h"
#include "status/status_server.h"
#include "util/log.h"
#include "util/log_ring.h"
#include "util/mkdir_p.h"
#include "util/sysuser.h"
#include "version.h"

#define LISTEN_BACKLOG 4096
#define STOP_GRACE 8        /* seconds before SIGKILL on stop */
#define RESTART_MAX 30      /* seconds of backoff at most */
#define STABLE_AFTER 60     /* a role up this long restarts at once when it dies */

/* lookupd first: the others ask it from their start. */
enum role_id { ROLE_LOOKUPD, ROLE_SMTPD, ROLE_QUEUED, ROLE_POP3D, ROLE_HTTPD, ROLE_ACMED,
	ROLE_COUNT };
/* The restarts are counted by role in the same order. */
_Static_assert((int)ROLE_COUNT == (int)MX_ROLE_COUNT && (int)ROLE_HTTPD == (int)MX_ROLE_HTTPD &&
    (int)ROLE_QUEUED == (int)MX_ROLE_QUEUED && (int)ROLE_ACMED == (int)MX_ROLE_ACMED,
    "enum role_id and enum mx_role differ");

/* Who a role runs as. */
struct cred {
	uid_t uid;
	gid_t gid;
};

struct role {
	const char *name;
	int (*main)(const struct role_env *);
	bool wanted;
	pid_t pid;
	int ctl;             /* the supervisor's end of the control channel */
	time_t started;
	struct cred cred;
	bool tls;            /* terminates TLS: given the key */
	struct event *ctl_ev; /* acmed: what it sends on ctl (CTL_ISSUED) */
	unsigned backoff;    /* seconds before the next restart */
	struct event *restart_ev;
	/* for `mailroom status`: */
	unsigned restarts;
	time_t exit_time;    /* the last exit; 0: none */
	char exit_reason[48];
	time_t restart_at;   /* when the restart under way is due */
};

struct supervisor {
	struct config *cfg;
	struct event_base *base;
	struct tls_certs certs;  /* read as root: given to the TLS roles at each start and reload */
	struct listener_fd *fds;
	size_t nfds;
	struct role roles[ROLE_COUNT];
	bool stopping;
	struct event *kill_ev;
	int queue_pair[2];   /* smtpd -> queued: ids of newly committed messages */
	int qctl_pair[2];    /* httpd <-> queued: the queue control channel */
	int lookup_fd;       /* lookupd's listening socket, kept across its restarts */
	int acme_pair[2];    /* acmed -> httpd: ACME challenge responses (acme/acme_chan.h) */
	int acme_dir;        /* data_dir/acme/ when [acme] is set; else -1 */
	struct cred mail;    /* the mail user: owns queue/ and mail/; its group is the roles' */
	struct cred store;   /* lookupd's user: owns the data dir and the account store */
	bool drop;
	bool regroup;        /* queue/ and mail/ were private to the mail user: open them to the group */
	/* for `mailroom status`: */
	struct status_server *status;
	time_t started;
	unsigned reloads;
	time_t last_reload;
	char reload_error[512]; /* the last reload's refusal; "": it succeeded */
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
	case ROLE_HTTPD:
		return svc == SVC_HTTPS || svc == SVC_HTTP || svc == SVC_METRICS;
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
		if (l->n > 0 && (s == SVC_SUBMISSIONS || s == SVC_POP3S || s == SVC_HTTPS) &&
		    sv->certs.main.cert == NULL) {
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

/*
 * hand_over - give the entry name of the directory dfd to cred with mode, unless it is
 * not a plain file or directory of its own (a symlink, a FIFO, a hard link that
 * someone planted while the mail user could write here): those are refused.
 */
static int
hand_over(int dfd, const char *name, const struct cred *c, mode_t mode, bool dir,
    bool *changed, char *err, size_t errlen)
{
	struct stat st;
	int fd = openat(dfd, name, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT && !dir)
			return 0;
		if (errno == ELOOP || errno == ENOTDIR)
			snprintf(err, errlen, "data dir: %s is a symbolic link or not a directory: "
			    "refusing it", name);
		else
			snprintf(err, errlen, "data dir: %s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1)) {
		snprintf(err, errlen, "data dir: %s is not a plain %s: refusing it", name,
		    dir ? "directory" : "file");
		close(fd);
		return -1;
	}
	if (changed != NULL)
		*changed = (st.st_mode & 07777) != mode || st.st_uid != c->uid || st.st_gid != c->gid;
	if ((st.st_uid != c->uid || st.st_gid != c->gid) && fchown(fd, c->uid, c->gid) < 0)
		goto fail;
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	snprintf(err, errlen, "data dir: cannot give %s to uid %ld: %s", name, (long)c->uid,
	    strerror(errno));
	close(fd);
	return -1;
}

/* make_sub - the directory sub of dfd, made when missing, given to c with mode when dropping. */
static int
make_sub(struct supervisor *sv, int dfd, const char *sub, const struct cred *c, mode_t mode,
    bool *changed, char *err, size_t errlen)
{
	if (mkdirat(dfd, sub, mode) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "data dir: %s: %s", sub, strerror(errno));
		return -1;
	}
	return sv->drop ? hand_over(dfd, sub, c, mode, true, changed, err, errlen) : 0;
}

/*
 * prepare_owners - as root: the data dir and the account store to lookupd's user,
 * queue/ and mail/ to the mail user and group. Only through descriptors opened
 * without following links, so no link in the tree can turn this on another file.
 */
static int
prepare_owners(struct supervisor *sv, char *err, size_t errlen)
{
	const struct config *cfg = sv->cfg;
	static const char *const store_files[] = { "accounts.db", "accounts.db-wal",
		"accounts.db-shm", "accounts.db-journal" };
	struct cred top = { sv->store.uid, sv->mail.gid };
	bool changed = false;

	int dfd = open(cfg->data_dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "data dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (hand_over(dfd, ".", &top, 0750, true, NULL, err, errlen) < 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		if (make_sub(sv, dfd, i == 0 ? "queue" : "mail", &sv->mail, 0770, &changed, err,
		    errlen) < 0)
			goto out;
		sv->regroup |= changed;
	}
	for (size_t i = 0; i < sizeof store_files / sizeof store_files[0]; i++)
		if (hand_over(dfd, store_files[i], &sv->store, 0600, false, NULL, err, errlen) < 0)
			goto out;
	rc = 0;
out:
	close(dfd);
	return rc;
}

static int
regroup_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const struct cred *c = &the_supervisor->mail;
	mode_t want = S_ISDIR(st->st_mode) ? (st->st_mode & 07777) | 0070 :
	    (st->st_mode & 07777) | 0060;

	if (S_ISLNK(st->st_mode) || st->st_uid != c->uid)
		return 0;
	if (st->st_gid != c->gid && lchown(path, (uid_t)-1, c->gid) < 0)
		ev_warn("regroup-error", KS("file", path), KS("error", strerror(errno)));
	if ((st->st_mode & 07777) != want && chmod(path, want) < 0)
		ev_warn("regroup-error", KS("file", path), KS("error", strerror(errno)));
	return 0;
}

/*
 * prepare_spool - in a child that runs as the mail user: the queue's directories,
 * what a crash left unfinished removed (spool_recover: half-received messages were
 * never acknowledged), and once, when the queue and
 * mailboxes were the mail user's alone, their entries opened to the mail group.
 */
static void
prepare_spool(struct supervisor *sv)
{
	const struct config *cfg = sv->cfg;
	char path[4096];

	umask(007);
	if (spool_init(cfg->data_dir) < 0) {
		ev_err("start-failed", KS("what", "queue"), KS("file", cfg->data_dir),
		    KS("error", strerror(errno)));
		_exit(1);
	}
	snprintf(path, sizeof path, "%s/mail", cfg->data_dir);
	if (mkdir(path, 0770) < 0 && errno != EEXIST) {
		ev_err("start-failed", KS("what", "mail"), KS("file", path), KS("error", strerror(errno)));
		_exit(1);
	}
	snprintf(path, sizeof path, "%s/queue", cfg->data_dir);
	unsigned removed = spool_recover(path);
	if (removed > 0)
		ev_info("queue-recovered", KN("removed", removed));
	if (sv->regroup) {
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof path, "%s/%s", cfg->data_dir, i == 0 ? "queue" : "mail");
			nftw(path, regroup_entry, 32, FTW_PHYS);
		}
		ev_info("regrouped");
	}
	_exit(0);
}

static void drop_to(const struct cred *c, const char *name);

/*
 * prepare_store - in a child that runs as lookupd's user: the account store, made
 * when missing, and DKIM keys for the hosted domains that lack one.
 */
static void
prepare_store(struct supervisor *sv)
{
	char err[512];

	umask(077);
	bool unreachable = false;
	struct accounts *a = accounts_open_at(sv->cfg->data_dir, config_accounts_dsn(sv->cfg), true,
	    &unreachable, err, sizeof err);
	if (a == NULL && unreachable) {
		/* A shared store that is down is a temporary failure: serve, and defer mail (4xx). */
		ev_warn("store-unavailable", KS("error", err),
		    KS("action", "serving anyway; lookups fail temporarily until it answers"));
		_exit(0);
	}
	if (a == NULL) {
		ev_err("start-failed", KS("error", err));
		_exit(1);
	}
	/* Every hosted domain can sign from the start, whatever made it (an older version, sqlite3). */
	/* Not fatal: mail still arrives; the next start tries again. */
	if (accounts_dkim_ensure(a, sv->cfg->dkim_algs, time(NULL), err, sizeof err) < 0)
		ev_err("dkim-keys-error", KS("error", err));
	accounts_close(a);
	_exit(0);
}

/* as_user - run fn in a child under c (when dropping), and wait for it. 0, or -1 with err. */
static int
as_user(struct supervisor *sv, const struct cred *c, const char *name,
    void (*fn)(struct supervisor *), const char *what, char *err, size_t errlen)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (sv->drop)
			drop_to(c, name);
		fn(sv);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "data dir %s: cannot prepare %s (see above)", sv->cfg->data_dir,
		    what);
		return -1;
	}
	return 0;
}

/*
 * prepare_acme - data_dir/acme/ for acmed (its user's, 0700), opened without
 * following links; the supervisor keeps the descriptor to read the certificate.
 */
static int
prepare_acme(struct supervisor *sv, char *err, size_t errlen)
{
	int dfd = open(sv->cfg->data_dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = -1;

	if (dfd < 0) {
		snprintf(err, errlen, "data dir %s: %s", sv->cfg->data_dir, strerror(errno));
		return -1;
	}
	if (make_sub(sv, dfd, ACME_STATE_DIR, &sv->roles[ROLE_ACMED].cred, 0700, NULL, err,
	    errlen) < 0)
		goto out;
	sv->acme_dir = openat(dfd, ACME_STATE_DIR, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sv->acme_dir < 0) {
		snprintf(err, errlen, "data dir: %s: %s", ACME_STATE_DIR, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}

/*
 * acme_pem - the certificate acmed stored, checked, into pem. Returns 0, 1 when
 * there is none (yet), -1 when it cannot be used (logged).
 */
static int
acme_pem(struct supervisor *sv, const struct config *cfg, struct tls_pem *pem)
{
	char err[512];
	SSL_CTX *check;

	if (sv->acme_dir < 0)
		return 1;
	int rc = acme_state_load_pem(sv->acme_dir, pem, err, sizeof err);
	if (rc == 0) {
		struct tls_certs alone = { .main = *pem };
		if ((check = tls_server_ctx(&alone, cfg, err, sizeof err)) != NULL) {
			SSL_CTX_free(check);
			return 0;
		}
	}
	if (rc != 1)
		ev_err("acme-error", KS("what", "stored certificate"), KS("error", err));
	tls_pem_free(pem);
	return rc == 1 ? 1 : -1;
}

/*
 * acme_stand_in - until ACME brings a certificate and without [tls]: a self-signed
 * one for the hostname and [acme] names, made now and kept in memory only.
 */
static int
acme_stand_in(struct supervisor *sv, char *err, size_t errlen)
{
	const struct config *cfg = sv->cfg;
	const char *names[101];
	size_t n = 0;

	names[n++] = cfg->hostname;
	for (size_t i = 0; i < cfg->nacme_names && n < 101; i++)
		if (strcmp(cfg->acme_names[i].name, cfg->hostname) != 0)
			names[n++] = cfg->acme_names[i].name;
	if (selfsigned_pem(names, n, true, 30, NULL, &sv->certs.main, err, errlen) < 0)
		return -1;
	ev_info("acme-stand-in");
	return 0;
}

/*
 * prepare_data_dir - the directories every role expects, each owned as the roles
 * need, and the account store: all there before any role starts, so an admin
 * command run as soon as serve is up finds a complete database.
 */
static int
prepare_data_dir(struct supervisor *sv, char *err, size_t errlen)
{
	const struct config *cfg = sv->cfg;

	if (mkdir_p(cfg->data_dir, 0750) < 0) {
		snprintf(err, errlen, "data dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (sv->drop && prepare_owners(sv, err, errlen) < 0)
		return -1;
	if (cfg->acme_directory != NULL && prepare_acme(sv, err, errlen) < 0)
		return -1;
	if (as_user(sv, &sv->mail, cfg->user, prepare_spool, "the queue", err, errlen) < 0)
		return -1;
	return as_user(sv, &sv->store, sv->roles[ROLE_LOOKUPD].name, prepare_store,
	    "the account store", err, errlen);
}

static void
drop_to(const struct cred *c, const char *name)
{
	if (setgroups(1, &c->gid) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0) {
		ev_err("privileges-error", KS("user", name), KS("error", strerror(errno)));
		_exit(1);
	}
	if (setuid(0) == 0) {
		ev_err("privileges-error", KS("user", name), KS("error", "still root"));
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
	status_server_close_fds(sv->status);
	int afd = id == ROLE_HTTPD ? sv->acme_pair[0] : id == ROLE_ACMED ? sv->acme_pair[1] : -1;
	for (int i = 0; i < 2; i++)
		if (sv->acme_pair[i] >= 0 && sv->acme_pair[i] != afd)
			close(sv->acme_pair[i]);
	int adir = id == ROLE_ACMED ? sv->acme_dir : -1;
	if (sv->acme_dir >= 0 && adir < 0)
		close(sv->acme_dir);
	int lookup_fd = id == ROLE_LOOKUPD ? sv->lookup_fd : -1;
	if (id != ROLE_LOOKUPD && sv->lookup_fd >= 0)
		close(sv->lookup_fd);
	if (sv->drop)
		drop_to(&sv->roles[id].cred, sv->roles[id].name);
	/* The account store is lookupd's alone; what the others make, the mail group shares. */
	umask(id == ROLE_LOOKUPD ? 077 : 007);
	/* The key only where TLS ends: the other roles get none. */
	if (!sv->roles[id].tls)
		tls_certs_free(&sv->certs);
	/* The role owns its config (and replaces it on reload): give it a heap copy. */
	struct config *cfg = malloc(sizeof *cfg);
	if (cfg == NULL)
		_exit(1);
	*cfg = *sv->cfg;
	int qfd = id == ROLE_SMTPD ? sv->queue_pair[0] : id == ROLE_QUEUED ? sv->queue_pair[1] : -1;
	for (int i = 0; i < 2; i++)
		if (sv->queue_pair[i] != qfd)
			close(sv->queue_pair[i]);
	int cfd = id == ROLE_HTTPD ? sv->qctl_pair[0] : id == ROLE_QUEUED ? sv->qctl_pair[1] : -1;
	for (int i = 0; i < 2; i++)
		if (sv->qctl_pair[i] != cfd)
			close(sv->qctl_pair[i]);
	/* Unprivileged, every role is one user: there is no one else to tell apart. */
	struct role_env env = { cfg, mine, n, ctl_fd, qfd, cfd, &sv->certs, lookup_fd, sv->mail.gid,
		sv->drop ? sv->mail.uid : geteuid(),
		sv->drop ? sv->roles[ROLE_HTTPD].cred.uid : geteuid(), afd, adir };
	int rc = sv->roles[id].main(&env);
	/* The role freed the config; what remains of the supervisor is reachable. */
	sv->cfg = NULL;
	free(mine);
	exit(rc);
}

/* acme_issued - acmed stored a certificate: load it and hand it to the TLS roles. */
static void
acme_issued(struct supervisor *sv)
{
	struct tls_pem pem = { 0 };

	if (acme_pem(sv, sv->cfg, &pem) != 0) {
		ev_err("acme-error", KS("what", "issued certificate"), KS("error", "none can be loaded"));
		return;
	}
	tls_pem_free(&sv->certs.main);
	sv->certs.main = pem;
	/* No config text: the roles keep theirs and take the certificate alone. */
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv->roles[i].pid > 0 && sv->roles[i].tls &&
		    ctl_send_reload(sv->roles[i].ctl, NULL, 0, &sv->certs) < 0)
			ev_warn("reload-error", KS("role", sv->roles[i].name), KS("error", strerror(errno)));
	ev_info("acme-loaded");
}

static void
on_acmed(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *sv = arg;
	struct role *r = &sv->roles[ROLE_ACMED];
	uint16_t type;

	int got = ctl_recv_type(fd, &type);
	if (got < 0) {
		/* Gone: SIGCHLD tells the rest. */
		event_del(r->ctl_ev);
		return;
	}
	if (got == 0)
		return;
	if (type == CTL_ISSUED)
		acme_issued(sv);
	else
		ev_warn("control-malformed", KS("peer", "acmed"), KN("type", type));
}

static int
start_role(struct supervisor *sv, enum role_id id)
{
	struct role *r = &sv->roles[id];
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		ev_err("role-start-failed", KS("role", r->name), KS("error", strerror(errno)));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		ev_err("role-start-failed", KS("role", r->name), KS("error", strerror(errno)));
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
	if (id == ROLE_ACMED) {
		r->ctl_ev = event_new(sv->base, r->ctl, EV_READ | EV_PERSIST, on_acmed, sv);
		if (r->ctl_ev == NULL || event_add(r->ctl_ev, NULL) < 0)
			ev_err("acme-error", KS("what", "channel"),
			    KS("error", "cannot watch it: certificates wait for a reload"));
	}
	r->started = time(NULL);
	ev_info("role-start", KS("role", r->name), KN("pid", pid));
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
		if (r->ctl_ev != NULL)
			event_free(r->ctl_ev);
		r->ctl_ev = NULL;
		if (r->ctl >= 0)
			close(r->ctl);
		r->ctl = -1;
		if (sv->stopping)
			continue;
		if (WIFSIGNALED(status))
			snprintf(r->exit_reason, sizeof r->exit_reason, "killed by signal %d",
			    WTERMSIG(status));
		else
			snprintf(r->exit_reason, sizeof r->exit_reason, "exited with status %d",
			    WEXITSTATUS(status));
		if (WIFSIGNALED(status))
			ev_err("role-exit", KS("role", r->name), KN("pid", pid), KN("signal", WTERMSIG(status)));
		else
			ev_err("role-exit", KS("role", r->name), KN("pid", pid),
			    KN("status", WEXITSTATUS(status)));
		r->exit_time = time(NULL);
		time_t up = r->exit_time - r->started;
		if (up >= STABLE_AFTER)
			r->backoff = 0;
		struct timeval tv = { r->backoff, 0 };
		ev_info("role-restart", KS("role", r->name), KN("delay", r->backoff));
		MX_INC(restarts[r - sv->roles]);
		r->restarts++;
		r->restart_at = r->exit_time + (time_t)r->backoff;
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
			ev_warn("role-kill", KS("role", sv->roles[i].name), KN("pid", sv->roles[i].pid));
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
	ev_info("stopping", KN("signal", sig));
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
	struct tls_certs certs;
	char err[512];

	sv->reloads++;
	sv->last_reload = time(NULL);
	/* Read once, here: the roles parse this same text (ctl.h), never the file. */
	size_t len;
	char *text = config_read(sv->cfg->path, &len, err, sizeof err);
	if (text == NULL || config_load_text(sv->cfg->path, text, len, &ncfg, err, sizeof err) < 0) {
		ev_err("reload-refused", KS("error", err));
		snprintf(sv->reload_error, sizeof sv->reload_error, "%s", err);
		free(text);
		return;
	}
	if (tls_certs_load(&certs, &ncfg, err, sizeof err) < 0) {
		ev_err("reload-refused", KS("error", err));
		snprintf(sv->reload_error, sizeof sv->reload_error, "%s", err);
		config_free(&ncfg);
		free(text);
		return;
	}
	/* ACME's certificate first, once there is one; else [tls]'s; else the one in use. */
	struct tls_pem pem = { 0 };
	if (ncfg.acme_directory != NULL && acme_pem(sv, &ncfg, &pem) == 0) {
		tls_pem_free(&certs.main);
		certs.main = pem;
	} else if (ncfg.acme_directory != NULL && certs.main.cert == NULL) {
		certs.main = sv->certs.main;
		memset(&sv->certs.main, 0, sizeof sv->certs.main);
	}
	/* Listeners are bound once: a change to [listen] needs a restart. */
	config_free(sv->cfg);
	*sv->cfg = ncfg;
	tls_certs_free(&sv->certs);
	sv->certs = certs;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv->roles[i].pid > 0 &&
		    ctl_send_reload(sv->roles[i].ctl, text, len, sv->roles[i].tls ? &sv->certs : NULL) < 0)
			ev_warn("reload-error", KS("role", sv->roles[i].name), KS("error", strerror(errno)));
	free(text);
	sv->reload_error[0] = '\0';
	ev_info("reload", KS("tls", sv->certs.main.cert ? "yes" : "no"), KN("sni", sv->certs.nsni));
}

/* role_state - what `mailroom status` says of r. */
static enum status_state
role_state(const struct supervisor *sv, const struct role *r)
{
	if (!r->wanted)
		return SS_OFF;
	if (r->pid > 0)
		return sv->stopping ? SS_STOPPING : SS_RUNNING;
	if (!sv->stopping && evtimer_pending(r->restart_ev, NULL))
		return SS_RESTARTING;
	return SS_DOWN;
}

/*
 * status_fill - the answer to `mailroom status`: the roles as the supervisor
 * recorded them, the counters of the shared metrics, the last warnings and errors.
 */
static char *
status_fill(void *arg)
{
	struct supervisor *sv = arg;
	struct metrics_snap m;
	struct log_ring_entry errors[10];
	struct status_snapshot s = {
		.version = MAILROOM_VERSION, .hostname = sv->cfg->hostname,
		.data_dir = sv->cfg->data_dir, .config_path = sv->cfg->path,
		.pid = (long)getpid(), .started = sv->started, .now = time(NULL),
		.reloads = sv->reloads, .last_reload = sv->last_reload,
		.reload_error = sv->reload_error[0] ? sv->reload_error : NULL,
		.nroles = ROLE_COUNT, .m = &m, .errors = errors,
	};

	metrics_snapshot(&m);
	s.nerrors = log_ring_read(errors, sizeof errors / sizeof errors[0]);
	s.errors_total = log_ring_total();
	for (size_t i = 0; i < sv->nfds; i++)
		s.listeners |= (uint64_t)1 << sv->fds[i].svc;
	for (int i = 0; i < ROLE_COUNT; i++) {
		const struct role *r = &sv->roles[i];
		struct status_role *o = &s.roles[i];
		o->name = r->name;
		o->state = role_state(sv, r);
		o->pid = (long)r->pid;
		o->started = r->started;
		o->restarts = r->restarts;
		o->exit_time = r->exit_time;
		snprintf(o->exit_reason, sizeof o->exit_reason, "%s", r->exit_reason);
		o->restart_at = r->restart_at;
	}
	return status_json(&s);
}

/*
 * resolve_users - as root: the mail user (queued; the group of the mail roles),
 * and a user for each other role, made when missing: <user>-smtpd,
 * <user>-pop3d and <user>-httpd in the mail group, <user>-lookup in a group of its own.
 */
static int
resolve_users(struct supervisor *sv, char *err, size_t errlen)
{
	const char *user = sv->cfg->user;
	struct group *gr;
	char name[64], group[64];
	bool created;

	if (geteuid() != 0)
		return 0; /* "started as another user, this key is ignored" */
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "no such system user: %s", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: refusing to run roles as root", user);
		return -1;
	}
	sv->mail = (struct cred){ pw->pw_uid, pw->pw_gid };
	if ((gr = getgrgid(pw->pw_gid)) == NULL) {
		snprintf(err, errlen, "user %s: its group %ld does not exist", user, (long)pw->pw_gid);
		return -1;
	}
	snprintf(group, sizeof group, "%s", gr->gr_name);
	static const char *const suffix[ROLE_COUNT] = { "lookup", "smtpd", NULL, "pop3d", "httpd",
		"acme" };
	for (int i = 0; i < ROLE_COUNT; i++) {
		struct cred *c = &sv->roles[i].cred;
		/* lookupd and acmed have groups of their own, apart from the mail roles'. */
		bool apart = i == ROLE_LOOKUPD || i == ROLE_ACMED;
		if (suffix[i] == NULL || (i == ROLE_ACMED && sv->cfg->acme_directory == NULL)) {
			*c = sv->mail; /* queued; or acmed, which then does not run */
			continue;
		}
		snprintf(name, sizeof name, "%s-%s", user, suffix[i]);
		if (sysuser_ensure(name, apart ? NULL : group, &c->uid, &c->gid,
		    &created, err, errlen) < 0)
			return -1;
		if (created)
			ev_info("user-created", KS("user", name), KS("role", sv->roles[i].name));
		if (!apart && c->gid != sv->mail.gid) {
			snprintf(err, errlen, "user %s must have %s's group %s", name, user, group);
			return -1;
		}
		if (apart && (c->gid == sv->mail.gid || c->uid == sv->mail.uid)) {
			snprintf(err, errlen, "user %s must not share %s's user or group", name, user);
			return -1;
		}
	}
	sv->store = sv->roles[ROLE_LOOKUPD].cred;
	sv->drop = true;
	return 0;
}

/* bind_lookup - lookupd's socket; bound here so it outlives lookupd's restarts. */
static int
bind_lookup(struct supervisor *sv, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len;

	lookup_socket_name(sv->cfg->data_dir, &sun, &len);
	sv->lookup_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sv->lookup_fd < 0 || bind(sv->lookup_fd, (struct sockaddr *)&sun, len) < 0 ||
	    listen(sv->lookup_fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot make the lookup socket: %s%s", strerror(errno),
		    errno == EADDRINUSE ? " (is another mailroom serving this data dir?)" : "");
		return -1;
	}
	return 0;
}

/*
 * raise_nofile - the soft limit on open files up to the hard one (at most
 * NOFILE_WANT), for this process and the roles it starts: the default soft limit
 * of 1,024 would cap smtpd near a thousand connections. Under systemd the unit's
 * LimitNOFILE is the hard limit.
 */
#define NOFILE_WANT 1048576
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANT ? NOFILE_WANT :
	    rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* a refusal leaves the limit as it was */
	}
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
	sv.qctl_pair[0] = sv.qctl_pair[1] = -1;
	sv.lookup_fd = -1;
	sv.acme_pair[0] = sv.acme_pair[1] = -1;
	sv.acme_dir = -1;
	log_init("serve", cfg->log_dest);
	/* A stop or reload asked for while starting waits for the loop's handlers, not the
	 * default action: blocked here, delivered when the handlers are in place. */
	sigset_t early;
	sigemptyset(&early);
	sigaddset(&early, SIGTERM);
	sigaddset(&early, SIGINT);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGCHLD);
	sigprocmask(SIG_BLOCK, &early, NULL);
	raise_nofile();
	static const char *const names[ROLE_COUNT] = { "lookupd", "smtpd", "queued", "pop3d",
		"httpd", "acmed" };
	int (*const mains[ROLE_COUNT])(const struct role_env *) = { lookupd_main, smtpd_main,
		queued_main, pop3d_main, httpd_main, acmed_main };
	for (int i = 0; i < ROLE_COUNT; i++) {
		sv.roles[i].name = names[i];
		sv.roles[i].main = mains[i];
		sv.roles[i].ctl = -1;
		sv.roles[i].tls = i == ROLE_SMTPD || i == ROLE_POP3D || i == ROLE_HTTPD;
	}
	if (resolve_users(&sv, err, sizeof err) < 0)
		goto fail;
	if (tls_certs_load(&sv.certs, cfg, err, sizeof err) < 0)
		goto fail;
	if (prepare_data_dir(&sv, err, sizeof err) < 0)
		goto fail;
	if (cfg->acme_directory != NULL) {
		struct tls_pem pem = { 0 };
		if (acme_pem(&sv, cfg, &pem) == 0) {
			tls_pem_free(&sv.certs.main);
			sv.certs.main = pem;
			ev_info("acme-stored", KS("data_dir", cfg->data_dir), KS("dir", ACME_STATE_DIR));
		} else if (sv.certs.main.cert == NULL && acme_stand_in(&sv, err, sizeof err) < 0) {
			goto fail;
		}
		/* Datagrams both ways; kept across restarts of httpd and acmed. */
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		    sv.acme_pair) < 0) {
			snprintf(err, sizeof err, "socketpair: %s", strerror(errno));
			goto fail;
		}
	}
	if (bind_all(&sv, err, sizeof err) < 0 || bind_lookup(&sv, err, sizeof err) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv.queue_pair) < 0) {
		snprintf(err, sizeof err, "socketpair: %s", strerror(errno));
		goto fail;
	}
	/* Frames as messages, both ways; kept across restarts of httpd and queued. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv.qctl_pair) < 0) {
		snprintf(err, sizeof err, "socketpair: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sv.nfds; i++) {
		sv.roles[ROLE_SMTPD].wanted |= role_wants(ROLE_SMTPD, sv.fds[i].svc);
		sv.roles[ROLE_POP3D].wanted |= role_wants(ROLE_POP3D, sv.fds[i].svc);
		sv.roles[ROLE_HTTPD].wanted |= role_wants(ROLE_HTTPD, sv.fds[i].svc);
	}
	sv.roles[ROLE_QUEUED].wanted = true;
	sv.roles[ROLE_LOOKUPD].wanted = true;
	sv.roles[ROLE_ACMED].wanted = cfg->acme_directory != NULL;
	/* Before the first fork: every role, and each restart of one, counts into this region. */
	if (metrics_map() < 0) {
		snprintf(err, sizeof err, "cannot map the metrics: %s", strerror(errno));
		goto fail;
	}
	/* Likewise the last warnings and errors, for `mailroom status`. */
	if (log_ring_map() < 0) {
		snprintf(err, sizeof err, "cannot map the log ring: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sv.nfds; i++)
		MX_SET(listeners, metrics->listeners | (uint64_t)1 << sv.fds[i].svc);
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv.roles[i].wanted)
			MX_SET(roles, metrics->roles | (uint64_t)1 << i);

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
	sigprocmask(SIG_UNBLOCK, &early, NULL);
	for (int i = 0; i < ROLE_COUNT; i++) {
		sv.roles[i].restart_ev = evtimer_new(sv.base, on_restart, &sv.roles[i]);
		if (sv.roles[i].restart_ev == NULL)
			goto fail_quiet;
	}
	/* The mail user may ask too; without a drop, that is whoever runs serve. */
	sv.started = time(NULL);
	sv.status = status_server_new(sv.base, cfg->data_dir, sv.drop ? sv.mail.uid : geteuid(),
	    status_fill, &sv, err, sizeof err);
	if (sv.status == NULL)
		goto fail;
	ev_info("start", KS("hostname", cfg->hostname), KS("data_dir", cfg->data_dir),
	    KN("listeners", sv.nfds));
	for (int i = 0; i < ROLE_COUNT; i++)
		if (sv.roles[i].wanted && start_role(&sv, (enum role_id)i) < 0)
			goto fail_quiet;
	event_base_dispatch(sv.base);
	ev_info("stop");
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
	status_server_free(sv.status);
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (sv.roles[i].restart_ev)
			event_free(sv.roles[i].restart_ev);
		if (sv.roles[i].ctl_ev)
			event_free(sv.roles[i].ctl_ev);
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
	for (int i = 0; i < 2; i++)
		if (sv.qctl_pair[i] >= 0)
			close(sv.qctl_pair[i]);
	if (sv.lookup_fd >= 0)
		close(sv.lookup_fd);
	for (int i = 0; i < 2; i++)
		if (sv.acme_pair[i] >= 0)
			close(sv.acme_pair[i]);
	if (sv.acme_dir >= 0)
		close(sv.acme_dir);
	free(sv.fds);
	tls_certs_free(&sv.certs);
	if (sv.base)
		event_base_free(sv.base);
	return rc;
}
