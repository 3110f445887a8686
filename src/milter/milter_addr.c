/* milter_addr.c - "inet:127.0.0.1:11332" and the like into socket addresses. */
#include "milter/milter_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* port_of - all of s as a port 1..65535, or 0. */
static uint16_t
port_of(const char *s)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v <= 65535 ? (uint16_t)v : 0;
}

/* inet - HOST:PORT after "inet:" (v6 false) or "inet6:" (v6 true). */
static int
inet(const char *hp, bool v6, struct milter_sock *m, char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(hp, ':');
	size_t n;

	if (colon == NULL || port_of(colon + 1) == 0) {
		snprintf(why, whylen, "expected inet:host:port with a port from 1 to 65535");
		return -1;
	}
	uint16_t port = port_of(colon + 1);
	const char *h = hp;
	n = (size_t)(colon - hp);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
		v6 = true;
	}
	if (n == 0 || n >= sizeof host) {
		snprintf(why, whylen, "no host before the port");
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "%s", v6 ? "::1" : "127.0.0.1");
	memset(&m->ss, 0, sizeof m->ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)&m->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->ss;
	if (!v6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		m->sslen = sizeof *sin;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		m->sslen = sizeof *sin6;
	} else {
		snprintf(why, whylen, "'%s' is no IP address (names other than localhost "
		    "are not looked up)", host);
		return -1;
	}
	return 0;
}

int
milter_sock_parse(const char *spec, struct milter_sock *m, char *why, size_t whylen)
{
	if (strlen(spec) >= sizeof m->text) {
		snprintf(why, whylen, "too long");
		return -1;
	}
	memset(m, 0, sizeof *m);
	snprintf(m->text, sizeof m->text, "%s", spec);
	if (strncmp(spec, "inet:", 5) == 0)
		return inet(spec + 5, false, m, why, whylen);
	if (strncmp(spec, "inet6:", 6) == 0)
		return inet(spec + 6, true, m, why, whylen);
	const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 :
	    strncmp(spec, "local:", 6) == 0 ? spec + 6 : NULL;
	if (path == NULL) {
		snprintf(why, whylen, "expected inet:host:port, inet6:host:port or unix:/path");
		return -1;
	}
	struct sockaddr_un *sun = (struct sockaddr_un *)&m->ss;
	if (path[0] != '/' || strlen(path) >= sizeof sun->sun_path) {
		snprintf(why, whylen, "a unix socket needs an absolute path under %zu octets",
		    sizeof sun->sun_path);
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	m->sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	return 0;
}

uint16_t
milter_sock_port(const struct milter_sock *m)
{
	if (m->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&m->ss)->sin_port);
	if (m->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&m->ss)->sin6_port);
	return 0;
}
