/* manref.c - the field reference of twprov.yaml(5), generated from the descriptors
 *
 * Like schema.c it walks the registry and names no kind.  src/tools/mangen.c
 * writes it between the markers of man/twprov.yaml.5 at build time; a test
 * fails when the committed page differs.
 */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/schema.h"
#include "kinds.h"

/* Text as roff: '-' as \- (options and values are copied from man pages), '\' as \e, and
 * \& before a '.' or '\'' that would start a line as a request. */
static void roff(struct tw_buf *b, const char *s)
{
	if (*s == '.' || *s == '\'')
		tw_buf_adds(b, "\\&");
	for (; *s; s++) {
		if (*s == '-')
			tw_buf_adds(b, "\\-");
		else if (*s == '\\')
			tw_buf_adds(b, "\\e");
		else
			tw_buf_addc(b, *s);
	}
}

static void bold(struct tw_buf *b, const char *s)
{
	tw_buf_adds(b, "\\fB");
	roff(b, s);
	tw_buf_adds(b, "\\fR");
}

/* "; " between the parts of a field's parenthetical. */
static void part(struct tw_buf *b, int *n)
{
	tw_buf_adds(b, (*n)++ ? "; " : "(");
}

/* What a string's check accepts: its choices, its noun, "string"; its length. */
static void string_type(struct tw_buf *b, const struct tw_field *f, int plural)
{
	const char *what;
	int scalars;
	char *pat = tw_check_pattern(f, &scalars, &what);

	free(pat);
	if (f->check == tw_check_enum && f->choices) {
		tw_buf_adds(b, "one of ");
		for (size_t i = 0; f->choices[i]; i++) {
			tw_buf_adds(b, i ? ", " : "");
			bold(b, f->choices[i]);
		}
		return;
	}
	roff(b, what ? what : "string");
	if (plural)
		tw_buf_addc(b, 's');
	if (f->suffix && *f->suffix) {
		tw_buf_adds(b, " ending in ");
		bold(b, f->suffix);
	}
	if (f->type == TW_V_STR && f->max > 0)
		tw_buf_addf(b, ", up to %ld characters", f->max);
}

static void field_type(struct tw_buf *b, const struct tw_field *f)
{
	switch (f->type) {
	case TW_V_STR:
		string_type(b, f, 0);
		if (f->objval) {
			tw_buf_adds(b, ", or {");
			for (size_t i = 0; f->objval->keys[i]; i++) {
				tw_buf_adds(b, i ? ", " : "");
				bold(b, f->objval->keys[i]);
			}
			tw_buf_adds(b, "}");
		}
		break;
	case TW_V_BOOL:
		tw_buf_adds(b, "boolean");
		break;
	case TW_V_INT:
		tw_buf_adds(b, "integer");
		if (f->min || f->max)
			tw_buf_addf(b, " %ld to %ld", f->min, f->max);
		break;
	case TW_V_REF:
		tw_buf_adds(b, "reference to ");
		bold(b, f->ref);
		break;
	case TW_V_REFLIST:
		tw_buf_adds(b, "list of references to ");
		bold(b, f->ref);
		break;
	case TW_V_LIST:
		tw_buf_adds(b, "list of ");
		string_type(b, f, 1);
		break;
	case TW_V_MAP:
		tw_buf_adds(b, "mapping of names to strings");
		break;
	}
}

static void field(struct tw_buf *b, const struct tw_field *f)
{
	int n = 0;

	tw_buf_adds(b, ".TP\n.B ");
	roff(b, f->name);
	tw_buf_addc(b, '\n');
	if (f->flags & TW_F_IDENTITY) {
		part(b, &n);
		tw_buf_adds(b, "\\fIidentity\\fR");
	} else if (f->flags & TW_F_REQUIRED) {
		part(b, &n);
		tw_buf_adds(b, "\\fIrequired\\fR");
	}
	part(b, &n);
	field_type(b, f);
	if (f->flags & TW_F_SECRET) {
		part(b, &n);
		tw_buf_adds(b, "\\fIsecret\\fR");
	} else if (f->flags & TW_F_SECREF) {
		part(b, &n);
		tw_buf_adds(b, "may be a secret reference");
	}
	if (f->flags & TW_F_LOCAL) {
		part(b, &n);
		tw_buf_adds(b, "twprov only");
	}
	if (f->flags & TW_F_IMMUTABLE) {
		part(b, &n);
		tw_buf_adds(b, "a change replaces the resource");
	}
	if (f->flags & TW_F_COMPUTED) {
		part(b, &n);
		tw_buf_adds(b, "computed, not written in the file");
	}
	if (f->create_default) {
		part(b, &n);
		tw_buf_adds(b, "created with ");
		bold(b, f->create_default);
		tw_buf_adds(b, " when left out");
	}
	tw_buf_adds(b, ")\n");
	if (f->doc) {
		roff(b, f->doc);
		tw_buf_addc(b, '\n');
	}
}

