/* file.c - reading whole files, hashing bytes */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "twprov/file.h"

int tw_read_file(const char *path, size_t max, struct tw_buf *out, struct tw_err *err)
{
	char chunk[65536];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return tw_err_set(err, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return tw_err_set(err, "cannot read %s: %s", path, strerror(EISDIR));
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return tw_err_set(err, "cannot read %s: %s", path, strerror(e));
		}
		if (!n)
			break;
		if (out->len + (size_t)n > max) {
			close(fd);
			return tw_err_set(err, "cannot read %s: larger than %zu bytes", path, max);
		}
		tw_buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	return 0;
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
