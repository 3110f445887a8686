/* greylist.c - the greylisting triplet and its decision (see greylist.h). */
#include "lookup/greylist.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int
grey_client_net(const char *ip, char *out, size_t outlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int n;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		unsigned char *b = (unsigned char *)&a4.s_addr;
		n = snprintf(out, outlen, "%u.%u.%u.0/24", b[0], b[1], b[2]);
	} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (memcmp(a6.s6_addr, mapped, sizeof mapped) == 0) {
			const unsigned char *b = a6.s6_addr + 12;
			n = snprintf(out, outlen, "%u.%u.%u.0/24", b[0], b[1], b[2]);
		} else {
			memset(a6.s6_addr + 8, 0, 8);
			if (inet_ntop(AF_INET6, &a6, text, sizeof text) == NULL)
				return -1;
			n = snprintf(out, outlen, "%s/64", text);
		}
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* put_part - s lower-cased (ASCII) at out + *at, if it fits and has no control character. */
static int
put_part(const char *s, size_t max, char *out, size_t outlen, size_t *at)
{
	size_t n = strlen(s);

	if (n > max || *at + n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return -1;
		out[(*at)++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[*at] = '\0';
	return 0;
}

int
grey_key(const char *ip, const char *sender, const char *rcpt, char *out, size_t outlen)
{
	size_t at;

	if (grey_client_net(ip, out, outlen) < 0)
		return -1;
	if (strcmp(sender, "<>") == 0)
		sender = "";
	at = strlen(out);
	if (at + 1 >= outlen)
		return -1;
	out[at++] = '\t';
	if (put_part(sender, ADDR_MAX, out, outlen, &at) < 0 || at + 1 >= outlen)
		return -1;
	out[at++] = '\t';
	if (rcpt[0] == '\0' || put_part(rcpt, ADDR_MAX, out, outlen, &at) < 0)
		return -1;
	return 0;
}

void
grey_decide(const struct grey_row *row, const struct grey_client *client, time_t now,
    time_t delay, struct grey_decision *d)
{
	memset(d, 0, sizeof *d);
	d->row = *row;
	d->row.found = true;
	d->client = *client;
	d->client.found = true;
	if (!client->found)
		d->client.passes = 0;

	if (client->found && client->passes >= GREY_CLIENT_PASSES) {
		/* Allowed as a whole: the triplet need not be remembered. */
		d->answer = GREY_PASS;
		d->why = GREY_WHY_CLIENT;
	} else if (row->found && row->passed > 0) {
		d->answer = GREY_PASS;
		d->why = GREY_WHY_KNOWN;
	} else if (row->found && now >= row->first_seen + delay &&
	    now <= row->first_seen + delay + GREY_RETRY_WINDOW) {
		d->answer = GREY_PASS;
		d->why = GREY_WHY_RETRIED;
	} else if (row->found && now >= row->first_seen &&
	    now < row->first_seen + delay) {
		d->answer = GREY_LISTED;
		d->why = GREY_WHY_EARLY;
	} else {
		/* New, or its window is over (or the clock went back): the delay starts now. */
		d->answer = GREY_LISTED;
		d->why = GREY_WHY_NEW;
		d->row.first_seen = now;
		d->row.passed = 0;
	}
	d->row.last_seen = now;
	d->write_row = d->why != GREY_WHY_CLIENT;
	if (d->answer == GREY_PASS) {
		if (d->write_row)
			d->row.passed++;
		if (d->client.passes < UINT64_MAX)
			d->client.passes++;
		d->client.last_seen = now;
		d->write_client = true;
	}
}

bool
grey_row_expired(const struct grey_row *row, time_t now, time_t delay)
{
	time_t passed_before, unpassed_before;

	grey_cutoffs(now, delay, &passed_before, &unpassed_before);
	return row->passed > 0 ? row->last_seen < passed_before : row->first_seen < unpassed_before;
}

bool
grey_client_expired(const struct grey_client *c, time_t now)
{
	return c->last_seen < now - GREY_KEEP;
}

void
grey_cutoffs(time_t now, time_t delay, time_t *passed_before, time_t *unpassed_before)
{
	*passed_before = now - GREY_KEEP;
	*unpassed_before = now - delay - GREY_RETRY_WINDOW;
}
