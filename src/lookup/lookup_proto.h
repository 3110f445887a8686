/*
 * lookup_proto.h - the requests that the roles make of lookupd, the one process
 * that opens the account store, and the shape of each reply (ipc/frame.h fields,
 * in this order). Replies are LK_REPLY frames; LK_ERROR answers a malformed request.
 *
 *   LK_RESOLVE  str address           -> u64 resolve_status, u64 n,
 *                                        n x (u64 kind, str addr, u64 unlimited,
 *                                        u64 vacation: the mailbox has an active vacation)
 *   LK_OWNS     str user, str address -> u64 1 yes, 0 no, 2 the store failed
 *   LK_DOMAINS                        -> u64 n, n x str (as many as fit in one frame)
 *   LK_QUOTA    str address           -> u64 1 found, 0 no such user, 2 the store failed;
 *                                        u64 quota in bytes (0 unlimited)
 *   LK_VERIFY   str user, str password, str client ip, str service -> u64 lookup_verdict
 *                                        (the main password, or an app password when
 *                                        service is a mail service: app_password.h)
 *   LK_DKIM_KEYS  str domain, u64 now -> u64 status (0 ok, 2 the store failed), u64 n,
 *                                        n x (u64 dkim_alg, str selector): the keys
 *                                        that sign at now, Ed25519 first
 *   LK_DKIM_SIGN  str domain, str selector, str data -> u64 dkim_sign_status (0 ok,
 *                                        1 no such signing key, 2 store or crypto
 *                                        failure), str signature (base64; empty unless 0)
 *   LK_DKIM_SIGN_MANY str domain, u64 n, n x (str selector, str data) -> u64 n,
 *                                        n x (u64 dkim_sign_status, str signature):
 *                                        LK_DKIM_SIGN for each, in one round trip (n at
 *                                        most DKIM_ALG_COUNT; the data together at most
 *                                        LK_DKIM_DATA_MAX octets)
 *
 * LK_DKIM_* are answered only to root and the mail user (queued, which signs
 * outbound mail); another peer (smtpd, pop3d) gets LK_ERROR, and it is logged.
 * data is at most LK_DKIM_DATA_MAX octets (no NUL: canonicalized header text);
 * private keys never leave lookupd.
 *   LK_SRS_FORWARD str sender, str srs_domain -> u64 1 rewritten, 0 kept, 2 the store
 *                                        failed; str the sender to use (the SRS address
 *                                        in srs_domain, or sender as it was)
 *
 *   LK_GREYLIST str client ip, str sender, str recipient, u64 delay seconds
 *                                     -> u64 grey_answer: 0 pass, 1 greylisted, 2 the
 *                                        store failed (the caller passes the mail)
 *   LK_GREYLIST_TRUST str client ip    -> u64 0 done, 1 failed: the client's network is
 *                                        allowed (smtpd, after an authenticated message)
 *   LK_SENDS_COUNT str user, u64 now, u64 total, u64 n, n x str recipient -> u64
 *                                        send_verdict (lookup/sendlimit.h), u64 the limit
 *                                        passed (0 unless over): one message of user to
 *                                        total remote recipients, n of them named (as
 *                                        many as fit a frame; the others count as
 *                                        first-time), counted unless over a limit
 *                                        (accounts_sends_count); root and the mail user only
 *   LK_VACATION_GET str user           -> u64 1 found, 0 none, 2 no such user, 3 the store
 *                                        failed; str subject, str body, u64 until (0: no
 *                                        end), u64 set_at (accounts_vacation_get)
 *   LK_VACATION_REPLY str user, str sender -> u64 vacation_record: 0 reply (recorded as
 *                                        answered now), 1 answered within [limits]
 *                                        vacation_interval, 2 the store failed
 *                                        (accounts_vacation_reply)
 *
 * LK_VACATION_* are answered only to root and the mail user (queued, which sends
 * the replies), as LK_SENDS_COUNT: another role could read a user's text or use
 * up its replies.
 *
 * The web (httpd; lookup/web_client.h), answered only to root and the httpd role's
 * uid (another peer gets LK_ERROR, logged):
 *   LK_WEB_LOGIN str kind ("admin"|"user"), str name, str password, str client ip
 *                                     -> u64 lookup_verdict, str session id (64 hex
 *                                        digits; "" unless 0), str name (canonical),
 *                                        str csrf token: the main password only,
 *                                        counted as service "web" by the login limits
 *   LK_WEB_WHO  str cred              -> u64 1 known, 0 not, 2 the store failed;
 *                                        u64 web_kind, str name, str csrf ("" for a
 *                                        token): cred "s:<session id>" (its idle time
 *                                        starts again) or "t:<API token>" (an admin)
 *   LK_WEB_LOGOUT str session id      -> u64 0
 *   LK_WEB_OP   str cred, str op, u64 n, n x str argument (n <= WEB_ARGS_MAX)
 *                                     -> u64 HTTP status, str JSON object
 *                                        (web/web_ops.h; 401 for an unknown cred)
 *
 * LK_RESOLVE of an SRS0=/SRS1= address of a hosted domain (that is not the exact
 * name of a user or alias) answers its original address (accounts_srs_resolve).
 */
#ifndef MAILROOM_LOOKUP_PROTO_H
#define MAILROOM_LOOKUP_PROTO_H

enum lookup_type {
	LK_RESOLVE = 1,
	LK_OWNS = 2,
	LK_DOMAINS = 3,
	LK_QUOTA = 4,
	LK_VERIFY = 5,
	LK_DKIM_KEYS = 6,
	LK_DKIM_SIGN = 7,
	LK_SRS_FORWARD = 8,
	LK_DKIM_SIGN_MANY = 9,
	LK_GREYLIST = 20,
	LK_GREYLIST_TRUST = 21,
	LK_SENDS_COUNT = 40,
	LK_VACATION_GET = 50,
	LK_VACATION_REPLY = 51,
	LK_WEB_LOGIN = 60,
	LK_WEB_WHO = 61,
	LK_WEB_LOGOUT = 62,
	LK_WEB_OP = 63,
	LK_REPLY = 100,
	LK_ERROR = 101,
};

/* The longest data LK_DKIM_SIGN takes: a frame less room for its other fields. */
#define LK_DKIM_DATA_MAX (65536 - 1024)

/* What lookupd says of a login. */
enum lookup_verdict {
	VERDICT_OK = 0,       /* the password is right */
	VERDICT_FAIL = 1,     /* wrong password, unknown user, or no password at all */
	VERDICT_BLOCKED = 2,  /* too many failures from this client network or for this account */
	VERDICT_BUSY = 3,     /* the verification queue is full: try again later */
	VERDICT_TEMPFAIL = 4, /* the store or lookupd is not answering */
	VERDICT_SUSPENDED = 5, /* the password is right, but the user is suspended: refused as FAIL */
};

#endif
