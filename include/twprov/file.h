/* file.h - reading whole files */
#ifndef TWPROV_FILE_H
#define TWPROV_FILE_H

#include <stddef.h>

#include "twprov/buf.h"
#include "twprov/err.h"

/* Append the bytes of `path` (at most `max`) to `out`; -1 with "cannot read PATH: why". */
int tw_read_file(const char *path, size_t max, struct tw_buf *out, struct tw_err *err);

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void tw_sha256_hex(const void *data, size_t len, char out[65]);

#endif
