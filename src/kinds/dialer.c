/* dialer.c - the outbound dialer and ring TwiML, generated as Serverless functions
 *
 * The seed documents hand-write a Twilio Function that gives each SIP user
 * its caller ID, normalises the dialled number and restricts destinations,
 * and a TwiML Bin per number that rings SIP users.  Here both are
 * configuration:
 *
 *   sip_domains[].outbound: {service, environment, default_caller_id,
 *                            allowed_destinations, country_code}
 *   phone_numbers[].ring: [users], ring_timeout
 *
 * The validate hooks wire the domain's and the numbers' voice_url to two
 * functions of the named service, /_twprov/outbound and /_twprov/ring; the
 * derive hooks write their code once every domain and number is wired, when
 * the file is loaded (so validate reports problems in it).  The code is
 * deterministic: the same file gives the same bytes, so a converged account
 * plans nothing, and a changed caller ID is one new version, build and
 * deployment.  What this shares with inbound.c is in generated.c.
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/export.h"
#include "twprov/file.h"
#include "twprov/model.h"

#define OUTBOUND_PATH "/_twprov/outbound"
#define RING_PATH "/_twprov/ring"

static int check_prefix(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	if (v[0] != '+' || strspn(v + 1, "0123456789") != strlen(v + 1) || strlen(v) > 16) {
		tw_buf_addf(why, "not an E.164 prefix: \"%s\" (+ and digits, e.g. +1 or +4420)", v);
		return -1;
	}
	return 0;
}

static int check_country_code(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	if (!*v || strlen(v) > 3 || strspn(v, "0123456789") != strlen(v) || v[0] == '0') {
		tw_buf_addf(why, "not a country calling code: \"%s\" (1 to 3 digits, e.g. 1 or 44)", v);
		return -1;
	}
	return 0;
}

static const struct tw_field outbound_fields[] = {
	{ .name = "service", .type = TW_V_REF, .flags = TW_F_LOCAL | TW_F_REQUIRED, .ref = "services",
	  .doc = "the service that hosts the generated dialer function" },
	{ .name = "environment", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_name,
	  .doc = "its environment (needed when the service has several)" },
	{ .name = "default_caller_id", .type = TW_V_STR, .flags = TW_F_LOCAL | TW_F_REQUIRED, .check = tw_check_e164,
	  .doc = "the caller ID of users without their own caller_id" },
	{ .name = "allowed_destinations", .type = TW_V_LIST, .flags = TW_F_LOCAL, .check = check_prefix,
	  .doc = "E.164 prefixes that may be dialled (default: all); others hear a refusal" },
	{ .name = "country_code", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = check_country_code,
	  .doc = "the country of national dialling, e.g. 1 (default) or 44" },
};

static void outbound_derive(struct tw_res *out, struct tw_diags *d);
static const struct tw_kind_hooks outbound_hooks = { .derive = outbound_derive };

/*
 * A template: text with the placeholders {dialled} and {1}, {2}... (the
 * groups of the route's match, or for a prefix the rest after it); at most
 * `ngroups` groups (-1: any, checked again with the route).
 */
static int template_check(const char *v, int ngroups, struct tw_buf *why)
{
	for (const char *p = v; *p; p++) {
		const char *end;
		if (*p == '}') {
			tw_buf_addf(why, "a } without its { in \"%s\"", v);
			return -1;
		}
		if (*p != '{')
			continue;
		end = strchr(p, '}');
		if (!end) {
			tw_buf_addf(why, "a { without its } in \"%s\"", v);
			return -1;
		}
		if (!(end - p == 8 && !strncmp(p, "{dialled}", 9)) &&
		    !(end - p > 1 && end - p < 4 && strspn(p + 1, "0123456789") == (size_t)(end - p - 1))) {
			tw_buf_addf(why, "\"%.*s\" is not a placeholder ({dialled}, {1}, {2}...)", (int)(end - p + 1), p);
			return -1;
		}
		if (ngroups >= 0 && p[1] != 'd' && atoi(p + 1) > ngroups) {
			if (ngroups)
				tw_buf_addf(why, "%.*s: the route's match gives {1} to {%d} only", (int)(end - p + 1), p,
					    ngroups);
			else
				tw_buf_addf(why, "%.*s: the route's match has no group", (int)(end - p + 1), p);
			return -1;
		}
		p = end;
	}
	return 0;
}

