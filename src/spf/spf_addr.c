/* spf_addr.c - client addresses for SPF: parsing, CIDR matching, macro forms. */
#include "spf/spf_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int
spf_ip_parse(const char *text, struct spf_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ip, 0, sizeof *ip);
	if (inet_pton(AF_INET, text, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip->a) != 1)
		return -1;
	ip->family = AF_INET6;
	if (memcmp(ip->a, mapped, sizeof mapped) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = AF_INET;
	}
	return 0;
}

bool
spf_ip_in(const struct spf_ip *ip, int family, const uint8_t *net, unsigned bits)
{
	unsigned max = family == AF_INET ? 32 : 128;

	if (ip->family != family)
		return false;
	if (bits > max)
		bits = max;
	size_t whole = bits / 8;
	if (memcmp(ip->a, net, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (ip->a[whole] & mask) == (net[whole] & mask);
}

void
spf_ip_text(const struct spf_ip *ip, char *out, size_t outlen)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family, ip->a, buf, sizeof buf) == NULL)
		buf[0] = '\0';
	snprintf(out, outlen, "%s", buf);
}

void
spf_ip_dotted(const struct spf_ip *ip, char *out, size_t outlen)
{
	if (ip->family == AF_INET) {
		snprintf(out, outlen, "%u.%u.%u.%u", ip->a[0], ip->a[1], ip->a[2], ip->a[3]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	char buf[64];
	size_t n = 0;
	for (size_t i = 0; i < 16; i++) {
		buf[n++] = hex[ip->a[i] >> 4];
		buf[n++] = '.';
		buf[n++] = hex[ip->a[i] & 15];
		buf[n++] = '.';
	}
	buf[n - 1] = '\0';
	snprintf(out, outlen, "%s", buf);
}

void
spf_ip_reverse_name(const struct spf_ip *ip, char *out, size_t outlen)
{
	if (ip->family == AF_INET) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", ip->a[3], ip->a[2], ip->a[1],
		    ip->a[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	char buf[80];
	size_t n = 0;
	for (size_t i = 16; i-- > 0;) {
		buf[n++] = hex[ip->a[i] & 15];
		buf[n++] = '.';
		buf[n++] = hex[ip->a[i] >> 4];
		buf[n++] = '.';
	}
	buf[n] = '\0';
	snprintf(out, outlen, "%sip6.arpa", buf);
}
