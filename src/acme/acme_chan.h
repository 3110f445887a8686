/*
 * acme_chan.h - the channel from acmed to httpd (a SOCK_SEQPACKET socketpair the
 * supervisor keeps open across restarts of either, one ipc/frame.h frame a
 * message): the challenge responses httpd is to give while an order is under
 * way, and a sync that httpd answers once it has applied all before it.
 *
 *   ACH_HTTP01  str token, str key authorization   (GET /.well-known/acme-challenge/<token>)
 *   ACH_ALPN    str name, str cert PEM, str key PEM (tls-alpn-01, RFC 8737)
 *   ACH_CLEAR   (no fields: forget every challenge)
 *   ACH_SYNC    u64 seq          acmed -> httpd
 *   ACH_SYNCED  u64 seq          httpd -> acmed
 */
#ifndef MAILROOM_ACME_CHAN_H
#define MAILROOM_ACME_CHAN_H

#include <stdint.h>

enum acme_chan_type { ACH_HTTP01 = 1, ACH_ALPN, ACH_CLEAR, ACH_SYNC, ACH_SYNCED };

/* At most this many challenges of each kind are kept by httpd (a name each). */
#define ACME_CHAN_MAX 128

/* Each sends one frame; 0, or -1 with errno (EMSGSIZE: too large for a frame). */
int acme_chan_http01(int fd, const char *token, const char *keyauth);
int acme_chan_alpn(int fd, const char *name, const char *cert, const char *key);
int acme_chan_clear(int fd);
int acme_chan_sync(int fd, enum acme_chan_type type, uint64_t seq);

#endif
