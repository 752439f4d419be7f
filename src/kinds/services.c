/* services.c - Twilio Serverless: services, environments, variables, functions, assets
 * (REFERENCE.md section 11), and how twprov deploys them.
 *
 * The descriptors make services, environments, variables, and the Function
 * and Asset resources ordinary kinds.  What is deployed is not a field of any
 * of them: it is the build an environment runs.  The hooks here
 *  - read each declared environment's build and the twprov manifest in it;
 *  - plan uploads of the functions and assets whose bytes changed, one build
 *    with every current version, and a deployment to each environment whose
 *    build differs from the file (nothing at all when none differs);
 *  - run those steps (multipart upload, build, status polling, deployment).
 *
 * The manifest: asset contents cannot be read back from the API, so every
 * build twprov makes holds one more function, /_twprov/manifest (protected),
 * whose source lists the SHA-256 and visibility of every function and asset
 * of the build, the runtime and the dependencies.  Function sources can be
 * read back, so one GET tells what an environment runs, exactly; a build
 * made without twprov (no manifest) is redeployed whole.
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/apply.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/model.h"
#include "twprov/plan.h"
#include "twprov/svcref.h"

#define MANIFEST_PATH "/_twprov/manifest"
/* SIDs of what Serverless answers about (its kinds' own are in their descriptors) */
#define SID_VERSION "ZN"
#define SID_BUILD "ZB"
#define SID_DEPLOYMENT "ZD"
#define MAX_SOURCE (25u * 1024 * 1024)

static const char *const runtimes[] = { "node8", "node10", "node12", "node14", "node16", "node18", "node20",
					"node22", NULL };
static const char *const function_visibilities[] = { "public", "protected", NULL };
static const char *const asset_visibilities[] = { "public", "protected", "private", NULL };

/* ---- value checks ---- */

static int check_unique_name(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			tw_buf_addf(why, "not a valid unique name: \"%s\" (letters, digits and '-' only)", v);
			return -1;
		}
	return 0;
}

static int check_path(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	if (v[0] != '/') {
		tw_buf_addf(why, "not a path: \"%s\" (it must start with /)", v);
		return -1;
	}
	if (!strncmp(v, "/_twprov/", 9)) {
		tw_buf_addf(why, "\"%s\": paths under /_twprov/ are twprov's own", v);
		return -1;
	}
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("?#%\\\"<>", *p)) {
			tw_buf_addf(why, "not a valid path: \"%s\"", v);
			return -1;
		}
	return 0;
}

/* ---- descriptors ---- */

static void service_validate(struct tw_res *r, struct tw_diags *d);
static void source_validate(struct tw_res *r, struct tw_diags *d);
static void service_plan(struct tw_planner *pl, struct tw_res *w, struct tw_res *h);
static void environment_read(struct tw_live_more *lm, struct tw_res *r);

