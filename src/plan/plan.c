/* plan.c - diff the declared model against the live one into a plan */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "twprov/buf.h"
#include "twprov/checks.h"
#include "twprov/err.h"
#include "twprov/plan.h"

struct tw_planner {
	struct tw_plan *p;
	const struct tw_model *want, *have;
	const struct tw_plan_opts *o;
	size_t unsynced;            /* write-only values not compared */
	struct tw_ptrmap dups;      /* declared resources with several live ones: not planned */
	json_t *unread;             /* "kind.field" -> addresses whose live value Twilio did not return */
};

const struct tw_plan *tw_planner_plan(const struct tw_planner *pl)
{
	return pl->p;
}

const char *tw_act_name(enum tw_act_type t)
{
	static const char *const names[] = { "create", "update", "delete", "replace" };
	return names[t];
}

const char *tw_act_symbol(enum tw_act_type t)
{
	static const char *const sym[] = { "+", "~", "-", "-/+" };
	return sym[t];
}

long tw_plan_act_index(const struct tw_plan *p, const struct tw_res *r)
{
	return (long)(uintptr_t)tw_ptrmap_get(&p->primary, r) - 1;
}

static struct tw_action *act_of(const struct tw_plan *p, const struct tw_res *r)
{
	long i = tw_plan_act_index(p, r);
	return i >= 0 ? &p->acts[i] : NULL;
}

const struct tw_action *tw_plan_act_of(const struct tw_plan *p, const struct tw_res *r)
{
	return act_of(p, r);
}

/* The declared resource matched to live resource h, or NULL. */
static const struct tw_res *declared_of(const struct tw_plan *p, const struct tw_res *h)
{
	return tw_ptrmap_get(&p->declared, h);
}

struct tw_res *tw_plan_live(const struct tw_plan *p, const struct tw_res *w)
{
	return tw_ptrmap_get(&p->live, w);
}

/* w and h are one resource (h the live one, or one of the live duplicates of w). */
static void link(struct tw_plan *p, const struct tw_res *w, const struct tw_res *h, int duplicate)
{
	if (!duplicate)
		tw_ptrmap_put(&p->live, w, (void *)h);
	tw_ptrmap_put(&p->declared, h, (void *)w);
}

/* A resource's primary action; follow-ups and custom actions are not. */
static void set_primary(struct tw_plan *p, const struct tw_res *r, size_t i)
{
	tw_ptrmap_put(&p->primary, r, (void *)(uintptr_t)(i + 1));
}

/* The summary: a replace is one add and one destroy, as in Terraform. */
static void count(struct tw_plan *p, enum tw_act_type t)
{
	p->add += t == TW_ACT_CREATE || t == TW_ACT_REPLACE;
	p->change += t == TW_ACT_UPDATE;
	p->destroy += t == TW_ACT_DELETE || t == TW_ACT_REPLACE;
}

static void add_dep(struct tw_action *a, size_t dep);

static size_t add_action_as(struct tw_plan *p, enum tw_act_type t, const struct tw_res *want,
			    const struct tw_res *have, int secondary)
{
	struct tw_action *a;
	TW_ALLOC_GROW(p->acts, p->n + 1, p->alloc);
	a = &p->acts[p->n];
	memset(a, 0, sizeof(*a));
	a->type = t;
	a->want = want;
	a->have = have;
	a->kind = want ? want->kind : have->kind;
	a->address = tw_res_address(want ? want : have);
	a->secondary = secondary;
	if (want && !secondary)
		set_primary(p, want, p->n);
	if (have && !secondary)
		set_primary(p, have, p->n);
	count(p, t);
	return p->n++;
}

static size_t add_action(struct tw_plan *p, enum tw_act_type t, const struct tw_res *want,
			 const struct tw_res *have)
{
	return add_action_as(p, t, want, have, 0);
}

static void add_change(struct tw_action *a, const struct tw_field *f, const json_t *before, const json_t *after,
		       int sensitive)
{
	struct tw_change *c;
	TW_ALLOC_GROW(a->changes, a->nchanges + 1, a->changes_alloc);
	c = &a->changes[a->nchanges++];
	memset(c, 0, sizeof(*c));
	c->field = f;
	c->sensitive = sensitive;
	/* shared, not copied: values are never changed once read (jansson counts the references) */
	c->before = before && !json_is_null(before) ? json_incref((json_t *)before) : NULL;
	c->after = sensitive || !after ? NULL : json_incref((json_t *)after);
}

/* ---- the planner API of the kinds' plan_more hooks ---- */

size_t tw_planner_custom(struct tw_planner *pl, const struct tw_custom *c, const struct tw_res *want,
			 char *summary, json_t *data)
{
	struct tw_plan *p = pl->p;
	size_t i = add_action_as(p, TW_ACT_UPDATE, want, NULL, 1);
	p->acts[i].custom = c;
	p->acts[i].summary = summary;
	p->acts[i].data = data;
	return i;
}

