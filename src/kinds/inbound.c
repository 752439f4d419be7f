/* inbound.c - a BYOC trunk's inbound calls, routed by called number
 *
 * The seed document on BYOC hand-writes a "catch-all" Function that sends
 * each called number to its place.  Here it is configuration:
 *
 *   byoc_trunks[].inbound: {service, environment,
 *                           routes: {NUMBER: TARGET}, default: TARGET}
 *
 * where a TARGET rings SIP users, dials a SIP URI, redirects to a URL or
 * hands the call to a TwiML application.  The trunk's voice_url is wired to
 * /_twprov/inbound of the service; one function serves every trunk that
 * names the service (generated.c has what this shares with dialer.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/export.h"
#include "twprov/file.h"
#include "twprov/model.h"

#define INBOUND_PATH "/_twprov/inbound"

#define TARGET_FIELDS \
	{ .name = "ring", .type = TW_V_LIST, .flags = TW_F_LOCAL, .check = tw_check_username, \
	  .doc = "ring these SIP users' phones at once (one target of ring, sip, url, application)" }, \
	{ .name = "sip", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_sip_address, \
	  .doc = "dial this SIP URI (a PBX)" }, \
	{ .name = "url", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_url, \
	  .doc = "hand the call to this webhook (a TwiML redirect: a Studio flow, a Function)" }, \
	{ .name = "application", .type = TW_V_REF, .flags = TW_F_LOCAL, .ref = "applications", \
	  .doc = "hand the call to this TwiML application" }, \
	{ .name = "timeout", .type = TW_V_INT, .flags = TW_F_LOCAL, .min = 5, .max = 600, \
	  .doc = "seconds to ring before giving up (ring and sip targets; Twilio's default: 30)" }

static void target_validate(struct tw_res *r, struct tw_diags *d);
static void inbound_derive(struct tw_res *in, struct tw_diags *d);
static const struct tw_kind_hooks target_hooks = { .validate = target_validate };
static const struct tw_kind_hooks inbound_hooks = { .derive = inbound_derive };

static const struct tw_field inbound_fields[] = {
	{ .name = "service", .type = TW_V_REF, .flags = TW_F_LOCAL | TW_F_REQUIRED, .ref = "services",
	  .doc = "the service that hosts the generated inbound function" },
	{ .name = "environment", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_name,
	  .doc = "its environment (needed when the service has several)" },
};

static const struct tw_field inbound_route_fields[] = {
	{ .name = "number", .type = TW_V_STR, .flags = TW_F_LOCAL | TW_F_IDENTITY, .check = tw_check_e164,
	  .doc = "the called number, E.164; its identity" },
	TARGET_FIELDS,
};

static const struct tw_field inbound_default_fields[] = { TARGET_FIELDS };

const struct tw_kind tw_kind_byoc_inbound = {
	.name = "byoc_trunks.inbound",
	.yaml_key = "inbound",
	.parent = "byoc_trunks",
	.fields = inbound_fields,
	.nfields = TW_NFIELDS(inbound_fields),
	.flags = TW_K_LOCAL | TW_K_SINGLE,
	.hooks = &inbound_hooks,
	.doc = "where the trunk's calls go by called number: a function twprov generates and deploys",
};

const struct tw_kind tw_kind_inbound_routes = {
	.name = "byoc_trunks.inbound.routes",
	.yaml_key = "routes",
	.parent = "byoc_trunks.inbound",
	.fields = inbound_route_fields,
	.nfields = TW_NFIELDS(inbound_route_fields),
	.flags = TW_K_LOCAL | TW_K_MAPPED,
	.hooks = &target_hooks,
	.doc = "the target of each called number, written NUMBER: {TARGET}",
};

const struct tw_kind tw_kind_inbound_default = {
	.name = "byoc_trunks.inbound.default",
	.yaml_key = "default",
	.parent = "byoc_trunks.inbound",
	.fields = inbound_default_fields,
	.nfields = TW_NFIELDS(inbound_default_fields),
	.flags = TW_K_LOCAL | TW_K_SINGLE,
	.hooks = &target_hooks,
	.doc = "the target of every other number (without it they hear that the number is not in service)",
};

static const char *const inbound_targets[] = { "ring", "sip", "url", "application" };

static void target_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *t = tw_gen_one_of(d, r, inbound_targets, 4, "target");
	json_t *v;
	size_t i;

	if (t && tw_res_get(r, "timeout") && strcmp(t, "ring") && strcmp(t, "sip"))
		tw_res_diag(d, 0, r, "timeout", "timeout applies to ring and sip targets");
	json_array_foreach(t && !strcmp(t, "ring") ? tw_res_get(r, "ring") : NULL, i, v) {
		const char *list = NULL;
		if (!tw_gen_domain_of(r, json_string_value(v), 0, &list))
			tw_res_diag(d, 0, r, "ring", list ? "\"%s\" (in %s) registers to no declared SIP domain"
				: "no declared credential list holds \"%s\"%s", json_string_value(v), list ? list : "");
	}
}


/* A BYOC trunk with inbound: its voice_url is the generated function. */
void tw_inbound_wire_trunk(struct tw_res *trunk, struct tw_diags *d)
{
	struct tw_res *in = tw_gen_child(trunk, &tw_kind_byoc_inbound);
	struct tw_res *svc = in ? tw_gen_top(trunk, tw_kind_services.name, tw_res_get_str(in, "service")) : NULL;

	if (!svc)
		return;
	tw_service_function(svc, INBOUND_PATH);
	tw_gen_wire(trunk, d, in, INBOUND_PATH, "inbound");
}

