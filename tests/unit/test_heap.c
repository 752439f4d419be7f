/* test_heap.c - tw_heap_init marks the top of malloc's heap for huge pages */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "twprov/buf.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef UNDER_SANITIZER
/* The VmFlags of the mapping that holds address a (from /proc/self/smaps), or "" if
 * none; *heap: whether that mapping is the brk heap. */
static void vmflags_of(uintptr_t a, char *out, size_t outlen, int *heap)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int inside = 0;

	*heap = 0;
	out[0] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		/* a mapping starts with "lo-hi perms ..."; its fields are "Name: value" */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
			inside = a >= lo && a < hi;
			if (inside)
				*heap = strstr(line, "[heap]") != NULL;
			continue;
		}
		if (inside && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, outlen, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}
#endif

static void test_top_of_heap_is_marked_and_large_blocks_come_from_it(void **state)
{
	int marked = tw_heap_init();
	(void)state;

#ifdef UNDER_SANITIZER
	/* the sanitizer's malloc ignores mallopt: nothing to mark */
	assert_int_equal(marked, 0);
#else
	uintptr_t top = (uintptr_t)sbrk(0);
	char flags[512], *big;
	int heap;

	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) < 0) {
		/* a kernel without transparent huge pages refuses the hint */
		assert_int_equal(marked, 0);
		return;
	}
	assert_int_equal(marked, 1);
	/* the madvise()d range ends at the top of the heap */
	vmflags_of(top - 1, flags, sizeof(flags), &heap);
	assert_true(heap);
	assert_non_null(strstr(flags, " hg"));
	/* a 1 MB block (a page of 1000 numbers) comes from the heap, not from mmap() */
	big = malloc((size_t)1 << 20);
	assert_non_null(big);
	memset(big, 1, (size_t)1 << 20);
	vmflags_of((uintptr_t)big, flags, sizeof(flags), &heap);
	assert_true(heap);
	free(big);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_of_heap_is_marked_and_large_blocks_come_from_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
