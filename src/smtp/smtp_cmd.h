/* smtp_cmd.h - SMTP command lines and their parameters (pure parsers, no I/O). */
#ifndef MAILROOM_SMTP_CMD_H
#define MAILROOM_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "store/kinds.h" /* enum body_type */

#define SMTP_LINE_MAX 512 /* command line with CRLF, RFC 5321 4.5.3.1.4 */

enum smtp_verb {
	SMTP_CMD_UNKNOWN,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_HELP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_QUIT,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
};

/* A refusal: the reply the session sends. Strings are static. */
struct smtp_error {
	int code;           /* 501, 555, ... */
	const char *status; /* enhanced status code "5.5.4" */
	const char *text;
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *args; /* into the line: after the verb and its space; "" when none */
	size_t argslen;   /* trailing spaces removed */
};

/*
 * smtp_cmd_parse - split a command line (CRLF already removed) into verb and
 * arguments. Verbs are case-insensitive. "MAIL FROM:" and "RCPT TO:" leave args at
 * "FROM:..." / "TO:...". Returns 0, or -1 with err set (a NUL or other control
 * octet in the line: 500 5.5.2).
 */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_error *err);

struct mail_params {
	bool has_size;
	uint64_t size;      /* SIZE= (RFC 1870) */
	enum body_type body; /* BODY= (RFC 6152, 3030) */
	bool smtputf8;      /* SMTPUTF8 (RFC 6531) */
	bool has_auth;
	char auth[ADDR_MAX + 1]; /* AUTH= (RFC 4954 5), xtext decoded; "" for AUTH=<> */
};

/*
 * smtp_parse_mail - the arguments of MAIL: "FROM:<path> [params]". Whitespace
 * after the colon is tolerated (as Postfix does). Unknown parameters: 555 5.5.4;
 * malformed path: 501 5.1.7; malformed SIZE/BODY: 501 5.5.4. The null path sets
 * *null_sender. SMTPUTF8 (the parameter) permits UTF-8 in the path.
 */
int smtp_parse_mail(const char *args, size_t len, struct mailbox *from, bool *null_sender,
    struct mail_params *params, struct smtp_error *err);

/*
 * smtp_parse_rcpt - the arguments of RCPT: "TO:<path> [params]". "<postmaster>"
 * (no domain, any case) is accepted with domain "" (RFC 5321 4.5.1). No parameters
 * are supported (DSN is not advertised): any is 555 5.5.4. Malformed path:
 * 501 5.1.3. utf8 permits UTF-8 in the path (when MAIL had SMTPUTF8).
 */
int smtp_parse_rcpt(const char *args, size_t len, struct mailbox *to, bool utf8,
    struct smtp_error *err);

/* smtp_parse_bdat - "size [LAST]" (RFC 3030). Malformed: 501 5.5.4. */
int smtp_parse_bdat(const char *args, size_t len, uint64_t *size, bool *last,
    struct smtp_error *err);

/*
 * smtp_parse_helo - the domain or address literal of HELO/EHLO into out
 * (ADDR_DOMAIN_MAX+1 octets). Empty or with control octets: 501 5.5.4. Like
 * Postfix, any other printable argument is accepted as given.
 */
int smtp_parse_helo(const char *args, size_t len, char *out, size_t outlen,
    struct smtp_error *err);

#endif
