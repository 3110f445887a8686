/*
 * fuzz_smtp_cmd.c - libFuzzer harness for smtp_cmd.c: the command line, then
 * the argument parsers, both on the arguments it found and on the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_error(const struct smtp_error *err)
{
	if (err->code < 500 || err->code > 555 || err->status == NULL || err->text == NULL ||
	    err->status[0] != '5')
		abort();
}

static void
check_mailbox(const struct mailbox *mb, bool utf8)
{
	char text[ADDR_MAX + 1];
	struct mailbox again;

	if (strlen(mb->local) > ADDR_LOCAL_MAX || strlen(mb->domain) > ADDR_DOMAIN_MAX)
		abort();
	if (mb->domain[0] == '\0')
		return; /* <postmaster> */
	address_format(mb, text, sizeof text);
	if (address_parse(text, strlen(text), &again, utf8 ? ADDR_UTF8 : 0) != 0)
		abort();
}

static void
parse_args(const char *a, size_t n)
{
	struct smtp_error err;
	struct mailbox mb;
	bool null_sender;
	struct mail_params params;
	uint64_t size;
	bool last;
	char helo[ADDR_DOMAIN_MAX + 1];

	memset(&err, 0, sizeof err);
	if (smtp_parse_mail(a, n, &mb, &null_sender, &params, &err) == 0) {
		if (!null_sender)
			check_mailbox(&mb, params.smtputf8);
		if (params.body > BODY_BINARYMIME || strlen(params.auth) > ADDR_MAX)
			abort();
	} else {
		check_error(&err);
	}
	for (int utf8 = 0; utf8 <= 1; utf8++) {
		memset(&err, 0, sizeof err);
		if (smtp_parse_rcpt(a, n, &mb, utf8, &err) == 0)
			check_mailbox(&mb, utf8);
		else
			check_error(&err);
	}
	memset(&err, 0, sizeof err);
	if (smtp_parse_bdat(a, n, &size, &last, &err) != 0)
		check_error(&err);
	memset(&err, 0, sizeof err);
	if (smtp_parse_helo(a, n, helo, sizeof helo, &err) == 0) {
		size_t hl = strlen(helo);
		if (hl == 0 || hl > ADDR_DOMAIN_MAX)
			abort();
		for (size_t i = 0; i < hl; i++) {
			if ((unsigned char)helo[i] < 0x20 || (unsigned char)helo[i] > 0x7e)
				abort();
		}
	} else {
		check_error(&err);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd cmd;
	struct smtp_error err;

	memset(&err, 0, sizeof err);
	if (smtp_cmd_parse(line, size, &cmd, &err) == 0) {
		if (cmd.argslen > 0) {
			if (cmd.args < line || cmd.args + cmd.argslen > line + size)
				abort();
			if (cmd.args[0] == ' ' || cmd.args[cmd.argslen - 1] == ' ')
				abort();
			parse_args(cmd.args, cmd.argslen);
		} else if (cmd.args == NULL) {
			abort();
		}
	} else {
		if (err.code != 500)
			abort();
		check_error(&err);
	}
	parse_args(line, size);
	return 0;
}
