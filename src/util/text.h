/* text.h - small facts about stored message text. */
#ifndef MAILROOM_TEXT_H
#define MAILROOM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* count_lf - the LFs in p[0..n): what CRLF line ends add to the stored (LF) size. */
uint64_t count_lf(const char *p, size_t n);

#endif
