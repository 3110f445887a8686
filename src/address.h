/* address.h - RFC 5321 mailboxes and paths: parsing and normalisation (pure functions). */
#ifndef MAILROOM_ADDRESS_H
#define MAILROOM_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define ADDR_MAX (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

/* Flags for the parsers. */
#define ADDR_UTF8 0x1 /* accept UTF-8 in local part and domain (SMTPUTF8, RFC 6531) */

struct mailbox {
	char local[ADDR_LOCAL_MAX + 1];   /* as written (quoted form kept), NUL-terminated */
	char domain[ADDR_DOMAIN_MAX + 1]; /* lower-cased ASCII; or an address literal "[...]" */
};

/*
 * address_parse - "local@domain" (no angle brackets), the whole of s[0..len).
 * Local part: dot-atom or quoted-string; domain: dot-separated labels of letters,
 * digits and hyphens (no leading/trailing hyphen), or an address literal
 * "[192.0.2.1]" / "[IPv6:...]". Returns 0, or -1 when malformed or too long.
 */
int address_parse(const char *s, size_t len, struct mailbox *mb, unsigned flags);

/*
 * address_parse_path - a reverse- or forward-path at s: "<local@domain>", the null
 * path "<>" (only when null_ok), or "<@a,@b:local@domain>" (the source route is
 * ignored, RFC 5321 appendix C). *consumed is set to the octets used, so the
 * caller can go on to parameters. Returns 0 (is_null set accordingly) or -1.
 */
int address_parse_path(const char *s, size_t len, struct mailbox *mb, bool null_ok,
    bool *is_null, size_t *consumed, unsigned flags);

/* address_format - "local@domain" into out (at least ADDR_MAX+1 octets). */
void address_format(const struct mailbox *mb, char *out, size_t outlen);

/*
 * address_canonical - the lookup form: ASCII letters lower-cased in both parts,
 * and a "+tag" suffix of the local part removed when strip_tag. out holds
 * ADDR_MAX+1 octets. Returns 0, or -1 when in is not a valid address.
 */
int address_canonical(const char *in, char *out, size_t outlen, bool strip_tag);

/* address_domain - pointer to the domain part of "local@domain" (after the last '@'), or NULL. */
const char *address_domain(const char *addr);

/* address_literal_valid - whether s is "[IPv4]" or "[IPv6:...]" (RFC 5321 4.1.3). */
bool address_literal_valid(const char *s);

/* domain_valid - whether s is a syntactically valid domain name (the config and CLI use it). */
bool domain_valid(const char *s);

#endif
