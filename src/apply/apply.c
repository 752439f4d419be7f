/* apply.c - execute a plan: a dependency graph run on the HTTP pool */
#include <stdlib.h>
#include <string.h>

#include "twprov/apply.h"
#include "twprov/buf.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/svcref.h"

struct tw_applier {
	struct tw_http *h;
	struct tw_plan *p;
	const struct tw_apply_opts *o;
	struct tw_apply_result *res;
	size_t **dependents;
	size_t *ndependents;
	int stopping;
};

static void start(struct tw_applier *ap, size_t ai);

/* SID of the declared top-level resource of kind `kind` named `name` (matched or created). */
static const char *sid_of(const struct tw_res *from, const char *kind, const char *name)
{
	const struct tw_res *t = tw_res_top(from, kind, name);
	return t ? t->sid : NULL;
}

static void add_value(struct tw_form *f, const struct tw_res *w, size_t i)
{
	const struct tw_field *fd = &w->kind->fields[i];
	json_t *v = json_object_get(w->fields, fd->name);
	int secret = (fd->flags & TW_F_SECRET) || (w->sensitive >> i & 1);
	char num[32];
	const char *s = NULL;

	switch (fd->type) {
	case TW_V_BOOL:
		tw_form_add_bool(f, fd->param, json_is_true(v));
		return;
	case TW_V_INT:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
		break;
	case TW_V_REF:
		s = json_string_value(v);
		if (s && *s)
			s = sid_of(w, fd->ref, s);
		break;
	default:
		if (json_is_object(v) && (fd->flags & TW_F_SVCREF)) {
			char *url = tw_svcref_url(w, v);   /* its environment exists by now */
			tw_form_add(f, fd->param, url ? url : "");
			free(url);
			return;
		}
		s = json_string_value(v);
		break;
	}
	if (secret)
		tw_form_add_secret(f, fd->param, s ? s : "");
	else
		tw_form_add(f, fd->param, s ? s : "");
}

/* Does the create of action a leave field i for an update right after it (TW_F_CREATE_IGNORES)? */
static int ignored_by_create(const struct tw_action *a, size_t i)
{
	const struct tw_field *fd = &a->kind->fields[i];
	return (fd->flags & TW_F_CREATE_IGNORES) && fd->param && !fd->endpoint && !(fd->flags & TW_F_LOCAL) &&
	       !(i < 64 && (a->omit >> i & 1)) && json_object_get(a->want->fields, fd->name);
}

/* Same endpoint (NULL = the item itself)? */
static int same_endpoint(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void tw_apply_form(const struct tw_action *a, const struct tw_step *st, struct tw_form *f)
{
	const struct tw_res *w = a->want;
	const struct tw_kind *k = a->kind;
	const char *ep = st->op == TW_STEP_ENDPOINT ? st->endpoint : NULL;

	if (st->op == TW_STEP_CREATE && (k->flags & TW_K_ASSOC)) {
		const char *sid = sid_of(w, k->assoc_ref, w->id);
		tw_form_add(f, k->assoc_param, sid ? sid : "");
		return;
	}
	if (st->op == TW_STEP_CREATE || (st->op == TW_STEP_ENDPOINT && a->type != TW_ACT_UPDATE)) {
		/* everything the file manages (and creation defaults) */
		for (size_t i = 0; i < k->nfields; i++) {
			const struct tw_field *fd = &k->fields[i];
			if (!fd->param || (fd->flags & TW_F_LOCAL) || !same_endpoint(fd->endpoint, ep) ||
			    (a->omit >> i & 1))
				continue;
			if (json_object_get(w->fields, fd->name))
				add_value(f, w, i);
			else if (fd->create_default && st->op == TW_STEP_CREATE)
				tw_form_add(f, fd->param, fd->create_default);
		}
		return;
	}
	if (st->op == TW_STEP_UPDATE && a->type != TW_ACT_UPDATE) {
		/* right after a create: what the create ignores */
		for (size_t i = 0; i < k->nfields; i++)
			if (ignored_by_create(a, i))
				add_value(f, w, i);
		return;
	}
	for (size_t c = 0; c < a->nchanges; c++)    /* an update: what changed */
		if (same_endpoint(a->changes[c].field->endpoint, ep))
			add_value(f, w, (size_t)(a->changes[c].field - k->fields));
}

/* Does the action write any field through `ep` (NULL: the item)? */
static int writes_to(const struct tw_action *a, const char *ep)
{
	const struct tw_kind *k = a->kind;
	if (a->type == TW_ACT_UPDATE) {
		for (size_t c = 0; c < a->nchanges; c++)
			if (same_endpoint(a->changes[c].field->endpoint, ep))
				return 1;
		return 0;
	}
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].endpoint && same_endpoint(k->fields[i].endpoint, ep) &&
		    json_object_get(a->want->fields, k->fields[i].name))
			return 1;
	return 0;
}

