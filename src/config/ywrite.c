/* ywrite.c - declared model -> twprov file: the loader's inverse, written with libyaml's emitter
 *
 * Every resource is written as the loader reads it: its fields in the
 * descriptor's order, then its children under their keys (a dotted key such
 * as "auth.calls.credential_lists" as nested mappings), associations as a
 * list of names, TW_K_MAPPED children as a mapping, TW_K_SINGLE ones as one
 * mapping.  libyaml chooses how to quote a string it cannot write plain; a
 * string YAML would read as something else when plain (null, true, yes, a
 * number, a date) is double-quoted here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/model.h"

struct yw {
	yaml_emitter_t em;
	int failed;
};

static int out_handler(void *data, unsigned char *buffer, size_t size)
{
	tw_buf_add(data, buffer, size);
	return 1;
}

static void emit(struct yw *w, yaml_event_t *ev)
{
	if (w->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&w->em, ev))   /* it deletes the event either way */
		w->failed = 1;
}

/*
 * Can `s` be written plain and read back as the same string?  Not when YAML
 * (1.2 core, or 1.1, which other tools still read) resolves it to a null, a
 * boolean or a number: those words, and anything that starts like a number
 * (a digit, a sign, a dot), are quoted.  Everything else is left to libyaml,
 * which quotes what it cannot write plain (indicators, ": ", " #", spaces at
 * either end, control characters).
 */
int tw_yaml_plain_ok(const char *s, size_t len)
{
	static const char *const words[] = { "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "<<" };

	if (!len || strlen(s) != len)
		return 0;
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == '.')
		return 0;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return 0;
	return 1;
}

static void scalar(struct yw *w, const char *s, size_t len, int plain)
{
	yaml_event_t ev;
	/* a line break reads best escaped ("a\nb"): libyaml would fold a single-quoted one */
	yaml_scalar_style_t style = plain ? YAML_PLAIN_SCALAR_STYLE
				    : tw_yaml_plain_ok(s, len) && !memchr(s, '\n', len) ? YAML_ANY_SCALAR_STYLE
				    : YAML_DOUBLE_QUOTED_SCALAR_STYLE;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style))
		w->failed = 1;
	else
		emit(w, &ev);
}

static void str(struct yw *w, const char *s)
{
	scalar(w, s, strlen(s), 0);
}

static void json_scalar(struct yw *w, const json_t *v)
{
	char num[32];

	if (json_is_string(v)) {
		scalar(w, json_string_value(v), json_string_length(v), 0);
	} else if (json_is_boolean(v)) {
		scalar(w, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, 1);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		scalar(w, num, strlen(num), 1);
	} else {
		scalar(w, "null", 4, 1);
	}
}

/* The start (or, with `end`, the end) of a mapping or sequence, in flow or block style. */
static void collection(struct yw *w, int mapping, int flow, int end)
{
	yaml_event_t ev;
	int ok;

	if (end)
		ok = mapping ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
	else if (mapping)
		ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE
										   : YAML_BLOCK_MAPPING_STYLE);
	else
		ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE
										    : YAML_BLOCK_SEQUENCE_STYLE);
	if (!ok)
		w->failed = 1;
	else
		emit(w, &ev);
}

#define mapping_start(w, flow) collection(w, 1, flow, 0)
#define mapping_end(w) collection(w, 1, 0, 1)
#define sequence_start(w, flow) collection(w, 0, flow, 0)
#define sequence_end(w) collection(w, 0, 0, 1)

/* One field's value, as the loader reads its type. */
static void value(struct yw *w, const struct tw_field *f, const json_t *v)
{
	size_t i;
	const char *k;
	json_t *x;

	if (json_is_object(v) && f->objval) {
		/* a value written as a mapping ({service, environment, path}): its keys in their order */
		mapping_start(w, 1);
		for (const char *const *key = f->objval->keys; *key; key++)
			if ((x = json_object_get(v, *key))) {
				str(w, *key);
				json_scalar(w, x);
			}
		mapping_end(w);
	} else if (json_is_array(v)) {
		sequence_start(w, 1);
		json_array_foreach(v, i, x)
			json_scalar(w, x);
		sequence_end(w);
	} else if (json_is_object(v)) {
		mapping_start(w, 0);
		json_object_foreach((json_t *)v, k, x) {
			str(w, k);
			json_scalar(w, x);
		}
		mapping_end(w);
	} else {
		json_scalar(w, v);
	}
}

static void resource(struct yw *w, const struct tw_res *r);

/* Open and close the nested mappings of dotted keys ("auth.calls.x" after "auth.calls.y"). */
struct keypath {
	char segs[8][64];
	int n;
};

/* Make `key`'s parents the open mappings and write its last segment. */
static void open_key(struct yw *w, struct keypath *kp, const char *key)
{
	char segs[8][64];
	int n = 0, same = 0;

	for (const char *p = key; *p && n < 8; n++) {
		size_t l = strcspn(p, ".");
		snprintf(segs[n], sizeof(segs[n]), "%.*s", (int)l, p);
		p += l + (p[l] == '.');
	}
	while (same < kp->n && same < n - 1 && !strcmp(kp->segs[same], segs[same]))
		same++;
	for (; kp->n > same; kp->n--)
		mapping_end(w);
	for (; kp->n < n - 1; kp->n++) {
		str(w, segs[kp->n]);
		mapping_start(w, 0);
		memcpy(kp->segs[kp->n], segs[kp->n], sizeof(segs[0]));
	}
	str(w, segs[n - 1]);
}

