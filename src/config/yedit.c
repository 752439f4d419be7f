/* yedit.c - byte-exact removal of items from a twprov file (libyaml events and tokens) */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/log.h"
#include "twprov/model.h"
#include "twprov/yedit.h"
#include "internal.h"

/*
 * libyaml marks count characters, not bytes (a UTF-8 "é" is one; CRLF is
 * two; a BOM is not counted), so every mark goes through byte_of().
 */

enum { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

struct ynode {
	int type;
	size_t start, end;          /* character indices of the node's text (anchor and tag included) */
	int line, col;              /* 1-based start, as the loader reports it */
	int end_line, end_col;      /* 1-based, of `end` */
	int flow;                   /* a flow collection ([...] or {...}) */
	char *anchor;               /* the anchor this node defines, or NULL */
	char *alias;                /* YN_ALIAS: the anchor it names */
	struct ynode *target;       /* YN_ALIAS: the anchored node */
	char *str;                  /* scalar value */
	size_t len;
	struct ynode **kids;        /* sequence: items; mapping: key, value, key, value, ... */
	size_t n, alloc;
	struct ynode *next_all;
};

struct ytok {
	yaml_token_type_t type;
	size_t start, end;          /* character indices */
};

struct cut {
	size_t a, b;                /* bytes [a, b) */
};

#define CP_STEP 256             /* characters between two checkpoints of the byte map */
#define MAX_DEPTH 1000

struct tw_yedit {
	const char *data;
	size_t len;
	size_t base;                /* bytes of a UTF-8 byte order mark */
	size_t *cp;                 /* byte offset of character k * CP_STEP */
	size_t ncp, acp;
	struct ynode *root;
	struct ynode *all;
	struct ynode **anchored;    /* nodes with an anchor, in document order */
	size_t nanchored, aanchored;
	struct ynode **aliases;     /* alias nodes */
	size_t naliases, aaliases;
	struct ytok *toks;
	size_t ntoks, atoks;
	struct cut *cuts;
	size_t ncuts, acuts;
};

/* ---- text helpers ---- */

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static size_t byte_of(const struct tw_yedit *e, size_t c)
{
	size_t k = c / CP_STEP, b;
	if (k >= e->ncp)
		return e->len;
	b = e->cp[k];
	for (size_t r = c % CP_STEP; r && b < e->len; r--) {
		b++;
		while (b < e->len && ((unsigned char)e->data[b] & 0xC0) == 0x80)
			b++;
	}
	return b;
}

static void build_map(struct tw_yedit *e)
{
	size_t chars = 0;
	for (size_t i = e->base; i < e->len; i++) {
		if (((unsigned char)e->data[i] & 0xC0) == 0x80)
			continue;
		if (chars % CP_STEP == 0) {
			TW_ALLOC_GROW(e->cp, e->ncp + 1, e->acp);
			e->cp[e->ncp++] = i;
		}
		chars++;
	}
}

static size_t line_start(const char *d, size_t pos)
{
	while (pos > 0 && d[pos - 1] != '\n')
		pos--;
	return pos;
}

/* Just past the end of the line holding pos (past its '\n'), or len. */
static size_t line_end(const char *d, size_t len, size_t pos)
{
	while (pos < len && d[pos] != '\n')
		pos++;
	return pos < len ? pos + 1 : len;
}

static int all_ws(const char *d, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++)
		if (!is_ws(d[i]))
			return 0;
	return 1;
}

