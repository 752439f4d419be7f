/* load.c - twprov.yaml -> desired model: schema walk over the kind descriptors, references */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "twprov/buf.h"
#include "twprov/redact.h"
#include "twprov/file.h"
#include "twprov/checks.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/model.h"
#include "internal.h"

/* A resource kept in the model, with what messages need to name it. */
struct lres {
	struct tw_res *r;
	char *path;                 /* "KIND[0].CHILDREN[1]" */
	char *idpath;               /* path of its identity value */
	struct tw_loc idloc;        /* location of its identity value */
	size_t order;
};

/* A name that must resolve to a declared top-level resource. */
struct lref {
	const char *kind;           /* the referenced kind's name */
	char *name;
	char *path;
	struct tw_loc loc;
};

/* A value written as a mapping (a field's objval), checked once hooks have run. */
struct lobjval {
	struct tw_res *r;
	const struct tw_objval *ov;
	json_t *v;
	struct tw_loc loc;
	char *path;
};

struct ld {
	struct tw_model *m;
	struct lobjval *objvals;
	size_t nobjvals, aobjvals;
	int no_secrets;             /* tw_config_opts.no_secrets */
	struct tw_ydoc doc;
	struct lres *res;
	size_t nres, ares;
	struct lref *refs;
	size_t nrefs, arefs;
	size_t suppressed;          /* diagnostics over TW_CFG_MAX_DIAGS */
	size_t suppressed_errors;
	struct tw_loc first_suppressed;
	json_t *env;                /* index of the environment for ${env:NAME} (secret.c) */
};

/* Where the walk is: an item of `kind` (NULL: the file's root mapping). */
struct wctx {
	const struct tw_kind *kind;
	struct tw_res *res;
	int top;                    /* a top-level item (state: allowed) */
	int in_absent;              /* this item or an ancestor has state: absent */
	int keep;                   /* `res` is part of the model */
	unsigned char *seen;        /* per field of kind: its key was present */
	int seen_version;           /* root: twprov: was present */
};

static const char *const root_keys[] = { "twprov", "account", "prune", "ignore" };
#define NROOT_KEYS (sizeof(root_keys) / sizeof(root_keys[0]))
static const char *const account_keys[] = { "region", "edge" };
static const char *const state_choices[] = { "present", "absent", NULL };

/* ---- diagnostics ---- */

static struct tw_loc loc_of(const struct ld *ld, const struct tw_ynode *n)
{
	struct tw_loc l = { ld->m->file, n ? n->line : 0, n ? n->col : 0 };
	return l;
}

__attribute__((format(printf, 5, 0)))
static void vreport(struct ld *ld, int warning, const struct tw_loc *loc, const char *path,
		    const char *fmt, va_list ap)
{
	struct tw_buf b = TW_BUF_INIT;

	if (ld->m->diags.n >= TW_CFG_MAX_DIAGS) {
		if (!ld->suppressed++)
			ld->first_suppressed = *loc;
		if (!warning)
			ld->suppressed_errors++;
		return;
	}
	if (path && *path)
		tw_buf_addf(&b, "%s: ", path);
	tw_buf_vaddf(&b, fmt, ap);
	tw_diag_add(&ld->m->diags, warning, loc, "%s", b.buf);
	tw_buf_release(&b);
}

static void err_loc(struct ld *ld, const struct tw_loc *loc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void err_at(struct ld *ld, const struct tw_ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn_at(struct ld *ld, const struct tw_ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_loc(struct ld *ld, const struct tw_loc *loc, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, 0, loc, path, fmt, ap);
	va_end(ap);
}

static void err_at(struct ld *ld, const struct tw_ynode *n, const char *path, const char *fmt, ...)
{
	struct tw_loc l = loc_of(ld, n);
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, 0, &l, path, fmt, ap);
	va_end(ap);
}

static void warn_at(struct ld *ld, const struct tw_ynode *n, const char *path, const char *fmt, ...)
{
	struct tw_loc l = loc_of(ld, n);
	va_list ap;
	va_start(ap, fmt);
	vreport(ld, 1, &l, path, fmt, ap);
	va_end(ap);
}

/* `s` quoted for a message; each call returns a new heap string (freed by the caller). */
static char *quoted(const char *s)
{
	struct tw_buf b = TW_BUF_INIT;
	tw_cfg_quote(&b, s);
	return tw_buf_detach(&b);
}

/* " (did you mean \"x\"?)" or "" (heap string). */
static char *did_you_mean(const char *word, const char *const *cands, size_t n)
{
	const char *s = tw_suggest(word, cands, n);
	return s ? tw_xasprintf(" (did you mean \"%s\"?)", s) : tw_xstrdup("");
}

static const char *what(const struct tw_ynode *n)
{
	n = tw_ynode_deref(n);
	if (tw_ynode_is_null(n))
		return "null";
	switch (n->type) {
	case TW_Y_SEQ:
		return "a list";
	case TW_Y_MAP:
		return "a mapping";
	default:
		return "a string";
	}
}

/*
 * Paths of values for messages, "KIND[3].CHILDREN[12].FIELD": one is made per
 * value of the file (10,000 resources of 5 values make 50,000), so they
 * are put together by hand rather than with printf.
 */
static char *concat(const char *a, size_t alen, const char *sep, const char *b, size_t blen, const char *end)
{
	size_t slen = strlen(sep), elen = strlen(end);
	char *s = tw_xmalloc(alen + slen + blen + elen + 1), *p = s;

	memcpy(p, a, alen);
	memcpy(p += alen, sep, slen);
	memcpy(p += slen, b, blen);
	memcpy(p += blen, end, elen + 1);
	return s;
}

static char *join(const char *path, const char *key)
{
	return *path ? concat(path, strlen(path), ".", key, strlen(key), "") : tw_xstrdup(key);
}

/* path[i] */
static char *index_path(const char *path, size_t i)
{
	char digits[24], *d = digits + sizeof(digits);

	do
		*--d = (char)('0' + i % 10);
	while (i /= 10);
	return concat(path, strlen(path), "[", d, (size_t)(digits + sizeof(digits) - d), "]");
}

static int has_nul(const struct tw_ynode *n)
{
	return n->len != strlen(n->str);
}

/* A YAML 1.2 core integer (decimal) in a plain or !!int scalar. */
static int parse_int(const struct tw_ynode *n, long long *out)
{
	const char *s = n->str;
	char *end;

	if (!(n->plain || (n->tag && !strcmp(n->tag, "tag:yaml.org,2002:int"))))
		return -1;
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	*out = strtoll(n->str, &end, 10);
	if (errno == ERANGE)
		return -2;
	return 0;
}

/* ---- bookkeeping ---- */

static void add_ref(struct ld *ld, const char *kind, const char *name, const char *path, const struct tw_loc *loc)
{
	TW_ALLOC_GROW(ld->refs, ld->nrefs + 1, ld->arefs);
	struct lref *r = &ld->refs[ld->nrefs++];
	r->kind = kind;
	r->name = tw_xstrdup(name);
	r->path = tw_xstrdup(path);
	r->loc = *loc;
}

static void keep_res(struct ld *ld, struct wctx *parent, struct tw_res *r, const char *path,
		     char *idpath, const struct tw_loc *idloc)
{
	tw_res_add_child(parent->res, r);
	TW_ALLOC_GROW(ld->res, ld->nres + 1, ld->ares);
	struct lres *e = &ld->res[ld->nres];
	e->r = r;
	e->path = tw_xstrdup(path);
	e->idpath = idpath;
	e->idloc = *idloc;
	e->order = ld->nres++;
}

/*
 * The key of pair i of a mapping, or NULL when it is not usable (not a
 * scalar, or a repeat of an earlier key: reported here).
 */
static const struct tw_ynode *pair_key(struct ld *ld, const struct tw_ynode *map, size_t i, const char *path)
{
	const struct tw_ynode *kn = map->kids[2 * i], *k = tw_ynode_deref(kn);

	if (k->type != TW_Y_SCALAR) {
		err_at(ld, kn, path, "keys must be strings, not %s", what(k));
		return NULL;
	}
	if (map->dup && map->dup[i]) {
		if (!map->dup_reported) {
			const struct tw_ynode *first = map->kids[2 * (map->dup[i] - 1)];
			char *q = quoted(k->str);
			err_at(ld, kn, path, "duplicate key %s (first at %d:%d)", q, first->line, first->col);
			free(q);
		}
		return NULL;
	}
	return k;
}

static void done_pairs(const struct tw_ynode *map)
{
	((struct tw_ynode *)map)->dup_reported = 1;
}

/* ---- fields ---- */

static int required_field(const struct tw_field *f)
{
	return (f->flags & (TW_F_REQUIRED | TW_F_IDENTITY)) != 0;
}

/* "password" or "password or token": the fields of a kind that take secret references. */
static char *secret_fields(const struct tw_kind *k)
{
	struct tw_buf b = TW_BUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].flags & (TW_F_SECRET | TW_F_SECREF))
			tw_buf_addf(&b, "%s%s", n++ ? ", " : "", k->fields[i].name);
	if (!n)
		tw_buf_adds(&b, "secret fields");
	return tw_buf_detach(&b);
}