static const struct tw_field service_fields[] = {
	{ .name = "unique_name", .param = "UniqueName", .json = "unique_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = check_unique_name, .max = 50,
	  .doc = "the service's unique name, part of its domains; its identity" },
	{ .name = "friendly_name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .max = 255, .doc = "a description (default: the unique name)" },
	{ .name = "include_credentials", .param = "IncludeCredentials", .json = "include_credentials",
	  .type = TW_V_BOOL, .doc = "give functions the account's credentials (context.getTwilioClient)" },
	{ .name = "ui_editable", .param = "UiEditable", .json = "ui_editable", .type = TW_V_BOOL,
	  .doc = "let the Console edit the service" },
	{ .name = "runtime", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_enum, .choices = runtimes,
	  .doc = "the Node.js runtime of its builds, node8 to node22 (Twilio's default when left out)" },
	{ .name = "dependencies", .type = TW_V_MAP, .flags = TW_F_LOCAL,
	  .doc = "npm packages of its builds, name: version" },
};

static const struct tw_kind_hooks service_hooks = { .validate = service_validate, .plan_more = service_plan };

const struct tw_kind tw_kind_services = {
	.name = "services",
	.yaml_key = "services",
	.product = TW_PRODUCT_SERVERLESS,
	.collection = "/v1/Services",
	.item = "/v1/Services/{Sid}",
	.list_key = "services",
	.sid_prefix = "ZS",
	.fields = service_fields,
	.nfields = TW_NFIELDS(service_fields),
	.hooks = &service_hooks,
	.doc = "Serverless services: Functions and Assets, built and deployed by twprov",
};

static const struct tw_field environment_fields[] = {
	{ .name = "name", .param = "UniqueName", .json = "unique_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 100,
	  .doc = "the environment's unique name; its identity within the service" },
	{ .name = "domain_suffix", .param = "DomainSuffix", .json = "domain_suffix", .type = TW_V_STR,
	  .flags = TW_F_IMMUTABLE, .check = check_unique_name, .max = 16,
	  .doc = "the suffix of its domain (service-1234-SUFFIX.twil.io); a change replaces it" },
};

static const struct tw_kind_hooks environment_hooks = { .read_more = environment_read };
static const char *const environment_keys[] = { "build_sid", "domain_name", NULL };

const struct tw_kind tw_kind_environments = {
	.name = "environments",
	.yaml_key = "environments",
	.parent = "services",
	.product = TW_PRODUCT_SERVERLESS,
	.collection = "/v1/Services/{ParentSid}/Environments",
	.item = "/v1/Services/{ParentSid}/Environments/{Sid}",
	.list_key = "environments",
	.sid_prefix = "ZE",
	.fields = environment_fields,
	.nfields = TW_NFIELDS(environment_fields),
	.flags = TW_K_NO_UPDATE | TW_K_CASCADE,
	.hooks = &environment_hooks,
	.json_keep = environment_keys,
	.doc = "environments of a service, each running one build (owned)",
};

static const struct tw_field variable_fields[] = {
	{ .name = "key", .param = "Key", .json = "key", .type = TW_V_STR, .flags = TW_F_IDENTITY,
	  .check = tw_check_name, .max = 128, .doc = "the variable's name; its identity within the environment" },
	{ .name = "value", .param = "Value", .json = "value", .type = TW_V_STR, .flags = TW_F_SECREF,
	  .max = 450, .doc = "its value (may be a ${env:NAME} or ${file:PATH} reference: then sensitive)" },
};

const struct tw_kind tw_kind_variables = {
	.name = "variables",
	.yaml_key = "variables",
	.parent = "environments",
	.product = TW_PRODUCT_SERVERLESS,
	.collection = "/v1/Services/{GrandParentSid}/Environments/{ParentSid}/Variables",
	.item = "/v1/Services/{GrandParentSid}/Environments/{ParentSid}/Variables/{Sid}",
	.list_key = "variables",
	.sid_prefix = "ZV",
	.fields = variable_fields,
	.nfields = TW_NFIELDS(variable_fields),
	.flags = TW_K_MAPPED | TW_K_CASCADE,
	.doc = "environment variables, written KEY: value (owned)",
};

#define SOURCE_FIELDS(visibilities, dflt) \
	{ .name = "path", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR, \
	  .flags = TW_F_IDENTITY, .check = check_path, .max = 255, \
	  .doc = "the URL path it is served at; its identity within the service" }, \
	{ .name = "source", .type = TW_V_STR, .flags = TW_F_LOCAL, \
	  .doc = "the file with its bytes, relative to the twprov file" }, \
	{ .name = "content", .type = TW_V_STR, .flags = TW_F_LOCAL, \
	  .doc = "its bytes written inline, instead of source" }, \
	{ .name = "visibility", .type = TW_V_STR, .flags = TW_F_LOCAL | TW_F_ICASE, .check = tw_check_enum, \
	  .choices = visibilities, .doc = "who may request it (default " dflt ")" }, \
	{ .name = "sha256", .type = TW_V_STR, .flags = TW_F_LOCAL | TW_F_COMPUTED, \
	  .doc = "SHA-256 of its bytes (computed)" }

static const struct tw_field function_fields[] = { SOURCE_FIELDS(function_visibilities, "protected") };
static const struct tw_field asset_fields[] = { SOURCE_FIELDS(asset_visibilities, "protected") };
static const struct tw_kind_hooks source_hooks = { .validate = source_validate };

const struct tw_kind tw_kind_functions = {
	.name = "functions",
	.yaml_key = "functions",
	.parent = "services",
	.product = TW_PRODUCT_SERVERLESS,
	.collection = "/v1/Services/{ParentSid}/Functions",
	.item = "/v1/Services/{ParentSid}/Functions/{Sid}",
	.list_key = "functions",
	.sid_prefix = "ZH",
	.fields = function_fields,
	.nfields = TW_NFIELDS(function_fields),
	.flags = TW_K_CASCADE,
	.hooks = &source_hooks,
	.doc = "Functions of a service: Node.js code served at a path (owned)",
};

const struct tw_kind tw_kind_assets = {
	.name = "assets",
	.yaml_key = "assets",
	.parent = "services",
	.product = TW_PRODUCT_SERVERLESS,
	.collection = "/v1/Services/{ParentSid}/Assets",
	.item = "/v1/Services/{ParentSid}/Assets/{Sid}",
	.list_key = "assets",
	.sid_prefix = "ZH",
	.fields = asset_fields,
	.nfields = TW_NFIELDS(asset_fields),
	.flags = TW_K_CASCADE,
	.hooks = &source_hooks,
	.doc = "Assets of a service: static files served at a path (owned)",
};

/* ---- loading: sources, defaults, the manifest function ---- */

/* An error about r, at its field `field` if the file has it, else at r. */
static void diag(struct tw_diags *d, const struct tw_res *r, const char *field, const char *msg)
{
	const struct tw_field *f = field ? tw_kind_field(r->kind, field) : NULL;
	const struct tw_loc *loc = f && r->flocs[f - r->kind->fields].line ? &r->flocs[f - r->kind->fields] : &r->loc;
	char *addr = tw_res_address(r);
	tw_diag_add(d, 0, loc, "%s: %s", addr, msg);
	free(addr);
}

/* The bytes of a function or asset: its inline content or its source file. */
static int source_bytes(const struct tw_res *r, struct tw_buf *out, struct tw_err *err)
{
	const char *content = tw_res_get_str(r, "content");
	const char *file = tw_res_get_str(r, "_file");

	if (content) {
		tw_buf_adds(out, content);
		return 0;
	}
	if (tw_read_file(file ? file : "", MAX_SOURCE, out, NULL, err) < 0)
		return -1;
	if (out->len > MAX_SOURCE)
		return tw_err_set(err, "%s: larger than 25 MB, Twilio's limit", file);
	return 0;
}

static void source_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *source = tw_res_get_str(r, "source"), *content = tw_res_get_str(r, "content");
	const struct tw_model *m = tw_res_model(r);
	struct tw_buf bytes = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	char sha[65];

	if (!tw_res_get(r, "visibility"))
		json_object_set_new(r->fields, "visibility", json_string("protected"));
	if ((source != NULL) == (content != NULL)) {
		diag(d, r, source ? "content" : NULL, "give either source (a file) or content (inline), not both");
		return;
	}
	if (source) {
		char *file = source[0] == '/' || !m->dir ? tw_xstrdup(source) : tw_xasprintf("%s/%s", m->dir, source);
		json_object_set_new(r->fields, "_file", json_string(file));
		free(file);
	}
	if (source_bytes(r, &bytes, &err) < 0) {
		diag(d, r, "source", err.msg);
	} else {
		tw_sha256_hex(bytes.buf, bytes.len, sha);
		json_object_set_new(r->fields, "sha256", json_string(sha));
	}
	tw_buf_release(&bytes);
}

