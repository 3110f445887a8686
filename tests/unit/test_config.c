/* test_config.c - unit tests for config.c: every key, defaults, errors with file:line, trust. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sys/un.h>

#include <cmocka.h>

#include "config.h"
#include "dkim/dkim_key.h"

static char tmpdir[64];
static char conf_path[128];

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf_path, sizeof conf_path, "%s/mailroom.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	unlink(conf_path);
	rmdir(tmpdir);
	return 0;
}

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* load_ok - text must load; cfg is filled. */
static void
load_ok(const char *text, struct config *cfg)
{
	char err[512] = "";

	write_conf(text);
	if (config_load(conf_path, cfg, err, sizeof err) != 0)
		fail_msg("expected the config to load, got: %s", err);
	assert_string_equal(cfg->path, conf_path);
}

/* load_err - text must fail with "<path>:<line>: <msg>" exactly. */
static void
load_err(const char *text, int line, const char *msg)
{
	struct config cfg;
	char err[512] = "", want[512];

	write_conf(text);
	if (config_load(conf_path, &cfg, err, sizeof err) == 0) {
		config_free(&cfg);
		fail_msg("expected an error for:\n%s", text);
	}
	if (line > 0)
		snprintf(want, sizeof want, "%s:%d: %s", conf_path, line, msg);
	else
		snprintf(want, sizeof want, "%s: %s", conf_path, msg);
	assert_string_equal(err, want);
	config_free(&cfg); /* the struct is left empty: freeing it again is harmless */
}

/* bad_value - [section] key = value must be refused as a bad value, on line 2. */
static void
bad_value(const char *section, const char *key, const char *value)
{
	char text[512], want[256];
	struct config cfg;
	char err[512] = "";

	snprintf(text, sizeof text, "[%s]\n%s = %s\n", section, key, value);
	write_conf(text);
	if (config_load(conf_path, &cfg, err, sizeof err) == 0) {
		config_free(&cfg);
		fail_msg("expected %s = %s to be refused", key, value);
	}
	snprintf(want, sizeof want, "%s:2: bad value for %s: '%s'", conf_path, key, value);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("for %s = %s: got \"%s\", want \"%s...\"", key, value, err, want);
}

static void
check_defaults(const struct config *c)
{
	assert_non_null(c->hostname);
	assert_true(c->hostname[0] != '\0');
	assert_string_equal(c->data_dir, "/var/lib/mailroom");
	assert_string_equal(c->user, "mailroom");
	assert_int_equal(c->log_dest, LOG_TO_STDERR);
	assert_null(c->tls_cert);
	assert_null(c->tls_key);
	for (int i = 0; i < SVC_COUNT; i++) {
		assert_int_equal(c->listen[i].n, 0);
		assert_null(c->listen[i].v);
	}
	assert_int_equal(c->ntrusted, 2);
	assert_int_equal(c->trusted[0].family, AF_INET);
	assert_int_equal(c->trusted[0].prefix, 8);
	assert_int_equal(c->trusted[0].addr[0], 127);
	assert_int_equal(c->trusted[1].family, AF_INET6);
	assert_int_equal(c->trusted[1].prefix, 128);
	assert_int_equal(c->trusted[1].addr[15], 1);
	assert_null(c->relayhost);
	assert_null(c->relayhost_password_file);
	assert_null(c->resolver);
	assert_int_equal(c->remote_port, 25);
	assert_int_equal(c->retry_min, 300);
	assert_int_equal(c->retry_max, 3600);
	assert_int_equal(c->max_queue_lifetime, 5 * 86400);
	assert_int_equal(c->concurrency, 20);
	assert_int_equal(c->mx_address_limit, 5);
	assert_false(c->dane);
	assert_string_equal(c->dnssec_trust_anchor, "/usr/share/dns/root.key");
	assert_int_equal(c->max_message_size, 25 * 1024 * 1024);
	assert_int_equal(c->max_recipients, 100);
	assert_int_equal(c->max_connections, 1000);
	assert_int_equal(c->max_connections_per_ip, 20);
	assert_int_equal(c->connection_prefix_v4, 32);
	assert_int_equal(c->connection_prefix_v6, 64);
	assert_int_equal(c->command_timeout, 300);
	assert_int_equal(c->min_data_rate, 500);
	assert_int_equal(c->max_auth_failures, 3);
	assert_int_equal(c->max_hops, 50);
}

static void
test_defaults(void **state)
{
	struct config c;

	config_defaults(&c);
	check_defaults(&c);
	assert_null(c.path);
	config_free(&c);
	config_free(&c);
}

static void
test_empty_file_is_defaults(void **state)
{
	struct config c;

	load_ok("", &c);
	check_defaults(&c);
	config_free(&c);
	/* sections without keys are fine too */
	load_ok("[server]\n[tls]\n[listen]\n[relay]\n[delivery]\n[limits]\n", &c);
	check_defaults(&c);
	config_free(&c);
}

