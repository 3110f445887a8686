/*
 * ctl.h - the supervisor's control channel to each role (a SOCK_SEQPACKET
 * socketpair carrying ipc/frame.h frames). The supervisor sends CTL_RELOAD, with
 * the TLS certificate and key it read as root (empty for roles that terminate no
 * TLS), or CTL_CERT with a new certificate alone (ACME issued one); a role that
 * sees the channel close knows the supervisor is gone and stops. acmed sends the
 * supervisor CTL_ISSUED when it has stored a new certificate under data_dir/acme.
 *
 *   CTL_RELOAD  str cert, str key  ("" and "": no TLS for this role)
 *   CTL_CERT    str cert, str key  (the same, the configuration unchanged)
 *   CTL_ISSUED  (no fields)        acmed -> supervisor
 */
#ifndef MAILROOM_CTL_H
#define MAILROOM_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "net/tls.h"

struct event_base;
struct ctl;

enum ctl_type { CTL_RELOAD = 1, CTL_CERT, CTL_ISSUED };

/* Called on the loop with the new PEM (cert NULL when the role gets no TLS); config:
 * the configuration is to be read again too (CTL_RELOAD, not CTL_CERT). */
typedef void (*ctl_reload_fn)(void *arg, const struct tls_pem *pem, bool config);
/* Called when the supervisor is gone. */
typedef void (*ctl_gone_fn)(void *arg);

struct ctl *ctl_new(struct event_base *base, int fd, ctl_reload_fn reload, ctl_gone_fn gone,
    void *arg);
void ctl_free(struct ctl *c);

/* ctl_send_reload - supervisor side; one frame (pem NULL: none). Returns 0 or -1. */
int ctl_send_reload(int fd, const struct tls_pem *pem);
/* ctl_send_cert - supervisor side: a new certificate, no reload of the configuration. */
int ctl_send_cert(int fd, const struct tls_pem *pem);

/* ctl_send_issued - acmed side: a new certificate is stored. Returns 0 or -1. */
int ctl_send_issued(int fd);
/*
 * ctl_recv_type - supervisor side: the type of the next frame a role sent on fd.
 * Returns 1 with *type, 0 when there is none yet, -1 when the role's end is closed.
 */
int ctl_recv_type(int fd, uint16_t *type);

#endif
