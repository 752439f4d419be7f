/* live.c - read the live account: one concurrent list call per collection */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"

struct tw_live_more {
	struct tw_http *h;
	const struct tw_live_opts *o;
	struct tw_model *m;
	struct tw_err err;
	int failed;
	size_t top_pending;     /* top-level lists not read yet */
	json_t *sids;           /* then: top-level SID -> index in the root's children */
};

static void convert_one(struct tw_res *r, const struct tw_res *root, const json_t *sids);
static void convert_tree(struct tw_res *r, const struct tw_res *root, const json_t *sids);
static json_t *sid_index(const struct tw_res *root);

struct list_job {
	struct tw_live_more *c;
	const struct tw_kind *k;
	struct tw_res *parent;          /* live parent (root for top-level kinds) */
	const struct tw_res *wparent;   /* its declared counterpart, or NULL */
};

static void submit_list(struct tw_live_more *c, const struct tw_kind *k, struct tw_res *parent,
			const struct tw_res *wparent);

struct get_job {
	struct tw_live_more *c;
	struct tw_res *r;
	tw_live_more_cb cb;
	void *ud;
};

static void fail_read(struct tw_live_more *c, const struct tw_err *err, const struct tw_res *r, const char *what)
{
	if (c->failed)
		return;
	c->err = *err;
	if (r && r->kind) {
		char *a = tw_res_address(r);
		tw_err_prefix(&c->err, "reading %s of %s", what, tw_quote(a));
		free(a);
	} else {
		tw_err_prefix(&c->err, "reading %s", what);
	}
	c->failed = 1;
	tw_http_cancel_queued(c->h);
}

static void got_more(struct tw_http *h, struct tw_req *req)
{
	struct get_job *j = req->ud;
	(void)h;
	if (req->result != TW_REQ_OK && req->status != 404)
		fail_read(j->c, &req->err, j->r, "details");
	else if (!j->c->failed)
		j->cb(j->c, j->r, req->result == TW_REQ_OK ? req->json : NULL, j->ud);
	tw_req_free(req);
	free(j);
}

void tw_live_get(struct tw_live_more *lm, struct tw_res *r, enum tw_product product, const char *path,
		 tw_live_more_cb cb, void *ud)
{
	struct get_job *j = tw_xcalloc(1, sizeof(*j));
	struct tw_req *req;

	j->c = lm;
	j->r = r;
	j->cb = cb;
	j->ud = ud;
	req = tw_req_new("GET", tw_http_url(lm->h, product, path), got_more, j);
	tw_http_submit(lm->h, req);
}

struct download_job {
	struct tw_live_more *c;
	struct tw_res *r;
	tw_live_bytes_cb cb;
	void *ud;
};

static void got_download(struct tw_http *h, struct tw_req *req)
{
	struct download_job *j = req->ud;
	(void)h;
	if (req->result != TW_REQ_OK)
		tw_trace(1, "%s", req->err.msg);
	if (!j->c->failed)
		j->cb(j->c, j->r, req->result == TW_REQ_OK ? &req->body : NULL, j->ud);
	tw_req_free(req);
	free(j);
}

void tw_live_download(struct tw_live_more *lm, struct tw_res *r, const char *domain, const char *path,
		      tw_live_bytes_cb cb, void *ud)
{
	struct download_job *j = tw_xcalloc(1, sizeof(*j));
	struct tw_err err = TW_ERR_INIT;
	struct tw_req *req = tw_req_download(lm->h, domain, path, got_download, j, &err);

	if (!req) {
		tw_trace(1, "%s", err.msg);
		free(j);
		cb(lm, r, NULL, ud);
		return;
	}
	j->c = lm;
	j->r = r;
	j->cb = cb;
	j->ud = ud;
	tw_http_submit(lm->h, req);
}

void tw_live_fail(struct tw_live_more *lm, struct tw_res *r, const struct tw_err *err)
{
	fail_read(lm, err, r, "details");
}

const char *tw_live_account_sid(struct tw_live_more *lm)
{
	return tw_http_account_sid(lm->h);
}

/* The declared (present) resource with this id in an index of wparent's children, or NULL. */
static const struct tw_res *declared(const struct tw_res *wparent, const json_t *index, const char *id)
{
	const struct tw_res *w;
	if (!wparent || !id)
		return NULL;
	w = tw_res_index_first(wparent, json_object_get(index, id));
	return w && !w->absent ? w : NULL;
}

