/* test_limit.c - the limit of requests in flight per host: slow start, AIMD, the ceiling, the cap */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "twprov/limit.h"

/* `n` answers while requests wait for room */
static void oks(struct tw_limit *l, int n)
{
	for (int i = 0; i < n; i++)
		tw_limit_ok(l, 1);
}

static void test_start_and_cap(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	assert_int_equal(tw_limit_allowed(&l), TW_LIMIT_START);
	assert_int_equal(l.slow_start, 1);
	assert_int_equal(l.ceiling, 0);
	assert_int_equal(l.reached, TW_LIMIT_START);
	/* a cap below the start is the start */
	tw_limit_init(&l, 4);
	assert_int_equal(tw_limit_allowed(&l), 4);
	tw_limit_init(&l, 0);
	assert_int_equal(tw_limit_allowed(&l), 1);
	assert_int_equal(l.cap, 1);
}

static void test_slow_start_doubles_per_round_trip(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 1024);
	/* a round trip is a window's worth of answers: each doubles the window */
	for (int w = TW_LIMIT_START; w < 512; w *= 2) {
		assert_int_equal(tw_limit_allowed(&l), w);
		oks(&l, w);
		assert_int_equal(tw_limit_allowed(&l), 2 * w);
	}
	assert_int_equal(l.reached, 512);
	assert_int_equal(l.slow_start, 1);
	/* up to the cap, not past it, and still in slow start (no 429 seen) */
	oks(&l, 5000);
	assert_int_equal(tw_limit_allowed(&l), 1024);
	assert_int_equal(l.slow_start, 1);
	assert_int_equal(l.cuts, 0);
}

static void test_unused_window_does_not_grow(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	/* answers while nothing waits (a few requests, far below the window) */
	for (int i = 0; i < 1000; i++)
		tw_limit_ok(&l, 0);
	assert_int_equal(tw_limit_allowed(&l), TW_LIMIT_START);
	/* the same after slow start */
	assert_int_equal(tw_limit_throttled(&l, 0, 10, 0, 1), 1);
	int w = tw_limit_allowed(&l);
	for (int i = 0; i < 1000; i++)
		tw_limit_ok(&l, 0);
	assert_int_equal(tw_limit_allowed(&l), w);
}

/* From the start, answers until the window allows `n` (slow start: one more per answer). */
static void grow_to(struct tw_limit *l, int n)
{
	oks(l, n - tw_limit_allowed(l));
	assert_int_equal(tw_limit_allowed(l), n);
}

static void test_first_429_ends_slow_start_at_what_the_host_took(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	grow_to(&l, 64);
	/* the host took 40 and refused one more: it was not processed, there is
	 * nothing to drain, the window is what the host takes */
	assert_int_equal(tw_limit_throttled(&l, 10.0, 40, 0, 10.1), 1);
	assert_int_equal(l.slow_start, 0);
	assert_int_equal(l.ceiling, 40);
	assert_int_equal(tw_limit_allowed(&l), 40);
	assert_int_equal(l.hold, 1);
	assert_int_equal(l.cuts, 1);
	assert_int_equal(l.reached, 64);
}

static void test_one_cut_per_burst(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	grow_to(&l, 64);
	assert_int_equal(tw_limit_throttled(&l, 10.0, 40, 0, 10.1), 1);
	/* the rest of the burst (sent before the change) is answered 429 too: no change,
	 * nor any while more than the window are still in flight */
	for (int i = 0; i < 20; i++)
		assert_int_equal(tw_limit_throttled(&l, 10.05, 45 - i / 4, 0, 10.1 + i * 0.001), 0);
	assert_int_equal(tw_limit_allowed(&l), 40);
	assert_int_equal(l.ceiling, 40);
	assert_int_equal(l.cuts, 1);
	/* ... only the bound tightens, to what is left in flight */
	assert_int_equal(tw_limit_throttled(&l, 10.05, 38, 0, 10.2), 0);
	assert_int_equal(tw_limit_allowed(&l), 38);
	assert_int_equal(l.ceiling, 38);
	assert_int_equal(l.cuts, 1);
	/* a request sent after it is a new signal: a 429 again before any other answer,
	 * fewer than the ceiling: a decrease */
	assert_int_equal(tw_limit_throttled(&l, 10.2, 20, 0, 10.3), 1);
	assert_int_equal(l.ceiling, 20);
	assert_int_equal(tw_limit_allowed(&l), 18);
	assert_int_equal(l.cuts, 2);
}

