/* test_kinds.c - the registry is consistent and every kind and field is documented */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/kind.h"

/*
 * A kind that exists only in the file (devices): no API paths, SID or
 * association; every field twprov-only (never sent, never read back); at
 * most one identity (none: its items are told apart by position).
 */
static void check_local_kind(const struct tw_kind *k, size_t i)
{
	int ids = 0;
	assert_null(k->collection);
	assert_null(k->item);
	assert_null(k->list_key);
	assert_null(k->sid_prefix);
	assert_false(k->flags & TW_K_ASSOC);
	assert_null(k->create_guard);
	assert_null(k->delete_guard);
	if (k->parent) {
		const struct tw_kind *p = tw_kind_find(k->parent);
		assert_non_null(p);
		assert_true(tw_kind_index(p) < i);
	}
	for (size_t f = 0; f < k->nfields; f++) {
		const struct tw_field *fd = &k->fields[f];
		assert_true(fd->flags & TW_F_LOCAL);
		assert_null(fd->param);
		assert_null(fd->json);
		assert_null(fd->endpoint);
		if (fd->ref)
			assert_non_null(tw_kind_find(fd->ref));
		assert_true(fd->type != TW_V_BOOL || !fd->check);
		ids += !!(fd->flags & TW_F_IDENTITY);
	}
	assert_true(ids <= 1);
	assert_true(k->nfields <= 64);
}

static void test_local_kind_present(void **state)
{
	const struct tw_kind *k = tw_kind_find("devices");
	(void)state;
	/* the registry holds a kind with neither identity nor API paths, and the check above covers it */
	assert_non_null(k);
	assert_true(k->flags & TW_K_LOCAL);
	assert_int_equal(tw_kind_identity(k), -1);
	assert_null(k->collection);
}

/* Settings (TW_K_SETTING): no SID, a list of items with an identity, or one object at `item`. */
static void check_setting_kind(const struct tw_kind *k)
{
	assert_null(k->sid_prefix);
	assert_false(k->flags & TW_K_ASSOC);
	assert_false(k->flags & TW_K_CREATE_FIRST);
	if (k->collection) {
		int id = tw_kind_identity(k);
		assert_non_null(k->list_key);
		assert_true(id >= 0);
		assert_non_null(k->fields[id].json);
	} else {
		assert_true(k->flags & TW_K_SINGLE);
		assert_non_null(k->item);
		assert_null(strstr(k->item, "{Sid}"));
	}
	/* no item with a SID to update: a list of settings is written in batches */
	if (k->collection)
		assert_non_null(k->bulk);
	if (k->bulk) {
		assert_non_null(k->bulk->path);
		assert_non_null(k->bulk->param);
		assert_non_null(k->bulk->id_key);
		assert_true(k->bulk->max > 0);
	}
	for (size_t f = 0; f < k->nfields; f++)
		if (!(k->fields[f].flags & (TW_F_LOCAL | TW_F_IDENTITY)))
			assert_non_null(k->fields[f].param);
}