/*
 * Does a resource of kind k (or one of its children) hold references to
 * other resources?  Such children are read under every live parent, declared
 * or not: a delete must wait until nothing references what it deletes.
 */
static int carries_refs(const struct tw_kind *k)
{
	const struct tw_kind *const *kids;
	size_t n;

	if (k->flags & TW_K_ASSOC)
		return 1;
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].ref && !(k->fields[i].flags & TW_F_LOCAL))
			return 1;
	kids = tw_kind_children(k, &n);
	for (size_t i = 0; i < n; i++)
		if (carries_refs(kids[i]))
			return 1;
	return 0;
}

static void list_done(struct tw_http *h, json_t *items, const struct tw_err *err, void *ud)
{
	struct list_job *j = ud;
	struct tw_live_more *c = j->c;
	size_t nkids;
	const struct tw_kind *const *kids = tw_kind_children(j->k, &nkids);
	size_t first = j->parent->nchildren;
	size_t i;
	json_t *item;

	(void)h;
	if (!items) {
		fail_read(c, err, j->parent, j->k->name);
		free(j);
		return;
	}
	json_array_foreach(items, i, item) {
		struct tw_res *r = tw_res_new(j->k, j->parent);
		struct tw_err e = TW_ERR_INIT;
		tw_res_add_child(j->parent, r);
		if (tw_live_set_json(r, item, &e) < 0) {
			/* nothing is done with an item whose SID twprov cannot use */
			fail_read(c, &e, j->parent, j->k->name);
			if (j->parent->kind == NULL)
				c->top_pending--;
			free(j);
			return;
		}
	}
	j->parent->children_read = 1;

	/*
	 * References become names once every top-level list is in (they name
	 * top-level resources): then whatever has been read is converted, and
	 * later lists as they come, while the rest of the account is on its way.
	 */
	if (j->parent->kind == NULL) {
		if (--c->top_pending == 0) {
			c->sids = sid_index(j->parent);
			for (i = 0; i < j->parent->nchildren; i++)
				convert_tree(j->parent->children[i], j->parent, c->sids);
		}
	} else if (c->top_pending == 0) {
		for (i = first; i < j->parent->nchildren; i++)
			convert_one(j->parent->children[i], &c->m->root, c->sids);
	}

	if (!c->failed) {
		json_t *index = j->wparent ? tw_res_index(j->wparent, j->k) : NULL;
		for (i = first; i < j->parent->nchildren && !c->failed; i++) {
			struct tw_res *r = j->parent->children[i];
			const struct tw_res *w = declared(j->wparent, index, r->id);
			for (size_t k = 0; k < nkids; k++)
				if (w || c->o->all_children || carries_refs(kids[k]))
					submit_list(c, kids[k], r, w);
			if ((w || c->o->all_children) && j->k->hooks && j->k->hooks->read_more)
				j->k->hooks->read_more(c, r);
		}
		json_decref(index);
	}
	free(j);
}

/* A kind without collection (one object of settings, TW_K_SINGLE): read as a list of one. */
static void got_single(struct tw_http *h, struct tw_req *req)
{
	struct list_job *j = req->ud;
	json_t *items = req->result == TW_REQ_OK ? json_pack("[O]", req->json) : NULL;

	list_done(h, items, &req->err, j);
	json_decref(items);
	tw_req_free(req);
}

static void submit_list(struct tw_live_more *c, const struct tw_kind *k, struct tw_res *parent,
			const struct tw_res *wparent)
{
	struct list_job *j;
	char *path;
	/* the collection of kind k under `parent`: a probe child gives the path its parents */
	struct tw_res probe = { .kind = k, .parent = parent };

	if (k->flags & TW_K_LOCAL)
		return;
	j = tw_xcalloc(1, sizeof(*j));
	j->c = c;
	j->k = k;
	j->parent = parent;
	j->wparent = wparent;
	path = tw_res_path(&probe, k->collection ? k->collection : k->item, tw_http_account_sid(c->h), NULL);
	if (k->collection)
		tw_http_list(c->h, k->product, path, k->list_key, list_done, j);
	else
		tw_http_submit(c->h, tw_req_new("GET", tw_http_url(c->h, k->product, path), got_single, j));
	free(path);
}

