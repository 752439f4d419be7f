/* render.c - the plan as text (like Terraform's) and as JSON (a stable schema) */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/log.h"
#include "twprov/plan.h"

#define TW_PLAN_FORMAT_VERSION 1

/* A value as the plan shows it: JSON's shapes, every string quoted for the terminal. */
static void value_show(struct tw_buf *b, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;
	char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		tw_buf_add_quoted(b, json_string_value(v), json_string_length(v), TW_QUOTE_ALWAYS);
		return;
	case JSON_OBJECT:
		tw_buf_addc(b, '{');
		i = 0;
		json_object_foreach((json_t *)v, key, item) {
			if (i++)
				tw_buf_addc(b, ',');
			tw_buf_add_quoted(b, key, strlen(key), TW_QUOTE_ALWAYS);
			tw_buf_addc(b, ':');
			value_show(b, item);
		}
		tw_buf_addc(b, '}');
		return;
	case JSON_ARRAY:
		tw_buf_addc(b, '[');
		json_array_foreach(v, i, item) {
			if (i)
				tw_buf_addc(b, ',');
			value_show(b, item);
		}
		tw_buf_addc(b, ']');
		return;
	default:
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		tw_buf_adds(b, s ? s : "?");
		free(s);
	}
}

static void value_text(struct tw_buf *b, const json_t *v, int sensitive)
{
	if (sensitive == 2) {
		tw_buf_adds(b, "(known after apply)");
		return;
	}
	if (sensitive) {
		tw_buf_adds(b, "(sensitive)");
		return;
	}
	if (!v || json_is_null(v)) {
		tw_buf_adds(b, "(none)");
		return;
	}
	value_show(b, v);
}

/* The kinds of action as the JSON names them ("type"), with their symbols and colours. */
static const struct { const char *type, *symbol, *color; } types[] = {
	{ "create", "+", TW_C_GREEN }, { "update", "~", TW_C_YELLOW }, { "delete", "-", TW_C_RED },
	{ "replace", "-/+", TW_C_RED },
};

static size_t type_of(const json_t *a)
{
	const char *t = json_string_value(json_object_get(a, "type"));
	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].type, t))
			return i;
	return 1;     /* a kind's own action (upload, build, deploy) changes what exists */
}

