/* secret.c - ${env:NAME} and ${file:PATH} references in secret fields */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/file.h"
#include "internal.h"

extern char **environ;

enum tw_secref tw_secref_parse(const char *v, size_t len, const char **arg, size_t *arglen)
{
	static const struct { const char *prefix; size_t len; enum tw_secref type; } forms[] = {
		{ "${env:", 6, TW_SECREF_ENV },
		{ "${file:", 7, TW_SECREF_FILE },
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (len < forms[i].len + 1 || memcmp(v, forms[i].prefix, forms[i].len) || v[len - 1] != '}')
			continue;
		*arg = v + forms[i].len;
		*arglen = len - forms[i].len - 1;
		return forms[i].type;
	}
	return TW_SECREF_NONE;
}

static int valid_env_name(const char *s, size_t n)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* NAME -> its position in environ, the first one when a name repeats (as getenv). */
static json_t *env_index(void)
{
	json_t *ix = json_object();

	for (size_t i = 0; environ && environ[i]; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t n = eq ? (size_t)(eq - environ[i]) : 0;
		if (n && !json_object_getn(ix, environ[i], n))
			json_object_setn_new_nocheck(ix, environ[i], n, json_integer((json_int_t)i));
	}
	return ix;
}

static int resolve_env(const char *name, json_t **env, struct tw_buf *out, struct tw_buf *why)
{
	const char *v = NULL;
	json_t *pos;

	if (!*env)
		*env = env_index();
	pos = json_object_get(*env, name);
	if (pos)
		v = environ[json_integer_value(pos)] + strlen(name) + 1;
	if (!v) {
		tw_buf_adds(why, "environment variable ");
		tw_cfg_quote(why, name);
		tw_buf_adds(why, " is not set");
		return -1;
	}
	tw_buf_adds(out, v);
	return 0;
}

static int read_error(struct tw_buf *why, const char *shown, const char *problem)
{
	tw_buf_adds(why, "cannot read ");
	tw_cfg_quote(why, shown);
	tw_buf_addf(why, ": %s", problem);
	return -1;
}

static int resolve_file(const char *path, const char *dir, struct tw_buf *out, struct tw_buf *why)
{
	struct tw_buf full = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	int ret;

	if (path[0] != '/' && dir && *dir)
		tw_buf_addf(&full, "%s/%s", dir, path);
	else
		tw_buf_adds(&full, path);
	ret = tw_read_regular(full.buf, TW_CFG_MAX_SCALAR, out, NULL, &err);
	tw_buf_release(&full);
	if (ret < 0)
		return read_error(why, path, err.msg);
	if (out->len > TW_CFG_MAX_SCALAR)
		return read_error(why, path, "larger than 64 KiB");
	if (memchr(out->buf, '\0', out->len))
		return read_error(why, path, "it holds a NUL byte");
	/* one trailing newline, as editors and `echo` leave it */
	if (out->len && out->buf[out->len - 1] == '\n') {
		out->buf[--out->len] = '\0';
		if (out->len && out->buf[out->len - 1] == '\r')
			out->buf[--out->len] = '\0';
	}
	return 0;
}

int tw_secref_resolve(enum tw_secref type, const char *arg, size_t arglen, const char *dir,
		      json_t **env, struct tw_buf *out, struct tw_buf *why)
{
	char *a;
	int ret;

	if (memchr(arg, '\0', arglen)) {
		tw_buf_adds(why, "invalid secret reference: it holds a NUL character");
		return -1;
	}
	a = tw_xstrndup(arg, arglen);
	if (type == TW_SECREF_ENV) {
		if (!valid_env_name(a, arglen)) {
			tw_buf_adds(why, "invalid secret reference: ");
			if (arglen) {
				tw_cfg_quote(why, a);
				tw_buf_adds(why, " is not an environment variable name");
			} else {
				tw_buf_adds(why, "empty environment variable name in ${env:NAME}");
			}
			free(a);
			return -1;
		}
		ret = resolve_env(a, env, out, why);
	} else {
		if (!arglen) {
			tw_buf_adds(why, "invalid secret reference: empty path in ${file:PATH}");
			free(a);
			return -1;
		}
		ret = resolve_file(a, dir, out, why);
	}
	free(a);
	return ret;
}
