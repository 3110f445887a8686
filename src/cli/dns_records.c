/*
 * dns_records.c - the records `mailroom dns records` prints and `dns check`
 * looks up, built from the config's facts alone (no I/O), and their zone-file
 * syntax.
 */
#include "cli/dns_records.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The policy's lifetime unless configured: a week, as RFC 8461 3.2 suggests for a settled policy. */
#define MTA_STS_MAX_AGE 604800

const char *
dns_rec_label(enum dns_rec_kind kind)
{
	switch (kind) {
	case REC_MX: return "MX";
	case REC_SPF: return "SPF";
	case REC_DKIM: return "DKIM";
	case REC_DMARC: return "DMARC";
	case REC_MTA_STS:
	case REC_MTA_STS_HOST: return "MTA-STS";
	case REC_TLSRPT: return "TLS-RPT";
	case REC_CLIENT_SETUP: return "AUTOCONFIG";
	case REC_SRV: return "SRV";
	case REC_PTR: return "PTR";
	case REC_COMMENT: break;
	}
	return "";
}

enum dns_rec_kind
dns_rec_parse_kind(const char *label, uint16_t type)
{
	/* MTA-STS labels two kinds: the policy's TXT and the policy host's CNAME. */
	if (strcmp(label, "MTA-STS") == 0)
		return type == RR_TYPE_CNAME ? REC_MTA_STS_HOST : REC_MTA_STS;
	for (enum dns_rec_kind k = REC_MX; k <= REC_PTR; k++)
		if (strcmp(label, dns_rec_label(k)) == 0)
			return k;
	return REC_COMMENT;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *
vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/* add - one record (name NULL: a comment); the value is a printf format. */
static int
add(struct dns_recs *l, enum dns_rec_kind kind, const char *name, uint16_t type,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
add(struct dns_recs *l, enum dns_rec_kind kind, const char *name, uint16_t type,
    const char *fmt, ...)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct dns_rec *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct dns_rec *r = &l->v[l->n];
	va_list ap;
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->type = type;
	va_start(ap, fmt);
	r->value = vformat(fmt, ap);
	va_end(ap);
	if (r->value == NULL || (name != NULL && (r->name = strdup(name)) == NULL)) {
		free(r->value);
		return -1;
	}
	l->n++;
	return 0;
}

#define COMMENT(l, ...) add(l, REC_COMMENT, NULL, 0, __VA_ARGS__)

int
dns_recs_add(struct dns_recs *l, enum dns_rec_kind kind, const char *name, uint16_t type,
    const char *value)
{
	return add(l, kind, name, type, "%s", value);
}

void
dns_recs_free(struct dns_recs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
		free(l->v[i].addr);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

int
dns_reverse_name(const char *addr, char *out, size_t outlen)
{
	unsigned char b[16];
	struct buf w = { 0 };
	int rc = -1;

	if (inet_pton(AF_INET, addr, b) == 1) {
		rc = buf_printf(&w, "%u.%u.%u.%u.in-addr.arpa.", b[3], b[2], b[1], b[0]);
	} else if (inet_pton(AF_INET6, addr, b) == 1) {
		static const char hex[] = "0123456789abcdef";
		rc = 0;
		for (int i = 15; i >= 0 && rc == 0; i--)
			rc = buf_printf(&w, "%c.%c.", hex[b[i] & 15], hex[b[i] >> 4]);
		if (rc == 0)
			rc = buf_printf(&w, "ip6.arpa.");
	}
	if (rc == 0 && w.len >= outlen)
		rc = -1;
	if (rc == 0)
		memcpy(out, w.data, w.len + 1);
	buf_free(&w);
	return rc;
}

int
dns_mta_sts_policy(const char *mode, const char *hostname, uint64_t max_age, struct buf *out)
{
	/* testing by default: reports, no refusals, until the certificate is known to be right. */
	return buf_printf(out, "version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: %llu\r\n",
	    mode ? mode : "testing", hostname,
	    (unsigned long long)(max_age ? max_age : MTA_STS_MAX_AGE));
}

/* mta_sts_id - the first 32 hex digits of the policy's SHA-256: changes with it. */
static int
mta_sts_id(const struct buf *policy, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(policy->data, policy->len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16)
		return -1;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

static bool
is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* host_mechanisms - " ip4:A ip6:B" for every host address. */
static int
host_mechanisms(const struct dns_records_in *in, struct buf *out)
{
	for (size_t i = 0; i < in->naddrs; i++)
		if (buf_printf(out, " %s:%s", is_v6(in->addrs[i]) ? "ip6" : "ip4", in->addrs[i]) < 0)
			return -1;
	return out->len == 0 ? buf_printf(out, "%s", "") : 0;
}

static int
add_mx_spf(const struct dns_records_in *in, struct dns_recs *l, const char *dom,
    const char *host)
{
	struct buf mech = { 0 };
	int rc = -1;

	if (host_mechanisms(in, &mech) < 0)
		goto out;
	if (COMMENT(l, "Mail exchanger: mail for @%s goes to %s", in->domain, in->hostname) < 0 ||
	    add(l, REC_MX, dom, RR_TYPE_MX, "10 %s", host) < 0 ||
	    COMMENT(l, "%s", "") < 0)
		goto out;
	if (COMMENT(l, "SPF (RFC 7208): the hosts that send mail from @%s", in->domain) < 0)
		goto out;
	if (in->addrs_from_interfaces &&
	    COMMENT(l, "%s has no A/AAAA record: these are this machine's own interface "
	    "addresses; check them", in->hostname) < 0)
		goto out;
	if (add(l, REC_SPF, dom, RR_TYPE_TXT, "v=spf1 mx%s ~all", mech.data) < 0)
		goto out;
	/* One name, one SPF record: when the host is the domain, its record serves both. */
	if (strcmp(in->hostname, in->domain) != 0) {
		if (COMMENT(l, "SPF of the host itself, for its HELO name and its bounces "
		    "(MAILER-DAEMON@%s)", in->hostname) < 0)
			goto out;
		if (in->addrs_from_interfaces)
			rc = add(l, REC_SPF, host, RR_TYPE_TXT, "v=spf1%s -all", mech.data);
		else
			rc = add(l, REC_SPF, host, RR_TYPE_TXT, "v=spf1 a -all");
		if (rc < 0)
			goto out;
	}
	rc = COMMENT(l, "%s", "");
out:
	buf_free(&mech);
	return rc;
}

static int
add_dkim(const struct dns_records_in *in, struct dns_recs *l)
{
	if (COMMENT(l, "DKIM (RFC 6376): the public key of each signing key in use") < 0)
		return -1;
	if (in->ndkim == 0 && COMMENT(l, "(no key to publish yet)") < 0)
		return -1;
	for (size_t i = 0; i < in->ndkim; i++) {
		char name[512];
		snprintf(name, sizeof name, "%s._domainkey.%s.", in->dkim[i].selector, in->domain);
		if (add(l, REC_DKIM, name, RR_TYPE_TXT, "%s", in->dkim[i].txt) < 0)
			return -1;
	}
	return COMMENT(l, "%s", "");
}

static int
add_policies(const struct dns_records_in *in, struct dns_recs *l, const char *host)
{
	char name[512], id[33];
	struct buf policy = { 0 };
	int rc = -1;

	snprintf(name, sizeof name, "_dmarc.%s.", in->domain);
	if (COMMENT(l, "DMARC (RFC 9989): aggregate reports go to postmaster@%s", in->domain) < 0 ||
	    add(l, REC_DMARC, name, RR_TYPE_TXT, "v=DMARC1; p=none; rua=mailto:postmaster@%s",
	    in->domain) < 0 ||
	    COMMENT(l, "p=none only reports. Once the reports show nothing but your own mail, "
	    "raise it to p=quarantine, then to p=reject.") < 0 ||
	    COMMENT(l, "%s", "") < 0)
		goto out;

	if (dns_mta_sts_policy(in->mta_sts_mode, in->hostname, in->mta_sts_max_age, &policy) < 0 ||
	    mta_sts_id(&policy, id) < 0)
		goto out;
	snprintf(name, sizeof name, "_mta-sts.%s.", in->domain);
	if (COMMENT(l, "MTA-STS (RFC 8461): senders require TLS to the MX. Serve this policy at") < 0 ||
	    COMMENT(l, "https://mta-sts.%s/.well-known/mta-sts.txt (a certificate for that name);",
	    in->domain) < 0 ||
	    COMMENT(l, "the id below is derived from it and changes with it ([tls] mta_sts_mode:") < 0 ||
	    COMMENT(l, "enforce once the reports are clean; none to withdraw the policy):") < 0)
		goto out;
	for (char *line = policy.data, *end; *line; line = end + 2) {
		end = strstr(line, "\r\n");
		if (COMMENT(l, "  %.*s", (int)(end - line), line) < 0)
			goto out;
	}
	if (add(l, REC_MTA_STS, name, RR_TYPE_TXT, "v=STSv1; id=%s", id) < 0)
		goto out;
	snprintf(name, sizeof name, "mta-sts.%s.", in->domain);
	if (add(l, REC_MTA_STS_HOST, name, RR_TYPE_CNAME, "%s", host) < 0 ||
	    COMMENT(l, "%s", "") < 0)
		goto out;

	snprintf(name, sizeof name, "_smtp._tls.%s.", in->domain);
	if (COMMENT(l, "TLS-RPT (RFC 8460): senders report TLS failures to tlsrpt@%s "
	    "(make it a mailbox or an alias)", in->domain) < 0 ||
	    add(l, REC_TLSRPT, name, RR_TYPE_TXT, "v=TLSRPTv1; rua=mailto:tlsrpt@%s",
	    in->domain) < 0 ||
	    COMMENT(l, "%s", "") < 0)
		goto out;

	/* Where mail clients look for their settings; httpd answers there ([listen] https). */
	if (COMMENT(l, "Mail client setup: Thunderbird autoconfig and Outlook autodiscover, "
	    "served over https by this host (a certificate for these names):") < 0)
		goto out;
	snprintf(name, sizeof name, "autoconfig.%s.", in->domain);
	if (add(l, REC_CLIENT_SETUP, name, RR_TYPE_CNAME, "%s", host) < 0)
		goto out;
	snprintf(name, sizeof name, "autodiscover.%s.", in->domain);
	if (add(l, REC_CLIENT_SETUP, name, RR_TYPE_CNAME, "%s", host) < 0 ||
	    COMMENT(l, "%s", "") < 0)
		goto out;
	rc = 0;
out:
	buf_free(&policy);
	return rc;
}

static int
add_srv(const struct dns_records_in *in, struct dns_recs *l, const char *host)
{
	/* Implicit TLS first (RFC 8314 5.1): its services get the lower priority number. */
	static const struct {
		const char *label;
		enum service svc;
		unsigned prio;
	} srv[] = {
		{ "_submissions._tcp", SVC_SUBMISSIONS, 0 },
		{ "_submission._tcp", SVC_SUBMISSION, 10 },
		{ "_pop3s._tcp", SVC_POP3S, 0 },
		{ "_pop3._tcp", SVC_POP3, 10 },
	};
	if (COMMENT(l, "Mail client setup (RFC 6186, RFC 8314): where to submit and to fetch "
	    "mail;") < 0 ||
	    COMMENT(l, "\"0 0 0 .\" says the service is not offered") < 0)
		return -1;
	for (size_t i = 0; i < sizeof srv / sizeof srv[0]; i++) {
		char name[512];
		uint16_t port = in->ports[srv[i].svc];
		snprintf(name, sizeof name, "%s.%s.", srv[i].label, in->domain);
		int rc = port ? add(l, REC_SRV, name, RR_TYPE_SRV, "%u 1 %u %s", srv[i].prio, port, host)
		    : add(l, REC_SRV, name, RR_TYPE_SRV, "0 0 0 .");
		if (rc < 0)
			return -1;
	}
	return COMMENT(l, "%s", "");
}

static int
add_ptr(const struct dns_records_in *in, struct dns_recs *l, const char *host)
{
	if (COMMENT(l, "Reverse DNS: each host address names %s, which names it back", in->hostname) < 0 ||
	    COMMENT(l, "(Gmail and Yahoo refuse mail without it). These go in the reverse zone,") < 0 ||
	    COMMENT(l, "which whoever runs the address block (the hosting provider) serves.") < 0)
		return -1;
	return dns_records_add_ptrs(host, in->addrs, in->naddrs, l);
}

int
dns_records_add_ptrs(const char *host, const char *const *addrs, size_t naddrs,
    struct dns_recs *l)
{
	for (size_t i = 0; i < naddrs; i++) {
		char rev[128];
		if (dns_reverse_name(addrs[i], rev, sizeof rev) < 0)
			continue;
		if (add(l, REC_PTR, rev, RR_TYPE_PTR, "%s", host) < 0)
			return -1;
		if ((l->v[l->n - 1].addr = strdup(addrs[i])) == NULL)
			return -1;
	}
	return 0;
}

int
dns_records_build(const struct dns_records_in *in, struct dns_recs *out)
{
	char dom[300], host[300];

	memset(out, 0, sizeof *out);
	snprintf(dom, sizeof dom, "%s.", in->domain);
	snprintf(host, sizeof host, "%s.", in->hostname);
	if (COMMENT(out, "DNS records for %s, served by %s: paste them into the zone of %s,",
	    in->domain, in->hostname, in->domain) < 0 ||
	    COMMENT(out, "then run `mailroom dns check %s`.", in->domain) < 0 ||
	    COMMENT(out, "%s", "") < 0 ||
	    add_mx_spf(in, out, dom, host) < 0 ||
	    add_dkim(in, out) < 0 ||
	    add_policies(in, out, host) < 0 ||
	    add_srv(in, out, host) < 0 ||
	    add_ptr(in, out, host) < 0) {
		dns_recs_free(out);
		return -1;
	}
	return 0;
}

int
dns_txt_strings(const char *text, struct buf *out)
{
	size_t len = strlen(text), nstrings = len == 0 ? 1 : (len + 254) / 255;

	if (nstrings > 1 && buf_printf(out, "( ") < 0)
		return -1;
	for (size_t s = 0; s < nstrings; s++) {
		size_t from = s * 255, to = from + 255 < len ? from + 255 : len;
		if ((s > 0 && buf_putc(out, ' ') < 0) || buf_putc(out, '"') < 0)
			return -1;
		for (size_t i = from; i < to; i++) {
			unsigned char c = (unsigned char)text[i];
			int rc;
			if (c == '"' || c == '\\')
				rc = buf_printf(out, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				rc = buf_printf(out, "\\%03u", c);
			else
				rc = buf_putc(out, (char)c);
			if (rc < 0)
				return -1;
		}
		if (buf_putc(out, '"') < 0)
			return -1;
	}
	return nstrings > 1 ? buf_printf(out, " )") : 0;
}

static const char *
type_name(uint16_t type)
{
	switch (type) {
	case RR_TYPE_A: return "A";
	case RR_TYPE_CNAME: return "CNAME";
	case RR_TYPE_PTR: return "PTR";
	case RR_TYPE_MX: return "MX";
	case RR_TYPE_TXT: return "TXT";
	case RR_TYPE_AAAA: return "AAAA";
	case RR_TYPE_SRV: return "SRV";
	}
	return "TYPE0";
}

int
dns_rec_line(const struct dns_rec *r, struct buf *out)
{
	if (r->kind == REC_COMMENT)
		return r->value[0] ? buf_printf(out, "; %s", r->value) : buf_printf(out, "%s", "");
	if (buf_printf(out, "%s IN %s ", r->name, type_name(r->type)) < 0)
		return -1;
	if (r->type == RR_TYPE_TXT)
		return dns_txt_strings(r->value, out);
	return buf_printf(out, "%s", r->value);
}