static void test_registry_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < tw_nkinds; i++) {
		const struct tw_kind *k = tw_kinds[i];
		assert_ptr_equal(tw_kind_find(k->name), k);
		if (k->flags & TW_K_LOCAL) {
			check_local_kind(k, i);
			continue;
		}
		if (k->flags & TW_K_SETTING) {
			check_setting_kind(k);
			continue;
		}
		assert_non_null(k->collection);
		assert_non_null(k->item);
		assert_non_null(k->list_key);
		assert_int_equal(strlen(k->sid_prefix), 2);
		if (k->parent) {
			const struct tw_kind *p = tw_kind_find(k->parent);
			assert_non_null(p);
			/* parents come first in the table */
			assert_true(tw_kind_index(p) < i);
			assert_non_null(strstr(k->collection, "{ParentSid}"));
		} else {
			assert_null(strstr(k->collection, "{ParentSid}"));
		}
		assert_non_null(strstr(k->item, "{Sid}"));
		if (k->flags & TW_K_ASSOC) {
			assert_non_null(tw_kind_find(k->assoc_ref));
			assert_non_null(k->assoc_param);
			assert_int_equal(tw_kind_identity(k), -1);
		} else {
			/* exactly one identity field, readable from the API */
			int id = tw_kind_identity(k), n = 0;
			assert_true(id >= 0);
			for (size_t f = 0; f < k->nfields; f++)
				n += !!(k->fields[f].flags & TW_F_IDENTITY);
			assert_int_equal(n, 1);
			assert_non_null(k->fields[id].json);
		}
		for (size_t f = 0; f < k->nfields; f++) {
			const struct tw_field *fd = &k->fields[f];
			if (fd->ref)
				assert_non_null(tw_kind_find(fd->ref));
			if (fd->flags & TW_F_SECRET)
				assert_null(fd->json); /* write-only: never read back */
			if (!(fd->flags & TW_F_LOCAL))
				assert_non_null(fd->param);
			assert_true(fd->type != TW_V_BOOL || !fd->check);
			if (fd->flags & TW_F_DEFER)
				assert_int_equal(fd->type, TW_V_REF);
			if (fd->endpoint)
				assert_non_null(strstr(fd->endpoint, "{Sid}"));
			if (fd->settle) {
				/* polled on the item, written on it, cleared with "" */
				assert_non_null(fd->settle->json);
				assert_non_null(fd->settle->set);
				assert_non_null(fd->settle->cleared);
				assert_true(fd->settle->timeout_s > 0);
				assert_null(fd->endpoint);
			}
			if (fd->flags & TW_F_BLOCKS_DELETE)
				assert_int_equal(fd->type, TW_V_REF);
			if (fd->flags & TW_F_WRITE_ONLY)
				assert_null(fd->json);
		}
		if (k->create_requires) {
			const struct tw_field *req = tw_kind_field(k, k->create_requires);
			assert_non_null(req);
			assert_int_equal(req->type, TW_V_BOOL);
			assert_true(req->flags & TW_F_LOCAL);
		}
		assert_true(k->nfields <= 64); /* bit masks (sensitive, omit) */
	}
}

/* The children table covers the whole registry: every kind is the child of exactly one row
 * (its parent's, or the top level's), however many kinds a parent has. */
static void test_children_table(void **state)
{
	size_t total = 0, n;
	const struct tw_kind *const *kids;
	static const struct tw_kind unregistered = { .name = "not_registered" };

	(void)state;
	kids = tw_kind_children(NULL, &n);
	for (size_t i = 0; i < n; i++)
		assert_null(kids[i]->parent);
	total += n;
	for (size_t p = 0; p < tw_nkinds; p++) {
		kids = tw_kind_children(tw_kinds[p], &n);
		assert_true(n < tw_nkinds);
		for (size_t i = 0; i < n; i++) {
			assert_non_null(kids[i]->parent);
			assert_string_equal(kids[i]->parent, tw_kinds[p]->name);
			/* registry order */
			assert_true(i == 0 || tw_kind_index(kids[i - 1]) < tw_kind_index(kids[i]));
		}
		total += n;
	}
	assert_int_equal(total, tw_nkinds);
	tw_kind_children(&unregistered, &n);
	assert_int_equal(n, 0);
}

static const struct tw_kind *top_of(const struct tw_kind *k)
{
	while (k->parent)
		k = tw_kind_find(k->parent);
	return k;
}

/* What the plan replaces (a new SID) rather than updates (plan.c, diff_fields). */
static int replaceable(const struct tw_kind *k)
{
	if (k->flags & TW_K_NO_UPDATE)
		return 1;
	for (size_t f = 0; f < k->nfields; f++)
		if (k->fields[f].flags & TW_F_IMMUTABLE)
			return 1;
	return 0;
}

/* Are r's resources diffed before k's?  The plan goes through the top-level kinds in the
 * registry's order, each with its descendants (match_level); within one top-level kind a
 * resource that is k itself or one of its ancestors is replaced together with it. */
static int diffed_before(const struct tw_kind *r, const struct tw_kind *k)
{
	const struct tw_kind *a;

	if (top_of(r) != top_of(k))
		return tw_kind_index(top_of(r)) < tw_kind_index(top_of(k));
	for (a = k; a; a = a->parent ? tw_kind_find(a->parent) : NULL)
		if (a == r)
			return 1;
	return 0;
}

static void check_replaced_first(const struct tw_kind *r, const struct tw_kind *k, const struct tw_field *fd)
{
	if (replaceable(r) && !diffed_before(r, k))
		fail_msg("%s.%s may refer to %s, which a plan may replace, but is diffed before them: move %s "
			 "after %s in the registry", k->name, fd->name, r->name, top_of(k)->name, top_of(r)->name);
}

