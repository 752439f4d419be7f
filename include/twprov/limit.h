/* limit.h - how many requests a host takes at once, found by trying */
#ifndef TWPROV_LIMIT_H
#define TWPROV_LIMIT_H

/*
 * Twilio publishes no concurrency limit: an account that has too many
 * requests in flight gets 429 (error 20429) for the others, which were not
 * processed.  So the number twprov keeps in flight to a host is found, not
 * configured, the way TCP finds a congestion window:
 *
 *   slow start   from TW_LIMIT_START, one more request allowed per answer:
 *                the window doubles every round trip, until the first 429;
 *                the window is then what the host took (the other requests
 *                of ours in flight: a refused request was not processed, so
 *                unlike TCP there is no queue to drain), and that is the
 *                ceiling; the rest of the burst's 429s, as they come back,
 *                bring both down to what is left in flight;
 *   increase     every answer adds 1/window (one request per round trip,
 *                additive) up to the ceiling; there the window stays for
 *                `hold` round trips before it tries one request more;
 *   probe        a 429 when the window has gone past the ceiling only says
 *                the host takes what it took: the window goes back to that,
 *                the new ceiling, and the next try waits twice as long (up to
 *                TW_LIMIT_HOLD_MAX round trips); so does, without the longer
 *                wait, a 429 at TW_LIMIT_DECREASE of the ceiling or more;
 *   decrease     a 429 further below the ceiling (the account takes fewer
 *                now: another client uses it), a 429 again before any other
 *                answer, or one that names a delay (Retry-After) cuts the
 *                window to TW_LIMIT_DECREASE times what the host took
 *                (multiplicative), which becomes the ceiling, and forgets the
 *                longer wait.
 *
 * At a fixed limit the window thus sits at it, with a 429 per try beyond it
 * (a few, then one every TW_LIMIT_HOLD_MAX round trips), instead of the
 * sawtooth between half the limit and the limit that plain AIMD keeps.  One
 * change per burst: a 429 to a request sent before the last change changes
 * nothing (its burst was answered).
 *
 * The window never leaves 1..cap (--parallelism).  Pure: no clock, no I/O;
 * the caller passes the times (seconds on any monotonic clock).
 */

#define TW_LIMIT_START 32       /* requests allowed before anything is known */
#define TW_LIMIT_DECREASE 0.9   /* multiplicative decrease on a 429 */
#define TW_LIMIT_HOLD_MAX 64    /* round trips between tries past the ceiling, at most */

struct tw_limit {
	double window;          /* requests allowed in flight: 1..cap */
	int cap;                /* the most ever allowed (>= 1) */
	int slow_start;         /* 1 until the first 429 */
	int ceiling;            /* requests the host took when it last answered 429 (0: no 429 yet) */
	int hold;               /* round trips to stay at the ceiling before the next try */
	long held;              /* answers received at the ceiling since the last 429 */
	long oks;               /* answers other than 429 since the last change */
	double last_cut;        /* when the last 429 changed the window */
	int reached;            /* the largest whole window so far */
	long cuts;              /* 429s that changed the window */
};

/* Start at TW_LIMIT_START requests (at most `cap`), in slow start. */
void tw_limit_init(struct tw_limit *l, int cap);
/* Requests allowed in flight now: the whole part of the window, 1..cap. */
int tw_limit_allowed(const struct tw_limit *l);

/* An answer other than 429.  `wanted`: requests were waiting for room when it
 * came (or the window was full): only then does the window grow, so a window
 * that is not used is not inflated (RFC 7661's rule for TCP). */
void tw_limit_ok(struct tw_limit *l, int wanted);

/*
 * A 429 to a request sent at time `sent`; `in_flight`: how many other
 * requests of ours are in flight to the host now that its answer came, the
 * most the host can have taken (fewer when some of them are still on their
 * way, as in a burst).  The window becomes at most that (the refused request
 * then waits for another answer) or a cut of it.  `retry_after`: the answer
 * named a delay.  Returns 1 when it changed the window (at `now`), 0 when the
 * request was sent before the last change (its burst was answered already:
 * its 429 only tightens that bound).
 */
int tw_limit_throttled(struct tw_limit *l, double sent, int in_flight, int retry_after, double now);

#endif
