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

static const char *act_color(enum tw_act_type t)
{
	switch (t) {
	case TW_ACT_CREATE: return TW_C_GREEN;
	case TW_ACT_UPDATE: return TW_C_YELLOW;
	default: return TW_C_RED;
	}
}

static void print_action(const struct tw_action *a, FILE *f)
{
	size_t width = 0;
	const char *on = tw_color(f, act_color(a->type)), *off = tw_color(f, TW_C_RESET);

	const struct tw_guard *g = tw_act_guard(a);

	fprintf(f, "  %s%s%s %s", on, tw_act_symbol(a->type), off, tw_quote(a->address));
	if (a->have && a->have->sid && a->type != TW_ACT_CREATE)
		fprintf(f, " (%s)", tw_quote(a->have->sid));
	if (g)
		fprintf(f, " %s# %s: apply needs %s%s", tw_color(f, TW_C_BOLD), g->word, g->flag, off);
	if (a->followup)
		fprintf(f, " %s# after the create above%s", tw_color(f, TW_C_DIM), off);
	if (a->custom) {
		fprintf(f, " %s# %s%s", tw_color(f, TW_C_BOLD), a->custom->verb, a->summary ? ": " : "");
		if (a->summary)
			tw_show(f, "%s", a->summary);     /* made of SIDs and the file's values */
		fputs(off, f);
	}
	fputc('\n', f);
	for (size_t i = 0; i < a->nchanges; i++)
		if (strlen(a->changes[i].field->name) > width)
			width = strlen(a->changes[i].field->name);
	for (size_t i = 0; i < a->nchanges; i++) {
		const struct tw_change *c = &a->changes[i];
		struct tw_buf b = TW_BUF_INIT;
		int forces = a->type == TW_ACT_REPLACE &&
			     ((c->field->flags & TW_F_IMMUTABLE) || (a->kind->flags & TW_K_NO_UPDATE));
		if (a->type == TW_ACT_CREATE) {
			value_text(&b, c->after, c->unknown ? 2 : c->sensitive);
			fprintf(f, "      %s+%s %-*s = %s", on, off, (int)width, c->field->name, b.buf);
			if (c->field->flags & TW_F_CREATE_IGNORES)
				fprintf(f, "  %s# set by an update after the %s: Twilio ignores it then%s",
					tw_color(f, TW_C_DIM), g ? g->word : "create", off);
			fputc('\n', f);
		} else {
			if (c->unread)
				tw_buf_adds(&b, "(not returned)");
			else
				value_text(&b, c->before, c->sensitive);
			tw_buf_adds(&b, " -> ");
			value_text(&b, c->after, c->unknown ? 2 : c->sensitive);
			fprintf(f, "      %s~%s %-*s = %s%s\n", tw_color(f, TW_C_YELLOW), off, (int)width,
				c->field->name, b.buf, forces ? "  # forces replacement" : "");
		}
		tw_buf_release(&b);
	}
}

void tw_plan_print(const struct tw_plan *p, FILE *f)
{
	size_t i;
	json_t *v;

	if (p->n) {
		fprintf(f, "twprov will perform the following actions:\n\n");
		for (i = 0; i < p->n; i++)
			print_action(&p->acts[i], f);
		fputc('\n', f);
	}
	if (json_array_size(p->unmanaged)) {
		fprintf(f, "Unmanaged at Twilio (not in the file, left alone):\n");
		json_array_foreach(p->unmanaged, i, v) {
			const char *sid = json_string_value(json_object_get(v, "sid"));
			fprintf(f, "    %s%s%s%s%s\n", tw_quote(json_string_value(json_object_get(v, "address"))),
				sid ? " (" : "", sid ? tw_quote(sid) : "", sid ? ")" : "",
				json_is_true(json_object_get(v, "ignored")) ? " [ignored]" : "");
		}
		fputc('\n', f);
	}
	json_array_foreach(p->notes, i, v)
		tw_show(f, "Note: %s.\n", json_string_value(v));     /* names the file's and the account's resources */
	if (json_array_size(p->notes))
		fputc('\n', f);
	if (!p->n)
		fprintf(f, "No changes. The account matches the file.\n");
	else
		fprintf(f, "Plan: %zu to add, %zu to change, %zu to destroy.\n", p->add, p->change, p->destroy);
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
