/* heap.c - ask the kernel for huge pages under malloc's heap */
#include <stdint.h>
#include <stdlib.h>

#include "twprov/buf.h"

#if defined(__GLIBC__) && defined(__linux__)
#if __GLIBC_PREREQ(2, 33)
#define TW_HEAP_HINT 1
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif
#endif

/*
 * A plan of a large account allocates a few tens of megabytes (the YAML tree,
 * the declared and live models, API pages) in many small pieces, and with 4 KB
 * pages the first touch of each page is a page fault: on a virtual machine that
 * was more than half of twprov's CPU time (about 7,800 faults for the 11,800
 * resources of tests/bench).  glibc can place its heap on transparent huge
 * pages, but only when told so through GLIBC_TUNABLES before the process
 * starts; this does the same from inside: keep 32 MB of address space at the
 * top of the brk heap (M_TOP_PAD, also so that free() does not hand it back to
 * be faulted in again), mark that range MADV_HUGEPAGE, and serve blocks of up
 * to 8 MB from it rather than from mmap().  The kernel then backs the range
 * with 2 MB pages as it is touched, where transparent huge pages are enabled
 * ("madvise" or "always"); elsewhere the call fails and nothing changes.  The
 * heap beyond those 32 MB (an apply of a large account) has ordinary pages.
 * Memory is not committed before it is used.  Under valgrind or a sanitizer,
 * whose malloc does not use this heap, the hint finds nothing to mark.
 * (mallinfo2 needs glibc 2.33; elsewhere this does nothing.)
 */
int tw_heap_init(void)
{
#if defined(TW_HEAP_HINT) && defined(MADV_HUGEPAGE)
	const size_t pad = (size_t)32 << 20, huge = (size_t)2 << 20;
	struct mallinfo2 mi;
	uintptr_t lo, hi;

	/* large blocks (API pages, the file) from the heap too, not mmap()ed and
	   faulted in afresh each time */
	if (!mallopt(M_MMAP_THRESHOLD, (int)(4 * huge)) || !mallopt(M_TOP_PAD, (int)pad) ||
	    !mallopt(M_TRIM_THRESHOLD, (int)(2 * pad)))
		return 0;
	mi = mallinfo2();
	if (mi.keepcost < pad) {
		/* more than the top holds: grows it by the pad (volatile: a compiler
		   may drop a malloc() whose result is only freed) */
		void *volatile p = malloc(mi.keepcost + 64);
		free(p);
	}
	mi = mallinfo2();
	hi = (uintptr_t)sbrk(0);
	if (hi == (uintptr_t)-1 || mi.keepcost < huge || mi.keepcost > hi)
		return 0;
	lo = (hi - mi.keepcost + huge - 1) & ~(huge - 1);
	return hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
#else
	return 0;
#endif
}
