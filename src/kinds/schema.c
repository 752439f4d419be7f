/* schema.c - the JSON Schema of the file, generated from the descriptors
 *
 * It walks the registry and the field tables and names no kind: a new kind or
 * field appears in it without an edit here.  It says what src/config/load.c
 * accepts and never less (a file twprov accepts validates), in the terms of
 * YAML editors: they read a value as YAML 1.2 does (an unquoted +16505551111
 * is a number, `yes` a string), where twprov keeps every scalar's text.  So a
 * string field also takes numbers and booleans when their text can pass the
 * field's check, and an optional one takes null and "" (both clear it).
 *
 * Beyond JSON Schema's reach, and so looser than twprov: references (a name
 * must be declared in the file: annotated "x-twprov-ref"), unique identities,
 * what secret references resolve to, what the kinds' hooks check (exclusive
 * routings, a device's MAC for its vendor, service sources), checks of a
 * descriptor's own (they have no pattern), counts a regular expression cannot
 * make (ports up to 65535), and YAML limits (nesting, sizes, anchors).
 */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/schema.h"
#include "kinds.h"

#define DEFS "#/$defs/"
#define SECREF_DEF "secret_reference"
#define SECREF_FORM_DEF "secret_reference_form"
/* The definition of a kind's items under an item with state: absent (fewer required fields). */
#define ABSENT_PREFIX "absent:"

/* Where the walk is: items of a kind with state: absent (or under one) need only their identity,
 * and their secret references are never resolved (nor checked). */
struct sctx {
	json_t *defs;
	int absent;
};

static json_t *ref_to(const char *def)
{
	char *r = tw_xasprintf(DEFS "%s", def);
	json_t *o = json_pack("{s:s}", "$ref", r);
	free(r);
	return o;
}

/* {"type": ...}: one name, or the list of them. */
static void set_types(json_t *s, int str, int scalars, int nullable)
{
	json_t *t = json_array();
	if (str)
		json_array_append_new(t, json_string("string"));
	if (scalars) {
		json_array_append_new(t, json_string("number"));
		json_array_append_new(t, json_string("boolean"));
	}
	if (nullable)
		json_array_append_new(t, json_string("null"));
	if (json_array_size(t) == 1)
		json_object_set(s, "type", json_array_get(t, 0));
	else
		json_object_set(s, "type", t);
	json_decref(t);
}

/* "pattern": `pat`, or the empty string too (an optional value written "" clears it). */
static void set_pattern(json_t *s, const char *pat, int or_empty)
{
	char *p = or_empty ? tw_xasprintf("^$|%s", pat) : tw_xstrdup(pat);
	json_object_set_new(s, "pattern", json_string(p));
	free(p);
}

/*
 * A scalar naming something (a reference, an item of a list of names, a key of a value
 * written as a mapping): twprov takes any scalar's text, checked by f's check when given.
 * `clears`: null and "" are allowed (an optional reference).
 */
static json_t *name_schema(const struct tw_field *f, int clears)
{
	json_t *s = json_object();
	int scalars = 1;
	char *pat = f ? tw_check_pattern(f, &scalars, NULL) : NULL;

	set_types(s, 1, scalars, clears);
	if (!clears)
		json_object_set_new(s, "minLength", json_integer(1));
	if (pat)
		set_pattern(s, pat, clears);
	free(pat);
	return s;
}

/* A value written as a mapping (struct tw_objval). */
static json_t *objval_schema(const struct tw_objval *ov)
{
	json_t *s = json_object(), *props = json_object(), *req = json_array();

	json_object_set_new(s, "type", json_string("object"));
	json_object_set_new(s, "description", json_string(ov->what));
	for (size_t i = 0; ov->keys[i]; i++) {
		json_t *k = name_schema(NULL, 0);
		if (ov->ref_key && !strcmp(ov->keys[i], ov->ref_key))
			json_object_set_new(k, "x-twprov-ref", json_string(ov->ref_kind));
		json_object_set_new(props, ov->keys[i], k);
		if (!(ov->optional >> i & 1))
			json_array_append_new(req, json_string(ov->keys[i]));
	}
	json_object_set_new(s, "properties", props);
	json_object_set_new(s, "required", req);
	json_object_set_new(s, "additionalProperties", json_false());
	return s;
}

