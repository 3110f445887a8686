/* pop3_cmd.h - POP3 command lines (RFC 1939, 2449, 2595, 5034): a pure parser, no I/O. */
#ifndef MAILROOM_POP3_CMD_H
#define MAILROOM_POP3_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A command line with its CRLF, RFC 2449 section 4. */
#define POP3_LINE_MAX 255
/*
 * A SASL response line (RFC 5034 section 4: not bound by the 255): the base64 of
 * the largest PLAIN payload sasl_plain_decode takes, with room to spare.
 */
#define POP3_SASL_LINE_MAX 4096

enum pop3_verb {
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_QUIT,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
	POP3_CMD_CAPA,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_COUNT
};

enum pop3_parse_error {
	POP3_ERR_NONE,
	POP3_ERR_EMPTY,      /* an empty line */
	POP3_ERR_UNKNOWN,    /* not a command we know (APOP included) */
	POP3_ERR_SYNTAX,     /* known verb, arguments missing, extra or malformed */
	POP3_ERR_CONTROL,    /* a NUL or another control octet in the line */
};

struct pop3_cmd {
	enum pop3_verb verb;
	/*
	 * Message numbers (LIST, RETR, DELE, TOP, UIDL) and TOP's line count:
	 * decimal, saturated at UINT64_MAX, so an absurd number is just "no such
	 * message". has_msg is false for a bare LIST or UIDL.
	 */
	bool has_msg;
	uint64_t msg;
	uint64_t lines;
	/*
	 * Text arguments, pointing into the line (never NUL-terminated): USER's name,
	 * PASS's password (the rest of the line, spaces included, as most servers
	 * do), AUTH's mechanism (arg) and initial response (arg2). "" when absent.
	 */
	const char *arg;
	size_t arglen;
	const char *arg2;
	size_t arg2len;
	bool has_arg2;
};

/*
 * pop3_cmd_parse - one command line (CRLF removed), of at most len octets. The
 * keyword is case-insensitive; arguments are separated by single or repeated
 * spaces, and trailing spaces are ignored (except in PASS). Returns 0 with cmd
 * filled, or -1 with *err set.
 */
int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd,
    enum pop3_parse_error *err);

/* pop3_verb_name - "RETR" for POP3_CMD_RETR (for logs). */
const char *pop3_verb_name(enum pop3_verb v);

#endif