/* A dial template: digits, + and the placeholders {dialled}, {1}, {2}... (checked with the route). */
static int check_template(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	return template_check(v, -1, why);
}

static int check_sip_template(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	if (strncmp(v, "sip:", 4) && strncmp(v, "sips:", 5)) {
		tw_buf_addf(why, "not a SIP URI: \"%s\" (sip:USER@HOST, with {dialled} or {1}...)", v);
		return -1;
	}
	return template_check(v, -1, why);
}

static int check_dial_prefix(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	if (!*v || strspn(v, "0123456789+*#") != strlen(v) || strlen(v) > 16) {
		tw_buf_addf(why, "not a dialling prefix: \"%s\" (digits, +, * and #)", v);
		return -1;
	}
	return 0;
}

static const struct tw_field route_fields[] = {
	{ .name = "match", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_regex, .max = 256,
	  .doc = "a regular expression on the dialled number; its groups are {1}, {2}... (one of match, prefix)" },
	{ .name = "prefix", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = check_dial_prefix,
	  .doc = "the dialled number starts with it; the rest is {1} (one of match, prefix)" },
	{ .name = "pstn", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = check_template,
	  .doc = "dial this number on the PSTN, as E.164 (a template; one target of pstn, sip, byoc_trunk, "
		 "application, url)" },
	{ .name = "sip", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = check_sip_template,
	  .doc = "dial this SIP URI (a template: sip:{dialled}@pbx.example.com)" },
	{ .name = "byoc_trunk", .type = TW_V_REF, .flags = TW_F_LOCAL, .ref = "byoc_trunks",
	  .doc = "dial the number, as E.164, over this BYOC trunk" },
	{ .name = "application", .type = TW_V_REF, .flags = TW_F_LOCAL, .ref = "applications",
	  .doc = "hand the call to this TwiML application" },
	{ .name = "url", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_url,
	  .doc = "hand the call to this webhook (a TwiML redirect)" },
	{ .name = "caller_id", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_e164,
	  .doc = "the caller ID of these calls (default: the user's, or the domain's default)" },
	{ .name = "timeout", .type = TW_V_INT, .flags = TW_F_LOCAL, .min = 5, .max = 600,
	  .doc = "seconds to ring before giving up (Twilio's default: 30)" },
	{ .name = "record", .type = TW_V_BOOL, .flags = TW_F_LOCAL, .doc = "record the call from when it is answered" },
	{ .name = "status_callback", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_url,
	  .doc = "a URL that receives the call's events (initiated, ringing, answered, completed)" },
};

static void route_validate(struct tw_res *r, struct tw_diags *d);
static const struct tw_kind_hooks route_hooks = { .validate = route_validate };

const struct tw_kind tw_kind_outbound_routes = {
	.name = "sip_domains.outbound.routes",
	.yaml_key = "routes",
	.parent = "sip_domains.outbound",
	.fields = route_fields,
	.nfields = TW_NFIELDS(route_fields),
	.flags = TW_K_LOCAL,
	.hooks = &route_hooks,
	.doc = "the dialer's routes, first match wins; unmatched numbers go to the PSTN",
};

const struct tw_kind tw_kind_domain_outbound = {
	.name = "sip_domains.outbound",
	.yaml_key = "outbound",
	.parent = "sip_domains",
	.fields = outbound_fields,
	.nfields = TW_NFIELDS(outbound_fields),
	.flags = TW_K_LOCAL | TW_K_SINGLE,
	.hooks = &outbound_hooks,
	.doc = "the outbound dialer twprov generates and deploys for the domain's calls",
};

static const char *const matchers[] = { "match", "prefix" };
static const char *const route_targets[] = { "pstn", "sip", "byoc_trunk", "application", "url" };