static void
test_default_strings(void **state)
{
	assert_string_equal(config_default("limits", "max_message_size"), "25M");
	assert_string_equal(config_default("delivery", "retry_min"), "5m");
	assert_string_equal(config_default("limits", "vacation_interval"), "7d");
	assert_string_equal(config_default("relay", "trusted_networks"), "127.0.0.0/8, ::1/128");
	assert_string_equal(config_default("listen", "smtp"), "");
	assert_null(config_default("server", "hostname")); /* computed */
	assert_null(config_default("server", "nosuchkey"));
}

static const char full_config[] =
    "; every key, none at its default\n"
    "[server]\n"
    "hostname = MX.Example.TEST\n"
    "data_dir = /srv/mail/data\n"
    "user = mail_user\n"
    "log = syslog\n"
    "\n"
    "[tls]\n"
    "cert = /etc/mr/cert.pem\n"
    "key = /etc/mr/key.pem\n"
    "\n"
    "[listen]\n"
    "smtp = 0.0.0.0:25, [::]:25\n"
    "submission = 127.0.0.1:587\n"
    "submissions = [::1]:465\n"
    "pop3 = 10.0.0.1:110\n"
    "pop3s = 10.0.0.1:995\n"
    "https = 10.0.0.1:443\n"
    "http = 10.0.0.1:80, [::1]:8080\n"
    "metrics = 127.0.0.1:9125\n"
    "\n"
    "[relay]\n"
    "trusted_networks = 10.0.0.0/8\n"
    "relayhost = smarthost.example.net:2525\n"
    "relayhost_password_file = /etc/mr/relay-password\n"
    "\n"
    "[delivery]\n"
    "resolver = 127.0.0.1:5353\n"
    "remote_port = 2526\n"
    "retry_min = 30s\n"
    "retry_max = 2h\n"
    "max_queue_lifetime = 3d\n"
    "concurrency = 7\n"
    "mx_address_limit = 0\n"
    "relayhost_tls = may\n"
    "tls_ca_file = /etc/mr/ca.pem\n"
    "dane = yes\n"
    "dnssec_trust_anchor = /etc/mr/zone.key\n"
    "\n"
    "[limits]\n"
    "max_message_size = 10M\n"
    "max_recipients = 50\n"
    "max_connections = 99\n"
    "max_connections_per_ip = 5\n"
    "connection_prefix_v4 = 24\n"
    "connection_prefix_v6 = 48\n"
    "command_timeout = 45s\n"
    "min_data_rate = 1000\n"
    "max_auth_failures = 2\n"
    "max_hops = 30\n"
    "vacation_interval = 1d\n"
    "\n"
    "[dkim]\n"
    "sign = no\n"
    "algorithms = rsa\n"
    "rotate_after = 12h\n";

