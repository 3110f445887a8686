/*
 * config.c - the typed configuration of INTERFACE.md: one table of keys (section,
 * name, default, setter, limits) that both config_defaults() and the parser use,
 * INI syntax read by inih, errors reported as "FILE:LINE: reason".
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/tls1.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "dkim/dkim_key.h"
#include "milter/milter_addr.h"
#include "util/units.h"

#define MINUTE ((uint64_t)60)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define KIB ((uint64_t)1024)
#define GIB (1024 * 1024 * KIB)

/* Larger than any line of a sane config; the reader reports longer lines. */
#define CONFIG_MAX_FILE (1024 * 1024)

struct option;

/*
 * A setter parses value into the field of cfg that o names. Returns 0, or -1 with
 * an optional hint (without the "bad value" part) in why.
 */
typedef int (*setter_fn)(struct config *cfg, const struct option *o, const char *value,
    char *why, size_t whylen);

struct option {
	const char *section;
	const char *key;
	const char *def; /* NULL: computed (the system hostname) */
	setter_fn set;
	size_t offset;   /* of the field in struct config */
	uint64_t min, max; /* for numbers */
};

static int set_hostname(struct config *, const struct option *, const char *, char *, size_t);
static int set_abspath(struct config *, const struct option *, const char *, char *, size_t);
static int set_optpath(struct config *, const struct option *, const char *, char *, size_t);
static int set_username(struct config *, const struct option *, const char *, char *, size_t);
static int set_log(struct config *, const struct option *, const char *, char *, size_t);
static int set_listen(struct config *, const struct option *, const char *, char *, size_t);
static int set_netmasks(struct config *, const struct option *, const char *, char *, size_t);
static int set_relayhost(struct config *, const struct option *, const char *, char *, size_t);
static int set_resolver(struct config *, const struct option *, const char *, char *, size_t);
static int set_relay_tls(struct config *, const struct option *, const char *, char *, size_t);
static int set_port(struct config *, const struct option *, const char *, char *, size_t);
static int set_size(struct config *, const struct option *, const char *, char *, size_t);
static int set_duration(struct config *, const struct option *, const char *, char *, size_t);
static int set_unsigned(struct config *, const struct option *, const char *, char *, size_t);
static int set_yesno(struct config *, const struct option *, const char *, char *, size_t);
static int set_backend(struct config *, const struct option *, const char *, char *, size_t);
static int set_dsn(struct config *, const struct option *, const char *, char *, size_t);
static int set_dkim_algs(struct config *, const struct option *, const char *, char *, size_t);
static int set_dnsbl(struct config *, const struct option *, const char *, char *, size_t);
static int set_tls_version(struct config *, const struct option *, const char *, char *, size_t);
static int set_string(struct config *, const struct option *, const char *, char *, size_t);
static int set_sni(struct config *, const struct option *, const char *, char *, size_t);
static int set_mta_sts_mode(struct config *, const struct option *, const char *, char *, size_t);
static int set_milters(struct config *, const struct option *, const char *, char *, size_t);
static int set_milter_action(struct config *, const struct option *, const char *, char *,
    size_t);
static int set_url(struct config *, const struct option *, const char *, char *, size_t);
static int set_email(struct config *, const struct option *, const char *, char *, size_t);
static int set_names(struct config *, const struct option *, const char *, char *, size_t);
static int set_challenge(struct config *, const struct option *, const char *, char *, size_t);

#define OFF(field) offsetof(struct config, field)