/*
 * Whether a check's message shows `value` the way checks quote values
 * (a safety net: checks leave values out for TW_F_SECRET fields).
 */
static int leaks(const char *msg, const char *value)
{
	struct tw_buf q = TW_BUF_INIT;
	tw_cfg_quote(&q, value);
	q.buf[--q.len] = '\0';                 /* the closing quote */
	if (q.len > 3 && !strcmp(q.buf + q.len - 3, "..."))
		q.buf[q.len -= 3] = '\0';      /* cut long values */
	int found = strstr(msg, q.buf) != NULL;
	tw_buf_wipe(&q);
	return found;
}

/* The length limit of a string field (the message never shows the value). */
static int check_length(const struct tw_field *f, const char *text, struct tw_buf *why)
{
	size_t n = tw_cfg_utf8_len(text);

	if (f->type == TW_V_STR && f->max > 0 && n > (size_t)f->max) {
		tw_buf_addf(why, "too long: %zu characters (max %ld)", n, f->max);
		return -1;
	}
	return 0;
}

/* The length limit of a string field, then its check (on a value that is not secret). */
static int length_and_check(const struct tw_field *f, const char *text, struct tw_buf *why)
{
	if (check_length(f, text, why) < 0)
		return -1;
	return f->check ? f->check(f, text, why) : 0;
}

int tw_config_check_str(const struct tw_field *f, const char *text, size_t len, struct tw_buf *why)
{
	const char *arg;
	size_t arglen;

	if (strlen(text) != len) {
		tw_buf_adds(why, "contains a NUL character");
		return -1;
	}
	if (tw_secref_parse(text, len, &arg, &arglen)) {
		tw_buf_adds(why, "reads as a secret reference (${env:...} or ${file:...})");
		return -1;
	}
	return len ? length_and_check(f, text, why) : 0;
}

/* Run the field's checks on a string value; report the first failure. */
static int check_string(struct ld *ld, const struct tw_field *f, const char *text, int sensitive,
			const struct tw_ynode *at, const char *path)
{
	struct tw_buf why = TW_BUF_INIT;
	int ret = 0;

	if (!(sensitive || (f->flags & TW_F_SECRET))) {
		ret = length_and_check(f, text, &why);
	} else if (check_length(f, text, &why) < 0) {
		ret = -1;
	} else if (f->check) {
		/* checks leave the value out of messages about secret fields */
		struct tw_field redacted = *f;
		redacted.flags |= TW_F_SECRET;
		ret = f->check(&redacted, text, &why);
		if (ret && leaks(why.buf, text)) {
			tw_buf_reset(&why);
			tw_buf_adds(&why, "invalid value (not shown: it is secret)");
		}
	}
	if (ret) {
		err_at(ld, at, path, "%s", why.len ? why.buf : "invalid value");
		ret = -1;
	}
	tw_buf_release(&why);
	return ret;
}

static const char *name_of(struct ld *ld, const struct tw_ynode *vn, const char *path);
/* A field's value written as a mapping (f->objval): its keys, the reference it holds. */
static json_t *load_objval(struct ld *ld, struct wctx *c, const struct tw_objval *ov, const struct tw_ynode *vn,
			   const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	json_t *obj = json_object();
	size_t nkeys = 0;
	int bad = 0;

	while (ov->keys[nkeys])
		nkeys++;
	for (size_t i = 0; i < v->n / 2; i++) {
		const struct tw_ynode *k = pair_key(ld, v, i, path);
		size_t j;
		char *kpath;
		const char *val;
		if (!k)
			continue;
		kpath = join(path, k->str);
		for (j = 0; j < nkeys && strcmp(k->str, ov->keys[j]); j++)
			;
		if (j == nkeys) {
			char *q = quoted(k->str), *dym = did_you_mean(k->str, ov->keys, nkeys);
			err_at(ld, v->kids[2 * i], path, "unknown key %s%s", q, dym);
			free(q);
			free(dym);
			bad = 1;
		} else if ((val = name_of(ld, v->kids[2 * i + 1], kpath))) {
			json_object_set_new(obj, k->str, json_string(val));
		} else {
			bad = 1;
		}
		free(kpath);
	}
	done_pairs(v);
	for (size_t j = 0; j < nkeys && !bad; j++)
		if (!(ov->optional >> j & 1) && !json_object_get(obj, ov->keys[j])) {
			err_at(ld, vn, path, "missing \"%s\" (%s)", ov->keys[j], ov->what);
			bad = 1;
		}
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	if (!c->in_absent && c->keep) {
		struct tw_loc l = loc_of(ld, vn);
		if (ov->ref_key)
			add_ref(ld, ov->ref_kind, json_string_value(json_object_get(obj, ov->ref_key)), path, &l);
		TW_ALLOC_GROW(ld->objvals, ld->nobjvals + 1, ld->aobjvals);
		ld->objvals[ld->nobjvals++] = (struct lobjval){ c->res, ov, obj, l, tw_xstrdup(path) };
	}
	return obj;
}

