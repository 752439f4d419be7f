/* model.h - the desired model (from the file) and the live model (from Twilio) */
#ifndef TWPROV_MODEL_H
#define TWPROV_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "twprov/kind.h"

/* A place in the file: 1-based line and column. */
struct tw_loc {
	const char *file;
	int line, col;
};

struct tw_diag {
	struct tw_loc loc;
	int warning;       /* 0 = error, 1 = warning */
	char *msg;
};

/* Diagnostics of one file, errors and warnings, in the order found. */
struct tw_diags {
	struct tw_diag *v;
	size_t n, alloc;
	size_t nerrors, nwarnings;
};

void tw_diag_add(struct tw_diags *d, int warning, const struct tw_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tw_diags_sort(struct tw_diags *d);  /* by line, then column (stable) */
/* "FILE:LINE:COL: error: msg" per line */
void tw_diags_print(const struct tw_diags *d, FILE *f);
void tw_diags_release(struct tw_diags *d);

/*
 * One resource, declared or live.  Declared and live resources share this
 * shape so the differ can compare them field by field:
 *  - `fields` maps the kind's field names to values (jansson string, bool,
 *    integer; references are names).  A key that is absent is not managed.
 *  - Live resources carry `sid` and the raw API object `json`; their
 *    `fields` are converted from it (SIDs of references turned into names).
 *  - Declared resources have neither: a plan says which live resource each
 *    one matched, and an apply what it made of them.
 */
struct tw_res {
	const struct tw_kind *kind;     /* NULL for the model's root */
	struct tw_res *parent;
	char *id;                       /* identity value; for TW_K_ASSOC the referenced name */
	json_t *fields;                 /* field name -> value */
	uint64_t sensitive;             /* bit i: the value of kind->fields[i] came from a secret
	                                   reference (fields 0..63 only) */
	struct tw_loc loc;              /* declared: where the item starts */
	struct tw_loc *flocs;           /* declared: per field of kind->fields, where its value is
	                                   (line 0 = not in `fields`: absent or invalid) */
	int absent;                     /* declared with `state: absent` */
	int on_demand;                  /* declared by a hook (twprov's manifest function): created only
	                                   when its kind's own actions need it (tw_planner_create), not
	                                   because the account lacks it */
	struct tw_res **children;       /* all child kinds, in file (or API) order */
	size_t nchildren, children_alloc;
	char *sid;                      /* live: its SID */
	json_t *json;                   /* live: the API object */
	int children_read;              /* live: children of this resource were read */
};

struct tw_model {
	struct tw_res root;             /* kind NULL; children are the top-level resources */
	char *file;                     /* path of the file (declared model) */
	char sha256[65];                /* SHA-256 of the bytes loaded from it ("" for a buffer) */
	char *dir;                      /* its directory, for ${file:...} and sources */
	long version;                   /* twprov: N */
	json_t *prune;                  /* array of kind names */
	json_t *ignore;                 /* array of name globs */
	json_t *kinds_present;          /* object: top-level kind names whose key appears in the file
	                                   (values are true; also when the list is empty or null) */
	char *region, *edge;            /* account: */
	struct tw_diags diags;
	int live;                       /* 1 for a model read from Twilio */
};

struct tw_model *tw_model_new(int live);
/* The model a resource belongs to (through its root). */
const struct tw_model *tw_res_model(const struct tw_res *r);
void tw_model_free(struct tw_model *m);

struct tw_res *tw_res_new(const struct tw_kind *k, struct tw_res *parent);
/* Frees a resource and its children; wipes secret field values. */
void tw_res_free(struct tw_res *r);
void tw_res_add_child(struct tw_res *parent, struct tw_res *child);
/* First child of kind `k` with identity `id`, or NULL (a linear scan). */
struct tw_res *tw_res_find(const struct tw_res *parent, const struct tw_kind *k, const char *id);
/*
 * The children of kind `k` by identity, for many lookups: an object mapping
 * each id to its position in parent->children (an integer) or, when several
 * children share the id, to an array of their positions in order.  Children
 * without an id are left out.  The caller json_decrefs it.
 */
json_t *tw_res_index(const struct tw_res *parent, const struct tw_kind *k);
/* The child at the first position of an index entry, or NULL (no entry). */
struct tw_res *tw_res_index_first(const struct tw_res *parent, const json_t *entry);
/* The value at a dotted path ("recording.mode") of a JSON object, or NULL. */
json_t *tw_json_path(const json_t *obj, const char *path);
/* The top-level resource of kind `kind` named `name` in the model of `from`, or NULL. */
struct tw_res *tw_res_top(const struct tw_res *from, const char *kind, const char *name);
/* Value of field `name` (NULL if not managed). */
json_t *tw_res_get(const struct tw_res *r, const char *name);
const char *tw_res_get_str(const struct tw_res *r, const char *name);
int tw_res_is_sensitive(const struct tw_res *r, const char *name);

/*
 * The address of a resource: "credential_lists/office-phones", and for
 * children "credential_lists/office-phones/credentials/alice".  Heap string.
 */
char *tw_res_address(const struct tw_res *r);
/* Where the file sets r's field `name` (NULL: r itself), else where it declares r. */
const struct tw_loc *tw_res_loc(const struct tw_res *r, const char *name);
/* A problem with r, "ADDRESS: message", at tw_res_loc(r, field). */
void tw_res_diag(struct tw_diags *d, int warning, const struct tw_res *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Find a top-level or nested declared resource by address (for --target). */
struct tw_res *tw_model_find_address(const struct tw_model *m, const char *address);

#endif