static const char inbound_code[] =
	"\n"
	"exports.handler = function (context, event, callback) {\n"
	"  const twiml = new Twilio.twiml.VoiceResponse();\n"
	"  const to = /^(?:sips?:)?([^@;>]+)/i.exec(String(event.To || ''));\n"
	"  const called = to ? decodeURIComponent(to[1]).replace(/[\\s().-]/g, '') : '';\n"
	"  const target = config.numbers[called] || config.numbers['+' + called] || config.default;\n"
	"  const sid = target && target.application !== undefined ? context[target.application] : null;\n"
	"  if (!target || (target.application !== undefined && !sid)) {\n"
	"    twiml.say('This number is not in service.');\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  if (target.url !== undefined) {\n"
	"    twiml.redirect(target.url);\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  if (sid) {\n"
	"    twiml.dial().application().applicationSid(sid);\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  const dial = twiml.dial(target.timeout ? { timeout: target.timeout } : {});\n"
	"  for (const uri of target.ring || [target.sip]) dial.sip(uri);\n"
	"  return callback(null, twiml);\n"
	"};\n";

/* A target's fields that the generated code reads as written. */
static const char *const target_plain[] = { "sip", "url", "timeout" };

/* An inbound target as the generated code reads it. */
static json_t *target_config(const struct tw_res *t, struct tw_res *env, struct tw_diags *d)
{
	json_t *o = json_object(), *v;
	const char *app = tw_res_get_str(t, "application");
	const struct tw_res *target = app ? tw_gen_top(t, "applications", app) : NULL;

	for (size_t i = 0; i < sizeof(target_plain) / sizeof(target_plain[0]); i++)
		if ((v = tw_res_get(t, target_plain[i])))
			json_object_set(o, target_plain[i], v);
	if ((v = tw_res_get(t, "ring")))
		json_object_set_new(o, "ring", tw_gen_ring_uris(t, v, 0));
	if (target && env) {
		char *key = tw_gen_sid_variable(env, target, d, t);
		json_object_set_new(o, "application", json_string(key));
		free(key);
	}
	return o;
}

/* The inbound routes of every BYOC trunk whose inbound: names service svc (one function for all:
 * a number is routed by one trunk only, and they share one default). */
static void generate_inbound(struct tw_res *svc, struct tw_diags *diags)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *numbers = json_object(), *dflt = NULL;
	const struct tw_res *dflt_of = NULL;

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *trunk = root->children[i], *in = tw_gen_child(trunk, &tw_kind_byoc_inbound);
		struct tw_res *env;
		if (trunk->absent || !in || !tw_res_get_str(in, "service") || !svc->id ||
		    strcmp(tw_res_get_str(in, "service"), svc->id))
			continue;
		env = tw_gen_environment(trunk);
		for (size_t j = 0; j < in->nchildren; j++) {
			const struct tw_res *t = in->children[j];
			if (t->kind == &tw_kind_inbound_routes && t->id) {
				if (json_object_get(numbers, t->id))
					tw_res_diag(diags, 0, t, NULL, "%s is routed by another BYOC trunk of service %s too", t->id,
						svc->id);
				else
					json_object_set_new(numbers, t->id, target_config(t, env, diags));
			} else if (t->kind == &tw_kind_inbound_default) {
				json_t *c = target_config(t, env, diags);
				if (dflt && !json_equal(dflt, c))
					tw_res_diag(diags, 0, t, NULL, "another BYOC trunk of service %s has another default (%s): "
						"give them the same one, or each its own service", svc->id, dflt_of->parent->id);
				if (!dflt) {
					dflt = c;
					dflt_of = in;
				} else {
					json_decref(c);
				}
			}
		}
	}
	tw_gen_set_code(svc, INBOUND_PATH, json_pack("{s:o, s:o}", "numbers", numbers, "default", dflt ? dflt : json_null()),
		 inbound_code);
}

