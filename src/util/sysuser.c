/* sysuser.c - finding or making the system users the services run as. */
#include "util/sysuser.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* run - argv[0] (an absolute path) with its output discarded; its wait status, or -1. */
static int
run(const char *const argv[])
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* serve blocks its stop signals while it starts; the tool must not inherit that */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return status;
}

int
sysuser_ensure(const char *name, const char *group, uid_t *uid, gid_t *gid, bool *created,
    char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(name);

	*created = false;
	if (pw == NULL) {
		const char *argv[] = { "/usr/sbin/useradd", "--system", "--home-dir", "/nonexistent",
			"--no-create-home", "--shell", "/usr/sbin/nologin",
			group ? "--gid" : "--user-group", group ? group : name, group ? name : NULL,
			NULL };
		int status = run(argv);
		if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (status >= 0 && WIFEXITED(status))
				snprintf(err, errlen, "cannot create system user %s: useradd exited with %d",
				    name, WEXITSTATUS(status));
			else
				snprintf(err, errlen, "cannot create system user %s: cannot run useradd",
				    name);
			return -1;
		}
		*created = true;
		if ((pw = getpwnam(name)) == NULL) {
			snprintf(err, errlen, "system user %s still missing after useradd", name);
			return -1;
		}
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: refusing to run services as root", name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}