static void route_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *m = tw_gen_one_of(d, r, matchers, 2, "matcher"), *t = tw_gen_one_of(d, r, route_targets, 5, "target");
	int ngroups = 1;
	struct tw_buf why = TW_BUF_INIT;

	if (m && !strcmp(m, "match") && tw_regex_check(tw_res_get_str(r, "match"), &ngroups, &why) < 0)
		return;         /* the field's check has said why */
	if (t && (!strcmp(t, "pstn") || !strcmp(t, "sip")) &&
	    template_check(tw_res_get_str(r, t), m ? ngroups : -1, &why) < 0)
		tw_res_diag(d, 0, r, t, "%s", why.buf);
	tw_buf_release(&why);
	/* a redirect hands the call over: nothing of a dial applies */
	if (t && !strcmp(t, "url"))
		for (size_t i = 0; i < 4; i++) {
			static const char *const dial_only[] = { "caller_id", "timeout", "record", "status_callback" };
			if (tw_res_get(r, dial_only[i]))
				tw_res_diag(d, 0, r, dial_only[i], "%s does not apply to a url route (the call is handed over)",
					dial_only[i]);
		}
	if (t && !strcmp(t, "application") && tw_res_get(r, "status_callback"))
		tw_res_diag(d, 0, r, "status_callback", "status_callback applies to pstn, sip and byoc_trunk routes");
}


/* ---- wiring, from the kinds' validate hooks ---- */

void tw_dialer_wire_domain(struct tw_res *dom, struct tw_diags *d)
{
	struct tw_res *out = tw_gen_child(dom, &tw_kind_domain_outbound);
	struct tw_res *svc = out ? tw_gen_top(dom, tw_kind_services.name, tw_res_get_str(out, "service")) : NULL;

	if (!svc)
		return;   /* no dialer, or the reference error is reported */
	tw_service_function(svc, OUTBOUND_PATH);
	tw_gen_wire(dom, d, out, OUTBOUND_PATH, "outbound");
}


void tw_dialer_wire_number(struct tw_res *num, struct tw_diags *d)
{
	json_t *ring = tw_res_get(num, "ring"), *v;
	const struct tw_res *out = NULL;
	const char *svc = NULL;
	size_t i;

	json_array_foreach(ring, i, v) {
		const char *user = json_string_value(v), *list = NULL;
		struct tw_res *dom = tw_gen_domain_of(num, user, 1, &list);
		const struct tw_res *o = dom ? tw_gen_child(dom, &tw_kind_domain_outbound) : NULL;
		if (o && !tw_res_get_str(o, "service"))
			continue;   /* reported: outbound needs its service */
		if (!list)
			tw_res_diag(d, 0, num, "ring", "ring: no declared credential list holds \"%s\"", user);
		else if (!dom)
			tw_res_diag(d, 0, num, "ring", "ring: \"%s\" (in %s) registers to no SIP domain with an "
				    "outbound: dialer (its service hosts the ring function)", user, list);
		else if (svc && strcmp(svc, tw_res_get_str(o, "service")))
			tw_res_diag(d, 0, num, "ring", "ring: its users' domains use two services (%s, %s)", svc,
				    tw_res_get_str(o, "service"));
		else {
			svc = tw_res_get_str(o, "service");
			out = o;
		}
	}
	if (out && tw_gen_top(num, tw_kind_services.name, svc)) {
		tw_service_function(tw_gen_top(num, tw_kind_services.name, svc), RING_PATH);
		tw_gen_wire(num, d, out, RING_PATH, "ring");
	}
}


