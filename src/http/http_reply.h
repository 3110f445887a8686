/*
 * http_reply.h - the replies of the web role's handlers, with the headers every
 * reply carries (http_routes.c).
 */
#ifndef MAILROOM_HTTP_REPLY_H
#define MAILROOM_HTTP_REPLY_H

#include "util/buf.h"

struct evhttp_request;

/* http_reply_json - status with the JSON text json (application/json), on https. */
void http_reply_json(struct evhttp_request *req, int status, const struct buf *json);

#endif
