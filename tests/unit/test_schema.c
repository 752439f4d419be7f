/* test_schema.c - the JSON Schema holds every kind and field of the registry, as the descriptors say */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/checks.h"
#include "twprov/kind.h"
#include "twprov/schema.h"

static json_t *schema;

static int setup(void **state)
{
	(void)state;
	schema = tw_schema();
	return schema ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(schema);
	return 0;
}

/* A schema with its "$ref" followed. */
static json_t *deref(json_t *s)
{
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	if (!ref)
		return s;
	assert_int_equal(strncmp(ref, "#/$defs/", 8), 0);
	s = json_object_get(json_object_get(schema, "$defs"), ref + 8);
	if (!s)
		fail_msg("no definition %s", ref);
	return s;
}

/* The schema of yaml_key (maybe dotted) in an object schema's properties. */
static json_t *property(json_t *obj, const char *yaml_key)
{
	char *key = tw_xstrdup(yaml_key), *save = NULL;
	json_t *s = obj;
	for (char *seg = strtok_r(key, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
		s = json_object_get(json_object_get(s, "properties"), seg);
		if (!s)
			fail_msg("no property %s (of %s)", seg, yaml_key);
	}
	free(key);
	return s;
}

static int in_array(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}

/* The item schemas of a kind's key: {present, absent} (the same when state: absent changes
 * nothing), or NULL for associations and mapped kinds. */
static void items_of(json_t *prop, json_t **present, json_t **absent)
{
	json_t *items = json_object_get(prop, "items"), *any = json_object_get(prop, "anyOf");
	*present = *absent = NULL;
	if (any) {                                  /* a single mapping: null or the item */
		*present = *absent = deref(json_array_get(any, 1));
	} else if (json_object_get(items, "if")) {  /* top level: state: absent or not */
		*absent = deref(json_object_get(items, "then"));
		*present = deref(json_object_get(items, "else"));
	} else if (json_object_get(items, "$ref")) {
		*present = *absent = deref(items);
	}
}

static void check_field(const struct tw_kind *k, const struct tw_field *f, json_t *item, int absent)
{
	json_t *p = json_object_get(json_object_get(item, "properties"), f->name);
	json_t *req = json_object_get(item, "required");
	int required = (f->flags & TW_F_IDENTITY) || ((f->flags & TW_F_REQUIRED) && !absent);

	if (f->flags & TW_F_COMPUTED) {
		assert_null(p);
		return;
	}
	if (!p)
		fail_msg("%s.%s is not in the schema", k->name, f->name);
	assert_string_equal(json_string_value(json_object_get(p, "description")), f->doc);
	if (in_array(req, f->name) != required)
		fail_msg("%s.%s: required is %d in the schema", k->name, f->name, !required);
	switch (f->type) {
	case TW_V_BOOL:
		assert_string_equal(json_string_value(json_object_get(p, "type")), "boolean");
		break;
	case TW_V_INT:
		assert_string_equal(json_string_value(json_object_get(p, "type")), "integer");
		if (f->min || f->max) {
			assert_int_equal(json_integer_value(json_object_get(p, "minimum")), f->min);
			assert_int_equal(json_integer_value(json_object_get(p, "maximum")), f->max);
		}
		break;
	case TW_V_REF:
	case TW_V_REFLIST:
		assert_string_equal(json_string_value(json_object_get(p, "x-twprov-ref")), f->ref);
		break;
	case TW_V_STR: {
		json_t *text = p, *any = json_object_get(p, "anyOf");
		if (f->flags & (TW_F_SECRET | TW_F_SECREF)) {
			const char *ref = json_string_value(json_object_get(json_array_get(any, 0), "$ref"));
			assert_non_null(ref);
			assert_string_equal(ref, absent ? "#/$defs/secret_reference_form" : "#/$defs/secret_reference");
		}
		if (f->objval)
			assert_string_equal(json_string_value(json_object_get(json_array_get(any, json_array_size(any) - 1),
									      "type")), "object");
		if (any)
			text = json_array_get(any, (f->flags & (TW_F_SECRET | TW_F_SECREF)) ? 1 : 0);
		if (f->check == tw_check_enum && f->choices) {
			for (size_t i = 0; f->choices[i]; i++)
				assert_true(in_array(json_object_get(text, "enum"), f->choices[i]));
		} else if (f->max > 0) {
			assert_int_equal(json_integer_value(json_object_get(text, "maxLength")), f->max);
		}
		break;
	}
	default:
		break;
	}
}

static void check_kind(const struct tw_kind *k, json_t *parent_item, int absent)
{
	json_t *prop = parent_item ? property(parent_item, k->yaml_key) : property(schema, k->yaml_key);
	json_t *present, *gone;
	size_t n;
	const struct tw_kind *const *kids = tw_kind_children(k, &n);

	assert_string_equal(json_string_value(json_object_get(prop, "description")), k->doc);
	if (k->flags & TW_K_ASSOC) {
		assert_string_equal(json_string_value(json_object_get(prop, "x-twprov-ref")), k->assoc_ref);
		return;
	}
	if (k->flags & TW_K_MAPPED) {
		assert_non_null(json_object_get(prop, "propertyNames"));
		assert_non_null(json_object_get(prop, "additionalProperties"));
		return;
	}
	items_of(prop, &present, &gone);
	if (!present)
		fail_msg("no item schema for %s", k->name);
	/* a top-level kind has both; below, the parent's item says which */
	for (int a = 0; a < 2; a++) {
		json_t *item = a ? gone : present;
		if (k->parent && a != absent)
			continue;
		for (size_t i = 0; i < k->nfields; i++)
			check_field(k, &k->fields[i], item, a);
		for (size_t i = 0; i < n; i++)
			check_kind(kids[i], item, a);
		assert_false(json_is_true(json_object_get(item, "additionalProperties")));
		assert_int_equal(json_object_get(json_object_get(item, "properties"), "state") != NULL, !k->parent);
	}
}

static void test_every_kind_and_field(void **state)
{
	size_t n;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);
	(void)state;
	assert_string_equal(json_string_value(json_object_get(schema, "$schema")),
			    "https://json-schema.org/draft/2020-12/schema");
	for (size_t i = 0; i < n; i++)
		check_kind(tops[i], NULL, 0);
}