static const char outbound_code[] =
	"\n"
	"// \"office.sip.twilio.com\" for a call from office.sip.twilio.com or an edge or\n"
	"// region form of it such as office.sip.ashburn.twilio.com.\n"
	"function domainOf(host) {\n"
	"  const i = host.toLowerCase().indexOf('.sip.');\n"
	"  return i < 0 ? host.toLowerCase() : host.slice(0, i).toLowerCase() + '.sip.twilio.com';\n"
	"}\n"
	"\n"
	"// The dialled number in E.164, or null: +E.164 as it is; 00 and (country 1) 011\n"
	"// international prefixes; national numbers of the domain's country.\n"
	"function e164(dialled, cc) {\n"
	"  let n = dialled.replace(/[\\s().-]/g, '');\n"
	"  if (n.startsWith('+')) n = '+' + n.slice(1);\n"
	"  else if (n.startsWith('00')) n = '+' + n.slice(2);\n"
	"  else if (cc === '1' && n.startsWith('011')) n = '+' + n.slice(3);\n"
	"  else if (cc === '1' && /^1[2-9]\\d{9}$/.test(n)) n = '+' + n;\n"
	"  else if (cc === '1' && /^[2-9]\\d{9}$/.test(n)) n = '+1' + n;\n"
	"  else if (cc !== '1' && /^0\\d+$/.test(n)) n = '+' + cc + n.slice(1);\n"
	"  else return null;\n"
	"  return /^\\+[1-9]\\d{6,14}$/.test(n) ? n : null;\n"
	"}\n"
	"\n"
	"// The first route the dialled number matches, with the groups of the match\n"
	"// ({1} of a prefix route is what follows the prefix), or null.\n"
	"function routeOf(routes, dialled) {\n"
	"  for (const route of routes) {\n"
	"    if (route.match !== undefined) {\n"
	"      const m = new RegExp(route.match).exec(dialled);\n"
	"      if (m) return { route: route, groups: Array.from(m) };\n"
	"    } else if (dialled.startsWith(route.prefix)) {\n"
	"      return { route: route, groups: [dialled, dialled.slice(route.prefix.length)] };\n"
	"    }\n"
	"  }\n"
	"  return null;\n"
	"}\n"
	"\n"
	"// A template with {dialled} and {1}, {2}... in place (a group that took no part: empty).\n"
	"function fill(template, dialled, groups) {\n"
	"  return template.replace(/\\{(dialled|\\d+)\\}/g, (_, k) => (k === 'dialled' ? dialled : groups[+k] || ''));\n"
	"}\n"
	"\n"
	"function dialAttributes(route, callerId) {\n"
	"  const a = { callerId: route.caller_id || callerId };\n"
	"  if (route.timeout) a.timeout = route.timeout;\n"
	"  if (route.record) a.record = 'record-from-answer';\n"
	"  return a;\n"
	"}\n"
	"\n"
	"function nounAttributes(route) {\n"
	"  return route.status_callback\n"
	"    ? { statusCallback: route.status_callback, statusCallbackEvent: 'initiated ringing answered completed' }\n"
	"    : {};\n"
	"}\n"
	"\n"
	"function refuse(twiml, why) {\n"
	"  twiml.say(why);\n"
	"  return twiml;\n"
	"}\n"
	"\n"
	"// Emergency numbers go to Twilio as they were dialled: never refused nor\n"
	"// rewritten (twprov.yaml(5), EMERGENCY NUMBERS).\n"
	"function emergency(twiml, domain, number, callerId) {\n"
	"  twiml.dial({ callerId: callerId }).number(number);\n"
	"  return twiml;\n"
	"}\n"
	"\n"
	"// A number on the PSTN (or over a BYOC trunk): as E.164, if the domain allows it.\n"
	"function pstn(twiml, domain, route, dialled, callerId, byoc) {\n"
	"  const plain = dialled.replace(/[\\s().-]/g, '');\n"
	"  if (domain.emergency.includes(plain)) return emergency(twiml, domain, plain, callerId);\n"
	"  const number = e164(dialled, domain.country_code);\n"
	"  if (!number || !domain.allowed_destinations.some((p) => number.startsWith(p)))\n"
	"    return refuse(twiml, 'The number you dialled cannot be called from this phone.');\n"
	"  const attributes = nounAttributes(route);\n"
	"  if (byoc) attributes.byoc = byoc;\n"
	"  twiml.dial(dialAttributes(route, callerId)).number(attributes, number);\n"
	"  return twiml;\n"
	"}\n"
	"\n"
	"// A SID twprov keeps in an environment variable of the service (twprov.yaml(5)).\n"
	"function sid(context, name) {\n"
	"  return context[name] || null;\n"
	"}\n"
	"\n"
	"function take(twiml, context, domain, hit, dialled, callerId) {\n"
	"  const r = hit.route;\n"
	"  if (r.pstn !== undefined) return pstn(twiml, domain, r, fill(r.pstn, dialled, hit.groups), callerId);\n"
	"  if (r.sip !== undefined) {\n"
	"    twiml.dial(dialAttributes(r, callerId)).sip(nounAttributes(r), fill(r.sip, dialled, hit.groups));\n"
	"    return twiml;\n"
	"  }\n"
	"  if (r.byoc !== undefined) {\n"
	"    if (!sid(context, r.byoc)) return refuse(twiml, 'This call cannot be placed now.');\n"
	"    return pstn(twiml, domain, r, dialled, callerId, sid(context, r.byoc));\n"
	"  }\n"
	"  if (r.application !== undefined) {\n"
	"    if (!sid(context, r.application)) return refuse(twiml, 'This call cannot be placed now.');\n"
	"    twiml.dial(dialAttributes(r, callerId)).application().applicationSid(sid(context, r.application));\n"
	"    return twiml;\n"
	"  }\n"
	"  twiml.redirect(r.url);\n"
	"  return twiml;\n"
	"}\n"
	"\n"
	"exports.handler = function (context, event, callback) {\n"
	"  const twiml = new Twilio.twiml.VoiceResponse();\n"
	"  const from = /^sips?:([^@;>]+)@([^;:>]+)/i.exec(String(event.From || ''));\n"
	"  const to = /^(?:sips?:)?([^@;>]+)/i.exec(String(event.To || ''));\n"
	"  const domain = from ? config.domains[domainOf(from[2])] : undefined;\n"
	"  if (!domain || !to) return callback(null, refuse(twiml, 'This call cannot be placed from this phone.'));\n"
	"  const user = decodeURIComponent(from[1]);\n"
	"  const dialled = decodeURIComponent(to[1]);\n"
	"  const callerId = domain.caller_ids[user] || domain.default_caller_id;\n"
	"  const plain = dialled.replace(/[\\s().-]/g, '');\n"
	"  if (domain.emergency.includes(plain)) return callback(null, emergency(twiml, domain, plain, callerId));\n"
	"  const hit = routeOf(domain.routes, dialled);\n"
	"  if (hit) return callback(null, take(twiml, context, domain, hit, dialled, callerId));\n"
	"  return callback(null, pstn(twiml, domain, {}, dialled, callerId));\n"
	"};\n";

