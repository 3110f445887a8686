/*
 * cli_init.c - `mailroom init DIR [--domain D] [--hostname H] [--data-dir PATH]`:
 * a working instance in DIR: key and self-signed certificate, data dir (DIR/data,
 * or PATH, as the Debian package's /var/lib/mailroom) with an empty accounts
 * database, the system user when run as root, and a complete commented config,
 * written last so that a failed init leaves nothing that blocks a second try.
 */
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "util/mkdir_p.h"
#include "util/sysuser.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/selfsigned.h"

#define INIT_USAGE "init DIR [--domain DOMAIN] [--hostname HOSTNAME] [--data-dir PATH]"

/* Keep every "key = value" line well inside what the config reader takes. */
#define DIR_MAX 150

struct init {
	const char *dir_arg, *domain, *hostname_arg, *data_arg;
	char dir[PATH_MAX];
	char conf[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], data[PATH_MAX], db[PATH_MAX];
	struct config def; /* the defaults: user, limits, system hostname */
	const char *hostname;
	char hostbuf[256], domainbuf[256];
	/* what to remove when a later step fails */
	bool made_key, made_cert, made_data, made_db;
};

static int
parse_args(struct init *in, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		const char *val = NULL;
		if (strcmp(a, "--domain") == 0 || strcmp(a, "--hostname") == 0 ||
		    strcmp(a, "--data-dir") == 0) {
			slot = a[2] == 'h' ? &in->hostname_arg :
			    strcmp(a, "--domain") == 0 ? &in->domain : &in->data_arg;
			if (++i == argc)
				return -1;
			val = argv[i];
		} else if (strncmp(a, "--data-dir=", 11) == 0) {
			slot = &in->data_arg;
			val = a + 11;
		} else if (strncmp(a, "--domain=", 9) == 0) {
			slot = &in->domain;
			val = a + 9;
		} else if (strncmp(a, "--hostname=", 11) == 0) {
			slot = &in->hostname_arg;
			val = a + 11;
		} else if (a[0] == '-' || in->dir_arg != NULL) {
			return -1;
		} else {
			in->dir_arg = a;
			continue;
		}
		if (*slot != NULL)
			return -1;
		*slot = val;
	}
	return in->dir_arg != NULL && in->dir_arg[0] != '\0' ? 0 : -1;
}

static int
path_join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/*
 * refuse_existing - fail when any file init would write is there already (the
 * account store in data, or in DIR/data when data is NULL), before anything is made.
 */
