/* apply.h - execute a plan against Twilio */
#ifndef TWPROV_APPLY_H
#define TWPROV_APPLY_H

#include <signal.h>

#include "twprov/plan.h"

struct tw_http;
struct tw_err;

struct tw_apply_opts {
	volatile sig_atomic_t *interrupted;  /* set by a signal handler: stop starting new work */
	double verify_timeout_s;             /* how long a create whose answer was lost is looked
	                                        for (lists lag) before it is sent again */
};

struct tw_apply_result {
	size_t done, failed, skipped;
	size_t added, changed, destroyed;
};

/*
 * Run every action of `p`: creates and updates parents-first and
 * referenced-first, deletes after what references them, independent actions
 * concurrently (the HTTP pool bounds how many).  On a failure, in-flight
 * work finishes, nothing new starts, and -1 is returned; each action's state
 * says what was applied.
 */
int tw_apply(struct tw_http *h, struct tw_plan *p, const struct tw_apply_opts *o,
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
int tw_verify(struct tw_http *h, struct tw_model *want, const struct tw_verify_opts *o,
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
struct tw_action *tw_applier_action(struct tw_applier *ap, size_t ai);
int tw_applier_stopping(struct tw_applier *ap);
void tw_applier_done(struct tw_applier *ap, size_t ai);
/* `req` (may be NULL) tells a cancelled request from a failed one; `err` (may be NULL) is the cause. */
void tw_applier_fail(struct tw_applier *ap, size_t ai, const struct tw_req *req, const struct tw_err *err);

/* The requests an action needs (a->steps), and the form of one (exposed for unit tests). */
struct tw_form;
void tw_apply_steps(struct tw_action *a);
void tw_apply_form(const struct tw_action *a, const struct tw_step *st, struct tw_form *f);

#endif