static json_t *load_str(struct ld *ld, struct wctx *c, size_t fi, const struct tw_ynode *vn, const char *path)
{
	const struct tw_field *f = &c->kind->fields[fi];
	const struct tw_ynode *v = tw_ynode_deref(vn);
	struct tw_buf secret = TW_BUF_INIT, why = TW_BUF_INIT;
	const char *text, *arg;
	size_t len, arglen;
	enum tw_secref ref = TW_SECREF_NONE;
	json_t *val = NULL;
	int sensitive = 0;

	if (v->type == TW_Y_MAP && f->objval)
		return load_objval(ld, c, f->objval, vn, path);
	if (v->type != TW_Y_SCALAR) {
		err_at(ld, vn, path, "expected a string, got %s", what(v));
		return NULL;
	}
	if (tw_ynode_is_null(v)) {
		if (required_field(f)) {
			err_at(ld, vn, path, "expected a string, got null");
			return NULL;
		}
		text = "";
		len = 0;
	} else {
		text = v->str;
		len = v->len;
	}
	if (has_nul(v)) {
		err_at(ld, vn, path, "contains a NUL character");
		return NULL;
	}
	ref = tw_secref_parse(text, len, &arg, &arglen);
	if (ref) {
		if (!(f->flags & (TW_F_SECRET | TW_F_SECREF))) {
			char *allowed = secret_fields(c->kind);
			err_at(ld, vn, path, "secret references are only allowed in %s", allowed);
			free(allowed);
			return NULL;
		}
		if (c->in_absent || ld->no_secrets)
			return NULL;   /* never sent (or not wanted): not resolved, not kept */
		if (tw_secref_resolve(ref, arg, arglen, ld->m->dir, &ld->env, &secret, &why) < 0) {
			err_at(ld, vn, path, "%s", why.buf);
			goto out;
		}
		text = secret.buf;
		len = secret.len;
		sensitive = 1;
		if (!len && required_field(f)) {
			char *a = tw_xstrndup(arg, arglen), *q = quoted(a);
			err_at(ld, vn, path, "%s %s is empty", ref == TW_SECREF_ENV ? "environment variable" : "file", q);
			free(q);
			free(a);
			goto out;
		}
	} else if ((f->flags & TW_F_SECRET) && len) {
		warn_at(ld, vn, path, "literal secret in the file; use ${env:NAME} or ${file:PATH}");
	}
	if (sensitive || (f->flags & TW_F_SECRET))
		tw_secret_add(text, len);     /* never shown, not even echoed by a server */
	if (!len) {
		if (required_field(f)) {
			err_at(ld, vn, path, "must not be empty");
			goto out;
		}
		/* an empty optional value clears the field: no checks */
	} else if (check_string(ld, f, text, sensitive, vn, path) < 0) {
		goto out;
	}
	val = json_stringn(text, len);
	if (!val) {
		err_at(ld, vn, path, "the value is not valid UTF-8");
		goto out;
	}
	if (sensitive && fi < 64)
		c->res->sensitive |= (uint64_t)1 << fi;
out:
	tw_buf_wipe(&secret);
	tw_buf_release(&why);
	return val;
}

static const char *const yaml11_bools[] = { "yes", "no", "on", "off", "y", "n" };

static json_t *load_bool(struct ld *ld, const struct tw_ynode *vn, const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);

	if (v->type != TW_Y_SCALAR || tw_ynode_is_null(v)) {
		err_at(ld, vn, path, "expected true or false, got %s", what(v));
		return NULL;
	}
	char *q = quoted(v->str);
	if (v->plain || (v->tag && !strcmp(v->tag, "tag:yaml.org,2002:bool"))) {
		if (!strcmp(v->str, "true") || !strcmp(v->str, "True") || !strcmp(v->str, "TRUE")) {
			free(q);
			return json_true();
		}
		if (!strcmp(v->str, "false") || !strcmp(v->str, "False") || !strcmp(v->str, "FALSE")) {
			free(q);
			return json_false();
		}
		for (size_t i = 0; i < sizeof(yaml11_bools) / sizeof(yaml11_bools[0]); i++)
			if (!strcasecmp(v->str, yaml11_bools[i])) {
				err_at(ld, vn, path, "expected true or false, got %s "
				       "(YAML 1.2 booleans are only true and false)", q);
				free(q);
				return NULL;
			}
		err_at(ld, vn, path, "expected true or false, got %s", q);
	} else {
		err_at(ld, vn, path, "expected true or false, got the quoted string %s", q);
	}
	free(q);
	return NULL;
}

static json_t *load_int(struct ld *ld, const struct tw_field *f, const struct tw_ynode *vn, const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	long long x;

	if (v->type != TW_Y_SCALAR || tw_ynode_is_null(v)) {
		err_at(ld, vn, path, "expected an integer, got %s", what(v));
		return NULL;
	}
	int r = parse_int(v, &x);
	if (r == -1) {
		char *q = quoted(v->str);
		err_at(ld, vn, path, "expected an integer, got %s%s", v->plain ? "" : "the quoted string ", q);
		free(q);
		return NULL;
	}
	if (r == -2 || ((f->min || f->max) && (x < f->min || x > f->max))) {
		if (f->min || f->max)
			err_at(ld, vn, path, "must be between %ld and %ld, got %s", f->min, f->max, v->str);
		else
			err_at(ld, vn, path, "integer out of range: %s", v->str);
		return NULL;
	}
	return json_integer((json_int_t)x);
}

/* A scalar naming a resource (REF, REFLIST item, association). NULL if reported. */
static const char *name_of(struct ld *ld, const struct tw_ynode *vn, const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	if (v->type != TW_Y_SCALAR || tw_ynode_is_null(v)) {
		err_at(ld, vn, path, "expected a name, got %s", what(v));
		return NULL;
	}
	if (!v->len) {
		err_at(ld, vn, path, "expected a name, got an empty string");
		return NULL;
	}
	if (has_nul(v)) {
		err_at(ld, vn, path, "contains a NUL character");
		return NULL;
	}
	return v->str;
}

