/*
 * dns_records.h - the DNS records a hosted domain needs (pure: the config's
 * facts, the host's addresses and the DKIM keys in; records out), and their
 * zone-file lines. `mailroom dns records` prints them; `mailroom dns check`
 * asks the resolver for each.
 */
#ifndef MAILROOM_DNS_RECORDS_H
#define MAILROOM_DNS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h" /* SVC_COUNT */
#include "util/buf.h"

#define RR_TYPE_A 1
#define RR_TYPE_CNAME 5
#define RR_TYPE_PTR 12
#define RR_TYPE_MX 15
#define RR_TYPE_TXT 16
#define RR_TYPE_AAAA 28
#define RR_TYPE_SRV 33

/* What a record is for: how `dns check` judges what the resolver returns. */
enum dns_rec_kind {
	REC_COMMENT,      /* a "; " line, or an empty line between groups */
	REC_MX,           /* ok when the hostname is among the MX targets */
	REC_SPF,          /* ok when the one v=spf1 record allows every host address */
	REC_DKIM,         /* TXT, by value */
	REC_DMARC,        /* ok when one v=DMARC1 record exists */
	REC_MTA_STS,      /* TXT, by value */
	REC_MTA_STS_HOST, /* CNAME, by value */
	REC_TLSRPT,       /* TXT, by value */
	REC_CLIENT_SETUP, /* CNAME of autoconfig./autodiscover., by value */
	REC_SRV,          /* by value */
	REC_PTR,          /* forward-confirmed reverse DNS of one host address */
};

struct dns_rec {
	enum dns_rec_kind kind;
	char *name;    /* absolute, with the final dot; NULL for a comment */
	uint16_t type; /* RR_TYPE_* */
	/*
	 * TXT: the text itself (unquoted; split into character-strings when printed).
	 * Other types: the rdata in zone-file syntax ("10 mx.example.test.").
	 * Comment: the text after "; " ("" for an empty line).
	 */
	char *value;
	char *addr; /* REC_PTR: the host address (numeric text) the record is for */
};

struct dns_recs {
	struct dns_rec *v;
	size_t n, cap;
};

/* A DKIM public key to publish: selector and the TXT text ("v=DKIM1; k=...; p=..."). */
struct dns_dkim_pub {
	const char *selector;
	const char *txt;
};

struct dns_records_in {
	const char *domain;   /* lower case, no final dot */
	const char *hostname; /* [server] hostname */
	const char *const *addrs; /* the host's addresses, numeric text */
	size_t naddrs;
	bool addrs_from_interfaces; /* the hostname had no A/AAAA: the machine's own */
	uint16_t ports[SVC_COUNT];  /* the port of each service's listener; 0: off */
	const struct dns_dkim_pub *dkim;
	size_t ndkim;
	const char *mta_sts_mode;  /* [tls] mta_sts_mode; NULL: testing */
	uint64_t mta_sts_max_age;  /* seconds; 0: a week */
};

/* dns_records_build - every record (and its explaining comments) into out. 0 or -1. */
int dns_records_build(const struct dns_records_in *in, struct dns_recs *out);
/*
 * dns_records_add_ptrs - a PTR record naming host ("mx.example.test.") for each of
 * addrs appended to l: what the records built without the host's addresses lack.
 */
int dns_records_add_ptrs(const char *host, const char *const *addrs, size_t naddrs,
    struct dns_recs *l);
/* dns_recs_add - one record (name absolute, with the final dot) appended to l. 0 or -1. */
int dns_recs_add(struct dns_recs *l, enum dns_rec_kind kind, const char *name, uint16_t type,
    const char *value);
/* dns_rec_parse_kind - the kind of a record from its label and type; REC_COMMENT: unknown. */
enum dns_rec_kind dns_rec_parse_kind(const char *label, uint16_t type);
void dns_recs_free(struct dns_recs *l);

/* dns_rec_line - r as one zone-file line (no newline) appended to out. 0 or -1. */
int dns_rec_line(const struct dns_rec *r, struct buf *out);

/*
 * dns_txt_strings - text as zone-file character-strings appended to out: quoted,
 * '"' and '\' escaped, other octets outside 0x20-0x7e as \DDD, split into
 * strings of at most 255 octets each; several strings in parentheses. 0 or -1.
 */
int dns_txt_strings(const char *text, struct buf *out);

/* dns_rec_label - "MX", "SPF", "DKIM", "DMARC", "MTA-STS", "TLS-RPT", "SRV", "PTR". */
const char *dns_rec_label(enum dns_rec_kind kind);

/* dns_reverse_name - "1.2.0.192.in-addr.arpa." / nibbles ".ip6.arpa." for addr. 0 or -1. */
int dns_reverse_name(const char *addr, char *out, size_t outlen);

/*
 * dns_mta_sts_policy - the MTA-STS policy (RFC 8461 3.2) the records announce:
 * mode (NULL: testing), the MX hostname, max_age seconds (0: a week).
 */
int dns_mta_sts_policy(const char *mode, const char *hostname, uint64_t max_age,
    struct buf *out);

#endif
