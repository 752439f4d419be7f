/* file.c - reading regular files, temporary files that replace others, hashing bytes */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "twprov/file.h"
#include "twprov/log.h"

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
	if (fd < 0) {
		e = errno;
		/* a socket cannot be opened at all: say what it is */
		if (e == ENXIO && stat(path, st) == 0 && !S_ISREG(st->st_mode))
			return tw_err_set(err, "%s", not_regular(st->st_mode));
		return tw_err_set(err, "%s", strerror(e));
	}
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

/* ---- temporary files, removed when a signal ends the process ---- */

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction saved[NFATAL];
static char **live_tmp;                 /* paths of the temporary files that exist now */
static size_t nlive_tmp, alive_tmp;

static void on_fatal_signal(int sig)
{
	/* unlink is async-signal-safe; the list only changes with these signals blocked */
	for (size_t i = 0; i < nlive_tmp; i++)
		unlink(live_tmp[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Run `add` (1) or remove (0) `path` in the list with the fatal signals blocked. */
static void track(const char *path, int add)
{
	sigset_t block, old;
	struct sigaction sa;

	sigemptyset(&block);
	for (size_t i = 0; i < NFATAL; i++)
		sigaddset(&block, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (add) {
		if (!nlive_tmp) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_fatal_signal;
			sigemptyset(&sa.sa_mask);
			for (size_t i = 0; i < NFATAL; i++)
				sigaction(fatal_signals[i], &sa, &saved[i]);
		}
		TW_ALLOC_GROW(live_tmp, nlive_tmp + 1, alive_tmp);
		live_tmp[nlive_tmp++] = tw_xstrdup(path);
	} else {
		for (size_t i = 0; i < nlive_tmp; i++) {
			if (strcmp(live_tmp[i], path))
				continue;
			free(live_tmp[i]);
			live_tmp[i] = live_tmp[--nlive_tmp];
			break;
		}
		if (!nlive_tmp) {
			for (size_t i = 0; i < NFATAL; i++)
				sigaction(fatal_signals[i], &saved[i], NULL);
			free(live_tmp);
			live_tmp = NULL;
			alive_tmp = 0;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int tw_tmpfile_open(struct tw_tmpfile *t, int dirfd, const char *dir, const char *base, struct tw_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[4];
	int fd = -1;

	memset(t, 0, sizeof(*t));
	t->dirfd = -1;
	for (int tries = 0; tries < 100 && fd < 0; tries++) {
		char suffix[9];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return tw_err_set(err, "cannot create a file in %s: no random name from openssl", tw_quote(dir));
		for (size_t i = 0; i < sizeof(rnd); i++) {
			suffix[2 * i] = hex[rnd[i] >> 4];
			suffix[2 * i + 1] = hex[rnd[i] & 15];
		}
		suffix[8] = '\0';
		free(t->name);
		t->name = tw_xasprintf(".%s.twprov-%s", base, suffix);
		fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			tw_err_set(err, "cannot create a file in %s: %s", tw_quote(dir), strerror(errno));
			free(t->name);
			t->name = NULL;
			return -1;
		}
	}
	if (fd < 0) {
		free(t->name);
		t->name = NULL;
		return tw_err_set(err, "cannot create a file in %s: no free name", tw_quote(dir));
	}
	t->dirfd = dirfd;
	t->path = tw_xasprintf("%s/%s", dir, t->name);
	track(t->path, 1);
	/* 0600 whatever the umask: it holds what the final file holds, passwords included */
	fchmod(fd, 0600);
	return fd;
}

int tw_tmpfile_commit(struct tw_tmpfile *t, const char *target, struct tw_err *err)
{
	if (renameat(t->dirfd, t->name, t->dirfd, target) < 0) {
		char *dir = tw_dir_of(t->path);
		tw_err_set(err, "cannot replace %s/%s: %s", tw_quote(dir), tw_quote(target), strerror(errno));
		free(dir);
		return -1;
	}
	track(t->path, 0);
	free(t->name);
	free(t->path);
	memset(t, 0, sizeof(*t));
	t->dirfd = -1;
	return 0;
}

void tw_tmpfile_discard(struct tw_tmpfile *t)
{
	if (!t->name)
		return;
	if (t->dirfd >= 0)
		unlinkat(t->dirfd, t->name, 0);
	else
		unlink(t->path);
	track(t->path, 0);
	free(t->name);
	free(t->path);
	memset(t, 0, sizeof(*t));
	t->dirfd = -1;
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

int tw_write_full(int fd, const void *data, size_t n)
{
	const char *p = data;

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

int tw_tmpfile_write(struct tw_tmpfile *t, int dirfd, const char *dir, const char *base, const void *data,
		     size_t len, struct tw_err *err)
{
	int fd = tw_tmpfile_open(t, dirfd, dir, base, err);

	if (fd < 0)
		return -1;
	if (tw_write_full(fd, data, len) < 0 || fsync(fd) < 0) {
		tw_err_set(err, "cannot write %s: %s", tw_quote(t->path), strerror(errno));
		close(fd);
		tw_tmpfile_discard(t);
		return -1;
	}
	return fd;
}

int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tw_err *err)
{
	char *dir = tw_dir_of(path);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct tw_tmpfile t;
	int dirfd, fd = -1, ret = -1;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		tw_err_set(err, "cannot write %s: %s", tw_quote(path), strerror(errno));
		goto out;
	}
	if ((fd = tw_tmpfile_write(&t, dirfd, dir, base, data, len, err)) < 0)
		goto out;
	if (fchmod(fd, mode) < 0) {
		tw_err_set(err, "cannot write %s: %s", tw_quote(path), strerror(errno));
		tw_tmpfile_discard(&t);
		goto out;
	}
	if (tw_tmpfile_commit(&t, base, err) < 0) {
		tw_tmpfile_discard(&t);
		goto out;
	}
	fsync(dirfd);           /* the rename itself survives a crash */
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(dir);
	return ret;
}

/* ---- a tree of files under one directory ---- */

int tw_mkdir_p(const char *path, mode_t mode, struct tw_err *err)
{
	char *p = tw_xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = tw_err_set(err, "cannot create directory %s: %s", tw_quote(p), strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!ret) {
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			ret = tw_err_set(err, "%s is not a directory", tw_quote(p));
	}
	free(p);
	return ret;
}

/*
 * The directory file `name` goes in, under the directory `outfd` (`dir`): each
 * segment of its path before the last opened in turn (created with `dmode` when
 * `create`), never following a symbolic link: a link planted there would take
 * the files out of the tree.  *sub gets its path for messages.  Returns a
 * descriptor (the caller closes it) or -1.
 */
static int open_dir_of(int outfd, const char *dir, const char *name, int create, mode_t dmode, char **sub,
		       struct tw_err *err)
{
	struct tw_buf path = TW_BUF_INIT;
	int fd = dup(outfd);

	tw_buf_adds(&path, dir);
	if (fd < 0)
		tw_err_set(err, "cannot open %s: %s", tw_quote(dir), strerror(errno));
	for (const char *p = name, *slash; fd >= 0 && (slash = strchr(p, '/')); p = slash + 1) {
		char *part = tw_xstrndup(p, (size_t)(slash - p));
		struct stat st;
		int next;

		tw_buf_addf(&path, "/%s", part);
		if (create && mkdirat(fd, part, dmode) < 0 && errno != EEXIST) {
			tw_err_set(err, "cannot create directory %s: %s", tw_quote(path.buf), strerror(errno));
			next = -1;
		} else if ((next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			int e = errno;
			if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				tw_err_set(err, "%s is a symbolic link: twprov does not write through one (it could "
					   "lead out of %s)", tw_quote(path.buf), tw_quote(dir));
			else
				tw_err_set(err, "cannot open the directory %s: %s", tw_quote(path.buf), strerror(e));
		}
		close(fd);
		fd = next;
		free(part);
	}
	*sub = tw_buf_detach(&path);
	return fd;
}

static const char *base_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	return slash ? slash + 1 : name;
}

int tw_write_tree(struct tw_tree_file *v, size_t n, const char *dir, mode_t mode, struct tw_err *err)
{
	struct tw_tmpfile *tmp = tw_xcalloc(n ? n : 1, sizeof(*tmp));
	/* directories readable by whom the files are: 0644 files go in 0755 directories */
	mode_t dmode = 0700 | (mode & 0044) | ((mode & 0044) >> 2);
	size_t i;
	int outfd = -1, ret = -1;

	for (i = 0; i < n; i++) {
		tmp[i].dirfd = -1;
		v[i].written = 0;
	}
	if (tw_mkdir_p(dir, dmode, err) < 0)
		goto out;
	if ((outfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		tw_err_set(err, "cannot open %s: %s", tw_quote(dir), strerror(errno));
		goto out;
	}
	/* every file in a temporary file next to its target first */
	for (i = 0; i < n; i++) {
		char *sub;
		int subfd = open_dir_of(outfd, dir, v[i].name, 1, dmode, &sub, err), fd, e = 0;
		struct stat st;

		if (subfd >= 0 && fstatat(subfd, base_of(v[i].name), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			tw_err_set(err, "cannot replace %s/%s: it is a directory", tw_quote(sub), tw_quote(base_of(v[i].name)));
			close(subfd);
			subfd = -1;
		}
		fd = subfd < 0 ? -1 : tw_tmpfile_write(&tmp[i], subfd, sub, base_of(v[i].name), v[i].data, v[i].len, err);
		if (fd >= 0 && ((mode != 0600 && fchmod(fd, mode) < 0) || close(fd) < 0)) {
			e = errno;
			tw_err_set(err, "cannot write %s/%s: %s", tw_quote(sub), tw_quote(base_of(v[i].name)), strerror(e));
		}
		if (subfd >= 0)
			close(subfd);
		tmp[i].dirfd = -1;      /* reopened to commit: a file per user would be a descriptor each */
		free(sub);
		if (fd < 0 || e)
			goto out;
	}
	/* then each renamed over its target; a failure here leaves the earlier ones replaced */
	for (i = 0; i < n; i++) {
		char *sub;
		int subfd = open_dir_of(outfd, dir, v[i].name, 0, dmode, &sub, err);

		free(sub);
		if (subfd < 0)
			goto out;
		tmp[i].dirfd = subfd;
		if (tw_tmpfile_commit(&tmp[i], base_of(v[i].name), err) < 0) {
			close(subfd);
			tmp[i].dirfd = -1;
			goto out;
		}
		v[i].written = 1;
		fsync(subfd);
		close(subfd);
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		tw_tmpfile_discard(&tmp[i]);
	if (outfd >= 0)
		close(outfd);
	free(tmp);
	return ret;
}