static json_t *load_ref(struct ld *ld, struct wctx *c, const struct tw_field *f, const struct tw_ynode *vn,
			const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);

	if (v->type == TW_Y_SCALAR && (tw_ynode_is_null(v) || !v->len) && !required_field(f))
		return json_string("");   /* clears the reference */
	const char *name = name_of(ld, vn, path);
	if (!name || check_string(ld, f, name, 0, vn, path) < 0)
		return NULL;
	if (!c->in_absent) {
		struct tw_loc l = loc_of(ld, vn);
		add_ref(ld, f->ref, name, path, &l);
	}
	return json_string(name);
}

/* A list of strings (TW_V_LIST), or of names of kind f->ref (TW_V_REFLIST). */
static json_t *load_reflist(struct ld *ld, struct wctx *c, const struct tw_field *f, const struct tw_ynode *vn,
			    const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);

	if (tw_ynode_is_null(v)) {
		if (required_field(f)) {
			err_at(ld, vn, path, "expected a list of names, got null");
			return NULL;
		}
		return json_array();
	}
	if (v->type != TW_Y_SEQ) {
		err_at(ld, vn, path, "expected a list of names, got %s", what(v));
		return NULL;
	}
	json_t *arr = json_array();
	int bad = 0;
	for (size_t i = 0; i < v->n; i++) {
		char *ipath = index_path(path, i);
		const char *name = name_of(ld, v->kids[i], ipath);
		if (name && check_string(ld, f, name, 0, v->kids[i], ipath) == 0) {
			json_array_append_new(arr, json_string(name));
			if (!c->in_absent && f->ref) {
				struct tw_loc l = loc_of(ld, v->kids[i]);
				add_ref(ld, f->ref, name, ipath, &l);
			}
		} else {
			bad = 1;
		}
		free(ipath);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* A mapping of names to scalar strings (TW_V_MAP). */
static json_t *load_map(struct ld *ld, const struct tw_field *f, const struct tw_ynode *vn, const char *path)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	json_t *obj;
	int bad = 0;

	if (tw_ynode_is_null(v))
		return required_field(f) ? (err_at(ld, vn, path, "expected a mapping, got null"), NULL) : json_object();
	if (v->type != TW_Y_MAP) {
		err_at(ld, vn, path, "expected a mapping, got %s", what(v));
		return NULL;
	}
	obj = json_object();
	for (size_t i = 0; i < v->n / 2; i++) {
		const struct tw_ynode *k = pair_key(ld, v, i, path), *val;
		char *kpath;
		if (!k)
			continue;
		kpath = join(path, k->str);
		val = tw_ynode_deref(v->kids[2 * i + 1]);
		if (val->type != TW_Y_SCALAR || tw_ynode_is_null(val) || has_nul(val)) {
			err_at(ld, v->kids[2 * i + 1], kpath, "expected a string, got %s", what(val));
			bad = 1;
		} else if (check_string(ld, f, val->str, 0, v->kids[2 * i + 1], kpath) < 0) {
			bad = 1;
		} else {
			json_object_set_new(obj, k->str, json_string(val->str));
		}
		free(kpath);
	}
	done_pairs(v);
	if (bad) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static void load_field(struct ld *ld, struct wctx *c, size_t fi, const struct tw_ynode *vn, const char *itempath)
{
	const struct tw_field *f = &c->kind->fields[fi];
	char *path = join(itempath, f->name);
	json_t *val = NULL;

	c->seen[fi] = 1;
	switch (f->type) {
	case TW_V_STR:
		val = load_str(ld, c, fi, vn, path);
		break;
	case TW_V_BOOL:
		val = load_bool(ld, vn, path);
		break;
	case TW_V_INT:
		val = load_int(ld, f, vn, path);
		break;
	case TW_V_REF:
		val = load_ref(ld, c, f, vn, path);
		break;
	case TW_V_REFLIST:
	case TW_V_LIST:
		val = load_reflist(ld, c, f, vn, path);
		break;
	case TW_V_MAP:
		val = load_map(ld, f, vn, path);
		break;
	}
	if (val) {
		json_object_set_new(c->res->fields, f->name, val);
		c->res->flocs[fi] = loc_of(ld, vn);
	}
	free(path);
}

/* ---- the walk ---- */

static void walk_map(struct ld *ld, struct wctx *c, const struct tw_ynode *map, const char *prefix, const char *path);

static void load_assoc(struct ld *ld, struct wctx *c, const struct tw_kind *ck, const struct tw_ynode *item,
		       const char *ipath, int keep)
{
	const char *name = name_of(ld, item, ipath);
	if (!name || !keep)
		return;
	struct tw_res *r = tw_res_new(ck, NULL);
	r->id = tw_xstrdup(name);
	r->loc = loc_of(ld, item);
	keep_res(ld, c, r, ipath, tw_xstrdup(ipath), &r->loc);
	if (!c->in_absent && ck->assoc_ref)
		add_ref(ld, ck->assoc_ref, name, ipath, &r->loc);
}

/* state: present|absent of a top-level item, read before its other keys. */
static void read_state(struct ld *ld, struct wctx *cc, const struct tw_ynode *map, const char *ipath)
{
	if (tw_kind_field(cc->kind, "state"))
		return;   /* the kind has a field of that name: it wins */
	for (size_t i = 0; i < map->n / 2; i++) {
		const struct tw_ynode *k = tw_ynode_deref(map->kids[2 * i]);
		if (k->type != TW_Y_SCALAR || strcmp(k->str, "state") || (map->dup && map->dup[i]))
			continue;
		const struct tw_ynode *vn = map->kids[2 * i + 1], *v = tw_ynode_deref(vn);
		char *path = join(ipath, "state");
		if (v->type != TW_Y_SCALAR || tw_ynode_is_null(v)) {
			err_at(ld, vn, path, "expected present or absent, got %s", what(v));
		} else if (!strcmp(v->str, "absent")) {
			cc->res->absent = 1;
			cc->in_absent = 1;
		} else if (strcmp(v->str, "present")) {
			struct tw_field f = { .name = "state", .choices = state_choices };
			struct tw_buf why = TW_BUF_INIT;
			tw_check_enum(&f, v->str, &why);
			err_at(ld, vn, path, "%s", why.buf);
			tw_buf_release(&why);
		}
		free(path);
	}
}

/* The fields of an item written as a mapping, and the required ones it lacks. */
static void load_fields(struct ld *ld, struct wctx *cc, const struct tw_ynode *item, const char *ipath)
{
	const struct tw_kind *ck = cc->kind;

	walk_map(ld, cc, tw_ynode_deref(item), "", ipath);
	for (size_t i = 0; i < ck->nfields; i++) {
		const struct tw_field *f = &ck->fields[i];
		if (cc->seen[i])
			continue;
		if ((f->flags & TW_F_IDENTITY) || ((f->flags & TW_F_REQUIRED) && !cc->in_absent)) {
			char *q = quoted(f->name);
			err_at(ld, item, ipath, "missing required field %s", q);
			free(q);
		}
	}
}

static void load_item(struct ld *ld, struct wctx *c, const struct tw_kind *ck, const struct tw_ynode *item,
		      const char *ipath, int keep)
{
	const struct tw_ynode *map = tw_ynode_deref(item);
	struct tw_res *r = tw_res_new(ck, NULL);
	struct wctx cc = {
		.kind = ck, .res = r, .top = c->kind == NULL, .in_absent = c->in_absent, .keep = keep,
	};

	r->loc = loc_of(ld, item);
	cc.seen = tw_xcalloc(ck->nfields ? ck->nfields : 1, 1);
	if (cc.top)
		read_state(ld, &cc, map, ipath);
	load_fields(ld, &cc, item, ipath);
	free(cc.seen);

	int idf = tw_kind_identity(ck);
	struct tw_loc idloc = r->loc;
	char *idpath = tw_xstrdup(ipath);
	if (idf >= 0) {
		json_t *v = json_object_get(r->fields, ck->fields[idf].name);
		if (json_is_string(v))
			r->id = tw_xstrdup(json_string_value(v));
		else if (json_is_integer(v))
			r->id = tw_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		if (r->id) {
			idloc = r->flocs[idf];
			free(idpath);
			idpath = join(ipath, ck->fields[idf].name);
		}
	} else if (ck->flags & TW_K_SINGLE) {
		r->id = tw_xstrdup(ck->yaml_key);     /* the one of its parent: matched as such */
	}
	if (keep)
		keep_res(ld, c, r, ipath, idpath, &idloc);
	else {
		free(idpath);
		tw_res_free(r);
	}
}

/*
 * Children written as a mapping {IDENTITY: VALUE} (TW_K_MAPPED): VALUE is the
 * kind's one other field, or, for a kind of several, a mapping of them.
 */
static void load_mapped(struct ld *ld, struct wctx *c, const struct tw_kind *ck, const struct tw_ynode *v,
			const char *lpath, int keep)
{
	int idf = tw_kind_identity(ck), vf = tw_kind_mapped_value(ck);

	for (size_t i = 0; i < v->n / 2; i++) {
		const struct tw_ynode *k = pair_key(ld, v, i, lpath);
		if (!k)
			continue;
		struct tw_res *r = tw_res_new(ck, NULL);
		struct wctx cc = { .kind = ck, .res = r, .in_absent = c->in_absent, .keep = keep };
		char *ipath = join(lpath, k->str);
		struct tw_loc kloc = loc_of(ld, v->kids[2 * i]);

		cc.seen = tw_xcalloc(ck->nfields ? ck->nfields : 1, 1);
		r->loc = kloc;
		if (check_string(ld, &ck->fields[idf], k->str, 0, v->kids[2 * i], ipath) == 0) {
			json_object_set_new(r->fields, ck->fields[idf].name, json_string(k->str));
			r->flocs[idf] = kloc;
			r->id = tw_xstrdup(k->str);
		}
		if (vf < 0 && tw_ynode_deref(v->kids[2 * i + 1])->type != TW_Y_MAP) {
			err_at(ld, v->kids[2 * i + 1], ipath, "expected a mapping, got %s", what(v->kids[2 * i + 1]));
		} else if (vf < 0) {
			cc.seen[idf] = 1;
			load_fields(ld, &cc, v->kids[2 * i + 1], ipath);
		} else {
			load_field(ld, &cc, (size_t)vf, v->kids[2 * i + 1], lpath);
		}
		free(cc.seen);
		if (keep && r->id)
			keep_res(ld, c, r, ipath, tw_xstrdup(ipath), &kloc);
		else
			tw_res_free(r);
		free(ipath);
	}
	done_pairs(v);
}

static void load_list(struct ld *ld, struct wctx *c, const struct tw_kind *ck, const struct tw_ynode *vn,
		      const char *lpath)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	int keep = c->keep && !c->res->absent;

	if (!c->kind)
		json_object_set_new(ld->m->kinds_present, ck->name, json_true());
	if (tw_ynode_is_null(v))
		return;   /* declares none */
	if (ck->flags & TW_K_SINGLE) {
		const struct tw_ynode *it = tw_ynode_deref(vn);
		if (it->type != TW_Y_MAP)
			err_at(ld, vn, lpath, "expected a mapping, got %s", what(it));
		else
			load_item(ld, c, ck, vn, lpath, keep);
		return;
	}
	if (ck->flags & TW_K_MAPPED) {
		if (v->type != TW_Y_MAP)
			err_at(ld, vn, lpath, "expected a mapping of %s to values, got %s",
			       ck->fields[tw_kind_identity(ck)].name, what(v));
		else
			load_mapped(ld, c, ck, v, lpath, keep);
		return;
	}
	if (v->type != TW_Y_SEQ) {
		err_at(ld, vn, lpath, "expected a list, got %s", what(v));
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		char *ipath = index_path(lpath, i);
		const struct tw_ynode *item = v->kids[i], *it = tw_ynode_deref(item);
		if (ck->flags & TW_K_ASSOC)
			load_assoc(ld, c, ck, item, ipath, keep);
		else if (it->type != TW_Y_MAP)
			err_at(ld, item, ipath, "expected a mapping, got %s", what(it));
		else
			load_item(ld, c, ck, item, ipath, keep);
		free(ipath);
	}
}

