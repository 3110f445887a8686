/*
 * milter_proto.h - the Sendmail milter protocol (version 6), the MTA's side: the
 * codes, the commands made into packets, and the filter's replies taken apart
 * with every length checked (a filter is network input). A packet is a 32-bit
 * length in network order, then a command octet, then its data; strings are
 * NUL-terminated. Pure functions, no I/O: milter_conn.c does that.
 */
#ifndef MAILROOM_MILTER_PROTO_H
#define MAILROOM_MILTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MILTER_VERSION 6
#define MILTER_REPLY_MAX (1024 * 1024) /* the largest reply packet we take */
#define MILTER_CHUNK_MAX 65535          /* data octets of one command (a filter's default) */

/* Commands, MTA to filter. */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

/* Replies, filter to MTA. */
#define SMFIR_ADDRCPT '+'
#define SMFIR_DELRCPT '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN '4'
#define SMFIR_ACCEPT 'a'
#define SMFIR_REPLBODY 'b'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_CHGFROM 'e'
#define SMFIR_CONN_FAIL 'f'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_SETSYMLIST 'l'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_PROGRESS 'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_SKIP 's'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'
#define SMFIR_OPTNEG 'O'

/* Actions a filter may take (negotiated). */
#define SMFIF_ADDHDRS 0x01u
#define SMFIF_CHGBODY 0x02u
#define SMFIF_ADDRCPT 0x04u
#define SMFIF_DELRCPT 0x08u
#define SMFIF_CHGHDRS 0x10u
#define SMFIF_QUARANTINE 0x20u
#define SMFIF_CHGFROM 0x40u
#define SMFIF_ADDRCPT_PAR 0x80u
#define SMFIF_SETSYMLIST 0x100u
/* The ones mailroom carries out: header changes and the hold queue. */
#define MILTER_OUR_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

/* Protocol steps a filter may do without (negotiated). */
#define SMFIP_NOCONNECT 0x1u
#define SMFIP_NOHELO 0x2u
#define SMFIP_NOMAIL 0x4u
#define SMFIP_NORCPT 0x8u
#define SMFIP_NOBODY 0x10u
#define SMFIP_NOHDRS 0x20u
#define SMFIP_NOEOH 0x40u
#define SMFIP_NR_HDR 0x80u
#define SMFIP_NOUNKNOWN 0x100u
#define SMFIP_NODATA 0x200u
#define SMFIP_SKIP 0x400u
#define SMFIP_RCPT_REJ 0x800u
#define SMFIP_NR_CONN 0x1000u
#define SMFIP_NR_HELO 0x2000u
#define SMFIP_NR_MAIL 0x4000u
#define SMFIP_NR_RCPT 0x8000u
#define SMFIP_NR_DATA 0x10000u
#define SMFIP_NR_UNKN 0x20000u
#define SMFIP_NR_EOH 0x40000u
#define SMFIP_NR_BODY 0x80000u
#define SMFIP_HDR_LEADSPC 0x100000u
#define SMFIP_MDS_256K 0x10000000u
#define SMFIP_MDS_1M 0x20000000u
/* Every step flag up to HDR_LEADSPC: mailroom honours each. */
#define MILTER_OUR_PROTOCOL 0x1fffffu

/*
 * Encoders: each appends one whole packet to b. Returns 0, or -1 (out of memory,
 * or data over MILTER_CHUNK_MAX) with b as it was. A NUL inside a string would
 * end it early on the filter's side: it is sent as a blank.
 */
int milter_put_optneg(struct buf *b, uint32_t version, uint32_t actions, uint32_t protocol);
/* milter_put_empty - a command without data (DATA, EOH, BODYEOB, QUIT, ABORT). */
int milter_put_empty(struct buf *b, char cmd);
/* milter_put_strings - cmd with n NUL-terminated strings (HELO, MAIL, RCPT). */
int milter_put_strings(struct buf *b, char cmd, const char *const *v, size_t n);
/* milter_put_macros - SMFIC_MACRO for the command stage, kv holding n name, value pairs. */
int milter_put_macros(struct buf *b, char stage, const char *const *kv, size_t n);
/* milter_put_connect - the client: family '4', '6' or 'U' (unknown: no port, no address). */
int milter_put_connect(struct buf *b, const char *hostname, char family, uint16_t port,
    const char *addr);
int milter_put_header(struct buf *b, const char *name, size_t nlen, const char *value,
    size_t vlen);
int milter_put_body(struct buf *b, const void *p, size_t n);

/*
 * milter_frame - whether p[0..n) starts with a whole packet: 1 (yes), 0 (more is
 * needed), -1 (a length of 0 or over MILTER_REPLY_MAX: the stream cannot be
 * trusted any more). *len, the packet's command and data after the 4 length
 * octets, is set as soon as the length is read and good.
 */
int milter_frame(const void *p, size_t n, size_t *len);

/* One reply taken apart; pointers into the packet, which the caller keeps. */
struct milter_reply {
	char cmd;
	uint32_t version, actions, protocol; /* OPTNEG */
	uint32_t index;                      /* CHGHEADER, INSHEADER */
	const char *name, *value;            /* the header replies: NUL-terminated */
	const char *text;                    /* REPLYCODE, QUARANTINE: NUL-terminated */
};

/*
 * milter_parse_reply - the packet p[0..n) (command octet and data, as milter_frame
 * found it). Returns 0, or -1 with *why (static text) when it is malformed or no
 * reply at all. Replies mailroom never negotiates (SMFIR_ADDRCPT, SMFIR_REPLBODY...)
 * are parsed as their command only: the caller refuses them.
 */
int milter_parse_reply(const char *p, size_t n, struct milter_reply *r, const char **why);

/*
 * milter_reply_line - a filter's SMFIR_REPLYCODE text made into one SMTP reply
 * line for the client: "550 5.7.1 text". The code must be 4xx or 5xx; a missing or
 * mismatched enhanced status becomes X.7.1; a multi-line reply is joined; anything
 * but printable ASCII becomes '?'; the text is cut to fit out. Returns the code,
 * or -1 when t is no 4xx/5xx reply (the filter is then at fault). Pure.
 */
int milter_reply_line(const char *t, char *out, size_t outlen);

/* milter_cmd_name - "connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body", "eom". */
const char *milter_cmd_name(char cmd);

#endif