void tw_planner_change(struct tw_planner *pl, size_t a, const struct tw_field *f, const json_t *before,
		       const json_t *after)
{
	add_change(&pl->p->acts[a], f, before, after, 0);
}

void tw_planner_dep(struct tw_planner *pl, size_t a, size_t dep)
{
	add_dep(&pl->p->acts[a], dep);
}

static void add_dep(struct tw_action *a, size_t dep)
{
	for (size_t i = 0; i < a->ndeps; i++)
		if (a->deps[i] == dep)
			return;
	TW_ALLOC_GROW(a->deps, a->ndeps + 1, a->deps_alloc);
	a->deps[a->ndeps++] = dep;
}

/* Append a formatted message to a JSON array of strings (problems, notes). */
static void say(json_t *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(json_t *list, const char *fmt, ...)
{
	struct tw_buf b = TW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	tw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	json_array_append_new(list, json_string(b.buf));
	tw_buf_release(&b);
}

static int is_str_empty(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v));
}

int tw_value_equal(const struct tw_field *f, const json_t *a, const json_t *b)
{
	switch (f->type) {
	case TW_V_BOOL:
		return json_is_true(a) == json_is_true(b);
	case TW_V_INT:
		if (!a || json_is_null(a) || !b || json_is_null(b))
			return (!a || json_is_null(a)) && (!b || json_is_null(b));
		return json_integer_value(a) == json_integer_value(b);
	default:
		if (is_str_empty(a) || is_str_empty(b))
			return is_str_empty(a) && is_str_empty(b);
		if ((f->flags & TW_F_ICASE) && json_is_string(a) && json_is_string(b))
			return !strcasecmp(json_string_value(a), json_string_value(b));
		return json_equal((json_t *)a, (json_t *)b);
	}
}

/*
 * Did the live answer leave the value of field f out?  Twilio's answers
 * carry every field (null when unset), so a missing key is not "unset" but
 * "not returned"; for a TW_F_MAY_OMIT field, which always has a value, null
 * is too.  Such a value is unknown: it is never compared.
 */
static int not_returned(const struct tw_field *f, const struct tw_res *h)
{
	json_t *hv = json_object_get(h->fields, f->name);
	return !hv || ((f->flags & TW_F_MAY_OMIT) && json_is_null(hv));
}

static void note_unread(struct tw_planner *pl, const struct tw_field *f, const struct tw_res *w)
{
	char *key = tw_xasprintf("%s\n%s", w->kind->name, f->name);
	json_t *list = json_object_get(pl->unread, key);
	if (!list) {
		list = json_array();
		json_object_set_new(pl->unread, key, list);
	}
	{
		char *addr = tw_res_address(w);
		json_array_append_new(list, json_string(addr));
		free(addr);
	}
	free(key);
}

/* One note per field that answers left out: which resources, and what twprov does about it. */
static void say_unread(struct tw_planner *pl)
{
	const char *key;
	json_t *list;

	json_object_foreach(pl->unread, key, list) {
		const char *nl = strchr(key, '\n');
		size_t n = json_array_size(list);
		struct tw_buf b = TW_BUF_INIT;
		for (size_t i = 0; i < n && i < 3; i++)
			tw_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(json_array_get(list, i)));
		if (n > 3)
			tw_buf_addf(&b, " and %zu more", n - 3);
		say(pl->p->notes, "Twilio did not return %s of %s: it is not compared, and twprov writes the file's "
		    "value whenever it writes %s", nl + 1, b.buf, n == 1 ? "that resource" : "those resources");
		tw_buf_release(&b);
	}
}

static int kind_pruned(const struct tw_model *m, const struct tw_kind *k)
{
	size_t i;
	json_t *v;
	json_array_foreach(m->prune, i, v)
		if (!strcmp(json_string_value(v), k->name))
			return 1;
	return 0;
}

static int name_ignored(const struct tw_model *m, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(m->ignore, i, v)
		if (id && tw_glob_match(json_string_value(v), id))
			return 1;
	return 0;
}

/* What the planner knows of a declared resource at Twilio: its live counterpart's object,
 * unless this plan creates or replaces it (then it is known after apply). */
static const json_t *planned_object(const struct tw_facts *f, const struct tw_res *r)
{
	const struct tw_planner *pl = f->ctx;
	const struct tw_action *a = act_of(pl->p, r);
	if (r->absent || (a && a->want == r && (a->type == TW_ACT_CREATE || a->type == TW_ACT_REPLACE)))
		return NULL;
	return tw_plan_live(pl->p, r) ? tw_plan_live(pl->p, r)->json : NULL;
}

