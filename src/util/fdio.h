/* fdio.h - whole writes and file-to-file copies on file descriptors. */
#ifndef MAILROOM_FDIO_H
#define MAILROOM_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* fd_write_all - write n octets, retrying short writes and EINTR. Returns 0 or -1 (errno). */
int fd_write_all(int fd, const void *p, size_t n);

/*
 * fd_copy - the first len octets of src (read from offset 0, src's own offset
 * untouched) written at dst's position: in the kernel where it can
 * (copy_file_range), else through a small buffer. Returns 0, or -1 with errno
 * (EIO when src is shorter than len).
 */
int fd_copy(int src, uint64_t len, int dst);

#endif
