/* apply.c - execute a plan: a dependency graph run on the HTTP pool
 *
 * The plan is data and stays as it is; so do the models it was computed
 * from.  What this apply learns (the SID and object of each resource it
 * creates, the results kinds' own actions hand to later ones) and the state
 * of each action live here, in the applier.
 */
#include <stdlib.h>
#include <string.h>

#include "twprov/apply.h"
#include "twprov/buf.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"

/* What this apply made of a declared resource. */
struct made {
	char *sid;
	json_t *obj;        /* Twilio's answer to its create */
	json_t *data;       /* results handed to later actions (tw_applier_data) */
};

/* One action's state in this apply. */
struct run {
	size_t waiting;             /* deps not yet done */
	struct tw_step steps[TW_MAX_STEPS];
	size_t nsteps, step;        /* the requests of this action, and the one running */
	int attempts;               /* create re-sends after an unsafe failure */
	double settle_deadline;     /* TW_STEP_SETTLE: give up waiting then */
	long settle_delay_ms;       /* and the next look's delay */
};

struct tw_applier {
	struct tw_http *h;
	const struct tw_plan *p;
	const struct tw_apply_opts *o;
	struct tw_apply_result *res;
	struct run *runs;
	struct tw_ptrmap made;      /* declared resource -> struct made */
	size_t **dependents;
	size_t *ndependents;
	int stopping;
};

static void start(struct tw_applier *ap, size_t ai);

/* ---- what is known of declared resources ---- */

static struct made *made_of(const struct tw_applier *ap, const struct tw_res *r)
{
	return ap ? tw_ptrmap_get(&ap->made, r) : NULL;
}

static struct made *make(struct tw_applier *ap, const struct tw_res *r)
{
	struct made *m = made_of(ap, r);
	if (!m) {
		m = tw_xcalloc(1, sizeof(*m));
		tw_ptrmap_put(&ap->made, r, m);
	}
	return m;
}

/* The SID of declared resource r: made by this apply (ap may be NULL), or its live counterpart's. */
static const char *sid_of(const struct tw_plan *p, const struct tw_applier *ap, const struct tw_res *r)
{
	const struct made *m = made_of(ap, r);
	const struct tw_res *h;
	if (m && m->sid)
		return m->sid;
	h = r ? tw_plan_live(p, r) : NULL;
	return h ? h->sid : NULL;
}

const char *tw_applier_sid(const struct tw_applier *ap, const struct tw_res *r)
{
	return sid_of(ap->p, ap, r);
}

const json_t *tw_applier_object(const struct tw_applier *ap, const struct tw_res *r)
{
	const struct made *m = made_of(ap, r);
	const struct tw_res *h;
	if (m && m->obj)
		return m->obj;
	h = tw_plan_live(ap->p, r);
	return h ? h->json : NULL;
}

json_t *tw_applier_data(struct tw_applier *ap, const struct tw_res *r)
{
	struct made *m = make(ap, r);
	if (!m->data)
		m->data = json_object();
	return m->data;
}

struct known {
	const struct tw_plan *p;
	const struct tw_applier *ap;
};

static const json_t *known_object(const struct tw_facts *f, const struct tw_res *r)
{
	const struct known *k = f->ctx;
	const struct made *m = made_of(k->ap, r);
	const struct tw_res *h;
	if (m && m->obj)
		return m->obj;
	h = tw_plan_live(k->p, r);
	return h ? h->json : NULL;
}

/* ---- the requests of an action ---- */