static void unknown_key(struct ld *ld, struct wctx *c, const struct tw_ynode *kn, const char *key,
			const char *prefix, const char *path)
{
	size_t nk, plen = strlen(prefix);
	const struct tw_kind *const *kids = tw_kind_children(c->kind, &nk);
	size_t cap = NROOT_KEYS + 1 + nk + (c->kind ? c->kind->nfields : 0), n = 0;
	const char **cands = tw_xcalloc(cap, sizeof(*cands));
	char **segs = tw_xcalloc(nk ? nk : 1, sizeof(*segs));
	char *q = quoted(key);

	if (!*prefix && !c->kind) {
		for (size_t i = 0; i < NROOT_KEYS; i++)
			cands[n++] = root_keys[i];
	} else if (!*prefix) {
		for (size_t i = 0; i < c->kind->nfields; i++)
			if (!(c->kind->fields[i].flags & TW_F_COMPUTED))
				cands[n++] = c->kind->fields[i].name;
		if (c->top)
			cands[n++] = "state";
	}
	for (size_t i = 0; i < nk; i++) {
		const char *yk = kids[i]->yaml_key;
		if (strncmp(yk, prefix, plen))
			continue;
		segs[i] = tw_xstrndup(yk + plen, strcspn(yk + plen, "."));
		cands[n++] = segs[i];
	}

	int dotted = 0;   /* a dotted yaml_key ("a.b.c:") written as one key */
	for (size_t i = 0; i < nk && !*prefix && strchr(key, '.'); i++)
		dotted |= !strcmp(kids[i]->yaml_key, key);
	if (!strcmp(key, "<<")) {
		err_at(ld, kn, path, "merge keys (<<) are not supported; use an alias for the whole value");
	} else if (dotted) {
		err_at(ld, kn, path, "unknown key %s (write it as nested mappings, one key per level)", q);
	} else {
		char *dym = did_you_mean(key, cands, n);
		err_at(ld, kn, path, "unknown key %s%s", q, dym);
		free(dym);
	}
	for (size_t i = 0; i < nk; i++)
		free(segs[i]);
	free(segs);
	free(cands);
	free(q);
}

