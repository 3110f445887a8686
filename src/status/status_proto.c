/* status_proto.c - the frames of `mailroom status` and its socket's name (status_proto.h). */
#include "status/status_proto.h"

#include <stdbool.h>
#include <stdint.h>

#include "ipc/frame.h"
#include "util/abstract_name.h"

void
status_socket_name(const char *data_dir, struct sockaddr_un *sun, socklen_t *len)
{
	abstract_name(data_dir, "serve", sun, len);
}

void
status_request_frame(struct frame *f)
{
	frame_init(f, ST_REQUEST);
}

bool
status_request_parse(struct frame *f, const void *data, size_t len)
{
	uint16_t type;

	return frame_parse(f, data, len, &type) == 0 && type == ST_REQUEST && frame_end(f);
}

int
status_reply_frame(struct frame *f, enum status_code code, const char *text)
{
	frame_init(f, ST_REPLY);
	frame_put_u64(f, (uint64_t)code);
	frame_put_str(f, text);
	return f->bad ? -1 : 0;
}

int
status_reply_parse(struct frame *f, const void *data, size_t len, enum status_code *code,
    char *text, size_t textlen)
{
	uint16_t type;
	uint64_t c;

	if (frame_parse(f, data, len, &type) < 0 || type != ST_REPLY || !frame_get_u64(f, &c) ||
	    !frame_get_str(f, text, textlen) || !frame_end(f) || c > ST_FAILED)
		return -1;
	*code = (enum status_code)c;
	return 0;
}