struct tw_res *tw_service_function(struct tw_res *svc, const char *path)
{
	struct tw_res *f = tw_res_find(svc, &tw_kind_functions, path);

	if (f)
		return f;
	f = tw_res_new(&tw_kind_functions, svc);
	f->id = tw_xstrdup(path);
	f->loc = svc->loc;
	json_object_set_new(f->fields, "path", json_string(path));
	json_object_set_new(f->fields, "visibility", json_string("protected"));
	json_object_set_new(f->fields, "content", json_string(""));
	tw_res_add_child(svc, f);
	return f;
}

void tw_service_set_code(struct tw_res *f, const char *code)
{
	char sha[65];

	tw_sha256_hex(code, strlen(code), sha);
	json_object_set_new(f->fields, "content", json_string(code));
	json_object_set_new(f->fields, "sha256", json_string(sha));
}

static void service_validate(struct tw_res *r, struct tw_diags *d)
{
	(void)d;
	if (!tw_res_get(r, "friendly_name"))
		json_object_set_new(r->fields, "friendly_name", json_string(r->id));
	/* twprov's manifest function; its content is written when the plan is made,
	 * once every function and asset (generated ones too) is known */
	tw_service_function(r, MANIFEST_PATH);
}

/* ---- the manifest ---- */

static json_t *manifest_of(const struct tw_res *svc)
{
	json_t *m = json_object(), *fn = json_object(), *as = json_object();
	json_t *deps = tw_res_get(svc, "dependencies"), *rt = tw_res_get(svc, "runtime");

	json_object_set_new(m, "twprov", json_integer(1));
	for (size_t i = 0; i < svc->nchildren; i++) {
		const struct tw_res *c = svc->children[i];
		json_t *into = c->kind == &tw_kind_functions ? fn : c->kind == &tw_kind_assets ? as : NULL;
		if (!into || !strcmp(c->id, MANIFEST_PATH))
			continue;
		json_object_set_new(into, c->id, json_pack("{s:s?, s:s?}", "sha256", tw_res_get_str(c, "sha256"),
							    "visibility", tw_res_get_str(c, "visibility")));
	}
	json_object_set_new(m, "functions", fn);
	json_object_set_new(m, "assets", as);
	json_object_set_new(m, "dependencies", deps ? json_deep_copy(deps) : json_object());
	json_object_set_new(m, "runtime", rt ? json_incref(rt) : json_null());
	return m;
}

static char *manifest_source(const json_t *manifest)
{
	char *j = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);
	char *src = tw_xasprintf("// twprov manifest: what this build deploys (SHA-256 of each function and asset).\n"
				 "// twprov reads it back to plan, as asset contents cannot be read from the API.\n"
				 "// Generated; do not edit.\n"
				 "exports.manifest = %s;\n"
				 "exports.handler = function (context, event, callback) { callback(null, {}); };\n", j);
	free(j);
	return src;
}

/* The manifest object in a manifest function's source, or NULL. */
static json_t *manifest_parse(const char *src)
{
	const char *p = src ? strstr(src, "\nexports.manifest = ") : NULL;
	const char *end;
	if (!p)
		return NULL;
	p += strlen("\nexports.manifest = ");
	end = strstr(p, ";\n");
	return end ? json_loadb(p, (size_t)(end - p), 0, NULL) : NULL;
}

/* ---- reading what an environment runs ---- */

