/*
 * api_queue.h - the admin API's queue resource, /api/v1/queue: the queue's
 * messages listed, shown, held, released, deleted, and a flush, asked of queued
 * over the queue control channel (queue/queue_ctl.h).
 */
#ifndef MAILROOM_API_QUEUE_H
#define MAILROOM_API_QUEUE_H

struct httpd;
struct evhttp_request;

/*
 * api_queue - answer req, already authorized as an admin's; rest is its path after
 * "/api/v1/queue": "" GET list, "/ID" GET show or DELETE, "/ID/hold" and
 * "/ID/release" POST, "/flush" POST. Any other path is 404, another method 405.
 */
void api_queue(struct httpd *srv, struct evhttp_request *req, const char *rest);

#endif
