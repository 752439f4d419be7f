/* export.c - twprov export: the live account -> a declared model, generic over the descriptors
 * (export.h says what is written and why plan then reports no changes) */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "twprov/config.h"
#include "twprov/export.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/plan.h"
#include "twprov/ptrmap.h"

/* Live resources, in an order. */
struct reslist {
	const struct tw_res **v;
	size_t n, alloc;
};

static void reslist_add(struct reslist *l, const struct tw_res *r)
{
	TW_ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = r;
}

struct tw_export {
	struct tw_http *h;
	struct tw_export_opts o;
	unsigned char *selected;        /* per tw_kinds index: a top-level kind to export */
	struct tw_model *live;          /* the account as read */
	struct tw_model *out;           /* the declared model written */
	struct tw_model *loaded;        /* the file loaded again (tw_export_verify) */
	struct tw_ptrmap decl;          /* live -> declared (NULL once left out) */
	struct tw_ptrmap from;          /* declared -> live */
	struct tw_ptrmap data;          /* live -> its hooks' json object */
	struct tw_ptrmap claimed;       /* live -> non-NULL: accounted for by a hook */
	struct reslist unwritable;      /* live resources whose identity a file cannot hold */
	json_t *problems, *left_out, *env;
	struct tw_buf *kept;
	size_t nkept, akept;
	struct tw_tree_file *files;
	size_t nfiles, afiles;
	json_t *file_names;             /* source file names -> their `source:` values, and the
	                                   directories they are in -> false */
	char *source_dir;               /* where the files go */
	char *source_prefix;            /* what `source:` values start with ("" beside the file) */
	struct tw_facts facts;
	size_t ntop, nall;              /* resources written: top-level, all */
	int failed;
	struct tw_err err;
};

/* ---- paths ---- */