static void push_step(struct tw_action *a, enum tw_step_op op, const char *ep)
{
	if (a->nsteps < TW_MAX_STEPS)
		a->steps[a->nsteps++] = (struct tw_step){ op, ep };
}

void tw_apply_steps(struct tw_action *a)
{
	const struct tw_kind *k = a->kind;

	a->nsteps = a->step = 0;
	if (a->type == TW_ACT_DELETE || a->type == TW_ACT_REPLACE)
		push_step(a, TW_STEP_DELETE, NULL);
	if (a->type == TW_ACT_CREATE || a->type == TW_ACT_REPLACE) {
		push_step(a, TW_STEP_CREATE, NULL);
		for (size_t i = 0; i < k->nfields; i++)
			if (ignored_by_create(a, i)) {
				push_step(a, TW_STEP_UPDATE, NULL);
				break;
			}
	}
	if (a->type == TW_ACT_UPDATE && writes_to(a, NULL))
		push_step(a, TW_STEP_UPDATE, NULL);
	if (a->type == TW_ACT_DELETE)
		return;
	/* then each sub-resource endpoint with something to write, once */
	for (size_t i = 0; i < k->nfields; i++) {
		const char *ep = k->fields[i].endpoint;
		int seen = 0;
		if (!ep)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= same_endpoint(k->fields[j].endpoint, ep);
		if (!seen && writes_to(a, ep))
			push_step(a, TW_STEP_ENDPOINT, ep);
	}
}

/* URL of a resource (item) or of its collection (sid NULL). */
static char *url_of(struct tw_applier *ap, const struct tw_res *r, const char *sid)
{
	const char *tmpl = sid ? r->kind->item : r->kind->collection;
	char *path = tw_res_path(r, tmpl, tw_http_account_sid(ap->h), sid);
	char *url = tw_http_url(ap->h, r->kind->product, path);
	free(path);
	return url;
}

static const char *past(enum tw_act_type t)
{
	static const char *const words[] = { "created", "updated", "deleted", "replaced" };
	return words[t];
}

static void finish(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = &ap->p->acts[ai];
	const char *sid = a->custom ? json_string_value(json_object_get(a->data, "result"))
			  : a->want && a->want->sid ? a->want->sid : a->have && a->have->sid ? a->have->sid : NULL;

	a->state = TW_ST_DONE;
	ap->res->done++;
	switch (a->type) {
	case TW_ACT_CREATE: ap->res->added++; break;
	case TW_ACT_UPDATE: ap->res->changed++; break;
	case TW_ACT_DELETE: ap->res->destroyed++; break;
	case TW_ACT_REPLACE: ap->res->added++; ap->res->destroyed++; break;
	}
	tw_status(TW_C_GREEN, tw_act_symbol(a->type), "%s: %s%s%s%s", tw_quote(a->address),
		  a->custom ? a->custom->past : past(a->type), sid ? " (" : "", sid ? tw_quote(sid) : "",
		  sid ? ")" : "");
	if (ap->o->interrupted && *ap->o->interrupted && !ap->stopping) {
		ap->stopping = 1;
		tw_http_cancel_queued(ap->h);
	}
	for (size_t i = 0; i < ap->ndependents[ai]; i++) {
		size_t d = ap->dependents[ai][i];
		struct tw_action *da = &ap->p->acts[d];
		if (--da->waiting == 0 && da->state == TW_ST_PENDING && !ap->stopping)
			start(ap, d);
	}
}