static const char ring_code[] =
	"\n"
	"exports.handler = function (context, event, callback) {\n"
	"  const twiml = new Twilio.twiml.VoiceResponse();\n"
	"  const ring = config.numbers[String(event.To || '')];\n"
	"  if (!ring) {\n"
	"    twiml.say('This number is not in service.');\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  const dial = twiml.dial({ timeout: ring.timeout });\n"
	"  for (const uri of ring.sip) dial.sip(uri);\n"
	"  return callback(null, twiml);\n"
	"};\n";


/* Caller IDs of the users of the lists domain d maps. */
static json_t *caller_ids(const struct tw_res *root, const struct tw_res *d)
{
	json_t *ids = json_object();
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *cl = root->children[i];
		if (cl->kind != &tw_kind_credential_lists || cl->absent || !cl->id || !tw_gen_domain_maps(d, cl->id))
			continue;
		for (size_t j = 0; j < cl->nchildren; j++) {
			const char *cid = tw_res_get_str(cl->children[j], "caller_id");
			if (cl->children[j]->kind == &tw_kind_credentials && cid && *cid)
				json_object_set_new(ids, cl->children[j]->id, json_string(cid));
		}
	}
	return ids;
}


/*
 * Emergency numbers by country calling code: the countries where Twilio routes
 * emergency calls from SIP Interfaces (twilio.com/docs/voice/sip/emergency-calling:
 * the US and Canada, the UK, Australia, Ireland, France, Germany and Austria)
 * with each one's numbers; 112 and 911 everywhere, as mobile networks do.
 */
static const struct { const char *cc; const char *numbers[6]; } emergency_numbers[] = {
	{ "1", { "911", "933" } },                          /* 933: the US address test line */
	{ "44", { "999" } },
	{ "61", { "000" } },
	{ "353", { "999" } },
	{ "33", { "15", "17", "18", "114" } },
	{ "49", { "110" } },
	{ "43", { "122", "133", "144" } },
};