/* `s` with "description": doc first, as editors show it. */
static json_t *described(const char *doc, json_t *s)
{
	json_t *d = json_object();
	if (doc)
		json_object_set_new(d, "description", json_string(doc));
	json_object_update(d, s);
	json_decref(s);
	return d;
}

static int secret_field(const struct tw_field *f)
{
	return (f->flags & (TW_F_SECRET | TW_F_SECREF)) != 0;
}

/* The field must have a value: null and "" do not clear it (whether it must be present
 * depends on state: absent; this does not). */
static int value_required(const struct tw_field *f)
{
	return (f->flags & (TW_F_REQUIRED | TW_F_IDENTITY)) != 0;
}

/*
 * A TW_V_STR value written as text: one of the field's choices, or a string its check's
 * pattern matches, its length; null and "" when it is optional (they clear it); never a
 * string twprov takes for a secret reference (refused outside secret fields; in a secret
 * field the reference is the other alternative).
 */
static json_t *text_schema(const struct tw_field *f)
{
	json_t *s = json_object();
	int required = value_required(f), scalars;
	char *pat = tw_check_pattern(f, &scalars, NULL);

	if (f->check == tw_check_enum && f->choices) {
		json_t *e = json_array();
		for (size_t i = 0; f->choices[i]; i++)
			json_array_append_new(e, json_string(f->choices[i]));
		if (!required) {
			json_array_append_new(e, json_string(""));
			json_array_append_new(e, json_null());
		}
		json_object_set_new(s, "enum", e);
	} else {
		set_types(s, 1, scalars, !required);
		if (required)
			json_object_set_new(s, "minLength", json_integer(1));
		if (f->max > 0)
			json_object_set_new(s, "maxLength", json_integer(f->max));
		if (pat)
			set_pattern(s, pat, !required);
		json_object_set_new(s, "not", ref_to(SECREF_FORM_DEF));
	}
	free(pat);
	return s;
}

/* The schema of a field's value; `absent`: in an item with state: absent, where secret
 * references are not resolved, so any ${env:...} or ${file:...} passes. */
static json_t *field_schema(const struct tw_field *f, int absent)
{
	json_t *s = json_object(), *alts, *v;
	int required = value_required(f), scalars;
	char *pat;

	switch (f->type) {
	case TW_V_STR:
		alts = json_array();
		if (secret_field(f))
			json_array_append_new(alts, ref_to(absent ? SECREF_FORM_DEF : SECREF_DEF));
		json_array_append_new(alts, text_schema(f));
		if (f->objval)
			json_array_append_new(alts, objval_schema(f->objval));
		if (json_array_size(alts) == 1)
			json_object_update(s, json_array_get(alts, 0));
		else
			json_object_set(s, "anyOf", alts);
		json_decref(alts);
		break;
	case TW_V_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case TW_V_INT:
		json_object_set_new(s, "type", json_string("integer"));
		if (f->min || f->max) {
			json_object_set_new(s, "minimum", json_integer(f->min));
			json_object_set_new(s, "maximum", json_integer(f->max));
		}
		break;
	case TW_V_REF:
		json_decref(s);
		s = name_schema(f, !required);
		break;
	case TW_V_REFLIST:
	case TW_V_LIST:
		json_object_set_new(s, "type", required ? json_string("array") : json_pack("[s,s]", "array", "null"));
		json_object_set_new(s, "items", name_schema(f, 0));
		break;
	case TW_V_MAP:
		json_object_set_new(s, "type", required ? json_string("object") : json_pack("[s,s]", "object", "null"));
		v = json_object();
		pat = tw_check_pattern(f, &scalars, NULL);
		set_types(v, 1, scalars, 0);
		if (pat)
			set_pattern(v, pat, 0);
		free(pat);
		json_object_set_new(s, "additionalProperties", v);
		break;
	}
	if (f->ref && (f->type == TW_V_REF || f->type == TW_V_REFLIST))
		json_object_set_new(s, "x-twprov-ref", json_string(f->ref));
	if (f->create_default) {
		if (f->type == TW_V_INT)
			v = json_integer(strtol(f->create_default, NULL, 10));
		else if (f->type == TW_V_BOOL)
			v = json_boolean(!strcmp(f->create_default, "true"));
		else
			v = json_string(f->create_default);
		json_object_set_new(s, "default", v);
	}
	return described(f->doc, s);
}

/* Whether items with state: absent need a schema of their own: a field required only when
 * present, or a secret reference (not resolved then), in the kind or below. */