static void load_version(struct ld *ld, const struct tw_ynode *vn)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	long long x;

	if (v->type != TW_Y_SCALAR || tw_ynode_is_null(v) || parse_int(v, &x) != 0) {
		if (v->type == TW_Y_SCALAR && !tw_ynode_is_null(v)) {
			char *q = quoted(v->str);
			err_at(ld, vn, "twprov", "expected the schema version 1, got %s%s",
			       v->plain ? "" : "the quoted string ", q);
			free(q);
		} else {
			err_at(ld, vn, "twprov", "expected the schema version 1, got %s", what(v));
		}
		return;
	}
	ld->m->version = (long)x;
	if (x != 1)
		err_at(ld, vn, "twprov", "unsupported schema version %lld (this twprov reads version 1)", x);
}

static void load_account(struct ld *ld, const struct tw_ynode *vn)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);

	if (tw_ynode_is_null(v))
		return;
	if (v->type != TW_Y_MAP) {
		err_at(ld, vn, "account", "expected a mapping, got %s", what(v));
		return;
	}
	for (size_t i = 0; i < v->n / 2; i++) {
		const struct tw_ynode *k = pair_key(ld, v, i, "account");
		if (!k)
			continue;
		const struct tw_ynode *an = v->kids[2 * i + 1], *a = tw_ynode_deref(an);
		char **dst = !strcmp(k->str, "region") ? &ld->m->region : !strcmp(k->str, "edge") ? &ld->m->edge : NULL;
		if (!dst) {
			char *q = quoted(k->str), *dym = did_you_mean(k->str, account_keys, 2);
			err_at(ld, v->kids[2 * i], "account", "unknown key %s%s", q, dym);
			free(q);
			free(dym);
			continue;
		}
		char *path = join("account", k->str);
		if (a->type != TW_Y_SCALAR) {
			err_at(ld, an, path, "expected a string, got %s", what(a));
		} else if (!tw_ynode_is_null(a) && a->len) {
			if (has_nul(a) || !tw_host_label_ok(a->str)) {
				char *q = quoted(a->str);
				err_at(ld, an, path, "not %s %s name: %s (lower-case letters, digits and '-')",
				       *k->str == 'e' ? "an" : "a", k->str, q);
				free(q);
			} else {
				free(*dst);
				*dst = tw_xstrdup(a->str);
			}
		}
		free(path);
	}
	done_pairs(v);
}

static void load_prune(struct ld *ld, const struct tw_ynode *vn)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);
	size_t nt;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &nt);
	const char **names = tw_xcalloc(nt ? nt : 1, sizeof(*names));

	for (size_t i = 0; i < nt; i++)
		names[i] = tops[i]->name;
	if (tw_ynode_is_null(v)) {
		;
	} else if (v->type != TW_Y_SEQ) {
		err_at(ld, vn, "prune", "expected a list of kind names, got %s", what(v));
	} else {
		for (size_t i = 0; i < v->n; i++) {
			char *ipath = tw_xasprintf("prune[%zu]", i);
			const char *name = name_of(ld, v->kids[i], ipath);
			const struct tw_kind *k = name ? tw_kind_find(name) : NULL;
			if (name && (!k || k->parent)) {
				char *q = quoted(name), *dym = did_you_mean(name, names, nt);
				err_at(ld, v->kids[i], ipath, "unknown kind %s%s", q, dym);
				free(q);
				free(dym);
			} else if (name && (k->flags & TW_K_NO_PRUNE)) {
				err_at(ld, v->kids[i], ipath, "%s cannot be pruned: an undeclared one is never removed "
				       "(declare it with state: absent to remove it)", name);
			} else if (name) {
				int twice = 0;
				for (size_t j = 0; j < json_array_size(ld->m->prune); j++)
					twice |= !strcmp(json_string_value(json_array_get(ld->m->prune, j)), name);
				if (twice) {
					char *q = quoted(name);
					warn_at(ld, v->kids[i], ipath, "%s is listed twice", q);
					free(q);
				} else {
					json_array_append_new(ld->m->prune, json_string(name));
				}
			}
			free(ipath);
		}
	}
	free(names);
}

static void load_ignore(struct ld *ld, const struct tw_ynode *vn)
{
	const struct tw_ynode *v = tw_ynode_deref(vn);

	if (tw_ynode_is_null(v))
		return;
	if (v->type != TW_Y_SEQ) {
		err_at(ld, vn, "ignore", "expected a list of name patterns, got %s", what(v));
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		char *ipath = tw_xasprintf("ignore[%zu]", i);
		const struct tw_ynode *it = tw_ynode_deref(v->kids[i]);
		if (it->type != TW_Y_SCALAR || tw_ynode_is_null(it))
			err_at(ld, v->kids[i], ipath, "expected a name pattern, got %s", what(it));
		else if (!it->len)
			err_at(ld, v->kids[i], ipath, "expected a name pattern, got an empty string");
		else if (has_nul(it))
			err_at(ld, v->kids[i], ipath, "contains a NUL character");
		else
			json_array_append_new(ld->m->ignore, json_string(it->str));
		free(ipath);
	}
}