/* `p` made absolute (from the working directory) and normal: no ".", "..", or empty segment. */
static char *normal_path(const char *p)
{
	struct tw_buf in = TW_BUF_INIT, out = TW_BUF_INIT;
	size_t *starts = NULL, n = 0, alloc = 0;

	if (p[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		tw_buf_adds(&in, cwd ? cwd : ".");
		tw_buf_addc(&in, '/');
		free(cwd);
	}
	tw_buf_adds(&in, p);
	for (const char *s = in.buf; *s;) {
		size_t l = strcspn(s, "/");
		if (l == 2 && !strncmp(s, "..", 2)) {
			if (n)
				out.len = starts[--n];
			out.buf[out.len] = '\0';
		} else if (l && !(l == 1 && s[0] == '.')) {
			TW_ALLOC_GROW(starts, n + 1, alloc);
			starts[n++] = out.len;
			tw_buf_addc(&out, '/');
			tw_buf_add(&out, s, l);
		}
		s += l + (s[l] == '/');
	}
	if (!out.len)
		tw_buf_addc(&out, '/');
	free(starts);
	tw_buf_release(&in);
	return tw_buf_detach(&out);
}

/* The relative path from directory `from` to `to` (both normal): "" when they are one, else
 * ending in '/'. */
static char *relative_dir(const char *from, const char *to)
{
	struct tw_buf b = TW_BUF_INIT;
	const char *f = from, *t = to;

	for (;;) {   /* past their common segments */
		size_t fl, tl;
		while (*f == '/')
			f++;
		while (*t == '/')
			t++;
		fl = strcspn(f, "/");
		tl = strcspn(t, "/");
		if (!fl || fl != tl || strncmp(f, t, fl))
			break;
		f += fl;
		t += tl;
	}
	while (*f) {
		tw_buf_adds(&b, "../");
		f += strcspn(f, "/");
		while (*f == '/')
			f++;
	}
	if (*t)
		tw_buf_addf(&b, "%s/", t);
	return tw_buf_detach(&b);
}

/* ---- life cycle ---- */

struct tw_export *tw_export_new(const struct tw_export_opts *o, struct tw_err *err)
{
	struct tw_export *x = tw_xcalloc(1, sizeof(*x));
	char *outdir = o->out ? tw_dir_of(o->out) : tw_xstrdup(".");
	char *from, *to;

	x->o = *o;
	x->selected = tw_xcalloc(tw_nkinds, 1);
	for (size_t i = 0; i < tw_nkinds; i++)
		x->selected[i] = !o->kinds && !tw_kinds[i]->parent && !(tw_kinds[i]->flags & TW_K_LOCAL);
	for (size_t i = 0; o->kinds && i < o->nkinds; i++) {
		const struct tw_kind *k = tw_kind_find(o->kinds[i]);
		if (!k || k->parent || (k->flags & TW_K_LOCAL)) {
			tw_err_setk(err, TW_ERR_USAGE, "--kinds: %s is not a kind of resource (kinds are named as in "
				    "prune:, e.g. credential_lists)", tw_quote_always(o->kinds[i]));
			free(outdir);
			tw_export_free(x);
			return NULL;
		}
		x->selected[tw_kind_index(k)] = 1;
	}
	x->problems = json_array();
	x->left_out = json_array();
	x->env = json_array();
	x->file_names = json_object();
	x->source_dir = tw_xstrdup(o->source_dir ? o->source_dir : outdir);
	from = normal_path(outdir);
	to = normal_path(x->source_dir);
	x->source_prefix = o->source_dir && o->source_dir[0] == '/' ? tw_xasprintf("%s/", to + (to[1] ? 0 : 1))
								   : relative_dir(from, to);
	free(from);
	free(to);
	free(outdir);
	return x;
}

static void free_data(struct tw_export *x, const struct tw_res *r)
{
	json_decref(tw_ptrmap_get(&x->data, r));
	for (size_t i = 0; i < r->nchildren; i++)
		free_data(x, r->children[i]);
}

void tw_export_free(struct tw_export *x)
{
	if (!x)
		return;
	if (x->live)
		free_data(x, &x->live->root);
	tw_model_free(x->live);
	tw_model_free(x->out);
	tw_model_free(x->loaded);
	tw_ptrmap_release(&x->decl);
	tw_ptrmap_release(&x->from);
	tw_ptrmap_release(&x->data);
	tw_ptrmap_release(&x->claimed);
	free(x->unwritable.v);
	json_decref(x->problems);
	json_decref(x->left_out);
	json_decref(x->env);
	json_decref(x->file_names);
	for (size_t i = 0; i < x->nkept; i++)
		tw_buf_release(&x->kept[i]);
	free(x->kept);
	for (size_t i = 0; i < x->nfiles; i++) {
		free((char *)x->files[i].name);
		free((void *)x->files[i].data);
	}
	free(x->files);
	free(x->source_dir);
	free(x->source_prefix);
	free(x->selected);
	free(x);
}

/* ---- for the hooks ---- */

json_t *tw_export_data(struct tw_export *x, const struct tw_res *live)
{
	json_t *d = tw_ptrmap_get(&x->data, live);
	if (!d) {
		d = json_object();
		tw_ptrmap_put(&x->data, live, d);
	}
	return d;
}

struct tw_res *tw_export_declared(const struct tw_export *x, const struct tw_res *live)
{
	return tw_ptrmap_get(&x->decl, live);
}

const struct tw_res *tw_export_live(const struct tw_export *x, const struct tw_res *decl)
{
	return tw_ptrmap_get(&x->from, decl);
}

static const json_t *live_object(const struct tw_facts *f, const struct tw_res *decl)
{
	const struct tw_res *l = tw_export_live(f->ctx, decl);
	return l ? l->json : NULL;
}

size_t tw_export_keep(struct tw_export *x, struct tw_buf *b)
{
	TW_ALLOC_GROW(x->kept, x->nkept + 1, x->akept);
	x->kept[x->nkept] = *b;
	tw_buf_init(b);
	return x->nkept++;
}

const struct tw_buf *tw_export_kept(const struct tw_export *x, size_t i)
{
	return i < x->nkept ? &x->kept[i] : NULL;
}

static void vsay(json_t *list, const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void vsay(json_t *list, const char *prefix, const char *fmt, va_list ap)
{
	struct tw_buf b = TW_BUF_INIT;
	if (prefix)
		tw_buf_addf(&b, "%s: ", prefix);
	tw_buf_vaddf(&b, fmt, ap);
	json_array_append_new(list, json_string(b.buf));
	tw_buf_release(&b);
}

/* "ADDRESS: what" of r in a list (of problems or of what is left out). */
static void vsay_at(json_t *list, const struct tw_res *r, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vsay_at(json_t *list, const struct tw_res *r, const char *fmt, va_list ap)
{
	char *a = tw_res_address(r);
	vsay(list, a, fmt, ap);
	free(a);
}

static void say(json_t *list, const struct tw_res *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(json_t *list, const struct tw_res *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay_at(list, r, fmt, ap);
	va_end(ap);
}

void tw_export_note(struct tw_export *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(x->left_out, NULL, fmt, ap);
	va_end(ap);
}

void tw_export_claim(struct tw_export *x, const struct tw_res *live)
{
	tw_ptrmap_put(&x->claimed, live, (void *)live);
}

/* Forget a declared resource and its children (the maps no longer name them). */
static void forget(struct tw_export *x, struct tw_res *d)
{
	const struct tw_res *l = tw_export_live(x, d);
	if (l)
		tw_ptrmap_put(&x->decl, l, NULL);
	tw_ptrmap_put(&x->from, d, NULL);
	for (size_t i = 0; i < d->nchildren; i++)
		forget(x, d->children[i]);
}

static void drop(struct tw_export *x, struct tw_res *d)
{
	struct tw_res *p = d->parent;
	size_t i;

	forget(x, d);
	for (i = 0; i < p->nchildren && p->children[i] != d; i++)
		;
	if (i < p->nchildren) {
		memmove(&p->children[i], &p->children[i + 1], (p->nchildren - i - 1) * sizeof(p->children[0]));
		p->nchildren--;
	}
	tw_res_free(d);
}

void tw_export_leave_out(struct tw_export *x, struct tw_res *decl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay_at(x->left_out, decl, fmt, ap);
	va_end(ap);
	drop(x, decl);
}

void tw_export_leave_out_live(struct tw_export *x, const struct tw_res *live, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay_at(x->left_out, live, fmt, ap);
	va_end(ap);
	tw_export_claim(x, live);
}

const char *tw_export_add_source(struct tw_export *x, const char *name, const void *data, size_t len,
				 const char **why)
{
	struct tw_tree_file *f;
	char *copy;

	for (const char *s = name;; s += strcspn(s, "/") + 1) {
		size_t l = strcspn(s, "/");
		if (!l || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.')) {
			*why = "its path cannot be a file name (an empty, \".\" or \"..\" segment)";
			return NULL;
		}
		if (!s[l])
			break;
	}
	/* a file where another needs a directory, or the reverse */
	if (json_object_get(x->file_names, name)) {
		*why = "its file name is taken by another function or asset, or is a directory of one";
		return NULL;
	}
	for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/'))
		if (json_is_string(json_object_getn(x->file_names, name, (size_t)(s - name)))) {
			*why = "its file would be in the place of another function or asset's file";
			return NULL;
		}
	for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/'))
		json_object_setn_new(x->file_names, name, (size_t)(s - name), json_false());
	TW_ALLOC_GROW(x->files, x->nfiles + 1, x->afiles);
	f = &x->files[x->nfiles++];
	memset(f, 0, sizeof(*f));
	copy = tw_xmalloc(len ? len : 1);
	memcpy(copy, data, len);
	f->name = tw_xasprintf("%s", name);
	f->data = copy;
	f->len = len;
	/* the name's entry keeps the `source:` value */
	copy = tw_xasprintf("%s%s", x->source_prefix, name);
	json_object_set_new(x->file_names, name, json_string(copy));
	free(copy);
	return json_string_value(json_object_get(x->file_names, name));
}

/* ---- reads for the hooks ---- */

struct fetch {
	struct tw_export *x;
	const struct tw_res *live;
	tw_export_json_cb jcb;
	tw_export_bytes_cb bcb;
	void *ud;
};

static void got(struct tw_http *h, struct tw_req *req)
{
	struct fetch *f = req->ud;
	struct tw_export *x = f->x;

	(void)h;
	if (req->download) {
		if (!x->failed)
			f->bcb(x, f->live, req->result == TW_REQ_OK ? &req->body : NULL,
			       req->result == TW_REQ_OK ? NULL : req->err.msg, f->ud);
	} else if (req->result != TW_REQ_OK && req->status != 404) {
		if (!x->failed) {
			char *a = tw_res_address(f->live);
			x->err = req->err;
			tw_err_prefix(&x->err, "reading %s", tw_quote(a));
			free(a);
			x->failed = 1;
			tw_http_cancel_queued(h);
		}
	} else if (!x->failed) {
		f->jcb(x, f->live, req->result == TW_REQ_OK ? req->json : NULL, f->ud);
	}
	tw_req_free(req);
	free(f);
}

void tw_export_get(struct tw_export *x, const struct tw_res *live, enum tw_product product, const char *path,
		   tw_export_json_cb cb, void *ud)
{
	struct fetch *f = tw_xcalloc(1, sizeof(*f));
	*f = (struct fetch){ x, live, cb, NULL, ud };
	tw_http_submit(x->h, tw_req_new("GET", tw_http_url(x->h, product, path), got, f));
}

void tw_export_download(struct tw_export *x, const struct tw_res *live, const char *domain, const char *path,
			tw_export_bytes_cb cb, void *ud)
{
	struct tw_err err = TW_ERR_INIT;
	struct fetch *f = tw_xcalloc(1, sizeof(*f));
	struct tw_req *req = tw_req_download(x->h, domain, path, got, f, &err);

	if (!req) {
		free(f);
		cb(x, live, NULL, err.msg, ud);
		return;
	}
	*f = (struct fetch){ x, live, NULL, cb, ud };
	tw_http_submit(x->h, req);
}

/* ---- values ---- */

/* Does live value v equal the field's documented default (or creation default)? */
static int is_default(const struct tw_field *f, const json_t *v)
{
	const char *d = f->twilio_default ? f->twilio_default : f->create_default;

	if (!d)
		return 0;
	switch (f->type) {
	case TW_V_BOOL:
		return json_is_boolean(v) && json_is_true(v) == !strcmp(d, "true");
	case TW_V_INT:
		return json_is_integer(v) && json_integer_value(v) == strtoll(d, NULL, 10);
	default:
		return json_is_string(v) && ((f->flags & TW_F_ICASE) ? !strcasecmp(json_string_value(v), d)
								     : !strcmp(json_string_value(v), d));
	}
}

/*
 * The value field f of a live resource is written with, or NULL: unset, at
 * its default, or (with *why set) a value the file cannot hold.
 */
static json_t *file_value(const struct tw_field *f, json_t *v, struct tw_buf *why)
{
	const char *s;

	if (!v || json_is_null(v))
		return NULL;
	switch (f->type) {
	case TW_V_BOOL:
		if (!json_is_boolean(v)) {
			tw_buf_adds(why, "not true or false");
			return NULL;
		}
		break;
	case TW_V_INT:
		if (!json_is_integer(v)) {
			tw_buf_adds(why, "not an integer");
			return NULL;
		}
		if ((f->min || f->max) && (json_integer_value(v) < f->min || json_integer_value(v) > f->max)) {
			tw_buf_addf(why, "%" JSON_INTEGER_FORMAT " is not between %ld and %ld", json_integer_value(v),
				    f->min, f->max);
			return NULL;
		}
		break;
	case TW_V_STR:
	case TW_V_REF:
		if (!json_is_string(v)) {
			tw_buf_adds(why, "not a string");
			return NULL;
		}
		if (!json_string_length(v))
			return NULL;   /* unset */
		s = json_string_value(v);
		if ((f->flags & TW_F_ICASE) && f->choices)
			/* an enum Twilio answers in varying case: the file spells it as the choices do */
			for (const char *const *c = f->choices; *c; c++)
				if (!strcasecmp(*c, s))
					s = *c;
		if (is_default(f, v))
			return NULL;
		if (tw_config_check_str(f, s, s == json_string_value(v) ? json_string_length(v) : strlen(s), why) < 0)
			return NULL;
		return json_string(s);
	default:
		break;
	}
	return is_default(f, v) ? NULL : json_incref(v);
}

/* Can a file hold this live resource's identity? */
static int identity_ok(const struct tw_res *live, struct tw_buf *why)
{
	int idf = tw_kind_identity(live->kind);

	if (idf < 0)
		return live->id != NULL;
	if (!live->id || !*live->id) {
		tw_buf_addf(why, "it has no %s (twprov names it by its %s)", live->kind->fields[idf].name,
			    live->kind->fields[idf].name);
		return 0;
	}
	if (tw_config_check_str(&live->kind->fields[idf], live->id, strlen(live->id), why) < 0) {
		struct tw_buf b = TW_BUF_INIT;
		tw_buf_addf(&b, "its %s cannot be written in a twprov file: %s", live->kind->fields[idf].name, why->buf);
		tw_buf_reset(why);
		tw_buf_adds(why, b.buf);
		tw_buf_release(&b);
		return 0;
	}
	return 1;
}

/* ---- the declared model ---- */

static void note_unwritable(struct tw_export *x, const struct tw_res *live)
{
	reslist_add(&x->unwritable, live);
}

static void duplicates(struct tw_export *x, const struct tw_res *live, const json_t *entry)
{
	struct tw_buf b = TW_BUF_INIT;
	size_t i;
	json_t *pos;

	json_array_foreach(entry, i, pos) {
		const struct tw_res *dup = live->parent->children[json_integer_value(pos)];
		tw_buf_addf(&b, "%s%s", i ? ", " : "", dup->sid ? dup->sid : "?");
	}
	say(x->problems, live, "%zu resources with this identity exist at Twilio (%s); a file can declare only one: "
	    "delete or rename the extra ones", json_array_size(entry), b.buf);
	tw_buf_release(&b);
}

static struct tw_res *declare(struct tw_export *x, const struct tw_res *live, struct tw_res *parent);

/* The children of live resource `live` (declared as d): every one of a kind twprov manages. */
static void declare_children(struct tw_export *x, const struct tw_res *live, struct tw_res *d)
{
	size_t nk;
	const struct tw_kind *const *kids = tw_kind_children(live->kind, &nk);

	for (size_t k = 0; k < nk; k++) {
		const struct tw_kind *ck = kids[k];
		json_t *ix;
		if (ck->flags & TW_K_LOCAL)
			continue;
		ix = tw_res_index(live, ck);
		for (size_t i = 0; i < live->nchildren; i++) {
			const struct tw_res *c = live->children[i];
			struct tw_buf why = TW_BUF_INIT;
			json_t *entry = c->kind == ck && c->id ? json_object_get(ix, c->id) : NULL;
			if (c->kind != ck)
				continue;
			if (!(ck->flags & TW_K_ASSOC) && !identity_ok(c, &why)) {
				note_unwritable(x, c);
			} else if (json_is_array(entry)) {
				if (tw_res_index_first(live, entry) == c)
					duplicates(x, c, entry);
			} else {
				declare(x, c, d);
			}
			tw_buf_release(&why);
		}
		json_decref(ix);
	}
}

static struct tw_res *declare(struct tw_export *x, const struct tw_res *live, struct tw_res *parent)
{
	const struct tw_kind *k = live->kind;
	struct tw_res *d = tw_res_new(k, NULL);

	d->id = tw_xstrdup(live->id);
	tw_res_add_child(parent, d);
	tw_ptrmap_put(&x->decl, live, d);
	tw_ptrmap_put(&x->from, d, (void *)live);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		struct tw_buf why = TW_BUF_INIT;
		json_t *v;
		if (f->flags & (TW_F_LOCAL | TW_F_COMPUTED))
			continue;
		if (f->flags & TW_F_IDENTITY) {
			json_object_set_new(d->fields, f->name, json_string(live->id));
		} else if (f->flags & TW_F_SECRET) {
			if (f->export_env)   /* named once the model is sorted */
				json_object_set_new(d->fields, f->name, json_string(""));
		} else if ((v = file_value(f, json_object_get(live->fields, f->name), &why))) {
			json_object_set_new(d->fields, f->name, v);
		} else if (why.len) {
			say(x->left_out, live, "%s left out: %s", f->name, why.buf);
		}
		tw_buf_release(&why);
	}
	declare_children(x, live, d);
	return d;
}

/* A top-level live resource, unless it is written already or cannot be. */
static void declare_top(struct tw_export *x, const struct tw_res *live, json_t *ix, const char *why_pulled)
{
	struct tw_buf why = TW_BUF_INIT;
	json_t *entry = live->id ? json_object_get(ix, live->id) : NULL;

	if (tw_export_declared(x, live)) {
		;
	} else if (!identity_ok(live, &why)) {
		note_unwritable(x, live);
	} else if (json_is_array(entry)) {
		if (tw_res_index_first(live->parent, entry) == live)
			duplicates(x, live, entry);
	} else {
		declare(x, live, &x->out->root);
		json_object_set_new(x->out->kinds_present, live->kind->yaml_key, json_true());
		if (why_pulled) {
			say(x->left_out, live, "written although its kind is not in --kinds: %s", why_pulled);
		}
	}
	tw_buf_release(&why);
}

/* The live top-level resource of kind k named `name` (the first one), or NULL. */
static const struct tw_res *live_top(const struct tw_export *x, const struct tw_kind *k, const char *name)
{
	return name ? tw_res_find(&x->live->root, k, name) : NULL;
}

/*
 * Associations (a domain's mapped lists) are owned children that name
 * top-level resources: what they name must be in the file too, even of a
 * kind --kinds leaves out.  Returns how many were added.
 */
static size_t pull_in(struct tw_export *x, struct tw_res *d)
{
	size_t added = 0;

	for (size_t i = 0; i < d->nchildren; i++) {
		struct tw_res *c = d->children[i];
		const struct tw_kind *k = c->kind->assoc_ref ? tw_kind_find(c->kind->assoc_ref) : NULL;
		const struct tw_res *target;
		if (!k) {
			added += pull_in(x, c);
			continue;
		}
		if (tw_res_find(&x->out->root, k, c->id))
			continue;
		target = live_top(x, k, c->id);
		if (target) {
			json_t *ix = tw_res_index(&x->live->root, k);
			char *a = tw_res_address(c);
			size_t before = x->out->root.nchildren;
			declare_top(x, target, ix, a);
			added += x->out->root.nchildren > before;
			free(a);
			json_decref(ix);
		}
		if (!tw_res_find(&x->out->root, k, c->id))
			say(x->problems, c, "names %s %s, which the file cannot declare", k->name, tw_quote_always(c->id));
	}
	return added;
}

/* References to what the file does not declare are left out (the field is then not managed). */
static void check_references(struct tw_export *x, struct tw_res *d)
{
	const struct tw_kind *k = d->kind;

	for (size_t i = 0; k && i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		const char *name = tw_res_get_str(d, f->name);
		const struct tw_kind *rk;
		if (f->type != TW_V_REF || (f->flags & TW_F_LOCAL) || !name || !*name || tw_res_top(d, f->ref, name))
			continue;
		rk = tw_kind_find(f->ref);
		if (rk && !x->selected[tw_kind_index(rk)])
			say(x->left_out, d, "%s left out: it names %s/%s, and %s are not exported (--kinds)", f->name,
			    f->ref, name, f->ref);
		else
			say(x->left_out, d, "%s left out: it names %s %s, which is not in the file", f->name, f->ref,
			    tw_quote_always(name));
		json_object_del(d->fields, f->name);
	}
	for (size_t i = 0; i < d->nchildren; i++)
		check_references(x, d->children[i]);
}

/*
 * Settings (TW_K_SETTING) are never created nor deleted: one the file does not
 * declare is left alone.  So one whose every value is Twilio's default (a
 * country closed to every call) is not written: it would manage nothing.
 */
static void drop_default_settings(struct tw_export *x, struct tw_res *d)
{
	for (size_t i = d->nchildren; i-- > 0;)
		drop_default_settings(x, d->children[i]);
	if (d->kind && (d->kind->flags & TW_K_SETTING) && !d->nchildren) {
		int idf = tw_kind_identity(d->kind);
		for (size_t i = 0; i < d->kind->nfields; i++)
			if ((int)i != idf && json_object_get(d->fields, d->kind->fields[i].name))
				return;
		drop(x, d);
	}
}

/* Associations must name what the file declares: one that names a resource left out is a
 * problem (declared without it, its parent would lose it). */
static void check_associations(struct tw_export *x, const struct tw_res *d)
{
	for (size_t i = 0; i < d->nchildren; i++) {
		const struct tw_res *c = d->children[i];
		const char *ref = c->kind->assoc_ref;
		if (ref && !tw_res_top(c, ref, c->id))
			say(x->problems, c, "names %s %s, which is left out", ref, tw_quote_always(c->id));
		check_associations(x, c);
	}
}

struct sorted {
	struct tw_res *r;
	size_t pos;
};

/* By kind, then identity; resources without one (a dialer's routes, whose order is their meaning)
 * keep their order. */
static int by_kind_and_id(const void *pa, const void *pb)
{
	const struct sorted *a = pa, *b = pb;
	size_t ka = tw_kind_index(a->r->kind), kb = tw_kind_index(b->r->kind);
	int c;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	if ((c = strcmp(a->r->id ? a->r->id : "", b->r->id ? b->r->id : "")))
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static void sort_tree(struct tw_res *d)
{
	if (d->nchildren > 1) {
		struct sorted *v = tw_xcalloc(d->nchildren, sizeof(*v));
		for (size_t i = 0; i < d->nchildren; i++)
			v[i] = (struct sorted){ d->children[i], i };
		qsort(v, d->nchildren, sizeof(*v), by_kind_and_id);
		for (size_t i = 0; i < d->nchildren; i++)
			d->children[i] = v[i].r;
		free(v);
	}
	for (size_t i = 0; i < d->nchildren; i++)
		sort_tree(d->children[i]);
}

/* The live resources written, in the file's order (a snapshot: hooks may leave some out). */
static void in_order(const struct tw_export *x, const struct tw_res *d, struct reslist *out)
{
	for (size_t i = 0; i < d->nchildren; i++) {
		const struct tw_res *l = tw_export_live(x, d->children[i]);
		if (l)
			reslist_add(out, l);
		in_order(x, d->children[i], out);
	}
}

/* Literal values that stand for a declared resource (a deployed path's URL), written as it. */
static void unresolve(struct tw_export *x, struct tw_res *d)
{
	const struct tw_kind *k = d->kind;

	for (size_t i = 0; k && i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		const char *s = tw_res_get_str(d, f->name);
		json_t *m;
		if (!f->objval || !f->objval->unresolve || !s)
			continue;
		if ((m = f->objval->unresolve(d, s, &x->facts)))
			json_object_set_new(d->fields, f->name, m);
	}
	for (size_t i = 0; i < d->nchildren; i++)
		unresolve(x, d->children[i]);
}

/* ---- ${env:NAME} for secrets Twilio never returns ---- */

/* ID upper-cased, each run of other characters than letters and digits as one '_' (none at
 * either end). */
static void env_part(struct tw_buf *b, const char *id)
{
	int gap = 0;
	size_t start = b->len;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
		if (!alnum) {
			gap = 1;
			continue;
		}
		if (gap && b->len > start)
			tw_buf_addc(b, '_');
		gap = 0;
		tw_buf_addc(b, (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
	}
}

/* PREFIX_ID1__ID2 for the identities of d and its parents, outermost first. */
static void env_ids(struct tw_buf *b, const struct tw_res *d)
{
	if (d->parent && d->parent->kind) {
		env_ids(b, d->parent);
		tw_buf_adds(b, "__");
	}
	env_part(b, d->id ? d->id : "");
}

struct secret {
	struct tw_res *d;
	const struct tw_field *f;
	char *name;
};

static void collect_secrets(struct tw_res *d, struct secret **v, size_t *n, size_t *alloc)
{
	for (size_t i = 0; i < d->kind->nfields; i++) {
		const struct tw_field *f = &d->kind->fields[i];
		struct tw_buf b = TW_BUF_INIT;
		if (!(f->flags & TW_F_SECRET) || !f->export_env || !tw_res_get(d, f->name))
			continue;
		tw_buf_addf(&b, "%s_", f->export_env);
		env_ids(&b, d);
		TW_ALLOC_GROW(*v, *n + 1, *alloc);
		(*v)[(*n)++] = (struct secret){ d, f, tw_buf_detach(&b) };
	}
	for (size_t i = 0; i < d->nchildren; i++)
		collect_secrets(d->children[i], v, n, alloc);
}

/* Two secrets whose names would be one get the first 8 hex digits of the SHA-256 of their
 * address appended: names stay what they are unless such a pair exists. */
static void name_secrets(struct tw_export *x)
{
	struct secret *v = NULL;
	size_t n = 0, alloc = 0;
	json_t *count = json_object();

	for (size_t i = 0; i < x->out->root.nchildren; i++)
		collect_secrets(x->out->root.children[i], &v, &n, &alloc);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(count, v[i].name, json_integer(json_integer_value(json_object_get(count, v[i].name)) + 1));
	for (size_t i = 0; i < n; i++) {
		char *a = tw_res_address(v[i].d), *ref;
		if (json_integer_value(json_object_get(count, v[i].name)) > 1) {
			char hex[65], *longer;
			tw_sha256_hex(a, strlen(a), hex);
			longer = tw_xasprintf("%s_%.8s", v[i].name, hex);
			free(v[i].name);
			v[i].name = longer;
		}
		ref = tw_xasprintf("${env:%s}", v[i].name);
		json_object_set_new(v[i].d->fields, v[i].f->name, json_string(ref));
		json_array_append_new(x->env, json_pack("[s, s]", v[i].name, a));
		free(ref);
		free(a);
		free(v[i].name);
	}
	free(v);
	json_decref(count);
}

static size_t count_tree(const struct tw_res *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nchildren; i++)
		n += 1 + count_tree(d->children[i]);
	return n;
}

/* ---- the run ---- */

static void need_refs(unsigned char *need, const struct tw_kind *k);

/* Mark top-level kind k to read, with every kind its resources (or their children) reference ... */
static void need_kind(unsigned char *need, const struct tw_kind *k)
{
	while (k && k->parent)
		k = tw_kind_find(k->parent);
	if (!k || need[tw_kind_index(k)])
		return;
	need[tw_kind_index(k)] = 1;
	need_refs(need, k);
}

/* ... the kinds that kind k and its children's kinds reference */
static void need_refs(unsigned char *need, const struct tw_kind *k)
{
	size_t nk;
	const struct tw_kind *const *kids = tw_kind_children(k, &nk);

	if (k->assoc_ref)
		need_kind(need, tw_kind_find(k->assoc_ref));
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].ref && !(k->fields[i].flags & TW_F_LOCAL))
			need_kind(need, tw_kind_find(k->fields[i].ref));
	for (size_t i = 0; i < nk; i++)
		need_refs(need, kids[i]);
}

static int read_account(struct tw_export *x, struct tw_err *err)
{
	struct tw_model *want = tw_model_new(0);
	struct tw_live_opts lo = { .all_children = 1 };
	unsigned char *need = tw_xcalloc(tw_nkinds, 1);
	int ret;

	for (size_t i = 0; i < tw_nkinds; i++)
		if (x->selected[i])
			need_kind(need, tw_kinds[i]);
	for (size_t i = 0; i < tw_nkinds; i++)
		if (need[i])
			json_object_set_new(want->kinds_present, tw_kinds[i]->yaml_key, json_true());
	free(need);
	ret = tw_live_read(x->h, want, &lo, &x->live, err);
	tw_model_free(want);
	return ret;
}

static void call_hooks(struct tw_export *x, int read)
{
	struct reslist order = { NULL, 0, 0 };

	in_order(x, &x->out->root, &order);
	for (size_t i = 0; i < order.n; i++) {
		const struct tw_res *l = order.v[i];
		struct tw_res *d = tw_export_declared(x, l);
		const struct tw_kind_hooks *hk = l->kind->hooks;
		if (!d || !hk)
			continue;
		if (read && hk->export_read)
			hk->export_read(x, l);
		else if (!read && hk->export)
			hk->export(x, l, d);
	}
	free(order.v);
}

int tw_export_run(struct tw_export *x, struct tw_http *h, struct tw_err *err)
{
	size_t i;

	x->h = h;
	if (read_account(x, err) < 0)
		return -1;
	x->out = tw_model_new(0);
	x->facts = (struct tw_facts){ live_object, x };

	/* every resource of the exported kinds, then what their associations name */
	for (i = 0; i < tw_nkinds; i++) {
		json_t *ix;
		if (!x->selected[i])
			continue;
		ix = tw_res_index(&x->live->root, tw_kinds[i]);
		for (size_t j = 0; j < x->live->root.nchildren; j++)
			if (x->live->root.children[j]->kind == tw_kinds[i])
				declare_top(x, x->live->root.children[j], ix, NULL);
		json_decref(ix);
	}
	while (pull_in(x, &x->out->root))
		;
	if (json_array_size(x->problems))
		goto problems;
	check_references(x, &x->out->root);
	sort_tree(&x->out->root);

	/* what the kinds need beyond the live model, then what only they know */
	call_hooks(x, 1);
	if (tw_http_run(x->h, err) < 0)
		return -1;
	if (x->failed) {
		*err = x->err;
		return -1;
	}
	call_hooks(x, 0);
	for (i = 0; i < x->unwritable.n; i++) {
		const struct tw_res *l = x->unwritable.v[i], *top = l;
		struct tw_res *d;
		struct tw_buf why = TW_BUF_INIT;
		char *a, *ta;
		if (tw_ptrmap_get(&x->claimed, l))
			continue;
		identity_ok(l, &why);
		a = tw_res_address(l);
		while (top->parent && top->parent->kind)
			top = top->parent;
		if (top == l) {
			say(x->left_out, l, "%s (%s); plan lists it as not managed", why.buf, l->sid ? l->sid : "no SID");
		} else if ((d = tw_export_declared(x, top))) {
			/* its children are owned: declared without this one, the file would delete it */
			ta = tw_res_address(top);
			tw_export_leave_out(x, d, "%s (%s): %s; declared without it, %s would lose it at the next apply", a,
					    l->sid ? l->sid : "no SID", why.buf, ta);
			free(ta);
		}
		free(a);
		tw_buf_release(&why);
	}
	drop_default_settings(x, &x->out->root);
	/* what is left out is no longer there to reference */
	check_references(x, &x->out->root);
	check_associations(x, &x->out->root);
	if (json_array_size(x->problems))
		goto problems;
	unresolve(x, &x->out->root);
	sort_tree(&x->out->root);
	name_secrets(x);
	x->ntop = x->out->root.nchildren;
	x->nall = count_tree(&x->out->root);
	return 0;
problems:
	tw_err_set(err, "the account cannot be exported: %zu problem%s", json_array_size(x->problems),
		   json_array_size(x->problems) == 1 ? "" : "s");
	return -1;
}

const json_t *tw_export_problems(const struct tw_export *x)
{
	return x->problems;
}

int tw_export_yaml(struct tw_export *x, const char *header, struct tw_buf *out, struct tw_err *err)
{
	return tw_config_write(x->out, header, out, err);
}

struct tw_tree_file *tw_export_sources(struct tw_export *x, size_t *n, const char **dir)
{
	*n = x->nfiles;
	*dir = x->source_dir;
	return x->files;
}

const json_t *tw_export_left_out(const struct tw_export *x)
{
	return x->left_out;
}

const json_t *tw_export_env(const struct tw_export *x)
{
	return x->env;
}

void tw_export_count(const struct tw_export *x, size_t *top, size_t *all)
{
	*top = x->ntop;
	*all = x->nall;
}

int tw_export_verify(struct tw_export *x, const char *yaml, size_t len, struct tw_plan **plan, struct tw_diags *diags,
		     struct tw_err *err)
{
	struct tw_config_opts co = { .no_secrets = 1 };
	char *dir = x->o.out ? tw_dir_of(x->o.out) : tw_xstrdup(".");
	int ret;

	*plan = NULL;
	/* the file stands for the model now: the loaded one takes its memory */
	forget(x, &x->out->root);
	tw_model_free(x->out);
	x->out = NULL;
	tw_model_free(x->loaded);
	ret = tw_config_load_buf_opts(x->o.out ? x->o.out : "<standard output>", dir, yaml, len, &co, &x->loaded, err);
	free(dir);
	*diags = x->loaded->diags;
	memset(&x->loaded->diags, 0, sizeof(x->loaded->diags));
	if (ret < 0)
		return -1;
	return tw_plan_build(x->loaded, x->live, NULL, plan, err);
}