/* At pos: the end of the line (LF, CRLF or the end of the text)? */
static int at_eol(const char *d, size_t len, size_t pos)
{
	return pos >= len || d[pos] == '\n' || (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n');
}

/*
 * From pos: spaces, then an optional comment, then the end of the line?
 * Returns the offset just past that line end, or (size_t)-1 if other text
 * follows.  `comment_ok` 0: a comment is other text.
 */
static size_t rest_of_line(const char *d, size_t len, size_t pos, int comment_ok)
{
	while (pos < len && is_ws(d[pos]))
		pos++;
	if (comment_ok && pos < len && d[pos] == '#')
		while (pos < len && d[pos] != '\n')
			pos++;
	if (!at_eol(d, len, pos))
		return (size_t)-1;
	return line_end(d, len, pos);
}

/* The line [a, b) holds only spaces and tabs (and its line end). */
static int blank_line(const char *d, size_t a, size_t b)
{
	while (a < b && is_ws(d[a]))
		a++;
	return a == b || d[a] == '\n' || (d[a] == '\r' && a + 1 < b && d[a + 1] == '\n');
}

static int line_of(const char *d, size_t pos)
{
	int line = 1;
	for (size_t i = 0; i < pos; i++)
		line += d[i] == '\n';
	return line;
}

/* ---- parsing ---- */

static int parse_error(const yaml_parser_t *p, struct tw_err *err)
{
	return tw_err_set(err, "cannot parse the file: %s at %d:%d", p->problem ? p->problem : "invalid YAML",
			  (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1);
}

static struct ynode *node_new(struct tw_yedit *e, int type, const yaml_event_t *ev)
{
	struct ynode *n = tw_xcalloc(1, sizeof(*n));
	n->type = type;
	n->start = ev->start_mark.index;
	n->end = ev->end_mark.index;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	n->end_line = (int)ev->end_mark.line + 1;
	n->end_col = (int)ev->end_mark.column + 1;
	n->next_all = e->all;
	e->all = n;
	return n;
}

static void set_anchor(struct tw_yedit *e, struct ynode *n, const yaml_char_t *anchor)
{
	if (!anchor)
		return;
	n->anchor = tw_xstrdup((const char *)anchor);
	TW_ALLOC_GROW(e->anchored, e->nanchored + 1, e->aanchored);
	e->anchored[e->nanchored++] = n;
}

static struct ynode *find_anchor(const struct tw_yedit *e, const char *name)
{
	/* the latest definition wins */
	for (size_t i = e->nanchored; i-- > 0;)
		if (!strcmp(e->anchored[i]->anchor, name))
			return e->anchored[i];
	return NULL;
}

static void attach(struct tw_yedit *e, struct ynode **stack, size_t depth, struct ynode *n)
{
	if (!depth) {
		if (!e->root)
			e->root = n;
		return;
	}
	struct ynode *p = stack[depth - 1];
	TW_ALLOC_GROW(p->kids, p->n + 1, p->alloc);
	p->kids[p->n++] = n;
}

static int parse_events(struct tw_yedit *e, struct tw_err *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ynode **stack = NULL;
	size_t depth = 0, astack = 0;
	int ret = 0, done = 0, docs = 0;

	if (!yaml_parser_initialize(&p))
		return tw_err_set(err, "out of memory while parsing YAML");
	yaml_parser_set_input_string(&p, (const unsigned char *)e->data, e->len);
	while (!done && !ret) {
		struct ynode *n = NULL;
		if (!yaml_parser_parse(&p, &ev)) {
			ret = parse_error(&p, err);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			done = ++docs > 1;   /* the loader reads the first document only */
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(e, YN_SCALAR, &ev);
			n->len = ev.data.scalar.length;
			n->str = tw_xmalloc(n->len + 1);
			memcpy(n->str, ev.data.scalar.value, n->len);
			n->str[n->len] = '\0';
			attach(e, stack, depth, n);
			set_anchor(e, n, ev.data.scalar.anchor);
			break;
		case YAML_ALIAS_EVENT:
			n = node_new(e, YN_ALIAS, &ev);
			n->alias = tw_xstrdup((const char *)ev.data.alias.anchor);
			n->target = find_anchor(e, n->alias);
			TW_ALLOC_GROW(e->aliases, e->naliases + 1, e->aaliases);
			e->aliases[e->naliases++] = n;
			if (!n->target)
				ret = tw_err_set(err, "unknown alias *%s at %d:%d", n->alias, n->line, n->col);
			attach(e, stack, depth, n);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int map = ev.type == YAML_MAPPING_START_EVENT;
			n = node_new(e, map ? YN_MAP : YN_SEQ, &ev);
			n->flow = map ? ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
				      : ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
			attach(e, stack, depth, n);
			set_anchor(e, n, map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor);
			if (depth >= MAX_DEPTH) {
				ret = tw_err_set(err, "nesting too deep at %d:%d", n->line, n->col);
				break;
			}
			TW_ALLOC_GROW(stack, depth + 1, astack);
			stack[depth++] = n;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			if (n->flow) {
				n->end = ev.end_mark.index;
				n->end_line = (int)ev.end_mark.line + 1;
				n->end_col = (int)ev.end_mark.column + 1;
			} else {
				/* a block collection ends where its last content ends (libyaml's end
				   event is at the next token, past comments and blank lines) */
				n->end = n->start;
				for (size_t i = 0; i < n->n; i++)
					if (n->kids[i]->end > n->end) {
						n->end = n->kids[i]->end;
						n->end_line = n->kids[i]->end_line;
						n->end_col = n->kids[i]->end_col;
					}
			}
			break;
		default:
			break;
		}
		tw_yaml_event_wipe(&ev);
	}
	tw_yaml_parser_wipe(&p);
	free(stack);
	if (!ret && !e->root)
		ret = tw_err_set(err, "the file holds no YAML document");
	return ret;
}

static int scan_tokens(struct tw_yedit *e, struct tw_err *err)
{
	yaml_parser_t p;
	yaml_token_t t;
	int ret = 0;

	if (!yaml_parser_initialize(&p))
		return tw_err_set(err, "out of memory while parsing YAML");
	yaml_parser_set_input_string(&p, (const unsigned char *)e->data, e->len);
	for (;;) {
		if (!yaml_parser_scan(&p, &t)) {
			ret = parse_error(&p, err);
			break;
		}
		TW_ALLOC_GROW(e->toks, e->ntoks + 1, e->atoks);
		e->toks[e->ntoks].type = t.type;
		e->toks[e->ntoks].start = t.start_mark.index;
		e->toks[e->ntoks].end = t.end_mark.index;
		e->ntoks++;
		int end = t.type == YAML_STREAM_END_TOKEN;
		if (t.type == YAML_SCALAR_TOKEN)
			tw_memwipe(t.data.scalar.value, t.data.scalar.length);
		yaml_token_delete(&t);
		if (end)
			break;
	}
	tw_yaml_parser_wipe(&p);
	return ret;
}

struct tw_yedit *tw_yedit_new(const char *data, size_t len, struct tw_err *err)
{
	struct tw_yedit *e;
	const unsigned char *u = (const unsigned char *)data;

	if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE))) {
		tw_err_set(err, "the file is UTF-16: twprov edits UTF-8 files only");
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\r' && (i + 1 >= len || data[i + 1] != '\n')) {
			tw_err_set(err, "the file has a line ending in CR alone (line %d): twprov edits files "
				   "with LF or CRLF line ends only", line_of(data, i));
			return NULL;
		}
	e = tw_xcalloc(1, sizeof(*e));
	e->data = data;
	e->len = len;
	if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		e->base = 3;
	build_map(e);
	if (parse_events(e, err) < 0 || scan_tokens(e, err) < 0) {
		tw_yedit_free(e);
		return NULL;
	}
	return e;
}

