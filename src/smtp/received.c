/*
 * received.c - the trace header of RFC 5321 4.4. Our own words (the client's
 * address, "authenticated sender") are only ever written by us: what the client
 * chose (HELO, login, recipient) is escaped, and a HELO that is not a domain or an
 * address literal stays inside a comment of its own, as Postfix writes it.
 */
#include "smtp/received.h"

#include <string.h>

#include "address.h"
#include "util/escape.h"

bool
helo_valid(const char *helo)
{
	return helo != NULL && (domain_valid(helo) || address_literal_valid(helo));
}

int
received_format(struct buf *h, const struct received_info *ri)
{
	char esc[ESC_SIZE(ADDR_MAX)];
	int rc = 0;

	rc |= buf_printf(h, "Received: from ");
	if (helo_valid(ri->helo)) {
		rc |= buf_printf(h, "%s", ri->helo);
	} else {
		rc |= buf_printf(h, "unknown");
		if (ri->helo != NULL)
			rc |= buf_printf(h, " (HELO %s)", esc_text(esc, sizeof esc, ri->helo,
			    strlen(ri->helo), ESC_COMMENT));
	}
	rc |= buf_printf(h, " ([%s%s])\n", strchr(ri->ip, ':') ? "IPv6:" : "", ri->ip);
	if (ri->login != NULL)
		rc |= buf_printf(h, "\t(authenticated sender: %s)\n",
		    esc_text(esc, sizeof esc, ri->login, strlen(ri->login), ESC_COMMENT));
	rc |= buf_printf(h, "\tby %s (mailroom) with %s id %s", ri->host, ri->proto, ri->id);
	if (ri->rcpt != NULL)
		rc |= buf_printf(h, "\n\tfor <%s>", esc_text(esc, sizeof esc, ri->rcpt,
		    strlen(ri->rcpt), 0));
	rc |= buf_printf(h, "; %s\n", ri->date);
	return rc ? -1 : 0;
}
