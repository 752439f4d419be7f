/* plan.h - the plan is a value: ordered actions with dependencies */
#ifndef TWPROV_PLAN_H
#define TWPROV_PLAN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "twprov/err.h"
#include "twprov/model.h"
#include "twprov/ptrmap.h"

enum tw_act_type {
	TW_ACT_CREATE = 0,
	TW_ACT_UPDATE,
	TW_ACT_DELETE,
	TW_ACT_REPLACE,     /* delete then create (an immutable field changed) */
};

/* One changed field.  Values are the file's representation; secrets are never copied here. */
struct tw_change {
	const struct tw_field *field;
	json_t *before;     /* NULL when unknown/none */
	json_t *after;      /* NULL for sensitive values and values known only after apply */
	int sensitive;
	int unknown;        /* known after apply (a URL on an environment not created yet) */
	int unread;         /* Twilio did not return the live value (TW_F_MAY_OMIT): written with
	                       the rest of an update, not compared */
};

struct tw_applier;

/* A kind's own action (a Serverless upload, build or deployment), added by its plan_more hook. */
struct tw_custom {
	const char *verb;                                   /* "upload", "build", "deploy" */
	const char *past;                                   /* "uploaded", ... */
	void (*run)(struct tw_applier *ap, size_t ai);      /* apply it (see apply.h) */
};

/*
 * One action of a plan.  A plan is data: building it writes nothing into the
 * models it was computed from, and applying it writes nothing into it (the
 * applier keeps its own state, see apply.h).
 */
struct tw_action {
	enum tw_act_type type;
	const struct tw_kind *kind;
	const struct tw_res *want;  /* declared resource (create, update, replace) */
	const struct tw_res *have;  /* live resource (update, delete, replace): the values it was
	                               computed from */
	char *address;
	struct tw_change *changes;
	size_t nchanges, changes_alloc;
	size_t *deps;               /* indices of actions that must finish first */
	size_t ndeps, deps_alloc;
	uint64_t omit;              /* create: fields (bit = index) left for a follow-up update */
	int followup;               /* an update that completes a create (see TW_F_DEFER) */
	int secondary;              /* not the resource's primary action (follow-ups, custom actions, the
	                               delete that ends a create-first replace) */
	size_t batch;               /* 1 + index of the action whose one request also writes this one's
	                               changes (struct tw_bulk); 0: none (it sends its own) */
	const struct tw_custom *custom; /* a kind's own action, or NULL */
	char *summary;              /* custom: one line for plans ("3 functions, node22") */
	char *note;                 /* a remark shown with it ("not in twprov.yaml"), or NULL */
	json_t *data;               /* custom: what its run needs (never a secret) */
};

/* A replace that only creates: a secondary delete removes the old resource once what used it
 * has moved (TW_K_CREATE_FIRST). */
static inline int tw_act_creates_first(const struct tw_action *a)
{
	return a->type == TW_ACT_REPLACE && (a->kind->flags & TW_K_CREATE_FIRST);
}

struct tw_plan {
	struct tw_action *acts;
	size_t n, alloc;
	json_t *unmanaged;          /* array of {address, kind, name, sid} */
	json_t *notes;              /* array of strings */
	json_t *problems;           /* array of strings: the live account cannot be planned against */
	size_t add, change, destroy;
	/* private: what the plan was computed from */
	struct tw_ptrmap live;      /* declared resource -> its live counterpart */
	struct tw_ptrmap declared;  /* live resource -> the declared one it matched */
	struct tw_ptrmap primary;   /* resource -> 1 + index of its primary action */
};

struct tw_plan_opts {
	int sync_passwords;
	const char *const *targets; /* --target addresses */
	size_t ntargets;
};

/*
 * Diff `want` (the file) against `have` (the live account); neither is
 * changed.  Returns -1 when the account cannot be planned against (e.g. two
 * live resources with the same identity: plan->problems lists them) or a
 * target matches nothing.
 */