static void inbound_derive(struct tw_res *in, struct tw_diags *d)
{
	struct tw_res *svc = tw_gen_top(in, tw_kind_services.name, tw_res_get_str(in, "service"));
	if (tw_gen_pending(svc, INBOUND_PATH))
		generate_inbound(svc, d);
}


/* ---- twprov export: inbound: back from the generated code ---- */

/* A target of the generated config as the fields of t (not in the model yet: env is); -1 with
 * why when a file cannot say it. */
static int export_target(struct tw_export *x, struct tw_res *t, struct tw_res *env, const json_t *cfg,
			 struct tw_buf *why)
{
	const char *app = json_string_value(json_object_get(cfg, "application"));
	json_t *v, *users = json_array();
	size_t i;

	for (size_t k = 0; k < sizeof(target_plain) / sizeof(target_plain[0]); k++)
		if ((v = json_object_get(cfg, target_plain[k])) && tw_gen_put(t, target_plain[k], json_incref(v), why) < 0)
			goto fail;
	if (app) {
		const struct tw_res *target = tw_gen_sid_target(x, env, app, "applications");
		if (!target) {
			tw_buf_addf(why, "variable %s holds no SID of an application in the file", app);
			goto fail;
		}
		json_object_set_new(t->fields, "application", json_string(target->id));
	}
	/* each user as the file would ring them: at the domain its list registers to */
	json_array_foreach(json_object_get(cfg, "ring"), i, v) {
		const char *s = json_string_value(v), *host = NULL, *list = NULL;
		char *user = tw_gen_sip_user(s, &host);
		const struct tw_res *dom = user ? tw_gen_domain_of(env, user, 0, &list) : NULL;
		int ok = dom && !strcmp(dom->id, host);
		if (ok)
			json_array_append_new(users, json_string(user));
		free(user);
		if (!ok) {
			tw_buf_addf(why, "it rings %s, which no list and domain of the file give", s ? s : "?");
			goto fail;
		}
	}
	if (json_object_get(cfg, "ring"))
		return tw_gen_put(t, "ring", users, why);
	json_decref(users);
	return 0;
fail:
	json_decref(users);
	return -1;
}

int tw_inbound_export(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *path, const char *code)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *config = tw_gen_config(code), *numbers = json_object_get(config, "numbers");
	json_t *dflt = json_object_get(config, "default"), *cfg;
	char *url = strcmp(path, INBOUND_PATH) ? NULL : tw_gen_url(x, env, path);
	struct tw_res *first = NULL, *in;
	struct tw_buf why = TW_BUF_INIT;
	const char *number;
	int n = 0;

	if (!url || !json_is_object(numbers)) {
		free(url);
		json_decref(config);
		return -1;
	}
	/* the routes and the default, under the first trunk routed here (in the file's order) */
	for (size_t i = 0; i < root->nchildren && !first; i++) {
		struct tw_res *t = root->children[i];
		if (t->kind == &tw_kind_byoc_trunks && tw_gen_routed_to(t, url))
			first = t;
	}
	in = tw_res_new(&tw_kind_byoc_inbound, NULL);
	json_object_set_new(in->fields, "service", json_string(svc->id));
	if (tw_gen_env_name(env))
		json_object_set_new(in->fields, "environment", json_string(tw_gen_env_name(env)));
	json_object_foreach(numbers, number, cfg) {
		struct tw_res *r = tw_res_new(&tw_kind_inbound_routes, NULL);
		r->id = tw_xstrdup(number);
		tw_res_add_child(in, r);
		if (tw_gen_put(r, "number", json_string(number), &why) < 0 || export_target(x, r, env, cfg, &why) < 0)
			goto fail;
	}
	if (json_is_object(dflt)) {
		struct tw_res *r = tw_res_new(&tw_kind_inbound_default, NULL);
		tw_res_add_child(in, r);
		if (export_target(x, r, env, dflt, &why) < 0)
			goto fail;
	}
	/* every trunk routed here says so; the others' inbound: names the service only */
	for (size_t i = 0; first && i < root->nchildren; i++) {
		struct tw_res *t = root->children[i], *mine;
		if (t->kind != &tw_kind_byoc_trunks || !tw_gen_routed_to(t, url))
			continue;
		mine = t == first ? in : tw_res_new(&tw_kind_byoc_inbound, NULL);
		if (t != first)
			json_object_update(mine->fields, in->fields);
		tw_res_add_child(t, mine);
		json_object_del(t->fields, "voice_url");   /* inbound: routes the trunk's calls */
		n++;
	}
	if (!first)
		tw_res_free(in);
	free(url);
	json_decref(config);
	return n;
fail:
	tw_export_note(x, "services/%s%s: the inbound routes it serves cannot be written: %s", svc->id, path, why.buf);
	tw_buf_release(&why);
	tw_res_free(in);
	free(url);
	json_decref(config);
	return 0;
}
