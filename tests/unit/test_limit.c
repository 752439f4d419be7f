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

static void test_first_429_ends_slow_start_with_a_cut(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	oks(&l, 16 + 32);               /* 64 allowed */
	assert_int_equal(tw_limit_allowed(&l), 64);
	/* the host took 40 and refused one more */
	assert_int_equal(tw_limit_throttled(&l, 10.0, 40, 0, 10.1), 1);
	assert_int_equal(l.slow_start, 0);
	assert_int_equal(l.ceiling, 40);
	assert_int_equal(tw_limit_allowed(&l), (int)(40 * TW_LIMIT_DECREASE));
	assert_int_equal(l.cuts, 1);
	assert_int_equal(l.reached, 64);
}

static void test_one_cut_per_burst(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	oks(&l, 16 + 32);
	assert_int_equal(tw_limit_throttled(&l, 10.0, 40, 0, 10.1), 1);
	int w = tw_limit_allowed(&l);
	/* the rest of the burst (sent before the cut) is answered 429 too: no further cut */
	for (int i = 0; i < 20; i++)
		assert_int_equal(tw_limit_throttled(&l, 10.05, 30 - i, 0, 10.1 + i * 0.001), 0);
	assert_int_equal(tw_limit_allowed(&l), w);
	assert_int_equal(l.ceiling, 40);
	assert_int_equal(l.cuts, 1);
	/* a request sent after it is a new signal */
	assert_int_equal(tw_limit_throttled(&l, 10.2, 20, 0, 10.3), 1);
	assert_int_equal(l.ceiling, 20);
	assert_int_equal(tw_limit_allowed(&l), 18);
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
	oks(&l, 16);
	assert_int_equal(tw_limit_throttled(&l, 1, 30, 0, 1), 1);     /* 27 allowed, ceiling 30 */
	assert_int_equal(tw_limit_allowed(&l), 27);
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
	assert_int_equal(l.reached, 32);        /* slow start's 16 answers made it 32 */
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
	oks(&l, 16);
	tw_limit_throttled(&l, t, 8, 0, t);     /* ceiling 8 */
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
	oks(&l, 16 + 32);
	tw_limit_throttled(&l, 1, 50, 0, 1);    /* ceiling 50, 45 allowed */
	oks(&l, 2000);
	tw_limit_throttled(&l, 2, 50, 0, 2);    /* a failed try: hold 2 */
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
	assert_true(l.reached > 50);
}

static void test_retry_after_always_cuts(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	oks(&l, 16);
	tw_limit_throttled(&l, 1, 10, 0, 1);    /* ceiling 10 */
	oks(&l, 1000);                          /* past the ceiling */
	assert_true(tw_limit_allowed(&l) > 10);
	/* at the ceiling a plain 429 would be a failed try; with Retry-After it is a cut */
	assert_int_equal(tw_limit_throttled(&l, 2, 10, 1, 2), 1);
	assert_int_equal(tw_limit_allowed(&l), 9);
	assert_int_equal(l.hold, 1);
	/* in slow start as well */
	tw_limit_init(&l, 256);
	assert_int_equal(tw_limit_throttled(&l, 1, 16, 1, 1), 1);
	assert_int_equal(tw_limit_allowed(&l), 14);
}

static void test_cap_lowered_and_raised(void **state)
{
	struct tw_limit l;
	(void)state;

	tw_limit_init(&l, 256);
	oks(&l, 16 + 32);
	assert_int_equal(tw_limit_allowed(&l), 64);
	tw_limit_set_cap(&l, 8);
	assert_int_equal(tw_limit_allowed(&l), 8);
	oks(&l, 1000);
	assert_int_equal(tw_limit_allowed(&l), 8);
	/* what was learnt stays: still in slow start, so it doubles again up to the new cap */
	tw_limit_set_cap(&l, 100);
	assert_int_equal(tw_limit_allowed(&l), 8);
	oks(&l, 8 + 16 + 32);
	assert_int_equal(tw_limit_allowed(&l), 64);
	oks(&l, 64);
	assert_int_equal(tw_limit_allowed(&l), 100);
	tw_limit_set_cap(&l, 0);
	assert_int_equal(tw_limit_allowed(&l), 1);
}