/*
 * The value of a declared field as Twilio will hold it: a value written as a
 * mapping (a deployed path) becomes what it stands for, or NULL with *unknown
 * set while that is known only after apply.  New reference.
 */
static json_t *effective(struct tw_planner *pl, const struct tw_field *f, const struct tw_res *w, json_t *v,
			 int *unknown)
{
	struct tw_facts facts = { planned_object, pl };
	char *s;
	json_t *out;

	*unknown = 0;
	if (!json_is_object(v) || !f->objval)
		return json_incref(v);
	s = f->objval->resolve(w, v, &facts);
	if (!s) {
		*unknown = 1;
		return NULL;
	}
	out = json_string(s);
	free(s);
	return out;
}

/* Is declared resource r replaced by this plan (a new SID)?  Kinds a plan may replace are diffed
 * before what refers to them (test_kinds.c: test_replaced_targets_are_diffed_first). */
static int replaced(const struct tw_plan *p, const struct tw_res *r)
{
	const struct tw_action *a = r ? act_of(p, r) : NULL;
	return a && a->want == r && a->type == TW_ACT_REPLACE;
}

/* Compare the managed fields of a matched pair; returns the action type or -1 for none. */
static int diff_fields(struct tw_planner *pl, const struct tw_res *w, const struct tw_res *h, size_t *out)
{
	const struct tw_kind *k = w->kind;
	struct tw_action tmp;
	uint64_t unread = 0;
	int replace = 0;

	memset(&tmp, 0, sizeof(tmp));
	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		json_t *wv = json_object_get(w->fields, f->name);
		json_t *hv = json_object_get(h->fields, f->name);
		int sens = (f->flags & TW_F_SECRET) || (w->sensitive >> i & 1);

		if (!wv || !f->param || (f->flags & (TW_F_LOCAL | TW_F_IDENTITY | TW_F_WRITE_ONLY)))
			continue;
		if (f->flags & TW_F_SECRET) {
			if (pl->o->sync_passwords)
				add_change(&tmp, f, NULL, NULL, 1);
			else
				pl->unsynced++;
			continue;
		}
		if (i < 64 && not_returned(f, h)) {
			unread |= (uint64_t)1 << i;
			continue;
		}
		{
			int unknown;
			json_t *ev = effective(pl, f, w, wv, &unknown);
			/* the same name, but a new resource: the reference moves to its new SID */
			if (f->type == TW_V_REF && replaced(pl->p, tw_res_top(w, f->ref, json_string_value(wv))))
				unknown = 1;
			if (!unknown && tw_value_equal(f, ev, hv)) {
				json_decref(ev);
				continue;
			}
			add_change(&tmp, f, hv, ev, sens);
			tmp.changes[tmp.nchanges - 1].unknown = unknown;
			json_decref(ev);
		}
		if ((f->flags & TW_F_IMMUTABLE) || (k->flags & TW_K_NO_UPDATE))
			replace = 1;
	}
	for (size_t i = 0; unread && i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		if (!(unread >> i & 1))
			continue;
		note_unread(pl, f, w);
		/* written with the rest whenever the resource is written */
		if (tmp.nchanges) {
			int unknown;
			json_t *ev = effective(pl, f, w, json_object_get(w->fields, f->name), &unknown);
			add_change(&tmp, f, NULL, ev, (w->sensitive >> i & 1));
			tmp.changes[tmp.nchanges - 1].unread = 1;
			tmp.changes[tmp.nchanges - 1].unknown = unknown;
			json_decref(ev);
		}
	}
	if (!tmp.nchanges)
		return -1;
	*out = add_action(pl->p, replace ? TW_ACT_REPLACE : TW_ACT_UPDATE, w, h);
	pl->p->acts[*out].changes = tmp.changes;
	pl->p->acts[*out].nchanges = tmp.nchanges;
	pl->p->acts[*out].changes_alloc = tmp.changes_alloc;
	return 0;
}

/* The file's values of a resource being created, as changes from nothing. */
static void create_changes(struct tw_planner *pl, size_t ai)
{
	struct tw_action *a = &pl->p->acts[ai];
	const struct tw_kind *k = a->kind;
	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		json_t *v = json_object_get(a->want->fields, f->name), *ev;
		int unknown;
		if (!v || (f->flags & TW_F_LOCAL))
			continue;
		ev = effective(pl, f, a->want, v, &unknown);
		add_change(a, f, NULL, ev, (f->flags & TW_F_SECRET) || (a->want->sensitive >> i & 1));
		a->changes[a->nchanges - 1].unknown = unknown;
		json_decref(ev);
	}
}

static void diff_level(struct tw_planner *pl, const struct tw_res *wp, const struct tw_res *hp);

