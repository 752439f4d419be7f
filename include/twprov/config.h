/* config.h - load and validate a twprov file (YAML -> desired model) */
#ifndef TWPROV_CONFIG_H
#define TWPROV_CONFIG_H

#include "twprov/model.h"

struct tw_err;

/*
 * Load `path`, check every rule of DESIGN.md section 3 for the registered
 * kinds, resolve ${env:NAME} and ${file:PATH} references (relative to the
 * file's directory) and check every reference between resources.
 *
 * Returns 0 when the file is valid.  Returns -1 when it is not (then
 * (*out)->diags holds every error with its FILE:LINE:COL, and err says how
 * many) or when it cannot be read at all (*out may be NULL; err says why).
 * Warnings (e.g. a literal password) are in (*out)->diags either way.
 * The caller frees *out with tw_model_free.
 *
 * Details the schema leaves open (twprov.yaml(5) should say the same):
 *  - limits: 16 MiB of YAML, 64 KiB per scalar and per ${file:} secret,
 *    100 levels of nesting, 100000 nodes reached through aliases in total;
 *    at most 1000 diagnostics are kept (a last one says how many more there
 *    were; `err` counts them all).
 *  - a null or empty value of an optional field is the empty string (or for
 *    a list of references the empty list): it clears the field, and no value
 *    check runs on it.  `kind_key:` with no list declares no items.
 *  - the children of an item with `state: absent` are checked but left out of
 *    the model (a warning says so); secret references and references to other
 *    resources under an absent item are not resolved; required fields other
 *    than the identity are not required there.
 *  - integers are decimal (YAML 1.2 core `[-+]?[0-9]+`); booleans are
 *    true/True/TRUE/false/False/FALSE (or !!bool); a quoted "true" is a string.
 *  - duplicate keys keep the first value.  A YAML file with a second document
 *    is an error, but the first document is still checked.
 *  - kind hooks (validate) run on every declared resource that is not absent,
 *    after the other checks, even when it has errors.
 */
int tw_config_load(const char *path, struct tw_model **out, struct tw_err *err);

/*
 * Same, from a buffer; `name` is used in messages and `dir` for ${file:...}
 * (NULL: "."); *out is always set.
 */
int tw_config_load_buf(const char *name, const char *dir, const char *data, size_t len,
		       struct tw_model **out, struct tw_err *err);

/* Options of a load (NULL: the defaults, all zero). */
struct tw_config_opts {
	/*
	 * Leave ${env:NAME} and ${file:PATH} references unresolved: a field
	 * that holds one is left out of the model (as if not managed), and an
	 * unset variable or missing file is no error.  For commands that send
	 * no secret (remove-credential).  Literal values load as usual.
	 */
	int no_secrets;
};
int tw_config_load_buf_opts(const char *name, const char *dir, const char *data, size_t len,
			    const struct tw_config_opts *o, struct tw_model **out, struct tw_err *err);
int tw_config_load_opts(const char *path, const struct tw_config_opts *o, struct tw_model **out,
			struct tw_err *err);

/*
 * The loader's inverse (ywrite.c): append declared model `m` to `out` as a
 * twprov file, written with libyaml's emitter.  `twprov: 1`, account, prune
 * and ignore, then the top-level kinds in the registry's order, each resource
 * as a mapping of its fields in its descriptor's order (not TW_F_COMPUTED ones,
 * nor values kept under other names by hooks) followed by its children under
 * their keys; resources in model order.  `header` (NULL: none) comes first as
 * comment lines, escaped as shown text.  Loading the result gives the same
 * model (the same values, before the kinds' hooks run).  -1 with err when
 * libyaml refuses a value (invalid UTF-8).
 */
int tw_config_write(const struct tw_model *m, const char *header, struct tw_buf *out, struct tw_err *err);
/* Append `text` as YAML comment lines ("# " and each line, escaped as shown text). */
void tw_config_comment(struct tw_buf *out, const char *text);
/* Whether a string can be written as a plain scalar and read back as that string (not as a
 * null, boolean or number); the writer double-quotes the others. */
int tw_yaml_plain_ok(const char *s, size_t len);
/*
 * The loader's checks of one string value of field `f` beyond its type: its
 * length and the field's check; also that it is no ${env:}/${file:} reference
 * where the field takes none and has no NUL.  0, or -1 with the message in
 * `why` (as the loader would report it, without the place).
 */
int tw_config_check_str(const struct tw_field *f, const char *text, size_t len, struct tw_buf *why);

#endif
