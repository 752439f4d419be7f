/* file.c - reading whole files, hashing bytes */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "twprov/file.h"

int tw_read_file(const char *path, size_t max, struct tw_buf *out, struct stat *st, struct tw_err *err)
{
	char chunk[65536];
	struct stat own;
	int fd, e = 0;

	if (!st)
		st = &own;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tw_err_set(err, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fd, st) < 0)
		e = errno;
	else if (S_ISDIR(st->st_mode))
		e = EISDIR;
	else if (st->st_size > 0)
		tw_buf_grow(out, (size_t)st->st_size < max ? (size_t)st->st_size + 1 : max + 1);
	while (!e && out->len <= max) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			e = errno;
		else if (!n)
			break;
		else
			tw_buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	tw_memwipe(chunk, sizeof(chunk));
	if (e)
		return tw_err_set(err, "cannot read %s: %s", path, strerror(e));
	return 0;
}

char *tw_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return tw_xstrdup(".");
	if (slash == path)
		return tw_xstrdup("/");
	return tw_xstrndup(path, (size_t)(slash - path));
}

void tw_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < n && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}
