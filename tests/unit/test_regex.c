/* test_regex.c - route patterns: PCRE2 gives the groups JavaScript gives (the shared cases in
 * tests/node/regex-cases.json; tests/node/regex-cases.js runs them in Node), and refuses what the
 * two engines would read differently */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/checks.h"

static json_t *cases(void)
{
	json_error_t e;
	json_t *c = json_load_file("../node/regex-cases.json", 0, &e);
	if (!c)
		fail_msg("../node/regex-cases.json: %s", e.text);
	return c;
}

static void test_same_groups_as_javascript(void **state)
{
	json_t *c = cases(), *m;
	size_t i;
	(void)state;

	assert_true(json_array_size(json_object_get(c, "match")) >= 20);
	json_array_foreach(json_object_get(c, "match"), i, m) {
		const char *pattern = json_string_value(json_object_get(m, "pattern"));
		json_t *got = tw_regex_exec(pattern, json_string_value(json_object_get(m, "subject")));
		json_t *want = json_object_get(m, "groups");
		if (!json_equal(got ? got : json_null(), want)) {
			char *g = got ? json_dumps(got, 0) : strdup("null"), *w = json_dumps(want, JSON_ENCODE_ANY);
			fail_msg("%s: got %s, expected %s", pattern, g, w);
		}
		json_decref(got);
	}
	json_decref(c);
}

static void test_refused_with_a_reason(void **state)
{
	json_t *c = cases(), *r;
	size_t i;
	(void)state;

	json_array_foreach(json_object_get(c, "refused"), i, r) {
		const char *pattern = json_string_value(json_object_get(r, "pattern"));
		struct tw_buf why = TW_BUF_INIT;
		assert_int_equal(tw_regex_check(pattern, NULL, &why), -1);
		if (!strstr(why.buf, json_string_value(json_object_get(r, "why"))))
			fail_msg("%s: %s", pattern, why.buf);
		assert_null(tw_regex_exec(pattern, "123"));
		tw_buf_release(&why);
	}
	json_decref(c);
}

static void test_group_count(void **state)
{
	struct tw_buf why = TW_BUF_INIT;
	int n = -1;
	(void)state;

	assert_int_equal(tw_regex_check("^9(\\d+)$", &n, &why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(tw_regex_check("^(?:00|\\+)(\\d{2})(\\d+)$", &n, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(tw_regex_check("^1\\d\\d$", &n, &why), 0);
	assert_int_equal(n, 0);
	tw_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_groups_as_javascript),
		cmocka_unit_test(test_refused_with_a_reason),
		cmocka_unit_test(test_group_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