void tw_yedit_free(struct tw_yedit *e)
{
	if (!e)
		return;
	for (struct ynode *n = e->all, *next; n; n = next) {
		next = n->next_all;
		if (n->str) {
			tw_memwipe(n->str, n->len);
			free(n->str);
		}
		free(n->anchor);
		free(n->alias);
		free(n->kids);
		free(n);
	}
	free(e->anchored);
	free(e->aliases);
	free(e->toks);
	free(e->cp);
	free(e->cuts);
	free(e);
}

/* ---- finding an item ---- */

static const struct ynode *deref(const struct ynode *n)
{
	return n && n->type == YN_ALIAS ? n->target : n;
}

static int scalar_is(const struct ynode *n, const char *s)
{
	n = deref(n);
	return n && n->type == YN_SCALAR && n->len == strlen(s) && !memcmp(n->str, s, n->len);
}

/* The value (as written: maybe an alias) of the first pair with this key, or NULL. */
static const struct ynode *map_value(const struct ynode *map, const char *key)
{
	map = deref(map);
	if (!map || map->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (scalar_is(map->kids[i], key))
			return map->kids[i + 1];
	return NULL;
}

struct found {
	const struct ynode *item;       /* the entry as written */
	const struct ynode *seq;        /* the sequence holding it */
	const struct ynode *via;        /* first alias on the way to it, or NULL */
	const struct ynode *anc[8];     /* the nodes that hold it */
	size_t nanc;
};

static void step(struct found *f, const struct ynode *n)
{
	if (n && n->type == YN_ALIAS && !f->via)
		f->via = n;
	n = deref(n);
	if (n && f->nanc < sizeof(f->anc) / sizeof(f->anc[0]))
		f->anc[f->nanc++] = n;
}

static const char *id_field(const struct tw_kind *k)
{
	int i = tw_kind_identity(k);
	return i >= 0 ? k->fields[i].name : NULL;
}

/* The sequence item whose mapping has `field` equal to `id`; counts matches in *count. */
static const struct ynode *seq_find(const struct ynode *seq, const char *field, const char *id, size_t *count)
{
	const struct ynode *hit = NULL;
	*count = 0;
	for (size_t i = 0; seq && seq->type == YN_SEQ && i < seq->n; i++) {
		const struct ynode *m = deref(seq->kids[i]);
		if (m && m->type == YN_MAP && scalar_is(map_value(m, field), id)) {
			if (!(*count)++)
				hit = seq->kids[i];
		}
	}
	return hit;
}

static int find_item(const struct tw_yedit *e, const struct tw_kind *k, const char *parent_id, const char *id,
		     struct found *f, struct tw_err *err)
{
	const char *idf = id_field(k);
	const struct ynode *v, *seq;
	size_t count;

	memset(f, 0, sizeof(*f));
	if (!idf || strchr(k->yaml_key, '.'))
		return tw_err_set(err, "%s items cannot be removed from the file automatically", k->name);
	if (!e->root || e->root->type != YN_MAP)
		return tw_err_set(err, "the file is not a mapping");
	step(f, e->root);
	if (k->parent) {
		const struct tw_kind *pk = tw_kind_find(k->parent);
		const char *pidf = pk ? id_field(pk) : NULL;
		if (!pidf || pk->parent || strchr(pk->yaml_key, '.') || !parent_id)
			return tw_err_set(err, "%s items cannot be removed from the file automatically", k->name);
		v = map_value(e->root, pk->yaml_key);
		step(f, v);
		const struct ynode *parent = seq_find(deref(v), pidf, parent_id, &count);
		if (!parent)
			return tw_err_set(err, "no %s named \"%s\" in the file", pk->name, parent_id);
		step(f, parent);
		v = map_value(parent, k->yaml_key);
	} else {
		v = map_value(e->root, k->yaml_key);
	}
	step(f, v);
	seq = deref(v);
	f->item = seq_find(seq, idf, id, &count);
	if (!f->item) {
		if (k->parent)
			return tw_err_set(err, "no %s with %s \"%s\" in %s \"%s\"", k->name, idf, id, k->parent,
					  parent_id);
		return tw_err_set(err, "no %s with %s \"%s\" in the file", k->name, idf, id);
	}
	f->seq = seq;
	if (count > 1)
		return tw_err_set(err, "%s \"%s\" is written %zu times", idf, id, count);
	return 0;
}

/* The first anchor defined in n or below (aliases not followed), or NULL. */
static const struct ynode *anchor_within(const struct ynode *n)
{
	if (n->anchor)
		return n;
	if (n->type == YN_ALIAS)
		return NULL;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *a = anchor_within(n->kids[i]);
		if (a)
			return a;
	}
	return NULL;
}

