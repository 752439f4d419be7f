/* verify.c - after apply: read the account again until it shows every change
 *
 * Twilio's lists lag behind its writes (a resource created a moment ago is
 * not listed yet, a deleted one still is, an update shows late): a plan made
 * right after apply could show everything as still to do, and a second apply
 * would create duplicates of the kinds whose names Twilio does not keep
 * unique.  So apply is not done when its requests are: it reads the account
 * the way plan does, with the same file and targets, and plans again, with
 * backoff, until that plan is empty or the time is up.  Then "apply exited 0"
 * means "an immediate plan shows no changes".
 */
#include <string.h>
#include <time.h>

#include "twprov/apply.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"

/* Sleep `s` seconds, in short steps so that a signal ends the wait. */
static void nap(double s, volatile sig_atomic_t *interrupted)
{
	double until = tw_now_s() + s;

	while (!(interrupted && *interrupted)) {
		double left = until - tw_now_s();
		struct timespec ts;
		if (left <= 0)
			return;
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

void tw_verify_release(struct tw_verify_result *res)
{
	tw_plan_free(res->left);
	tw_model_free(res->have);
	res->left = NULL;
	res->have = NULL;
}

int tw_verify(struct tw_http *h, const struct tw_model *want, const struct tw_verify_opts *o,
	      struct tw_verify_result *res, struct tw_err *err)
{
	struct tw_plan_opts po = *o->plan;
	struct tw_http_stats st0, st;
	double t0 = tw_now_s(), deadline = t0 + o->timeout_s, delay = 0.25;
	int rc;

	po.sync_passwords = 0;    /* write-only values are never read back: nothing to verify */
	memset(res, 0, sizeof(*res));
	tw_http_stats(h, &st0);
	for (;;) {
		tw_verify_release(res);
		res->reads++;
		rc = tw_live_read(h, want, NULL, &res->have, err);
		if (rc == 0)
			rc = tw_plan_build(want, res->have, &po, &res->left, err);
		tw_http_stats(h, &st);
		res->requests = st.requests - st0.requests;
		res->seconds = tw_now_s() - t0;
		if (rc < 0) {
			tw_err_prefix(err, "verifying the changes");
			return -1;
		}
		if (tw_plan_empty(res->left))
			return 0;
		if (o->interrupted && *o->interrupted)
			return tw_err_set(err, "interrupted while waiting for the account to show the changes");
		if (tw_now_s() + delay > deadline)
			break;
		tw_trace(1, "verify: %zu change%s not visible yet; reading again in %.2f s", res->left->n,
			 res->left->n == 1 ? "" : "s", delay);
		nap(delay, o->interrupted);
		delay = delay * 2 < 4 ? delay * 2 : 4;
	}
	return tw_err_set(err, "after %.0f s the account does not show every change yet (%zu left: Twilio's "
			  "lists lag behind its writes, or Twilio holds other values than the file's)",
			  res->seconds, res->left->n);
}
