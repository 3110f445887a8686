/*
 * ctl.h - the supervisor's control channel to each role (a socketpair). The
 * supervisor sends "reload", with the TLS certificate and key it read as root;
 * a role that sees the channel close knows the supervisor is gone and stops.
 *
 * Frame: "reload <certlen> <keylen>\n" then the cert and key octets.
 */
#ifndef MAILROOM_CTL_H
#define MAILROOM_CTL_H

#include "net/tls.h"

struct event_base;
struct ctl;

/* Called on the loop with the new PEM (cert NULL when TLS is not configured). */
typedef void (*ctl_reload_fn)(void *arg, const struct tls_pem *pem);
/* Called when the supervisor is gone. */
typedef void (*ctl_gone_fn)(void *arg);

struct ctl *ctl_new(struct event_base *base, int fd, ctl_reload_fn reload, ctl_gone_fn gone,
    void *arg);
void ctl_free(struct ctl *c);

/* ctl_send_reload - supervisor side; blocking write of one frame. Returns 0 or -1. */
int ctl_send_reload(int fd, const struct tls_pem *pem);

#endif
