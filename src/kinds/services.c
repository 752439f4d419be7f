/* services.c - Twilio Serverless: services, environments, variables, functions, assets
 * (REFERENCE.md section 11): their descriptors, and what loading the file adds to them.
 *
 * The descriptors make services, environments, variables, and the Function
 * and Asset resources ordinary kinds.  What is deployed is not a field of any
 * of them: it is the build an environment runs (deploy.c reads, plans and
 * applies it).  When the file is loaded, the hooks here read each function's
 * and asset's bytes (their SHA-256), add twprov's generated functions and,
 * once the dialer's code is written (dialer.c), the manifest.
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
#include "twprov/file.h"
#include "twprov/model.h"

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
static void service_seal(struct tw_res *r, struct tw_diags *d);
static void source_validate(struct tw_res *r, struct tw_diags *d);

static const struct tw_field service_fields[] = {
	{ .name = "unique_name", .param = "UniqueName", .json = "unique_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = check_unique_name, .max = 50,
	  .doc = "the service's unique name, part of its domains; its identity" },
	{ .name = "friendly_name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .max = 255, .doc = "a description (default: the unique name)" },
	/* the defaults: the spec's descriptions of the Service parameters */
	{ .name = "include_credentials", .param = "IncludeCredentials", .json = "include_credentials",
	  .type = TW_V_BOOL, .twilio_default = "true",
	  .doc = "give functions the account's credentials (context.getTwilioClient; Twilio's default true)" },
	{ .name = "ui_editable", .param = "UiEditable", .json = "ui_editable", .type = TW_V_BOOL,
	  .twilio_default = "false", .doc = "let the Console edit the service (Twilio's default false)" },
	{ .name = "runtime", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_enum, .choices = runtimes,
	  .doc = "the Node.js runtime of its builds, node8 to node22 (Twilio's default when left out)" },
	{ .name = "dependencies", .type = TW_V_MAP, .flags = TW_F_LOCAL,
	  .doc = "npm packages of its builds, name: version" },
};

static const struct tw_kind_hooks service_hooks = { .validate = service_validate, .seal = service_seal,
						    .plan_more = tw_deploy_plan, .export_read = tw_service_export_read,
						    .export = tw_service_export };

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

static const struct tw_kind_hooks environment_hooks = { .read_more = tw_deploy_read };
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
	  .objval = &tw_sidref, .max = 450,
	  .doc = "its value (may be a ${env:NAME} or ${file:PATH} reference: then sensitive; or {sid_of: KIND/NAME}: "
		 "the SID of a resource of the file)" },
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

/* The bytes of a function or asset: its inline content or its source file. */
int tw_source_bytes(const struct tw_res *r, struct tw_buf *out, struct tw_err *err)
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
		tw_res_diag(d, 0, r, source ? "content" : NULL, "give either source (a file) or content (inline), not both");
		return;
	}
	if (source) {
		char *file = source[0] == '/' || !m->dir ? tw_xstrdup(source) : tw_xasprintf("%s/%s", m->dir, source);
		json_object_set_new(r->fields, "_file", json_string(file));
		free(file);
	}
	if (tw_source_bytes(r, &bytes, &err) < 0) {
		tw_res_diag(d, 0, r, "source", "%s", err.msg);
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
	/* twprov's manifest function; its content is written by the seal hook, once
	 * every function and asset (generated ones too) is known.  It is made for a
	 * build: a service whose environments run what the file says (a build twprov
	 * did not make, adopted) needs none */
	tw_service_function(r, TW_MANIFEST_PATH)->on_demand = 1;
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
		if (!into || !c->id || !strcmp(c->id, TW_MANIFEST_PATH))   /* hooks run on files with errors too */
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
json_t *tw_manifest_parse(const char *src)
{
	const char *p = src ? strstr(src, "\nexports.manifest = ") : NULL;
	const char *end;
	if (!p)
		return NULL;
	p += strlen("\nexports.manifest = ");
	end = strstr(p, ";\n");
	return end ? json_loadb(p, (size_t)(end - p), 0, NULL) : NULL;
}

static void service_seal(struct tw_res *r, struct tw_diags *d)
{
	json_t *manifest = manifest_of(r);
	char *source = manifest_source(manifest);

	(void)d;
	json_decref(manifest);
	tw_service_set_code(tw_service_function(r, TW_MANIFEST_PATH), source);
	free(source);
}
