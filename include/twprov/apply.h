/* apply.h - execute a plan against Twilio */
#ifndef TWPROV_APPLY_H
#define TWPROV_APPLY_H

#include <signal.h>
#include <stdio.h>

#include "twprov/plan.h"

struct tw_http;
struct tw_err;

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
	TW_STEP_CLEAR,      /* POST the item with a settling field cleared (struct tw_settle) */
	TW_STEP_SETTLE,     /* GET the item until the field's work is done */
	TW_STEP_BULK,       /* POST the kind's bulk path with the whole batch (struct tw_bulk) */
};

struct tw_step {
	enum tw_step_op op;
	const char *endpoint;       /* TW_STEP_ENDPOINT: the fields' endpoint template */
	const struct tw_field *field; /* TW_STEP_CLEAR, TW_STEP_SETTLE: the settling field */
	int cleared;                /* TW_STEP_SETTLE: wait for settle->cleared (else settle->set) */
	int live;                   /* TW_STEP_CLEAR, TW_STEP_SETTLE: of the live resource, before its
	                               delete (else of the declared one) */
};

#define TW_MAX_STEPS 12


struct tw_apply_opts {
	volatile sig_atomic_t *interrupted;  /* set by a signal handler: stop starting new work */
	double verify_timeout_s;             /* how long a create whose answer was lost is looked
	                                        for (lists lag) before it is sent again */
	int keep_going;                      /* a failure does not stop the independent actions
	                                        (remove-credential tries every list) */
};

/* What became of one action. */
struct tw_outcome {
	enum tw_act_state state;
	struct tw_err err;          /* TW_ST_FAILED: why */
	char *sid;                  /* what it made or acted on, for the report (or NULL) */
	int gone;                   /* a delete that found nothing to delete (404) */
};

struct tw_apply_result {
	size_t done, failed, skipped;
	size_t added, changed, destroyed;
	struct tw_outcome *outcome; /* one per action of the plan */
	size_t n;
};
void tw_apply_result_release(struct tw_apply_result *res);
/*
 * What an apply did, a section per outcome with one action a line (report.c):
 * `titles` are {done, gone, failed, skipped} ("Applied", NULL: gone deletes
 * count as done, "Failed" with why, "Not applied"); NULL for apply's.
 */
struct tw_report_titles {
	const char *done, *gone, *failed, *skipped;
};
void tw_apply_report(const struct tw_plan *p, const struct tw_apply_result *res, const struct tw_report_titles *t,
		     FILE *f);

/*
 * Run every action of `p`: creates and updates parents-first and
 * referenced-first, deletes after what references them, independent actions
 * concurrently (the HTTP pool bounds how many).  On a failure, in-flight
 * work finishes, nothing new starts (unless keep_going: then only what
 * depends on the failed action is skipped), and -1 is returned; each
 * action's outcome says what was applied.  Neither the plan nor its models
 * are changed: the SIDs and objects of what this apply creates are the
 * applier's, and actions hand results to later ones through it.
 */
int tw_apply(struct tw_http *h, const struct tw_plan *p, const struct tw_apply_opts *o,
	     struct tw_apply_result *res, struct tw_err *err);

/*
 * After apply: read the account again (as plan does, with the same file and
 * targets) and plan again, with backoff, until that plan is empty or
 * `timeout_s` has passed (Twilio's lists lag behind its writes).  Returns 0
 * when the account shows every change; otherwise -1 with err set and, when
 * the reads worked, res->left holding what is not visible yet (and
 * res->have the live model it was computed from).
 */
struct tw_verify_opts {
	const struct tw_plan_opts *plan;
	double timeout_s;                    /* 0: read once, no waiting */
	volatile sig_atomic_t *interrupted;
};
struct tw_verify_result {
	int reads;
	long requests;
	double seconds;
	struct tw_model *have;
	struct tw_plan *left;
};
int tw_verify(struct tw_http *h, const struct tw_model *want, const struct tw_verify_opts *o,
	      struct tw_verify_result *res, struct tw_err *err);
void tw_verify_release(struct tw_verify_result *res);

/*
 * For custom actions (a kind's plan_more hook adds them; their run function
 * is called when their dependencies are done): submit requests on the
 * applier's HTTP pool and end with exactly one of done or fail.
 */
struct tw_req;
struct tw_applier;
struct tw_http *tw_applier_http(struct tw_applier *ap);
const struct tw_action *tw_applier_action(const struct tw_applier *ap, size_t ai);
int tw_applier_stopping(const struct tw_applier *ap);
/* Done; `sid` (may be NULL) is what it made, shown in the progress line. */
void tw_applier_done(struct tw_applier *ap, size_t ai, const char *sid);
/* `req` (may be NULL) tells a cancelled request from a failed one; `err` (may be NULL) is the cause. */
void tw_applier_fail(struct tw_applier *ap, size_t ai, const struct tw_req *req, const struct tw_err *err);

/*
 * What is known of a declared resource at Twilio during an apply: what this
 * apply made of it, else its live counterpart in the plan.  NULL when
 * neither (not created yet).
 */
const char *tw_applier_sid(const struct tw_applier *ap, const struct tw_res *r);
const json_t *tw_applier_object(const struct tw_applier *ap, const struct tw_res *r);
/* Results an action hands to later ones about r (an uploaded version's SID, a build's SID):
 * an object owned by the applier, made on first use. */
json_t *tw_applier_data(struct tw_applier *ap, const struct tw_res *r);

/*
 * The requests an action needs, and the form of one (exposed for unit tests).
 * The form's references are SIDs as the applier knows them (`ap` NULL: as
 * the plan knows them, from the live counterparts).
 */
struct tw_form;
size_t tw_apply_steps(const struct tw_action *a, struct tw_step *steps);
void tw_apply_form(const struct tw_plan *p, const struct tw_applier *ap, const struct tw_action *a,
		   const struct tw_step *st, struct tw_form *f);

#endif
