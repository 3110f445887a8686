/*
 * ctl.h - the supervisor's control channel to each role (a SOCK_SEQPACKET
 * socketpair carrying ipc/frame.h frames). The supervisor sends CTL_RELOAD, with
 * the TLS certificate and key it read as root (empty for roles that terminate no
 * TLS), after one CTL_SNI frame for each [tls] sni name (each frame has room for
 * one certificate chain and key, not for all of them); a role that sees the
 * channel close knows the supervisor is gone and stops.
 *
 *   CTL_CONFIG  str text  (a piece of the config file's text, as the supervisor
 *               read and validated it; the pieces since the last CTL_RELOAD go together)
 *   CTL_SNI     str name, str cert, str key
 *   CTL_RELOAD  str cert, str key, u64 n  ("" and "": no TLS for this role;
 *               n: the CTL_SNI frames just before, which go with it)
 *
 * The roles take the config's text from here rather than from the file: their
 * walls allow the file they started with, and an editor or `sed -i` replaces it.
 * A reload without CTL_CONFIG pieces brings certificates alone (ACME issued one):
 * the role keeps its configuration.
 *
 *   CTL_ISSUED  (no fields)  acmed -> supervisor: a new certificate is stored
 */
#ifndef MAILROOM_CTL_H
#define MAILROOM_CTL_H

#include <stdint.h>

#include "net/tls_server.h"

struct event_base;
struct ctl;

enum ctl_type { CTL_RELOAD = 1, CTL_SNI = 2, CTL_CONFIG = 3, CTL_ISSUED = 4 };

/*
 * Called on the loop with the config's text (NULL when none came: keep the configuration)
 * and the new certificates (main.cert NULL when the role gets no TLS).
 */
typedef void (*ctl_reload_fn)(void *arg, const char *config_text, size_t config_len,
    const struct tls_certs *certs);
/* Called when the supervisor is gone. */
typedef void (*ctl_gone_fn)(void *arg);

struct ctl *ctl_new(struct event_base *base, int fd, ctl_reload_fn reload, ctl_gone_fn gone,
    void *arg);
void ctl_free(struct ctl *c);

/*
 * ctl_send_reload - supervisor side; the frames of a reload: the config's text (len
 * octets, no NUL) and the certificates (NULL: none). Returns 0 or -1 (EMSGSIZE: a
 * certificate and key too large for a frame; then nothing at all was sent).
 */
int ctl_send_reload(int fd, const char *config_text, size_t config_len,
    const struct tls_certs *certs);

/* ctl_send_issued - acmed side: a new certificate is stored. Returns 0 or -1. */
int ctl_send_issued(int fd);
/*
 * ctl_recv_type - supervisor side: the type of the next frame a role sent on fd.
 * Returns 1 with *type, 0 when there is none yet, -1 when the role's end is closed.
 */
int ctl_recv_type(int fd, uint16_t *type);

#endif