static json_t *emergency_of(const char *cc)
{
	json_t *list = json_pack("[s, s]", "112", "911");
	for (size_t i = 0; i < sizeof(emergency_numbers) / sizeof(emergency_numbers[0]); i++)
		for (size_t j = 0; !strcmp(cc, emergency_numbers[i].cc) && emergency_numbers[i].numbers[j]; j++)
			if (strcmp(emergency_numbers[i].numbers[j], "911"))
				json_array_append_new(list, json_string(emergency_numbers[i].numbers[j]));
	return list;
}


/* A route's fields as the generated code reads them: as written, and those naming a declared
 * resource, whose SID the code reads from an environment variable named under `key`. */
static const char *const route_plain[] = { "match", "prefix", "pstn", "sip", "url", "caller_id", "timeout",
					   "record", "status_callback" };
static const struct {
	const char *field, *key;
} route_sids[] = { { "byoc_trunk", "byoc" }, { "application", "application" } };

/* A route as the generated code reads it. */
static json_t *route_config(const struct tw_res *r, struct tw_res *env, struct tw_diags *d)
{
	json_t *o = json_object(), *v;

	for (size_t i = 0; i < sizeof(route_plain) / sizeof(route_plain[0]); i++)
		if ((v = tw_res_get(r, route_plain[i])))
			json_object_set(o, route_plain[i], v);
	for (size_t i = 0; i < sizeof(route_sids) / sizeof(route_sids[0]); i++) {
		const char *name = tw_res_get_str(r, route_sids[i].field);
		const struct tw_res *target = name ? tw_gen_top(r, tw_kind_field(r->kind, route_sids[i].field)->ref, name)
						   : NULL;
		if (target && env) {
			char *key = tw_gen_sid_variable(env, target, d, r);
			json_object_set_new(o, route_sids[i].key, json_string(key));
			free(key);
		}
	}
	return o;
}


/* The dialer of every domain whose outbound: names service svc. */
static void generate_outbound(struct tw_res *svc, struct tw_diags *diags)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *domains = json_object();

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *d = root->children[i];
		const struct tw_res *out = tw_gen_child(d, &tw_kind_domain_outbound);
		json_t *allowed = out ? tw_res_get(out, "allowed_destinations") : NULL, *routes = json_array();
		const char *cc = out ? tw_res_get_str(out, "country_code") : NULL;
		struct tw_res *env;
		if (d->kind != &tw_kind_sip_domains || d->absent || !out || !tw_res_get_str(out, "service") || !svc->id ||
		    strcmp(tw_res_get_str(out, "service"), svc->id) || !d->id) {
			json_decref(routes);
			continue;
		}
		env = tw_gen_environment(d);
		for (size_t j = 0; j < out->nchildren; j++)
			if (out->children[j]->kind == &tw_kind_outbound_routes)
				json_array_append_new(routes, route_config(out->children[j], env, diags));
		json_object_set_new(domains, d->id, json_pack("{s:o, s:s, s:s?, s:o, s:o, s:o}", "caller_ids",
							       caller_ids(root, d), "country_code", cc ? cc : "1",
							       "default_caller_id", tw_res_get_str(out, "default_caller_id"),
							       "allowed_destinations",
							       allowed ? json_incref(allowed) : json_pack("[s]", "+"),
							       "emergency", emergency_of(cc ? cc : "1"), "routes", routes));
	}
	tw_gen_set_code(svc, OUTBOUND_PATH, json_pack("{s:o}", "domains", domains), outbound_code);
}

/* The ring TwiML of every number that rings users through service svc. */
static void generate_ring(struct tw_res *svc)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *numbers = json_object();

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *n = root->children[i];
		json_t *ring = tw_res_get(n, "ring"), *url = tw_res_get(n, "voice_url");
		json_t *timeout = tw_res_get(n, "ring_timeout");
		const char *usvc = json_string_value(json_object_get(url, "service"));
		if (n->kind != &tw_kind_phone_numbers || n->absent || !ring || !usvc || !svc->id || strcmp(usvc, svc->id))
			continue;
		json_object_set_new(numbers, n->id, json_pack("{s:o, s:I}", "sip", tw_gen_ring_uris(n, ring, 1), "timeout",
							      timeout ? json_integer_value(timeout) : (json_int_t)30));
	}
	tw_gen_set_code(svc, RING_PATH, json_pack("{s:o}", "numbers", numbers), ring_code);
}


