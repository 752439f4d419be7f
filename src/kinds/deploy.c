/* deploy.c - what a Serverless environment runs: read, planned and applied
 *
 * The hooks here
 *  - read each declared environment's build and the twprov manifest in it;
 *  - plan uploads of the functions and assets whose bytes changed, one build
 *    with every current version, and a deployment to each environment whose
 *    build differs from the file (nothing at all when none differs);
 *  - run those steps (multipart upload, build, status polling, deployment).
 *
 * The manifest (services.c) lists the SHA-256 and visibility of every
 * function and asset of a build: asset contents cannot be read back from the
 * API, function sources can, so one GET tells what an environment runs.
 *
 * A build twprov did not make (in the Console, by another tool) has no
 * manifest.  What it holds is then read back where Twilio allows: each
 * function's code (its Version Content) and each public asset's bytes (from
 * its deployed URL), as SHA-256 sums in the manifest's shape ("_adopt"), so
 * that a file saying the same (twprov export writes one) plans nothing.  A
 * protected or private asset cannot be read: such a build is redeployed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kinds.h"
#include "twprov/apply.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/model.h"
#include "twprov/plan.h"

/* SIDs of what Serverless answers about (its kinds' own are in their descriptors) */
#define SID_VERSION "ZN"
#define SID_BUILD "ZB"
#define SID_DEPLOYMENT "ZD"

/* ---- reading what an environment runs ---- */

static void got_manifest(struct tw_live_more *lm, struct tw_res *r, json_t *obj, void *ud)
{
	const char *content = json_string_value(json_object_get(obj, "content"));
	(void)lm;
	(void)ud;
	if (content)   /* NULL obj (not found yet): no manifest, so the environment is redeployed */
		json_object_set_new(r->json, "_manifest_source", json_string(content));
}

/* ---- reading a build twprov did not make ---- */

/* The version at index `i` of the two arrays of a build (functions first), and which array. */
static json_t *version_at(const json_t *build, size_t i, int *asset)
{
	size_t nf = json_array_size(json_object_get(build, "function_versions"));
	*asset = i >= nf;
	return json_array_get(json_object_get(build, *asset ? "asset_versions" : "function_versions"),
			      *asset ? i - nf : i);
}