/*
 * A closed loop, without a network: `n` requests against a host that takes
 * `limit` at once (429 at once beyond it, as Twilio and the fake do) and
 * answers the others after `rtt`.  The requests in flight are limited by the
 * window only.  Returns the time taken; *throttled the 429s.
 */
struct flight {
	double due, sent;
	int ok, took;
};

static double simulate(int limit, double rtt, int n, int cap, long *throttled)
{
	struct tw_limit l;
	struct flight *f = calloc((size_t)cap, sizeof(*f));
	int inflight = 0, server = 0, pending = n, done = 0;
	double now = 0;
	long steps = 0;

	assert_non_null(f);
	tw_limit_init(&l, cap);
	*throttled = 0;
	while (done < n && steps++ < 100L * n) {
		/* send what the window allows */
		while (pending && inflight < tw_limit_allowed(&l)) {
			struct flight *s = &f[inflight];
			s->sent = now;
			s->took = inflight;
			s->ok = server < limit;
			s->due = now + (s->ok ? rtt : rtt / 1000);     /* a 429 comes back at once */
			server += s->ok;
			inflight++;
			pending--;
		}
		/* the next answer */
		int next = 0;
		for (int i = 1; i < inflight; i++)
			if (f[i].due < f[next].due)
				next = i;
		struct flight a = f[next];
		f[next] = f[--inflight];
		now = a.due;
		if (a.ok) {
			server--;
			done++;
			tw_limit_ok(&l, pending > 0 || inflight + 1 >= tw_limit_allowed(&l));
		} else {
			(*throttled)++;
			pending++;
			tw_limit_throttled(&l, a.sent, a.took < inflight ? a.took : inflight, 0, now);
		}
	}
	assert_int_equal(done, n);
	free(f);
	return now;
}

static void test_closed_loop_finds_the_limit(void **state)
{
	/* the benchmark's three accounts (issue 16): within 1.2x of n x rtt / limit plus
	 * three round trips, at most 2% of the requests answered 429 */
	static const struct { int limit; double rtt; } acct[] = { { 8, 0.05 }, { 32, 0.2 }, { 100, 0.8 },
								     { 1, 0.05 }, { 3, 0.05 }, { 200, 0.1 } };
	(void)state;

	for (size_t i = 0; i < sizeof(acct) / sizeof(acct[0]); i++) {
		long throttled;
		int n = 12000;
		double t = simulate(acct[i].limit, acct[i].rtt, n, 256, &throttled);
		double bound = n * acct[i].rtt / acct[i].limit + 3 * acct[i].rtt;
		printf("limit %3d: %.1f s (bound %.1f s, %.3fx), %ld 429s (%.2f%%)\n", acct[i].limit, t, bound,
		       t / bound, throttled, 100.0 * throttled / n);
		assert_true(t <= 1.2 * bound);
		assert_true(throttled <= n / 50);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_cap),
		cmocka_unit_test(test_slow_start_doubles_per_round_trip),
		cmocka_unit_test(test_unused_window_does_not_grow),
		cmocka_unit_test(test_first_429_ends_slow_start_with_a_cut),
		cmocka_unit_test(test_one_cut_per_burst),
		cmocka_unit_test(test_additive_increase_then_hold_then_probe),
		cmocka_unit_test(test_failed_probe_goes_back_and_waits_longer),
		cmocka_unit_test(test_fewer_than_before_cuts_and_forgets_the_wait),
		cmocka_unit_test(test_retry_after_always_cuts),
		cmocka_unit_test(test_cap_lowered_and_raised),
		cmocka_unit_test(test_closed_loop_finds_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