static int flag(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* One action of a plan's JSON as text. */
static void print_action(const json_t *a, FILE *f)
{
	size_t t = type_of(a), width = 0;
	const char *on = tw_color(f, types[t].color), *off = tw_color(f, TW_C_RESET);
	const char *sid = json_string_value(json_object_get(a, "sid"));
	const char *action = json_string_value(json_object_get(a, "action"));
	const char *summary = json_string_value(json_object_get(a, "summary"));
	const json_t *guard = json_object_get(a, "guard"), *fields = json_object_get(a, "fields"), *c;
	const char *gword = json_string_value(json_object_get(guard, "word"));
	const char *gflag = json_string_value(json_object_get(guard, "flag"));
	const char *name;

	fprintf(f, "  %s%s%s %s", on, types[t].symbol, off, tw_quote(json_string_value(json_object_get(a, "address"))));
	if (sid && t != 0)
		fprintf(f, " (%s)", tw_quote(sid));
	if (gword && gflag)
		fprintf(f, " %s# %s: apply needs %s%s", tw_color(f, TW_C_BOLD), tw_quote(gword), tw_quote(gflag), off);
	if (flag(a, "followup"))
		fprintf(f, " %s# after the create above%s", tw_color(f, TW_C_DIM), off);
	if (json_string_value(json_object_get(a, "note")))
		fprintf(f, " %s# %s%s", tw_color(f, TW_C_DIM), tw_quote(json_string_value(json_object_get(a, "note"))), off);
	if (action && strcmp(action, types[t].type)) {     /* a kind's own action */
		fprintf(f, " %s# %s%s", tw_color(f, TW_C_BOLD), tw_quote(action), summary ? ": " : "");
		if (summary)
			tw_show(f, "%s", summary);     /* made of SIDs and the file's values */
		fputs(off, f);
	}
	fputc('\n', f);
	json_object_foreach((json_t *)fields, name, c)
		if (strlen(name) > width)
			width = strlen(name);
	json_object_foreach((json_t *)fields, name, c) {
		struct tw_buf b = TW_BUF_INIT;
		int sensitive = flag(c, "sensitive"), later = flag(c, "known_after_apply");
		if (t == 0) {
			value_text(&b, json_object_get(c, "after"), later ? 2 : sensitive);
			fprintf(f, "      %s+%s %-*s = %s", on, off, (int)width, tw_quote(name), b.buf);
			if (flag(c, "set_after_create"))
				fprintf(f, "  %s# set by an update after the %s: Twilio ignores it then%s",
					tw_color(f, TW_C_DIM), gword ? tw_quote(gword) : "create", off);
			fputc('\n', f);
		} else {
			if (flag(c, "not_returned"))
				tw_buf_adds(&b, "(not returned)");
			else
				value_text(&b, json_object_get(c, "before"), sensitive);
			tw_buf_adds(&b, " -> ");
			value_text(&b, json_object_get(c, "after"), later ? 2 : sensitive);
			fprintf(f, "      %s~%s %-*s = %s%s\n", tw_color(f, TW_C_YELLOW), off, (int)width, tw_quote(name),
				b.buf, flag(c, "forces_replacement") ? "  # forces replacement" : "");
		}
		tw_buf_release(&b);
	}
}

void tw_plan_print_actions(const json_t *plan, FILE *f)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(plan, "changes"), i, v)
		print_action(v, f);
}

void tw_plan_print_json(const json_t *plan, FILE *f)
{
	const json_t *changes = json_object_get(plan, "changes"), *unmanaged = json_object_get(plan, "unmanaged");
	const json_t *notes = json_object_get(plan, "notes"), *sum = json_object_get(plan, "summary");
	size_t i;
	json_t *v;

	if (json_array_size(changes)) {
		fprintf(f, "twprov will perform the following actions:\n\n");
		tw_plan_print_actions(plan, f);
		fputc('\n', f);
	}
	if (json_array_size(unmanaged)) {
		fprintf(f, "Unmanaged at Twilio (not in the file, left alone):\n");
		json_array_foreach(unmanaged, i, v) {
			const char *sid = json_string_value(json_object_get(v, "sid"));
			fprintf(f, "    %s%s%s%s%s\n", tw_quote(json_string_value(json_object_get(v, "address"))),
				sid ? " (" : "", sid ? tw_quote(sid) : "", sid ? ")" : "",
				json_is_true(json_object_get(v, "ignored")) ? " [ignored]" : "");
		}
		fputc('\n', f);
	}
	json_array_foreach(notes, i, v)
		tw_show(f, "Note: %s.\n", json_string_value(v));     /* names the file's and the account's resources */
	if (json_array_size(notes))
		fputc('\n', f);
	if (!json_array_size(changes))
		fprintf(f, "No changes. The account matches the file.\n");
	else
		fprintf(f, "Plan: %" JSON_INTEGER_FORMAT " to add, %" JSON_INTEGER_FORMAT " to change, %"
			JSON_INTEGER_FORMAT " to destroy.\n", json_integer_value(json_object_get(sum, "add")),
			json_integer_value(json_object_get(sum, "change")), json_integer_value(json_object_get(sum, "destroy")));
}

/* The text is a rendering of the JSON value: a fresh plan and a saved one print alike. */
void tw_plan_print(const struct tw_plan *p, FILE *f)
{
	json_t *o = tw_plan_json(p);
	tw_plan_print_json(o, f);
	json_decref(o);
}