static int absent_differs(const struct tw_kind *k)
{
	const struct tw_kind *const *kids;
	size_t n;

	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		if (f->flags & TW_F_COMPUTED)
			continue;
		if (((f->flags & TW_F_REQUIRED) && !(f->flags & TW_F_IDENTITY)) || secret_field(f))
			return 1;
	}
	kids = tw_kind_children(k, &n);
	for (size_t i = 0; i < n; i++)
		if (absent_differs(kids[i]))
			return 1;
	return 0;
}

/* The properties object where yaml_key's last segment goes, creating the mappings of a
 * dotted key ("auth.calls.credential_lists": auth, then calls); *leaf: that segment. */
static json_t *props_for(json_t *props, const char *yaml_key, const char **leaf)
{
	const char *dot;

	while ((dot = strchr(yaml_key, '.'))) {
		char *seg = tw_xstrndup(yaml_key, (size_t)(dot - yaml_key));
		json_t *m = json_object_get(props, seg);
		if (!m) {
			m = json_pack("{s:[s,s], s:{}, s:b}", "type", "object", "null", "properties",
				      "additionalProperties", 0);
			json_object_set_new(props, seg, m);
		}
		free(seg);
		props = json_object_get(m, "properties");
		yaml_key = dot + 1;
	}
	*leaf = yaml_key;
	return props;
}

static json_t *item_ref(struct sctx *c, const struct tw_kind *k);

/* The value of a child kind's key in its parent's items (the top-level kinds': the file's). */
static json_t *kind_schema(struct sctx *c, const struct tw_kind *k)
{
	json_t *s;

	if (k->flags & TW_K_ASSOC) {
		s = json_pack("{s:[s,s], s:o, s:s}", "type", "array", "null", "items", name_schema(NULL, 0),
			      "x-twprov-ref", k->assoc_ref);
	} else if (k->flags & TW_K_MAPPED) {
		/* {IDENTITY: VALUE}: the key is checked as the identity field, the value as the
		 * kind's one other field, or as a mapping of its other fields */
		int idf = tw_kind_identity(k), vf = tw_kind_mapped_value(k);
		json_t *key = json_object();
		int scalars;
		char *pat = idf >= 0 ? tw_check_pattern(&k->fields[idf], &scalars, NULL) : NULL;

		if (pat)
			json_object_set_new(key, "pattern", json_string(pat));
		if (idf >= 0 && k->fields[idf].type == TW_V_STR && k->fields[idf].max > 0)
			json_object_set_new(key, "maxLength", json_integer(k->fields[idf].max));
		free(pat);
		s = json_pack("{s:[s,s], s:o, s:o}", "type", "object", "null", "propertyNames", key,
			      "additionalProperties", vf >= 0 ? field_schema(&k->fields[vf], c->absent)
			      : item_ref(c, k));
	} else if (k->flags & TW_K_SINGLE) {
		s = json_pack("{s:[{s:s}, o]}", "anyOf", "type", "null", item_ref(c, k));
	} else if (!k->parent && absent_differs(k) && !tw_kind_field(k, "state")) {
		struct sctx a = { c->defs, 1 };
		s = json_pack("{s:[s,s], s:{s:{s:s, s:{s:{s:s}}, s:[s]}, s:o, s:o}}", "type", "array", "null",
			      "items", "if", "type", "object", "properties", "state", "const", "absent", "required", "state",
			      "then", item_ref(&a, k), "else", item_ref(c, k));
	} else {
		s = json_pack("{s:[s,s], s:o}", "type", "array", "null", "items", item_ref(c, k));
	}
	return described(k->doc, s);
}

/* A kind's children as properties of its items (or of the file). */
static void add_kinds(struct sctx *c, const struct tw_kind *parent, json_t *props)
{
	size_t n;
	const struct tw_kind *const *kids = tw_kind_children(parent, &n);

	for (size_t i = 0; i < n; i++) {
		const char *leaf;
		json_t *p = props_for(props, kids[i]->yaml_key, &leaf);
		json_object_set_new(p, leaf, kind_schema(c, kids[i]));
	}
}