static int root_key(struct ld *ld, struct wctx *c, const char *key, const struct tw_ynode *vn)
{
	if (!strcmp(key, "twprov")) {
		c->seen_version = 1;
		load_version(ld, vn);
	} else if (!strcmp(key, "account")) {
		load_account(ld, vn);
	} else if (!strcmp(key, "prune")) {
		load_prune(ld, vn);
	} else if (!strcmp(key, "ignore")) {
		load_ignore(ld, vn);
	} else {
		return 0;
	}
	return 1;
}

static void walk_key(struct ld *ld, struct wctx *c, const struct tw_ynode *kn, const struct tw_ynode *k,
		     const struct tw_ynode *vn, const char *prefix, const char *path)
{
	const char *key = k->str;

	if (!*prefix && !has_nul(k)) {
		if (!c->kind) {
			if (root_key(ld, c, key, vn))
				return;
		} else {
			for (size_t i = 0; i < c->kind->nfields; i++)
				if (!strcmp(c->kind->fields[i].name, key) && !(c->kind->fields[i].flags & TW_F_COMPUTED)) {
					load_field(ld, c, i, vn, path);
					return;
				}
			if (!strcmp(key, "state")) {
				if (!c->top)
					err_at(ld, kn, path, "\"state\" is only allowed on top-level items");
				return;   /* read by read_state */
			}
		}
	}

	if (*key && !strchr(key, '.') && !has_nul(k)) {
		size_t nk, plen = strlen(prefix), klen = strlen(key);
		const struct tw_kind *const *kids = tw_kind_children(c->kind, &nk);
		char *full = concat(prefix, plen, "", key, klen, "");
		const struct tw_kind *list = NULL;
		int nested = 0;

		for (size_t i = 0; i < nk; i++) {
			const char *yk = kids[i]->yaml_key;
			if (!strcmp(yk, full))
				list = kids[i];
			else if (!strncmp(yk, full, plen + klen) && yk[plen + klen] == '.')
				nested = 1;
		}
		free(full);
		if (list || nested) {
			char *sub = join(path, key);
			if (c->res->absent && !*prefix)
				warn_at(ld, kn, sub, "ignored: the item has state: absent");
			if (list) {
				load_list(ld, c, list, vn, sub);
			} else {
				const struct tw_ynode *v = tw_ynode_deref(vn);
				if (v->type == TW_Y_MAP) {
					char *subprefix = concat(prefix, plen, "", key, klen, ".");
					walk_map(ld, c, v, subprefix, sub);
					free(subprefix);
				} else if (!tw_ynode_is_null(v)) {
					err_at(ld, vn, sub, "expected a mapping, got %s", what(v));
				}
			}
			free(sub);
			return;
		}
	}
	unknown_key(ld, c, kn, key, prefix, path);
}

static void walk_map(struct ld *ld, struct wctx *c, const struct tw_ynode *map, const char *prefix, const char *path)
{
	for (size_t i = 0; i < map->n / 2; i++) {
		const struct tw_ynode *k = pair_key(ld, map, i, path);
		if (k)
			walk_key(ld, c, map->kids[2 * i], k, map->kids[2 * i + 1], prefix, path);
	}
	done_pairs(map);
}

/* ---- after the walk: duplicates, references, hooks ---- */