static json_t *value_json(const json_t *v, int sensitive)
{
	if (sensitive)
		return json_string("(sensitive)");
	return v ? json_deep_copy(v) : json_null();
}

static json_t *action_json(const struct tw_plan *p, const struct tw_action *a)
{
	json_t *o = json_object(), *fields = json_object(), *deps = json_array();
	const struct tw_res *r = a->want ? a->want : a->have;
	const char *sid = a->have ? a->have->sid : NULL;

	json_object_set_new(o, "address", json_string(a->address));
	json_object_set_new(o, "action", json_string(a->custom ? a->custom->verb : tw_act_name(a->type)));
	json_object_set_new(o, "type", json_string(tw_act_name(a->type)));
	if (a->summary)
		json_object_set_new(o, "summary", json_string(a->summary));
	json_object_set_new(o, "kind", json_string(a->kind->name));
	json_object_set_new(o, "name", r->id ? json_string(r->id) : json_null());
	if (r->parent && r->parent->kind) {
		char *pa = tw_res_address(r->parent);
		json_object_set_new(o, "parent", json_string(pa));
		free(pa);
	} else {
		json_object_set_new(o, "parent", json_null());
	}
	json_object_set_new(o, "sid", sid ? json_string(sid) : json_null());
	json_object_set_new(o, "guarded_by", tw_act_guard(a) ? json_string(tw_act_guard(a)->flag) : json_null());
	json_object_set_new(o, "guard", tw_act_guard(a) ? json_pack("{s:s, s:s}", "word", tw_act_guard(a)->word, "flag",
								    tw_act_guard(a)->flag) : json_null());
	if (a->followup)
		json_object_set_new(o, "followup", json_true());
	if (a->note)
		json_object_set_new(o, "note", json_string(a->note));
	for (size_t i = 0; i < a->nchanges; i++) {
		const struct tw_change *c = &a->changes[i];
		json_t *ch = json_object();
		json_object_set_new(ch, "before", value_json(c->before, c->sensitive && c->before));
		json_object_set_new(ch, "after", value_json(c->after, c->sensitive));
		json_object_set_new(ch, "sensitive", json_boolean(c->sensitive));
		if (c->unknown)
			json_object_set_new(ch, "known_after_apply", json_true());
		if (c->unread)
			json_object_set_new(ch, "not_returned", json_true());
		if (a->type == TW_ACT_CREATE && (c->field->flags & TW_F_CREATE_IGNORES))
			json_object_set_new(ch, "set_after_create", json_true());
		if (a->type == TW_ACT_REPLACE)
			json_object_set_new(ch, "forces_replacement",
					    json_boolean((c->field->flags & TW_F_IMMUTABLE) ||
							 (a->kind->flags & TW_K_NO_UPDATE)));
		json_object_set_new(fields, c->field->name, ch);
	}
	json_object_set_new(o, "fields", fields);
	for (size_t i = 0; i < a->ndeps; i++)
		json_array_append_new(deps, json_string(p->acts[a->deps[i]].address));
	json_object_set_new(o, "depends_on", deps);
	return o;
}

json_t *tw_plan_json(const struct tw_plan *p)
{
	json_t *o = json_object(), *changes = json_array(), *sum = json_object();

	json_object_set_new(o, "format_version", json_integer(TW_PLAN_FORMAT_VERSION));
	json_object_set_new(o, "twprov_version", json_string(TWPROV_VERSION));
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(changes, action_json(p, &p->acts[i]));
	json_object_set_new(o, "changes", changes);
	json_object_set(o, "unmanaged", p->unmanaged);
	json_object_set(o, "notes", p->notes);
	json_object_set_new(sum, "add", json_integer((json_int_t)p->add));
	json_object_set_new(sum, "change", json_integer((json_int_t)p->change));
	json_object_set_new(sum, "destroy", json_integer((json_int_t)p->destroy));
	json_object_set_new(o, "summary", sum);
	return o;
}
