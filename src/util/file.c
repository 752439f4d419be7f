/* file.c - reading whole files, hashing bytes */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "twprov/file.h"

static const char *not_regular(mode_t mode)
{
	if (S_ISDIR(mode))
		return strerror(EISDIR);
	if (S_ISFIFO(mode))
		return "not a regular file (a FIFO)";
	if (S_ISSOCK(mode))
		return "not a regular file (a socket)";
	if (S_ISCHR(mode))
		return "not a regular file (a character device)";
	if (S_ISBLK(mode))
		return "not a regular file (a block device)";
	return "not a regular file";
}

int tw_open_regular(const char *path, struct stat *st, struct tw_err *err)
{
	struct stat own;
	int fd, e;

	if (!st)
		st = &own;
	/* O_NONBLOCK: opening a FIFO without a writer (or a device) must not wait */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return tw_err_set(err, "%s", strerror(errno));
	if (fstat(fd, st) < 0) {
		e = errno;
		close(fd);
		return tw_err_set(err, "%s", strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return tw_err_set(err, "%s", not_regular(st->st_mode));
	}
	return fd;
}

int tw_read_regular(const char *path, size_t max, struct tw_buf *out, struct stat *st, struct tw_err *err)
{
	char chunk[65536];
	struct stat own;
	int fd, e = 0;

	if (!st)
		st = &own;
	if ((fd = tw_open_regular(path, st, err)) < 0)
		return -1;
	if (st->st_size > 0)
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
		return tw_err_set(err, "%s", strerror(e));
	return 0;
}

int tw_read_file(const char *path, size_t max, struct tw_buf *out, struct stat *st, struct tw_err *err)
{
	if (tw_read_regular(path, max, out, st, err) < 0) {
		tw_err_prefix(err, "cannot read %s", tw_quote(path));
		return -1;
	}
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

static int write_full(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tw_err *err)
{
	char *dir = tw_dir_of(path), *tmp;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int fd, dfd;

	tmp = tw_xasprintf("%s/.%s.twprov-XXXXXX", dir, base);
	fd = mkstemp(tmp);                  /* 0600 until the end */
	if (fd < 0) {
		tw_err_set(err, "cannot create a file in %s: %s", tw_quote(dir), strerror(errno));
		goto fail;
	}
	if (write_full(fd, data, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		tw_err_set(err, "cannot write %s: %s", tw_quote(path), strerror(errno));
		close(fd);
		goto fail_unlink;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		tw_err_set(err, "cannot write %s: %s", tw_quote(path), strerror(errno));
		goto fail_unlink;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);                 /* the rename itself survives a crash */
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;
fail_unlink:
	unlink(tmp);
fail:
	free(tmp);
	free(dir);
	return -1;
}