static void fail(struct tw_applier *ap, size_t ai, const struct tw_req *req)
{
	struct tw_action *a = &ap->p->acts[ai];

	if (req && req->attempts == 0) {
		/* cancelled before it was sent: not applied, not failed */
		a->state = TW_ST_SKIPPED;
		return;
	}
	a->state = TW_ST_FAILED;
	ap->res->failed++;
	if (req)
		a->err = req->err;
	tw_status(TW_C_RED, tw_act_symbol(a->type), "%s: %s failed: %s", tw_quote(a->address),
		  a->custom ? a->custom->verb : tw_act_name(a->type), a->err.msg);
	if (!ap->stopping) {
		ap->stopping = 1;
		tw_http_cancel_queued(ap->h);
	}
}

static void run_step(struct tw_applier *ap, size_t ai);

/* The current step is done: on to the next, or the action is. */
static void advance(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = &ap->p->acts[ai];
	if (++a->step < a->nsteps)
		run_step(ap, ai);
	else
		finish(ap, ai);
}

struct reconcile {
	struct tw_applier *ap;
	size_t ai;
	double deadline;        /* look until then before sending the create again */
	long delay_ms;          /* before the next look */
	char *path;             /* the collection */
};

static void look_again(struct reconcile *rc);

/* After a create may or may not have happened: look for it by identity before re-sending. */
static void reconciled(struct tw_http *h, json_t *items, const struct tw_err *err, void *ud)
{
	struct reconcile *rc = ud;
	struct tw_applier *ap = rc->ap;
	size_t ai = rc->ai;
	struct tw_action *a = &ap->p->acts[ai];
	struct tw_res *w = a->want;
	const struct tw_kind *k = a->kind;
	const char *want_sid = (k->flags & TW_K_ASSOC) ? sid_of(w, k->assoc_ref, w->id) : NULL;
	size_t i;
	json_t *item;

	(void)h;
	if (!items) {
		a->err = *err;
		goto failed;
	}
	json_array_foreach(items, i, item) {
		struct tw_res probe;
		int hit;
		memset(&probe, 0, sizeof(probe));
		probe.kind = k;
		if (tw_live_set_json(&probe, item, &a->err) < 0) {
			free(probe.id);
			json_decref(probe.json);
			goto failed;
		}
		hit = want_sid ? probe.sid && !strcmp(probe.sid, want_sid) : probe.id && !strcmp(probe.id, w->id);
		if (hit) {
			free(w->sid);
			w->sid = probe.sid;
			probe.sid = NULL;
			json_decref(w->json);   /* what Twilio made of it, as for an answered create */
			w->json = json_incref(item);
		}
		free(probe.id);
		free(probe.sid);
		json_decref(probe.json);
		if (hit) {
			tw_trace(1, "%s: the uncertain create did happen (%s); not sending it again",
				 tw_quote(a->address), tw_quote(w->sid));
			free(rc->path);
			free(rc);
			advance(ap, ai);
			return;
		}
	}
	/* lists lag behind writes: a create that did happen may not be listed yet, and
	 * sending it again would make a duplicate; look again until the deadline */
	if (tw_now_s() < rc->deadline && !ap->stopping) {
		look_again(rc);
		return;
	}
	free(rc->path);
	free(rc);
	/* a->err says how the last answer was lost */
	if (ap->stopping) {
		tw_err_prefix(&a->err, "the create may or may not have happened (the next apply looks for it "
			      "before creating it)");
		fail(ap, ai, NULL);
		return;
	}
	/* a resend is a retry: the same budget as any other request */
	if (++a->attempts > tw_http_max_retries(ap->h)) {
		tw_err_prefix(&a->err, "create did not complete after %d attempts", a->attempts);
		fail(ap, ai, NULL);
		return;
	}
	tw_trace(1, "%s: the uncertain create did not happen; sending it again", tw_quote(a->address));
	run_step(ap, ai);
	return;
failed:
	tw_err_prefix(&a->err, "re-reading after an uncertain create");
	free(rc->path);
	free(rc);
	fail(ap, ai, NULL);
}