static int refuse_aliases(const struct tw_yedit *e, const struct found *f, struct tw_err *err)
{
	const struct ynode *a;

	if (f->item->type == YN_ALIAS)
		return tw_err_set(err, "the entry is the alias *%s of a node written at line %d", f->item->alias,
				  f->item->target->line);
	if (f->via)
		return tw_err_set(err, "the entry is reached through the alias *%s (line %d): its text is where "
				  "&%s is (line %d)", f->via->alias, f->via->line, f->via->alias, f->via->target->line);
	if ((a = anchor_within(f->item)))
		return tw_err_set(err, "the entry defines the anchor &%s (line %d), which aliases may repeat "
				  "elsewhere", a->anchor, a->line);
	for (size_t j = 0; j < e->naliases; j++) {
		const struct ynode *n = e->aliases[j];
		for (size_t i = 0; i < f->nanc; i++)
			if (n->target == f->anc[i])
				return tw_err_set(err, "the alias *%s (line %d) repeats a node that holds the entry",
						  n->alias, n->line);
	}
	return 0;
}

/* ---- cutting ---- */

static size_t tok_from(const struct tw_yedit *e, size_t c)
{
	size_t lo = 0, hi = e->ntoks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->toks[mid].start < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_cut(struct tw_yedit *e, size_t a, size_t b, struct tw_err *err)
{
	size_t i;
	if (a >= b)
		return 0;
	for (i = 0; i < e->ncuts; i++) {
		if (a < e->cuts[i].b && e->cuts[i].a < b)
			return tw_err_set(err, "the entry overlaps another removal");
		if (b <= e->cuts[i].a)
			break;
	}
	TW_ALLOC_GROW(e->cuts, e->ncuts + 1, e->acuts);
	memmove(&e->cuts[i + 1], &e->cuts[i], (e->ncuts - i) * sizeof(*e->cuts));
	e->cuts[i].a = a;
	e->cuts[i].b = b;
	e->ncuts++;
	return 0;
}

/* A block sequence entry: whole lines (see yedit.h). */
static int cut_block(struct tw_yedit *e, const struct ynode *item, const struct ytok *dash, struct cut *c,
		     struct tw_err *err)
{
	const char *d = e->data;
	size_t len = e->len, dpos = byte_of(e, dash->start), ls = line_start(d, dpos), end = byte_of(e, item->end);
	size_t le, indent = dpos - ls;

	if (!all_ws(d, ls, dpos))
		return tw_err_set(err, "other text precedes the entry's '-' on line %d", line_of(d, dpos));
	if (end > dpos && d[end - 1] == '\n') {
		le = end;   /* a block scalar ends with its line ends */
	} else {
		le = rest_of_line(d, len, end, 1);
		if (le == (size_t)-1)
			return tw_err_set(err, "other text follows the entry on line %d", line_of(d, end));
	}
	/* comment lines right after it, indented deeper than its '-' */
	for (;;) {
		size_t p = le;
		while (p < len && is_ws(d[p]))
			p++;
		if (p >= len || d[p] != '#' || p - le <= indent)
			break;
		le = line_end(d, len, p);
	}
	/* blank lines on both sides: the ones after it go with it */
	if (ls > 0 && blank_line(d, line_start(d, ls - 1), ls) && le < len && blank_line(d, le, line_end(d, len, le)))
		while (le < len && blank_line(d, le, line_end(d, len, le)))
			le = line_end(d, len, le);
	c[0].a = ls;
	c[0].b = le;
	return 1;
}

/* An element of a flow sequence: the element and one comma (see yedit.h). */
static int cut_flow(struct tw_yedit *e, const struct ynode *item, const struct ytok *prev, const struct ytok *next,
		    struct cut *c, struct tw_err *err)
{
	const char *d = e->data;
	size_t len = e->len, s = byte_of(e, item->start), end = byte_of(e, item->end);
	size_t ls = line_start(d, s);
	int own = all_ws(d, ls, s);     /* the element starts its line */

	if (next->type == YAML_FLOW_ENTRY_TOKEN) {
		size_t comma = byte_of(e, next->end), q = comma, le;
		while (q < len && is_ws(d[q]))
			q++;
		if (own && (le = rest_of_line(d, len, comma, 1)) != (size_t)-1) {
			c[0].a = ls;
			c[0].b = le;
		} else if (rest_of_line(d, len, comma, 1) != (size_t)-1) {
			/* the rest of the line is the element's: its comment goes too */
			size_t a = s;
			while (a > ls && is_ws(d[a - 1]))
				a--;
			while (q < len && d[q] != '\n')
				q++;
			if (q > a && d[q - 1] == '\r')
				q--;
			c[0].a = a;
			c[0].b = q;
		} else {
			c[0].a = s;
			c[0].b = q;
		}
		return 1;
	}
	if (next->type != YAML_FLOW_SEQUENCE_END_TOKEN)
		return tw_err_set(err, "unexpected text after the entry on line %d", line_of(d, end));
	if (prev->type == YAML_FLOW_ENTRY_TOKEN) {
		size_t pa = byte_of(e, prev->start), pb = byte_of(e, prev->end), le;
		if (own && (le = rest_of_line(d, len, end, 1)) != (size_t)-1) {
			c[0].a = pa;
			c[0].b = pb;
			c[1].a = ls;
			c[1].b = le;
			return 2;
		}
		c[0].a = pa;
		c[0].b = end;
		return 1;
	}
	if (prev->type != YAML_FLOW_SEQUENCE_START_TOKEN)
		return tw_err_set(err, "unexpected text before the entry on line %d", line_of(d, s));
	{
		size_t le;
		if (own && (le = rest_of_line(d, len, end, 1)) != (size_t)-1) {
			c[0].a = ls;
			c[0].b = le;
		} else {
			size_t b = end;
			while (b < len && is_ws(d[b]))
				b++;
			c[0].a = s;
			c[0].b = b;
		}
	}
	return 1;
}

int tw_yedit_remove(struct tw_yedit *e, const struct tw_kind *k, const char *parent_id, const char *id,
		    struct tw_yedit_place *where, struct tw_err *err)
{
	struct found f;
	struct cut c[2];
	int n;

	if (where)
		memset(where, 0, sizeof(*where));
	int found = find_item(e, k, parent_id, id, &f, err);
	if (!f.item)
		return -1;
	if (where) {
		where->line = f.item->line;
		where->col = f.item->col;
		/* a block scalar ends at the start of the next line */
		where->end_line = f.item->end_col == 1 && f.item->end_line > f.item->line ? f.item->end_line - 1
											    : f.item->end_line;
	}
	if (found < 0 || refuse_aliases(e, &f, err) < 0)
		return -1;

	size_t first = tok_from(e, f.item->start), next = tok_from(e, f.item->end);
	if (first == 0 || next >= e->ntoks)
		return tw_err_set(err, "cannot find the punctuation around the entry");
	if (!f.seq->flow) {
		if (e->toks[first - 1].type != YAML_BLOCK_ENTRY_TOKEN)
			return tw_err_set(err, "the entry does not follow its '-'");
		n = cut_block(e, f.item, &e->toks[first - 1], c, err);
	} else {
		n = cut_flow(e, f.item, &e->toks[first - 1], &e->toks[next], c, err);
	}
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (add_cut(e, c[i].a, c[i].b, err) < 0) {
			/* leave the session as it was */
			for (int j = 0; j < i; j++)
				for (size_t x = 0; x < e->ncuts; x++)
					if (e->cuts[x].a == c[j].a && e->cuts[x].b == c[j].b) {
						memmove(&e->cuts[x], &e->cuts[x + 1], (e->ncuts - x - 1) * sizeof(*e->cuts));
						e->ncuts--;
						break;
					}
			return -1;
		}
	}
	return 0;
}