static int
refuse_existing(const char *dir, const char *data)
{
	const char *const names[] = { "mailroom.conf", "cert.pem", "key.pem",
		data != NULL ? "accounts.db" : "data/accounts.db" };
	char p[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *in = i == 3 && data != NULL ? data : dir;
		if (path_join(p, in, names[i]) < 0)
			return cli_fail("%s: path too long", in);
		if (lstat(p, &st) == 0)
			return cli_fail("%s exists: not overwriting", p);
	}
	return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* chown_tree - hand dir and everything under it to uid:gid (no symlinks followed). */
static int
chown_tree(const char *dir, uid_t uid, gid_t gid)
{
	chown_uid = uid;
	chown_gid = gid;
	return nftw(dir, chown_one, 16, FTW_PHYS);
}

/* kv - "key = value", with the comment in a column after a blank, as inih wants it. */
static void
kv(FILE *f, const char *key, const char *value, const char *comment)
{
	char left[PATH_MAX + 64];

	snprintf(left, sizeof left, "%s = %s", key, value);
	if (comment == NULL) {
		fprintf(f, "%s\n", left);
		return;
	}
	fprintf(f, "%-36s ; %s\n", left, comment);
}

/* more - a further comment line under the previous key. */
static void
more(FILE *f, const char *comment)
{
	fprintf(f, "%-36s ; %s\n", "", comment);
}

/* dflt - the default of a key, from the one table in config.c. */
static const char *
dflt(const char *section, const char *key)
{
	const char *v = config_default(section, key);
	return v != NULL ? v : "";
}

static void
write_config(FILE *f, const struct init *in)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d", &tm);
	fprintf(f, "; mailroom.conf - written by `mailroom init` on %s.\n", when);
	fprintf(f, "; Every key is shown with its value; defaults are in brackets. After a change,\n"
	    "; `mailroom config check` validates the file and SIGHUP makes `serve` reload it.\n");

	fprintf(f, "\n[server]\n");
	kv(f, "hostname", in->hostname, "greeting, Received:, Message-ID, bounces [system hostname]");
	kv(f, "data_dir", in->data, "accounts, queue, mailboxes");
	kv(f, "user", in->def.user, "started as root: drop to this user after binding [mailroom]");
	more(f, "(it must exist; started as another user, this key is ignored)");
	kv(f, "log", dflt("server", "log"), "stderr, syslog or journal [stderr]");

	fprintf(f, "\n[tls]\n");
	kv(f, "cert", in->cert, "PEM, chain after leaf (here a self-signed one)");
	kv(f, "key", in->key, NULL);
	kv(f, "min_protocol", dflt("tls", "min_protocol"), "or TLSv1.3; older ones are never spoken [TLSv1.2]");
	kv(f, "ciphers", dflt("tls", "ciphers"), NULL);
	more(f, "OpenSSL's syntax, for TLS 1.2 (TLS 1.3 keeps OpenSSL's");
	more(f, "suites) [Mozilla intermediate: AEAD only]");
	kv(f, "sni", dflt("tls", "sni"), "name:cert:key, ... for other hostnames, chosen by the");
	more(f, "name a client asks for; may be repeated [none]");
	kv(f, "mta_sts_mode", dflt("tls", "mta_sts_mode"),
	    "MTA-STS policy at https://mta-sts.<domain>/: testing,");
	more(f, "enforce or none [testing]");
	kv(f, "mta_sts_max_age", dflt("tls", "mta_sts_max_age"), "how long senders keep the policy [7d]");
	fprintf(f, "; Or certificates from an ACME CA (Let's Encrypt) instead, renewed by serve;\n"
	    "; they need [listen] http on port 80 (see mailroom.conf(5), [acme]):\n"
	    "; [acme]\n"
	    "; directory = https://acme-v02.api.letsencrypt.org/directory\n"
	    "; email = postmaster@%s\n"
	    "; names = %s\n", in->domain ? in->domain : in->hostname, in->hostname);

	fprintf(f, "\n%-36s ; %s\n", "[listen]", "a key left out or empty: that service is off");
	kv(f, "smtp", "0.0.0.0:25, [::]:25", "MX: mail for local domains from anyone");
	kv(f, "submission", "0.0.0.0:587, [::]:587", "clients: STARTTLS, AUTH required before MAIL");
	kv(f, "submissions", "0.0.0.0:465, [::]:465", "clients: implicit TLS, AUTH required");
	kv(f, "pop3", "0.0.0.0:110, [::]:110", "STLS");
	kv(f, "pop3s", "0.0.0.0:995, [::]:995", "implicit TLS");
	kv(f, "metrics", dflt("listen", "metrics"),
	    "e.g. 127.0.0.1:9125: Prometheus text at /metrics,");
	more(f, "plain HTTP without login: keep it off the Internet [off]");

	fprintf(f, "\n[relay]\n");
	kv(f, "trusted_networks", dflt("relay", "trusted_networks"),
	    "may relay through the smtp listener without AUTH,");
	more(f, "and may log in without TLS; empty: none trusted");
	kv(f, "relayhost", dflt("relay", "relayhost"),
	    "host:port of a smarthost for all remote mail [none]");
	kv(f, "relayhost_password_file", dflt("relay", "relayhost_password_file"),
	    "\"user password\" on one line, for AUTH at the relayhost [none]");

	fprintf(f, "\n[delivery]\n");
	kv(f, "resolver", dflt("delivery", "resolver"),
	    "or ip[:port] of the DNS server to ask for MX/A/AAAA;");
	more(f, "when set, every name is asked of it, special-use");
	more(f, "names such as .test included");
	kv(f, "remote_port", dflt("delivery", "remote_port"),
	    "port of remote MX hosts (tests point it elsewhere)");
	kv(f, "retry_min", dflt("delivery", "retry_min"),
	    "first retry after a temporary failure, then backing off");
	kv(f, "retry_max", dflt("delivery", "retry_max"), NULL);
	kv(f, "max_queue_lifetime", dflt("delivery", "max_queue_lifetime"), "then bounce");
	kv(f, "concurrency", dflt("delivery", "concurrency"), "outbound connections at once");
	kv(f, "mx_address_limit", dflt("delivery", "mx_address_limit"),
	    "server addresses tried per delivery; 0: no limit");
	kv(f, "relayhost_tls", dflt("delivery", "relayhost_tls"),
	    "the relayhost's certificate must chain to a trusted CA");
	more(f, "and name it (else deferred); may: opportunistic");
	kv(f, "tls_ca_file", dflt("delivery", "tls_ca_file"),
	    "PEM of the CAs to trust instead of the system's [none]");
	more(f, "(relayhost_tls = verify, MTA-STS)");
	kv(f, "dane", dflt("delivery", "dane"),
	    "yes: DANE (RFC 7672), TLSA records of DNSSEC-secure");
	more(f, "MX hosts enforced; needs a resolver passing DNSSEC on");
	kv(f, "dnssec_trust_anchor", dflt("delivery", "dnssec_trust_anchor"),
	    "DNSSEC validation starts from these keys");
	kv(f, "mta_sts", dflt("delivery", "mta_sts"),
	    "yes: MTA-STS (RFC 8461), recipient domains' policies");
	more(f, "honoured: enforce means verified TLS to a listed MX only");
	kv(f, "tls_reports", dflt("delivery", "tls_reports"),
	    "yes: daily TLS reports (RFC 8460) to the domains that ask");

	fprintf(f, "\n[limits]\n");
	kv(f, "max_message_size", dflt("limits", "max_message_size"), "sizes take K, M, G");
	kv(f, "max_recipients", dflt("limits", "max_recipients"), "per message");
	kv(f, "max_connections", dflt("limits", "max_connections"),
	    "clients at once, on each listener");
	kv(f, "max_connections_per_ip", dflt("limits", "max_connections_per_ip"),
	    "from one client network, on each listener");
	kv(f, "connection_prefix_v4", dflt("limits", "connection_prefix_v4"),
	    "a client network: an IPv4 /32 ...");
	kv(f, "connection_prefix_v6", dflt("limits", "connection_prefix_v6"),
	    "... and an IPv6 /64");
	kv(f, "command_timeout", dflt("limits", "command_timeout"),
	    "a whole command line; durations take s, m, h, d");
	kv(f, "min_data_rate", dflt("limits", "min_data_rate"),
	    "octets/s that DATA and BDAT text must keep up");
	kv(f, "max_auth_failures", dflt("limits", "max_auth_failures"),
	    "per connection, then 421 and close");
	kv(f, "login_failures_per_client", dflt("limits", "login_failures_per_client"),
	    "failed logins from one address (IPv6: /64), any service, then blocked");
	kv(f, "login_failures_per_account", dflt("limits", "login_failures_per_account"),
	    "failed logins for one account, then blocked");
	kv(f, "login_block_time", dflt("limits", "login_block_time"),
	    "the window of those counts, and how long a block lasts");
	kv(f, "login_queue", dflt("limits", "login_queue"),
	    "logins waiting for a password check; more: 454, try later");
	kv(f, "max_hops", dflt("limits", "max_hops"),
	    "Received headers; more: 554 5.4.6 (mail loop)");
	kv(f, "vacation_interval", dflt("limits", "vacation_interval"),
	    "one vacation reply (`user vacation`) per sender in this time");

	fprintf(f, "\n[dkim]\n");
	kv(f, "sign", dflt("dkim", "sign"), "sign outbound mail of the hosted domains");
	kv(f, "algorithms", dflt("dkim", "algorithms"),
	    "a signing key of each per domain (rsa: 2048 bits)");
	kv(f, "rotate_after", dflt("dkim", "rotate_after"),
	    "`dkim rotate`: new keys only published until then");
}