size_t tw_planner_create(struct tw_planner *pl, const struct tw_res *w)
{
	long i = tw_plan_act_index(pl->p, w);
	size_t idx;

	if (i >= 0)
		return (size_t)i;
	idx = add_action(pl->p, TW_ACT_CREATE, w, NULL);
	create_changes(pl, idx);
	return idx;
}

/*
 * First the whole tree is matched, declared to live by identity, so that
 * while any resource is diffed every other's live counterpart is known (a
 * value may stand for another resource's SID).  Two live resources with one
 * identity are a problem, not a guess.
 */
static void match_level(struct tw_planner *pl, const struct tw_res *wp, const struct tw_res *hp)
{
	struct tw_plan *p = pl->p;
	size_t nk;
	const struct tw_kind *const *kids = tw_kind_children(wp->kind, &nk);

	for (size_t ki = 0; ki < nk; ki++) {
		const struct tw_kind *k = kids[ki];
		/* live children by identity: a linear search per declared child would be
		 * quadratic in the size of a credential list */
		json_t *live;
		if (k->flags & TW_K_LOCAL)
			continue;
		live = tw_res_index(hp, k);
		for (size_t i = 0; i < wp->nchildren; i++) {
			const struct tw_res *w = wp->children[i], *h;
			json_t *entry = w->kind == k && w->id ? json_object_get(live, w->id) : NULL;
			if (!entry)
				continue;
			if (json_is_array(entry)) {
				struct tw_buf b = TW_BUF_INIT;
				char *addr = tw_res_address(w);
				size_t j;
				json_t *pos;
				json_array_foreach(entry, j, pos) {
					const struct tw_res *dup = hp->children[json_integer_value(pos)];
					tw_buf_addf(&b, "%s%s", b.len ? ", " : "", dup->sid ? dup->sid : "?");
					link(p, w, dup, 1);
				}
				tw_ptrmap_put(&pl->dups, w, (void *)w);
				say(p->problems, "%s: %zu resources with this identity exist at Twilio (%s); twprov will not "
				    "guess which one the file means: delete or rename the extra ones", addr,
				    json_array_size(entry), b.buf);
				free(addr);
				tw_buf_release(&b);
				continue;
			}
			h = tw_res_index_first(hp, entry);
			link(p, w, h, 0);
			if (!w->absent)
				match_level(pl, w, h);
		}
		json_decref(live);
	}
}

/* A replaced resource starts with no children: none of w's descendants has a live counterpart. */
static void unlink_children(struct tw_plan *p, const struct tw_res *w)
{
	for (size_t i = 0; i < w->nchildren; i++) {
		tw_ptrmap_put(&p->live, w->children[i], NULL);
		unlink_children(p, w->children[i]);
	}
}

/*
 * A replace of a TW_K_CREATE_FIRST kind creates the new resource; the old one
 * is deleted by a second action, once what referenced it has moved (see
 * deps_of_delete).  A replace counts once, as in Terraform.
 */
static void delete_after(struct tw_plan *p, size_t ai)
{
	size_t d = add_action_as(p, TW_ACT_DELETE, NULL, p->acts[ai].have, 1);
	p->destroy--;
	p->acts[d].note = tw_xstrdup("the replaced one, once what used it has moved to the new one");
	add_dep(&p->acts[d], ai);
}