static void look_again(struct reconcile *rc)
{
	const struct tw_kind *k = rc->ap->p->acts[rc->ai].kind;
	double left_ms = (rc->deadline - tw_now_s()) * 1000;
	long delay;

	rc->delay_ms = rc->delay_ms ? rc->delay_ms * 2 : 250;
	if (rc->delay_ms > 4000)
		rc->delay_ms = 4000;
	delay = rc->delay_ms < left_ms ? rc->delay_ms : (long)(left_ms > 0 ? left_ms : 0);
	tw_trace(1, "%s: not listed yet; looking again in %ld ms", tw_quote(rc->ap->p->acts[rc->ai].address), delay);
	tw_http_list_after(tw_applier_http(rc->ap), k->product, rc->path, k->list_key, delay, reconciled, rc);
}

static void on_done(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	struct tw_action *a = &ap->p->acts[ai];
	enum tw_step_op op = a->steps[a->step].op;

	if (req->result == TW_REQ_UNSAFE && op == TW_STEP_CREATE && !ap->stopping) {
		struct reconcile *ud = tw_xcalloc(1, sizeof(*ud));
		ud->ap = ap;
		ud->ai = ai;
		ud->path = tw_res_path(a->want, a->kind->collection, tw_http_account_sid(h), NULL);
		ud->deadline = tw_now_s() + ap->o->verify_timeout_s;
		a->err = req->err;
		tw_trace(1, "%s: create may have happened (%s); re-reading before sending it again",
			 tw_quote(a->address), req->err.msg);
		tw_http_list(h, a->kind->product, ud->path, a->kind->list_key, reconciled, ud);
		tw_req_free(req);
		return;
	}
	/* a delete that finds nothing to delete has nothing left to do */
	if (req->result != TW_REQ_OK && !(op == TW_STEP_DELETE && req->status == 404)) {
		fail(ap, ai, req);
		tw_req_free(req);
		return;
	}
	if (op == TW_STEP_CREATE) {
		const char *sid = json_string_value(json_object_get(req->json, "sid"));
		if (tw_sid_check(json_object_get(req->json, "sid"), a->kind->sid_prefix, &a->err) < 0) {
			/* what depends on it would be sent with an empty SID: stop here */
			tw_err_prefix(&a->err, "Twilio's answer to the create");
			tw_req_free(req);
			fail(ap, ai, NULL);
			return;
		}
		free(a->want->sid);
		a->want->sid = tw_xstrdup(sid);
		/* what Twilio made of it (an environment's domain_name, ...) */
		json_decref(a->want->json);
		a->want->json = json_incref(req->json);
	}
	tw_req_free(req);
	advance(ap, ai);
}