static void outbound_derive(struct tw_res *out, struct tw_diags *d)
{
	struct tw_res *svc = tw_gen_top(out, tw_kind_services.name, tw_res_get_str(out, "service"));
	if (tw_gen_pending(svc, OUTBOUND_PATH))
		generate_outbound(svc, d);
}

void tw_dialer_derive_number(struct tw_res *num, struct tw_diags *d)
{
	const char *name = json_string_value(json_object_get(tw_res_get(num, "voice_url"), "service"));
	struct tw_res *svc = tw_res_get(num, "ring") && name ? tw_gen_top(num, tw_kind_services.name, name) : NULL;
	(void)d;
	if (tw_gen_pending(svc, RING_PATH))
		generate_ring(svc);
}

/* ---- twprov export: the configuration back from the generated code ---- */

/* ["+"]: what the generated code allows when the file says nothing. */
static int every_destination(const json_t *allowed)
{
	const char *s = json_string_value(json_array_get(allowed, 0));
	return json_array_size(allowed) == 1 && s && !strcmp(s, "+");
}

/* The routes of a dialer's config as outbound's children; -1 with why when one cannot be written. */
static int export_routes(struct tw_export *x, struct tw_res *out, struct tw_res *env, const json_t *routes,
			 struct tw_buf *why)
{
	size_t i;
	json_t *rc, *v;

	json_array_foreach(routes, i, rc) {
		struct tw_res *r = tw_res_new(&tw_kind_outbound_routes, NULL);
		tw_res_add_child(out, r);   /* freed with out on failure */
		for (size_t k = 0; k < sizeof(route_plain) / sizeof(route_plain[0]); k++)
			if ((v = json_object_get(rc, route_plain[k])) &&
			    tw_gen_put(r, route_plain[k], json_incref(v), why) < 0)
				return -1;
		for (size_t k = 0; k < sizeof(route_sids) / sizeof(route_sids[0]); k++) {
			const char *key = json_string_value(json_object_get(rc, route_sids[k].key));
			const char *kind = tw_kind_field(&tw_kind_outbound_routes, route_sids[k].field)->ref;
			const struct tw_res *target = key ? tw_gen_sid_target(x, env, key, kind) : NULL;
			if (key && !target) {
				tw_buf_addf(why, "a route names variable %s, which holds no SID of %s in the file", key, kind);
				return -1;
			}
			if (target)
				json_object_set_new(r->fields, route_sids[k].field, json_string(target->id));
		}
	}
	return 0;
}

/* outbound: on each domain the dialer serves that is routed to it, and its users' caller IDs.
 * Returns how many domains got it. */
