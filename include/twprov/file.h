/* file.h - reading whole files */
#ifndef TWPROV_FILE_H
#define TWPROV_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "twprov/buf.h"
#include "twprov/err.h"

struct stat;

/*
 * Open `path` for reading when it is a regular file: a FIFO, a socket, a
 * device or a directory is refused without blocking (a FIFO with no writer
 * would hold the open forever).  Returns the descriptor, or -1 with the
 * reason alone in err ("No such file or directory", "not a regular file (a
 * FIFO)").  `st` (may be NULL) receives the file's status.
 */
int tw_open_regular(const char *path, struct stat *st, struct tw_err *err);

/*
 * Append the bytes of regular file `path` to `out`, but no more than max + 1
 * (so a caller can tell a file over its limit).  The buffer is sized once
 * from the file's size and the read chunks are wiped, so no copy of a secret
 * the file may hold is left in freed memory.  `st` (may be NULL) receives
 * the file's status.  -1 with the reason alone in err (as tw_open_regular).
 */
int tw_read_regular(const char *path, size_t max, struct tw_buf *out, struct stat *st, struct tw_err *err);
/* The same; -1 with "cannot read PATH: why". */
int tw_read_file(const char *path, size_t max, struct tw_buf *out, struct stat *st, struct tw_err *err);

/*
 * Replace `path` with `data` atomically: a temporary file beside it (mode
 * 0600 while it is written), then `mode`, fsync, rename over `path` and fsync
 * of the directory.  A reader sees the old file or the new one, never a part;
 * on failure nothing is left behind.  -1 with "cannot write PATH: why".
 */
int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tw_err *err);

/* The directory of a path ("." when it has none); heap string. */
char *tw_dir_of(const char *path);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void tw_sha256_hex(const void *data, size_t len, char out[65]);

#endif