void tw_yedit_result(const struct tw_yedit *e, struct tw_buf *out)
{
	size_t pos = 0;
	tw_buf_grow(out, e->len);
	for (size_t i = 0; i < e->ncuts; i++) {
		tw_buf_add(out, e->data + pos, e->cuts[i].a - pos);
		pos = e->cuts[i].b;
	}
	tw_buf_add(out, e->data + pos, e->len - pos);
}

size_t tw_yedit_ncuts(const struct tw_yedit *e)
{
	return e->ncuts;
}

/* ---- the diff ---- */

struct secrets {
	struct cut *v;
	size_t n, alloc;
};

static int secret_name(const struct ynode *key)
{
	key = deref(key);
	if (!key || key->type != YN_SCALAR)
		return 0;
	for (size_t i = 0; i < tw_nkinds; i++)
		for (size_t j = 0; j < tw_kinds[i]->nfields; j++)
			if ((tw_kinds[i]->fields[j].flags & TW_F_SECRET) && scalar_is(key, tw_kinds[i]->fields[j].name))
				return 1;
	return 0;
}

static int cut_cmp(const void *pa, const void *pb)
{
	const struct cut *a = pa, *b = pb;
	return a->a < b->a ? -1 : a->a > b->a;
}

/* Byte ranges of secret values written literally (references are not secret). */
static void find_secrets(const struct tw_yedit *e, struct secrets *s)
{
	for (const struct ynode *n = e->all; n; n = n->next_all) {
		if (n->type != YN_MAP)
			continue;
		for (size_t i = 0; i + 1 < n->n; i += 2) {
			const struct ynode *v = n->kids[i + 1];
			const char *arg;
			size_t arglen;
			if (v->type != YN_SCALAR || !secret_name(n->kids[i]) || tw_secref_parse(v->str, v->len, &arg, &arglen))
				continue;
			TW_ALLOC_GROW(s->v, s->n + 1, s->alloc);
			s->v[s->n].a = byte_of(e, v->start);
			s->v[s->n].b = byte_of(e, v->end);
			s->n++;
		}
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cut_cmp);
}