static void got_manifest(struct tw_live_more *lm, struct tw_res *r, json_t *obj, void *ud)
{
	const char *content = json_string_value(json_object_get(obj, "content"));
	(void)lm;
	(void)ud;
	if (content)   /* NULL obj (not found yet): no manifest, so the environment is redeployed */
		json_object_set_new(r->json, "_manifest_source", json_string(content));
}

/* Every version of a build names a valid version SID and its function's or asset's. */
static int check_versions(const json_t *build, struct tw_err *err)
{
	static const char *const keys[2][2] = { { "function_versions", "function_sid" },
						{ "asset_versions", "asset_sid" } };
	size_t i;
	json_t *v;

	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(build, keys[k][0]), i, v)
			if (tw_sid_check(json_object_get(v, "sid"), SID_VERSION, err) < 0 ||
			    tw_sid_check(json_object_get(v, keys[k][1]), tw_kind_functions.sid_prefix, err) < 0) {
				tw_err_prefix(err, "build %s, %s[%zu]",
					      tw_quote(json_string_value(json_object_get(build, "sid"))), keys[k][0], i);
				return -1;
			}
	return 0;
}

static void got_build(struct tw_live_more *lm, struct tw_res *r, json_t *build, void *ud)
{
	struct tw_err err = TW_ERR_INIT;
	size_t i;
	json_t *v;
	(void)ud;
	if (!build)    /* not found (yet): what it runs is unknown, so it is redeployed */
		return;
	if (check_versions(build, &err) < 0) {
		tw_live_fail(lm, r, &err);
		return;
	}
	json_object_set(r->json, "_build", build);
	json_array_foreach(json_object_get(build, "function_versions"), i, v) {
		const char *path = json_string_value(json_object_get(v, "path"));
		if (path && !strcmp(path, MANIFEST_PATH)) {
			char *p = tw_xasprintf("/v1/Services/%s/Functions/%s/Versions/%s/Content", r->parent->sid,
					       json_string_value(json_object_get(v, "function_sid")),
					       json_string_value(json_object_get(v, "sid")));
			tw_live_get(lm, r, TW_PRODUCT_SERVERLESS, p, got_manifest, NULL);
			free(p);
		}
	}
}

static void environment_read(struct tw_live_more *lm, struct tw_res *r)
{
	json_t *sid = json_object_get(r->json, "build_sid");
	const char *build = json_string_value(sid);
	struct tw_err err = TW_ERR_INIT;
	char *p;

	if (!sid || json_is_null(sid) || (build && !*build))
		return;         /* it runs no build */
	if (tw_sid_check(sid, SID_BUILD, &err) < 0) {
		tw_err_prefix(&err, "build_sid");
		tw_live_fail(lm, r, &err);
		return;
	}
	p = tw_xasprintf("/v1/Services/%s/Builds/%s", r->parent->sid, build);
	tw_live_get(lm, r, TW_PRODUCT_SERVERLESS, p, got_build, NULL);
	free(p);
}

/* ---- planning the deployment ---- */

static void upload_run(struct tw_applier *ap, size_t ai);
static void build_run(struct tw_applier *ap, size_t ai);
static void deploy_run(struct tw_applier *ap, size_t ai);
static const struct tw_custom upload_op = { "upload", "uploaded", upload_run };
static const struct tw_custom build_op = { "build", "built", build_run };
static const struct tw_custom deploy_op = { "deploy", "deployed", deploy_run };

static int is_source(const struct tw_res *c)
{
	return c->kind == &tw_kind_functions || c->kind == &tw_kind_assets;
}

/* Does a build's version (its `visibility`) serve c as the file says?  Twilio answers a
 * Build's visibilities in upper case ("PUBLIC", its spec's example) where the versions
 * themselves say "public": the field compares as its descriptor says (TW_F_ICASE). */
static int same_visibility(const struct tw_res *c, const json_t *live)
{
	return json_is_string(live) && tw_value_equal(tw_kind_field(c->kind, "visibility"),
						      tw_res_get(c, "visibility"), live);
}

/* Does live environment e run exactly what `source` (the desired manifest function) and w describe? */
static int runs(const struct tw_res *e, const struct tw_res *w, const char *source)
{
	const char *deployed = json_string_value(json_object_get(e->json, "_manifest_source"));
	json_t *build = json_object_get(e->json, "_build");
	size_t nver = json_array_size(json_object_get(build, "function_versions")) +
		      json_array_size(json_object_get(build, "asset_versions"));
	size_t nsrc = 0;

	if (!deployed || strcmp(deployed, source))
		return 0;
	/* the manifest lists the hashes; the build must also hold those paths, so visible */
	for (size_t i = 0; i < w->nchildren; i++) {
		const struct tw_res *c = w->children[i];
		const char *key = c->kind == &tw_kind_functions ? "function_versions" : "asset_versions";
		size_t j;
		json_t *v;
		int found = 0;
		if (!is_source(c))
			continue;
		nsrc++;
		json_array_foreach(json_object_get(build, key), j, v) {
			const char *path = json_string_value(json_object_get(v, "path"));
			found |= path && !strcmp(path, c->id) && same_visibility(c, json_object_get(v, "visibility"));
		}
		if (!found)
			return 0;
	}
	return nver == nsrc;
}

