/* config.h - the typed configuration of INTERFACE.md, loaded from an INI file. */
#ifndef MAILROOM_CONFIG_H
#define MAILROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_DEFAULT_PATH "/etc/mailroom/mailroom.conf"

/* One address a listener binds: "0.0.0.0:25" or "[::]:25". */
struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[80]; /* as written in the config, for logs */
};

struct listen_list {
	struct listen_addr *v;
	size_t n; /* 0: the service is off */
};

/* One zone of [inbound] dnsbl: "zone" or "zone=weight". */
struct dnsbl_zone {
	char name[254];
	int weight;
};

/* A network of trusted_networks: family AF_INET or AF_INET6, prefix in bits. */
struct netmask {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

/* The services, in the order listeners are kept in struct config. */
enum service {
	SVC_SMTP,
	SVC_SUBMISSION,
	SVC_SUBMISSIONS,
	SVC_POP3,
	SVC_POP3S,
	SVC_HTTPS,
	SVC_HTTP,
	SVC_METRICS, /* Prometheus text, plain HTTP (httpd) */
	SVC_COUNT
};

/* [delivery] relayhost_tls: how the relayhost's TLS is checked. */
enum relay_tls {
	RELAY_TLS_VERIFY, /* STARTTLS required; the certificate chains to a trusted CA and names it */
	RELAY_TLS_MAY,    /* opportunistic: STARTTLS when offered, the certificate unchecked */
};

/* [accounts] backend: where the account store is. */
enum accounts_backend {
	ACCOUNTS_SQLITE,     /* <data_dir>/accounts.db, this host alone */
	ACCOUNTS_POSTGRESQL, /* one database that several hosts share */
};

struct config {
	char *path; /* the file it was read from */

	/* [server] */
	char *hostname;
	char *data_dir;
	char *user;
	bool log_syslog; /* [server] log = stderr | syslog (extension) */

	/* [tls] */
	char *tls_cert; /* NULL: no TLS */
	char *tls_key;

	/* [listen] */
	struct listen_list listen[SVC_COUNT];

	/* [relay] */
	struct netmask *trusted;
	size_t ntrusted;
	char *relayhost; /* "host:port" or NULL */
	char *relayhost_password_file; /* extension: "user password" on one line, or NULL */

	/* [delivery] */
	char *resolver; /* NULL: system resolver; else "ip" or "ip:port" */
	uint16_t remote_port;
	uint64_t retry_min; /* seconds */
	uint64_t retry_max;
	uint64_t max_queue_lifetime;
	unsigned concurrency;
	unsigned mx_address_limit; /* server addresses tried per delivery; 0: no limit */
	enum relay_tls relayhost_tls;
	char *tls_ca_file; /* extension: PEM of the CAs to trust; NULL: the system's */

	/* [limits] */
	uint64_t max_message_size; /* bytes */
	unsigned max_recipients;
	unsigned max_connections;        /* per listener (service) */
	unsigned max_connections_per_ip; /* per client network, per listener */
	unsigned connection_prefix_v4;   /* bits of a client network: 32 (one address) */
	unsigned connection_prefix_v6;   /* 64: a /64 is one client */
	uint64_t command_timeout; /* seconds: a whole command line, or TLS handshake (<= 30 s) */
	unsigned min_data_rate;   /* octets a second that DATA/BDAT text must keep up */
	unsigned max_auth_failures;
	unsigned connection_rate_limit; /* new connections a minute per client network; 0: none */
	unsigned message_rate_limit;    /* MAIL commands a minute per client network; 0: none */
	unsigned soft_error_limit; /* bad commands before each further one is answered slower; 0: never */
	unsigned login_failures_per_client;  /* failed logins from one network, then blocked */
	unsigned login_failures_per_account; /* failed logins for one account, then blocked */
	uint64_t login_block_time;           /* seconds: the window and the block */
	unsigned login_queue;                /* logins waiting for a check at once, per process */
	unsigned max_hops; /* Received headers a message may carry */
	unsigned sends_per_day;  /* messages a user sends out a day, then held; 0: none */
	unsigned sends_per_hour; /* the same an hour */
	unsigned first_time_recipients_per_day; /* new remote recipients of a user a day */
	uint64_t vacation_interval; /* seconds: one vacation reply a sender in this time */

	/* [accounts] */
	enum accounts_backend accounts_backend;
	char *accounts_dsn; /* libpq connection string, or NULL */

	/* [dkim] */
	bool dkim_sign;             /* sign outbound mail of hosted domains */
	unsigned dkim_algs;         /* bit 1 << enum dkim_alg for each algorithm to keep keys of */
	uint64_t dkim_rotate_after; /* seconds from `dkim rotate` until the new keys sign */

	/* [inbound]: checks of mail from outside on the smtp listener */
	bool inbound_verify;        /* SPF, DKIM, DMARC, and Authentication-Results */
	bool inbound_dmarc_reject;  /* DMARC fail: p=reject refused 550 5.7.1, quarantine to Junk */
	bool inbound_spf_reject;    /* SPF fail without a DMARC policy: 550 5.7.23 */
	uint64_t pregreet_wait;     /* seconds of silence asked of a new client before the 220 */
	struct dnsbl_zone *dnsbl;   /* DNS block (weight > 0) and allow (< 0) lists */
	size_t ndnsbl;
	unsigned dnsbl_threshold;   /* the summed weight that refuses a client */
	bool inbound_dmarc_reports; /* DMARC aggregate reports (RFC 9990): noted, sent daily */
	bool greylist;              /* 451 4.7.1 for a new (client net, sender, recipient) */
	uint64_t greylist_delay;    /* seconds before a retry of a greylisted triplet passes */
};

/*
 * config_load - read and validate path into cfg (defaults first, then the file).
 * On failure returns -1 and writes "FILE:LINE: reason" (or "FILE: reason") into err.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* config_defaults - cfg filled with every default, as if from an empty file. */
void config_defaults(struct config *cfg);

void config_free(struct config *cfg);

/*
 * config_default - the default of a key as the config file would spell it ("25M"),
 * "" for an empty default, NULL for a computed one (hostname) or an unknown key.
 */
const char *config_default(const char *section, const char *key);

/* config_path - -c argument, else $MAILROOM_CONFIG, else the default path. */
const char *config_path(const char *arg);

/* config_is_trusted - whether sa is inside trusted_networks. */
bool config_is_trusted(const struct config *cfg, const struct sockaddr *sa);
/* config_is_trusted_text - the same for an address in numeric text; false when malformed. */
bool config_is_trusted_text(const struct config *cfg, const char *ip);

/* config_accounts_dsn - the PostgreSQL connection string of the store, or NULL for SQLite. */
const char *config_accounts_dsn(const struct config *cfg);

/* The name of a service as used in [listen] ("smtp", "pop3s", ...). */
const char *service_name(enum service svc);

/* config_service_port - the port of the first address svc listens on; 0: off. */
uint16_t config_service_port(const struct config *cfg, enum service svc);

#endif
