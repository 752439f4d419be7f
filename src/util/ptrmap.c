/* ptrmap.c - a hash map from pointers to pointers */
#include <stdint.h>
#include <stdlib.h>

#include "twprov/buf.h"
#include "twprov/ptrmap.h"

static size_t slot(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key;
	h ^= h >> 33;           /* mix the bits (murmur3's finaliser) */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static void grow(struct tw_ptrmap *m)
{
	struct tw_ptrmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->keys = tw_xcalloc(m->cap, sizeof(*m->keys));
	m->vals = tw_xcalloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			tw_ptrmap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void tw_ptrmap_put(struct tw_ptrmap *m, const void *key, void *val)
{
	size_t i;

	if (!key)
		return;
	if ((m->n + 1) * 4 > m->cap * 3)      /* at most 3/4 full */
		grow(m);
	for (i = slot(key, m->cap); m->keys[i] && m->keys[i] != key; i = (i + 1) & (m->cap - 1))
		;
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->n++;
	}
	m->vals[i] = val;
}

void *tw_ptrmap_get(const struct tw_ptrmap *m, const void *key)
{
	if (!key || !m->cap)
		return NULL;
	for (size_t i = slot(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NULL;
}

void tw_ptrmap_release(struct tw_ptrmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->n = m->cap = 0;
}
