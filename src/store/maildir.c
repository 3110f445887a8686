/*
 * maildir.c - Maildir paths, the fixed file names of mailroom's deliveries, the
 * usage a quota is checked against, and the trace headers written on top of each
 * delivered message.
 */
#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "util/escape.h"
#include "util/mkdir_p.h"

/* put_component - one path component, unsafe octets as %XX. */
static bool
put_component(char **o, char *end, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool unsafe = c == '/' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.');
		if (end - *o < (unsafe ? 4 : 2))
			return false;
		if (unsafe) {
			*(*o)++ = '%';
			*(*o)++ = hex[c >> 4];
			*(*o)++ = hex[c & 15];
		} else {
			*(*o)++ = (char)c;
		}
	}
	**o = '\0';
	return true;
}

int
maildir_path(const char *mail_dir, const char *address, char *out, size_t outlen)
{
	const char *at = strrchr(address, '@');
	if (at == NULL || at == address || at[1] == '\0')
		return -1;
	int n = snprintf(out, outlen, "%s/", mail_dir);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	char *o = out + n, *end = out + outlen;
	if (!put_component(&o, end, at + 1, strlen(at + 1)) || end - o < 2)
		return -1;
	*o++ = '/';
	if (!put_component(&o, end, address, (size_t)(at - address)))
		return -1;
	return 0;
}

int
maildir_create(const char *path)
{
	char p[4096];
	static const char *const sub[] = { "tmp", "new", "cur" };

	for (size_t i = 0; i < 3; i++) {
		if (snprintf(p, sizeof p, "%s/%s", path, sub[i]) >= (int)sizeof p)
			return -1;
		if (mkdir_p_mode(p, 0770, 0770) < 0)
			return -1;
	}
	return 0;
}

void
maildir_name(char *out, size_t outlen, time_t arrival, const char *id, size_t idx,
    const char *hostname, uint64_t size, uint64_t vsize)
{
	char host[256];
	size_t o = 0;

	/* The Maildir convention: '/' and ':' in the host name are written in octal. */
	for (const char *h = hostname; *h && o + 5 < sizeof host; h++) {
		if (*h == '/')
			o += (size_t)snprintf(host + o, sizeof host - o, "\\057");
		else if (*h == ':')
			o += (size_t)snprintf(host + o, sizeof host - o, "\\072");
		else
			host[o++] = *h;
	}
	host[o] = '\0';
	snprintf(out, outlen, "%lld.Q%s_%zu.%s,S=%" PRIu64 ",W=%" PRIu64, (long long)arrival, id,
	    idx, host, size, vsize);
}

bool
maildir_has(const char *path, const char *base)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof p, "%s/new/%s", path, base);
	if (stat(p, &st) == 0)
		return true;
	snprintf(p, sizeof p, "%s/cur", path);
	DIR *d = opendir(p);
	if (d == NULL)
		return false;
	size_t blen = strlen(base);
	struct dirent *de;
	bool found = false;
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, base, blen) == 0 &&
		    (de->d_name[blen] == ':' || de->d_name[blen] == '\0');
	closedir(d);
	return found;
}

void
maildir_parse_sizes(const char *name, uint64_t *size, uint64_t *vsize)
{
	*size = *vsize = 0;
	const char *end = strchr(name, ':');
	if (end == NULL)
		end = name + strlen(name);
	for (const char *p = name; p < end; p++) {
		if (*p != ',' || p + 3 >= end || p[2] != '=')
			continue;
		uint64_t *dst = p[1] == 'S' ? size : p[1] == 'W' ? vsize : NULL;
		if (dst == NULL)
			continue;
		uint64_t v = 0;
		const char *q = p + 3;
		for (; q < end && *q >= '0' && *q <= '9'; q++)
			v = v * 10 + (uint64_t)(*q - '0');
		if (q > p + 3)
			*dst = v;
	}
}

uint64_t
maildir_usage(const char *path)
{
	static const char *const sub[] = { "new", "cur" };
	uint64_t total = 0;
	char p[4096];

	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", path, sub[i]);
		DIR *d = opendir(p);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			uint64_t s, w;
			if (de->d_name[0] == '.')
				continue;
			maildir_parse_sizes(de->d_name, &s, &w);
			if (s == 0) {
				struct stat st;
				char f[4096];
				snprintf(f, sizeof f, "%s/%s", p, de->d_name);
				if (stat(f, &st) == 0)
					s = (uint64_t)st.st_size;
			}
			total += s;
		}
		closedir(d);
	}
	return total;
}

int
maildir_trace_headers(struct buf *h, const char *sender, const char *mailbox)
{
	char s[ESC_SIZE(ADDR_MAX)], m[ESC_SIZE(ADDR_MAX)];

	return buf_printf(h, "Return-Path: <%s>\nDelivered-To: %s\n",
	    esc_text(s, sizeof s, sender, strlen(sender), 0),
	    esc_text(m, sizeof m, mailbox, strlen(mailbox), 0)) < 0 ? -1 : 0;
}