int tw_plan_build(const struct tw_model *want, const struct tw_model *have, const struct tw_plan_opts *o,
		  struct tw_plan **out, struct tw_err *err);
void tw_plan_free(struct tw_plan *p);

/* Renderings of the same value: the JSON (a versioned schema, twprov(1)), and the text,
 * which is printed from the JSON (so a saved plan prints as the plan it was). */
json_t *tw_plan_json(const struct tw_plan *p);
void tw_plan_print_json(const json_t *plan, FILE *f);
/* Only its actions, a few lines each (for commands with their own header and summary). */
void tw_plan_print_actions(const json_t *plan, FILE *f);
void tw_plan_print(const struct tw_plan *p, FILE *f);
int tw_plan_empty(const struct tw_plan *p);

/*
 * Saved plans (saved.c): the plan's JSON with the account SID, the twprov
 * file's path and SHA-256 and the options that shape a plan (twprov(1) SAVED
 * PLANS).  tw_saved_read checks the format and the twprov version.
 * tw_saved_opts points o at the saved targets (*targets is the caller's to
 * free; the strings are the saved object's).  tw_saved_diff appends lines
 * (strings, to be shown escaped) saying how two plans' JSON differ, action by
 * action, to the array `lines`, and returns how many actions do.
 */
json_t *tw_saved_new(const json_t *plan, const char *account_sid, const char *file, const char *sha256,
		     const struct tw_plan_opts *o);
int tw_saved_read(const char *path, json_t **out, struct tw_err *err);
void tw_saved_opts(const json_t *saved, struct tw_plan_opts *o, const char ***targets);
size_t tw_saved_diff(const json_t *saved, const json_t *now, json_t *lines);

/*
 * A plan that deletes these live resources, independent of each other (note[i],
 * which may be NULL, is shown with the i-th): remove-credential's revocations.
 */
struct tw_plan *tw_plan_deletes(const struct tw_res *const *live, const char *const *notes, size_t n);

/* The live counterpart the plan matched to declared resource w, or NULL. */
struct tw_res *tw_plan_live(const struct tw_plan *p, const struct tw_res *w);
/* The primary action of a resource (create, update, delete, replace), or NULL. */
const struct tw_action *tw_plan_act_of(const struct tw_plan *p, const struct tw_res *r);
/* Its index in p->acts, or -1. */
long tw_plan_act_index(const struct tw_plan *p, const struct tw_res *r);

/*
 * For kinds' plan_more hooks: the actions planned so far (read only) and
 * a small API to add their own.
 */
struct tw_planner;
const struct tw_plan *tw_planner_plan(const struct tw_planner *pl);
/* A custom action on `want` (counted as a change); takes summary and data; returns its index. */
size_t tw_planner_custom(struct tw_planner *pl, const struct tw_custom *c, const struct tw_res *want,
			 char *summary, json_t *data);
/* A change shown with action a (its values are copied). */
void tw_planner_change(struct tw_planner *pl, size_t a, const struct tw_field *f, const json_t *before,
		       const json_t *after);
void tw_planner_dep(struct tw_planner *pl, size_t a, size_t dep);
/* The create of on_demand resource w (model.h), planned once; returns its index. */
size_t tw_planner_create(struct tw_planner *pl, const struct tw_res *w);
/* Action a waits for the create or replace of r, if the plan has one. */
void tw_planner_after_creation(struct tw_planner *pl, size_t a, const struct tw_res *r);

/* The guard (purchase, release) an action needs, or NULL. */
const struct tw_guard *tw_act_guard(const struct tw_action *a);

/* Helpers shared with apply. */
const char *tw_act_name(enum tw_act_type t);     /* "create", "update", "delete", "replace" */
const char *tw_act_symbol(enum tw_act_type t);   /* "+", "~", "-", "-/+" */
/* Field values equal as Twilio would store them (null == "" for strings, etc.). */
int tw_value_equal(const struct tw_field *f, const json_t *a, const json_t *b);

#endif