/* Every key and its default: the one place to change a default or a limit. */
static const struct option options[] = {
	{ "server", "hostname", NULL, set_hostname, OFF(hostname), 0, 0 },
	{ "server", "data_dir", "/var/lib/mailroom", set_abspath, OFF(data_dir), 0, 0 },
	{ "server", "user", "mailroom", set_username, OFF(user), 0, 0 },
	{ "server", "log", "stderr", set_log, OFF(log_dest), 0, 0 },

	{ "tls", "cert", "", set_optpath, OFF(tls_cert), 0, 0 },
	{ "tls", "key", "", set_optpath, OFF(tls_key), 0, 0 },
	{ "tls", "min_protocol", "TLSv1.2", set_tls_version, OFF(tls_min_version), 0, 0 },
	/* Mozilla's "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. */
	{ "tls", "ciphers", "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!DSS",
	    set_string, OFF(tls_ciphers), 0, 0 },
	{ "tls", "sni", "", set_sni, OFF(tls_sni), 0, 0 },
	{ "tls", "mta_sts_mode", "testing", set_mta_sts_mode, OFF(mta_sts_mode), 0, 0 },
	/* RFC 8461 3.2: at most a year; a week suits a settled policy. */
	{ "tls", "mta_sts_max_age", "7d", set_duration, OFF(mta_sts_max_age), 1, 31557600 },

	{ "listen", "smtp", "", set_listen, OFF(listen[SVC_SMTP]), 0, 0 },
	{ "listen", "submission", "", set_listen, OFF(listen[SVC_SUBMISSION]), 0, 0 },
	{ "listen", "submissions", "", set_listen, OFF(listen[SVC_SUBMISSIONS]), 0, 0 },
	{ "listen", "pop3", "", set_listen, OFF(listen[SVC_POP3]), 0, 0 },
	{ "listen", "pop3s", "", set_listen, OFF(listen[SVC_POP3S]), 0, 0 },
	{ "listen", "https", "", set_listen, OFF(listen[SVC_HTTPS]), 0, 0 },
	{ "listen", "http", "", set_listen, OFF(listen[SVC_HTTP]), 0, 0 },
	{ "listen", "metrics", "", set_listen, OFF(listen[SVC_METRICS]), 0, 0 },

	{ "acme", "directory", "", set_url, OFF(acme_directory), 0, 0 },
	{ "acme", "email", "", set_email, OFF(acme_email), 0, 0 },
	{ "acme", "names", "", set_names, OFF(acme_names), 0, 0 },
	{ "acme", "challenge", "http-01", set_challenge, OFF(acme_challenge), 0, 0 },
	{ "acme", "ca_file", "", set_optpath, OFF(acme_ca_file), 0, 0 },
	{ "acme", "renew_before", "30d", set_duration, OFF(acme_renew_before), HOUR, 365 * DAY },

	{ "relay", "trusted_networks", "127.0.0.0/8, ::1/128", set_netmasks, OFF(trusted), 0, 0 },
	{ "relay", "relayhost", "", set_relayhost, OFF(relayhost), 0, 0 },
	{ "relay", "relayhost_password_file", "", set_optpath, OFF(relayhost_password_file),
	    0, 0 },

	{ "delivery", "resolver", "system", set_resolver, OFF(resolver), 0, 0 },
	{ "delivery", "remote_port", "25", set_port, OFF(remote_port), 1, 65535 },
	{ "delivery", "retry_min", "5m", set_duration, OFF(retry_min), 1, 30 * DAY },
	{ "delivery", "retry_max", "1h", set_duration, OFF(retry_max), 1, 30 * DAY },
	{ "delivery", "max_queue_lifetime", "5d", set_duration, OFF(max_queue_lifetime),
	    1, 365 * DAY },
	{ "delivery", "concurrency", "20", set_unsigned, OFF(concurrency), 1, 10000 },
	{ "delivery", "active_limit", "5000", set_unsigned, OFF(active_limit), 1, 1000000 },
	{ "delivery", "connection_cache", "yes", set_yesno, OFF(connection_cache), 0, 0 },
	{ "delivery", "mx_address_limit", "5", set_unsigned, OFF(mx_address_limit), 0, 1000 },
	{ "delivery", "relayhost_tls", "verify", set_relay_tls, OFF(relayhost_tls), 0, 0 },
	{ "delivery", "tls_ca_file", "", set_optpath, OFF(tls_ca_file), 0, 0 },
	{ "delivery", "dane", "no", set_yesno, OFF(dane), 0, 0 },
	{ "delivery", "dnssec_trust_anchor", "/usr/share/dns/root.key", set_abspath,
	    OFF(dnssec_trust_anchor), 0, 0 },
	{ "delivery", "mta_sts", "yes", set_yesno, OFF(mta_sts), 0, 0 },
	{ "delivery", "tls_reports", "no", set_yesno, OFF(tls_reports), 0, 0 },

	{ "limits", "max_message_size", "25M", set_size, OFF(max_message_size),
	    KIB, 16 * GIB },
	{ "limits", "max_recipients", "100", set_unsigned, OFF(max_recipients), 1, 100000 },
	{ "limits", "max_connections", "1000", set_unsigned, OFF(max_connections),
	    1, 1000000 },
	{ "limits", "max_connections_per_ip", "20", set_unsigned,
	    OFF(max_connections_per_ip), 1, 1000000 },
	{ "limits", "connection_prefix_v4", "32", set_unsigned, OFF(connection_prefix_v4), 0, 32 },
	{ "limits", "connection_prefix_v6", "64", set_unsigned, OFF(connection_prefix_v6), 0, 128 },
	{ "limits", "command_timeout", "5m", set_duration, OFF(command_timeout), 1, DAY },
	{ "limits", "min_data_rate", "500", set_unsigned, OFF(min_data_rate), 1, 1000000000 },
	{ "limits", "max_auth_failures", "3", set_unsigned, OFF(max_auth_failures), 1, 1000 },
	{ "limits", "soft_error_limit", "10", set_unsigned, OFF(soft_error_limit), 0, 19 },
	{ "limits", "connection_rate_limit", "0", set_unsigned, OFF(connection_rate_limit), 0, 1000000 },
	{ "limits", "message_rate_limit", "0", set_unsigned, OFF(message_rate_limit), 0, 1000000 },
	/* across connections and services, counted by lookupd (extensions) */
	{ "limits", "login_failures_per_client", "10", set_unsigned,
	    OFF(login_failures_per_client), 1, 1000000 },
	{ "limits", "login_failures_per_account", "10", set_unsigned,
	    OFF(login_failures_per_account), 1, 1000000 },
	{ "limits", "login_block_time", "15m", set_duration, OFF(login_block_time), 1, 30 * DAY },
	{ "limits", "login_queue", "64", set_unsigned, OFF(login_queue), 1, 100000 },
	{ "limits", "max_hops", "50", set_unsigned, OFF(max_hops), 1, 1000 },
	/* outbound mail of each logged-in user, counted by lookupd; over: held (0: none) */
	{ "limits", "sends_per_day", "1000", set_unsigned, OFF(sends_per_day), 0, 100000000 },
	{ "limits", "sends_per_hour", "0", set_unsigned, OFF(sends_per_hour), 0, 100000000 },
	{ "limits", "first_time_recipients_per_day", "200", set_unsigned,
	    OFF(first_time_recipients_per_day), 0, 100000000 },
	/* RFC 5230 asks for at least a day; shorter is for tests. */
	{ "limits", "vacation_interval", "7d", set_duration, OFF(vacation_interval), 1, 365 * DAY },

	{ "accounts", "backend", "sqlite", set_backend, OFF(accounts_backend), 0, 0 },
	{ "accounts", "dsn", "", set_dsn, OFF(accounts_dsn), 0, 0 },

	{ "dkim", "sign", "yes", set_yesno, OFF(dkim_sign), 0, 0 },
	{ "dkim", "algorithms", "ed25519, rsa", set_dkim_algs, OFF(dkim_algs), 0, 0 },
	{ "dkim", "rotate_after", "3d", set_duration, OFF(dkim_rotate_after), 1, 365 * DAY },
	{ "inbound", "verify", "yes", set_yesno, OFF(inbound_verify), 0, 0 },
	{ "inbound", "dmarc_reject", "yes", set_yesno, OFF(inbound_dmarc_reject), 0, 0 },
	{ "inbound", "spf_reject", "no", set_yesno, OFF(inbound_spf_reject), 0, 0 },
	{ "inbound", "pregreet_wait", "0s", set_duration, OFF(pregreet_wait), 0, 60 },
	{ "inbound", "dnsbl", "", set_dnsbl, OFF(dnsbl), 0, 0 },
	{ "inbound", "dnsbl_threshold", "1", set_unsigned, OFF(dnsbl_threshold), 1, 1000 },
	{ "inbound", "dmarc_reports", "yes", set_yesno, OFF(inbound_dmarc_reports), 0, 0 },
	{ "inbound", "greylist", "no", set_yesno, OFF(greylist), 0, 0 },
	{ "inbound", "greylist_delay", "5m", set_duration, OFF(greylist_delay), 1, 86400 },
	{ "inbound", "milters", "", set_milters, OFF(milters), 0, 0 },
	{ "inbound", "milter_default_action", "tempfail", set_milter_action,
	    OFF(milter_default_accept), 0, 0 },
	/* Postfix's names and defaults (extensions) */
	{ "inbound", "milter_connect_timeout", "30s", set_duration, OFF(milter_connect_timeout),
	    1, HOUR },
	{ "inbound", "milter_command_timeout", "30s", set_duration, OFF(milter_command_timeout),
	    1, HOUR },
	{ "inbound", "milter_content_timeout", "300s", set_duration, OFF(milter_content_timeout),
	    1, HOUR },
	{ "inbound", "submission_milters", "", set_milters, OFF(submission_milters), 0, 0 },
};

