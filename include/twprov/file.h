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
 * A temporary file next to the file it will replace: created in directory
 * `dirfd` (whose path is `dir`, for messages) as ".BASE.twprov-XXXXXXXX"
 * (random), mode 0600 from the start, never through a symbolic link.  Until
 * it is committed or discarded, a signal that ends the process (SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT) removes it first: it may hold passwords.
 */
struct tw_tmpfile {
	int dirfd;      /* the caller's: it may close it and set another for the same directory
	                   before commit (-1: discard goes by path) */
	char *name;     /* within dirfd */
	char *path;     /* dir/name */
};
/* Returns the open file, or -1 with "cannot create a file in DIR: why". */
int tw_tmpfile_open(struct tw_tmpfile *t, int dirfd, const char *dir, const char *base, struct tw_err *err);
/* Rename it over `target` (a name in the same directory; a symbolic link there is replaced,
 * not followed).  -1 with "cannot replace DIR/TARGET: why" (the file stays until discarded). */
int tw_tmpfile_commit(struct tw_tmpfile *t, const char *target, struct tw_err *err);
/* Remove it (when not committed) and forget it; safe to call twice. */
void tw_tmpfile_discard(struct tw_tmpfile *t);
/* Open one, write `data` and fsync: the open file, or -1 (nothing left behind) with
 * "cannot create a file in DIR: why" or "cannot write PATH: why". */
int tw_tmpfile_write(struct tw_tmpfile *t, int dirfd, const char *dir, const char *base, const void *data,
		     size_t len, struct tw_err *err);
/* write(2) until everything is written (EINTR retried); -1 with errno set. */
int tw_write_full(int fd, const void *data, size_t len);

/*
 * Replace `path` with `data` atomically: a temporary file beside it (as
 * above), then `mode`, rename over `path` and fsync of the directory.  A reader sees the old file or the new one, never a part;
 * on failure nothing is left behind.  -1 with "cannot write PATH: why".
 */
int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tw_err *err);

/* Create directory `path` and its missing parents with `mode`; -1 with "cannot create
 * directory PATH: why" or "PATH is not a directory". */
int tw_mkdir_p(const char *path, mode_t mode, struct tw_err *err);

/* A file of a tree written under one directory (tw_write_tree). */
struct tw_tree_file {
	const char *name;       /* relative to the directory: segments joined by '/' */
	const void *data;
	size_t len;
	int written;            /* set once it is in place */
};

/*
 * Write every file into `dir` (created with its parents if missing): each
 * through a temporary file in its final directory, fsync'd (removed if a
 * signal ends twprov), then given `mode`; only when every temporary file is
 * written are they renamed over the targets (an existing file is replaced
 * atomically, a symbolic link replaced, not followed).  Paths under `dir`
 * never follow a symbolic link: a directory on the way that is one is an
 * error.  Directories are created 0700, or 0755 for files others may read.
 * On failure the temporary files are removed; a rename that fails after
 * others succeeded leaves those replaced: `written` says which.
 */
int tw_write_tree(struct tw_tree_file *v, size_t n, const char *dir, mode_t mode, struct tw_err *err);

/* The directory of a path ("." when it has none); heap string. */
char *tw_dir_of(const char *path);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void tw_sha256_hex(const void *data, size_t len, char out[65]);

#endif
