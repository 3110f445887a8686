/* fdio.h - whole reads and writes, and file-to-file copies, on file descriptors. */
#ifndef MAILROOM_FDIO_H
#define MAILROOM_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

/* fd_write_all - write n octets, retrying short writes and EINTR. Returns 0 or -1 (errno). */
int fd_write_all(int fd, const void *p, size_t n);

/*
 * fd_pread_full - up to n octets from offset off, retrying short reads and EINTR.
 * Returns the octets read (fewer than n only at the end of the file) or -1 (errno).
 */
ssize_t fd_pread_full(int fd, void *p, size_t n, uint64_t off);

/*
 * fd_copy - len octets of src from offset off (src's own offset untouched) written
 * at dst's position: in the kernel where it can (copy_file_range), else through a
 * small buffer. Returns 0, or -1 with errno (EIO when src ends before off + len).
 */
int fd_copy(int src, uint64_t off, uint64_t len, int dst);

/*
 * fd_read_file - the whole file at path (not through a symbolic link) appended to
 * b, NUL-terminated. Returns 0, or -1 with errno (EFBIG when larger than max).
 */
int fd_read_file(const char *path, uint64_t max, struct buf *b);

#endif
