/* http_host.h - the name in an HTTP Host header, checked (pure). */
#ifndef MAILROOM_HTTP_HOST_H
#define MAILROOM_HTTP_HOST_H

#include <stddef.h>

/*
 * http_host_name - the host of a Host header value ("Mail.Example.test:8443"),
 * without its port, lower-cased, into out: letters, digits, hyphens and dots
 * only, 1 to 253 octets. An IP literal or anything else is refused. 0, or -1.
 */
int http_host_name(const char *value, char *out, size_t outlen);

#endif
