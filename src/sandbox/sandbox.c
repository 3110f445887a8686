/* sandbox.c - no_new_privs, seccomp and Landlock for the roles (see sandbox.h). */
#include "sandbox/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "milter/milter_addr.h"
#include "util/log.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
/* LeakSanitizer stops the world with ptrace at exit: the sanitized test build keeps it. */
#define KEEP_PTRACE 1
#else
#define KEEP_PTRACE 0
#endif

/* Calls no role makes once serving; each is refused with EPERM. */
static const int refused_calls[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
	SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf),
	SCMP_SYS(perf_event_open), SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(userfaultfd), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
	SCMP_SYS(setfsuid), SCMP_SYS(setfsgid), SCMP_SYS(capset), SCMP_SYS(settimeofday),
	SCMP_SYS(clock_settime), SCMP_SYS(adjtimex), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(acct), SCMP_SYS(quotactl), SCMP_SYS(fanotify_init), SCMP_SYS(vhangup),
	SCMP_SYS(syslog), SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(fsopen),
	SCMP_SYS(fsmount), SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(mount_setattr),
};

static int
seccomp_install(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx == NULL ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < sizeof refused_calls / sizeof refused_calls[0]; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused_calls[i], 0);
	if (rc == 0 && !KEEP_PTRACE)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ptrace), 0);
	/* No new namespaces through clone either; clone3's flags are out of reach of a
	 * filter, so it answers ENOSYS and glibc falls back to clone. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNS, CLONE_NEWNS));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNET, CLONE_NEWNET));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

/* ---- Landlock ---- */

/* Parts of the kernel ABI newer than the headers of Debian 12 (linux 6.1): stable values. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#define LL_NET_BIND_TCP (1ULL << 0)              /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)

/* landlock_ruleset_attr as of ABI 4; the size passed tells the kernel which fields we use. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG)
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_EXECUTE)

struct ruleset {
	int fd;
	uint64_t handled;
};

/* landlock_net_port_attr of ABI 4 (not in Debian 12's headers). */
struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
} __attribute__((packed));
#define LL_RULE_NET_PORT 2

/* resolver_port - the TCP port DNS answers too long for UDP come on: [delivery] resolver's. */
static uint16_t
resolver_port(const struct config *cfg)
{
	const char *r = cfg->resolver, *colon;

	if (r == NULL)
		return 53;
	if (r[0] == '[')
		colon = strstr(r, "]:") ? strstr(r, "]:") + 1 : NULL;
	else
		colon = strchr(r, ':') == strrchr(r, ':') ? strchr(r, ':') : NULL;
	if (colon == NULL)
		return 53;
	long port = strtol(colon + 1, NULL, 10);
	return port > 0 && port < 65536 ? (uint16_t)port : 53;
}

static void
allow_connect(struct ruleset *r, uint16_t port)
{
	struct ll_net_port_attr np = { LL_NET_CONNECT_TCP, port };
	if (syscall(SYS_landlock_add_rule, r->fd, LL_RULE_NET_PORT, &np, 0) < 0)
		ev_warn("sandbox-error", KS("what", "landlock-port"), KN("port", port),
		    KS("error", strerror(errno)));
}

static int
ll_create(const struct ll_ruleset_attr *attr)
{
	size_t size = attr->handled_access_net ? sizeof *attr : sizeof attr->handled_access_fs;
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, 0);
}

/* allow - access under path (a file gets only the file rights); a missing path is skipped. */
static void
allow(struct ruleset *r, const char *path, uint64_t access)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= FS_FILE_RIGHTS;
	struct landlock_path_beneath_attr pb = { .allowed_access = access & r->handled,
		.parent_fd = fd };
	if (pb.allowed_access != 0 &&
	    syscall(SYS_landlock_add_rule, r->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		ev_warn("sandbox-error", KS("what", "landlock-path"), KS("file", path),
		    KS("error", strerror(errno)));
	close(fd);
}

static void
allow_sub(struct ruleset *r, const char *dir, const char *sub, uint64_t access)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	allow(r, path, access);
}

static int state_dir = -1;

void
sandbox_state_dir(int dirfd)
{
	state_dir = dirfd;
}

/* allow_fd - access under the directory dirfd (a role may not reach it by its path). */
static void
allow_fd(struct ruleset *r, int dirfd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access & r->handled,
		.parent_fd = dirfd };
	if (dirfd >= 0 && syscall(SYS_landlock_add_rule, r->fd, LANDLOCK_RULE_PATH_BENEATH, &pb,
	    0) < 0)
		ev_warn("sandbox-error", KS("what", "landlock-path"), KS("file", "the state directory"),
		    KS("error", strerror(errno)));
}

