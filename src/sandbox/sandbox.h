/*
 * sandbox.h - the walls each role puts up around itself once it holds what it
 * needs: no_new_privs, a seccomp filter (libseccomp) that refuses exec, ptrace,
 * mounts, module loading, namespaces and uid changes, and Landlock (where the
 * kernel has it) limiting the files the role may touch to its own directories
 * and, for roles that never use TCP, refusing TCP bind and connect.
 */
#ifndef MAILROOM_SANDBOX_H
#define MAILROOM_SANDBOX_H

#include "config.h"

enum sandbox_profile {
	SANDBOX_SMTPD,   /* queue/ and mail/ */
	SANDBOX_POP3D,   /* mail/ */
	SANDBOX_QUEUED,  /* queue/ and mail/, TCP out, DNS, CA certificates */
	SANDBOX_LOOKUPD, /* the account store in data_dir */
	SANDBOX_HTTPD,   /* no files but the config */
	SANDBOX_ACMED,   /* data_dir/acme (sandbox_state_dir), [acme] ca_file, TCP out to the CA */
};

/* sandbox_state_dir - the directory (a descriptor) SANDBOX_ACMED may read and write. */
void sandbox_state_dir(int dirfd);

/*
 * sandbox_enter - put up the walls for profile; the process cannot take them
 * down again. A kernel without Landlock is logged and skipped; a failure to set
 * no_new_privs or seccomp ends the process (exit 1) rather than run unwalled.
 */
void sandbox_enter(enum sandbox_profile profile, const struct config *cfg);

/*
 * sandbox_probe - with MAILROOM_WALL_PROBE set in the environment of a test
 * build, try what the walls must stop (read the account store and the TLS key,
 * exec /bin/sh, connect over TCP) and log each result as
 * "wall probe: <what>: refused|ALLOWED (...)". Does nothing otherwise.
 */
void sandbox_probe(const char *role, const struct config *cfg);

/*
 * sandbox_probe_dkim - in the same test builds: LK_DKIM_KEYS and LK_DKIM_SIGN
 * asked of lookupd, which must refuse every role but queued ("wall probe: dkim
 * ...: refused|ALLOWED"); queued logs the signature of a fixed text per signing
 * key ("wall probe: dkim for the mail user: d= s= a= b="). Called by sandbox_probe.
 */
void sandbox_probe_dkim(const char *role, const struct config *cfg);

/*
 * sandbox_probe_web - the same for the web's requests (LK_WEB_WHO, LK_WEB_OP): every
 * role but httpd refused ("wall probe: web who|web op: refused"). Called by sandbox_probe.
 */
void sandbox_probe_web(const char *role, const struct config *cfg);

#endif