/* write_new - path created (must not exist), written by fn, synced. */
static int
write_new(const char *path, mode_t mode, const struct init *in)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return cli_fail("%s: %s", path, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return cli_fail("%s: %s", path, strerror(errno));
	}
	write_config(f, in);
	bool ok = fflush(f) == 0 && !ferror(f) && fsync(fd) == 0;
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(path);
		return cli_fail("%s: %s", path, strerror(saved));
	}
	return 0;
}

static void
cleanup(const struct init *in)
{
	if (in->made_db) {
		char p[PATH_MAX + 8];
		unlink(in->db);
		snprintf(p, sizeof p, "%s-wal", in->db);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", in->db);
		unlink(p);
	}
	if (in->made_data)
		rmdir(in->data);
	if (in->made_cert)
		unlink(in->cert);
	if (in->made_key)
		unlink(in->key);
}

/* make_accounts - the database with its schema, and the first domain (with its DKIM keys) when given. */
static int
make_accounts(struct init *in)
{
	char err[1024];
	struct accounts *a = accounts_open(in->data, true, err, sizeof err);

	if (a == NULL)
		return cli_fail("%s", err);
	in->made_db = true;
	int r = 0;
	if (in->domain != NULL && accounts_domain_add(a, in->domain, err, sizeof err) < 0)
		r = cli_fail("%s", err);
	/* The config written has the default [dkim] algorithms: a key of each, signing now. */
	else if (in->domain != NULL && accounts_dkim_make(a, in->domain,
	    1u << DKIM_ED25519 | 1u << DKIM_RSA, time(NULL), err, sizeof err) < 0)
		r = cli_fail("%s", err);
	accounts_close(a);
	return r;
}