/* What version i holds: its SHA-256 (NULL: it could not be read) under its path in "_adopt". */
static void adopted(struct tw_res *r, size_t i, const char *sha)
{
	json_t *a = json_object_get(r->json, "_adopt"), *v;
	int asset;
	const char *path, *vis;
	char *lower;

	v = version_at(json_object_get(r->json, "_build"), i, &asset);
	path = json_string_value(json_object_get(v, "path"));
	vis = json_string_value(json_object_get(v, "visibility"));
	if (!sha || !path || !vis) {
		json_object_set_new(a, "unreadable", json_true());
		return;
	}
	lower = tw_xstrdup(vis);
	for (char *p = lower; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	json_object_set_new(json_object_get(a, asset ? "assets" : "functions"), path,
			    json_pack("{s:s, s:s}", "sha256", sha, "visibility", lower));
	free(lower);
}

static void got_code(struct tw_live_more *lm, struct tw_res *r, json_t *obj, void *ud)
{
	const char *code = json_string_value(json_object_get(obj, "content"));
	char sha[65];
	(void)lm;
	if (code)
		tw_sha256_hex(code, strlen(code), sha);
	adopted(r, (size_t)(uintptr_t)ud, code ? sha : NULL);
}

static void got_bytes(struct tw_live_more *lm, struct tw_res *r, const struct tw_buf *body, void *ud)
{
	char sha[65];
	(void)lm;
	if (body)
		tw_sha256_hex(body->buf, body->len, sha);
	adopted(r, (size_t)(uintptr_t)ud, body ? sha : NULL);
}

static void adopt_read(struct tw_live_more *lm, struct tw_res *r, const json_t *build)
{
	json_t *deps = json_object(), *d;
	const char *domain = json_string_value(json_object_get(r->json, "domain_name"));
	size_t i, n = json_array_size(json_object_get(build, "function_versions")) +
		      json_array_size(json_object_get(build, "asset_versions"));

	json_array_foreach(json_object_get(build, "dependencies"), i, d)
		if (json_is_string(json_object_get(d, "name")) && json_is_string(json_object_get(d, "version")))
			json_object_set(deps, json_string_value(json_object_get(d, "name")), json_object_get(d, "version"));
	json_object_set_new(r->json, "_adopt", json_pack("{s:{}, s:{}, s:o, s:O?}", "functions", "assets",
							 "dependencies", deps, "runtime",
							 json_object_get(build, "runtime")));
	tw_trace(1, "build %s has no twprov manifest: reading what it holds",
		 json_string_value(json_object_get(build, "sid")));
	for (i = 0; i < n; i++) {
		int asset;
		const json_t *v = version_at(build, i, &asset);
		const char *path = json_string_value(json_object_get(v, "path"));
		const char *vis = json_string_value(json_object_get(v, "visibility"));
		if (!asset) {
			char *p = tw_deploy_content_path(r->parent->sid, v);
			tw_live_get(lm, r, TW_PRODUCT_SERVERLESS, p, got_code, (void *)(uintptr_t)i);
			free(p);
		} else if (vis && !strcasecmp(vis, "public")) {
			tw_live_download(lm, r, domain, path, got_bytes, (void *)(uintptr_t)i);
		} else {
			adopted(r, i, NULL);   /* protected and private assets are served to no one */
		}
	}
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
	int manifest = 0;
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
		if (path && !strcmp(path, TW_MANIFEST_PATH)) {
			manifest = 1;
			char *p = tw_deploy_content_path(r->parent->sid, v);
			tw_live_get(lm, r, TW_PRODUCT_SERVERLESS, p, got_manifest, NULL);
			free(p);
		}
	}
	if (!manifest)
		adopt_read(lm, r, build);
}

char *tw_deploy_content_path(const char *svc_sid, const json_t *version)
{
	return tw_xasprintf("/v1/Services/%s/Functions/%s/Versions/%s/Content", svc_sid,
			    json_string_value(json_object_get(version, "function_sid")),
			    json_string_value(json_object_get(version, "sid")));
}

void tw_deploy_read(struct tw_live_more *lm, struct tw_res *r)
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

/* Does a build twprov did not make, as read back ("_adopt"), hold what manifest `source` says?
 * The file's runtime, when it leaves it out, is whatever the build has. */
static int holds(const json_t *adopt, const json_t *build, const char *source)
{
	json_t *want = tw_manifest_parse(source);
	size_t nver = json_array_size(json_object_get(build, "function_versions")) +
		      json_array_size(json_object_get(build, "asset_versions"));
	json_t *rt = json_object_get(want, "runtime");
	int same = adopt && want && !json_object_get(adopt, "unreadable") &&
		   json_object_size(json_object_get(adopt, "functions")) +
		   json_object_size(json_object_get(adopt, "assets")) == nver;

	for (int k = 0; same && k < 3; k++) {
		static const char *const keys[] = { "functions", "assets", "dependencies" };
		same = json_equal(json_object_get(want, keys[k]), json_object_get(adopt, keys[k]));
	}
	same = same && (json_is_null(rt) || json_equal(rt, json_object_get(adopt, "runtime")));
	json_decref(want);
	return same;
}