#define NOPTIONS (sizeof options / sizeof options[0])

static const char *const service_names[SVC_COUNT] = {
	[SVC_SMTP] = "smtp",
	[SVC_SUBMISSION] = "submission",
	[SVC_SUBMISSIONS] = "submissions",
	[SVC_POP3] = "pop3",
	[SVC_POP3S] = "pop3s",
	[SVC_HTTPS] = "https",
	[SVC_HTTP] = "http",
	[SVC_METRICS] = "metrics",
};

const char *
service_name(enum service svc)
{
	if ((unsigned)svc >= SVC_COUNT)
		return "?";
	return service_names[svc];
}

uint16_t
config_service_port(const struct config *cfg, enum service svc)
{
	const struct listen_list *l = &cfg->listen[svc];

	if (l->n == 0)
		return 0;
	const struct sockaddr_storage *ss = &l->v[0].ss;
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void *
field(struct config *cfg, const struct option *o)
{
	return (char *)cfg + o->offset;
}

/* replace_string - store a copy of s (NULL for none) in *slot. */
static int
replace_string(char **slot, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* fmt_duration - seconds as the largest unit that divides them ("5m", "1h", "90s"). */
static void
fmt_duration(uint64_t secs, char *out, size_t outlen)
{
	if (secs != 0 && secs % DAY == 0)
		snprintf(out, outlen, "%" PRIu64 "d", secs / DAY);
	else if (secs != 0 && secs % HOUR == 0)
		snprintf(out, outlen, "%" PRIu64 "h", secs / HOUR);
	else if (secs != 0 && secs % MINUTE == 0)
		snprintf(out, outlen, "%" PRIu64 "m", secs / MINUTE);
	else
		snprintf(out, outlen, "%" PRIu64 "s", secs);
}

static void
fmt_size(uint64_t n, char *out, size_t outlen)
{
	if (n != 0 && n % GIB == 0)
		snprintf(out, outlen, "%" PRIu64 "G", n / GIB);
	else if (n != 0 && n % (1024 * KIB) == 0)
		snprintf(out, outlen, "%" PRIu64 "M", n / (1024 * KIB));
	else if (n != 0 && n % KIB == 0)
		snprintf(out, outlen, "%" PRIu64 "K", n / KIB);
	else
		snprintf(out, outlen, "%" PRIu64, n);
}

/* ---- setters ---- */

static int
set_hostname(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	if (!domain_valid(v)) {
		snprintf(why, whylen, "not a domain name");
		return -1;
	}
	char name[ADDR_DOMAIN_MAX + 1];
	size_t i;
	for (i = 0; v[i] != '\0' && i < ADDR_DOMAIN_MAX; i++)
		name[i] = (char)tolower((unsigned char)v[i]);
	name[i] = '\0';
	return replace_string(field(cfg, o), name);
}

static int
set_abspath(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	/* Services chdir and drop privileges: a relative path would change meaning. */
	if (v[0] != '/') {
		snprintf(why, whylen, "not an absolute path");
		return -1;
	}
	return replace_string(field(cfg, o), v);
}

/* An absolute path, or empty for none. */
static int
set_optpath(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	if (v[0] == '\0')
		return replace_string(field(cfg, o), NULL);
	return set_abspath(cfg, o, v, why, whylen);
}

static int
set_username(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	/* The portable user name set of POSIX, as useradd accepts it. */
	if (v[0] == '\0' || v[0] == '-' || strlen(v) > 32)
		return -1;
	for (const char *p = v; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return -1;
	}
	return replace_string(field(cfg, o), v);
}

static int
set_log(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	static const struct { const char *name; enum log_dest dest; } dests[] = {
		{ "stderr", LOG_TO_STDERR }, { "syslog", LOG_TO_SYSLOG },
		{ "journal", LOG_TO_JOURNAL },
	};
	enum log_dest *d = field(cfg, o);

	for (size_t i = 0; i < sizeof dests / sizeof dests[0]; i++)
		if (strcmp(v, dests[i].name) == 0) {
			*d = dests[i].dest;
			return 0;
		}
	snprintf(why, whylen, "stderr, syslog or journal");
	return -1;
}

/* parse_port - all of s (digits only) as a port 1..65535. */
static int
parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/*
 * split_list - the next comma-separated item of *p into item (trimmed). Returns 1
 * with an item, 0 at the end, -1 for an empty or overlong item.
 */
static int
split_list(const char **p, char *item, size_t itemlen)
{
	const char *s = *p;

	if (*s == '\0')
		return 0;
	const char *end = strchr(s, ',');
	if (end == NULL)
		end = s + strlen(s);
	*p = *end == ',' ? end + 1 : end;
	while (s < end && isspace((unsigned char)*s))
		s++;
	const char *e = end;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	size_t n = (size_t)(e - s);
	if (n == 0 || n >= itemlen)
		return -1;
	memcpy(item, s, n);
	item[n] = '\0';
	/* "a," has an empty last item */
	if (*end == ',' && (*p)[strspn(*p, " \t")] == '\0')
		return -1;
	return 1;
}

/* all_blank - whether s holds only whitespace (an empty list). */
static bool
all_blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* parse_listen_addr - "a.b.c.d:port" or "[v6]:port" into la. */
static int
parse_listen_addr(const char *item, struct listen_addr *la)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	uint16_t port;

	memset(la, 0, sizeof *la);
	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		size_t n = (size_t)(close - item - 1);
		if (n == 0 || n >= sizeof host)
			return -1;
		memcpy(host, item + 1, n);
		host[n] = '\0';
		colon = close + 1;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
		if (parse_port(colon + 1, &port) < 0 ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		la->sslen = sizeof *sin6;
	} else {
		colon = strrchr(item, ':');
		if (colon == NULL)
			return -1;
		size_t n = (size_t)(colon - item);
		if (n == 0 || n >= sizeof host)
			return -1;
		memcpy(host, item, n);
		host[n] = '\0';
		struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
		if (parse_port(colon + 1, &port) < 0 ||
		    inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		la->sslen = sizeof *sin;
	}
	snprintf(la->text, sizeof la->text, "%s", item);
	return 0;
}

static int
set_listen(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	struct listen_list *ll = field(cfg, o);
	struct listen_list nl = { 0 };
	char item[sizeof nl.v->text];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct listen_addr la;
		if (parse_listen_addr(item, &la) < 0) {
			snprintf(why, whylen, "'%s' is not ip:port or [ipv6]:port", item);
			free(nl.v);
			return -1;
		}
		struct listen_addr *nv = realloc(nl.v, (nl.n + 1) * sizeof *nv);
		if (nv == NULL) {
			free(nl.v);
			return -1;
		}
		nl.v = nv;
		nl.v[nl.n++] = la;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty item in the list");
		free(nl.v);
		return -1;
	}
	free(ll->v);
	*ll = nl;
	return 0;
}

/* parse_netmask - "ip" or "ip/prefix", host bits cleared. */
static int
parse_netmask(const char *item, struct netmask *nm)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item, '/');
	size_t n = slash ? (size_t)(slash - item) : strlen(item);

	memset(nm, 0, sizeof *nm);
	if (n == 0 || n >= sizeof host)
		return -1;
	memcpy(host, item, n);
	host[n] = '\0';
	unsigned maxbits;
	if (inet_pton(AF_INET, host, nm->addr) == 1) {
		nm->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, nm->addr) == 1) {
		nm->family = AF_INET6;
		maxbits = 128;
	} else {
		return -1;
	}
	nm->prefix = maxbits;
	if (slash != NULL) {
		const char *d = slash + 1;
		unsigned v = 0;
		if (*d == '\0' || strlen(d) > 3)
			return -1;
		for (; *d != '\0'; d++) {
			if (!isdigit((unsigned char)*d))
				return -1;
			v = v * 10 + (unsigned)(*d - '0');
		}
		if (v > maxbits)
			return -1;
		nm->prefix = v;
	}
	for (unsigned bit = nm->prefix; bit < maxbits; bit++)
		nm->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