/*
 * Deployed versions that can be reused: path -> {sid, sha256, visibility},
 * from the builds of the service's live environments that twprov made.
 */
static json_t *reusable_versions(const struct tw_res *h)
{
	json_t *idx = json_object();
	for (size_t i = 0; h && i < h->nchildren; i++) {
		const struct tw_res *e = h->children[i];
		const char *src = json_string_value(json_object_get(e->json, "_manifest_source"));
		json_t *man = e->kind == &tw_kind_environments ? manifest_parse(src) : NULL;
		json_t *build = json_object_get(e->json, "_build");
		static const char *const keys[2][2] = { { "function_versions", "functions" },
							{ "asset_versions", "assets" } };
		if (!man)
			continue;
		for (int k = 0; k < 2; k++) {
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(build, keys[k][0]), j, v) {
				const char *path = json_string_value(json_object_get(v, "path"));
				const char *sha = json_string_value(json_object_get(
					json_object_get(json_object_get(man, keys[k][1]), path ? path : ""), "sha256"));
				char msha[65];
				if (path && !strcmp(path, MANIFEST_PATH)) {
					tw_sha256_hex(src, strlen(src), msha);
					sha = msha;
				}
				if (!path || !sha || json_object_get(idx, path))
					continue;
				json_object_set_new(idx, path, json_pack("{s:O, s:s, s:O}", "sid", json_object_get(v, "sid"),
									 "sha256", sha, "visibility",
									 json_object_get(v, "visibility")));
			}
		}
		json_decref(man);
	}
	return idx;
}

/* Make the primary create or replace of r (if any) a dependency of action a. */
static void after_creation(struct tw_plan *p, size_t a, const struct tw_res *r)
{
	struct tw_action *c = tw_plan_act_of(p, r);
	if (c && (c->type == TW_ACT_CREATE || c->type == TW_ACT_REPLACE) && c->want == r)
		tw_plan_add_dep(p, a, (size_t)(c - p->acts));
}

static void service_plan(struct tw_planner *pl, struct tw_res *w, struct tw_res *h)
{
	struct tw_plan *p = tw_planner_plan(pl);
	json_t *manifest, *reuse = NULL, *deploys = json_array();
	char *source;
	const char *build_sid = NULL;
	size_t build = (size_t)-1, i, nfn = 0, nas = 0;
	json_t *v;

	tw_dialer_generate(w);   /* generated functions first: the manifest lists them */
	manifest = manifest_of(w);
	source = manifest_source(manifest);
	json_decref(manifest);
	tw_service_set_code(tw_service_function(w, MANIFEST_PATH), source);

	/* which declared environments do not run the file's build? */
	for (i = 0; i < w->nchildren; i++) {
		struct tw_res *e = w->children[i];
		struct tw_action *ea = tw_plan_act_of(p, e);
		int replaced = ea && ea->type == TW_ACT_REPLACE && ea->want == e;
		if (e->kind != &tw_kind_environments || e->absent)
			continue;
		if (e->match && !replaced && runs(e->match, w, source)) {
			if (!build_sid)   /* the same build can go to the others */
				build_sid = json_string_value(json_object_get(e->match->json, "build_sid"));
			continue;
		}
		json_array_append_new(deploys, json_integer((json_int_t)i));
	}
	if (!json_array_size(deploys))
		goto out;

	if (!build_sid) {
		/* upload what no deployed build holds, then one build of it all */
		reuse = reusable_versions(h);
		for (i = 0; i < w->nchildren; i++) {
			struct tw_res *c = w->children[i];
			json_t *old;
			const char *want_sha = tw_res_get_str(c, "sha256");
			size_t u;
			if (!is_source(c))
				continue;
			*(c->kind == &tw_kind_functions ? &nfn : &nas) += 1;
			old = json_object_get(reuse, c->id);
			json_decref(c->json);
			c->json = json_object();
			if (old && want_sha && !strcmp(json_string_value(json_object_get(old, "sha256")), want_sha) &&
			    same_visibility(c, json_object_get(old, "visibility"))) {
				json_object_set(c->json, "version_sid", json_object_get(old, "sid"));
				continue;
			}
			u = tw_plan_add_custom(p, &upload_op, c, tw_xasprintf("%s, %s", tw_res_get_str(c, "visibility"),
									    c->kind == &tw_kind_functions ? "function" : "asset"),
					       NULL);
			after_creation(p, u, c);
			{
				const struct tw_field *f = tw_kind_field(c->kind, "sha256");
				struct tw_action *ua = &p->acts[u];
				json_t *before = old ? json_object_get(old, "sha256") : NULL;
				TW_ALLOC_GROW(ua->changes, ua->nchanges + 1, ua->changes_alloc);
				ua->changes[ua->nchanges++] = (struct tw_change){
					.field = f, .before = before ? json_incref(before) : NULL,
					.after = json_incref(tw_res_get(c, "sha256")) };
			}
		}
		build = tw_plan_add_custom(p, &build_op, w,
					   tw_xasprintf("%zu function%s, %zu asset%s, %s", nfn - 1, nfn == 2 ? "" : "s", nas,
							nas == 1 ? "" : "s",
							tw_res_get_str(w, "runtime") ? tw_res_get_str(w, "runtime")
										       : "default runtime"),
					   NULL);
		after_creation(p, build, w);
		for (i = 0; i < p->n; i++) {
			struct tw_action *a = &p->acts[i];
			if (a->want && a->want->parent == w && is_source(a->want) &&
			    (a->custom == &upload_op || (!a->custom && a->type == TW_ACT_CREATE)))
				tw_plan_add_dep(p, build, i);
		}
	}
	json_array_foreach(deploys, i, v) {
		struct tw_res *e = w->children[json_integer_value(v)];
		const char *cur = e->match ? json_string_value(json_object_get(e->match->json, "build_sid")) : NULL;
		size_t d = tw_plan_add_custom(p, &deploy_op, e,
					      tw_xasprintf("%s -> %s", cur ? cur : "nothing",
							   build_sid ? build_sid : "the new build"),
					      build_sid ? json_pack("{s:s}", "build_sid", build_sid) : NULL);
		after_creation(p, d, e);
		if (build != (size_t)-1)
			tw_plan_add_dep(p, d, build);
		/* functions and assets leave the service only once no deployment runs them */
		for (size_t j = 0; j < p->n; j++) {
			struct tw_action *a = &p->acts[j];
			if (a->type == TW_ACT_DELETE && a->have && a->have->parent == h && is_source(a->have))
				tw_plan_add_dep(p, j, d);
		}
	}
out:
	json_decref(reuse);
	json_decref(deploys);
	free(source);
}