static void test_root(void **state)
{
	json_t *prune = json_object_get(property(schema, "prune"), "items");
	size_t n;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);
	(void)state;
	assert_true(in_array(json_object_get(schema, "required"), "twprov"));
	assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
	assert_int_equal(json_integer_value(json_object_get(property(schema, "twprov"), "const")), 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(in_array(json_object_get(prune, "enum"), tops[i]->name), !(tops[i]->flags & TW_K_NO_PRUNE));
	for (size_t i = 0; i < tw_nkinds; i++)
		if (tw_kinds[i]->parent)
			assert_false(in_array(json_object_get(prune, "enum"), tw_kinds[i]->name));
}

static int own_check(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f, (void)v, (void)why;
	return 0;
}

static void test_check_patterns(void **state)
{
	static const char *const choices[] = { "a", NULL };
	struct tw_field url = { .check = tw_check_url }, dom = { .check = tw_check_domain, .suffix = ".sip.twilio.com" };
	struct tw_field en = { .check = tw_check_enum, .choices = choices }, none = { .name = "x" };
	struct tw_field own = { .check = own_check };
	const char *what;
	int scalars;
	char *p;
	(void)state;

	p = tw_check_pattern(&url, &scalars, &what);
	assert_non_null(p);
	assert_int_equal(p[0], '^');
	assert_false(scalars);
	assert_string_equal(what, "URL");
	free(p);
	p = tw_check_pattern(&dom, &scalars, &what);
	assert_non_null(strstr(p, "\\.sip\\.twilio\\.com$"));
	assert_false(scalars);
	free(p);
	dom.suffix = NULL;      /* no suffix: a number can be a host name */
	p = tw_check_pattern(&dom, &scalars, &what);
	assert_true(scalars);
	free(p);
	assert_null(tw_check_pattern(&en, &scalars, &what));   /* the choices say it */
	assert_null(tw_check_pattern(&none, &scalars, &what));
	assert_true(scalars);
	assert_null(tw_check_pattern(&own, &scalars, &what));  /* a descriptor's own check: unknown */
	assert_true(scalars);
	assert_null(what);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_and_field),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_check_patterns),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