/* Does live environment e run exactly what `source` (the desired manifest function) and w describe? */
static int runs(const struct tw_res *e, const struct tw_res *w, const char *source)
{
	const char *deployed = json_string_value(json_object_get(e->json, "_manifest_source"));
	json_t *build = json_object_get(e->json, "_build");
	size_t nver = json_array_size(json_object_get(build, "function_versions")) +
		      json_array_size(json_object_get(build, "asset_versions"));
	size_t nsrc = 0;
	int adopt = !deployed;    /* a build twprov did not make: it has no manifest function */

	if (deployed ? strcmp(deployed, source) : !holds(json_object_get(e->json, "_adopt"), build, source))
		return 0;
	/* the manifest lists the hashes; the build must also hold those paths, so visible */
	for (size_t i = 0; i < w->nchildren; i++) {
		const struct tw_res *c = w->children[i];
		const char *key = c->kind == &tw_kind_functions ? "function_versions" : "asset_versions";
		size_t j;
		json_t *v;
		int found = 0;
		if (!is_source(c) || (adopt && !strcmp(c->id, TW_MANIFEST_PATH)))
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
		/* a build twprov did not make: what was read back of it */
		json_t *man = e->kind != &tw_kind_environments ? NULL
			      : src ? tw_manifest_parse(src) : json_incref(json_object_get(e->json, "_adopt"));
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
				if (path && src && !strcmp(path, TW_MANIFEST_PATH)) {
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

void tw_deploy_plan(struct tw_planner *pl, const struct tw_res *w, const struct tw_res *h)
{
	const struct tw_plan *p = tw_planner_plan(pl);
	json_t *reuse = NULL, *deploys = json_array(), *keep = NULL;
	/* the manifest function's code, written when the file was loaded */
	const char *source = tw_res_get_str(tw_res_find(w, &tw_kind_functions, TW_MANIFEST_PATH), "content");
	const char *build_sid = NULL;
	size_t build = (size_t)-1, i, nfn = 0, nas = 0;
	json_t *v;

	/* which declared environments do not run the file's build? */
	for (i = 0; i < w->nchildren; i++) {
		const struct tw_res *e = w->children[i], *le = tw_plan_live(p, e);
		const struct tw_action *ea = tw_plan_act_of(p, e);
		int replaced = ea && ea->type == TW_ACT_REPLACE && ea->want == e;
		if (e->kind != &tw_kind_environments || e->absent)
			continue;
		if (le && !replaced && runs(le, w, source)) {
			if (!build_sid)   /* the same build can go to the others */
				build_sid = json_string_value(json_object_get(le->json, "build_sid"));
			continue;
		}
		json_array_append_new(deploys, json_integer((json_int_t)i));
	}
	if (!json_array_size(deploys))
		goto out;

	if (!build_sid) {
		/* upload what no deployed build holds, then one build of it all */
		reuse = reusable_versions(h);
		keep = json_object();       /* path -> the deployed version the build reuses */
		for (i = 0; i < w->nchildren; i++) {
			const struct tw_res *c = w->children[i];
			json_t *old;
			const char *want_sha = tw_res_get_str(c, "sha256");
			size_t u;
			if (!is_source(c))
				continue;
			*(c->kind == &tw_kind_functions ? &nfn : &nas) += 1;
			old = json_object_get(reuse, c->id);
			if (old && want_sha && !strcmp(json_string_value(json_object_get(old, "sha256")), want_sha) &&
			    same_visibility(c, json_object_get(old, "visibility"))) {
				json_object_set(keep, c->id, json_object_get(old, "sid"));
				continue;
			}
			if (c->on_demand && !tw_plan_live(p, c))
				tw_planner_create(pl, c);
			u = tw_planner_custom(pl, &upload_op, c, tw_xasprintf("%s, %s", tw_res_get_str(c, "visibility"),
									   c->kind == &tw_kind_functions ? "function" : "asset"),
					      NULL);
			tw_planner_after_creation(pl, u, c);
			tw_planner_change(pl, u, tw_kind_field(c->kind, "sha256"), old ? json_object_get(old, "sha256") : NULL,
					  tw_res_get(c, "sha256"));
		}
		build = tw_planner_custom(pl, &build_op, w,
					  tw_xasprintf("%zu function%s, %zu asset%s, %s", nfn - 1, nfn == 2 ? "" : "s", nas,
						       nas == 1 ? "" : "s",
						       tw_res_get_str(w, "runtime") ? tw_res_get_str(w, "runtime")
										      : "default runtime"),
					  json_pack("{s:O}", "reuse", keep));
		tw_planner_after_creation(pl, build, w);
		for (i = 0; i < p->n; i++) {
			const struct tw_action *a = &p->acts[i];
			if (a->want && a->want->parent == w && is_source(a->want) &&
			    (a->custom == &upload_op || (!a->custom && a->type == TW_ACT_CREATE)))
				tw_planner_dep(pl, build, i);
		}
	}
	json_array_foreach(deploys, i, v) {
		const struct tw_res *e = w->children[json_integer_value(v)], *le = tw_plan_live(p, e);
		const char *cur = le ? json_string_value(json_object_get(le->json, "build_sid")) : NULL;
		size_t d = tw_planner_custom(pl, &deploy_op, e,
					     tw_xasprintf("%s -> %s", cur ? cur : "nothing",
							  build_sid ? build_sid : "the new build"),
					     build_sid ? json_pack("{s:s}", "build_sid", build_sid) : NULL);
		tw_planner_after_creation(pl, d, e);
		if (build != (size_t)-1)
			tw_planner_dep(pl, d, build);
		/* functions and assets leave the service only once no deployment runs them */
		for (size_t j = 0; j < p->n; j++) {
			const struct tw_action *a = &p->acts[j];
			if (a->type == TW_ACT_DELETE && a->have && a->have->parent == h && is_source(a->have))
				tw_planner_dep(pl, j, d);
		}
	}
out:
	json_decref(keep);
	json_decref(reuse);
	json_decref(deploys);
}

/* ---- applying: upload, build, deploy ---- */

static const struct tw_res *service_of(const struct tw_res *r)
{
	while (r && r->kind != &tw_kind_services)
		r = r->parent;
	return r;
}

/*
 * Do these declared resources (r2 may be NULL) have valid SIDs as the apply
 * knows them (matched or created)?  Else the action fails: nothing is sent.
 */
static int sids_ok(struct tw_applier *ap, size_t ai, const struct tw_res *r1, const struct tw_res *r2)
{
	const struct tw_res *bad = !tw_sid_ok(tw_applier_sid(ap, r1), r1->kind->sid_prefix) ? r1
				   : r2 && !tw_sid_ok(tw_applier_sid(ap, r2), r2->kind->sid_prefix) ? r2 : NULL;
	struct tw_err err = TW_ERR_INIT;
	char *a;

	if (!bad)
		return 1;
	a = tw_res_address(bad);
	tw_err_set(&err, "%s: no valid SID to send: nothing was sent", tw_quote(a));
	free(a);
	tw_applier_fail(ap, ai, NULL, &err);
	return 0;
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

/* An upload's version SID is the build's to use. */
static void uploaded(struct tw_http *h, struct tw_req *req)
{
	struct tw_applier *ap = req->ud;
	size_t ai = (size_t)req->tag;
	const struct tw_action *a = tw_applier_action(ap, ai);
	const char *sid;

	(void)h;
	if (!answer_ok(ap, ai, req, SID_VERSION))
		return;
	sid = json_string_value(json_object_get(req->json, "sid"));
	json_object_set_new(tw_applier_data(ap, a->want), "version_sid", json_string(sid));
	tw_applier_done(ap, ai, sid);
	tw_req_free(req);
}

static void upload_run(struct tw_applier *ap, size_t ai)
{
	const struct tw_action *a = tw_applier_action(ap, ai);
	const struct tw_res *c = a->want, *svc = service_of(c);
	struct tw_http *h = tw_applier_http(ap);
	struct tw_buf bytes = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	int function = c->kind == &tw_kind_functions;
	char sha[65], *path, *base;
	struct tw_req *req;

	if (tw_source_bytes(c, &bytes, &err) < 0) {
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
	if (!sids_ok(ap, ai, svc, c)) {
		tw_buf_release(&bytes);
		return;
	}
	path = tw_xasprintf("/v1/Services/%s/%s/%s/Versions", tw_applier_sid(ap, svc), function ? "Functions" : "Assets",
			    tw_applier_sid(ap, c));
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
	const struct tw_action *a = tw_applier_action(bp->ap, bp->ai);
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
		/* the deployments' to run */
		json_object_set_new(tw_applier_data(bp->ap, a->want), "build_sid", json_string(bp->sid));
		tw_applier_done(bp->ap, bp->ai, bp->sid);
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
	const struct tw_action *a = tw_applier_action(bp->ap, bp->ai);
	/* the service's SID was checked when the build was made; the build's in build_created */
	char *path = tw_xasprintf("/v1/Services/%s/Builds/%s/Status", tw_applier_sid(bp->ap, a->want), bp->sid);
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

/* One build of every function and asset: versions uploaded by this apply, or reused. */
static void build_run(struct tw_applier *ap, size_t ai)
{
	const struct tw_action *a = tw_applier_action(ap, ai);
	const struct tw_res *svc = a->want;
	struct tw_http *h = tw_applier_http(ap);
	json_t *deps = tw_res_get(svc, "dependencies"), *list = json_array(), *reuse = json_object_get(a->data, "reuse");
	const char *name, *rt = tw_res_get_str(svc, "runtime");
	char *path, *dj;
	struct tw_req *req;
	json_t *v;

	if (!sids_ok(ap, ai, svc, NULL)) {
		json_decref(list);
		return;
	}
	path = tw_xasprintf("/v1/Services/%s/Builds", tw_applier_sid(ap, svc));
	req = tw_req_new("POST", tw_http_url(h, TW_PRODUCT_SERVERLESS, path), build_created, ap);
	free(path);
	req->tag = (long)ai;
	req->idempotent = 1;   /* a build made twice is an unused build: harmless */
	for (size_t i = 0; i < svc->nchildren; i++) {
		const struct tw_res *c = svc->children[i];
		const char *ver;
		if (!is_source(c))
			continue;
		ver = json_string_value(json_object_get(tw_applier_data(ap, c), "version_sid"));
		if (!ver)
			ver = json_string_value(json_object_get(reuse, c->id));
		if (ver)
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

	(void)h;
	/* a re-sent deployment whose first answer was lost: the environment runs the build */
	if (req->result == TW_REQ_API_ERROR && req->status == 409 && req->attempts > 1) {
		tw_applier_done(ap, ai, NULL);
		tw_req_free(req);
		return;
	}
	if (!answer_ok(ap, ai, req, SID_DEPLOYMENT))
		return;
	tw_applier_done(ap, ai, json_string_value(json_object_get(req->json, "sid")));
	tw_req_free(req);
}

/* Deploy the plan's build (one an environment already runs) or the one this apply made. */
static void deploy_run(struct tw_applier *ap, size_t ai)
{
	const struct tw_action *a = tw_applier_action(ap, ai);
	const struct tw_res *env = a->want, *svc = env->parent;
	struct tw_http *h = tw_applier_http(ap);
	const char *build = json_string_value(json_object_get(a->data, "build_sid"));
	char *path;
	struct tw_req *req;

	if (!build)
		build = json_string_value(json_object_get(tw_applier_data(ap, svc), "build_sid"));
	if (!build) {
		struct tw_err err = TW_ERR_INIT;
		tw_err_set(&err, "no build to deploy");
		tw_applier_fail(ap, ai, NULL, &err);
		return;
	}
	if (!sids_ok(ap, ai, svc, env))
		return;
	path = tw_xasprintf("/v1/Services/%s/Environments/%s/Deployments", tw_applier_sid(ap, svc),
			    tw_applier_sid(ap, env));
	req = tw_req_new("POST", tw_http_url(h, TW_PRODUCT_SERVERLESS, path), deployed, ap);
	free(path);
	req->tag = (long)ai;
	req->idempotent = 1;   /* deploying the same build twice changes nothing */
	tw_form_add(&req->form, "BuildSid", build);
	tw_http_submit(h, req);
}
