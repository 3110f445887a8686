/* config.h - the typed configuration of INTERFACE.md, loaded from an INI file. */
#ifndef MAILROOM_CONFIG_H
#define MAILROOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/log.h"

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

/*
 * One socket of [inbound] milters, as Postfix writes them: "inet:127.0.0.1:11332",
 * "inet:[::1]:11332", "inet6:::1:11332", "unix:/run/rspamd/milter.sock".
 */
struct milter_sock {
	struct sockaddr_storage ss; /* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t sslen;
	char text[128];             /* as written, for logs */
};

struct milter_list {
	struct milter_sock *v;
	size_t n; /* 0: none */
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

/*
 * One entry of [tls] sni: a hostname (lower case; "*.example.com" stands for any
 * one label in front of example.com) and the certificate and key served for it.
 */
struct tls_sni_entry {
	char name[256];
	char *cert;
	char *key;
};

/* At most this many [tls] sni entries (each is a TLS context in every TLS role). */
#define CONFIG_SNI_MAX 256

/* [acme] challenge: how the CA checks that a name is ours. */
enum acme_challenge {
	ACME_HTTP01,     /* a file on the http listener (port 80) */
	ACME_TLSALPN01,  /* a certificate on the https listener (port 443), RFC 8737 */
};

/* [acme] names: one name to certify. */
struct acme_name {
	char name[254];
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
	enum log_dest log_dest; /* [server] log = stderr | syslog | journal (extension) */

	/* [tls] */
	char *tls_cert; /* NULL: no TLS */
	char *tls_key;
	int tls_min_version;  /* OpenSSL's TLS1_2_VERSION or TLS1_3_VERSION */
	char *tls_ciphers;    /* OpenSSL cipher list for TLS 1.2 (1.3 keeps OpenSSL's suites) */
	struct tls_sni_entry *tls_sni; /* other hostnames' certificates, chosen by SNI */
	size_t ntls_sni;
	const char *mta_sts_mode;  /* "testing", "enforce" or "none" (static strings) */
	uint64_t mta_sts_max_age;  /* seconds */

	/* [listen] */
	struct listen_list listen[SVC_COUNT];

	/* [acme]: certificates from an ACME CA (acme/acmed.c) */
	char *acme_directory;         /* the CA's directory URL (https); NULL: off */
	char *acme_email;             /* contact address, or NULL */
	struct acme_name *acme_names; /* none: the hostname alone */
	size_t nacme_names;
	enum acme_challenge acme_challenge;
	char *acme_ca_file;           /* PEM of the CAs the directory's certificate chains to; NULL: the system's */
	uint64_t acme_renew_before;   /* seconds before expiry (at most a third of the lifetime) */

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
	unsigned active_limit; /* messages in delivery at once: what queued holds in memory */
	unsigned mx_address_limit; /* server addresses tried per delivery; 0: no limit */
	bool connection_cache; /* keep connections idle a moment for the next delivery */
	enum relay_tls relayhost_tls;
	char *tls_ca_file; /* extension: PEM of the CAs to trust; NULL: the system's */
	bool dane;         /* RFC 7672: TLSA records of DNSSEC-secure MX hosts are enforced */
	char *dnssec_trust_anchor; /* extension: DS or DNSKEY records the validator trusts */
	bool mta_sts;      /* RFC 8461: the MTA-STS policies of recipient domains are honoured */
	bool tls_reports;  /* RFC 8460: outbound TLS results noted, reported daily */

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
	struct milter_list milters;            /* on the smtp listener, in order */
	struct milter_list submission_milters; /* on submission and submissions (extension) */
	bool milter_default_accept; /* a milter down: accept (else tempfail) */
	uint64_t milter_connect_timeout; /* seconds: connect and option negotiation */
	uint64_t milter_command_timeout; /* seconds: each SMTP stage's reply */
	uint64_t milter_content_timeout; /* seconds: headers, body, end of message */
};

/*
 * config_load - read and validate path into cfg (defaults first, then the file).
 * On failure returns -1 and writes "FILE:LINE: reason" (or "FILE: reason") into err.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
/*
 * config_load_text - as config_load, from text already read (len octets, path for
 * the messages and cfg->path): the roles' reload, from the text the supervisor read
 * (a role's walls may keep it from the file, which an editor may have replaced).
 */
int config_load_text(const char *path, const char *text, size_t len, struct config *cfg,
    char *err, size_t errlen);
/* config_read - the file's text, NUL-terminated (freed by the caller); NULL with err. */
char *config_read(const char *path, size_t *len, char *err, size_t errlen);

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