/* Answers until the window allows more than now (at most `max`). */
static long answers_to_grow(struct tw_limit *l, long max)
{
	int w = tw_limit_allowed(l);
	long n = 0;

	while (tw_limit_allowed(l) == w && n < max) {
		tw_limit_ok(l, 1);
		n++;
	}
	return n;
}

static void test_additive_increase_then_hold_then_probe(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	grow_to(&l, 40);
	tw_limit_throttled(&l, 1, 40, 0, 1);   /* ceiling 40 */
	tw_limit_throttled(&l, 2, 30, 0, 2);   /* the account takes fewer: 27 allowed, ceiling 30 */
	assert_int_equal(tw_limit_allowed(&l), 27);
	assert_int_equal(l.ceiling, 30);
	/* additive: one request more per round trip (a window's worth of answers) */
	for (int w = 27; w < 30; w++) {
		long n = answers_to_grow(&l, 1000);
		assert_true(n >= w - 1 && n <= w + 1);
		assert_int_equal(tw_limit_allowed(&l), w + 1);
	}
	/* at the ceiling: one round trip (hold 1) of answers there, then a round trip to 31 */
	long n = answers_to_grow(&l, 1000);
	assert_true(n >= 30 + 29 && n <= 30 + 31);
	assert_int_equal(tw_limit_allowed(&l), 31);
	assert_int_equal(l.reached, 40);
	/* past the ceiling the increase goes on, a request per round trip */
	n = answers_to_grow(&l, 1000);
	assert_true(n >= 30 && n <= 32);
	assert_int_equal(tw_limit_allowed(&l), 32);
}

static void test_failed_probe_goes_back_and_waits_longer(void **state)
{
	struct tw_limit l;
	double t = 1;
	(void)state;

	tw_limit_init(&l, 256);
	tw_limit_throttled(&l, t, 8, 0, t);    /* the first 429: ceiling 8 */
	for (int hold = 1; hold <= 2 * TW_LIMIT_HOLD_MAX; hold *= 2) {
		int expect = hold > TW_LIMIT_HOLD_MAX ? TW_LIMIT_HOLD_MAX : hold;
		long n = 0;
		assert_int_equal(l.hold, expect);
		/* count the answers until it tries 9 */
		while (tw_limit_allowed(&l) <= 8 && n < 100000) {
			tw_limit_ok(&l, 1);
			n++;
		}
		assert_int_equal(tw_limit_allowed(&l), 9);
		/* at least `hold` round trips of 8 answers at the ceiling (plus the climb to it) */
		assert_true(n >= (long)expect * 8);
		assert_true(n <= (long)expect * 8 + 3 * 9);
		/* the try fails: the host took 8; back to 8, no cut below it */
		t += 1;
		assert_int_equal(tw_limit_throttled(&l, t, 8, 0, t), 1);
		assert_int_equal(tw_limit_allowed(&l), 8);
		assert_int_equal(l.ceiling, 8);
	}
	assert_int_equal(l.hold, TW_LIMIT_HOLD_MAX);
}

static void test_fewer_than_before_cuts_and_forgets_the_wait(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	grow_to(&l, 64);
	tw_limit_throttled(&l, 1, 50, 0, 1);   /* ceiling 50 */
	oks(&l, 2000);
	tw_limit_throttled(&l, 2, 50, 0, 2);   /* a failed try: hold 2 */
	assert_int_equal(l.hold, 2);
	assert_int_equal(tw_limit_allowed(&l), 50);
	/* now the account takes 20 (another client uses it): multiplicative decrease */
	assert_int_equal(tw_limit_throttled(&l, 3, 20, 0, 3), 1);
	assert_int_equal(tw_limit_allowed(&l), 18);
	assert_int_equal(l.ceiling, 20);
	assert_int_equal(l.hold, 1);
	/* and again: a storm of 429s brings it down to one, never below */
	for (int i = 0; i < 100; i++)
		tw_limit_throttled(&l, 4 + i, tw_limit_allowed(&l) - 1, 0, 4 + i);
	assert_int_equal(tw_limit_allowed(&l), 1);
	assert_int_equal(l.ceiling, 1);
	/* a 429 with nothing else in flight: the ceiling stays 1, the window 1 */
	assert_int_equal(tw_limit_throttled(&l, 200, 0, 0, 200), 1);
	assert_int_equal(tw_limit_allowed(&l), 1);
	assert_int_equal(l.ceiling, 1);
	assert_true(l.reached > 64);    /* past the ceiling of 50 before */
}