static void run_step(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = &ap->p->acts[ai];
	const struct tw_step *st = &a->steps[a->step];
	/* the live resource to delete; otherwise the declared one, which holds the
	 * SID once matched or created */
	const struct tw_res *r = st->op == TW_STEP_DELETE ? a->have : a->want;
	struct tw_req *req;
	char *url;

	/* the path holds the SIDs of r's parents, and r's own but for a create */
	if (tw_res_sids_ok(r, st->op != TW_STEP_CREATE, &a->err) < 0) {
		fail(ap, ai, NULL);
		return;
	}
	if (st->op == TW_STEP_ENDPOINT) {
		char *path = tw_res_path(r, st->endpoint, tw_http_account_sid(ap->h), r->sid);
		url = tw_http_url(ap->h, r->kind->product, path);
		free(path);
	} else {
		url = url_of(ap, r, st->op == TW_STEP_CREATE ? NULL : r->sid);
	}
	req = tw_req_new(st->op == TW_STEP_DELETE ? "DELETE" : "POST", url, on_done, ap);
	req->tag = (long)ai;
	req->idempotent = st->op != TW_STEP_CREATE;
	if (st->op != TW_STEP_DELETE)
		tw_apply_form(a, st, &req->form);
	tw_http_submit(ap->h, req);
}

static void start(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = &ap->p->acts[ai];

	a->state = TW_ST_RUNNING;
	if (a->custom) {
		a->custom->run(ap, ai);
		return;
	}
	tw_apply_steps(a);
	if (!a->nsteps)
		finish(ap, ai);
	else
		run_step(ap, ai);
}

struct tw_http *tw_applier_http(struct tw_applier *ap)
{
	return ap->h;
}

struct tw_action *tw_applier_action(struct tw_applier *ap, size_t ai)
{
	return &ap->p->acts[ai];
}

int tw_applier_stopping(struct tw_applier *ap)
{
	return ap->stopping;
}

void tw_applier_done(struct tw_applier *ap, size_t ai)
{
	finish(ap, ai);
}

void tw_applier_fail(struct tw_applier *ap, size_t ai, const struct tw_req *req, const struct tw_err *err)
{
	if (req && req->attempts == 0) {
		fail(ap, ai, req);      /* cancelled before it was sent: not applied */
		return;
	}
	if (err || req)
		ap->p->acts[ai].err = err ? *err : req->err;
	fail(ap, ai, NULL);
}

int tw_apply(struct tw_http *h, struct tw_plan *p, const struct tw_apply_opts *o,
	     struct tw_apply_result *res, struct tw_err *err)
{
	struct tw_applier ap = { .h = h, .p = p, .o = o, .res = res };
	size_t i, stuck = 0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	ap.dependents = tw_xcalloc(p->n ? p->n : 1, sizeof(*ap.dependents));
	ap.ndependents = tw_xcalloc(p->n ? p->n : 1, sizeof(*ap.ndependents));
	for (i = 0; i < p->n; i++) {
		struct tw_action *a = &p->acts[i];
		a->state = TW_ST_PENDING;
		a->waiting = a->ndeps;
		for (size_t d = 0; d < a->ndeps; d++) {
			size_t dep = a->deps[d];
			ap.dependents[dep] = tw_xrealloc(ap.dependents[dep], (ap.ndependents[dep] + 1) * sizeof(size_t));
			ap.dependents[dep][ap.ndependents[dep]++] = i;
		}
	}
	for (i = 0; i < p->n; i++)
		if (!p->acts[i].waiting)
			start(&ap, i);
	if (tw_http_run(h, err) < 0)
		rc = -1;

	for (i = 0; i < p->n; i++) {
		struct tw_action *a = &p->acts[i];
		if (a->state == TW_ST_PENDING || a->state == TW_ST_RUNNING) {
			a->state = TW_ST_SKIPPED;
			if (!ap.stopping)
				stuck++;
		}
		if (a->state == TW_ST_SKIPPED)
			res->skipped++;
		free(ap.dependents[i]);
	}
	free(ap.dependents);
	free(ap.ndependents);
	if (rc < 0)
		return -1;
	if (stuck)
		return tw_err_set(err, "%zu actions could not start: their dependencies form a cycle", stuck);
	if (res->failed)
		return tw_err_set(err, "%zu of %zu actions failed", res->failed, p->n);
	if (res->skipped)
		return tw_err_set(err, "interrupted: %zu of %zu actions were not started", res->skipped, p->n);
	return 0;
}
