/* internal.h - shared between the files of src/config (not a public interface) */
#ifndef TWPROV_CONFIG_INTERNAL_H
#define TWPROV_CONFIG_INTERNAL_H

#include <stddef.h>

#include <yaml.h>

#include "twprov/buf.h"
#include "twprov/model.h"

/* Limits of the loader (documented in twprov.yaml(5)). */
#define TW_CFG_MAX_FILE    (16u * 1024 * 1024)  /* bytes of YAML */
#define TW_CFG_MAX_SCALAR  (64u * 1024)         /* bytes of one scalar, and of a ${file:} secret */
#define TW_CFG_MAX_DEPTH   100                  /* nested lists/mappings */
#define TW_CFG_MAX_ALIASED 100000               /* nodes reached through aliases, in total */
#define TW_CFG_MAX_DIAGS   1000                 /* diagnostics kept per file */

/*
 * Append `v` to `b` in double quotes for a message, escaped as by
 * tw_buf_add_quoted (control characters as \ooo), values longer than 80
 * bytes cut (on a UTF-8 boundary) and ended with "...".
 */
void tw_cfg_quote(struct tw_buf *b, const char *v);

/* Number of UTF-8 code points in s (bytes that are not continuation bytes). */
size_t tw_cfg_utf8_len(const char *s);

/* ---- ytree.c: a YAML document as a tree of nodes with positions ---- */

enum tw_ytype { TW_Y_SCALAR, TW_Y_SEQ, TW_Y_MAP, TW_Y_ALIAS };

struct tw_ynode {
	enum tw_ytype type;
	int line, col;              /* 1-based start */
	/* scalar */
	char *str;                  /* NUL-terminated (may also hold NULs: see len) */
	size_t len;
	int plain;                  /* plain style without an explicit tag (YAML 1.2 core typing applies) */
	char *tag;                  /* explicit tag, or NULL */
	/* sequence: kids[i]; mapping: key kids[2i], value kids[2i+1] */
	struct tw_ynode **kids;
	size_t n, alloc;
	size_t *dup;                /* mapping: per pair, 1 + index of the pair it repeats, else 0 */
	int has_dup;                /* mapping holds a duplicate key */
	int dup_reported;           /* its duplicates were reported */
	/* alias */
	struct tw_ynode *target;
	char *anchor;               /* alias: the anchor name */
	size_t weight;              /* nodes in the subtree, aliases expanded (saturating) */
	int done;                   /* collection closed (for recursive alias detection) */
	struct tw_ynode *next_all;  /* every node, for freeing */
};

struct tw_ydoc {
	struct tw_ynode *root;      /* NULL when there is no document */
	struct tw_ynode *all;
	size_t aliased;             /* nodes reached through aliases so far */
};

/*
 * Parse `data` into `doc`.  Problems go to `d` at FILE:LINE:COL.  Returns 0
 * when a document tree was built (even with non-fatal problems such as a
 * second document), -1 when there is nothing to walk (syntax error, limits,
 * empty file).
 */
int tw_ydoc_parse(struct tw_ydoc *doc, const char *file, const char *data, size_t len, struct tw_diags *d);
/* Frees every node; scalars are wiped first (they may be secrets). */
void tw_ydoc_release(struct tw_ydoc *doc);
/* yaml_event_delete after wiping a scalar's value (it may be a secret). */
void tw_yaml_event_wipe(yaml_event_t *ev);
/* yaml_parser_delete after wiping the parser's copies of the input (they may hold
 * literal secrets); needs <yaml.h>. */
void tw_yaml_parser_wipe(yaml_parser_t *p);

/* The node an alias stands for (n itself otherwise). */
const struct tw_ynode *tw_ynode_deref(const struct tw_ynode *n);
/* A YAML 1.2 core null: a plain ~, null, Null, NULL or empty scalar. */
int tw_ynode_is_null(const struct tw_ynode *n);

/* ---- secret.c: ${env:NAME} and ${file:PATH} ---- */

enum tw_secref { TW_SECREF_NONE = 0, TW_SECREF_ENV, TW_SECREF_FILE };

/*
 * Whether the whole of `v` is a secret reference.  Sets *arg / *arglen to
 * NAME or PATH (may be empty: resolving then fails with a message).
 */
enum tw_secref tw_secref_parse(const char *v, size_t len, const char **arg, size_t *arglen);

/*
 * Resolve a reference into `out` (the caller wipes it with tw_buf_wipe).
 * PATH is relative to `dir`; one trailing newline of a file is stripped.
 * `env` is the environment's index for ${env:NAME} (made on first use and kept
 * for the next calls of one load: a file with 10,000 passwords would otherwise
 * scan the environment once per password, as getenv does); free it with
 * json_decref.  Returns 0, or -1 with a message in `why` that never holds the value.
 */
int tw_secref_resolve(enum tw_secref type, const char *arg, size_t arglen, const char *dir,
		      json_t **env, struct tw_buf *out, struct tw_buf *why);

#endif