static int in_ranges(const struct cut *v, size_t n, size_t pos)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].b <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].a <= pos;
}

struct drender {
	const struct tw_yedit *e;
	const struct secrets *s;
	int color;
	struct tw_buf line;         /* the line being built */
	int in_secret;
	size_t count;               /* lines emitted */
};

static void emit_line(struct drender *r, struct tw_buf *out, char mark)
{
	const char *on = "", *off = "";
	if (r->line.len && r->line.buf[r->line.len - 1] == '\r')
		r->line.buf[--r->line.len] = '\0';
	if (r->color && mark != ' ') {
		on = mark == '-' ? "\033[" TW_C_RED "m" : "\033[" TW_C_GREEN "m";
		off = "\033[" TW_C_RESET "m";
	}
	/* the file's bytes, shown on a terminal: control characters escaped */
	tw_buf_addf(out, "%s%c", on, mark);
	tw_buf_add_quoted(out, r->line.buf, r->line.len, TW_QUOTE_INLINE);
	tw_buf_addf(out, "%s\n", off);
	tw_buf_reset(&r->line);
	r->in_secret = 0;
	r->count++;
}

/* Render the bytes [a, b) as lines marked `mark`, without the cuts when skip_cuts. */
static void render(struct drender *r, struct tw_buf *out, size_t a, size_t b, int skip_cuts, char mark)
{
	const struct tw_yedit *e = r->e;
	for (size_t p = a; p < b; p++) {
		char ch = e->data[p];
		if (skip_cuts && in_ranges(e->cuts, e->ncuts, p))
			continue;
		if (ch == '\n') {
			emit_line(r, out, mark);
			continue;
		}
		if (in_ranges(r->s->v, r->s->n, p)) {
			if (!r->in_secret)
				tw_buf_adds(&r->line, "(sensitive)");
			r->in_secret = 1;
			continue;
		}
		r->in_secret = 0;
		tw_buf_addc(&r->line, ch);
	}
	if (r->line.len)
		emit_line(r, out, mark);
}

