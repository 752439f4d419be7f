/*
 * limit.c - how many requests a host takes at once (see limit.h)
 *
 * A window of requests in flight per host, as TCP's congestion window: slow
 * start, then additive increase and multiplicative decrease on 429, with the
 * level of the last 429 remembered so that a fixed limit is held, not
 * oscillated around.  No clock and no I/O: http.c feeds it the answers.
 */
#include <math.h>

#include "twprov/limit.h"

static void clamp(struct tw_limit *l)
{
	if (l->window > l->cap)
		l->window = l->cap;
	if (l->window < 1)
		l->window = 1;
	if (tw_limit_allowed(l) > l->reached)
		l->reached = tw_limit_allowed(l);
}

void tw_limit_init(struct tw_limit *l, int cap)
{
	l->cap = cap < 1 ? 1 : cap;
	l->window = TW_LIMIT_START;
	l->slow_start = 1;
	l->ceiling = 0;
	l->hold = 1;
	l->held = 0;
	l->last_cut = -HUGE_VAL;
	l->reached = 0;
	l->cuts = 0;
	clamp(l);
}

void tw_limit_set_cap(struct tw_limit *l, int cap)
{
	l->cap = cap < 1 ? 1 : cap;
	clamp(l);
}

int tw_limit_allowed(const struct tw_limit *l)
{
	int n = (int)l->window;
	return n < 1 ? 1 : n > l->cap ? l->cap : n;
}

void tw_limit_ok(struct tw_limit *l, int wanted)
{
	double next;

	if (!wanted)
		return;
	next = l->slow_start ? l->window + 1 : l->window + 1 / l->window;
	/* at the ceiling: `hold` round trips (of `ceiling` answers each) before one more */
	if (!l->slow_start && l->ceiling && next > l->ceiling && l->held < (long)l->hold * l->ceiling) {
		if (l->window >= l->ceiling)
			l->held++;
		next = l->window > l->ceiling ? l->window : l->ceiling;
	}
	l->window = next;
	clamp(l);
}

int tw_limit_throttled(struct tw_limit *l, double sent, int took, int retry_after, double now)
{
	if (sent < l->last_cut)
		return 0;       /* sent before the last change: its burst was answered */
	if (took < 0)
		took = 0;
	if (!retry_after && !l->slow_start && l->ceiling && took >= l->ceiling) {
		/* a try past the ceiling: the host takes what it took, no more; try again later */
		l->ceiling = took;
		l->window = took;
		l->hold = l->hold * 2 > TW_LIMIT_HOLD_MAX ? TW_LIMIT_HOLD_MAX : l->hold * 2;
	} else {
		/* the end of slow start, fewer than before (someone else uses the account), or
		 * the server asks to wait: multiplicative decrease */
		l->window = (took < l->window ? took : l->window) * TW_LIMIT_DECREASE;
		l->ceiling = took > 0 ? took : 1;
		l->hold = 1;
	}
	l->slow_start = 0;
	l->held = 0;
	l->last_cut = now;
	l->cuts++;
	clamp(l);
	return 1;
}
