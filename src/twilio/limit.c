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
	l->oks = 0;
	l->last_cut = -HUGE_VAL;
	l->reached = 0;
	l->cuts = 0;
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

	l->oks++;
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

int tw_limit_throttled(struct tw_limit *l, double sent, int in_flight, int retry_after, double now)
{
	if (in_flight < 0)
		in_flight = 0;
	/* Whenever it was sent, the host took no more than are in flight now (fewer
	 * when some of those are still on their way, as in a burst), and the refused
	 * request waits for another answer. */
	if (sent < l->last_cut) {
		/* the rest of the burst that the last change answered: no new change, but
		 * the bound tightens as its 429s come back */
		if (l->window > in_flight)
			l->window = in_flight;
		if (l->ceiling > in_flight)
			l->ceiling = in_flight > 0 ? in_flight : 1;
		clamp(l);
		return 0;
	}
	if (!retry_after && (l->slow_start || (l->oks && in_flight >= TW_LIMIT_DECREASE * l->ceiling))) {
		/* the first 429, a try past the ceiling, or one about the ceiling: the host
		 * takes what it took, no more.  A refused request was not processed: unlike
		 * TCP there is no queue to drain.  After a failed try past the ceiling the
		 * next waits twice as long. */
		if (!l->slow_start && tw_limit_allowed(l) > l->ceiling)
			l->hold = l->hold * 2 > TW_LIMIT_HOLD_MAX ? TW_LIMIT_HOLD_MAX : l->hold * 2;
		l->window = in_flight;
	} else {
		/* clearly fewer than before (someone else uses the account), a 429 again
		 * before any other answer, or the server asks to wait: multiplicative
		 * decrease */
		l->window = (in_flight < l->window ? in_flight : l->window) * TW_LIMIT_DECREASE;
		l->hold = 1;
	}
	l->ceiling = in_flight > 0 ? in_flight : 1;
	l->slow_start = 0;
	l->held = 0;
	l->oks = 0;
	l->last_cut = now;
	l->cuts++;
	clamp(l);
	return 1;
}
