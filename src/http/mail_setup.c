/*
 * mail_setup.c - Thunderbird autoconfig and Outlook autodiscover documents, and
 * the address read out of an autodiscover request (see mail_setup.h).
 */
#include "http/mail_setup.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int
mail_setup_xml_escape(struct buf *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		int rc;
		switch (*p) {
		case '&': rc = buf_printf(out, "&amp;"); break;
		case '<': rc = buf_printf(out, "&lt;"); break;
		case '>': rc = buf_printf(out, "&gt;"); break;
		case '"': rc = buf_printf(out, "&quot;"); break;
		case '\'': rc = buf_printf(out, "&apos;"); break;
		default: rc = buf_putc(out, *p); break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* element - <name>escaped text</name> on a line of its own, indented. */
static int
element(struct buf *out, const char *indent, const char *name, const char *text)
{
	if (buf_printf(out, "%s<%s>", indent, name) < 0 || mail_setup_xml_escape(out, text) < 0)
		return -1;
	return buf_printf(out, "</%s>\n", name);
}

static int
autoconfig_server(struct buf *out, const char *kind, const char *type, const char *host,
    uint16_t port, const char *socket_type)
{
	const char *in = "      ";
	char portnum[8];

	snprintf(portnum, sizeof portnum, "%u", port);
	if (buf_printf(out, "    <%s type=\"%s\">\n", kind, type) < 0 ||
	    element(out, in, "hostname", host) < 0 || element(out, in, "port", portnum) < 0 ||
	    element(out, in, "socketType", socket_type) < 0 ||
	    element(out, in, "username", "%EMAILADDRESS%") < 0 ||
	    element(out, in, "authentication", "password-cleartext") < 0)
		return -1;
	return buf_printf(out, "    </%s>\n", kind);
}

int
mail_setup_autoconfig(const struct mail_setup *s, struct buf *out)
{
	if (buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<clientConfig version=\"1.1\">\n  <emailProvider id=\"") < 0 ||
	    mail_setup_xml_escape(out, s->domain) < 0 || buf_printf(out, "\">\n") < 0 ||
	    element(out, "    ", "domain", s->domain) < 0 ||
	    element(out, "    ", "displayName", s->domain) < 0 ||
	    element(out, "    ", "displayShortName", s->domain) < 0)
		return -1;
	/* Implicit TLS first (RFC 8314); the STARTTLS port only when there is none. */
	if (s->pop3s && autoconfig_server(out, "incomingServer", "pop3", s->hostname, s->pop3s,
	    "SSL") < 0)
		return -1;
	if (!s->pop3s && s->pop3 && autoconfig_server(out, "incomingServer", "pop3", s->hostname,
	    s->pop3, "STARTTLS") < 0)
		return -1;
	if (s->submissions && autoconfig_server(out, "outgoingServer", "smtp", s->hostname,
	    s->submissions, "SSL") < 0)
		return -1;
	if (s->submission && autoconfig_server(out, "outgoingServer", "smtp", s->hostname,
	    s->submission, "STARTTLS") < 0)
		return -1;
	return buf_printf(out, "  </emailProvider>\n</clientConfig>\n");
}

static int
autodiscover_protocol(struct buf *out, const struct mail_setup *s, const char *type,
    uint16_t port, bool implicit_tls)
{
	const char *in = "        ";
	char portnum[8];

	snprintf(portnum, sizeof portnum, "%u", port);
	if (buf_printf(out, "      <Protocol>\n") < 0 || element(out, in, "Type", type) < 0 ||
	    element(out, in, "Server", s->hostname) < 0 || element(out, in, "Port", portnum) < 0 ||
	    element(out, in, "LoginName", s->email) < 0 || element(out, in, "SPA", "off") < 0)
		return -1;
	/* SSL on: TLS from the first octet; Encryption TLS: STARTTLS on a plain port. */
	if (implicit_tls ? element(out, in, "SSL", "on") < 0 :
	    element(out, in, "SSL", "off") < 0 || element(out, in, "Encryption", "TLS") < 0)
		return -1;
	if (element(out, in, "AuthRequired", "on") < 0)
		return -1;
	return buf_printf(out, "      </Protocol>\n");
}

int
mail_setup_autodiscover(const struct mail_setup *s, struct buf *out)
{
	if (buf_printf(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
	    "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
	    "    <Account>\n      <AccountType>email</AccountType>\n"
	    "      <Action>settings</Action>\n") < 0)
		return -1;
	int rc = 0;
	if (s->pop3s)
		rc = autodiscover_protocol(out, s, "POP3", s->pop3s, true);
	else if (s->pop3)
		rc = autodiscover_protocol(out, s, "POP3", s->pop3, false);
	if (rc == 0 && s->submissions)
		rc = autodiscover_protocol(out, s, "SMTP", s->submissions, true);
	else if (rc == 0 && s->submission)
		rc = autodiscover_protocol(out, s, "SMTP", s->submission, false);
	if (rc < 0)
		return -1;
	return buf_printf(out, "    </Account>\n  </Response>\n</Autodiscover>\n");
}

/* is_name_char - what an XML name (with its prefix) is made of, in ASCII. */
static bool
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == ':' || c == '_' || c == '-' || c == '.';
}

/* local_name_is - the name name[0..len) without its "prefix:" is want. */
static bool
local_name_is(const char *name, size_t len, const char *want)
{
	const char *colon = memchr(name, ':', len);
	if (colon != NULL) {
		len -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
mail_setup_request_address(const char *body, size_t len, struct mailbox *mb)
{
	if (len > AUTODISCOVER_REQ_MAX)
		return -1;
	const char *end = body + len;
	for (const char *p = body; p < end; p++) {
		if (*p != '<')
			continue;
		const char *name = p + 1, *q = name;
		while (q < end && is_name_char(*q))
			q++;
		if (q == name || q >= end || !local_name_is(name, (size_t)(q - name), "EMailAddress"))
			continue;
		size_t namelen = (size_t)(q - name);
		/* Attributes are allowed (xmlns), a self-closing element is not. */
		while (q < end && *q != '>')
			q++;
		if (q >= end || q[-1] == '/')
			return -1;
		const char *text = q + 1, *close = text;
		while (close < end && *close != '<')
			close++;
		if (close >= end || close + 2 + namelen + 1 > end || close[1] != '/' ||
		    memcmp(close + 2, name, namelen) != 0 || close[2 + namelen] != '>')
			return -1;
		while (text < close && is_space(*text))
			text++;
		while (close > text && is_space(close[-1]))
			close--;
		/* No entities: a plain address never needs one. */
		if (close == text || memchr(text, '&', (size_t)(close - text)) != NULL)
			return -1;
		return address_parse(text, (size_t)(close - text), mb, 0) == 0 ? 0 : -1;
	}
	return -1;
}
