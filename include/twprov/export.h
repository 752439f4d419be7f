/* export.h - twprov export: a twprov file from the live account, adopted by the next plan */
#ifndef TWPROV_EXPORT_H
#define TWPROV_EXPORT_H

#include <jansson.h>

#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/file.h"
#include "twprov/kind.h"
#include "twprov/model.h"

struct tw_http;
struct tw_plan;

/*
 * The reverse of loading a file, generic over the kind descriptors:
 *  - the account is read with the live reader, as plan reads it;
 *  - every live resource of an exported kind becomes a declared resource of
 *    the same kind and identity, with the children of the kinds twprov manages
 *    (owned: all of them), references by identity;
 *  - a field is written unless its live value is unset, equals the default
 *    Twilio documents (tw_field.twilio_default, create_default), is a value the
 *    file could not hold (the loader's own checks say), or references what the
 *    file does not declare (--kinds); computed and twprov-only fields come only
 *    from hooks;
 *  - a write-only secret (tw_field.export_env) becomes ${env:NAME};
 *  - the kinds' export hooks then complete what only they know; values that
 *    stand for a declared resource (a deployed path's URL) are written as that
 *    resource (tw_objval.unresolve);
 *  - everything is sorted by identity.
 * So what the file says is what plan reads, field by field: plan after export
 * reports no changes, and tw_export_verify checks exactly that.
 */

struct tw_export_opts {
	const char *const *kinds;   /* --kinds: top-level kind names (NULL: every kind) */
	size_t nkinds;
	const char *out;            /* -o FILE, or NULL for standard output */
	const char *source_dir;     /* --source-dir, or NULL: the directory of `out` (or .) */
};

struct tw_export;

/* A new export (its options are borrowed); NULL with err when a --kinds name is not a
 * top-level kind (err kind TW_ERR_USAGE). */
struct tw_export *tw_export_new(const struct tw_export_opts *o, struct tw_err *err);
void tw_export_free(struct tw_export *x);

/*
 * Read the account through h (borrowed until the export is freed), then build
 * the declared model, reading what the kinds' export_read hooks ask for.  -1 with err on an API failure, or when the
 * account cannot be written: then tw_export_problems lists why (two live
 * resources with one identity, a child without a usable identity), as plan
 * reports them.
 */
int tw_export_run(struct tw_export *x, struct tw_http *h, struct tw_err *err);
const json_t *tw_export_problems(const struct tw_export *x);

/* The file's text: `header` lines (see tw_config_write), then the model. */
int tw_export_yaml(struct tw_export *x, const char *header, struct tw_buf *out, struct tw_err *err);
/* The function and asset files the file names in its `source:` fields, relative to `*dir`,
 * the source directory. */
struct tw_tree_file *tw_export_sources(struct tw_export *x, size_t *n, const char **dir);
/* What was left out of the file, and why: strings "ADDRESS: why" in the file's order. */
const json_t *tw_export_left_out(const struct tw_export *x);
/* The ${env:NAME} references written: [[NAME, ADDRESS], ...] in the file's order. */
const json_t *tw_export_env(const struct tw_export *x);
/* Top-level resources written, and all resources written. */
void tw_export_count(const struct tw_export *x, size_t *top, size_t *all);

/*
 * Load the file as written (`yaml`, its sources in place) without resolving
 * secret references, and plan it against the account as read (the model the
 * file was written from is freed first: call tw_export_yaml before).  *plan gets the
 * plan (empty when the file is adopted as it is); -1 with err when the file does
 * not load (its diagnostics in *diags, which the caller releases).
 */
int tw_export_verify(struct tw_export *x, const char *yaml, size_t len, struct tw_plan **plan, struct tw_diags *diags,
		     struct tw_err *err);

/* ---- for the kinds' export hooks (kind.h) ---- */

/* Hook data kept with a live resource (an object, created empty on first use). */
json_t *tw_export_data(struct tw_export *x, const struct tw_res *live);
/* The declared resource written for a live one, and the reverse (NULL when there is none). */
struct tw_res *tw_export_declared(const struct tw_export *x, const struct tw_res *live);
const struct tw_res *tw_export_live(const struct tw_export *x, const struct tw_res *decl);

/*
 * export_read hooks: GET an object about `live` (JSON); `cb` gets it, or NULL
 * when the answer is 404.  Any other failure fails the export (nothing is
 * written).  tw_export_download gets the bytes a deployed public Function or
 * Asset serves (tw_req_download); `cb` gets them, or NULL and why they
 * could not be had (a download never fails the export).
 */
typedef void (*tw_export_json_cb)(struct tw_export *x, const struct tw_res *live, const json_t *obj, void *ud);
typedef void (*tw_export_bytes_cb)(struct tw_export *x, const struct tw_res *live, struct tw_buf *bytes,
				   const char *why, void *ud);
void tw_export_get(struct tw_export *x, const struct tw_res *live, enum tw_product product, const char *path,
		   tw_export_json_cb cb, void *ud);
void tw_export_download(struct tw_export *x, const struct tw_res *live, const char *domain, const char *path,
			tw_export_bytes_cb cb, void *ud);
/* Keep bytes (takes b's contents) until the export is freed; returns their number for tw_export_kept. */
size_t tw_export_keep(struct tw_export *x, struct tw_buf *b);
const struct tw_buf *tw_export_kept(const struct tw_export *x, size_t i);

/*
 * export hooks: `decl` is not written: it is removed from the model with its
 * children, and the warning and the file's header say why (shown escaped).
 */
void tw_export_leave_out(struct tw_export *x, struct tw_res *decl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a live resource that has no declared one (a function twprov generated). */
void tw_export_leave_out_live(struct tw_export *x, const struct tw_res *live, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A live resource the file cannot declare but accounts for otherwise (a function twprov
 * generates from configuration the hook wrote): not a problem, not left out. */
void tw_export_claim(struct tw_export *x, const struct tw_res *live);
/* A warning about the export (shown escaped), also in the file's header. */
void tw_export_note(struct tw_export *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A file with `len` bytes of `data` (copied) for declared resource `decl`, at
 * `name` under the source directory (segments joined by '/').  Returns the
 * value of its `source:` field (valid until the export is freed), or NULL when
 * the name cannot be a file there (an empty, "." or ".." segment, or a file
 * that another file's directory needs): then *why says so.
 */
const char *tw_export_add_source(struct tw_export *x, const char *name, const void *data, size_t len,
				 const char **why);

#endif