struct block {
	size_t la, lb;              /* old lines (0-based) */
};

void tw_yedit_diff(const struct tw_yedit *e, const char *name, int color, struct tw_buf *out)
{
	enum { CTX = 3 };
	struct secrets s = { 0 };
	struct block *blocks = NULL;
	size_t nblocks = 0, ablocks = 0, *ls = NULL, nls = 0, als = 0;
	struct drender r = { .e = e, .s = &s, .color = color, .line = TW_BUF_INIT };
	long delta = 0;

	if (!e->ncuts)
		return;
	find_secrets(e, &s);
	for (size_t p = 0; p < e->len; p = line_end(e->data, e->len, p)) {
		TW_ALLOC_GROW(ls, nls + 2, als);
		ls[nls++] = p;
	}
	ls[nls] = e->len;   /* ls[i + 1] is where line i ends */

	for (size_t i = 0; i < e->ncuts; i++) {
		size_t a = e->cuts[i].a, b = e->cuts[i].b, la, lb;
		for (la = 0; la + 1 < nls && ls[la + 1] <= a; la++)
			;
		for (lb = la; lb + 1 < nls && ls[lb + 1] <= b - 1; lb++)
			;
		if (nblocks && blocks[nblocks - 1].lb >= la) {
			if (lb > blocks[nblocks - 1].lb)
				blocks[nblocks - 1].lb = lb;
			continue;
		}
		TW_ALLOC_GROW(blocks, nblocks + 1, ablocks);
		blocks[nblocks].la = la;
		blocks[nblocks].lb = lb;
		nblocks++;
	}

	if (color)
		tw_buf_addf(out, "\033[%sm--- %s\n+++ %s\033[%sm\n", TW_C_BOLD, tw_quote(name), tw_quote(name),
			    TW_C_RESET);
	else
		tw_buf_addf(out, "--- %s\n+++ %s\n", tw_quote(name), tw_quote(name));
	for (size_t i = 0; i < nblocks;) {
		size_t j = i, first, last;
		struct tw_buf body = TW_BUF_INIT;
		size_t old_n = 0, new_n = 0;
		while (j + 1 < nblocks && blocks[j + 1].la <= blocks[j].lb + 1 + 2 * CTX)
			j++;
		first = blocks[i].la > CTX ? blocks[i].la - CTX : 0;
		last = blocks[j].lb + CTX < nls - 1 ? blocks[j].lb + CTX : nls - 1;
		size_t line = first;
		for (size_t k = i; k <= j; k++) {
			r.count = 0;
			render(&r, &body, ls[line], ls[blocks[k].la], 0, ' ');
			old_n += r.count;
			new_n += r.count;
			r.count = 0;
			render(&r, &body, ls[blocks[k].la], ls[blocks[k].lb + 1], 0, '-');
			old_n += r.count;
			r.count = 0;
			render(&r, &body, ls[blocks[k].la], ls[blocks[k].lb + 1], 1, '+');
			new_n += r.count;
			line = blocks[k].lb + 1;
		}
		r.count = 0;
		render(&r, &body, ls[line], ls[last + 1], 0, ' ');
		old_n += r.count;
		new_n += r.count;
		long new_first = (long)first + 1 + delta;
		tw_buf_addf(out, "%s@@ -%zu,%zu +%ld,%zu @@%s\n", color ? "\033[" TW_C_DIM "m" : "", first + 1, old_n,
			    new_n ? new_first : new_first - 1, new_n, color ? "\033[" TW_C_RESET "m" : "");
		tw_buf_add(out, body.buf, body.len);
		tw_buf_wipe(&body);
		delta += (long)new_n - (long)old_n;
		i = j + 1;
	}
	tw_buf_wipe(&r.line);
	free(blocks);
	free(ls);
	free(s.v);
}