static void diff_kind(struct tw_planner *pl, const struct tw_res *wp, const struct tw_res *hp, const struct tw_kind *k)
{
	struct tw_plan *p = pl->p;
	int top = !k->parent;

	for (size_t i = 0; i < wp->nchildren; i++) {
		const struct tw_res *w = wp->children[i], *h;
		size_t idx;

		if (w->kind != k || tw_ptrmap_get(&pl->dups, w))
			continue;
		h = hp ? tw_plan_live(p, w) : NULL;
		if ((k->flags & TW_K_SETTING) && (w->absent || !h)) {
			char *addr = tw_res_address(w);
			if (w->absent)
				say(p->problems, "%s: settings cannot be absent: set the values it should have", addr);
			else if (hp)
				say(p->problems, "%s: Twilio has no such %s", addr, k->name);
			free(addr);
			continue;
		}
		if (w->absent) {
			if (h)
				add_action(p, TW_ACT_DELETE, NULL, h);
			continue;
		}
		if (h) {
			/* a replaced resource starts with no children */
			if (diff_fields(pl, w, h, &idx) == 0 && p->acts[idx].type == TW_ACT_REPLACE) {
				if (k->flags & TW_K_CREATE_FIRST)
					delete_after(p, idx);
				h = NULL;
				unlink_children(p, w);
			}
			diff_level(pl, w, h);
			if (k->hooks && k->hooks->plan_more)
				k->hooks->plan_more(pl, w, h);
		} else if (w->on_demand) {
			continue;   /* created when its kind's own actions need it (tw_planner_create) */
		} else if (k->create_requires && !json_is_true(json_object_get(w->fields, k->create_requires))) {
			char *addr = tw_res_address(w);
			say(p->problems, "%s: not in the account; set %s: true to %s it (apply then needs %s)", addr,
			    k->create_requires, k->create_guard ? k->create_guard->word : "create",
			    k->create_guard ? k->create_guard->flag : "no flag");
			free(addr);
		} else {
			idx = add_action(p, TW_ACT_CREATE, w, NULL);
			create_changes(pl, idx);
			diff_level(pl, w, NULL);
			if (k->hooks && k->hooks->plan_more)
				k->hooks->plan_more(pl, w, NULL);
		}
	}
	for (size_t i = 0; hp && i < hp->nchildren; i++) {
		const struct tw_res *h = hp->children[i];
		if (h->kind != k || declared_of(p, h) || (k->flags & TW_K_SETTING))
			continue;
		if (!top) {
			add_action(p, TW_ACT_DELETE, NULL, h);
		} else if (kind_pruned(pl->want, k) && !name_ignored(pl->want, h->id)) {
			add_action(p, TW_ACT_DELETE, NULL, h);
		} else if (json_object_get(pl->want->kinds_present, k->yaml_key) || kind_pruned(pl->want, k)) {
			json_t *u = json_object();
			char *addr = tw_res_address(h);
			json_object_set_new(u, "address", json_string(addr));
			json_object_set_new(u, "kind", json_string(k->name));
			json_object_set_new(u, "name", h->id ? json_string(h->id) : json_null());
			json_object_set_new(u, "sid", h->sid ? json_string(h->sid) : json_null());
			json_object_set_new(u, "ignored", json_boolean(name_ignored(pl->want, h->id)));
			json_array_append_new(p->unmanaged, u);
			free(addr);
		}
	}
}

static void diff_level(struct tw_planner *pl, const struct tw_res *wp, const struct tw_res *hp)
{
	size_t n;
	const struct tw_kind *const *kids = tw_kind_children(wp->kind, &n);

	for (size_t i = 0; i < n; i++) {
		if (kids[i]->flags & TW_K_LOCAL)
			continue;
		diff_kind(pl, wp, hp, kids[i]);
	}
}

/* ---- dependencies ---- */

static void dep_on_creation(struct tw_plan *p, size_t ai, const struct tw_res *target)
{
	struct tw_action *t = act_of(p, target);
	if (t && target == t->want && (t->type == TW_ACT_CREATE || t->type == TW_ACT_REPLACE))
		add_dep(&p->acts[ai], (size_t)(t - p->acts));
}

void tw_planner_after_creation(struct tw_planner *pl, size_t a, const struct tw_res *r)
{
	dep_on_creation(pl->p, a, r);
}

/* Creates and updates wait for their parent and for what they reference. */
static void deps_of_want(struct tw_planner *pl, size_t ai)
{
	struct tw_plan *p = pl->p;
	const struct tw_res *w = p->acts[ai].want;
	const struct tw_kind *k = w->kind;

	if (w->parent && w->parent->kind)
		dep_on_creation(p, ai, w->parent);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		const char *name = json_string_value(json_object_get(w->fields, f->name));
		json_t *v = json_object_get(w->fields, f->name);
		if (p->acts[ai].omit >> i & 1)
			continue;
		if (f->type == TW_V_REF && name && *name && !(f->flags & TW_F_LOCAL))
			dep_on_creation(p, ai, tw_res_top(&pl->want->root, f->ref, name));
		if (json_is_object(v) && f->objval && f->objval->source) {
			/* after its source exists and its own actions are done (a deployed path:
			 * the environment runs the new build) */
			struct tw_res *src = f->objval->source(w, v);
			dep_on_creation(p, ai, src);
			for (size_t j = 0; src && j < p->n; j++)
				if (p->acts[j].custom && p->acts[j].want == src)
					add_dep(&p->acts[ai], j);
		}
	}
	if (k->flags & TW_K_ASSOC)
		dep_on_creation(p, ai, tw_res_top(&pl->want->root, k->assoc_ref, w->id));
}

/*
 * Who references whom at Twilio: for every live resource that holds a SID of
 * another one (a reference field or an association), an edge keyed by that SID.
 */
struct ref_edge {
	const struct tw_res *from;
	const struct tw_field *via;     /* NULL for an association */
};

struct ref_index {
	json_t *by_sid;                 /* sid -> array of indices into v */
	struct ref_edge *v;
	size_t n, alloc;
};

static void index_add(struct ref_index *ix, const char *sid, const struct tw_res *from, const struct tw_field *via)
{
	json_t *list = json_object_get(ix->by_sid, sid);
	if (!list) {
		list = json_array();
		json_object_set_new(ix->by_sid, sid, list);
	}
	TW_ALLOC_GROW(ix->v, ix->n + 1, ix->alloc);
	ix->v[ix->n].from = from;
	ix->v[ix->n].via = via;
	json_array_append_new(list, json_integer((json_int_t)ix->n++));
}

