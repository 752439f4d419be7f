/* model.c - resources, models and diagnostics */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/log.h"
#include "twprov/model.h"

void tw_diag_add(struct tw_diags *d, int warning, const struct tw_loc *loc, const char *fmt, ...)
{
	struct tw_buf b = TW_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	tw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	TW_ALLOC_GROW(d->v, d->n + 1, d->alloc);
	struct tw_diag *g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	if (loc)
		g->loc = *loc;
	g->warning = warning;
	g->msg = tw_buf_detach(&b);
	if (warning)
		d->nwarnings++;
	else
		d->nerrors++;
}

void tw_diags_sort(struct tw_diags *d)
{
	/* stable insertion sort: diagnostics are few and keep their order on ties */
	for (size_t i = 1; i < d->n; i++) {
		struct tw_diag t = d->v[i];
		size_t j = i;
		while (j > 0) {
			const struct tw_diag *p = &d->v[j - 1];
			if (p->loc.line < t.loc.line || (p->loc.line == t.loc.line && p->loc.col <= t.loc.col))
				break;
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

void tw_diags_print(const struct tw_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct tw_diag *g = &d->v[i];
		/* messages quote the file's values: shown text (log.h) */
		if (g->loc.file && g->loc.line)
			fprintf(f, "%s:%d:%d: ", tw_quote(g->loc.file), g->loc.line, g->loc.col);
		else if (g->loc.file)
			fprintf(f, "%s: ", tw_quote(g->loc.file));
		tw_show(f, "%s: %s\n", g->warning ? "warning" : "error", g->msg);
	}
}

void tw_diags_release(struct tw_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

const struct tw_model *tw_res_model(const struct tw_res *r)
{
	while (r->parent)
		r = r->parent;
	/* the root is the first member of its model */
	return (const struct tw_model *)(const void *)r;
}

struct tw_model *tw_model_new(int live)
{
	struct tw_model *m = tw_xcalloc(1, sizeof(*m));
	m->live = live;
	m->prune = json_array();
	m->ignore = json_array();
	m->kinds_present = json_object();
	return m;
}

static void res_release(struct tw_res *r)
{
	for (size_t i = 0; i < r->nchildren; i++)
		tw_res_free(r->children[i]);
	free(r->children);
	if (r->fields && r->kind) {
		/* wipe secrets before the strings go back to the allocator */
		for (size_t i = 0; i < r->kind->nfields; i++) {
			const struct tw_field *f = &r->kind->fields[i];
			json_t *v;
			if (!(f->flags & TW_F_SECRET) && !(r->sensitive >> i & 1))
				continue;
			v = json_object_get(r->fields, f->name);
			if (v && json_is_string(v))
				tw_memwipe((char *)json_string_value(v), json_string_length(v));
		}
	}
	json_decref(r->fields);
	json_decref(r->json);
	free(r->flocs);
	free(r->id);
	free(r->sid);
}

void tw_model_free(struct tw_model *m)
{
	if (!m)
		return;
	res_release(&m->root);
	free(m->file);
	free(m->dir);
	json_decref(m->prune);
	json_decref(m->ignore);
	json_decref(m->kinds_present);
	free(m->region);
	free(m->edge);
	tw_diags_release(&m->diags);
	free(m);
}

struct tw_res *tw_res_new(const struct tw_kind *k, struct tw_res *parent)
{
	struct tw_res *r = tw_xcalloc(1, sizeof(*r));
	r->kind = k;
	r->parent = parent;
	r->fields = json_object();
	if (k && k->nfields)
		r->flocs = tw_xcalloc(k->nfields, sizeof(*r->flocs));
	return r;
}

void tw_res_free(struct tw_res *r)
{
	if (!r)
		return;
	res_release(r);
	free(r);
}

void tw_res_add_child(struct tw_res *parent, struct tw_res *child)
{
	TW_ALLOC_GROW(parent->children, parent->nchildren + 1, parent->children_alloc);
	parent->children[parent->nchildren++] = child;
	child->parent = parent;
}

struct tw_res *tw_res_find(const struct tw_res *parent, const struct tw_kind *k, const char *id)
{
	for (size_t i = 0; i < parent->nchildren; i++) {
		struct tw_res *c = parent->children[i];
		if (c->kind == k && c->id && !strcmp(c->id, id))
			return c;
	}
	return NULL;
}

json_t *tw_res_index(const struct tw_res *parent, const struct tw_kind *k)
{
	json_t *ix = json_object();

	for (size_t i = 0; i < parent->nchildren; i++) {
		const struct tw_res *c = parent->children[i];
		json_t *pos, *old;
		if (c->kind != k || !c->id)
			continue;
		pos = json_integer((json_int_t)i);
		old = json_object_get(ix, c->id);
		if (!old) {
			json_object_set_new(ix, c->id, pos);
		} else if (json_is_array(old)) {
			json_array_append_new(old, pos);
		} else {
			json_t *all = json_array();
			json_array_append(all, old);
			json_array_append_new(all, pos);
			json_object_set_new(ix, c->id, all);
		}
	}
	return ix;
}

struct tw_res *tw_res_index_first(const struct tw_res *parent, const json_t *entry)
{
	if (json_is_array(entry))
		entry = json_array_get(entry, 0);
	return entry ? parent->children[json_integer_value(entry)] : NULL;
}

json_t *tw_json_path(const json_t *obj, const char *path)
{
	const char *dot;
	while (obj && (dot = strchr(path, '.'))) {
		char key[128];
		size_t n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return obj ? json_object_get(obj, path) : NULL;
}

struct tw_res *tw_res_top(const struct tw_res *from, const char *kind, const char *name)
{
	const struct tw_kind *k = tw_kind_find(kind);
	return k && name ? tw_res_find(&tw_res_model(from)->root, k, name) : NULL;
}

json_t *tw_res_get(const struct tw_res *r, const char *name)
{
	return r->fields ? json_object_get(r->fields, name) : NULL;
}

const char *tw_res_get_str(const struct tw_res *r, const char *name)
{
	return json_string_value(tw_res_get(r, name));
}

int tw_res_is_sensitive(const struct tw_res *r, const char *name)
{
	if (!r->kind)
		return 0;
	for (size_t i = 0; i < r->kind->nfields; i++)
		if (!strcmp(r->kind->fields[i].name, name))
			return (r->kind->fields[i].flags & TW_F_SECRET) || (r->sensitive >> i & 1);
	return 0;
}

static void address_of(struct tw_buf *b, const struct tw_res *r)
{
	if (r->parent && r->parent->kind) {
		address_of(b, r->parent);
		tw_buf_addc(b, '/');
	}
	if (r->kind->flags & TW_K_SINGLE) {
		tw_buf_adds(b, r->kind->yaml_key);
		return;
	}
	if (r->id || !r->parent || tw_kind_identity(r->kind) >= 0 || (r->kind->flags & TW_K_ASSOC)) {
		/* '/' separates an address's segments: an identity that is a path
		 * (/sip-outbound) is written without its leading one */
		const char *id = r->id ? r->id : "?";
		tw_buf_addf(b, "%s/%s", r->kind->yaml_key, id[0] == '/' && id[1] ? id + 1 : id);
		return;
	}
	/* a kind without identity (devices): its position among its siblings of that kind */
	size_t n = 0;
	for (size_t i = 0; i < r->parent->nchildren && r->parent->children[i] != r; i++)
		n += r->parent->children[i]->kind == r->kind;
	tw_buf_addf(b, "%s[%zu]", r->kind->yaml_key, n);
}

char *tw_res_address(const struct tw_res *r)
{
	struct tw_buf b = TW_BUF_INIT;
	address_of(&b, r);
	return tw_buf_detach(&b);
}

const struct tw_loc *tw_res_loc(const struct tw_res *r, const char *name)
{
	const struct tw_field *f = name ? tw_kind_field(r->kind, name) : NULL;
	return f && r->flocs && r->flocs[f - r->kind->fields].line ? &r->flocs[f - r->kind->fields] : &r->loc;
}

void tw_res_diag(struct tw_diags *d, int warning, const struct tw_res *r, const char *field, const char *fmt, ...)
{
	struct tw_buf b = TW_BUF_INIT;
	char *addr = tw_res_address(r);
	va_list ap;

	va_start(ap, fmt);
	tw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	tw_diag_add(d, warning, tw_res_loc(r, field), "%s: %s", addr, b.buf);
	free(addr);
	tw_buf_release(&b);
}

static struct tw_res *find_address(const struct tw_res *r, const char *address)
{
	for (size_t i = 0; i < r->nchildren; i++) {
		struct tw_res *c = r->children[i];
		char *a = tw_res_address(c);
		int eq = !strcmp(a, address);
		size_t alen = strlen(a);
		int prefix = !strncmp(a, address, alen) && address[alen] == '/';
		free(a);
		if (eq)
			return c;
		if (prefix) {
			struct tw_res *f = find_address(c, address);
			if (f)
				return f;
		}
	}
	return NULL;
}

struct tw_res *tw_model_find_address(const struct tw_model *m, const char *address)
{
	return find_address(&m->root, address);
}