static int
set_netmasks(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	struct netmask *list = NULL;
	size_t n = 0;
	char item[INET6_ADDRSTRLEN + 8];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct netmask nm;
		if (parse_netmask(item, &nm) < 0) {
			snprintf(why, whylen, "'%s' is not an address or CIDR network", item);
			free(list);
			return -1;
		}
		struct netmask *nl = realloc(list, (n + 1) * sizeof *nl);
		if (nl == NULL) {
			free(list);
			return -1;
		}
		list = nl;
		list[n++] = nm;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty or overlong item in the list");
		free(list);
		return -1;
	}
	free(cfg->trusted);
	cfg->trusted = list;
	cfg->ntrusted = n;
	return 0;
}

/*
 * split_hostport - "host", "host:port", "[host]" or "[host]:port" into host
 * (brackets removed) and port (0 when absent). Returns 0 or -1.
 */
static int
split_hostport(const char *v, char *host, size_t hostlen, bool *bracketed, uint16_t *port)
{
	const char *end, *rest;

	*port = 0;
	*bracketed = v[0] == '[';
	if (*bracketed) {
		end = strchr(v, ']');
		if (end == NULL)
			return -1;
		v++;
		rest = end + 1;
	} else {
		end = strchr(v, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL)
			return -1; /* a bare IPv6 address: needs brackets with a port */
		if (end == NULL)
			end = v + strlen(v);
		rest = end;
	}
	size_t n = (size_t)(end - v);
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, v, n);
	host[n] = '\0';
	if (*rest == '\0')
		return 0;
	if (*rest != ':')
		return -1;
	return parse_port(rest + 1, port);
}

static bool
is_ip(const char *s, int family)
{
	unsigned char bin[16];

	return inet_pton(family, s, bin) == 1;
}

/*
 * relayhost: "host:port", "[host]:port" (Postfix's form: no MX lookup) or either
 * without the port. Stored with the port always present (25 when left out).
 */
static int
set_relayhost(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	char host[ADDR_DOMAIN_MAX + 1], out[ADDR_DOMAIN_MAX + 16];
	bool br;
	uint16_t port;

	if (v[0] == '\0')
		return replace_string(field(cfg, o), NULL);
	if (split_hostport(v, host, sizeof host, &br, &port) < 0)
		return -1;
	bool v6 = is_ip(host, AF_INET6);
	if (!domain_valid(host) && !is_ip(host, AF_INET) && !(br && v6)) {
		snprintf(why, whylen, "expected host:port");
		return -1;
	}
	snprintf(out, sizeof out, "%s%s%s:%u", br ? "[" : "", host, br ? "]" : "",
	    port ? port : 25u);
	return replace_string(field(cfg, o), out);
}

/* resolver: "system" (NULL), or an IP address with an optional port, kept as written. */
static int
set_resolver(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	bool br;
	uint16_t port;

	if (strcmp(v, "system") == 0)
		return replace_string(field(cfg, o), NULL);
	if (is_ip(v, AF_INET6) || (split_hostport(v, host, sizeof host, &br, &port) == 0 &&
	    is_ip(host, br ? AF_INET6 : AF_INET)))
		return replace_string(field(cfg, o), v);
	snprintf(why, whylen, "expected system, ip, ip:port or [ipv6]:port");
	return -1;
}

static int
set_relay_tls(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	enum relay_tls *t = field(cfg, o);

	if (strcmp(v, "verify") == 0)
		*t = RELAY_TLS_VERIFY;
	else if (strcmp(v, "may") == 0)
		*t = RELAY_TLS_MAY;
	else {
		snprintf(why, whylen, "verify or may");
		return -1;
	}
	return 0;
}

