/* sidref.c - a value written {sid_of: KIND/NAME}: the SID of a resource the file declares
 *
 * Generated code must not hold SIDs (they are not known when the file is
 * loaded, and a resource created by the same apply has none yet), so the
 * dialer hands them to its Functions as environment variables whose value is
 * written this way (dialer.c); a file may use it too.  Known once the named
 * resource exists at Twilio, like a deployed path (svcref.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/buf.h"
#include "twprov/model.h"

static const char *const keys[] = { "sid_of", NULL };

/* The declared top-level resource `v` names, or NULL. */
static struct tw_res *named(const struct tw_res *from, const json_t *v)
{
	const char *addr = json_string_value(json_object_get(v, "sid_of"));
	struct tw_res *r = addr ? tw_model_find_address(tw_res_model(from), addr) : NULL;
	return r && !r->absent && r->kind && !r->kind->parent && !(r->kind->flags & TW_K_LOCAL) ? r : NULL;
}

static int check(const struct tw_res *from, json_t *v, struct tw_buf *why)
{
	if (named(from, v))
		return 0;
	tw_buf_addf(why, "sid_of: no resource \"%s\" in the file (write KIND/NAME, e.g. byoc_trunks/carrier-x)",
		    json_string_value(json_object_get(v, "sid_of")));
	return -1;
}

static char *resolve(const struct tw_res *from, const json_t *v, const struct tw_facts *facts)
{
	const struct tw_res *r = named(from, v);
	const char *sid = json_string_value(json_object_get(r ? facts->object(facts, r) : NULL, "sid"));
	return sid ? tw_xstrdup(sid) : NULL;
}

/* twprov export: a SID that a top-level resource the file declares has, as {sid_of: ADDRESS}. */
static json_t *unresolve(const struct tw_res *from, const char *s, const struct tw_facts *facts)
{
	const struct tw_res *root = &tw_res_model(from)->root;

	for (size_t i = 0; tw_sid_ok(s, NULL) && i < root->nchildren; i++) {
		const struct tw_res *r = root->children[i];
		const char *sid = json_string_value(json_object_get(facts->object(facts, r), "sid"));
		if (sid && !strcmp(sid, s) && !(r->kind->flags & TW_K_LOCAL)) {
			char *addr = tw_res_address(r);
			json_t *v = json_pack("{s:s}", "sid_of", addr);
			free(addr);
			return v;
		}
	}
	return NULL;
}

const struct tw_objval tw_sidref = {
	.keys = keys,
	.what = "a SID is {sid_of: KIND/NAME}",
	.check = check,
	.source = named,
	.resolve = resolve,
	.unresolve = unresolve,
};