static void index_refs(struct ref_index *ix, const struct tw_res *r)
{
	for (size_t i = 0; i < r->nchildren; i++) {
		const struct tw_res *l = r->children[i];
		const struct tw_kind *k = l->kind;
		if ((k->flags & TW_K_ASSOC) && l->sid)
			index_add(ix, l->sid, l, NULL);
		for (size_t j = 0; j < k->nfields; j++) {
			const struct tw_field *f = &k->fields[j];
			const char *sid;
			if (f->type != TW_V_REF || !f->json)
				continue;
			sid = json_string_value(tw_json_path(l->json, f->json));
			if (sid && *sid)
				index_add(ix, sid, l, f);
		}
		index_refs(ix, l);
	}
}

/* The action that ends live resource l's reference (through field `via`), if any. */
static struct tw_action *ender(const struct tw_plan *p, const struct tw_res *l, const struct tw_field *via)
{
	for (const struct tw_res *r = l; r && r->kind; r = r->parent) {
		struct tw_action *a = act_of(p, r);
		if (!a || a->have != r)
			continue;
		if (a->type == TW_ACT_DELETE || a->type == TW_ACT_REPLACE)
			return a;
		if (r == l && a->type == TW_ACT_UPDATE && via)
			for (size_t i = 0; i < a->nchanges; i++)
				if (a->changes[i].field == via)
					return a;
	}
	return NULL;
}

/* Deletes wait for every action that stops a live reference to what they delete. */
static void deps_of_delete(struct tw_planner *pl, const struct ref_index *ix, size_t ai)
{
	struct tw_plan *p = pl->p;
	const struct tw_res *x = p->acts[ai].have;
	json_t *list = x->sid ? json_object_get(ix->by_sid, x->sid) : NULL;
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const struct ref_edge *e = &ix->v[json_integer_value(v)];
		struct tw_action *end = ender(p, e->from, e->via);
		/* a deferred reference (it may close a cycle) never holds back a delete
		 * when its holder goes too: both references end with the two deletes */
		if (end && e->via && (e->via->flags & TW_F_DEFER) && end->type == TW_ACT_DELETE)
			continue;
		if (end && end != &p->acts[ai]) {
			add_dep(&p->acts[ai], (size_t)(end - p->acts));
		} else if (!end && e->via && (e->via->flags & TW_F_BLOCKS_DELETE)) {
			char *la = tw_res_address(e->from);
			say(p->problems, "%s: cannot be deleted while %s uses it as its %s, which this plan does not "
			    "change: %s", p->acts[ai].address, la, e->via->name,
			    declared_of(p, e->from) ? "change that in the file too" :
			    "the file does not declare it; change it at Twilio or declare it");
			free(la);
		} else if (!end) {
			char *la = tw_res_address(e->from);
			say(p->notes, "%s is still used by %s, which this plan does not change; Twilio may refuse to delete it",
			     p->acts[ai].address, la);
			free(la);
		}
	}
}

/* Remove the change of field f from an action (it moves to another action). */
static void drop_change(struct tw_action *a, const struct tw_field *f)
{
	for (size_t i = 0; i < a->nchanges; i++) {
		if (a->changes[i].field != f)
			continue;
		json_decref(a->changes[i].before);
		json_decref(a->changes[i].after);
		memmove(&a->changes[i], &a->changes[i + 1], (a->nchanges - i - 1) * sizeof(a->changes[0]));
		a->nchanges--;
		return;
	}
}

/*
 * A create whose TW_F_DEFER reference names a resource created by the same
 * plan leaves that field out, and a follow-up update sets it once both exist:
 * this breaks cycles such as a BYOC trunk's from_domain naming a SIP domain
 * whose byoc_trunk names the trunk.
 */
static void defer_references(struct tw_planner *pl)
{
	struct tw_plan *p = pl->p;
	size_t n = p->n;

	for (size_t ai = 0; ai < n; ai++) {
		const struct tw_kind *k = p->acts[ai].kind;
		const struct tw_res *w = p->acts[ai].want;
		if (p->acts[ai].type != TW_ACT_CREATE)
			continue;
		for (size_t i = 0; i < k->nfields; i++) {
			const struct tw_field *f = &k->fields[i];
			const char *name = json_string_value(json_object_get(w->fields, f->name));
			struct tw_action *ta;
			size_t ti, u;
			if (!(f->flags & TW_F_DEFER) || !name || !*name)
				continue;
			ta = act_of(p, tw_res_top(&pl->want->root, f->ref, name));
			if (!ta || (ta->type != TW_ACT_CREATE && ta->type != TW_ACT_REPLACE))
				continue;
			ti = (size_t)(ta - p->acts);     /* add_action may move p->acts */
			p->acts[ai].omit |= (uint64_t)1 << i;
			drop_change(&p->acts[ai], f);
			u = add_action_as(p, TW_ACT_UPDATE, w, NULL, 1);
			p->acts[u].followup = 1;
			add_change(&p->acts[u], f, NULL, json_object_get(w->fields, f->name), 0);
			add_dep(&p->acts[u], ai);
			add_dep(&p->acts[u], ti);
		}
	}
}