/* ---- verification ---- */

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int is_removed(const struct tw_res *r, const struct tw_res *const *removed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (removed[i] == r)
			return 1;
	return 0;
}

static int res_equal(const struct tw_res *a, const struct tw_res *b, const struct tw_res *const *removed,
		     size_t nremoved, size_t *seen, struct tw_buf *why);

static int kids_equal(const struct tw_res *a, const struct tw_res *b, const struct tw_res *const *removed,
		      size_t nremoved, size_t *seen, struct tw_buf *why)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a->nchildren && is_removed(a->children[i], removed, nremoved)) {
			i++;
			(*seen)++;
		}
		if (i == a->nchildren || j == b->nchildren)
			break;
		if (!res_equal(a->children[i], b->children[j], removed, nremoved, seen, why))
			return 0;
		i++;
		j++;
	}
	if (i < a->nchildren) {
		char *addr = tw_res_address(a->children[i]);
		tw_buf_addf(why, "%s is gone", addr);
		free(addr);
		return 0;
	}
	if (j < b->nchildren) {
		char *addr = tw_res_address(b->children[j]);
		tw_buf_addf(why, "%s appeared", addr);
		free(addr);
		return 0;
	}
	return 1;
}

static int res_equal(const struct tw_res *a, const struct tw_res *b, const struct tw_res *const *removed,
		     size_t nremoved, size_t *seen, struct tw_buf *why)
{
	if (a->kind != b->kind || !str_eq(a->id, b->id)) {
		char *x = tw_res_address(a), *y = tw_res_address(b);
		tw_buf_addf(why, "%s is where %s was", y, x);
		free(x);
		free(y);
		return 0;
	}
	if (a->absent != b->absent ||
	    !json_equal(a->fields, b->fields) || a->sensitive != b->sensitive) {
		char *addr = tw_res_address(a);
		tw_buf_addf(why, "%s differs", addr);
		free(addr);
		return 0;
	}
	return kids_equal(a, b, removed, nremoved, seen, why);
}

int tw_yedit_verify(const struct tw_model *before, const char *text, size_t len,
		    const struct tw_config_opts *o, const struct tw_res *const *removed, size_t nremoved,
		    struct tw_err *err)
{
	struct tw_model *after = NULL;
	struct tw_err lerr = TW_ERR_INIT;
	struct tw_buf why = TW_BUF_INIT;
	size_t seen = 0;
	int ret = 0;

	if (tw_config_load_buf_opts(before->file, before->dir, text, len, o, &after, &lerr) < 0) {
		const struct tw_diag *dg = NULL;
		for (size_t i = 0; i < after->diags.n && !dg; i++)
			if (!after->diags.v[i].warning)
				dg = &after->diags.v[i];
		if (dg)
			ret = tw_err_set(err, "the edited file would not be valid: %d:%d: %s", dg->loc.line,
					 dg->loc.col, dg->msg);
		else
			ret = tw_err_set(err, "the edited file would not be valid: %s", lerr.msg);
		goto out;
	}
	if (before->version != after->version || !str_eq(before->region, after->region) ||
	    !str_eq(before->edge, after->edge) || !json_equal(before->prune, after->prune) ||
	    !json_equal(before->ignore, after->ignore) || !json_equal(before->kinds_present, after->kinds_present)) {
		ret = tw_err_set(err, "the edited file would not load the same: its settings differ");
		goto out;
	}
	if (!kids_equal(&before->root, &after->root, removed, nremoved, &seen, &why)) {
		ret = tw_err_set(err, "the edited file would not load the same: %s", why.buf);
		goto out;
	}
	if (seen != nremoved)
		ret = tw_err_set(err, "the edited file would not load the same: %zu of %zu entries were removed",
				 seen, nremoved);
out:
	tw_buf_release(&why);
	tw_model_free(after);
	return ret;
}