static json_t *item_schema(struct sctx *c, const struct tw_kind *k)
{
	json_t *props = json_object(), *req = json_array(), *s;

	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		if ((f->flags & TW_F_COMPUTED) || ((k->flags & TW_K_MAPPED) && (f->flags & TW_F_IDENTITY)))
			continue;   /* never written in the file, or the mapping's key */
		json_object_set_new(props, f->name, field_schema(f, c->absent));
		if ((f->flags & TW_F_IDENTITY) || ((f->flags & TW_F_REQUIRED) && !c->absent))
			json_array_append_new(req, json_string(f->name));
	}
	if (!k->parent && !tw_kind_field(k, "state"))
		json_object_set_new(props, "state", json_pack("{s:s, s:[s,s]}", "description",
			"present (the default), or absent: remove it from the account", "enum", "present", "absent"));
	add_kinds(c, k, props);
	s = json_pack("{s:s, s:o}", "type", "object", "properties", props);
	if (json_array_size(req))
		json_object_set(s, "required", req);
	json_decref(req);
	json_object_set_new(s, "additionalProperties", json_false());
	return s;
}

/* {"$ref"} to the definition of k's items, made on first use. */
static json_t *item_ref(struct sctx *c, const struct tw_kind *k)
{
	char *name = c->absent && absent_differs(k) ? tw_xasprintf(ABSENT_PREFIX "%s", k->name) : tw_xstrdup(k->name);
	json_t *r;

	if (!json_object_get(c->defs, name))
		json_object_set_new(c->defs, name, described(k->doc, item_schema(c, k)));
	r = ref_to(name);
	free(name);
	return r;
}

/* A scalar whose text twprov reads (account's region and edge, ignore globs). */
static json_t *text_of(const char *doc, const char *pattern, int nullable)
{
	json_t *s = json_object();
	set_types(s, 1, 1, nullable);
	if (pattern)
		json_object_set_new(s, "pattern", json_string(pattern));
	else
		json_object_set_new(s, "minLength", json_integer(1));
	return described(doc, s);
}

json_t *tw_schema(void)
{
	struct sctx c = { json_object(), 0 };
	json_t *props = json_object(), *prunable = json_array(), *s;
	size_t n;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);

	/* the top-level keys the loader reads itself (load.c, root_key) */
	json_object_set_new(props, "twprov", json_pack("{s:s, s:i}", "description",
		"the schema version of the file: 1", "const", 1));
	json_object_set_new(props, "account", json_pack("{s:s, s:[s,s], s:{s:o, s:o}, s:b}",
		"description", "the account's Twilio API hosts, api.EDGE.REGION.twilio.com (default: "
		"TWILIO_REGION and TWILIO_EDGE)", "type", "object", "null", "properties",
		"region", text_of("Twilio region, e.g. us1, ie1, au1", "^[a-z0-9-]*$", 1),
		"edge", text_of("Twilio edge location, e.g. ashburn, dublin", "^[a-z0-9-]*$", 1),
		"additionalProperties", 0));
	for (size_t i = 0; i < n; i++)
		if (!(tops[i]->flags & TW_K_NO_PRUNE))
			json_array_append_new(prunable, json_string(tops[i]->name));
	json_object_set_new(props, "prune", json_pack("{s:s, s:[s,s], s:{s:o}}", "description",
		"top-level kinds whose resources the file does not declare are removed", "type", "array", "null",
		"items", "enum", prunable));
	json_object_set_new(props, "ignore", json_pack("{s:s, s:[s,s], s:o}", "description",
		"fnmatch(3) globs: top-level resources whose names match are never removed by prune",
		"type", "array", "null", "items", text_of(NULL, NULL, 0)));

	json_object_set_new(c.defs, SECREF_DEF, json_pack("{s:s, s:s, s:s}", "description",
		"${env:NAME} or ${file:PATH}: the value of an environment variable or the contents of a file "
		"(relative to the twprov file)", "type", "string",
		"pattern", "^\\$\\{(?:env:[A-Za-z_][A-Za-z0-9_]*|file:[^\\x00]+)\\}$"));
	json_object_set_new(c.defs, SECREF_FORM_DEF, json_pack("{s:s, s:s, s:s}", "description",
		"what twprov reads as a secret reference (allowed only in secret fields)", "type", "string",
		"pattern", "^\\$\\{(?:env|file):[\\s\\S]*\\}$"));
	add_kinds(&c, NULL, props);

	s = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[s], s:b, s:o}",
		"$schema", "https://json-schema.org/draft/2020-12/schema",
		"title", "twprov file",
		"description", "A Twilio voice account, declared (twprov.yaml(5)); generated by `twprov schema`",
		"type", "object", "properties", props, "required", "twprov", "additionalProperties", 0,
		"$defs", c.defs);
	return s;
}