static int lres_cmp(const void *pa, const void *pb)
{
	const struct lres *a = *(const struct lres *const *)pa, *b = *(const struct lres *const *)pb;
	uintptr_t x = (uintptr_t)a->r->parent, y = (uintptr_t)b->r->parent;
	if (x != y)
		return x < y ? -1 : 1;
	size_t ka = tw_kind_index(a->r->kind), kb = tw_kind_index(b->r->kind);
	if (ka != kb)
		return ka < kb ? -1 : 1;
	int r = strcmp(a->r->id, b->r->id);
	if (r)
		return r;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void check_duplicates(struct ld *ld)
{
	struct lres **v = tw_xcalloc(ld->nres ? ld->nres : 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < ld->nres; i++)
		if (ld->res[i].r->id)
			v[n++] = &ld->res[i];
	qsort(v, n, sizeof(*v), lres_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		const struct tw_res *a = v[first]->r, *b = v[i]->r;
		if (a->parent != b->parent || a->kind != b->kind || strcmp(a->id, b->id)) {
			first = i;
			continue;
		}
		char *q = quoted(b->id);
		if (b->kind->flags & TW_K_ASSOC)
			err_loc(ld, &v[i]->idloc, v[i]->idpath, "%s is listed twice (first at %d:%d)", q,
				v[first]->idloc.line, v[first]->idloc.col);
		else
			err_loc(ld, &v[i]->idloc, v[i]->idpath, "duplicate %s %s (first declared at %d:%d)",
				b->kind->name, q, v[first]->idloc.line, v[first]->idloc.col);
		free(q);
	}
	free(v);
}

struct decl {
	size_t kind;                /* tw_kind_index */
	const char *id;
	int absent;
};

static int decl_cmp(const void *pa, const void *pb)
{
	const struct decl *a = pa, *b = pb;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* First index in d[0..n) not ordered before `key` (by kind, then id when id is set). */
static size_t decl_lower(const struct decl *d, size_t n, size_t kind, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int before = d[mid].kind < kind || (d[mid].kind == kind && id && strcmp(d[mid].id, id) < 0);
		if (before)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int capped(const struct ld *ld)
{
	return ld->m->diags.n >= TW_CFG_MAX_DIAGS;
}

static void check_references(struct ld *ld)
{
	struct tw_res *root = &ld->m->root;
	size_t cap = root->nchildren ? root->nchildren : 1;
	struct decl *d = tw_xcalloc(cap, sizeof(*d));
	const char **live = tw_xcalloc(cap, sizeof(*live));   /* present names, sorted by kind */
	size_t *live_start = tw_xcalloc(tw_nkinds + 1, sizeof(*live_start));
	size_t nd = 0, nlive = 0;

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *r = root->children[i];
		if (!r->id)
			continue;
		d[nd].kind = tw_kind_index(r->kind);
		d[nd].id = r->id;
		d[nd].absent = r->absent;
		nd++;
	}
	qsort(d, nd, sizeof(*d), decl_cmp);
	for (size_t k = 0, i = 0; k <= tw_nkinds; k++) {
		live_start[k] = nlive;
		for (; i < nd && d[i].kind == k; i++)
			if (!d[i].absent)
				live[nlive++] = d[i].id;
	}

	for (size_t i = 0; i < ld->nrefs; i++) {
		const struct lref *ref = &ld->refs[i];
		const struct tw_kind *k = tw_kind_find(ref->kind);
		if (!k || k->parent) {
			err_loc(ld, &ref->loc, ref->path, "internal error: reference to unknown kind \"%s\"", ref->kind);
			continue;
		}
		size_t ki = tw_kind_index(k);
		int present = 0, absent = 0;
		for (size_t j = decl_lower(d, nd, ki, ref->name); j < nd && d[j].kind == ki &&
		     !strcmp(d[j].id, ref->name); j++) {
			if (d[j].absent)
				absent = 1;
			else
				present = 1;
		}
		if (present)
			continue;
		char *q = quoted(ref->name);
		size_t nn = live_start[ki + 1] - live_start[ki];
		if (absent) {
			err_loc(ld, &ref->loc, ref->path, "%s %s is declared with state: absent", k->name, q);
		} else if (!nn) {
			err_loc(ld, &ref->loc, ref->path, "unknown %s %s (no %s are declared in the file)",
				k->name, q, k->name);
		} else {
			/* past the cap the message is not kept: spare the search */
			char *dym = capped(ld) ? tw_xstrdup("") : did_you_mean(ref->name, live + live_start[ki], nn);
			err_loc(ld, &ref->loc, ref->path, "unknown %s %s%s", k->name, q, dym);
			free(dym);
		}
		free(q);
	}
	free(live_start);
	free(live);
	free(d);
}

/* After the hooks (they may add generated functions): values written as mappings name what
 * the file declares. */
static void check_objvals(struct ld *ld)
{
	for (size_t i = 0; i < ld->nobjvals; i++) {
		struct lobjval *o = &ld->objvals[i];
		struct tw_buf why = TW_BUF_INIT;
		if (o->ov->check && o->ov->check(o->r, o->v, &why) < 0)
			err_loc(ld, &o->loc, o->path, "%s", why.buf);
		tw_buf_release(&why);
	}
}

/* The kinds' hooks over every declared resource: each phase over all of them before the next. */
static void run_hooks(struct ld *ld)
{
	for (int phase = 0; phase < 3; phase++)
		for (size_t i = 0; i < ld->nres; i++) {
			struct tw_res *r = ld->res[i].r;
			const struct tw_kind_hooks *h = r->kind->hooks;
			void (*fn)(struct tw_res *, struct tw_diags *);
			if (r->absent || !h)
				continue;
			fn = phase == 0 ? h->validate : phase == 1 ? h->derive : h->seal;
			if (fn)
				fn(r, &ld->m->diags);
		}
}

/* Duplicate keys in mappings the walk did not enter (values of unknown keys, ...). */
static void report_other_duplicates(struct ld *ld)
{
	for (const struct tw_ynode *n = ld->doc.all; n; n = n->next_all) {
		if (n->type != TW_Y_MAP || !n->has_dup || n->dup_reported)
			continue;
		for (size_t i = 0; i < n->n / 2; i++)
			pair_key(ld, n, i, "");
		done_pairs(n);
	}
}

static void walk_root(struct ld *ld)
{
	const struct tw_ynode *rn = ld->doc.root, *root = tw_ynode_deref(rn);
	struct wctx c = { .res = &ld->m->root, .keep = 1 };

	if (root->type != TW_Y_MAP) {
		err_at(ld, rn, "", "the file must be a mapping (twprov: 1 and lists of resources), not %s", what(root));
		return;
	}
	walk_map(ld, &c, root, "", "");
	if (!c.seen_version)
		err_at(ld, rn, "", "missing required key \"twprov\" (the schema version: twprov: 1)");
	report_other_duplicates(ld);
	check_duplicates(ld);
	check_references(ld);
	run_hooks(ld);
	check_objvals(ld);
}

static void ld_release(struct ld *ld)
{
	for (size_t i = 0; i < ld->nres; i++) {
		free(ld->res[i].path);
		free(ld->res[i].idpath);
	}
	free(ld->res);
	for (size_t i = 0; i < ld->nrefs; i++) {
		free(ld->refs[i].name);
		free(ld->refs[i].path);
	}
	free(ld->refs);
	for (size_t i = 0; i < ld->nobjvals; i++)
		free(ld->objvals[i].path);
	free(ld->objvals);
	json_decref(ld->env);
	tw_ydoc_release(&ld->doc);
}

int tw_config_load_buf(const char *name, const char *dir, const char *data, size_t len,
		       struct tw_model **out, struct tw_err *err)
{
	return tw_config_load_buf_opts(name, dir, data, len, NULL, out, err);
}

int tw_config_load_buf_opts(const char *name, const char *dir, const char *data, size_t len,
			    const struct tw_config_opts *o, struct tw_model **out, struct tw_err *err)
{
	struct tw_model *m = tw_model_new(0);
	struct ld ld = { .m = m, .no_secrets = o && o->no_secrets };

	m->file = tw_xstrdup(name && *name ? name : "<input>");
	m->dir = tw_xstrdup(dir && *dir ? dir : ".");
	*out = m;

	if (len > TW_CFG_MAX_FILE) {
		struct tw_loc l = { m->file, 0, 0 };
		tw_diag_add(&m->diags, 0, &l, "file too large: more than %u MiB", TW_CFG_MAX_FILE >> 20);
	} else if (tw_ydoc_parse(&ld.doc, m->file, data ? data : "", data ? len : 0, &m->diags) == 0) {
		walk_root(&ld);
	}
	size_t nerrors = m->diags.nerrors + ld.suppressed_errors;
	if (ld.suppressed) {
		tw_diag_add(&m->diags, 0, &ld.first_suppressed, "too many problems: %zu more not shown",
			    ld.suppressed);
	}
	ld_release(&ld);
	tw_diags_sort(&m->diags);

	if (nerrors) {
		tw_err_setk(err, TW_ERR_INVALID, "%zu error%s in %s", nerrors, nerrors == 1 ? "" : "s", m->file);
		return -1;
	}
	return 0;
}

int tw_config_load(const char *path, struct tw_model **out, struct tw_err *err)
{
	return tw_config_load_opts(path, NULL, out, err);
}

int tw_config_load_opts(const char *path, const struct tw_config_opts *o, struct tw_model **out,
			struct tw_err *err)
{
	struct tw_buf b = TW_BUF_INIT;
	char *dir;
	int ret;

	*out = NULL;
	if (tw_read_file(path, TW_CFG_MAX_FILE, &b, NULL, err) < 0) {
		tw_buf_wipe(&b);
		err->kind = TW_ERR_INVALID;
		return -1;
	}
	dir = tw_dir_of(path);
	ret = tw_config_load_buf_opts(path, dir, b.buf, b.len, o, out, err);
	if (*out)   /* what a saved plan is checked against: exactly the bytes loaded */
		tw_sha256_hex(b.buf, b.len, (*out)->sha256);
	free(dir);
	tw_buf_wipe(&b);
	return ret;
}
