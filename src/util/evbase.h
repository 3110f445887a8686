/* evbase.h - the event loop every role uses. */
#ifndef MAILROOM_EVBASE_H
#define MAILROOM_EVBASE_H

struct event_base;

/*
 * evbase_new - a libevent base with epoll's change list: a bufferevent that
 * enables and disables writing within one loop turn costs one epoll_ctl, not two.
 */
struct event_base *evbase_new(void);

#endif