/* ---- applying: upload, build, deploy ---- */

static struct tw_res *service_of(struct tw_res *r)
{
	while (r && r->kind != &tw_kind_services)
		r = r->parent;
	return r;
}

static int ok_or_fail(struct tw_applier *ap, size_t ai, struct tw_req *req)
{
	if (req->result == TW_REQ_OK)
		return 1;
	tw_applier_fail(ap, ai, req, NULL);
	tw_req_free(req);
	return 0;
}

/* ok_or_fail, and the answer names a valid SID with this prefix (else the action fails). */
static int answer_ok(struct tw_applier *ap, size_t ai, struct tw_req *req, const char *prefix)
{
	struct tw_err err = TW_ERR_INIT;

	if (!ok_or_fail(ap, ai, req))
		return 0;
	if (tw_sid_check(json_object_get(req->json, "sid"), prefix, &err) == 0)
		return 1;
	tw_err_prefix(&err, "Twilio's answer");
	tw_applier_fail(ap, ai, NULL, &err);
	tw_req_free(req);
	return 0;
}

static const char *mime_type(const char *path, int function)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".js", "application/javascript" }, { ".mp3", "audio/mpeg" }, { ".wav", "audio/wav" },
		{ ".xml", "text/xml" }, { ".html", "text/html" }, { ".css", "text/css" }, { ".json", "application/json" },
		{ ".txt", "text/plain" }, { ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".svg", "image/svg+xml" },
	};
	const char *dot = strrchr(path, '.');
	if (function)
		return "application/javascript";
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static void uploaded(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	struct tw_action *a = tw_applier_action(ap, ai);
	const char *sid;

	(void)h;
	if (!answer_ok(ap, ai, req, SID_VERSION))
		return;
	sid = json_string_value(json_object_get(req->json, "sid"));
	json_object_set_new(a->want->json, "version_sid", json_string(sid));
	a->data = json_pack("{s:s?}", "result", sid);
	tw_req_free(req);
	tw_applier_done(ap, ai);
}

static void upload_run(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = tw_applier_action(ap, ai);
	struct tw_res *c = a->want, *svc = service_of(c);
	struct tw_http *h = tw_applier_http(ap);
	struct tw_buf bytes = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	int function = c->kind == &tw_kind_functions;
	char sha[65], *path, *base;
	struct tw_req *req;

	if (source_bytes(c, &bytes, &err) < 0) {
		tw_buf_release(&bytes);
		tw_applier_fail(ap, ai, NULL, &err);
		return;
	}
	tw_sha256_hex(bytes.buf, bytes.len, sha);
	if (!tw_res_get_str(c, "sha256") || strcmp(sha, tw_res_get_str(c, "sha256"))) {
		tw_buf_release(&bytes);
		tw_err_set(&err, "%s changed since the plan was made; run apply again", tw_res_get_str(c, "source"));
		tw_applier_fail(ap, ai, NULL, &err);
		return;
	}
	path = tw_xasprintf("/v1/Services/%s/%s/%s/Versions", svc->sid, function ? "Functions" : "Assets", c->sid);
	req = tw_req_new("POST", tw_http_url(h, TW_PRODUCT_UPLOAD, path), uploaded, ap);
	free(path);
	req->tag = (long)ai;
	req->idempotent = 1;   /* an upload sent twice leaves an unused version: harmless */
	base = strrchr(c->id, '/');
	tw_req_add_part(req, "Path", NULL, NULL, c->id, strlen(c->id));
	tw_req_add_part(req, "Visibility", NULL, NULL, tw_res_get_str(c, "visibility"),
			strlen(tw_res_get_str(c, "visibility")));
	tw_req_add_part(req, "Content", base && base[1] ? base + 1 : "index", mime_type(c->id, function), bytes.buf,
			bytes.len);
	tw_form_add(&req->form, "Path", c->id);   /* shown in -v traces; the body is the multipart one */
	tw_buf_release(&bytes);
	tw_http_submit(h, req);
}