static int
set_tls_version(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	int *version = field(cfg, o);

	/* Older versions are broken (RFC 8996): not even on request. */
	if (strcmp(v, "TLSv1.2") == 0)
		*version = TLS1_2_VERSION;
	else if (strcmp(v, "TLSv1.3") == 0)
		*version = TLS1_3_VERSION;
	else {
		snprintf(why, whylen, "TLSv1.2 or TLSv1.3");
		return -1;
	}
	return 0;
}

/* A non-empty string, checked by its user (the cipher list, by OpenSSL in serve and config check). */
static int
set_string(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	if (v[0] == '\0') {
		snprintf(why, whylen, "must not be empty");
		return -1;
	}
	return replace_string(field(cfg, o), v);
}

static int
set_mta_sts_mode(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	static const char *const modes[] = { "testing", "enforce", "none" };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (strcmp(v, modes[i]) == 0) {
			*(const char **)field(cfg, o) = modes[i];
			return 0;
		}
	}
	snprintf(why, whylen, "testing, enforce or none");
	return -1;
}

/* sni_name_valid - a hostname, or "*." and a domain of at least two labels; lower-cased into out. */
static bool
sni_name_valid(const char *name, char out[256])
{
	const char *d = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	size_t n = strlen(name);

	if (n >= 256 || !domain_valid(d) || (d != name && strchr(d, '.') == NULL))
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	return true;
}

/*
 * [tls] sni: "name:cert:key" items separated by commas; the key may be repeated,
 * each line adding its items. Paths are absolute and hold no ':' or ','.
 */
static int
set_sni(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	char item[1024];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct tls_sni_entry e = { 0 };
		char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL || strchr(c2 + 1, ':') != NULL) {
			snprintf(why, whylen, "'%s' is not name:cert:key", item);
			return -1;
		}
		*c1 = *c2 = '\0';
		const char *cert = c1 + 1, *key = c2 + 1;
		if (!sni_name_valid(item, e.name)) {
			snprintf(why, whylen, "'%s' is not a hostname or *.domain", item);
			return -1;
		}
		if (cert[0] != '/' || key[0] != '/') {
			snprintf(why, whylen, "the certificate and key of %s need absolute paths", e.name);
			return -1;
		}
		for (size_t i = 0; i < cfg->ntls_sni; i++) {
			if (strcmp(cfg->tls_sni[i].name, e.name) == 0) {
				snprintf(why, whylen, "%s is listed twice", e.name);
				return -1;
			}
		}
		if (cfg->ntls_sni >= CONFIG_SNI_MAX) {
			snprintf(why, whylen, "more than %d names", CONFIG_SNI_MAX);
			return -1;
		}
		struct tls_sni_entry *nv = realloc(cfg->tls_sni, (cfg->ntls_sni + 1) * sizeof *nv);
		if (nv == NULL)
			return -1;
		cfg->tls_sni = nv;
		if ((e.cert = strdup(cert)) == NULL || (e.key = strdup(key)) == NULL) {
			free(e.cert);
			return -1;
		}
		cfg->tls_sni[cfg->ntls_sni++] = e;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty or overlong item in the list");
		return -1;
	}
	return 0;
}

static int
set_backend(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	enum accounts_backend *b = field(cfg, o);

	if (strcmp(v, "sqlite") == 0)
		*b = ACCOUNTS_SQLITE;
	else if (strcmp(v, "postgresql") == 0)
		*b = ACCOUNTS_POSTGRESQL;
	else {
		snprintf(why, whylen, "sqlite or postgresql");
		return -1;
	}
	return 0;
}

/* set_dsn - a libpq connection string, parsed (not connected to) so that its mistakes show here. */
static int
set_dsn(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	char *msg = NULL;

	if (v[0] == '\0')
		return replace_string(field(cfg, o), NULL);
	PQconninfoOption *opts = PQconninfoParse(v, &msg);
	if (opts == NULL) {
		/* libpq's reason, on one line; never the string itself, which may hold a password */
		snprintf(why, whylen, "not a libpq connection string: %s", msg ? msg : "out of memory");
		for (char *c = why; *c != '\0'; c++)
			if (*c == '\n')
				*c = ' ';
		if (msg != NULL)
			PQfreemem(msg);
		return -1;
	}
	PQconninfoFree(opts);
	return replace_string(field(cfg, o), v);
}

const char *
config_accounts_dsn(const struct config *cfg)
{
	return cfg->accounts_backend == ACCOUNTS_POSTGRESQL ? cfg->accounts_dsn : NULL;
}

static int
set_port(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	return parse_port(v, (uint16_t *)field(cfg, o));
}

/* check_range - whether n is inside the option's limits, with the limits in why when not. */
static bool
check_range(const struct option *o, uint64_t n, void (*fmt)(uint64_t, char *, size_t),
    char *why, size_t whylen)
{
	char lo[32], hi[32];

	if (n >= o->min && n <= o->max)
		return true;
	fmt(o->min, lo, sizeof lo);
	fmt(o->max, hi, sizeof hi);
	snprintf(why, whylen, "must be between %s and %s", lo, hi);
	return false;
}

static void
fmt_plain(uint64_t n, char *out, size_t outlen)
{
	snprintf(out, outlen, "%" PRIu64, n);
}

static int
set_size(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	uint64_t n;

	if (parse_size(v, &n) < 0 || !check_range(o, n, fmt_size, why, whylen))
		return -1;
	*(uint64_t *)field(cfg, o) = n;
	return 0;
}

static int
set_duration(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	uint64_t n;

	if (parse_duration(v, &n) < 0 || !check_range(o, n, fmt_duration, why, whylen))
		return -1;
	*(uint64_t *)field(cfg, o) = n;
	return 0;
}

static int
set_unsigned(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	uint64_t n = 0;

	if (*v == '\0')
		return -1;
	for (const char *p = v; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || __builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, (uint64_t)(*p - '0'), &n))
			return -1;
	}
	if (!check_range(o, n, fmt_plain, why, whylen))
		return -1;
	*(unsigned *)field(cfg, o) = (unsigned)n;
	return 0;
}

