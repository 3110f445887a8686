/* version.h - mailroom's version, as `mailroom version` and `mailroom status` print it. */
#ifndef MAILROOM_VERSION_H
#define MAILROOM_VERSION_H

#define MAILROOM_VERSION "0.1.0"

#endif
