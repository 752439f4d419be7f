/* live.h - read the live account into a model of the same shape as the file's */
#ifndef TWPROV_LIVE_H
#define TWPROV_LIVE_H

#include "twprov/model.h"

struct tw_http;
struct tw_err;

struct tw_live_opts {
	int all_children;   /* read children of every live parent, not only declared ones, and run
	                       the kinds' read_more hooks on every live resource (export) */
};

/*
 * Read what `want` needs: every top-level kind the file declares, lists in
 * `prune`, or names in a reference, the children of live parents that
 * the file declares, and under every live parent the children that hold
 * references (a domain's mappings), so deletes can be ordered after them.  Independent list calls run concurrently, so the
 * cost is about one round trip per level of the parent/child tree.
 * Live `fields` are converted to the file's names and types; references
 * become names (a SID no live resource has stays a SID).
 */
int tw_live_read(struct tw_http *h, const struct tw_model *want, const struct tw_live_opts *o,
		 struct tw_model **out, struct tw_err *err);

/*
 * For kinds' read_more hooks: GET one more object (not a list) about live
 * resource r; `cb` gets its JSON (borrowed), or NULL when the answer is 404
 * (what a list names may not be fetchable yet: reads lag behind writes).
 * Any other failure fails the read.
 */
typedef void (*tw_live_more_cb)(struct tw_live_more *lm, struct tw_res *r, json_t *obj, void *ud);
void tw_live_get(struct tw_live_more *lm, struct tw_res *r, enum tw_product product, const char *path,
		 tw_live_more_cb cb, void *ud);
/*
 * The same for the bytes a deployed public Function or Asset serves
 * (tw_req_download: no credentials are sent).  `cb` gets them, or NULL when
 * they cannot be had (a 404, a refused or invalid URL, a failure after the
 * retries: traced with -v); a download never fails the read.
 */
typedef void (*tw_live_bytes_cb)(struct tw_live_more *lm, struct tw_res *r, const struct tw_buf *body, void *ud);
void tw_live_download(struct tw_live_more *lm, struct tw_res *r, const char *domain, const char *path,
		      tw_live_bytes_cb cb, void *ud);
const char *tw_live_account_sid(struct tw_live_more *lm);
/* Fail the read (an answer about r that twprov cannot use: a malformed SID). */
void tw_live_fail(struct tw_live_more *lm, struct tw_res *r, const struct tw_err *err);

/* Convert one API object of kind `k` into r->id, r->sid, r->json (not the references).
 * r->json keeps the object's "sid" and the keys the kind's fields read (`json` of
 * each field, the first part of a dotted path), not the rest.  -1 when the object has no
 * valid SID of the kind (r->sid is then NULL): 'item "NAME": no valid SID: got null (...)'. */
int tw_live_set_json(struct tw_res *r, json_t *obj, struct tw_err *err);
/* Fill r->fields from r->json, with references resolved against the live model's top level. */
void tw_live_convert(struct tw_res *r, const struct tw_res *root);

#endif