/* url_port - the port of an https URL ("https://host[:port]/..."): 443 unless given. */
static uint16_t
url_port(const char *url)
{
	const char *host = url + strlen("https://");
	const char *end = host + strcspn(host, "/?#");
	const char *colon = NULL;

	for (const char *p = host; p < end; p++) {
		if (*p == ']')
			colon = NULL;
		else if (*p == ':')
			colon = p;
	}
	long port = colon ? strtol(colon + 1, NULL, 10) : 443;
	return port > 0 && port < 65536 ? (uint16_t)port : 443;
}

/* System files a role may read: time zones, the resolver's, CA certificates. */
static const char *const system_reads[] = {
	"/etc/localtime", "/usr/share/zoneinfo", "/etc/resolv.conf", "/etc/hosts",
	"/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf", "/etc/ssl/certs",
	"/usr/share/ca-certificates", "/usr/lib/ssl", "/etc/ssl/openssl.cnf",
	"/dev/urandom", "/dev/null",
	"/proc", /* the sanitizers read /proc/self/maps */
};

static int
landlock_install(enum sandbox_profile p, const struct config *cfg)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		ev_info("landlock-unavailable", KS("error", strerror(errno)));
		return 0;
	}
	struct ll_ruleset_attr attr = { 0 };
	attr.handled_access_fs = FS_READ | FS_WRITE | LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	/* Roles that never speak TCP themselves: no bind, no connect. */
	if (abi >= 4 && p != SANDBOX_QUEUED)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	struct ruleset r = { ll_create(&attr), attr.handled_access_fs };
	if (r.fd < 0) {
		ev_warn("sandbox-error", KS("what", "landlock-ruleset"), KS("error", strerror(errno)));
		return 0;
	}
	uint64_t rw = FS_READ | FS_WRITE | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE;
	for (size_t i = 0; i < sizeof system_reads / sizeof system_reads[0]; i++)
		allow(&r, system_reads[i], FS_READ);
	/* No rule for the config: a reload hands the roles its text (net/ctl.h). */
	switch (p) {
	case SANDBOX_SMTPD:
		allow_sub(&r, cfg->data_dir, "queue", rw);
		allow_sub(&r, cfg->data_dir, "mail", rw);
		/* The inbound checks ask DNS, which falls back to TCP for long answers. */
		if (abi >= 4 && (cfg->inbound_verify || cfg->ndnsbl > 0))
			allow_connect(&r, resolver_port(cfg));
		/* The milters' TCP ports, as at the start: a new one after a reload needs a
		 * restart (unix sockets are not walled off by Landlock). */
		for (size_t i = 0; abi >= 4 && i < cfg->milters.n; i++)
			if (milter_sock_port(&cfg->milters.v[i]) != 0)
				allow_connect(&r, milter_sock_port(&cfg->milters.v[i]));
		for (size_t i = 0; abi >= 4 && i < cfg->submission_milters.n; i++)
			if (milter_sock_port(&cfg->submission_milters.v[i]) != 0)
				allow_connect(&r, milter_sock_port(&cfg->submission_milters.v[i]));
		break;
	case SANDBOX_POP3D:
		allow_sub(&r, cfg->data_dir, "mail", rw);
		break;
	case SANDBOX_QUEUED:
		allow_sub(&r, cfg->data_dir, "queue", rw);
		allow_sub(&r, cfg->data_dir, "mail", rw);
		/* Files named at start only: a new path after a reload needs a restart. */
		if (cfg->relayhost_password_file)
			allow(&r, cfg->relayhost_password_file, FS_READ);
		if (cfg->tls_ca_file)
			allow(&r, cfg->tls_ca_file, FS_READ);
		/* libunbound reads the DNSSEC trust anchor when it finishes its setup:
		 * without a `resolver`, at the first lookup. */
		if (cfg->dane)
			allow(&r, cfg->dnssec_trust_anchor, FS_READ);
		break;
	case SANDBOX_LOOKUPD:
		allow(&r, cfg->data_dir, rw); /* accounts.db and its -wal and -shm */
		/* A shared store: the PostgreSQL servers of the connection string, and the
		 * files libpq reads for it (a password file, certificates). */
		if (config_accounts_dsn(cfg) != NULL) {
			uint16_t ports[16];
			static char files[8][DB_PATH_MAX];
			size_t n = abi >= 4 ? db_pg_ports(config_accounts_dsn(cfg), ports, 16) : 0;
			for (size_t i = 0; i < n; i++)
				allow_connect(&r, ports[i]);
			n = db_pg_files(config_accounts_dsn(cfg), files, 8);
			for (size_t i = 0; i < n; i++)
				allow(&r, files[i], FS_READ);
		}
		break;
	case SANDBOX_HTTPD:
		/* Its pages are built in memory; it asks lookupd and queued (the queue
		 * control channel) over sockets it holds. The admin page's `dns check`
		 * asks the resolver (web_dns_check.c), over TCP for long answers. */
		if (abi >= 4)
			allow_connect(&r, resolver_port(cfg));
		break;
	case SANDBOX_ACMED:
		/* Named at start: a new CA file or directory port after a reload needs a restart. */
		allow_fd(&r, state_dir, rw);
		if (cfg->acme_ca_file)
			allow(&r, cfg->acme_ca_file, FS_READ);
		if (abi >= 4) {
			allow_connect(&r, 53);
			allow_connect(&r, 443);
			if (cfg->acme_directory != NULL && url_port(cfg->acme_directory) != 443)
				allow_connect(&r, url_port(cfg->acme_directory));
		}
		break;
	}
	int rc = (int)syscall(SYS_landlock_restrict_self, r.fd, 0);
	close(r.fd);
	if (rc < 0)
		return -1;
	return abi;
}