static void compute_deps(struct tw_planner *pl)
{
	struct tw_plan *p = pl->p;
	struct ref_index ix = { .by_sid = json_object() };

	defer_references(pl);

	index_refs(&ix, &pl->have->root);
	for (size_t i = 0; i < p->n; i++) {
		struct tw_action *a = &p->acts[i];
		if (a->want)
			deps_of_want(pl, i);
		if (a->type == TW_ACT_DELETE || (a->type == TW_ACT_REPLACE && !tw_act_creates_first(a)))
			deps_of_delete(pl, &ix, i);
	}
	json_decref(ix.by_sid);
	free(ix.v);
}

/*
 * Updates of a kind Twilio takes in batches (struct tw_bulk): each batch's
 * first update sends one request for all of them, once every update of the
 * batch may start; the others wait for it and have nothing left to send.
 */
static void batch_updates(struct tw_plan *p)
{
	for (size_t ki = 0; ki < tw_nkinds; ki++) {
		const struct tw_kind *k = tw_kinds[ki];
		size_t leader = 0, size = 0;
		if (!k->bulk)
			continue;
		for (size_t i = 0; i < p->n; i++) {
			struct tw_action *a = &p->acts[i];
			if (a->kind != k || a->type != TW_ACT_UPDATE || a->custom)
				continue;
			if (size == 0 || size == k->bulk->max) {
				leader = i;
				size = 0;
			} else {
				for (size_t d = 0; d < a->ndeps; d++)
					add_dep(&p->acts[leader], a->deps[d]);
				add_dep(a, leader);
				a->batch = leader + 1;
				free(a->note);
				a->note = tw_xasprintf("sent with %s", p->acts[leader].address);
			}
			size++;
		}
	}
}

/* Say which changes apply waits for Twilio to finish (struct tw_settle). */
static void note_settling(struct tw_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct tw_action *a = &p->acts[i];
		for (size_t f = 0; a->type == TW_ACT_DELETE && !a->note && f < a->kind->nfields; f++) {
			const struct tw_field *fd = &a->kind->fields[f];
			const char *v = fd->settle ? json_string_value(json_object_get(a->have->fields, fd->name)) : NULL;
			if (v && *v)
				a->note = tw_xasprintf("%s %s is cleared first; apply waits until its %s is %s", fd->name, v,
						       fd->settle->json, fd->settle->cleared);
		}
		for (size_t c = 0; c < a->nchanges && !a->note; c++) {
			const struct tw_change *ch = &a->changes[c];
			const struct tw_settle *se = ch->field->settle;
			int clears = !ch->unknown && !ch->sensitive && (!ch->after || !json_string_length(ch->after));
			if (se)
				a->note = tw_xasprintf("apply waits until its %s is %s%s", se->json,
						       clears ? se->cleared : se->set,
						       ch->before && !clears ? " (unlinked first, as Twilio documents)" : "");
		}
	}
}

/* ---- --target ---- */

static int under(const char *addr, const char *target)
{
	size_t n = strlen(target);
	return !strncmp(addr, target, n) && (addr[n] == '\0' || addr[n] == '/');
}

static void keep_with_deps(struct tw_plan *p, size_t i, unsigned char *keep)
{
	if (keep[i])
		return;
	keep[i] = 1;
	for (size_t d = 0; d < p->acts[i].ndeps; d++)
		keep_with_deps(p, p->acts[i].deps[d], keep);
}

static void free_action(struct tw_action *a)
{
	for (size_t j = 0; j < a->nchanges; j++) {
		json_decref(a->changes[j].before);
		json_decref(a->changes[j].after);
	}
	free(a->changes);
	free(a->deps);
	free(a->address);
	free(a->summary);
	free(a->note);
	json_decref(a->data);
}

