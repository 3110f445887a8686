/*
 * lookup_client.h - the roles' side of lookupd: blocking request/reply calls over
 * a SOCK_SEQPACKET connection to the abstract socket that the supervisor binds
 * for the data dir. The server's credentials are checked (root, or our own uid
 * when serve runs unprivileged), so no other local user can pose as lookupd.
 */
#ifndef MAILROOM_LOOKUP_CLIENT_H
#define MAILROOM_LOOKUP_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "accounts.h"
#include "lookup/lookup_proto.h"

struct frame;

struct lookup_client {
	struct sockaddr_un addr;
	socklen_t addrlen;
	int fd; /* -1: connect at the next call */
};

/* lookup_socket_name - the abstract address of the data dir's lookupd. */
void lookup_socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len);

void lookup_client_init(struct lookup_client *c, const char *data_dir);
void lookup_client_close(struct lookup_client *c);

/*
 * lookup_call - send req and wait (at most timeout_ms) for the reply into rep.
 * A connection found broken is made again once. Returns 0 with rep parsed
 * (LK_REPLY), or -1 (not reachable, timed out, refused).
 */
int lookup_call(struct lookup_client *c, const struct frame *req, struct frame *rep,
    int timeout_ms);

/* The account queries, as accounts.h defines them, answered by lookupd. */
enum resolve_status lookup_resolve(struct lookup_client *c, const char *address,
    struct target_list *out);
/* lookup_owns, lookup_quota: 1 yes / found, 0 no / no such user, -1 store or lookupd failed. */
int lookup_owns(struct lookup_client *c, const char *user, const char *address);
int lookup_quota(struct lookup_client *c, const char *address, uint64_t *quota);
int lookup_domains(struct lookup_client *c, struct strlist *out);
/* lookup_srs_forward - accounts_srs_forward asked of lookupd: 1, 0 or -1 likewise. */
int lookup_srs_forward(struct lookup_client *c, const char *sender, const char *srs_domain,
    char *out, size_t outlen);

/* lookup_greylist_trust - accounts_greylist_trust asked of lookupd; 0, or -1. */
int lookup_greylist_trust(struct lookup_client *c, const char *client_ip);

/* lookup_greylist - accounts_greylist asked of lookupd; GREY_FAILED when it does not answer. */
enum grey_answer lookup_greylist(struct lookup_client *c, const char *client_ip,
    const char *sender, const char *rcpt, uint64_t delay);
/* lookup_sends_count - accounts_sends_count asked of lookupd (SEND_TEMPFAIL: no answer). */
enum send_verdict lookup_sends_count(struct lookup_client *c, const char *user,
    const char *const *rcpts, size_t nrcpts, time_t now, uint64_t *limit);

/*
 * lookup_vacation_get - accounts_vacation_get asked of lookupd: 0 with out filled
 * (out->found false: none, or no such user), or -1 (lookupd or the store failed).
 */
struct vacation_info;
int lookup_vacation_get(struct lookup_client *c, const char *user, struct vacation_info *out);
/* lookup_vacation_reply - accounts_vacation_reply asked of lookupd (VACATION_FAILED: no answer). */
enum vacation_record lookup_vacation_reply(struct lookup_client *c, const char *user,
    const char *sender);

/* lookup_dkim_keys - accounts_dkim_signers asked of lookupd: how many (0 none), or -1. */
int lookup_dkim_keys(struct lookup_client *c, const char *domain, time_t now,
    struct dkim_signer out[2]);
/* lookup_dkim_sign - a signature by lookupd (accounts_dkim_sign_status). */
enum dkim_sign_status lookup_dkim_sign(struct lookup_client *c, const char *domain,
    const char *selector, const void *data, size_t len, char *sig_b64, size_t siglen);
/*
 * lookup_dkim_sign_many - accounts_dkim_sign_many by lookupd: one LK_DKIM_SIGN_MANY,
 * or one LK_DKIM_SIGN each when the data do not fit one frame together.
 */
int lookup_dkim_sign_many(struct lookup_client *c, const char *domain,
    struct dkim_sign_item *items, size_t n);

/*
 * lookup_verify - check a login on a connection of its own (so any thread may call
 * it while another uses c); blocks until lookupd has checked the password.
 */
enum lookup_verdict lookup_verify(const struct lookup_client *c, const char *user,
    const char *password, const char *client_ip, const char *service);

#endif
