/* plan.h - the plan is a value: ordered actions with dependencies */
#ifndef TWPROV_PLAN_H
#define TWPROV_PLAN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "twprov/err.h"
#include "twprov/model.h"

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

enum tw_act_state {
	TW_ST_PENDING = 0,
	TW_ST_RUNNING,
	TW_ST_DONE,
	TW_ST_FAILED,
	TW_ST_SKIPPED,      /* not started: a dependency failed or apply stopped */
};

/* One request of an action; most actions are one step, some several. */
enum tw_step_op {
	TW_STEP_DELETE,     /* DELETE the item */
	TW_STEP_CREATE,     /* POST the collection */
	TW_STEP_UPDATE,     /* POST the item with the changed fields */
	TW_STEP_ENDPOINT,   /* POST a sub-resource with its fields (a trunk's Recording) */
};

struct tw_step {
	enum tw_step_op op;
	const char *endpoint;       /* TW_STEP_ENDPOINT: the fields' endpoint template */
};

#define TW_MAX_STEPS 8

struct tw_applier;

/* A kind's own action (a Serverless upload, build or deployment), added by its plan_more hook. */
struct tw_custom {
	const char *verb;                                   /* "upload", "build", "deploy" */
	const char *past;                                   /* "uploaded", ... */
	void (*run)(struct tw_applier *ap, size_t ai);      /* apply it (see apply.h) */
};

struct tw_action {
	enum tw_act_type type;
	const struct tw_kind *kind;
	struct tw_res *want;        /* declared resource (create, update, replace) */
	struct tw_res *have;        /* live resource (update, delete, replace) */
	char *address;
	struct tw_change *changes;
	size_t nchanges, changes_alloc;
	size_t *deps;               /* indices of actions that must finish first */
	size_t ndeps, deps_alloc;
	uint64_t omit;              /* create: fields (bit = index) left for a follow-up update */
	int followup;               /* an update that completes a create (see TW_F_DEFER) */
	int secondary;              /* not the resource's primary action (follow-ups, custom actions) */
	const struct tw_custom *custom; /* a kind's own action, or NULL */
	char *summary;              /* custom: one line for plans ("3 functions, node22") */
	json_t *data;               /* custom: what its run needs */

	/* apply state */
	enum tw_act_state state;
	size_t waiting;             /* deps not yet done */
	struct tw_step steps[TW_MAX_STEPS];
	size_t nsteps, step;        /* the requests of this action, and the one running */
	int attempts;               /* create re-sends after an unsafe failure */
	struct tw_err err;
};

struct tw_plan {
	struct tw_action *acts;
	size_t n, alloc;
	json_t *unmanaged;          /* array of {address, kind, name, sid} */
	json_t *notes;              /* array of strings */
	json_t *problems;           /* array of strings: the live account cannot be planned against */
	size_t add, change, destroy;
};

struct tw_plan_opts {
	int sync_passwords;
	const char *const *targets; /* --target addresses */
	size_t ntargets;
};

/*
 * Diff `want` (the file) against `have` (the live account).  Declared
 * resources get `sid` and `match` from their live counterparts.  Returns -1
 * when the account cannot be planned against (e.g. two live resources with
 * the same identity: plan->problems lists them) or a target matches nothing.
 */
int tw_plan_build(struct tw_model *want, struct tw_model *have, const struct tw_plan_opts *o,
		  struct tw_plan **out, struct tw_err *err);
void tw_plan_free(struct tw_plan *p);

/* Renderings of the same value. */
void tw_plan_print(const struct tw_plan *p, FILE *f);
json_t *tw_plan_json(const struct tw_plan *p);
int tw_plan_empty(const struct tw_plan *p);

/* For kinds' plan_more hooks. */
struct tw_planner;
struct tw_plan *tw_planner_plan(struct tw_planner *pl);
/* A custom action on `want` (counted as a change); returns its index. */
size_t tw_plan_add_custom(struct tw_plan *p, const struct tw_custom *c, struct tw_res *want, char *summary,
			  json_t *data);
void tw_plan_add_dep(struct tw_plan *p, size_t a, size_t dep);
/* The primary action of a resource (create, update, delete, replace), or NULL. */
struct tw_action *tw_plan_act_of(const struct tw_plan *p, const struct tw_res *r);

/* The guard (purchase, release) an action needs, or NULL. */
const struct tw_guard *tw_act_guard(const struct tw_action *a);

/* Helpers shared with apply. */
const char *tw_act_name(enum tw_act_type t);     /* "create", "update", "delete", "replace" */
const char *tw_act_symbol(enum tw_act_type t);   /* "+", "~", "-", "-/+" */
/* Field values equal as Twilio would store them (null == "" for strings, etc.). */
int tw_value_equal(const struct tw_field *f, const json_t *a, const json_t *b);

#endif