static int export_outbound(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *url,
			   const json_t *domains)
{
	const char *name, *env_name = tw_gen_env_name(env);
	json_t *cfg;
	int n = 0;

	json_object_foreach((json_t *)domains, name, cfg) {
		struct tw_res *dom = tw_gen_top(svc, tw_kind_sip_domains.name, name), *out;
		json_t *allowed = json_object_get(cfg, "allowed_destinations"), *cc = json_object_get(cfg, "country_code");
		struct tw_buf why = TW_BUF_INIT;
		const char *user;
		json_t *cid;

		if (!dom || !tw_gen_routed_to(dom, url))
			continue;   /* not in the file, or its calls go elsewhere now: the code is stale */
		out = tw_res_new(&tw_kind_domain_outbound, NULL);
		json_object_set_new(out->fields, "service", json_string(svc->id));
		if ((env_name && tw_gen_put(out, "environment", json_string(env_name), &why) < 0) ||
		    tw_gen_put(out, "default_caller_id", json_incref(json_object_get(cfg, "default_caller_id")), &why) < 0 ||
		    (json_is_string(cc) && strcmp(json_string_value(cc), "1") &&
		     tw_gen_put(out, "country_code", json_incref(cc), &why) < 0) ||
		    (!every_destination(allowed) && tw_gen_put(out, "allowed_destinations", json_incref(allowed), &why) < 0) ||
		    export_routes(x, out, env, json_object_get(cfg, "routes"), &why) < 0) {
			tw_export_note(x, "sip_domains/%s: its outbound dialer cannot be written: %s", name, why.buf);
			tw_res_free(out);
			tw_buf_release(&why);
			continue;
		}
		tw_res_add_child(dom, out);
		n++;
		json_object_del(dom->fields, "voice_url");   /* outbound: routes the domain's calls */
		json_object_foreach(json_object_get(cfg, "caller_ids"), user, cid)
			for (size_t i = 0; i < dom->nchildren; i++) {
				const struct tw_res *m = dom->children[i];
				struct tw_res *cl, *cred;
				if (m->kind != &tw_kind_domain_calls_credential_lists &&
				    m->kind != &tw_kind_domain_registrations_credential_lists)
					continue;
				cl = tw_gen_top(svc, tw_kind_credential_lists.name, m->id);
				cred = cl ? tw_res_find(cl, &tw_kind_credentials, user) : NULL;
				if (cred && !tw_res_get(cred, "caller_id"))
					tw_gen_put(cred, "caller_id", json_incref(cid), &why);
			}
		tw_buf_release(&why);
	}
	return n;
}

/* ring: on each number the ring function serves that is routed to it.  Returns how many got it. */
static int export_ring(struct tw_export *x, struct tw_res *svc, const char *url, const json_t *numbers)
{
	const char *name;
	json_t *cfg;
	int n = 0;

	json_object_foreach((json_t *)numbers, name, cfg) {
		struct tw_res *num = tw_gen_top(svc, tw_kind_phone_numbers.name, name);
		json_t *users = json_array(), *uri, *timeout = json_object_get(cfg, "timeout");
		struct tw_buf why = TW_BUF_INIT;
		size_t i;
		int ok = 1;

		if (!num || !tw_gen_routed_to(num, url)) {
			json_decref(users);
			continue;
		}
		/* each user as the file would ring them: the domain its list registers to */
		json_array_foreach(json_object_get(cfg, "sip"), i, uri) {
			const char *host = NULL, *list = NULL;
			char *user = tw_gen_sip_user(json_string_value(uri), &host);
			struct tw_res *dom = user ? tw_gen_domain_of(num, user, 1, &list) : NULL;
			const struct tw_res *o = dom ? tw_gen_child(dom, &tw_kind_domain_outbound) : NULL;
			ok = ok && o && !strcmp(dom->id, host) && !strcmp(tw_res_get_str(o, "service"), svc->id);
			if (user)
				json_array_append_new(users, json_string(user));
			free(user);
		}
		if (!ok || !json_array_size(users) || !json_is_integer(timeout) || json_integer_value(timeout) < 5 ||
		    json_integer_value(timeout) > 600 || tw_gen_put(num, "ring", json_incref(users), &why) < 0) {
			tw_export_note(x, "phone_numbers/%s: its ring: users cannot be written (their lists or domains are "
				       "not in the file as the code has them): its voice_url is written instead", name);
			json_decref(users);
			tw_buf_release(&why);
			continue;
		}
		json_decref(users);
		tw_buf_release(&why);
		if (json_integer_value(timeout) != 30)
			json_object_set(num->fields, "ring_timeout", timeout);
		json_object_del(num->fields, "voice_url");   /* ring: routes the number's calls */
		n++;
	}
	return n;
}

int tw_dialer_export(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *path, const char *code)
{
	json_t *config = tw_gen_config(code);
	char *url = tw_gen_url(x, env, path);
	int ret = -1;

	if (url && !strcmp(path, OUTBOUND_PATH) && json_is_object(json_object_get(config, "domains")))
		ret = export_outbound(x, svc, env, url, json_object_get(config, "domains"));
	else if (url && !strcmp(path, RING_PATH) && json_is_object(json_object_get(config, "numbers")))
		ret = export_ring(x, svc, url, json_object_get(config, "numbers"));
	free(url);
	json_decref(config);
	return ret;
}