struct build_poll {
	struct tw_applier *ap;
	size_t ai;
	char *sid;
	double deadline;
};

static long env_ms(const char *name, long dflt)
{
	const char *v = getenv(name);
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	return v && *v && !*end && n > 0 ? n : dflt;
}

static void poll_status(struct build_poll *bp, long delay);

static void got_status(struct tw_http *h, struct tw_req *req)
{
	struct build_poll *bp = req->ud;
	struct tw_action *a = tw_applier_action(bp->ap, bp->ai);
	const char *status = json_string_value(json_object_get(req->json, "status"));
	struct tw_err err = TW_ERR_INIT;

	(void)h;
	if (req->result != TW_REQ_OK && !(req->status == 404 && tw_now_s() < bp->deadline)) {
		tw_applier_fail(bp->ap, bp->ai, req, NULL);
	} else if (req->result != TW_REQ_OK) {
		/* a build made a moment ago may not be readable yet (reads lag behind writes) */
		tw_trace(1, "build %s: not found yet", bp->sid);
		tw_req_free(req);
		poll_status(bp, env_ms("TWPROV_BUILD_POLL_MS", 2000));
		return;
	} else if (status && !strcmp(status, "completed")) {
		if (!a->want->json)
			a->want->json = json_object();
		json_object_set_new(a->want->json, "build_sid", json_string(bp->sid));
		json_decref(a->data);
		a->data = json_pack("{s:s}", "result", bp->sid);
		tw_applier_done(bp->ap, bp->ai);
	} else if (status && !strcmp(status, "failed")) {
		tw_err_set(&err, "build %s failed (its log is in the Twilio Console under Functions and Assets)", bp->sid);
		tw_applier_fail(bp->ap, bp->ai, NULL, &err);
	} else if (tw_now_s() > bp->deadline) {
		tw_err_set(&err, "build %s still %s after %ld s (TWPROV_BUILD_TIMEOUT_MS)", bp->sid,
			   status ? status : "unknown", env_ms("TWPROV_BUILD_TIMEOUT_MS", 300000) / 1000);
		tw_applier_fail(bp->ap, bp->ai, NULL, &err);
	} else {
		tw_trace(1, "build %s: %s", bp->sid, status ? status : "?");
		tw_req_free(req);
		poll_status(bp, env_ms("TWPROV_BUILD_POLL_MS", 2000));
		return;
	}
	tw_req_free(req);
	free(bp->sid);
	free(bp);
}

static void poll_status(struct build_poll *bp, long delay)
{
	struct tw_http *h = tw_applier_http(bp->ap);
	struct tw_action *a = tw_applier_action(bp->ap, bp->ai);
	char *path = tw_xasprintf("/v1/Services/%s/Builds/%s/Status", a->want->sid, bp->sid);
	struct tw_req *req = tw_req_new("GET", tw_http_url(h, TW_PRODUCT_SERVERLESS, path), got_status, bp);
	free(path);
	tw_http_submit_after(h, req, delay);
}

static void build_created(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	struct build_poll *bp;
	const char *sid;

	(void)h;
	if (!answer_ok(ap, ai, req, SID_BUILD))
		return;
	sid = json_string_value(json_object_get(req->json, "sid"));
	bp = tw_xcalloc(1, sizeof(*bp));
	bp->ap = ap;
	bp->ai = ai;
	bp->sid = tw_xstrdup(sid);
	bp->deadline = tw_now_s() + (double)env_ms("TWPROV_BUILD_TIMEOUT_MS", 300000) / 1000.0;
	tw_req_free(req);
	poll_status(bp, env_ms("TWPROV_BUILD_POLL_MS", 2000));
}

static void build_run(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = tw_applier_action(ap, ai);
	struct tw_res *svc = a->want;
	struct tw_http *h = tw_applier_http(ap);
	json_t *deps = tw_res_get(svc, "dependencies"), *list = json_array();
	const char *name, *rt = tw_res_get_str(svc, "runtime");
	char *path = tw_xasprintf("/v1/Services/%s/Builds", svc->sid), *dj;
	struct tw_req *req = tw_req_new("POST", tw_http_url(h, TW_PRODUCT_SERVERLESS, path), build_created, ap);
	json_t *v;

	free(path);
	req->tag = (long)ai;
	req->idempotent = 1;   /* a build made twice is an unused build: harmless */
	for (size_t i = 0; i < svc->nchildren; i++) {
		const struct tw_res *c = svc->children[i];
		const char *ver = json_string_value(json_object_get(c->json, "version_sid"));
		if (is_source(c) && ver)
			tw_form_add(&req->form, c->kind == &tw_kind_functions ? "FunctionVersions" : "AssetVersions", ver);
	}
	json_object_foreach(deps, name, v)
		json_array_append_new(list, json_pack("{s:s, s:O}", "name", name, "version", v));
	if (json_array_size(list)) {
		dj = json_dumps(list, JSON_COMPACT);
		tw_form_add(&req->form, "Dependencies", dj);
		free(dj);
	}
	json_decref(list);
	if (rt)
		tw_form_add(&req->form, "Runtime", rt);
	tw_http_submit(h, req);
}

