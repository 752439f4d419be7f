/* ptrmap.h - a hash map from pointers to pointers (what belongs to which resource) */
#ifndef TWPROV_PTRMAP_H
#define TWPROV_PTRMAP_H

#include <stddef.h>

/*
 * Open addressing with linear probing; keys are compared as pointers and
 * never dereferenced.  NULL keys are not stored.  Zero-initialised
 * (TW_PTRMAP_INIT) it is an empty map.
 */
struct tw_ptrmap {
	const void **keys;
	void **vals;
	size_t n, cap;      /* entries, slots (a power of two, or 0) */
};

#define TW_PTRMAP_INIT { NULL, NULL, 0, 0 }

/* Set key -> val (replacing an earlier value). */
void tw_ptrmap_put(struct tw_ptrmap *m, const void *key, void *val);
/* The value of key, or NULL. */
void *tw_ptrmap_get(const struct tw_ptrmap *m, const void *key);
void tw_ptrmap_release(struct tw_ptrmap *m);

#endif