static void close_keys(struct yw *w, struct keypath *kp)
{
	for (; kp->n > 0; kp->n--)
		mapping_end(w);
}

/* The children of parent `p` (NULL kind: the top level) under their keys. */
static void children(struct yw *w, const struct tw_res *p)
{
	size_t nk;
	const struct tw_kind *const *kids = tw_kind_children(p->kind, &nk);
	struct keypath kp = { .n = 0 };

	for (size_t k = 0; k < nk; k++) {
		const struct tw_kind *ck = kids[k];
		int any = 0;

		for (size_t i = 0; i < p->nchildren && !any; i++)
			any = p->children[i]->kind == ck;
		if (!any)
			continue;
		open_key(w, &kp, ck->yaml_key);
		if (ck->flags & TW_K_SINGLE) {
			for (size_t i = 0; i < p->nchildren; i++)
				if (p->children[i]->kind == ck) {
					resource(w, p->children[i]);
					break;
				}
			continue;
		}
		if (ck->flags & TW_K_MAPPED) {
			/* IDENTITY: VALUE, the value being the kind's one field, or a mapping of its fields */
			int vf = tw_kind_mapped_value(ck), idf = tw_kind_identity(ck);
			mapping_start(w, 0);
			for (size_t i = 0; i < p->nchildren; i++) {
				const struct tw_res *c = p->children[i];
				json_t *v;
				if (c->kind != ck || !c->id)
					continue;
				str(w, c->id);
				if (vf < 0) {
					mapping_start(w, 1);
					for (size_t f = 0; f < ck->nfields; f++)
						if ((int)f != idf && !(ck->fields[f].flags & TW_F_COMPUTED) &&
						    (v = json_object_get(c->fields, ck->fields[f].name))) {
							str(w, ck->fields[f].name);
							value(w, &ck->fields[f], v);
						}
					mapping_end(w);
				} else if ((v = json_object_get(c->fields, ck->fields[vf].name))) {
					value(w, &ck->fields[vf], v);
				} else {
					scalar(w, "", 0, 1);
				}
			}
			mapping_end(w);
			continue;
		}
		sequence_start(w, (ck->flags & TW_K_ASSOC) != 0);
		for (size_t i = 0; i < p->nchildren; i++) {
			const struct tw_res *c = p->children[i];
			if (c->kind != ck)
				continue;
			if (ck->flags & TW_K_ASSOC)
				str(w, c->id ? c->id : "");
			else
				resource(w, c);
		}
		sequence_end(w);
	}
	close_keys(w, &kp);
}

static void resource(struct yw *w, const struct tw_res *r)
{
	const struct tw_kind *k = r->kind;

	mapping_start(w, 0);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct tw_field *f = &k->fields[i];
		json_t *v = json_object_get(r->fields, f->name);
		if (!v || (f->flags & TW_F_COMPUTED))
			continue;
		str(w, f->name);
		value(w, f, v);
		if ((f->flags & TW_F_IDENTITY) && r->absent && !r->parent->kind) {
			str(w, "state");
			str(w, "absent");
		}
	}
	children(w, r);
	mapping_end(w);
}

static void names(struct yw *w, const char *key, const json_t *list)
{
	if (!json_array_size(list))
		return;
	str(w, key);
	sequence_start(w, 1);
	for (size_t i = 0; i < json_array_size(list); i++)
		json_scalar(w, json_array_get(list, i));
	sequence_end(w);
}

void tw_config_comment(struct tw_buf *out, const char *text)
{
	/* libyaml's emitter writes no comments: they are lines of their own before the document */
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		tw_buf_adds(out, n ? "# " : "#");
		tw_buf_add_quoted(out, p, n, TW_QUOTE_INLINE);
		tw_buf_addc(out, '\n');
		p += n + (p[n] == '\n');
	}
}

int tw_config_write(const struct tw_model *m, const char *header, struct tw_buf *out, struct tw_err *err)
{
	struct yw w = { .failed = 0 };
	yaml_event_t ev;
	size_t start = out->len;

	tw_config_comment(out, header);
	if (!yaml_emitter_initialize(&w.em))
		return tw_err_set(err, "cannot write YAML: out of memory");
	yaml_emitter_set_output(&w.em, out_handler, out);
	yaml_emitter_set_unicode(&w.em, 1);
	yaml_emitter_set_width(&w.em, -1);
	yaml_emitter_set_indent(&w.em, 2);

	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit(&w, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit(&w, &ev);
	mapping_start(&w, 0);
	str(&w, "twprov");
	scalar(&w, "1", 1, 1);
	if (m->region || m->edge) {
		str(&w, "account");
		mapping_start(&w, 0);
		if (m->region) {
			str(&w, "region");
			str(&w, m->region);
		}
		if (m->edge) {
			str(&w, "edge");
			str(&w, m->edge);
		}
		mapping_end(&w);
	}
	names(&w, "prune", m->prune);
	names(&w, "ignore", m->ignore);
	children(&w, &m->root);
	mapping_end(&w);
	yaml_document_end_event_initialize(&ev, 1);
	emit(&w, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit(&w, &ev);
	if (!w.failed && !yaml_emitter_flush(&w.em))
		w.failed = 1;
	if (w.failed) {
		tw_err_set(err, "cannot write YAML: %s", w.em.problem ? w.em.problem : "out of memory");
		yaml_emitter_delete(&w.em);
		out->len = start;
		out->buf[start] = '\0';
		return -1;
	}
	yaml_emitter_delete(&w.em);
	return 0;
}
