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
 */
int tw_config_load(const char *path, struct tw_model **out, struct tw_err *err);

/* Same, from a buffer; `name` is used in messages and `dir` for ${file:...}. */
int tw_config_load_buf(const char *name, const char *dir, const char *data, size_t len,
		       struct tw_model **out, struct tw_err *err);

#endif
