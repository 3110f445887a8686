/*
 * acmed.c - the ACME role: keeps a certificate from the CA of [acme] directory
 * for [acme] names under data_dir/acme/ (its own user's, 0700; the supervisor
 * opened it as root and handed over the descriptor). It checks at start, on each
 * reload and at least daily; when there is no certificate, the names changed, or
 * renewal is due (acme_cert.h), it orders one (acme_order.h), with httpd giving
 * the challenge responses it sends over their channel, stores it, and tells the
 * supervisor (CTL_ISSUED), which loads it and hands it to the roles that speak
 * TLS as a reload does. A failure is logged, the current certificate stays, and
 * the next attempt comes after a backoff (1 minute, doubling, at most a day).
 * The only role that makes outbound HTTPS requests to the CA; it holds no
 * listener, no mail and no account data.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/sha.h>

#include "acme/acme_cert.h"
#include "acme/acme_chan.h"
#include "acme/acme_order.h"
#include "acme/acme_state.h"
#include "ipc/frame.h"
#include "net/ctl.h"
#include "net/selfsigned.h"
#include "role.h"
#include "util/log.h"

#define DAY (24 * 60 * 60)
#define RETRY_FIRST 60      /* seconds before the first retry */
#define SYNC_WAIT 10        /* seconds httpd has to confirm the challenge responses */
#define ALPN_DAYS 7         /* a tls-alpn-01 certificate's validity */

struct acmed {
	struct config *cfg;
	struct event_base *base;
	int dir;                 /* data_dir/acme */
	int chan;                /* to httpd (acme_chan.h) */
	int ctl_fd;
	struct ctl *ctl;
	struct event *sigs[2];
	struct event *chan_ev;
	struct frame *f;
	bool stop;
	bool recheck;            /* a reload came */
	char *config_text;       /* ... with this configuration (NULL: none came) */
	size_t config_len;
	uint64_t seq;            /* the last sync sent */
	bool synced;             /* httpd answered it */
	unsigned failures;       /* attempts failed in a row */
	struct acme_http *http;  /* during an attempt */
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct acmed *a = arg;

	ev_info("stopping", KN("signal", sig));
	a->stop = true;
}

static void
on_reload(void *arg, const char *config_text, size_t config_len, const struct tls_certs *certs)
{
	struct acmed *a = arg;

	/* Not now: an attempt under way uses the configuration. Kept for the loop. */
	if (config_text != NULL) {
		char *copy = malloc(config_len + 1);
		if (copy == NULL) {
			ev_err("config-reload-failed", KS("error", "out of memory"));
		} else {
			memcpy(copy, config_text, config_len);
			copy[config_len] = '\0';
			free(a->config_text);
			a->config_text = copy;
			a->config_len = config_len;
		}
	}
	a->recheck = true;
}

static void
on_gone(void *arg)
{
	struct acmed *a = arg;

	ev_info("stopping", KS("reason", "supervisor gone"));
	a->stop = true;
}

static void
on_chan(evutil_socket_t fd, short what, void *arg)
{
	struct acmed *a = arg;
	uint16_t type;
	uint64_t seq;

	ssize_t n = recv(fd, a->f->buf, sizeof a->f->buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_del(a->chan_ev);
		return;
	}
	if ((size_t)n <= sizeof a->f->buf && frame_parse(a->f, a->f->buf, (size_t)n, &type) == 0 &&
	    type == ACH_SYNCED && frame_get_u64(a->f, &seq) && frame_end(a->f)) {
		if (seq == a->seq)
			a->synced = true;
	} else {
		ev_warn("control-malformed", KS("peer", "httpd"), KS("what", "acme"));
	}
}

/* ---- the hooks of acme_order.h: challenge responses to httpd ---- */

static int
hook_http01(void *arg, const char *token, const char *keyauth)
{
	struct acmed *a = arg;

	if (acme_chan_http01(a->chan, token, keyauth) < 0) {
		ev_err("acme-error", KS("what", "channel"), KS("error", strerror(errno)));
		return -1;
	}
	return 0;
}

static int
hook_alpn(void *arg, const char *name, const char *keyauth)
{
	struct acmed *a = arg;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	struct tls_pem pem;
	char err[256];

	SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
	if (selfsigned_pem(&name, 1, false, ALPN_DAYS, digest, &pem, err, sizeof err) < 0) {
		ev_err("acme-error", KS("what", "tls-alpn-01"), KS("error", err));
		return -1;
	}
	int rc = acme_chan_alpn(a->chan, name, pem.cert, pem.key);
	if (rc < 0)
		ev_err("acme-error", KS("what", "channel"), KS("error", strerror(errno)));
	tls_pem_free(&pem);
	return rc;
}