static void test_a_burst_comes_down_to_what_is_in_flight(void **state)
{
	struct tw_limit l;
	(void)state;

	/* the end of slow start: 38 of ours in flight when the first 429 comes, some
	 * of them still on their way; the rest of the burst comes back 429 too and
	 * brings the window and the ceiling down to what is left: the host takes 32 */
	tw_limit_init(&l, 256);
	grow_to(&l, 39);
	assert_int_equal(tw_limit_throttled(&l, 1, 38, 0, 2), 1);
	assert_int_equal(tw_limit_allowed(&l), 38);
	for (int in_flight = 37; in_flight >= 32; in_flight--)
		assert_int_equal(tw_limit_throttled(&l, 1.5, in_flight, 0, 3), 0);
	assert_int_equal(tw_limit_allowed(&l), 32);
	assert_int_equal(l.ceiling, 32);
	assert_int_equal(l.cuts, 1);
	assert_int_equal(l.hold, 1);

	/* a 429 again before any other answer: what the host took was counted too high */
	assert_int_equal(tw_limit_throttled(&l, 4, 31, 0, 4), 1);
	assert_int_equal(tw_limit_allowed(&l), 27);
	assert_int_equal(l.ceiling, 31);

	/* about the ceiling (9/10 of it or more), after other answers: the window is
	 * what is in flight, no cut */
	oks(&l, 10);
	assert_int_equal(tw_limit_throttled(&l, 5, 28, 0, 5), 1);
	assert_int_equal(tw_limit_allowed(&l), 28);
	assert_int_equal(l.ceiling, 28);
	/* clearly fewer (less than 9/10 of it): a cut */
	oks(&l, 10);
	assert_int_equal(tw_limit_throttled(&l, 6, 25, 0, 6), 1);
	assert_int_equal(tw_limit_allowed(&l), 22);
	assert_int_equal(l.ceiling, 25);
}

static void test_retry_after_always_cuts(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	tw_limit_throttled(&l, 1, 10, 0, 1);   /* ceiling 10 */
	oks(&l, 1000);                          /* past the ceiling */
	assert_true(tw_limit_allowed(&l) > 10);
	/* at the ceiling a plain 429 would be a failed try; with Retry-After it is a cut */
	assert_int_equal(tw_limit_throttled(&l, 2, 10, 1, 2), 1);
	assert_int_equal(tw_limit_allowed(&l), 9);
	assert_int_equal(l.hold, 1);
	/* in slow start as well */
	tw_limit_init(&l, 256);
	assert_int_equal(tw_limit_throttled(&l, 1, 20, 1, 1), 1);
	assert_int_equal(tw_limit_allowed(&l), 18);
	assert_int_equal(l.slow_start, 0);
}

/*
 * A closed loop, without a network: `n` requests against a host that takes
 * `limit` at once (429 at once beyond it, as Twilio and the fake do) and
 * answers the others `rtt` after they reach it.  On their way requests take
 * up to `jitter` (uniform, from a fixed seed), so they may overtake each
 * other and what twprov counts in flight when one is refused is a request or
 * two off, as against the fake.  The requests in flight are limited by the
 * window only.  Returns the time taken; *throttled the 429s.
 */
struct flight {
	double sent, at;        /* sent; reaches the host (before: on its way) or is answered */
	int arrived, ok;
};

