/* svcexport.c - twprov export of a Serverless service: what its environments run, written back
 *
 * A service's functions and assets are not fields of any resource: they are
 * the versions of the build an environment runs (deploy.c).  The file takes
 * the build of one environment, the most recently built (the file deploys one
 * build to every environment): the code of each function from its Version
 * Content, each public asset's bytes from its deployed URL
 * (https://DOMAIN/PATH), into files under the source directory.  Protected
 * and private assets cannot be read back from Twilio at all: they are left
 * out, with why.  twprov's own functions (/_twprov/...) are not code to keep:
 * the manifest is rewritten by every load, and the dialer's functions come
 * back as the outbound: and ring: configuration they were generated from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kinds.h"
#include "twprov/config.h"
#include "twprov/export.h"
#include "twprov/model.h"

/* The live environment whose build the file takes: the latest build (date_created, ISO 8601 so
 * ordered as text; then the build's SID), or NULL when none runs one. */
static const struct tw_res *chosen_env(const struct tw_res *svc)
{
	const struct tw_res *best = NULL;
	const char *best_date = NULL, *best_sid = NULL;

	for (size_t i = 0; i < svc->nchildren; i++) {
		const struct tw_res *e = svc->children[i];
		json_t *b = e->kind == &tw_kind_environments ? json_object_get(e->json, "_build") : NULL;
		const char *date = json_string_value(json_object_get(b, "date_created"));
		const char *sid = json_string_value(json_object_get(b, "sid"));
		int c;
		if (!b || !sid)
			continue;
		c = !best ? 1 : strcmp(date ? date : "", best_date ? best_date : "");
		if (c > 0 || (c == 0 && strcmp(sid, best_sid) > 0)) {
			best = e;
			best_date = date;
			best_sid = sid;
		}
	}
	return best;
}

static const char *const keys[2] = { "function_versions", "asset_versions" };

/* The live environment whose build the file takes, as export_read chose it, or NULL. */
static const struct tw_res *env_of(const struct tw_res *svc, const json_t *data)
{
	const char *name = json_string_value(json_object_get(data, "env"));
	return name ? tw_res_find(svc, &tw_kind_environments, name) : NULL;
}

/* The version of build b (functions: asset 0) whose function or asset is `sid`, or NULL. */
static json_t *version_of(const json_t *b, int asset, const char *sid)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(b, keys[asset]), i, v) {
		const char *s = json_string_value(json_object_get(v, asset ? "asset_sid" : "function_sid"));
		if (s && sid && !strcmp(s, sid))
			return v;
	}
	return NULL;
}

static const char *path_at(const json_t *data, uintptr_t ud)
{
	json_t *b = json_object_get(data, "build");
	return json_string_value(json_object_get(json_array_get(json_object_get(b, keys[ud & 1]), ud >> 1), "path"));
}

static void got_code(struct tw_export *x, const struct tw_res *svc, const json_t *obj, void *ud)
{
	json_t *data = tw_export_data(x, svc);
	const char *path = path_at(data, (uintptr_t)ud);
	json_t *code = json_object_get(obj, "content");

	if (path && json_is_string(code))
		json_object_set(json_object_get(data, "code"), path, code);
}

static void got_bytes(struct tw_export *x, const struct tw_res *svc, struct tw_buf *bytes, const char *why, void *ud)
{
	json_t *data = tw_export_data(x, svc);
	const char *path = path_at(data, (uintptr_t)ud);

	if (!path)
		return;
	json_object_set_new(json_object_get(data, "bytes"), path,
			    bytes ? json_integer((json_int_t)tw_export_keep(x, bytes)) : json_string(why));
}