void
sandbox_enter(enum sandbox_profile p, const struct config *cfg)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ev_err("sandbox-error", KS("what", "no_new_privs"), KS("error", strerror(errno)));
		exit(1);
	}
	int abi = landlock_install(p, cfg);
	if (abi < 0) {
		ev_err("sandbox-error", KS("what", "landlock"), KS("error", strerror(errno)));
		exit(1);
	}
	int rc = seccomp_install();
	if (rc < 0) {
		ev_err("sandbox-error", KS("what", "seccomp"), KS("error", strerror(-rc)));
		exit(1);
	}
	ev_info("sandbox", KS("walls", abi > 0 ? "no_new_privs,seccomp,landlock" :
	    "no_new_privs,seccomp"), KN("landlock_abi", abi));
}

/* ---- the walls tested from inside (test builds only) ---- */

#ifdef MAILROOM_WALL_PROBE

static void
probe_open(const char *what, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ev_warn("wall-probe", KS("check", what), KS("result", "allowed"));
		close(fd);
	} else {
		ev_info("wall-probe", KS("check", what), KS("result", "refused"),
		    KS("error", strerror(errno)));
	}
}

static void
probe_exec(void)
{
	char *const argv[] = { "/bin/sh", "-c", "exit 0", NULL };
	char *const envp[] = { NULL };
	int status = 0;

	/* In a child, so that a wall that fails costs the probe, not the role. */
	pid_t pid = fork();
	if (pid == 0) {
		execve("/bin/sh", argv, envp);
		_exit(errno == EPERM ? 100 : errno == EACCES ? 101 : 102);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		ev_warn("wall-probe", KS("check", "exec /bin/sh"), KS("result", "untried"),
		    KS("error", strerror(errno)));
		return;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code == 100 || code == 101)
		ev_info("wall-probe", KS("check", "exec /bin/sh"), KS("result", "refused"),
		    KS("error", code == 100 ? strerror(EPERM) : strerror(EACCES)));
	else
		ev_warn("wall-probe", KS("check", "exec /bin/sh"), KS("result", "allowed"),
		    KN("status", code));
}

static void
probe_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0) {
		ev_info("wall-probe", KS("check", "tcp connect"), KS("result", "refused"),
		    KS("error", strerror(errno)));
		return;
	}
	int r = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	if (r < 0 && (errno == EACCES || errno == EPERM))
		ev_info("wall-probe", KS("check", "tcp connect"), KS("result", "refused"),
		    KS("error", strerror(errno)));
	else
		ev_warn("wall-probe", KS("check", "tcp connect"), KS("result", "allowed"),
		    KS("error", r < 0 ? strerror(errno) : NULL));
	close(fd);
}

#endif

void
sandbox_probe(const char *role, const struct config *cfg)
{
#ifdef MAILROOM_WALL_PROBE
	char path[4200];

	if (getenv("MAILROOM_WALL_PROBE") == NULL)
		return;
	ev_info("wall-probe-start", KN("uid", getuid()), KN("gid", getgid()));
	if (strcmp(role, "lookupd") != 0) {
		snprintf(path, sizeof path, "%s/accounts.db", cfg->data_dir);
		probe_open("open accounts.db", path);
	}
	if (cfg->tls_key != NULL)
		probe_open("open key.pem", cfg->tls_key);
	probe_open("open /etc/shadow", "/etc/shadow");
	probe_exec();
	if (strcmp(role, "queued") != 0)
		probe_connect();
	sandbox_probe_dkim(role, cfg);
	sandbox_probe_web(role, cfg);
#else
	(void)role;
	(void)cfg;
#endif
}
