/* ytree.c - a YAML document as a tree of positioned nodes (libyaml event API) */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "twprov/buf.h"
#include "twprov/model.h"
#include "internal.h"

#define WEIGHT_CAP ((size_t)1 << 40)

static size_t add_weight(size_t a, size_t b)
{
	return (a > WEIGHT_CAP - b || b > WEIGHT_CAP) ? WEIGHT_CAP : a + b;
}

struct builder {
	struct tw_ydoc *doc;
	const char *file;
	const char *data;
	size_t len;
	struct tw_diags *d;
	struct tw_ynode **stack;
	size_t depth, stack_alloc;
	json_t *anchors;            /* anchor name -> index into `anchored` */
	struct tw_ynode **anchored;
	size_t nanchored, anchored_alloc;
};

static void diag_at(struct builder *b, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag_at(struct builder *b, int line, int col, const char *fmt, ...)
{
	struct tw_buf msg = TW_BUF_INIT;
	struct tw_loc loc = { b->file, line, col };
	va_list ap;

	va_start(ap, fmt);
	tw_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	tw_diag_add(b->d, 0, &loc, "%s", msg.buf);
	tw_buf_release(&msg);
}

static struct tw_ynode *node_new(struct builder *b, enum tw_ytype type, const yaml_mark_t *mark)
{
	struct tw_ynode *n = tw_xcalloc(1, sizeof(*n));
	n->type = type;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->weight = 1;
	n->next_all = b->doc->all;
	b->doc->all = n;
	return n;
}

static void attach(struct builder *b, struct tw_ynode *n)
{
	if (!b->depth) {
		b->doc->root = n;
		return;
	}
	struct tw_ynode *p = b->stack[b->depth - 1];
	TW_ALLOC_GROW(p->kids, p->n + 1, p->alloc);
	p->kids[p->n++] = n;
}

static void set_anchor(struct builder *b, const yaml_char_t *anchor, struct tw_ynode *n)
{
	if (!anchor)
		return;
	TW_ALLOC_GROW(b->anchored, b->nanchored + 1, b->anchored_alloc);
	b->anchored[b->nanchored] = n;
	json_object_set_new_nocheck(b->anchors, (const char *)anchor, json_integer((json_int_t)b->nanchored));
	b->nanchored++;
}

/* Scalar keys of a mapping, sorted by length, bytes, then position to find duplicates. */
struct key_ref {
	const struct tw_ynode *key;
	size_t pair;
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key_ref *a = pa, *c = pb;
	if (a->key->len != c->key->len)
		return a->key->len < c->key->len ? -1 : 1;
	int r = memcmp(a->key->str, c->key->str, a->key->len);
	if (r)
		return r;
	return a->pair < c->pair ? -1 : a->pair > c->pair;
}

static void find_duplicates(struct tw_ynode *map)
{
	size_t npairs = map->n / 2, nscalar = 0;
	struct key_ref *keys = tw_xmalloc((npairs ? npairs : 1) * sizeof(*keys));

	for (size_t i = 0; i < npairs; i++) {
		const struct tw_ynode *k = tw_ynode_deref(map->kids[2 * i]);
		if (k->type == TW_Y_SCALAR) {
			keys[nscalar].key = k;
			keys[nscalar].pair = i;
			nscalar++;
		}
	}
	qsort(keys, nscalar, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nscalar; i++) {
		const struct tw_ynode *a = keys[i - 1].key, *c = keys[i].key;
		if (a->len != c->len || memcmp(a->str, c->str, a->len))
			continue;
		if (!map->dup)
			map->dup = tw_xcalloc(npairs, sizeof(*map->dup));
		/* point every repeat at the first occurrence */
		size_t first = keys[i - 1].pair;
		if (map->dup[first])
			first = map->dup[first] - 1;
		map->dup[keys[i].pair] = first + 1;
		map->has_dup = 1;
	}
	free(keys);
}

static void close_collection(struct builder *b)
{
	struct tw_ynode *n = b->stack[--b->depth];
	size_t w = 1;
	for (size_t i = 0; i < n->n; i++)
		w = add_weight(w, n->kids[i]->weight);
	n->weight = w;
	n->done = 1;
	if (n->type == TW_Y_MAP)
		find_duplicates(n);
}

void tw_yaml_event_wipe(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		tw_memwipe(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

void tw_yaml_parser_wipe(yaml_parser_t *p)
{
	/* the parser's copies of the input may hold literal secrets */
	if (p->raw_buffer.start)
		tw_memwipe(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start)
		tw_memwipe(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	yaml_parser_delete(p);
}

static void offset_to_pos(const char *data, size_t len, size_t off, int *line, int *col)
{
	int l = 1;
	size_t bol = 0;
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++)
		if (data[i] == '\n') {
			l++;
			bol = i + 1;
		}
	*line = l;
	*col = (int)(off - bol) + 1;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_READER_ERROR) {
		int line, col;
		offset_to_pos(b->data, b->len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			diag_at(b, line, col, "invalid YAML input: %s (#%X)", problem, (unsigned)p->problem_value);
		else
			diag_at(b, line, col, "invalid YAML input: %s", problem);
		return;
	}
	if (p->error == YAML_MEMORY_ERROR) {
		diag_at(b, 1, 1, "out of memory while parsing YAML");
		return;
	}
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
	if (p->context)
		diag_at(b, line, col, "YAML syntax error: %s (%s at %d:%d)", problem, p->context,
			(int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		diag_at(b, line, col, "YAML syntax error: %s", problem);
}

static int push(struct builder *b, struct tw_ynode *n)
{
	if (b->depth >= TW_CFG_MAX_DEPTH) {
		diag_at(b, n->line, n->col, "nesting too deep (more than %d levels of lists and mappings)",
			TW_CFG_MAX_DEPTH);
		return -1;
	}
	attach(b, n);
	TW_ALLOC_GROW(b->stack, b->depth + 1, b->stack_alloc);
	b->stack[b->depth++] = n;
	return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	if (len > TW_CFG_MAX_SCALAR) {
		diag_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			"value too long: %zu bytes (max %u)", len, TW_CFG_MAX_SCALAR);
		return -1;
	}
	struct tw_ynode *n = node_new(b, TW_Y_SCALAR, &ev->start_mark);
	n->str = tw_xmalloc(len + 1);
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit;
	if (ev->data.scalar.tag)
		n->tag = tw_xstrdup((const char *)ev->data.scalar.tag);
	n->done = 1;
	attach(b, n);
	set_anchor(b, ev->data.scalar.anchor, n);
	return 0;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	json_t *j = json_object_get(b->anchors, name);
	struct tw_buf q = TW_BUF_INIT;

	tw_cfg_quote(&q, name);
	if (!j) {
		diag_at(b, line, col, "unknown alias %s (no anchor &%s before it)", q.buf, name);
		tw_buf_release(&q);
		return -1;
	}
	struct tw_ynode *t = b->anchored[json_integer_value(j)];
	if (!t->done) {
		diag_at(b, line, col, "alias %s refers to a node that contains it", q.buf);
		tw_buf_release(&q);
		return -1;
	}
	b->doc->aliased = add_weight(b->doc->aliased, t->weight);
	if (b->doc->aliased > TW_CFG_MAX_ALIASED) {
		diag_at(b, line, col, "aliases expand to more than %d nodes (alias %s); the file is refused",
			TW_CFG_MAX_ALIASED, q.buf);
		tw_buf_release(&q);
		return -1;
	}
	tw_buf_release(&q);
	struct tw_ynode *n = node_new(b, TW_Y_ALIAS, &ev->start_mark);
	n->target = t;
	n->anchor = tw_xstrdup(name);
	n->weight = t->weight;
	n->done = 1;
	attach(b, n);
	return 0;
}

int tw_ydoc_parse(struct tw_ydoc *doc, const char *file, const char *data, size_t len, struct tw_diags *d)
{
	struct builder b = { .doc = doc, .file = file, .data = data, .len = len, .d = d };
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0, ret = 0, done = 0;

	memset(doc, 0, sizeof(*doc));
	if (!yaml_parser_initialize(&p)) {
		diag_at(&b, 1, 1, "out of memory while parsing YAML");
		return -1;
	}
	b.anchors = json_object();
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);

	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p);
			ret = -1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				/* keep checking the first document; the rest is not read */
				diag_at(&b, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
					"the file holds more than one YAML document (only one is allowed)");
				done = 1;
			}
			break;
		case YAML_SCALAR_EVENT:
			if (on_scalar(&b, &ev) < 0)
				ret = -1;
			break;
		case YAML_ALIAS_EVENT:
			if (on_alias(&b, &ev) < 0)
				ret = -1;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int map = ev.type == YAML_MAPPING_START_EVENT;
			struct tw_ynode *n = node_new(&b, map ? TW_Y_MAP : TW_Y_SEQ, &ev.start_mark);
			const yaml_char_t *anchor = map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor;
			if (push(&b, n) < 0) {
				ret = -1;
				break;
			}
			set_anchor(&b, anchor, n);
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			close_collection(&b);
			break;
		default:
			break;
		}
		tw_yaml_event_wipe(&ev);
		if (ret < 0)
			break;
	}
	tw_yaml_parser_wipe(&p);
	json_decref(b.anchors);
	free(b.anchored);
	free(b.stack);

	if (ret < 0) {
		doc->root = NULL;
		return -1;
	}
	if (!doc->root || tw_ynode_is_null(doc->root)) {
		diag_at(&b, 1, 1, "empty file");
		doc->root = NULL;
		return -1;
	}
	return 0;
}

void tw_ydoc_release(struct tw_ydoc *doc)
{
	struct tw_ynode *n = doc->all;
	while (n) {
		struct tw_ynode *next = n->next_all;
		if (n->str) {
			tw_memwipe(n->str, n->len);
			free(n->str);
		}
		free(n->tag);
		free(n->kids);
		free(n->dup);
		free(n->anchor);
		free(n);
		n = next;
	}
	memset(doc, 0, sizeof(*doc));
}

const struct tw_ynode *tw_ynode_deref(const struct tw_ynode *n)
{
	return n && n->type == TW_Y_ALIAS ? n->target : n;
}

int tw_ynode_is_null(const struct tw_ynode *n)
{
	n = tw_ynode_deref(n);
	if (!n || n->type != TW_Y_SCALAR || !n->plain)
		return 0;
	return !n->len || !strcmp(n->str, "~") || !strcmp(n->str, "null") || !strcmp(n->str, "Null") ||
	       !strcmp(n->str, "NULL");
}
