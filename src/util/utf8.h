/* utf8.h - decoding one UTF-8 sequence, strictly (RFC 3629). */
#ifndef MAILROOM_UTF8_H
#define MAILROOM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * utf8_decode - the code point of the well-formed multi-octet sequence at p (n
 * octets left) into *cp; its length, or 0 when p does not start one (ASCII, a
 * stray continuation, an overlong form, a surrogate, above U+10FFFF, cut short).
 */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

#endif