static void deployed(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	struct tw_action *a = tw_applier_action(ap, ai);
	const char *sid;

	(void)h;
	/* a re-sent deployment whose first answer was lost: the environment runs the build */
	if (req->result == TW_REQ_API_ERROR && req->status == 409 && req->attempts > 1) {
		tw_req_free(req);
		tw_applier_done(ap, ai);
		return;
	}
	if (!answer_ok(ap, ai, req, SID_DEPLOYMENT))
		return;
	sid = json_string_value(json_object_get(req->json, "sid"));
	json_decref(a->data);
	a->data = json_pack("{s:s?}", "result", sid);
	tw_req_free(req);
	tw_applier_done(ap, ai);
}

static void deploy_run(struct tw_applier *ap, size_t ai)
{
	struct tw_action *a = tw_applier_action(ap, ai);
	struct tw_res *env = a->want, *svc = env->parent;
	struct tw_http *h = tw_applier_http(ap);
	const char *build = json_string_value(json_object_get(a->data, "build_sid"));
	char *path = tw_xasprintf("/v1/Services/%s/Environments/%s/Deployments", svc->sid, env->sid);
	struct tw_req *req = tw_req_new("POST", tw_http_url(h, TW_PRODUCT_SERVERLESS, path), deployed, ap);

	free(path);
	if (!build)
		build = json_string_value(json_object_get(svc->json, "build_sid"));
	if (!build) {
		struct tw_err err = TW_ERR_INIT;
		tw_req_free(req);
		tw_err_set(&err, "no build to deploy");
		tw_applier_fail(ap, ai, NULL, &err);
		return;
	}
	req->tag = (long)ai;
	req->idempotent = 1;   /* deploying the same build twice changes nothing */
	tw_form_add(&req->form, "BuildSid", build);
	tw_http_submit(h, req);
}

/* ---- URLs written as a deployed path ---- */

static struct tw_res *child_named(const struct tw_res *p, const struct tw_kind *k, const char *id)
{
	struct tw_res *c = p && id ? tw_res_find(p, k, id) : NULL;
	return c && !c->absent ? c : NULL;
}

static struct tw_res *svcref_service(const struct tw_res *from, const json_t *ref)
{
	struct tw_res *svc = tw_res_top(from, "services", json_string_value(json_object_get(ref, "service")));
	return svc && !svc->absent ? svc : NULL;
}

struct tw_res *tw_svcref_env(const struct tw_res *from, const json_t *ref)
{
	return child_named(svcref_service(from, ref), &tw_kind_environments,
			   json_string_value(json_object_get(ref, "environment")));
}

int tw_svcref_check(const struct tw_res *from, json_t *ref, struct tw_buf *why)
{
	struct tw_res *svc = svcref_service(from, ref), *env = NULL;
	const char *ename = json_string_value(json_object_get(ref, "environment"));
	const char *path = json_string_value(json_object_get(ref, "path"));
	size_t nenv = 0;

	if (!svc)
		return 0;   /* the reference check has said so */
	for (size_t i = 0; i < svc->nchildren; i++)
		if (svc->children[i]->kind == &tw_kind_environments && !svc->children[i]->absent) {
			nenv++;
			if (!ename || !strcmp(svc->children[i]->id, ename))
				env = svc->children[i];
		}
	if (!ename && nenv != 1) {
		tw_buf_addf(why, "service \"%s\" has %zu environments: say which with environment:", svc->id, nenv);
		return -1;
	}
	if (!env) {
		tw_buf_addf(why, "service \"%s\" declares no environment \"%s\"", svc->id, ename);
		return -1;
	}
	if (!ename)
		json_object_set_new(ref, "environment", json_string(env->id));
	if (!child_named(svc, &tw_kind_functions, path) && !child_named(svc, &tw_kind_assets, path)) {
		tw_buf_addf(why, "service \"%s\" declares no function or asset at \"%s\"", svc->id, path ? path : "");
		return -1;
	}
	return 0;
}

char *tw_svcref_url(const struct tw_res *from, const json_t *ref)
{
	const struct tw_res *env = tw_svcref_env(from, ref);
	const json_t *obj = !env ? NULL : env->json ? env->json : env->match ? env->match->json : NULL;
	const char *domain = json_string_value(json_object_get(obj, "domain_name"));
	return domain ? tw_xasprintf("https://%s%s", domain, json_string_value(json_object_get(ref, "path"))) : NULL;
}