static void fields_and_kinds(struct tw_buf *b, const struct tw_kind *k);

/* A child kind, as a key of its parent's items. */
static void child(struct tw_buf *b, const struct tw_kind *k)
{
	tw_buf_adds(b, ".TP\n.B ");
	roff(b, k->yaml_key);
	tw_buf_adds(b, "\n(");
	if (k->flags & TW_K_ASSOC) {
		tw_buf_adds(b, "list of references to ");
		bold(b, k->assoc_ref);
	} else if (k->flags & TW_K_MAPPED) {
		int idf = tw_kind_identity(k), vf = tw_kind_mapped_value(k);
		tw_buf_adds(b, "mapping of ");
		bold(b, idf >= 0 ? k->fields[idf].name : "name");
		tw_buf_adds(b, " to ");
		if (vf >= 0)
			bold(b, k->fields[vf].name);
		else
			tw_buf_adds(b, "a mapping of the fields below");
	} else if (k->flags & TW_K_SINGLE) {
		tw_buf_adds(b, "mapping");
	} else {
		tw_buf_adds(b, "list");
	}
	if (k->flags & TW_K_LOCAL)
		tw_buf_adds(b, "; twprov only");
	else if (k->flags & TW_K_SETTING)
		tw_buf_adds(b, "; settings: those not listed are left alone");
	else
		tw_buf_adds(b, "; owned");
	if (strcmp(k->name, k->yaml_key)) {
		tw_buf_adds(b, "; kind ");
		bold(b, k->name);
	}
	tw_buf_adds(b, ")\n");
	if (k->doc) {
		roff(b, k->doc);
		tw_buf_addc(b, '\n');
	}
	if (k->flags & TW_K_ASSOC)
		return;
	tw_buf_adds(b, ".RS\n");
	fields_and_kinds(b, k);
	tw_buf_adds(b, ".RE\n");
}

static void fields_and_kinds(struct tw_buf *b, const struct tw_kind *k)
{
	size_t n;
	const struct tw_kind *const *kids = tw_kind_children(k, &n);

	for (size_t i = 0; i < k->nfields; i++)
		field(b, &k->fields[i]);
	for (size_t i = 0; i < n; i++)
		child(b, kids[i]);
}

static void guard(struct tw_buf *b, const char *what, const struct tw_guard *g)
{
	tw_buf_addf(b, "%s one is a ", what);
	bold(b, g->word);
	tw_buf_adds(b, ": apply needs ");
	bold(b, g->flag);
	tw_buf_adds(b, ".\n");
}

void tw_schema_man(struct tw_buf *b)
{
	size_t n;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);

	for (size_t i = 0; i < n; i++) {
		const struct tw_kind *k = tops[i];
		tw_buf_adds(b, ".SS ");
		roff(b, k->yaml_key);
		tw_buf_addc(b, '\n');
		if (k->doc) {
			roff(b, k->doc);
			tw_buf_addc(b, '\n');
		}
		if (k->flags & TW_K_SINGLE)
			tw_buf_adds(b, "One mapping, not a list.\n");
		if (k->flags & TW_K_SETTING)
			tw_buf_adds(b, "Settings of the account: never created nor deleted.\n");
		if (k->create_guard)
			guard(b, "Creating", k->create_guard);
		if (k->delete_guard)
			guard(b, "Removing", k->delete_guard);
		if (k->flags & TW_K_NO_PRUNE) {
			tw_buf_adds(b, "An undeclared one is never removed: ");
			bold(b, "prune");
			tw_buf_adds(b, " cannot name this kind.\n");
		}
		fields_and_kinds(b, k);
	}
}