/* Mark the top-level kind of k as needed. */
static void need_kind(const struct tw_kind *k, unsigned char *need)
{
	while (k && k->parent)
		k = tw_kind_find(k->parent);
	if (k && tw_kind_index(k) < tw_nkinds)
		need[tw_kind_index(k)] = 1;
}

/* Kinds the file's references name: their live SIDs must be turned into names. */
static void need_referenced(const struct tw_res *r, unsigned char *need)
{
	for (size_t i = 0; i < r->nchildren; i++) {
		const struct tw_res *c = r->children[i];
		const struct tw_kind *k = c->kind;
		if (k->assoc_ref)
			need_kind(tw_kind_find(k->assoc_ref), need);
		for (size_t f = 0; f < k->nfields; f++) {
			const char *name = json_string_value(json_object_get(c->fields, k->fields[f].name));
			if (k->fields[f].ref && !(k->fields[f].flags & TW_F_LOCAL) && name && *name)
				need_kind(tw_kind_find(k->fields[f].ref), need);
		}
		need_referenced(c, need);
	}
}

/*
 * Kinds whose references keep Twilio from deleting what they name (a number's
 * emergency address): read whenever what they name is, so that a plan knows
 * what stands in the way of a delete, declared or not.
 */
static void need_blockers(unsigned char *need)
{
	for (size_t i = 0; i < tw_nkinds; i++)
		for (size_t f = 0; f < tw_kinds[i]->nfields; f++) {
			const struct tw_field *fd = &tw_kinds[i]->fields[f];
			const struct tw_kind *target = (fd->flags & TW_F_BLOCKS_DELETE) ? tw_kind_find(fd->ref) : NULL;
			while (target && target->parent)
				target = tw_kind_find(target->parent);
			if (target && need[tw_kind_index(target)])
				need_kind(tw_kinds[i], need);
		}
}

int tw_live_read(struct tw_http *h, const struct tw_model *want, const struct tw_live_opts *o,
		 struct tw_model **out, struct tw_err *err)
{
	static const struct tw_live_opts defaults;
	struct tw_live_more c = { .h = h, .o = o ? o : &defaults };
	unsigned char *need = tw_xcalloc(tw_nkinds, 1);
	size_t i;
	json_t *v;

	for (i = 0; i < tw_nkinds; i++)
		if (!tw_kinds[i]->parent && json_object_get(want->kinds_present, tw_kinds[i]->yaml_key))
			need[i] = 1;
	json_array_foreach(want->prune, i, v)
		need_kind(tw_kind_find(json_string_value(v)), need);
	need_referenced(&want->root, need);
	need_blockers(need);

	c.m = tw_model_new(1);
	for (i = 0; i < tw_nkinds; i++)
		if (need[i] && !(tw_kinds[i]->flags & TW_K_LOCAL)) {
			c.top_pending++;        /* lists only complete in tw_http_run */
			submit_list(&c, tw_kinds[i], &c.m->root, &want->root);
		}
	free(need);

	if (tw_http_run(h, err) < 0 || c.failed) {
		if (c.failed && err)
			*err = c.err;
		json_decref(c.sids);
		tw_model_free(c.m);
		*out = NULL;
		return -1;
	}
	json_decref(c.sids);
	*out = c.m;
	return 0;
}

/*
 * The part of an API object that the kind's field table reads, and its sid.
 * A list page of 1000 credentials or numbers holds a dozen to fifty keys per
 * item; keeping only these makes the live model a fraction of the size.
 */
static json_t *kept_json(const struct tw_kind *k, json_t *obj)
{
	json_t *out = json_object(), *v;

	if ((v = json_object_get(obj, "sid")))
		json_object_set(out, "sid", v);
	for (size_t i = 0; i < k->nfields; i++) {
		const char *path = k->fields[i].json, *dot;
		if (!path)
			continue;
		dot = strchr(path, '.');
		if ((v = json_object_getn(obj, path, dot ? (size_t)(dot - path) : strlen(path))))
			json_object_setn(out, path, dot ? (size_t)(dot - path) : strlen(path), v);
	}
	for (const char *const *key = k->json_keep; key && *key; key++)
		if ((v = json_object_get(obj, *key)))
			json_object_set(out, *key, v);
	return out;
}