static void
test_every_key(void **state)
{
	struct config c;

	load_ok(full_config, &c);
	assert_string_equal(c.hostname, "mx.example.test");
	assert_string_equal(c.data_dir, "/srv/mail/data");
	assert_string_equal(c.user, "mail_user");
	assert_int_equal(c.log_dest, LOG_TO_SYSLOG);
	assert_string_equal(c.tls_cert, "/etc/mr/cert.pem");
	assert_string_equal(c.tls_key, "/etc/mr/key.pem");
	assert_int_equal(c.listen[SVC_SMTP].n, 2);
	assert_int_equal(c.listen[SVC_SUBMISSION].n, 1);
	assert_int_equal(c.listen[SVC_SUBMISSIONS].n, 1);
	assert_int_equal(c.listen[SVC_POP3].n, 1);
	assert_int_equal(c.listen[SVC_POP3S].n, 1);
	assert_string_equal(c.listen[SVC_POP3S].v[0].text, "10.0.0.1:995");
	assert_int_equal(c.listen[SVC_HTTPS].n, 1);
	assert_int_equal(config_service_port(&c, SVC_HTTPS), 443);
	assert_int_equal(c.listen[SVC_HTTP].n, 2);
	assert_int_equal(config_service_port(&c, SVC_HTTP), 80);
	assert_int_equal(c.listen[SVC_METRICS].n, 1);
	assert_int_equal(config_service_port(&c, SVC_METRICS), 9125);
	assert_int_equal(config_service_port(&c, SVC_SUBMISSIONS), 465);
	assert_int_equal(c.ntrusted, 1);
	assert_string_equal(c.relayhost, "smarthost.example.net:2525");
	assert_string_equal(c.relayhost_password_file, "/etc/mr/relay-password");
	assert_string_equal(c.resolver, "127.0.0.1:5353");
	assert_int_equal(c.remote_port, 2526);
	assert_int_equal(c.retry_min, 30);
	assert_int_equal(c.retry_max, 7200);
	assert_int_equal(c.max_queue_lifetime, 3 * 86400);
	assert_int_equal(c.concurrency, 7);
	assert_int_equal(c.mx_address_limit, 0);
	assert_int_equal(c.relayhost_tls, RELAY_TLS_MAY);
	assert_string_equal(c.tls_ca_file, "/etc/mr/ca.pem");
	assert_true(c.dane);
	assert_string_equal(c.dnssec_trust_anchor, "/etc/mr/zone.key");
	assert_int_equal(c.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(c.max_recipients, 50);
	assert_int_equal(c.max_connections, 99);
	assert_int_equal(c.max_connections_per_ip, 5);
	assert_int_equal(c.connection_prefix_v4, 24);
	assert_int_equal(c.connection_prefix_v6, 48);
	assert_int_equal(c.command_timeout, 45);
	assert_int_equal(c.min_data_rate, 1000);
	assert_int_equal(c.max_auth_failures, 2);
	assert_int_equal(c.max_hops, 30);
	assert_int_equal(c.vacation_interval, 86400);
	assert_false(c.dkim_sign);
	assert_int_equal(c.dkim_algs, 1u << DKIM_RSA);
	assert_int_equal(c.dkim_rotate_after, 12 * 3600);
	config_free(&c);
	config_free(&c);
}

static void
test_dkim(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_true(c.dkim_sign);
	assert_int_equal(c.dkim_algs, 1u << DKIM_ED25519 | 1u << DKIM_RSA);
	assert_int_equal(c.dkim_rotate_after, 3 * 86400);
	config_free(&c);
	assert_string_equal(config_default("dkim", "algorithms"), "ed25519, rsa");
	load_ok("[dkim]\nalgorithms = ed25519\n", &c);
	assert_int_equal(c.dkim_algs, 1u << DKIM_ED25519);
	config_free(&c);
	load_ok("[dkim]\nalgorithms = rsa,ed25519, rsa\n", &c);
	assert_int_equal(c.dkim_algs, 1u << DKIM_ED25519 | 1u << DKIM_RSA);
	config_free(&c);
	bad_value("dkim", "algorithms", "ed448");
	bad_value("dkim", "algorithms", "rsa, dsa");
	bad_value("dkim", "algorithms", "RSA");
	bad_value("dkim", "algorithms", "");
	bad_value("dkim", "algorithms", ",");
	bad_value("dkim", "sign", "true");
	bad_value("dkim", "rotate_after", "0");
	bad_value("dkim", "rotate_after", "3x");
}

static void
test_milters(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(c.milters.n, 0);
	assert_int_equal(c.submission_milters.n, 0);
	assert_false(c.milter_default_accept);
	assert_int_equal(c.milter_connect_timeout, 30);
	assert_int_equal(c.milter_command_timeout, 30);
	assert_int_equal(c.milter_content_timeout, 300);
	config_free(&c);
	load_ok("[inbound]\nmilters = inet:127.0.0.1:11332, unix:/run/m.sock ,inet:[::1]:8891\n"
	    "submission_milters = inet:localhost:11332\nmilter_default_action = accept\n"
	    "milter_connect_timeout = 5s\nmilter_command_timeout = 1m\n"
	    "milter_content_timeout = 10m\n", &c);
	assert_int_equal(c.milters.n, 3);
	assert_string_equal(c.milters.v[0].text, "inet:127.0.0.1:11332");
	assert_int_equal(c.milters.v[1].ss.ss_family, AF_UNIX);
	assert_int_equal(c.milters.v[2].ss.ss_family, AF_INET6);
	assert_int_equal(c.submission_milters.n, 1);
	assert_true(c.milter_default_accept);
	assert_int_equal(c.milter_connect_timeout, 5);
	assert_int_equal(c.milter_command_timeout, 60);
	assert_int_equal(c.milter_content_timeout, 600);
	config_free(&c);
	load_err("[inbound]\nmilters = inet:rspamd:11332\n", 2, "bad value for milters: "
	    "'inet:rspamd:11332' ('inet:rspamd:11332': 'rspamd' is no IP address (names other "
	    "than localhost are not looked up))");
	bad_value("inbound", "milters", "127.0.0.1:11332");
	bad_value("inbound", "milters", "inet:127.0.0.1:11332,");
	bad_value("inbound", "milters", "unix:milter.sock");
	bad_value("inbound", "submission_milters", "inet:127.0.0.1");
	bad_value("inbound", "milter_default_action", "reject");
	bad_value("inbound", "milter_default_action", "");
	bad_value("inbound", "milter_content_timeout", "0");
	bad_value("inbound", "milter_connect_timeout", "2h");
}

static void
test_listen_lists(void **state)
{
	struct config c;

	load_ok("[listen]\nsmtp = [::1]:2525, 127.0.0.1:2525 ,[2001:db8::1]:25\n"
	    "pop3 =\n", &c);
	const struct listen_list *l = &c.listen[SVC_SMTP];
	assert_int_equal(l->n, 3);

	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l->v[0].ss;
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 2525);
	assert_true(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	assert_int_equal(l->v[0].sslen, sizeof(struct sockaddr_in6));
	assert_string_equal(l->v[0].text, "[::1]:2525");

	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&l->v[1].ss;
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 2525);
	assert_int_equal(ntohl(s4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(l->v[1].sslen, sizeof(struct sockaddr_in));
	assert_string_equal(l->v[1].text, "127.0.0.1:2525");

	s6 = (const struct sockaddr_in6 *)&l->v[2].ss;
	assert_int_equal(s6->sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(s6->sin6_addr.s6_addr[15], 1);
	assert_int_equal(ntohs(s6->sin6_port), 25);

	assert_int_equal(c.listen[SVC_POP3].n, 0); /* empty: off */
	assert_int_equal(c.listen[SVC_SUBMISSION].n, 0); /* absent: off */
	assert_int_equal(c.listen[SVC_HTTPS].n, 0);      /* off by default */
	assert_int_equal(c.listen[SVC_HTTP].n, 0);
	assert_int_equal(c.listen[SVC_METRICS].n, 0);
	config_free(&c);
}

static void
test_unknown_and_syntax(void **state)
{
	load_err("[server]\nhostname = mx.example.test\nfoo = 1\n", 3,
	    "unknown key 'foo' in [server]");
	load_err("[limits]\n\nmax_message_sizes = 1M\n", 3,
	    "unknown key 'max_message_sizes' in [limits]");
	load_err("[server]\n[bogus]\n", 2, "unknown section [bogus]");
	load_err("[bogus]\nfoo = 1\n", 1, "unknown section [bogus]");
	load_err("\xef\xbb\xbf[bogus]\n", 1, "unknown section [bogus]");
	load_err("hostname = mx.example.test\n", 1, "key 'hostname' outside of any [section]");
	load_err("[server]\nhostname\n", 2,
	    "syntax error (expected [section] or key = value)");
	load_err("[server\n", 1, "syntax error (expected [section] or key = value)");
	load_err("[limits]\nmax_recipients = 5\nmax_recipients = 6\n", 3,
	    "duplicate key 'max_recipients' in [limits] (first on line 2)");
	/* the first problem is reported, not a later one */
	load_err("[limits]\nmax_recipients = x\nfoo = 1\n", 2, "bad value for max_recipients: 'x'");
}

static void
test_missing_file(void **state)
{
	struct config c;
	char err[512], want[512], path[256];

	snprintf(path, sizeof path, "%s/nope.conf", tmpdir);
	snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
	assert_int_equal(config_load(path, &c, err, sizeof err), -1);
	assert_string_equal(err, want);
	config_free(&c);
}

static void
test_bad_values(void **state)
{
	bad_value("server", "hostname", "bad_host!");
	bad_value("server", "hostname", "-x.example");
	bad_value("server", "data_dir", "relative/path");
	bad_value("server", "data_dir", "");
	bad_value("server", "user", "two words");
	bad_value("server", "user", "-rf");
	bad_value("server", "log", "file");
	bad_value("tls", "cert", "cert.pem");

	bad_value("listen", "smtp", "1.2.3.4");
	bad_value("listen", "smtp", "1.2.3.4:0");
	bad_value("listen", "smtp", "1.2.3.4:65536");
	bad_value("listen", "metrics", "localhost:9125");
	bad_value("listen", "metrics", "127.0.0.1");
	bad_value("listen", "smtp", "1.2.3.4:25x");
	bad_value("listen", "smtp", "localhost:25");
	bad_value("listen", "smtp", "[::1]25");
	bad_value("listen", "smtp", "::1:25");
	bad_value("listen", "smtp", "[1.2.3.4]:25");
	bad_value("listen", "smtp", "1.2.3.4:25,");
	bad_value("listen", "smtp", "1.2.3.4:25,,[::]:25");
	bad_value("listen", "smtp", "1.2.3.999:25");

	bad_value("relay", "trusted_networks", "10.0.0.0/33");
	bad_value("relay", "trusted_networks", "::1/129");
	bad_value("relay", "trusted_networks", "10.0.0.0/");
	bad_value("relay", "trusted_networks", "10.0.0.0/8x");
	bad_value("relay", "trusted_networks", "example.com");
	bad_value("relay", "trusted_networks", "10.0.0.0/8,");
	bad_value("relay", "relayhost", "a:b:c");
	bad_value("relay", "relayhost", "smart_host:25");
	bad_value("relay", "relayhost", "smarthost:0");
	bad_value("relay", "relayhost", "[smarthost:25");

	bad_value("delivery", "relayhost_tls", "yes");
	bad_value("delivery", "relayhost_tls", "");
	bad_value("delivery", "relayhost_tls", "VERIFY");
	bad_value("delivery", "tls_ca_file", "ca.pem");
	bad_value("delivery", "dane", "dane-only");
	bad_value("delivery", "dnssec_trust_anchor", "root.key");
	bad_value("delivery", "dnssec_trust_anchor", "");
	bad_value("delivery", "resolver", "dns.example.net");
	bad_value("delivery", "resolver", "127.0.0.1:0");
	bad_value("delivery", "resolver", "");
	bad_value("delivery", "remote_port", "0");
	bad_value("delivery", "remote_port", "65536");
	bad_value("delivery", "remote_port", "-1");
	bad_value("delivery", "retry_min", "5x");
	bad_value("delivery", "retry_min", "0");
	bad_value("delivery", "retry_max", "");
	bad_value("delivery", "max_queue_lifetime", "366d");
	bad_value("delivery", "concurrency", "0");
	bad_value("delivery", "concurrency", "2.5");
	bad_value("delivery", "mx_address_limit", "1001");
	bad_value("delivery", "mx_address_limit", "-1");

	bad_value("limits", "max_message_size", "x");
	bad_value("limits", "max_message_size", "1T");
	bad_value("limits", "max_message_size", "100"); /* below 1K */
	bad_value("limits", "max_message_size", "17G");
	bad_value("limits", "max_recipients", "0");
	bad_value("limits", "max_recipients", "-1");
	bad_value("limits", "max_recipients", "100001");
	bad_value("limits", "max_recipients", "99999999999999999999999");
	bad_value("limits", "max_connections", "lots");
	bad_value("limits", "max_connections_per_ip", "1K");
	bad_value("limits", "command_timeout", "2d");
	bad_value("limits", "min_data_rate", "0");
	bad_value("limits", "connection_prefix_v4", "33");
	bad_value("limits", "connection_prefix_v6", "129");
	bad_value("limits", "max_auth_failures", "");
	bad_value("limits", "max_hops", "0");
	bad_value("limits", "max_hops", "1001");
	bad_value("limits", "vacation_interval", "0");
	bad_value("limits", "vacation_interval", "366d");
	bad_value("limits", "vacation_interval", "a week");
}

/* [tls] min_protocol, ciphers, sni (a list that may go on over several lines), MTA-STS. */
static void
test_tls_keys(void **state)
{
	struct config c;

	config_defaults(&c);
	assert_int_equal(c.tls_min_version, 0x0303); /* TLS1_2_VERSION */
	assert_string_equal(c.tls_ciphers,
	    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!DSS");
	assert_int_equal(c.ntls_sni, 0);
	assert_string_equal(c.mta_sts_mode, "testing");
	assert_int_equal(c.mta_sts_max_age, 7 * 86400);
	config_free(&c);

	load_ok("[tls]\ncert = /c.pem\nkey = /k.pem\nmin_protocol = TLSv1.3\n"
	    "ciphers = ECDHE+AESGCM\n"
	    "sni = Mail.Customer.Example:/etc/a.pem:/etc/a.key, *.hosted.example:/b:/bk\n"
	    "mta_sts_mode = enforce\nmta_sts_max_age = 1d\n"
	    "sni = other.example:/etc/o.pem:/etc/o.key\n", &c);
	assert_int_equal(c.tls_min_version, 0x0304);
	assert_string_equal(c.tls_ciphers, "ECDHE+AESGCM");
	assert_int_equal(c.ntls_sni, 3);
	assert_string_equal(c.tls_sni[0].name, "mail.customer.example");
	assert_string_equal(c.tls_sni[0].cert, "/etc/a.pem");
	assert_string_equal(c.tls_sni[0].key, "/etc/a.key");
	assert_string_equal(c.tls_sni[1].name, "*.hosted.example");
	assert_string_equal(c.tls_sni[1].cert, "/b");
	assert_string_equal(c.tls_sni[1].key, "/bk");
	assert_string_equal(c.tls_sni[2].name, "other.example");
	assert_string_equal(c.tls_sni[2].key, "/etc/o.key");
	assert_string_equal(c.mta_sts_mode, "enforce");
	assert_int_equal(c.mta_sts_max_age, 86400);
	config_free(&c);
	load_ok("[tls]\nmin_protocol = TLSv1.2\nsni =\nmta_sts_mode = none\n", &c);
	assert_int_equal(c.tls_min_version, 0x0303);
	assert_int_equal(c.ntls_sni, 0);
	assert_string_equal(c.mta_sts_mode, "none");
	config_free(&c);

	/* Older protocols cannot be asked for; the names are OpenSSL's. */
	load_err("[tls]\nmin_protocol = TLSv1.1\n", 2,
	    "bad value for min_protocol: 'TLSv1.1' (TLSv1.2 or TLSv1.3)");
	bad_value("tls", "min_protocol", "TLSv1");
	bad_value("tls", "min_protocol", "tlsv1.2");
	bad_value("tls", "min_protocol", "1.2");
	bad_value("tls", "ciphers", "");
	bad_value("tls", "sni", "mail.example");
	bad_value("tls", "sni", "mail.example:/a");
	bad_value("tls", "sni", "mail.example:/a:/b:/c");
	bad_value("tls", "sni", "mail.example:a.pem:/b");
	bad_value("tls", "sni", "mail.example:/a:b.key");
	bad_value("tls", "sni", "bad_name!:/a:/b");
	bad_value("tls", "sni", "mail.example :/a:/b");
	bad_value("tls", "sni", "*.com:/a:/b");
	bad_value("tls", "sni", "a.*.example:/a:/b");
	bad_value("tls", "sni", "*:/a:/b");
	bad_value("tls", "sni", "mail.example:/a:/b,");
	bad_value("tls", "sni", "a.example:/a:/b, A.Example:/c:/d");
	bad_value("tls", "mta_sts_mode", "strict");
	bad_value("tls", "mta_sts_mode", "Testing");
	bad_value("tls", "mta_sts_mode", "");
	bad_value("tls", "mta_sts_max_age", "0");
	bad_value("tls", "mta_sts_max_age", "366d");
	load_err("[tls]\nsni = a.example:/a:/b\n", 2, "[tls] sni needs [tls] cert and key");
	load_err("[tls]\ncert = /c\nkey = /k\nsni = a.example:/a:/b\nsni = a.example:/c:/d\n", 5,
	    "bad value for sni: 'a.example:/c:/d' (a.example is listed twice)");
	/* Other keys stay single. */
	load_err("[tls]\nmin_protocol = TLSv1.2\nmin_protocol = TLSv1.3\n", 3,
	    "duplicate key 'min_protocol' in [tls] (first on line 2)");
}

/* [accounts]: the backend, and a dsn parsed (never connected to) when read. */
static void
test_accounts(void **state)
{
	struct config cfg;

	load_ok("", &cfg);
	assert_int_equal(cfg.accounts_backend, ACCOUNTS_SQLITE);
	assert_null(config_accounts_dsn(&cfg));
	config_free(&cfg);
	load_ok("[accounts]\nbackend = postgresql\ndsn = host=db1,db2 dbname=m"
	    " target_session_attrs=read-write\n", &cfg);
	assert_int_equal(cfg.accounts_backend, ACCOUNTS_POSTGRESQL);
	assert_string_equal(config_accounts_dsn(&cfg),
	    "host=db1,db2 dbname=m target_session_attrs=read-write");
	config_free(&cfg);
	/* a dsn kept for later is no error while the backend is sqlite; it is not used */
	load_ok("[accounts]\ndsn = dbname=m\n", &cfg);
	assert_null(config_accounts_dsn(&cfg));
	config_free(&cfg);
	bad_value("accounts", "backend", "mysql");
	bad_value("accounts", "dsn", "host = 'unterminated");
	bad_value("accounts", "dsn", "nokey");
	load_err("[accounts]\nbackend = postgresql\n", 2,
	    "[accounts] backend = postgresql needs a dsn (a libpq connection string)");
}

static void
test_range_message(void **state)
{
	load_err("[limits]\nmax_recipients = 0\n", 2,
	    "bad value for max_recipients: '0' (must be between 1 and 100000)");
	load_err("[limits]\nmax_message_size = 17G\n", 2,
	    "bad value for max_message_size: '17G' (must be between 1K and 16G)");
	load_err("[limits]\ncommand_timeout = 2d\n", 2,
	    "bad value for command_timeout: '2d' (must be between 1s and 1d)");
}

static void
test_cross_checks(void **state)
{
	load_err("[delivery]\nretry_min = 2h\n", 2, "retry_min (2h) is greater than retry_max (1h)");
	load_err("[delivery]\nretry_max = 1m\n\n", 2,
	    "retry_min (5m) is greater than retry_max (1m)");
	load_err("[delivery]\nretry_max = 1m\nretry_min = 90s\n", 3,
	    "retry_min (90s) is greater than retry_max (1m)");
	load_err("[tls]\ncert = /a/cert.pem\n", 2, "[tls] cert and key must be set together");
	load_err("[tls]\nkey = /a/key.pem\ncert =\n", 3, "[tls] cert and key must be set together");
	load_err("[listen]\nsubmissions = 0.0.0.0:465\n", 2,
	    "[listen] submissions needs [tls] cert and key, or [acme]");
	load_err("[listen]\n\npop3s = 0.0.0.0:995\n", 3, "[listen] pop3s needs [tls] cert and key, or [acme]");
	load_err("[listen]\nhttps = 0.0.0.0:443\n", 2, "[listen] https needs [tls] cert and key, or [acme]");

	struct config c;
	load_ok("[delivery]\nretry_min = 1h\nretry_max = 60m\n", &c);
	assert_int_equal(c.retry_min, c.retry_max);
	config_free(&c);
	load_ok("[tls]\ncert = /a/c.pem\nkey = /a/k.pem\n[listen]\nsubmissions = 0.0.0.0:465\n",
	    &c);
	config_free(&c);
}

static void
test_log_dest(void **state)
{
	struct config c;

	load_ok("[server]\nlog = journal\n", &c);
	assert_int_equal(c.log_dest, LOG_TO_JOURNAL);
	config_free(&c);
	load_ok("[server]\nlog = stderr\n", &c);
	assert_int_equal(c.log_dest, LOG_TO_STDERR);
	config_free(&c);
	load_err("[server]\nlog = Journal\n", 2,
	    "bad value for log: 'Journal' (stderr, syslog or journal)");
}

static void
test_comments(void **state)
{
	struct config c;

	load_ok("; a comment\n"
	    "# another\n"
	    "   ; indented comment\n"
	    "[limits]                 ; a section with a comment\n"
	    "max_recipients = 50      ; inline after blanks\n"
	    "max_connections = 60\t# hash comment after a tab\n"
	    "   max_auth_failures = 4\n"
	    "                         ; a continuation comment, not a value\n"
	    "[relay]\n"
	    "relayhost =              ; empty: none\n"
	    "trusted_networks = 10.0.0.0/8, ::1 ; two networks\n", &c);
	assert_int_equal(c.max_recipients, 50);
	assert_int_equal(c.max_connections, 60);
	assert_int_equal(c.max_auth_failures, 4);
	assert_null(c.relayhost);
	assert_int_equal(c.ntrusted, 2);
	config_free(&c);

	/* without a blank before it, ';' is part of the value (as inih has it) */
	load_err("[limits]\nmax_recipients = 50;x\n", 2, "bad value for max_recipients: '50;x'");
	load_err("[limits]\nmax_recipients = 50#x\n", 2, "bad value for max_recipients: '50#x'");
}

static void
test_crlf_and_long_lines(void **state)
{
	struct config c;

	load_ok("\xef\xbb\xbf[limits]\r\nmax_recipients = 42\r\n", &c);
	assert_int_equal(c.max_recipients, 42);
	config_free(&c);

	char text[600];
	memset(text, 0, sizeof text);
	strcpy(text, "[server]\nhostname = ");
	memset(text + strlen(text), 'a', 300);
	strcat(text, "\n");
	load_err(text, 2, "line too long (at most 198 octets without comments)");

	/* long comments do not count */
	strcpy(text, "[limits]\nmax_recipients = 7 ;");
	memset(text + strlen(text), 'c', 400);
	strcat(text, "\n");
	load_ok(text, &c);
	assert_int_equal(c.max_recipients, 7);
	config_free(&c);
}

static void
test_relayhost_and_resolver(void **state)
{
	struct config c;

	load_ok("[relay]\nrelayhost = smtp.example.net\n[delivery]\nresolver = ::1\n", &c);
	assert_string_equal(c.relayhost, "smtp.example.net:25");
	assert_string_equal(c.resolver, "::1");
	config_free(&c);
	load_ok("[relay]\nrelayhost = [10.0.0.1]:2525\n[delivery]\nresolver = [::1]:53\n", &c);
	assert_string_equal(c.relayhost, "[10.0.0.1]:2525");
	assert_string_equal(c.resolver, "[::1]:53");
	config_free(&c);
	load_ok("[relay]\nrelayhost = [2001:db8::1]:587\n[delivery]\nresolver = 10.1.1.1\n", &c);
	assert_string_equal(c.relayhost, "[2001:db8::1]:587");
	assert_string_equal(c.resolver, "10.1.1.1");
	config_free(&c);
	load_ok("[delivery]\nresolver = system\n", &c);
	assert_null(c.resolver);
	config_free(&c);
}

static bool
trusted4(const struct config *c, const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return config_is_trusted(c, (struct sockaddr *)&sin);
}

static bool
trusted6(const struct config *c, const char *ip)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return config_is_trusted(c, (struct sockaddr *)&sin6);
}

static void
test_trusted_networks(void **state)
{
	struct config c;

	load_ok("[relay]\ntrusted_networks = 10.1.2.3/8, 192.168.1.7, 172.16.0.0/20,"
	    " 2001:db8::/32, ::1\n", &c);
	assert_int_equal(c.ntrusted, 5);
	assert_true(trusted4(&c, "10.0.0.1"));
	assert_true(trusted4(&c, "10.255.255.255"));
	assert_false(trusted4(&c, "11.0.0.1"));
	assert_false(trusted4(&c, "9.255.255.255"));
	assert_true(trusted4(&c, "192.168.1.7"));
	assert_false(trusted4(&c, "192.168.1.8"));
	assert_true(trusted4(&c, "172.16.15.255"));
	assert_false(trusted4(&c, "172.16.16.0"));
	assert_false(trusted4(&c, "127.0.0.1"));
	assert_true(trusted6(&c, "2001:db8:1::5"));
	assert_true(trusted6(&c, "2001:db8:ffff:ffff::1"));
	assert_false(trusted6(&c, "2001:db9::1"));
	assert_true(trusted6(&c, "::1"));
	assert_false(trusted6(&c, "::2"));
	/* IPv4 clients of a dual-stack listener */
	assert_true(trusted6(&c, "::ffff:10.9.9.9"));
	assert_false(trusted6(&c, "::ffff:11.0.0.1"));
	assert_false(config_is_trusted(&c, NULL));
	config_free(&c);

	load_ok("[relay]\ntrusted_networks =\n", &c);
	assert_int_equal(c.ntrusted, 0);
	assert_false(trusted4(&c, "127.0.0.1"));
	assert_false(trusted6(&c, "::1"));
	config_free(&c);

	load_ok("[relay]\ntrusted_networks = 0.0.0.0/0\n", &c);
	assert_true(trusted4(&c, "203.0.113.9"));
	assert_true(trusted6(&c, "::ffff:203.0.113.9"));
	assert_false(trusted6(&c, "2001:db8::1"));
	config_free(&c);

	/* the defaults: loopback of both families */
	config_defaults(&c);
	assert_true(trusted4(&c, "127.0.0.1"));
	assert_true(trusted4(&c, "127.1.2.3"));
	assert_false(trusted4(&c, "128.0.0.1"));
	assert_true(trusted6(&c, "::1"));
	assert_true(trusted6(&c, "::ffff:127.0.0.1"));
	assert_false(trusted6(&c, "fe80::1"));
	config_free(&c);
}

static void
test_config_path(void **state)
{
	unsetenv("MAILROOM_CONFIG");
	assert_string_equal(config_path(NULL), CONFIG_DEFAULT_PATH);
	assert_string_equal(config_path("/x.conf"), "/x.conf");
	setenv("MAILROOM_CONFIG", "/env.conf", 1);
	assert_string_equal(config_path(NULL), "/env.conf");
	assert_string_equal(config_path("/x.conf"), "/x.conf");
	setenv("MAILROOM_CONFIG", "", 1);
	assert_string_equal(config_path(NULL), CONFIG_DEFAULT_PATH);
	unsetenv("MAILROOM_CONFIG");
}

static void
test_service_names(void **state)
{
	assert_string_equal(service_name(SVC_SMTP), "smtp");
	assert_string_equal(service_name(SVC_SUBMISSION), "submission");
	assert_string_equal(service_name(SVC_SUBMISSIONS), "submissions");
	assert_string_equal(service_name(SVC_POP3), "pop3");
	assert_string_equal(service_name(SVC_POP3S), "pop3s");
	assert_string_equal(service_name(SVC_HTTPS), "https");
	assert_string_equal(service_name(SVC_HTTP), "http");
	assert_string_equal(service_name(SVC_METRICS), "metrics");
}

/* [acme]: the keys, and the listeners the chosen challenge needs. */
static void
test_acme(void **state)
{
	struct config c;

	load_ok("[listen]\nhttp = 127.0.0.1:80\nhttps = 127.0.0.1:443\n"
	    "[acme]\ndirectory = https://acme.example/dir\nemail = admin@example.org\n"
	    "names = MX.example.org, mta-sts.example.org\nca_file = /etc/ca.pem\n"
	    "renew_before = 10d\n", &c);
	assert_string_equal(c.acme_directory, "https://acme.example/dir");
	assert_string_equal(c.acme_email, "admin@example.org");
	assert_int_equal(c.nacme_names, 2);
	assert_string_equal(c.acme_names[0].name, "mx.example.org");
	assert_string_equal(c.acme_names[1].name, "mta-sts.example.org");
	assert_int_equal(c.acme_challenge, ACME_HTTP01);
	assert_string_equal(c.acme_ca_file, "/etc/ca.pem");
	assert_int_equal(c.acme_renew_before, 10 * 86400);
	config_free(&c);
	load_ok("[listen]\nhttps = 127.0.0.1:443\n[acme]\ndirectory = https://a.example/d\n"
	    "challenge = tls-alpn-01\n", &c);
	assert_int_equal(c.acme_challenge, ACME_TLSALPN01);
	assert_int_equal(c.nacme_names, 0);
	assert_null(c.acme_email);
	config_free(&c);
	load_ok("", &c);
	assert_null(c.acme_directory);
	assert_int_equal(c.acme_renew_before, 30 * 86400);
	config_free(&c);

	load_err("[acme]\ndirectory = http://acme.example/dir\n", 2,
	    "bad value for directory: 'http://acme.example/dir' (expected an https:// URL)");
	load_err("[acme]\nemail = nobody\n", 2,
	    "bad value for email: 'nobody' (expected an address like admin@example.org)");
	load_err("[acme]\nnames = mx.example.org, bad_name!\n", 2,
	    "bad value for names: 'mx.example.org, bad_name!' ('bad_name!' is not a host name)");
	load_err("[acme]\nchallenge = dns-01\n", 2,
	    "bad value for challenge: 'dns-01' (http-01 or tls-alpn-01)");
	load_err("[acme]\ndirectory = https://a.example/d\n", 2,
	    "[acme] challenge http-01 needs [listen] http (or challenge = tls-alpn-01 with "
	    "[listen] https)");
	load_err("[listen]\nhttp = 127.0.0.1:80\n[acme]\ndirectory = https://a.example/d\n"
	    "challenge = tls-alpn-01\n", 5, "[acme] challenge tls-alpn-01 needs [listen] https");
	/* [acme] stands in for [tls] on the implicit-TLS listeners. */
	load_ok("[listen]\nhttp = 127.0.0.1:80\npop3s = 127.0.0.1:995\n"
	    "[acme]\ndirectory = https://a.example/d\n", &c);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file_is_defaults),
		cmocka_unit_test(test_default_strings),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_dkim),
		cmocka_unit_test(test_milters),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_listen_lists),
		cmocka_unit_test(test_unknown_and_syntax),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_range_message),
		cmocka_unit_test(test_tls_keys),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_log_dest),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_crlf_and_long_lines),
		cmocka_unit_test(test_relayhost_and_resolver),
		cmocka_unit_test(test_trusted_networks),
		cmocka_unit_test(test_config_path),
		cmocka_unit_test(test_service_names),
		cmocka_unit_test(test_acme),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