static double simulate(int limit, double rtt, double jitter, int n, int cap, long *throttled)
{
	struct tw_limit l;
	struct flight *f = calloc((size_t)cap, sizeof(*f));
	int inflight = 0, server = 0, pending = n, done = 0;
	unsigned long long rng = 16;
	double now = 0;
	long steps = 0;

	assert_non_null(f);
	tw_limit_init(&l, cap);
	*throttled = 0;
	while (done < n && steps++ < 100L * n) {
		/* send what the window allows */
		while (pending && inflight < tw_limit_allowed(&l)) {
			struct flight *s = &f[inflight];
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			s->sent = now;
			s->at = now + jitter * (double)(rng >> 11) / 9007199254740992.0;
			s->arrived = 0;
			inflight++;
			pending--;
		}
		/* the next event: an arrival at the host or an answer */
		int next = 0;
		for (int i = 1; i < inflight; i++)
			if (f[i].at < f[next].at)
				next = i;
		now = f[next].at;
		if (!f[next].arrived) {
			f[next].arrived = 1;
			f[next].ok = server < limit;
			server += f[next].ok;
			f[next].at = now + (f[next].ok ? rtt : rtt / 1000);    /* a 429 comes back at once */
			continue;
		}
		struct flight a = f[next];
		f[next] = f[--inflight];
		if (a.ok) {
			server--;
			done++;
			tw_limit_ok(&l, pending > 0 || inflight + 1 >= tw_limit_allowed(&l));
		} else {
			(*throttled)++;
			pending++;
			tw_limit_throttled(&l, a.sent, inflight, 0, now);
		}
	}
	assert_int_equal(done, n);
	free(f);
	return now;
}

static void test_closed_loop_finds_the_limit(void **state)
{
	/* The benchmark's three accounts (issue 16): within 1.2x of n x rtt / limit
	 * plus three round trips, at most 2% of the requests answered 429, with
	 * requests in order and overtaking each other by up to a fifth of a round
	 * trip.  Others: the same time; an account that takes one request at once
	 * answers 429 to each try past it, one every TW_LIMIT_HOLD_MAX requests, and
	 * to the first burst (when requests overtake each other, finding where that
	 * burst ended takes a few more). */
	static const struct { int limit; double rtt, max429; } acct[] = {
		{ 8, 0.05, 0.02 }, { 32, 0.2, 0.02 }, { 100, 0.8, 0.02 },
		{ 1, 0.05, 1.0 / TW_LIMIT_HOLD_MAX + 0.01 }, { 3, 0.05, 0.02 }, { 200, 0.1, 0.02 },
	};
	(void)state;

	for (int j = 0; j < 2; j++) {
		for (size_t i = 0; i < sizeof(acct) / sizeof(acct[0]); i++) {
			long throttled;
			int n = 12000;
			double jitter = j ? acct[i].rtt / 5 : 0;
			double t = simulate(acct[i].limit, acct[i].rtt, jitter, n, 256, &throttled);
			double bound = n * (acct[i].rtt + jitter / 2) / acct[i].limit + 3 * acct[i].rtt;
			printf("limit %3d, jitter %3.0f ms: %.1f s (bound %.1f s, %.3fx), %ld 429s (%.2f%%)\n",
			       acct[i].limit, jitter * 1000, t, bound, t / bound, throttled, 100.0 * throttled / n);
			assert_true(t <= 1.2 * bound);
			assert_true(throttled <= acct[i].max429 * n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_cap),
		cmocka_unit_test(test_slow_start_doubles_per_round_trip),
		cmocka_unit_test(test_unused_window_does_not_grow),
		cmocka_unit_test(test_first_429_ends_slow_start_at_what_the_host_took),
		cmocka_unit_test(test_one_cut_per_burst),
		cmocka_unit_test(test_additive_increase_then_hold_then_probe),
		cmocka_unit_test(test_failed_probe_goes_back_and_waits_longer),
		cmocka_unit_test(test_fewer_than_before_cuts_and_forgets_the_wait),
		cmocka_unit_test(test_a_burst_comes_down_to_what_is_in_flight),
		cmocka_unit_test(test_retry_after_always_cuts),
		cmocka_unit_test(test_closed_loop_finds_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