static int
set_yesno(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	bool *b = field(cfg, o);

	if (strcmp(v, "yes") == 0)
		*b = true;
	else if (strcmp(v, "no") == 0)
		*b = false;
	else {
		snprintf(why, whylen, "yes or no");
		return -1;
	}
	return 0;
}

/*
 * A list of DNSBL/DNSWL zones, "zone" or "zone=weight" separated by commas (weight
 * -100..100, default 1; negative for allow lists). Empty: none.
 */
static int
set_dnsbl(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	struct dnsbl_zone *list = NULL;
	size_t n = 0;
	char item[300];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct dnsbl_zone z = { .weight = 1 };
		char *eq = strchr(item, '=');
		if (eq != NULL) {
			char *end;
			*eq = '\0';
			long w = strtol(eq + 1, &end, 10);
			if (end == eq + 1 || *end != '\0' || w < -100 || w > 100 || w == 0) {
				snprintf(why, whylen, "'%s': a weight is a whole number from -100 to 100, not 0",
				    eq + 1);
				free(list);
				return -1;
			}
			z.weight = (int)w;
		}
		size_t len = strlen(item);
		bool ok = len > 0 && len < sizeof z.name && item[0] != '.' && item[len - 1] != '.' &&
		    strchr(item, '.') != NULL;
		for (size_t i = 0; ok && i < len; i++)
			ok = isalnum((unsigned char)item[i]) || item[i] == '-' || item[i] == '.' ||
			    item[i] == '_';
		if (!ok) {
			snprintf(why, whylen, "'%s' is not a DNS zone", item);
			free(list);
			return -1;
		}
		memcpy(z.name, item, len + 1);
		struct dnsbl_zone *nl = realloc(list, (n + 1) * sizeof *nl);
		if (nl == NULL) {
			free(list);
			return -1;
		}
		list = nl;
		list[n++] = z;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty or overlong item in the list");
		free(list);
		return -1;
	}
	free(cfg->dnsbl);
	cfg->dnsbl = list;
	cfg->ndnsbl = n;
	return 0;
}

/* A list of milter sockets (milter/milter_addr.h), used in the order given. Empty: none. */
static int
set_milters(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	struct milter_list *ml = field(cfg, o);
	struct milter_list nl = { 0 };
	char item[sizeof nl.v->text];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct milter_sock m;
		char hint[160];
		if (milter_sock_parse(item, &m, hint, sizeof hint) < 0) {
			snprintf(why, whylen, "'%s': %s", item, hint);
			free(nl.v);
			return -1;
		}
		struct milter_sock *nv = realloc(nl.v, (nl.n + 1) * sizeof *nv);
		if (nv == NULL) {
			free(nl.v);
			return -1;
		}
		nl.v = nv;
		nl.v[nl.n++] = m;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty or overlong item in the list");
		free(nl.v);
		return -1;
	}
	free(ml->v);
	*ml = nl;
	return 0;
}

static int
set_milter_action(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	bool *accept = field(cfg, o);

	if (strcmp(v, "tempfail") == 0)
		*accept = false;
	else if (strcmp(v, "accept") == 0)
		*accept = true;
	else {
		snprintf(why, whylen, "tempfail or accept");
		return -1;
	}
	return 0;
}

/* An https URL (RFC 8555 6.1: ACME is spoken over HTTPS only), or empty for none. */
static int
set_url(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	if (v[0] == '\0')
		return replace_string(field(cfg, o), NULL);
	size_t n = strlen(v);
	bool ok = strncmp(v, "https://", 8) == 0 && n > 8 && n < 1024 && v[8] != '/';
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)v[i] > ' ' && (unsigned char)v[i] < 0x7f;
	if (!ok) {
		snprintf(why, whylen, "expected an https:// URL");
		return -1;
	}
	return replace_string(field(cfg, o), v);
}

/* A contact address (local@domain), or empty for none. */
static int
set_email(struct config *cfg, const struct option *o, const char *v, char *why, size_t whylen)
{
	if (v[0] == '\0')
		return replace_string(field(cfg, o), NULL);
	const char *at = strrchr(v, '@');
	bool ok = at != NULL && at > v && strlen(v) <= ADDR_MAX && domain_valid(at + 1);
	for (const char *p = v; ok && *p != '\0'; p++)
		ok = (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f && strchr(",;<>\"", *p) == NULL;
	if (!ok) {
		snprintf(why, whylen, "expected an address like admin@example.org");
		return -1;
	}
	return replace_string(field(cfg, o), v);
}

/* Host names separated by commas, lower-cased; empty: none (the hostname is certified). */
static int
set_names(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	struct acme_name *list = NULL;
	size_t n = 0;
	char item[300];
	const char *p = v;
	int r;

	while ((r = split_list(&p, item, sizeof item)) == 1) {
		struct acme_name a;
		size_t len = strlen(item);
		if (!domain_valid(item) || len >= sizeof a.name || strchr(item, '.') == NULL) {
			snprintf(why, whylen, "'%s' is not a host name", item);
			free(list);
			return -1;
		}
		for (size_t i = 0; i <= len; i++)
			a.name[i] = (char)tolower((unsigned char)item[i]);
		struct acme_name *nl = n < 100 ? realloc(list, (n + 1) * sizeof *nl) : NULL;
		if (nl == NULL) {
			snprintf(why, whylen, "at most 100 names");
			free(list);
			return -1;
		}
		list = nl;
		list[n++] = a;
	}
	if (r < 0 && !all_blank(v)) {
		snprintf(why, whylen, "empty or overlong item in the list");
		free(list);
		return -1;
	}
	free(cfg->acme_names);
	cfg->acme_names = list;
	cfg->nacme_names = n;
	return 0;
}

static int
set_challenge(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	enum acme_challenge *c = field(cfg, o);

	if (strcmp(v, "http-01") == 0)
		*c = ACME_HTTP01;
	else if (strcmp(v, "tls-alpn-01") == 0)
		*c = ACME_TLSALPN01;
	else {
		snprintf(why, whylen, "http-01 or tls-alpn-01");
		return -1;
	}
	return 0;
}

/* A list of DKIM algorithm names, separated by commas and blanks; at least one. */
static int
set_dkim_algs(struct config *cfg, const struct option *o, const char *v, char *why,
    size_t whylen)
{
	unsigned algs = 0;
	const char *p = v;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, " \t,");
		char name[16];
		enum dkim_alg alg;
		if (n >= sizeof name) {
			snprintf(why, whylen, "unknown algorithm (ed25519 or rsa)");
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (!dkim_alg_parse(name, &alg)) {
			snprintf(why, whylen, "unknown algorithm %s (ed25519 or rsa)", name);
			return -1;
		}
		algs |= 1u << alg;
		p += n;
	}
	if (algs == 0) {
		snprintf(why, whylen, "at least one of ed25519, rsa");
		return -1;
	}
	*(unsigned *)field(cfg, o) = algs;
	return 0;
}