int tw_live_set_json(struct tw_res *r, json_t *obj, struct tw_err *err)
{
	int id = tw_kind_identity(r->kind);
	const char *sid = json_string_value(json_object_get(obj, "sid"));

	json_decref(r->json);
	r->json = kept_json(r->kind, obj);
	free(r->sid);
	r->sid = NULL;
	if (id >= 0) {
		const char *v = json_string_value(tw_json_path(obj, r->kind->fields[id].json));
		free(r->id);
		r->id = v ? tw_xstrdup(v) : NULL;
	} else if (r->kind->flags & TW_K_SINGLE) {
		free(r->id);
		r->id = tw_xstrdup(r->kind->yaml_key);
	}
	if (r->kind->flags & TW_K_SETTING) {
		/* settings have no SID: their identity is all there is */
		if (!r->id) {
			tw_err_set(err, "an item without %s", id >= 0 ? r->kind->fields[id].json : "identity");
			return -1;
		}
		return 0;
	}
	if (tw_sid_check(json_object_get(obj, "sid"), r->kind->sid_prefix, err) < 0) {
		if (r->id)
			tw_err_prefix(err, "item %s", tw_quote_always(r->id));
		else
			tw_err_prefix(err, "an item");
		return -1;
	}
	r->sid = tw_xstrdup(sid);
	return 0;
}

/* Top-level live resources by SID: SID -> index in root's children. */
static json_t *sid_index(const struct tw_res *root)
{
	json_t *sids = json_object();
	for (size_t i = 0; i < root->nchildren; i++)
		if (root->children[i]->sid)
			json_object_set_new_nocheck(sids, root->children[i]->sid, json_integer((json_int_t)i));
	return sids;
}

/* The name of the top-level live resource of kind `kind` with this SID, or NULL. */
static const char *name_of_sid(const struct tw_res *root, const json_t *sids, const char *kind, const char *sid)
{
	const json_t *at = sid ? json_object_get(sids, sid) : NULL;
	const struct tw_res *r;

	if (!at)
		return NULL;
	r = root->children[json_integer_value(at)];
	return r->kind == tw_kind_find(kind) ? r->id : NULL;
}

static json_t *convert_value(const struct tw_field *f, json_t *v, const struct tw_res *root, const json_t *sids)
{
	const char *s = json_string_value(v);

	switch (f->type) {
	case TW_V_BOOL:
		if (s && (!strcmp(s, "true") || !strcmp(s, "false")))
			return json_boolean(!strcmp(s, "true"));
		break;
	case TW_V_INT:
		if (s && *s) {
			char *end;
			long long n = strtoll(s, &end, 10);
			if (!*end)
				return json_integer(n);
		}
		break;
	case TW_V_REF:
		if (s) {
			const char *name = name_of_sid(root, sids, f->ref, s);
			return json_string(name ? name : s);
		}
		break;
	default:
		break;
	}
	return json_incref(v);
}

/* Fill r->fields from r->json (r's children are left alone). */
static void convert_one(struct tw_res *r, const struct tw_res *root, const json_t *sids)
{
	const struct tw_kind *k = r->kind;

	if (k->flags & TW_K_ASSOC) {
		const char *name = name_of_sid(root, sids, k->assoc_ref, r->sid);
		free(r->id);
		r->id = tw_xstrdup(name ? name : r->sid ? r->sid : "?");
	}
	for (size_t i = 0; r->json && i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		json_t *v;
		if (!f->json || (f->flags & (TW_F_SECRET | TW_F_LOCAL)))
			continue;
		v = tw_json_path(r->json, f->json);
		if (v)
			json_object_set_new(r->fields, f->name, convert_value(f, v, root, sids));
	}
}

static void convert_tree(struct tw_res *r, const struct tw_res *root, const json_t *sids)
{
	convert_one(r, root, sids);
	for (size_t i = 0; i < r->nchildren; i++)
		convert_tree(r->children[i], root, sids);
}

void tw_live_convert(struct tw_res *r, const struct tw_res *root)
{
	json_t *sids = sid_index(root);
	convert_tree(r, root, sids);
	json_decref(sids);
}