static int apply_targets(struct tw_planner *pl, struct tw_err *err)
{
	struct tw_plan *p = pl->p;
	unsigned char *keep;
	size_t *newidx, n = 0;

	if (!pl->o->ntargets)
		return 0;
	for (size_t t = 0; t < pl->o->ntargets; t++) {
		const char *tg = pl->o->targets[t];
		int found = tw_model_find_address(pl->want, tg) || tw_model_find_address(pl->have, tg);
		if (!found) {
			/* an address of this file as the example of one */
			const struct tw_res *ex = pl->want->root.nchildren ? pl->want->root.children[0] : NULL;
			char *addr = ex ? tw_res_address(ex) : NULL;
			tw_err_setk(err, TW_ERR_USAGE, "--target %s: no such resource in the file or at Twilio "
				    "(addresses look like KIND/NAME%s%s)", tw_quote(tg), addr ? ", e.g. " : "",
				    addr ? tw_quote(addr) : "");
			free(addr);
			return -1;
		}
	}
	keep = tw_xcalloc(p->n ? p->n : 1, 1);
	for (size_t i = 0; i < p->n; i++)
		for (size_t t = 0; t < pl->o->ntargets; t++)
			if (under(p->acts[i].address, pl->o->targets[t]))
				keep_with_deps(p, i, keep);
	newidx = tw_xcalloc(p->n ? p->n : 1, sizeof(*newidx));
	for (size_t i = 0; i < p->n; i++)
		newidx[i] = keep[i] ? n++ : (size_t)-1;
	p->add = p->change = p->destroy = 0;
	tw_ptrmap_release(&p->primary);
	for (size_t i = 0, j = 0; i < p->n; i++) {
		struct tw_action *a = &p->acts[i];
		if (!keep[i]) {
			free_action(a);
			continue;
		}
		for (size_t d = 0; d < a->ndeps; d++)
			a->deps[d] = newidx[a->deps[d]];
		p->acts[j] = *a;
		if (p->acts[j].want && !p->acts[j].secondary)
			set_primary(p, p->acts[j].want, j);
		if (p->acts[j].have && !p->acts[j].secondary)
			set_primary(p, p->acts[j].have, j);
		count(p, p->acts[j].type);
		j++;
	}
	p->n = n;
	free(keep);
	free(newidx);
	json_array_clear(p->unmanaged);
	return 0;
}

static struct tw_plan *plan_new(void)
{
	struct tw_plan *p = tw_xcalloc(1, sizeof(*p));
	p->unmanaged = json_array();
	p->notes = json_array();
	p->problems = json_array();
	return p;
}

struct tw_plan *tw_plan_deletes(const struct tw_res *const *live, const char *const *notes, size_t n)
{
	struct tw_plan *p = plan_new();
	for (size_t i = 0; i < n; i++) {
		size_t a = add_action(p, TW_ACT_DELETE, NULL, live[i]);
		if (notes && notes[i])
			p->acts[a].note = tw_xstrdup(notes[i]);
	}
	return p;
}

int tw_plan_build(const struct tw_model *want, const struct tw_model *have, const struct tw_plan_opts *o,
		  struct tw_plan **out, struct tw_err *err)
{
	static const struct tw_plan_opts defaults;
	struct tw_planner pl = { .want = want, .have = have, .o = o ? o : &defaults, .unread = json_object() };
	struct tw_plan *p = plan_new();

	pl.p = p;
	*out = p;

	match_level(&pl, &want->root, &have->root);
	diff_level(&pl, &want->root, &have->root);
	tw_ptrmap_release(&pl.dups);
	if (json_array_size(p->problems)) {
		json_decref(pl.unread);
		tw_err_set(err, "the live account cannot be planned against: %zu problem%s",
			   json_array_size(p->problems), json_array_size(p->problems) == 1 ? "" : "s");
		return -1;
	}
	compute_deps(&pl);
	if (pl.unsynced)
		say(p->notes, "%zu existing password%s not compared: Twilio never returns passwords "
		     "(use --sync-passwords to set them again)", pl.unsynced, pl.unsynced == 1 ? " was" : "s were");
	say_unread(&pl);
	json_decref(pl.unread);
	if (json_array_size(p->problems))
		return tw_err_set(err, "the plan cannot be applied: %zu problem%s", json_array_size(p->problems),
				  json_array_size(p->problems) == 1 ? "" : "s");
	if (apply_targets(&pl, err) < 0)
		return -1;
	batch_updates(p);
	note_settling(p);
	return 0;
}

void tw_plan_free(struct tw_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free_action(&p->acts[i]);
	free(p->acts);
	json_decref(p->unmanaged);
	json_decref(p->notes);
	json_decref(p->problems);
	tw_ptrmap_release(&p->live);
	tw_ptrmap_release(&p->declared);
	tw_ptrmap_release(&p->primary);
	free(p);
}

const struct tw_guard *tw_act_guard(const struct tw_action *a)
{
	if (a->custom)
		return NULL;
	switch (a->type) {
	case TW_ACT_CREATE: return a->kind->create_guard;
	case TW_ACT_DELETE: return a->kind->delete_guard;
	case TW_ACT_REPLACE: return a->kind->delete_guard ? a->kind->delete_guard : a->kind->create_guard;
	default: return NULL;
	}
}

int tw_plan_empty(const struct tw_plan *p)
{
	return p->n == 0;
}