/* ---- defaults ---- */

/* system_hostname - the FQDN of this host when it has one, else its name, lower-cased. */
static char *
system_hostname(void)
{
	char name[ADDR_DOMAIN_MAX + 1];

	if (gethostname(name, sizeof name) != 0)
		name[0] = '\0';
	name[sizeof name - 1] = '\0';
	if (name[0] != '\0' && strchr(name, '.') == NULL) {
		struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM };
		struct addrinfo *res;
		if (getaddrinfo(name, NULL, &hints, &res) == 0) {
			const char *c = res->ai_canonname;
			if (c != NULL && strchr(c, '.') != NULL && domain_valid(c))
				snprintf(name, sizeof name, "%s", c);
			freeaddrinfo(res);
		}
	}
	if (!domain_valid(name))
		snprintf(name, sizeof name, "localhost");
	for (char *p = name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return strdup(name);
}

/* option_index - the index of section/key in options[], NOPTIONS when unknown. */
static size_t
option_index(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, key) == 0)
			break;
	}
	return i;
}

const char *
config_default(const char *section, const char *key)
{
	size_t i = option_index(section, key);

	return i < NOPTIONS ? options[i].def : NULL;
}

/* apply_defaults - every default of the table; computed ones only when compute. */
static void
apply_defaults(struct config *cfg, bool compute)
{
	char why[128];

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option *o = &options[i];
		if (o->def == NULL) {
			if (compute)
				*(char **)field(cfg, o) = system_hostname();
			continue;
		}
		/* The table is ours: a default that does not parse is a bug caught by the tests. */
		if (o->set(cfg, o, o->def, why, sizeof why) < 0)
			abort();
	}
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	apply_defaults(cfg, true);
}

void
config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->hostname);
	free(cfg->data_dir);
	free(cfg->user);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_ciphers);
	for (size_t i = 0; i < cfg->ntls_sni; i++) {
		free(cfg->tls_sni[i].cert);
		free(cfg->tls_sni[i].key);
	}
	free(cfg->tls_sni);
	for (int i = 0; i < SVC_COUNT; i++)
		free(cfg->listen[i].v);
	free(cfg->trusted);
	free(cfg->dnsbl);
	free(cfg->milters.v);
	free(cfg->submission_milters.v);
	free(cfg->relayhost);
	free(cfg->relayhost_password_file);
	free(cfg->resolver);
	free(cfg->tls_ca_file);
	free(cfg->accounts_dsn);
	free(cfg->dnssec_trust_anchor);
	free(cfg->acme_directory);
	free(cfg->acme_email);
	free(cfg->acme_names);
	free(cfg->acme_ca_file);
	memset(cfg, 0, sizeof *cfg);
}

const char *
config_path(const char *arg)
{
	const char *env;

	if (arg != NULL && arg[0] != '\0')
		return arg;
	env = getenv("MAILROOM_CONFIG");
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

/* ---- the parser ---- */

struct parse {
	struct config *cfg;
	const char *path;
	const char *text; /* the whole file */
	size_t len, pos;
	int line;         /* of the line last handed to inih */
	int seen[NOPTIONS]; /* line where each key was set, 0: not set */
	bool failed;      /* err holds the first error found by us */
	int err_line;     /* its line, 0: the file as a whole */
	char err[512];
};

static void
parse_error(struct parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
parse_error(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return; /* the first problem is the one to report */
	p->failed = true;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
}

static bool
section_known(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].section, name) == 0)
			return true;
	}
	return false;
}

