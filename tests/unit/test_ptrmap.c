/* test_ptrmap.c - the pointer map */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "twprov/ptrmap.h"

static void test_put_get_replace_grow(void **state)
{
	struct tw_ptrmap m = TW_PTRMAP_INIT;
	static char keys[5000];
	(void)state;

	assert_null(tw_ptrmap_get(&m, &keys[0]));     /* empty: no slots at all */
	for (size_t i = 0; i < 5000; i++)
		tw_ptrmap_put(&m, &keys[i], (void *)(uintptr_t)(i + 1));
	assert_int_equal(m.n, 5000);
	assert_true(m.n * 4 <= m.cap * 3);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal((uintptr_t)tw_ptrmap_get(&m, &keys[i]), i + 1);
	/* a key put again keeps one entry with the new value */
	tw_ptrmap_put(&m, &keys[7], (void *)(uintptr_t)99);
	assert_int_equal(m.n, 5000);
	assert_int_equal((uintptr_t)tw_ptrmap_get(&m, &keys[7]), 99);
	/* keys are pointers: neighbours and NULL are not there */
	assert_null(tw_ptrmap_get(&m, (char *)&m));
	assert_null(tw_ptrmap_get(&m, NULL));
	tw_ptrmap_put(&m, NULL, (void *)1);
	assert_int_equal(m.n, 5000);
	tw_ptrmap_release(&m);
	assert_null(tw_ptrmap_get(&m, &keys[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