static void add_value(const struct tw_plan *p, const struct tw_applier *ap, struct tw_form *f,
		      const struct tw_res *w, size_t i)
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
			s = sid_of(p, ap, tw_res_top(w, fd->ref, s));
		break;
	default:
		if (json_is_object(v) && fd->objval) {
			struct known k = { p, ap };
			struct tw_facts facts = { known_object, &k };
			char *val = fd->objval->resolve(w, v, &facts);   /* its source exists by now */
			tw_form_add(f, fd->param, val ? val : "");
			free(val);
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

/* Is field i of action a left out of its create (a follow-up update writes it)? */
static int omitted(const struct tw_action *a, size_t i)
{
	return i < 64 && (a->omit >> i & 1);
}

/* Does the create of action a leave field i for an update right after it (TW_F_CREATE_IGNORES)? */
static int ignored_by_create(const struct tw_action *a, size_t i)
{
	const struct tw_field *fd = &a->kind->fields[i];
	return (fd->flags & TW_F_CREATE_IGNORES) && fd->param && !fd->endpoint && !(fd->flags & TW_F_LOCAL) &&
	       !omitted(a, i) && json_object_get(a->want->fields, fd->name);
}

/* Same endpoint (NULL = the item itself)? */
static int same_endpoint(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void bulk_form(const struct tw_plan *p, const struct tw_action *a, struct tw_form *f);

void tw_apply_form(const struct tw_plan *p, const struct tw_applier *ap, const struct tw_action *a,
		   const struct tw_step *st, struct tw_form *f)
{
	const struct tw_res *w = a->want;
	const struct tw_kind *k = a->kind;
	const char *ep = st->op == TW_STEP_ENDPOINT ? st->endpoint : NULL;

	if (st->op == TW_STEP_CLEAR) {
		tw_form_add(f, st->field->param, "");
		return;
	}
	if (st->op == TW_STEP_BULK) {
		bulk_form(p, a, f);
		return;
	}
	if (st->op == TW_STEP_CREATE && (k->flags & TW_K_ASSOC)) {
		const char *sid = sid_of(p, ap, tw_res_top(w, k->assoc_ref, w->id));
		tw_form_add(f, k->assoc_param, sid ? sid : "");
		return;
	}
	if (st->op == TW_STEP_CREATE || (st->op == TW_STEP_ENDPOINT && a->type != TW_ACT_UPDATE)) {
		/* everything the file manages (and creation defaults) */
		for (size_t i = 0; i < k->nfields; i++) {
			const struct tw_field *fd = &k->fields[i];
			if (!fd->param || (fd->flags & TW_F_LOCAL) || !same_endpoint(fd->endpoint, ep) ||
			    omitted(a, i))
				continue;
			if (json_object_get(w->fields, fd->name))
				add_value(p, ap, f, w, i);
			else if (fd->create_default && st->op == TW_STEP_CREATE)
				tw_form_add(f, fd->param, fd->create_default);
		}
		return;
	}
	if (st->op == TW_STEP_UPDATE && a->type != TW_ACT_UPDATE) {
		/* right after a create: what the create ignores */
		for (size_t i = 0; i < k->nfields; i++)
			if (ignored_by_create(a, i))
				add_value(p, ap, f, w, i);
		return;
	}
	for (size_t c = 0; c < a->nchanges; c++)    /* an update: what changed */
		if (same_endpoint(a->changes[c].field->endpoint, ep))
			add_value(p, ap, f, w, (size_t)(a->changes[c].field - k->fields));
	for (size_t i = 0; !ep && i < k->nfields; i++)   /* and what Twilio takes with every write */
		if ((k->fields[i].flags & TW_F_WRITE_ONLY) && k->fields[i].param) {
			if (json_object_get(w->fields, k->fields[i].name))
				add_value(p, ap, f, w, i);
			else if (k->fields[i].create_default)
				tw_form_add(f, k->fields[i].param, k->fields[i].create_default);
		}
}

/* The objects of a batch (struct tw_bulk): the first action's and those that wait for it. */
static void bulk_form(const struct tw_plan *p, const struct tw_action *a, struct tw_form *f)
{
	const struct tw_bulk *bk = a->kind->bulk;
	size_t self = (size_t)(a - p->acts);
	json_t *list = json_array();
	char *text;

	for (size_t i = self; i < p->n; i++) {
		const struct tw_action *m = &p->acts[i];
		json_t *o;
		if (i != self && m->batch != self + 1)
			continue;
		o = json_pack("{s:s}", bk->id_key, m->want->id);
		for (size_t j = 0; j < m->kind->nfields; j++) {
			const struct tw_field *fd = &m->kind->fields[j];
			json_t *v = json_object_get(m->want->fields, fd->name);
			if (!v || !fd->param || (fd->flags & (TW_F_LOCAL | TW_F_IDENTITY)))
				continue;
			if (json_is_boolean(v))
				json_object_set_new(o, fd->param, json_string(json_is_true(v) ? "true" : "false"));
			else
				json_object_set(o, fd->param, v);
		}
		json_array_append_new(list, o);
	}
	text = json_dumps(list, JSON_COMPACT);
	tw_form_add(f, bk->param, text);
	free(text);
	json_decref(list);
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

static void push_step(struct tw_step *steps, size_t *n, enum tw_step_op op, const char *ep)
{
	if (*n < TW_MAX_STEPS)
		steps[(*n)++] = (struct tw_step){ .op = op, .endpoint = ep };
}

/* The next wait of a poll: 250 ms, then twice the last, up to cap_ms. */
static void next_delay(long *delay_ms, long cap_ms)
{
	*delay_ms = *delay_ms ? *delay_ms * 2 : 250;
	if (*delay_ms > cap_ms)
		*delay_ms = cap_ms;
}

static void push_settle(struct tw_step *steps, size_t *n, enum tw_step_op op, const struct tw_field *f,
			int cleared, int live)
{
	if (*n < TW_MAX_STEPS)
		steps[(*n)++] = (struct tw_step){ .op = op, .field = f, .cleared = cleared, .live = live };
}

/* Clear settling field f and wait until Twilio shows it cleared (live: of the live resource). */
static void push_clear(struct tw_step *steps, size_t *n, const struct tw_field *f, int live)
{
	push_settle(steps, n, TW_STEP_CLEAR, f, 1, live);
	push_settle(steps, n, TW_STEP_SETTLE, f, 1, live);
}

static int is_set(const json_t *v)
{
	return v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v));
}

/*
 * A settling field (struct tw_settle) of the change c: a change from one
 * value to another clears it and waits first, then writes and waits again.
 * Before: the steps that go before the write; after: those after it.
 */
static void settle_change(const struct tw_change *c, struct tw_step *steps, size_t *n, int before)
{
	int to_value = c->unknown || is_set(c->after) || c->sensitive;

	if (before && is_set(c->before) && to_value)
		push_clear(steps, n, c->field, 0);
	else if (!before)
		push_settle(steps, n, TW_STEP_SETTLE, c->field, !to_value, 0);
}

size_t tw_apply_steps(const struct tw_action *a, struct tw_step *steps)
{
	const struct tw_kind *k = a->kind;
	size_t n = 0;
	int deletes = a->type == TW_ACT_DELETE || (a->type == TW_ACT_REPLACE && !tw_act_creates_first(a));

	if (a->type == TW_ACT_UPDATE && k->bulk && !a->custom) {
		if (!a->batch)      /* the batch's first sends it; the others have nothing left to send */
			push_step(steps, &n, TW_STEP_BULK, NULL);
		return n;
	}
	/* Twilio keeps what a settling field links until it is cleared (a number's emergency address) */
	for (size_t i = 0; deletes && i < k->nfields; i++)
		if (k->fields[i].settle && is_set(json_object_get(a->have->fields, k->fields[i].name)))
			push_clear(steps, &n, &k->fields[i], 1);
	if (deletes)
		push_step(steps, &n, TW_STEP_DELETE, NULL);
	if (a->type == TW_ACT_CREATE || a->type == TW_ACT_REPLACE) {
		push_step(steps, &n, TW_STEP_CREATE, NULL);
		for (size_t i = 0; i < k->nfields; i++)
			if (ignored_by_create(a, i)) {
				push_step(steps, &n, TW_STEP_UPDATE, NULL);
				break;
			}
		for (size_t i = 0; i < k->nfields; i++)
			if (k->fields[i].settle && !omitted(a, i) &&
			    is_set(json_object_get(a->want->fields, k->fields[i].name)))
				push_settle(steps, &n, TW_STEP_SETTLE, &k->fields[i], 0, 0);
	}
	if (a->type == TW_ACT_UPDATE && writes_to(a, NULL)) {
		for (size_t c = 0; c < a->nchanges; c++)
			if (a->changes[c].field->settle)
				settle_change(&a->changes[c], steps, &n, 1);
		push_step(steps, &n, TW_STEP_UPDATE, NULL);
		for (size_t c = 0; c < a->nchanges; c++)
			if (a->changes[c].field->settle)
				settle_change(&a->changes[c], steps, &n, 0);
	}
	if (a->type == TW_ACT_DELETE)
		return n;
	/* then each sub-resource endpoint with something to write, once */
	for (size_t i = 0; i < k->nfields; i++) {
		const char *ep = k->fields[i].endpoint;
		int seen = 0;
		if (!ep)
			continue;
		for (size_t j = 0; j < i; j++)
			seen |= same_endpoint(k->fields[j].endpoint, ep);
		if (!seen && writes_to(a, ep))
			push_step(steps, &n, TW_STEP_ENDPOINT, ep);
	}
	return n;
}

/*
 * The path of template `tmpl` for r: the SIDs of its parents (and its own,
 * `sid`, unless NULL) as this apply knows them.  For a live resource, the
 * live parents' SIDs.  NULL with err set when one of them is not a valid SID:
 * nothing is ever sent with an empty or malformed one.
 */
static char *path_of(const struct tw_applier *ap, const struct tw_res *r, const char *tmpl, const char *sid,
		     int need_sid, struct tw_err *err)
{
	const struct tw_res *parent = r->parent && r->parent->kind ? r->parent : NULL;
	const struct tw_res *gp = parent && parent->parent && parent->parent->kind ? parent->parent : NULL;
	const char *ps = parent ? (parent->sid ? parent->sid : sid_of(ap->p, ap, parent)) : NULL;
	const char *gs = gp ? (gp->sid ? gp->sid : sid_of(ap->p, ap, gp)) : NULL;
	const struct { const struct tw_res *r; const char *sid; } chain[] = { { r, need_sid ? sid : NULL },
									      { parent, ps }, { gp, gs } };

	for (size_t i = 0; i < 3; i++) {
		/* settings have no SID, and their paths hold none */
		if (!chain[i].r || (i == 0 && !need_sid) || (chain[i].r->kind->flags & TW_K_SETTING))
			continue;
		if (!tw_sid_ok(chain[i].sid, chain[i].r->kind->sid_prefix)) {
			char *a = tw_res_address(chain[i].r);
			tw_err_set(err, "%s: no valid SID to send (%s): nothing was sent", tw_quote(a),
				   chain[i].sid ? tw_quote_always(chain[i].sid) : "none");
			free(a);
			return NULL;
		}
	}
	return tw_path_expand(tmpl, tw_http_account_sid(ap->h), ps, gs, sid);
}

/* ---- running the graph ---- */

static const char *past(enum tw_act_type t)
{
	static const char *const words[] = { "created", "updated", "deleted", "replaced" };
	return words[t];
}

static void finish(struct tw_applier *ap, size_t ai, const char *sid)
{
	const struct tw_action *a = &ap->p->acts[ai];
	struct tw_outcome *oc = &ap->res->outcome[ai];

	if (!sid && !a->custom)
		sid = a->want ? sid_of(ap->p, ap, a->want) : a->have ? a->have->sid : NULL;
	oc->state = TW_ST_DONE;
	oc->sid = sid ? tw_xstrdup(sid) : NULL;
	ap->res->done++;
	switch (a->type) {
	case TW_ACT_CREATE: ap->res->added++; break;
	case TW_ACT_UPDATE: ap->res->changed++; break;
	case TW_ACT_DELETE: ap->res->destroyed += !a->secondary; break;   /* a create-first replace's */
	case TW_ACT_REPLACE: ap->res->added++; ap->res->destroyed++; break;
	}
	if (oc->gone)
		tw_status(TW_C_GREEN, tw_act_symbol(a->type), "%s: already gone", tw_quote(a->address));
	else
		tw_status(TW_C_GREEN, tw_act_symbol(a->type), "%s: %s%s%s%s", tw_quote(a->address),
			  a->custom ? a->custom->past : past(a->type), sid ? " (" : "", sid ? tw_quote(sid) : "",
			  sid ? ")" : "");
	if (ap->o->interrupted && *ap->o->interrupted && !ap->stopping) {
		ap->stopping = 1;
		tw_http_cancel_queued(ap->h);
	}
	for (size_t i = 0; i < ap->ndependents[ai]; i++) {
		size_t d = ap->dependents[ai][i];
		if (--ap->runs[d].waiting == 0 && ap->res->outcome[d].state == TW_ST_PENDING && !ap->stopping)
			start(ap, d);
	}
}

/* What depends on a failed action is not started (keep-going mode goes on with the rest). */
static void skip_dependents(struct tw_applier *ap, size_t ai)
{
	for (size_t i = 0; i < ap->ndependents[ai]; i++) {
		size_t d = ap->dependents[ai][i];
		if (ap->res->outcome[d].state == TW_ST_PENDING) {
			ap->res->outcome[d].state = TW_ST_SKIPPED;
			skip_dependents(ap, d);
		}
	}
}

static void fail(struct tw_applier *ap, size_t ai, const struct tw_req *req)
{
	const struct tw_action *a = &ap->p->acts[ai];
	struct tw_outcome *oc = &ap->res->outcome[ai];

	if (req && req->attempts == 0) {
		/* cancelled before it was sent: not applied, not failed */
		oc->state = TW_ST_SKIPPED;
		return;
	}
	oc->state = TW_ST_FAILED;
	ap->res->failed++;
	if (req)
		oc->err = req->err;
	tw_status(TW_C_RED, tw_act_symbol(a->type), "%s: %s failed: %s", tw_quote(a->address),
		  a->custom ? a->custom->verb : tw_act_name(a->type), oc->err.msg);
	skip_dependents(ap, ai);
	if (!ap->stopping && !ap->o->keep_going) {
		ap->stopping = 1;
		tw_http_cancel_queued(ap->h);
	}
}

static void run_step(struct tw_applier *ap, size_t ai);

/* The current step is done: on to the next, or the action is. */
static void advance(struct tw_applier *ap, size_t ai)
{
	struct run *rn = &ap->runs[ai];
	if (++rn->step < rn->nsteps)
		run_step(ap, ai);
	else
		finish(ap, ai, NULL);
}

/* A create answered (or found again): what Twilio made of it is the applier's. */
static int created(struct tw_applier *ap, size_t ai, json_t *obj)
{
	const struct tw_action *a = &ap->p->acts[ai];
	struct made *m;

	if (tw_sid_check(json_object_get(obj, "sid"), a->kind->sid_prefix, &ap->res->outcome[ai].err) < 0)
		return -1;
	m = make(ap, a->want);
	free(m->sid);
	m->sid = tw_xstrdup(json_string_value(json_object_get(obj, "sid")));
	json_decref(m->obj);
	m->obj = json_incref(obj);     /* an environment's domain_name, ... */
	return 0;
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
	const struct tw_action *a = &ap->p->acts[ai];
	struct tw_err *aerr = &ap->res->outcome[ai].err;
	const struct tw_res *w = a->want;
	const struct tw_kind *k = a->kind;
	const char *want_sid = (k->flags & TW_K_ASSOC) ? sid_of(ap->p, ap, tw_res_top(w, k->assoc_ref, w->id)) : NULL;
	size_t i;
	json_t *item;

	(void)h;
	if (!items) {
		*aerr = *err;
		goto failed;
	}
	json_array_foreach(items, i, item) {
		struct tw_res probe;
		int hit;
		memset(&probe, 0, sizeof(probe));
		probe.kind = k;
		if (tw_live_set_json(&probe, item, aerr) < 0) {
			free(probe.id);
			json_decref(probe.json);
			goto failed;
		}
		hit = want_sid ? probe.sid && !strcmp(probe.sid, want_sid) : probe.id && !strcmp(probe.id, w->id);
		free(probe.id);
		free(probe.sid);
		json_decref(probe.json);
		if (!hit)
			continue;
		if (created(ap, ai, item) < 0)
			goto failed;
		tw_trace(1, "%s: the uncertain create did happen (%s); not sending it again", tw_quote(a->address),
			 tw_quote(sid_of(ap->p, ap, w)));
		free(rc->path);
		free(rc);
		advance(ap, ai);
		return;
	}
	/* lists lag behind writes: a create that did happen may not be listed yet, and
	 * sending it again would make a duplicate; look again until the deadline */
	if (tw_now_s() < rc->deadline && !ap->stopping) {
		look_again(rc);
		return;
	}
	free(rc->path);
	free(rc);
	/* aerr says how the last answer was lost */
	if (ap->stopping) {
		tw_err_prefix(aerr, "the create may or may not have happened (the next apply looks for it "
			      "before creating it)");
		fail(ap, ai, NULL);
		return;
	}
	/* a resend is a retry: the same budget as any other request */
	if (++ap->runs[ai].attempts > tw_http_max_retries(ap->h)) {
		tw_err_prefix(aerr, "create did not complete after %d attempts", ap->runs[ai].attempts);
		fail(ap, ai, NULL);
		return;
	}
	tw_trace(1, "%s: the uncertain create did not happen; sending it again", tw_quote(a->address));
	run_step(ap, ai);
	return;
failed:
	tw_err_prefix(aerr, "re-reading after an uncertain create");
	free(rc->path);
	free(rc);
	fail(ap, ai, NULL);
}

static void look_again(struct reconcile *rc)
{
	const struct tw_kind *k = rc->ap->p->acts[rc->ai].kind;
	double left_ms = (rc->deadline - tw_now_s()) * 1000;
	long delay;

	next_delay(&rc->delay_ms, 4000);
	delay = rc->delay_ms < left_ms ? rc->delay_ms : (long)(left_ms > 0 ? left_ms : 0);
	tw_trace(1, "%s: not listed yet; looking again in %ld ms", tw_quote(rc->ap->p->acts[rc->ai].address), delay);
	tw_http_list_after(tw_applier_http(rc->ap), k->product, rc->path, k->list_key, delay, reconciled, rc);
}

static void on_done(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	const struct tw_action *a = &ap->p->acts[ai];
	enum tw_step_op op = ap->runs[ai].steps[ap->runs[ai].step].op;

	if (req->result == TW_REQ_UNSAFE && op == TW_STEP_CREATE && !ap->stopping) {
		struct reconcile *ud = tw_xcalloc(1, sizeof(*ud));
		struct tw_err err = TW_ERR_INIT;
		ud->ap = ap;
		ud->ai = ai;
		ud->path = path_of(ap, a->want, a->kind->collection, NULL, 0, &err);   /* checked by run_step */
		ud->deadline = tw_now_s() + ap->o->verify_timeout_s;
		ap->res->outcome[ai].err = req->err;
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
	if (req->result != TW_REQ_OK)
		ap->res->outcome[ai].gone = 1;
	if (op == TW_STEP_CREATE && created(ap, ai, req->json) < 0) {
		/* what depends on it would be sent with an empty SID: stop here */
		tw_err_prefix(&ap->res->outcome[ai].err, "Twilio's answer to the create");
		tw_req_free(req);
		fail(ap, ai, NULL);
		return;
	}
	tw_req_free(req);
	advance(ap, ai);
}

/* The item's status of a settling field: done, failed, or not yet (look again until the deadline). */
static void settled(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	struct run *rn = &ap->runs[ai];
	const struct tw_step *st = &rn->steps[rn->step];
	const struct tw_settle *se = st->field->settle;
	const char *want = st->cleared ? se->cleared : se->set;
	const char *now;
	struct tw_req *again;

	if (req->result != TW_REQ_OK) {
		fail(ap, ai, req);
		tw_req_free(req);
		return;
	}
	now = json_string_value(json_object_get(req->json, se->json));
	if (now && !strcmp(now, want)) {
		tw_trace(1, "%s: %s is %s", tw_quote(ap->p->acts[ai].address), se->json, tw_quote(now));
		tw_req_free(req);
		advance(ap, ai);
		return;
	}
	for (const char *const *f = se->failed; now && f && *f; f++)
		if (!strcmp(now, *f)) {
			tw_err_set(&ap->res->outcome[ai].err, "Twilio did not complete %s %s: its %s is %s",
				   st->cleared ? "clearing" : "setting", st->field->name, se->json, tw_quote(now));
			tw_req_free(req);
			fail(ap, ai, NULL);
			return;
		}
	if (ap->stopping || tw_now_s() >= rn->settle_deadline) {
		tw_err_set(&ap->res->outcome[ai].err, "%s was written, but its %s is still %s (waiting for %s)%s",
			   st->field->name, se->json, now ? tw_quote(now) : "not returned", want,
			   ap->stopping ? ": stopped" : ": gave up waiting");
		tw_req_free(req);
		fail(ap, ai, NULL);
		return;
	}
	next_delay(&rn->settle_delay_ms, 5000);
	tw_trace(1, "%s: %s is %s; looking again in %ld ms", tw_quote(ap->p->acts[ai].address), se->json,
		 now ? tw_quote(now) : "not returned", rn->settle_delay_ms);
	again = tw_req_new("GET", tw_xstrdup(req->url), settled, ap);
	again->tag = req->tag;
	tw_req_free(req);
	tw_http_submit_after(h, again, rn->settle_delay_ms);
}

static void run_step(struct tw_applier *ap, size_t ai)
{
	const struct tw_action *a = &ap->p->acts[ai];
	struct run *rn = &ap->runs[ai];
	const struct tw_step *st = &rn->steps[rn->step];
	/* the live resource to delete; otherwise the declared one */
	const struct tw_res *r = st->op == TW_STEP_DELETE || st->live ? a->have : a->want;
	const char *sid = st->op == TW_STEP_DELETE || st->live ? a->have->sid : sid_of(ap->p, ap, r);
	const char *tmpl = st->op == TW_STEP_ENDPOINT ? st->endpoint : st->op == TW_STEP_CREATE ? r->kind->collection
			   : st->op == TW_STEP_BULK ? r->kind->bulk->path : r->kind->item;
	int own_sid = st->op != TW_STEP_CREATE && st->op != TW_STEP_BULK;
	struct tw_req *req;
	char *path;

	/* the path holds the SIDs of r's parents, and r's own but for a create */
	path = path_of(ap, r, tmpl, own_sid ? sid : NULL, own_sid, &ap->res->outcome[ai].err);
	if (!path) {
		fail(ap, ai, NULL);
		return;
	}
	if (st->op == TW_STEP_SETTLE) {
		rn->settle_deadline = tw_now_s() + st->field->settle->timeout_s;
		rn->settle_delay_ms = 0;
		req = tw_req_new("GET", tw_http_url(ap->h, r->kind->product, path), settled, ap);
		free(path);
		req->tag = (long)ai;
		tw_http_submit(ap->h, req);
		return;
	}
	req = tw_req_new(st->op == TW_STEP_DELETE ? "DELETE" : "POST", tw_http_url(ap->h, r->kind->product, path),
			 on_done, ap);
	free(path);
	req->tag = (long)ai;
	req->idempotent = st->op != TW_STEP_CREATE;
	if (st->op != TW_STEP_DELETE)
		tw_apply_form(ap->p, ap, a, st, &req->form);
	tw_http_submit(ap->h, req);
}

static void start(struct tw_applier *ap, size_t ai)
{
	const struct tw_action *a = &ap->p->acts[ai];
	struct run *rn = &ap->runs[ai];

	ap->res->outcome[ai].state = TW_ST_RUNNING;
	if (a->custom) {
		a->custom->run(ap, ai);
		return;
	}
	rn->nsteps = tw_apply_steps(a, rn->steps);
	rn->step = 0;
	if (!rn->nsteps)
		finish(ap, ai, NULL);
	else
		run_step(ap, ai);
}

/* ---- for kinds' custom actions ---- */

struct tw_http *tw_applier_http(struct tw_applier *ap)
{
	return ap->h;
}

const struct tw_action *tw_applier_action(const struct tw_applier *ap, size_t ai)
{
	return &ap->p->acts[ai];
}

int tw_applier_stopping(const struct tw_applier *ap)
{
	return ap->stopping;
}

void tw_applier_done(struct tw_applier *ap, size_t ai, const char *sid)
{
	finish(ap, ai, sid);
}

void tw_applier_fail(struct tw_applier *ap, size_t ai, const struct tw_req *req, const struct tw_err *err)
{
	if (req && req->attempts == 0) {
		fail(ap, ai, req);      /* cancelled before it was sent: not applied */
		return;
	}
	if (err || req)
		ap->res->outcome[ai].err = err ? *err : req->err;
	fail(ap, ai, NULL);
}

/* ---- the whole plan ---- */

void tw_apply_result_release(struct tw_apply_result *res)
{
	for (size_t i = 0; i < res->n; i++)
		free(res->outcome[i].sid);
	free(res->outcome);
	res->outcome = NULL;
	res->n = 0;
}

int tw_apply(struct tw_http *h, const struct tw_plan *p, const struct tw_apply_opts *o,
	     struct tw_apply_result *res, struct tw_err *err)
{
	struct tw_applier ap = { .h = h, .p = p, .o = o, .res = res };
	size_t i, stuck = 0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->n = p->n;
	res->outcome = tw_xcalloc(p->n ? p->n : 1, sizeof(*res->outcome));
	ap.runs = tw_xcalloc(p->n ? p->n : 1, sizeof(*ap.runs));
	ap.dependents = tw_xcalloc(p->n ? p->n : 1, sizeof(*ap.dependents));
	ap.ndependents = tw_xcalloc(p->n ? p->n : 1, sizeof(*ap.ndependents));
	for (i = 0; i < p->n; i++) {
		const struct tw_action *a = &p->acts[i];
		ap.runs[i].waiting = a->ndeps;
		for (size_t d = 0; d < a->ndeps; d++) {
			size_t dep = a->deps[d];
			ap.dependents[dep] = tw_xrealloc(ap.dependents[dep], (ap.ndependents[dep] + 1) * sizeof(size_t));
			ap.dependents[dep][ap.ndependents[dep]++] = i;
		}
	}
	for (i = 0; i < p->n; i++)
		if (!ap.runs[i].waiting && res->outcome[i].state == TW_ST_PENDING)
			start(&ap, i);
	if (tw_http_run(h, err) < 0)
		rc = -1;

	for (i = 0; i < p->n; i++) {
		struct tw_outcome *oc = &res->outcome[i];
		if (oc->state == TW_ST_PENDING || oc->state == TW_ST_RUNNING) {
			/* never started: apply stopped, or a cycle (what waits on a failure is
			 * skipped when it fails) */
			if (!ap.stopping)
				stuck++;
			oc->state = TW_ST_SKIPPED;
		}
		if (oc->state == TW_ST_SKIPPED)
			res->skipped++;
		free(ap.dependents[i]);
	}
	for (size_t s = 0; s < ap.made.cap; s++) {
		struct made *m = ap.made.vals[s];
		if (!ap.made.keys[s])
			continue;
		free(m->sid);
		json_decref(m->obj);
		json_decref(m->data);
		free(m);
	}
	tw_ptrmap_release(&ap.made);
	free(ap.runs);
	free(ap.dependents);
	free(ap.ndependents);
	if (rc < 0)
		return -1;
	if (stuck)
		return tw_err_set(err, "%zu actions could not start: their dependencies form a cycle", stuck);
	if (res->failed)   /* after SIGINT, requests still waiting for room are cancelled: failed */
		return tw_err_set(err, "%s%zu of %zu actions failed",
				  o->interrupted && *o->interrupted ? "interrupted: " : "", res->failed, p->n);
	if (res->skipped)
		return tw_err_set(err, "interrupted: %zu of %zu actions were not started", res->skipped, p->n);
	return 0;
}