static int
steps(struct init *in)
{
	char err[1024];
	struct stat st;

	if (selfsigned_create(in->cert, in->key, in->hostname, err, sizeof err) < 0)
		return cli_fail("%s", err);
	in->made_key = in->made_cert = true;

	if (stat(in->data, &st) < 0) {
		/* Only the leaf is removed again on failure: parents of --data-dir stay. */
		if (mkdir_p(in->data, 0750) < 0)
			return cli_fail("%s: %s", in->data, strerror(errno));
		in->made_data = true;
	} else if (!S_ISDIR(st.st_mode)) {
		return cli_fail("%s: %s", in->data, strerror(ENOTDIR));
	}
	if (make_accounts(in) != 0)
		return 1;

	bool user_created = false;
	if (geteuid() == 0) {
		uid_t uid = 0;
		gid_t gid = 0;
		if (sysuser_ensure(in->def.user, NULL, &uid, &gid, &user_created, err,
		    sizeof err) != 0)
			return cli_fail("%s", err);
		/*
		 * The data dir goes to the mail user (serve hands the account store on to
		 * lookupd's user). The key stays root's: serve reads it before it forks.
		 */
		if (chown_tree(in->data, uid, gid) < 0)
			return cli_fail("cannot give %s to %s: %s", in->data, in->def.user,
			    strerror(errno));
	}
	if (write_new(in->conf, 0644, in) != 0)
		return 1;

	printf("created %s (EC P-256, mode 0600)\n", in->key);
	printf("created %s (self-signed for %s, 127.0.0.1 and ::1, valid 10 years)\n",
	    in->cert, in->hostname);
	printf("created %s\n", in->db);
	if (in->domain != NULL)
		printf("created domain %s\n", in->domain);
	if (user_created)
		printf("created system user %s\n", in->def.user);
	if (geteuid() == 0)
		printf("gave %s to %s\n", in->data, in->def.user);
	printf("created %s\n", in->conf);
	printf("next: mailroom -c %s user add postmaster@%s < password-file\n", in->conf,
	    in->domain ? in->domain : "DOMAIN");
	return 0;
}

/* lower - s lower-cased into buf (domain names are stored that way). */
static const char *
lower(char *buf, size_t buflen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < buflen; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

int
cli_init(int argc, char **argv)
{
	struct init in = { 0 };

	if (parse_args(&in, argc, argv) < 0)
		return cli_usage_error(INIT_USAGE);
	if (in.domain != NULL && !domain_valid(in.domain))
		return cli_fail("malformed domain: %s", in.domain);
	if (in.hostname_arg != NULL && !domain_valid(in.hostname_arg))
		return cli_fail("malformed hostname: %s", in.hostname_arg);
	/* Written into the config as given: serve and the roles chdir. */
	if (in.data_arg != NULL && in.data_arg[0] != '/')
		return cli_fail("--data-dir %s: not an absolute path", in.data_arg);
	if (in.data_arg != NULL && strlen(in.data_arg) > DIR_MAX)
		return cli_fail("%s: path longer than %d octets", in.data_arg, DIR_MAX);
	if (refuse_existing(in.dir_arg, in.data_arg) != 0)
		return 1;
	if (mkdir_p(in.dir_arg, 0755) < 0)
		return cli_fail("%s: %s", in.dir_arg, strerror(errno));
	/* The config names absolute paths: services chdir and change user. */
	if (realpath(in.dir_arg, in.dir) == NULL)
		return cli_fail("%s: %s", in.dir_arg, strerror(errno));
	if (strlen(in.dir) > DIR_MAX)
		return cli_fail("%s: path longer than %d octets", in.dir, DIR_MAX);
	if (path_join(in.conf, in.dir, "mailroom.conf") < 0 ||
	    path_join(in.cert, in.dir, "cert.pem") < 0 ||
	    path_join(in.key, in.dir, "key.pem") < 0 ||
	    (in.data_arg != NULL ? snprintf(in.data, sizeof in.data, "%s", in.data_arg) < 0 :
	    path_join(in.data, in.dir, "data") < 0) ||
	    path_join(in.db, in.data, "accounts.db") < 0)
		return cli_fail("%s: path too long", in.dir);

	config_defaults(&in.def);
	in.hostname = in.def.hostname;
	if (in.hostname_arg != NULL)
		in.hostname = lower(in.hostbuf, sizeof in.hostbuf, in.hostname_arg);
	if (in.domain != NULL)
		in.domain = lower(in.domainbuf, sizeof in.domainbuf, in.domain);
	int rc = steps(&in);
	if (rc != 0)
		cleanup(&in);
	config_free(&in.def);
	return rc;
}