/*
 * reader - hand inih one line at a time, like fgets, so we know the line number,
 * see section headers (inih does not report empty sections) and catch lines that
 * are too long for inih's buffer instead of having them split. Leading blanks are
 * removed, so an indented line is never taken as a continuation of the previous
 * value, and inline comments ("; ..." or "# ..." after a blank) are cut off.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;

	if (p->pos >= p->len)
		return NULL;
	const char *s = p->text + p->pos;
	const char *nl = memchr(s, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += n + (nl != NULL);
	p->line++;

	/* a UTF-8 byte order mark some editors write */
	if (p->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n > 0 && *s != ';' && *s != '#') {
		for (size_t i = 1; i < n; i++) {
			if ((s[i] == ';' || s[i] == '#') && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
				n = i;
				break;
			}
		}
	}
	if (memchr(s, '\0', n) != NULL) {
		parse_error(p, p->line, "NUL octet in the line");
		n = 0;
	}
	/* room for the newline and the NUL that inih expects */
	if (n + 2 > (size_t)num) {
		parse_error(p, p->line, "line too long (at most %d octets without comments)",
		    num - 2);
		n = 0;
	}
	if (n > 0 && *s == '[') {
		const char *close = memchr(s, ']', n);
		if (close != NULL) {
			char name[64];
			size_t k = (size_t)(close - s - 1);
			snprintf(name, sizeof name, "%.*s", (int)(k < 63 ? k : 63), s + 1);
			if (!section_known(name))
				parse_error(p, p->line, "unknown section [%s]", name);
		}
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char why[160] = "";

	if (section[0] == '\0') {
		parse_error(p, p->line, "key '%s' outside of any [section]", name);
		return 0;
	}
	if (!section_known(section)) {
		parse_error(p, p->line, "unknown section [%s]", section);
		return 0;
	}
	size_t i = option_index(section, name);
	if (i == NOPTIONS) {
		parse_error(p, p->line, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	/* [tls] sni may go on for several lines (each at most 198 octets), adding to the list. */
	if (p->seen[i] != 0 && options[i].set != set_sni) {
		parse_error(p, p->line, "duplicate key '%s' in [%s] (first on line %d)", name,
		    section, p->seen[i]);
		return 0;
	}
	p->seen[i] = p->line;
	if (options[i].set(p->cfg, &options[i], value, why, sizeof why) < 0) {
		parse_error(p, p->line, "bad value for %s: '%s'%s%s%s", name, value,
		    why[0] ? " (" : "", why, why[0] ? ")" : "");
		return 0;
	}
	return 1;
}

static int
seen_line(const struct parse *p, const char *section, const char *key)
{
	size_t i = option_index(section, key);

	return i < NOPTIONS ? p->seen[i] : 0;
}

static int
max_line(int a, int b)
{
	return a > b ? a : b;
}

/* cross_check - rules that involve more than one key. */
static void
cross_check(struct parse *p)
{
	const struct config *cfg = p->cfg;

	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		parse_error(p, max_line(seen_line(p, "tls", "cert"), seen_line(p, "tls", "key")),
		    "[tls] cert and key must be set together");
	if (cfg->accounts_backend == ACCOUNTS_POSTGRESQL && cfg->accounts_dsn == NULL)
		parse_error(p, max_line(seen_line(p, "accounts", "backend"),
		    seen_line(p, "accounts", "dsn")),
		    "[accounts] backend = postgresql needs a dsn (a libpq connection string)");
	if (cfg->ntls_sni > 0 && cfg->tls_cert == NULL)
		parse_error(p, seen_line(p, "tls", "sni"), "[tls] sni needs [tls] cert and key");
	if (cfg->retry_min > cfg->retry_max) {
		char lo[32], hi[32];
		fmt_duration(cfg->retry_min, lo, sizeof lo);
		fmt_duration(cfg->retry_max, hi, sizeof hi);
		parse_error(p, max_line(seen_line(p, "delivery", "retry_min"),
		    seen_line(p, "delivery", "retry_max")),
		    "retry_min (%s) is greater than retry_max (%s)", lo, hi);
	}
	static const enum service implicit_tls[] = { SVC_SUBMISSIONS, SVC_POP3S, SVC_HTTPS };
	for (size_t i = 0; i < sizeof implicit_tls / sizeof implicit_tls[0]; i++) {
		enum service s = implicit_tls[i];
		if (cfg->listen[s].n > 0 && cfg->tls_cert == NULL && cfg->acme_directory == NULL)
			parse_error(p, seen_line(p, "listen", service_name(s)),
			    "[listen] %s needs [tls] cert and key, or [acme]", service_name(s));
	}
	if (cfg->acme_directory != NULL) {
		bool http = cfg->acme_challenge == ACME_HTTP01;
		if (cfg->listen[http ? SVC_HTTP : SVC_HTTPS].n == 0)
			parse_error(p, max_line(seen_line(p, "acme", "directory"),
			    seen_line(p, "acme", "challenge")),
			    "[acme] challenge %s needs [listen] %s%s", http ? "http-01" : "tls-alpn-01",
			    http ? "http" : "https",
			    http ? " (or challenge = tls-alpn-01 with [listen] https)" : "");
	}
}


/* read_file - the whole of path, NUL-terminated. Returns NULL with errno set. */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		errno = EISDIR;
		return NULL;
	}
	char *text = malloc(CONFIG_MAX_FILE + 1);
	if (text == NULL) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	size_t n = fread(text, 1, CONFIG_MAX_FILE + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > CONFIG_MAX_FILE) {
		free(text);
		errno = bad ? EIO : EFBIG;
		return NULL;
	}
	text[n] = '\0';
	*lenp = n;
	return text;
}

char *
config_read(const char *path, size_t *len, char *err, size_t errlen)
{
	char *text = read_file(path, len);
	if (text == NULL)
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	return text;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char dummy[1];
	size_t len;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	memset(cfg, 0, sizeof *cfg);
	char *text = config_read(path, &len, err, errlen);
	if (text == NULL)
		return -1;
	int r = config_load_text(path, text, len, cfg, err, errlen);
	free(text);
	return r;
}

int
config_load_text(const char *path, const char *text, size_t len, struct config *cfg,
    char *err, size_t errlen)
{
	struct parse p = { .cfg = cfg, .path = path, .text = text, .len = len };
	char dummy[1];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	memset(cfg, 0, sizeof *cfg);
	apply_defaults(cfg, false);
	int r = ini_parse_stream(reader, &p, handler, &p);
	if (r < 0) {
		config_free(cfg);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	/* inih's own complaints (no '=', no ']') carry only a line number */
	if (r > 0 && (!p.failed || r < p.err_line)) {
		p.failed = true;
		p.err_line = r;
		snprintf(p.err, sizeof p.err, "syntax error (expected [section] or key = value)");
	}
	if (!p.failed)
		cross_check(&p);
	if (!p.failed && cfg->hostname == NULL && (cfg->hostname = system_hostname()) == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	if (p.failed) {
		if (p.err_line > 0)
			snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.err);
		else
			snprintf(err, errlen, "%s: %s", path, p.err);
		config_free(cfg);
		return -1;
	}
	if ((cfg->path = strdup(path)) == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* ---- trusted networks ---- */

static bool
prefix_match(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (net[full] & mask) == (addr[full] & mask);
}

bool
config_is_trusted(const struct config *cfg, const struct sockaddr *sa)
{
	uint8_t v4[4], v6[16];
	bool has4 = false, has6 = false;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		has4 = true;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		memcpy(v6, a, 16);
		has6 = true;
		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(v4, v6 + 12, 4);
			has4 = true;
		}
	}
	for (size_t i = 0; i < cfg->ntrusted; i++) {
		const struct netmask *nm = &cfg->trusted[i];
		if (nm->family == AF_INET && has4 && prefix_match(nm->addr, v4, nm->prefix))
			return true;
		if (nm->family == AF_INET6 && has6 && prefix_match(nm->addr, v6, nm->prefix))
			return true;
	}
	return false;
}

bool
config_is_trusted_text(const struct config *cfg, const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1)
		in4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		return false;
	return config_is_trusted(cfg, (const struct sockaddr *)&ss);
}