/*
 * A reference sees that its target is replaced (the same name, a new SID: the
 * reference must move) only when the target was diffed first.  So every kind
 * a plan may replace comes before the kinds that refer to it: by a field, or
 * by a value written as a mapping (a deployed path names a service and what
 * is in it; a SID written {sid_of: KIND/NAME} any top-level resource).
 */
static void test_replaced_targets_are_diffed_first(void **state)
{
	(void)state;
	for (size_t i = 0; i < tw_nkinds; i++) {
		const struct tw_kind *k = tw_kinds[i];
		for (size_t f = 0; f < k->nfields; f++) {
			const struct tw_field *fd = &k->fields[f];
			if (fd->flags & TW_F_LOCAL)
				continue;
			if (fd->ref && (fd->type == TW_V_REF || fd->type == TW_V_REFLIST))
				check_replaced_first(tw_kind_find(fd->ref), k, fd);
			if (!fd->objval)
				continue;
			for (size_t j = 0; j < tw_nkinds; j++) {
				const struct tw_kind *r = tw_kinds[j];
				const struct tw_kind *named = fd->objval->ref_kind ? tw_kind_find(fd->objval->ref_kind) : NULL;
				/* what the mapping may name: that kind and what is in it, or any top-level resource */
				if (named ? top_of(r) == named : !r->parent)
					check_replaced_first(r, k, fd);
			}
		}
	}
	/* the check itself: environments are replaced, and variables are in them */
	assert_true(replaceable(tw_kind_find("environments")));
	assert_true(diffed_before(tw_kind_find("environments"), tw_kind_find("variables")));
	assert_false(diffed_before(tw_kind_find("phone_numbers"), tw_kind_find("addresses")));
}

static void test_path_expand(void **state)
{
	char *p = tw_path_expand("/2010-04-01/Accounts/{AccountSid}/SIP/CredentialLists/{ParentSid}/Credentials/{Sid}.json",
				 "ACx", "CLy", NULL, "CRz");
	(void)state;
	assert_string_equal(p, "/2010-04-01/Accounts/ACx/SIP/CredentialLists/CLy/Credentials/CRz.json");
	free(p);
	p = tw_path_expand("/v1/Services/{GrandParentSid}/Environments/{ParentSid}/Variables", NULL, "ZE1", "ZS1", NULL);
	assert_string_equal(p, "/v1/Services/ZS1/Environments/ZE1/Variables");
	free(p);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct tw_buf b = TW_BUF_INIT;
	char chunk[4096];
	size_t n;
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tw_buf_add(&b, chunk, n);
	fclose(f);
	return tw_buf_detach(&b);
}

/* Is `word` a bold token of the man page (a ".B"/".BR" line naming it)? */
static int documented(const char *man, const char *word)
{
	for (const char *line = man; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[512];
		if (strncmp(line, ".B", 2) || len >= sizeof(buf))
			continue;
		memcpy(buf, line, len);
		buf[len] = '\0';
		for (char *tok = strtok(buf + 3, " \","); tok; tok = strtok(NULL, " \","))
			if (!strcmp(tok, word))
				return 1;
	}
	return 0;
}

/* The man page documents every kind and every field in bold, where it is described. */
static void test_every_field_documented(void **state)
{
	char *man = slurp("../../man/twprov.yaml.5");
	(void)state;
	for (size_t i = 0; i < tw_nkinds; i++) {
		const struct tw_kind *k = tw_kinds[i];
		if (!documented(man, k->name) && !strstr(man, k->name))
			fail_msg("man/twprov.yaml.5 does not document kind %s", k->name);
		for (size_t f = 0; f < k->nfields; f++)
			if (!documented(man, k->fields[f].name))
				fail_msg("man/twprov.yaml.5 does not document %s.%s", k->name, k->fields[f].name);
	}
	assert_false(documented(man, "no_such_field_anywhere"));
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_consistent),
		cmocka_unit_test(test_local_kind_present),
		cmocka_unit_test(test_path_expand),
		cmocka_unit_test(test_children_table),
		cmocka_unit_test(test_replaced_targets_are_diffed_first),
		cmocka_unit_test(test_every_field_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