static int
hook_sync(void *arg)
{
	struct acmed *a = arg;

	a->synced = false;
	if (acme_chan_sync(a->chan, ACH_SYNC, ++a->seq) < 0) {
		ev_err("acme-error", KS("what", "channel"), KS("error", strerror(errno)));
		return -1;
	}
	acme_http_wait(a->http, &a->synced, SYNC_WAIT);
	return a->synced ? 0 : -1;
}

static void
hook_clear(void *arg)
{
	struct acmed *a = arg;

	if (acme_chan_clear(a->chan) < 0)
		ev_warn("acme-error", KS("what", "channel"), KS("error", strerror(errno)));
}

/* ---- the certificate ---- */

static void
fmt_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* names_of - [acme] names, or the hostname alone. */
static size_t
names_of(const struct config *cfg, const char **names)
{
	if (cfg->nacme_names == 0) {
		names[0] = cfg->hostname;
		return 1;
	}
	for (size_t i = 0; i < cfg->nacme_names; i++)
		names[i] = cfg->acme_names[i].name;
	return cfg->nacme_names;
}

static void
names_text(const char *const *names, size_t n, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < outlen; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* account_key - acme/account.key, made when missing. NULL with err. */
static EVP_PKEY *
account_key(struct acmed *a, char *err, size_t errlen)
{
	char *pem;
	size_t len;
	EVP_PKEY *k = NULL;

	int rc = acme_state_read(a->dir, ACME_ACCOUNT_KEY, &pem, &len, err, errlen);
	if (rc < 0)
		return NULL;
	if (rc == 0) {
		k = acme_key_read(pem, len);
		OPENSSL_cleanse(pem, len);
		free(pem);
		if (k == NULL)
			snprintf(err, errlen, "acme/%s: not a PEM private key", ACME_ACCOUNT_KEY);
		return k;
	}
	if ((k = acme_key_new()) == NULL || (pem = acme_key_pem(k, &len)) == NULL) {
		snprintf(err, errlen, "cannot make an account key");
		EVP_PKEY_free(k);
		return NULL;
	}
	rc = acme_state_write(a->dir, ACME_ACCOUNT_KEY, pem, len, 0600, err, errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (rc < 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	ev_info("acme-account-key", KS("file", ACME_STATE_DIR "/" ACME_ACCOUNT_KEY));
	return k;
}

/*
 * current - what the stored certificate says for names; false when there is
 * none that fits (why says so).
 */
static bool
current(struct acmed *a, const char *const *names, size_t n, struct acme_cert_info *info,
    char *why, size_t whylen)
{
	struct tls_pem pem;
	char err[256];
	bool ok = false;

	int rc = acme_state_load_pem(a->dir, &pem, err, sizeof err);
	if (rc != 0) {
		snprintf(why, whylen, "%s", rc > 0 ? "no certificate yet" : err);
		return false;
	}
	EVP_PKEY *key = acme_key_read(pem.key, pem.keylen);
	if (key == NULL)
		snprintf(why, whylen, "acme/%s is not a PEM private key", ACME_KEY);
	else if (acme_cert_inspect(pem.cert, pem.certlen, key, names, n, info, err, sizeof err) < 0)
		snprintf(why, whylen, "acme/%s: %s", ACME_CERT, err);
	else if (!info->key_ok)
		snprintf(why, whylen, "acme/%s does not fit acme/%s", ACME_CERT, ACME_KEY);
	else if (!info->names_ok)
		snprintf(why, whylen, "the names changed");
	else
		ok = true;
	EVP_PKEY_free(key);
	tls_pem_free(&pem);
	return ok;
}

/* attempt - order a certificate for names and store it. 0, or -1 with err. */
static int
attempt(struct acmed *a, const char *const *names, size_t n, struct acme_cert_info *info,
    char *err, size_t errlen)
{
	const struct config *cfg = a->cfg;
	struct acme_hooks hooks = { a, hook_http01, hook_alpn, hook_sync, hook_clear };
	char *chain = NULL, *keypem = NULL;
	size_t keylen = 0;
	EVP_PKEY *certkey = NULL;
	int rc = -1;

	EVP_PKEY *account = account_key(a, err, errlen);
	if (account == NULL)
		return -1;
	if ((a->http = acme_http_new(a->base, cfg->acme_ca_file, &a->stop, err, errlen)) == NULL)
		goto out;
	if ((certkey = acme_key_new()) == NULL || (keypem = acme_key_pem(certkey, &keylen)) == NULL) {
		snprintf(err, errlen, "cannot make a key");
		goto out;
	}
	struct acme_client c = { .http = a->http, .account = account, .email = cfg->acme_email,
		.type = cfg->acme_challenge, .hooks = &hooks };
	if (acme_obtain(&c, cfg->acme_directory, names, n, certkey, &chain, err, errlen) < 0)
		goto out;
	if (acme_cert_inspect(chain, strlen(chain), certkey, names, n, info, err, errlen) < 0)
		goto out;
	if (!info->key_ok || !info->names_ok) {
		snprintf(err, errlen, "the CA's certificate does not fit our %s",
		    info->key_ok ? "names" : "key");
		goto out;
	}
	/* The key first: a certificate in place always has its key beside it. */
	if (acme_state_write(a->dir, ACME_KEY, keypem, keylen, 0600, err, errlen) < 0 ||
	    acme_state_write(a->dir, ACME_CERT, chain, strlen(chain), 0600, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	acme_http_free(a->http);
	a->http = NULL;
	if (keypem != NULL)
		OPENSSL_cleanse(keypem, keylen);
	free(keypem);
	free(chain);
	EVP_PKEY_free(certkey);
	EVP_PKEY_free(account);
	return rc;
}

/* check - get a certificate when one is due; the seconds until the next check. */
static unsigned
check(struct acmed *a)
{
	const char *names[101];
	char list[2048], why[512], err[1024], t1[40], t2[40];
	struct acme_cert_info info;
	time_t now = time(NULL);

	size_t n = names_of(a->cfg, names);
	names_text(names, n, list, sizeof list);
	if (current(a, names, n, &info, why, sizeof why)) {
		time_t due = acme_renew_at(info.not_before, info.not_after, a->cfg->acme_renew_before);
		if (now < due) {
			fmt_time(info.not_after, t1, sizeof t1);
			fmt_time(due, t2, sizeof t2);
			ev_info("acme-valid", KS("names", list), KS("not_after", t1), KS("renew_from", t2));
			a->failures = 0;
			return due - now < DAY ? (unsigned)(due - now) : DAY;
		}
		snprintf(why, sizeof why, "renewal is due");
	}
	ev_info("acme-order", KS("names", list), KS("reason", why), KS("ca", a->cfg->acme_directory));
	if (attempt(a, names, n, &info, err, sizeof err) < 0) {
		if (a->stop)
			return 0;
		unsigned wait = RETRY_FIRST;
		for (unsigned i = 0; i < a->failures && wait < DAY; i++)
			wait *= 2;
		if (wait > DAY)
			wait = DAY;
		a->failures++;
		ev_err("acme-failed", KS("names", list), KS("error", err), KN("retry", wait));
		return wait;
	}
	a->failures = 0;
	fmt_time(info.not_after, t1, sizeof t1);
	ev_info("acme-issued", KS("names", list), KS("not_after", t1));
	if (ctl_send_issued(a->ctl_fd) < 0)
		ev_err("acme-error", KS("what", "supervisor"), KS("error", strerror(errno)));
	time_t due = acme_renew_at(info.not_before, info.not_after, a->cfg->acme_renew_before);
	return due - now < RETRY_FIRST ? RETRY_FIRST : due - now < DAY ? (unsigned)(due - now) : DAY;
}

int
acmed_main(const struct role_env *env)
{
	struct acmed a = { .cfg = env->cfg, .dir = env->acme_dir_fd, .chan = env->acme_fd,
		.ctl_fd = env->ctl_fd };
	static const int signums[2] = { SIGTERM, SIGINT };
	int rc = 1;

	if (role_begin("acmed", env, &a.base, NULL) < 0)
		goto out;
	if (a.dir < 0 || a.chan < 0 || (a.f = malloc(sizeof *a.f)) == NULL) {
		ev_err("start-failed", KS("error", "started without its directory or channel"));
		goto out;
	}
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		a.sigs[i] = evsignal_new(a.base, signums[i], on_signal, &a);
		if (a.sigs[i] == NULL || event_add(a.sigs[i], NULL) < 0)
			goto out;
	}
	evutil_make_socket_nonblocking(a.chan);
	a.chan_ev = event_new(a.base, a.chan, EV_READ | EV_PERSIST, on_chan, &a);
	if (a.chan_ev == NULL || event_add(a.chan_ev, NULL) < 0 ||
	    (a.ctl = ctl_new(a.base, env->ctl_fd, on_reload, on_gone, &a)) == NULL)
		goto out;
	sandbox_state_dir(a.dir);
	sandbox_enter(SANDBOX_ACMED, a.cfg);
	sandbox_probe("acmed", a.cfg);
	ev_info("started");
	while (!a.stop) {
		if (a.config_text != NULL) {
			role_reload_config(&a.cfg, a.config_text, a.config_len);
			free(a.config_text);
			a.config_text = NULL;
		}
		a.recheck = false;
		unsigned next = check(&a);
		if (!a.stop)
			acme_wait(a.base, &a.stop, &a.recheck, next);
	}
	rc = 0;
out:
	ctl_free(a.ctl);
	if (a.chan_ev != NULL)
		event_free(a.chan_ev);
	for (int i = 0; i < 2; i++)
		if (a.sigs[i] != NULL)
			event_free(a.sigs[i]);
	free(a.f);
	free(a.config_text);
	if (a.chan >= 0)
		close(a.chan);
	if (a.dir >= 0)
		close(a.dir);
	role_end(a.base, NULL, a.cfg);
	return rc;
}