void tw_service_export_read(struct tw_export *x, const struct tw_res *svc)
{
	const struct tw_res *env = chosen_env(svc);
	json_t *data = tw_export_data(x, svc), *b = env ? json_object_get(env->json, "_build") : NULL;
	const char *domain = env ? json_string_value(json_object_get(env->json, "domain_name")) : NULL;

	if (!b)
		return;
	json_object_set_new(data, "env", json_string(env->id));
	json_object_set(data, "build", b);
	json_object_set_new(data, "code", json_object());
	json_object_set_new(data, "bytes", json_object());
	for (int asset = 0; asset < 2; asset++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(b, keys[asset]), i, v) {
			const char *path = json_string_value(json_object_get(v, "path"));
			const char *vis = json_string_value(json_object_get(v, "visibility"));
			void *ud = (void *)(uintptr_t)(i << 1 | (unsigned)asset);
			if (!path || !strcmp(path, TW_MANIFEST_PATH))
				continue;
			if (!asset) {
				char *p = tw_deploy_content_path(svc->sid, v);
				tw_export_get(x, svc, TW_PRODUCT_SERVERLESS, p, got_code, ud);
				free(p);
			} else if (vis && !strcasecmp(vis, "public")) {
				tw_export_download(x, svc, domain, path, got_bytes, ud);
			}
		}
	}
}

/* The visibility a version has, lower case as the file writes it; NULL for protected (the file's
 * default). */
static json_t *visibility(const json_t *v)
{
	const char *s = json_string_value(json_object_get(v, "visibility"));
	char buf[16];
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= sizeof(buf) || !strcasecmp(s, "protected"))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	return json_string(buf);
}

/* A declared function or asset from its version: the file with its bytes, its visibility. */
static void write_source(struct tw_export *x, struct tw_res *d, const json_t *v, const char *dir, const void *data,
			 size_t len)
{
	const char *path = d->id, *why = NULL, *source;
	char *name = tw_xasprintf("%s/%s%s%s", d->parent->id, dir, path, d->kind == &tw_kind_functions ? ".js" : "");
	json_t *vis = visibility(v);

	if (!(source = tw_export_add_source(x, name, data, len, &why))) {
		tw_export_leave_out(x, d, "%s", why);
	} else {
		json_object_set_new(d->fields, "source", json_string(source));
		if (vis)
			json_object_set(d->fields, "visibility", vis);
	}
	json_decref(vis);
	free(name);
}

/* Each declared function or asset of the service as the build holds it; left out otherwise. */
static void sources(struct tw_export *x, struct tw_res *svc, const json_t *data)
{
	json_t *b = json_object_get(data, "build");
	/* a snapshot: leaving one out changes svc->children */
	size_t n = svc->nchildren;
	struct tw_res **kids = tw_xcalloc(n ? n : 1, sizeof(*kids));

	memcpy(kids, svc->children, n * sizeof(*kids));
	for (size_t i = 0; i < n; i++) {
		struct tw_res *d = kids[i];
		const struct tw_res *l = tw_export_live(x, d);
		int asset = d->kind == &tw_kind_assets;
		json_t *v, *got;
		const char *path, *vis;
		if (d->kind != &tw_kind_functions && !asset)
			continue;
		if (!b) {
			tw_export_leave_out(x, d, "no environment runs a build: what it would serve cannot be read");
			continue;
		}
		v = version_of(b, asset, l ? l->sid : NULL);
		path = json_string_value(json_object_get(v, "path"));
		vis = json_string_value(json_object_get(v, "visibility"));
		if (!v || !path) {
			tw_export_leave_out(x, d, "not in the build %s runs, which the file takes",
					    json_string_value(json_object_get(data, "env")));
		} else if (strcmp(path, d->id)) {
			tw_export_leave_out(x, d, "served at %s: twprov names a %s by its path (its FriendlyName): "
					    "rename it to its path", path, asset ? "asset" : "function");
		} else if (!asset) {
			got = json_object_get(json_object_get(data, "code"), path);
			if (!got)
				tw_export_leave_out(x, d, "its code could not be read (no Version Content)");
			else
				write_source(x, d, v, "functions", json_string_value(got), json_string_length(got));
		} else if (!vis || strcasecmp(vis, "public")) {
			int prot = vis && !strcasecmp(vis, "protected");
			tw_export_leave_out(x, d, "a %s asset cannot be downloaded: Twilio serves %s", prot ? "protected" : "private",
					    prot ? "it only to requests Twilio signed" : "it to no one but functions");
		} else if (json_is_string(got = json_object_get(json_object_get(data, "bytes"), path))) {
			tw_export_leave_out(x, d, "cannot be downloaded: %s", json_string_value(got));
		} else {
			const struct tw_buf *bytes = tw_export_kept(x, (size_t)json_integer_value(got));
			write_source(x, d, v, "assets", bytes->buf, bytes->len);
		}
	}
	free(kids);
}

/* The configuration a generated function came from, back where the file says it (its kind's
 * hook): how many resources got it, or -1 when the path is no generated function's. */
static int generated_config(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *path,
			    const char *code)
{
	int n = tw_dialer_export(x, svc, env, path, code);
	return n >= 0 ? n : tw_inbound_export(x, svc, env, path, code);
}

/* twprov's own functions of the build: accounted for by what generates them. */
static void generated(struct tw_export *x, const struct tw_res *live, struct tw_res *svc, const json_t *data)
{
	const struct tw_res *env = env_of(live, data);
	struct tw_res *denv = env ? tw_export_declared(x, env) : NULL;

	/* the dialer's outbound: before its ring:, which needs it */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < live->nchildren; i++) {
			const struct tw_res *f = live->children[i];
			const char *path = f->id;
			json_t *v = f->kind == &tw_kind_functions ? version_of(json_object_get(data, "build"), 0, f->sid) : NULL;
			json_t *code = json_object_get(json_object_get(data, "code"), path ? path : "");
			if (!path || strncmp(path, "/_twprov/", 9) || (pass == 0) != !strcmp(path, "/_twprov/outbound"))
				continue;
			if (!strcmp(path, TW_MANIFEST_PATH) || !v)
				tw_export_claim(x, f);    /* rewritten by every load; or not deployed: dropped */
			else if (denv && json_is_string(code) && generated_config(x, svc, denv, path, json_string_value(code)) > 0)
				tw_export_claim(x, f);
			else
				tw_export_leave_out_live(x, f, "twprov generated it from configuration that names what the "
							 "file does not hold, or that cannot be read back");
		}
}

void tw_service_export(struct tw_export *x, const struct tw_res *live, struct tw_res *decl)
{
	const json_t *data = tw_export_data(x, live);
	const struct tw_res *env = env_of(live, data);
	json_t *b = json_object_get(data, "build");
	json_t *man = env ? tw_manifest_parse(json_string_value(json_object_get(env->json, "_manifest_source"))) : NULL;
	json_t *deps = man ? json_incref(json_object_get(man, "dependencies")) : json_object(), *rt, *d;
	struct tw_buf why = TW_BUF_INIT;
	size_t i;

	/* the loader's default: its unique name */
	if (tw_res_get_str(decl, "friendly_name") && !strcmp(tw_res_get_str(decl, "friendly_name"), decl->id))
		json_object_del(decl->fields, "friendly_name");
	/* what the build was made with: the manifest says what the file said; a build twprov did not
	 * make has Twilio's runtime, written so that it stays the same */
	rt = man ? json_object_get(man, "runtime") : json_object_get(b, "runtime");
	if (json_is_string(rt) && tw_config_check_str(tw_kind_field(decl->kind, "runtime"), json_string_value(rt),
						      json_string_length(rt), &why) == 0)
		json_object_set(decl->fields, "runtime", rt);
	else if (json_is_string(rt))
		tw_export_note(x, "services/%s: runtime left out: %s", decl->id, why.buf);
	tw_buf_release(&why);
	json_array_foreach(man ? NULL : json_object_get(b, "dependencies"), i, d)
		if (json_is_string(json_object_get(d, "name")) && json_is_string(json_object_get(d, "version")))
			json_object_set(deps, json_string_value(json_object_get(d, "name")), json_object_get(d, "version"));
	if (json_object_size(deps))
		json_object_set(decl->fields, "dependencies", deps);
	json_decref(deps);
	json_decref(man);
	generated(x, live, decl, data);
	sources(x, decl, data);
}
