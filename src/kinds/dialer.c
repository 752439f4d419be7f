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
 * the file is loaded (so validate reports problems in it).  The code is deterministic: the same file
 * gives the same bytes, so a converged account plans nothing, and a changed
 * caller ID is one new version, build and deployment.
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/config.h"
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

/* ---- helpers over the declared model ---- */

static struct tw_res *top(const struct tw_res *from, const char *kind, const char *name)
{
	struct tw_res *r = tw_res_top(from, kind, name);
	return r && !r->absent ? r : NULL;
}

static struct tw_res *child_of_kind(const struct tw_res *p, const struct tw_kind *k)
{
	for (size_t i = 0; p && i < p->nchildren; i++)
		if (p->children[i]->kind == k)
			return p->children[i];
	return NULL;
}

/* Does domain d map credential list `list` for calls or registrations? */
static int domain_maps(const struct tw_res *d, const char *list)
{
	for (size_t i = 0; i < d->nchildren; i++) {
		const struct tw_res *m = d->children[i];
		if ((m->kind == &tw_kind_domain_calls_credential_lists ||
		     m->kind == &tw_kind_domain_registrations_credential_lists) && m->id && list &&
		    !strcmp(m->id, list))
			return 1;
	}
	return 0;
}

/* Point field voice_url of r at a generated function, unless the file routes it already. */
static void route(struct tw_res *r, struct tw_diags *d, const struct tw_res *out, const char *path,
		  const char *why)
{
	const char *env = tw_res_get_str(out, "environment");
	struct tw_buf msg = TW_BUF_INIT;
	json_t *ref;
	char *addr;

	if (tw_res_get(r, "voice_url")) {
		int fi = (int)(tw_kind_field(r->kind, "voice_url") - r->kind->fields);
		addr = tw_res_address(r);
		tw_diag_add(d, 0, &r->flocs[fi], "%s: voice_url and %s both route its calls: remove voice_url", addr, why);
		free(addr);
		return;
	}
	ref = json_pack("{s:s, s:s?, s:s}", "service", tw_res_get_str(out, "service"), "environment", env, "path", path);
	if (tw_svcref.check(r, ref, &msg) < 0) {   /* also fills in the environment */
		addr = tw_res_address(r);
		tw_diag_add(d, 0, &out->loc, "%s: %s", addr, msg.buf);
		free(addr);
	}
	tw_buf_release(&msg);
	json_object_set_new(r->fields, "voice_url", ref);
	if (!tw_res_get(r, "voice_method"))
		json_object_set_new(r->fields, "voice_method", json_string("POST"));
}

/* ---- wiring, from the kinds' validate hooks ---- */

void tw_dialer_wire_domain(struct tw_res *dom, struct tw_diags *d)
{
	struct tw_res *out = child_of_kind(dom, &tw_kind_domain_outbound);
	struct tw_res *svc = out ? top(dom, tw_kind_services.name, tw_res_get_str(out, "service")) : NULL;

	if (!svc)
		return;   /* no dialer, or the reference error is reported */
	tw_service_function(svc, OUTBOUND_PATH);
	route(dom, d, out, OUTBOUND_PATH, "outbound");
}

/* The declared SIP domain with a dialer that maps the list holding `user`, or NULL. */
static struct tw_res *domain_of_user(const struct tw_res *from, const char *user, const char **list)
{
	const struct tw_res *root = &tw_res_model(from)->root;
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *cl = root->children[i];
		/* hooks also run on a file with errors: a list may lack its name */
		if (cl->kind != &tw_kind_credential_lists || cl->absent || !cl->id || !user ||
		    !tw_res_find(cl, &tw_kind_credentials, user))
			continue;
		*list = cl->id;
		for (size_t j = 0; j < root->nchildren; j++) {
			struct tw_res *dom = root->children[j];
			if (dom->kind == &tw_kind_sip_domains && !dom->absent && domain_maps(dom, cl->id) &&
			    child_of_kind(dom, &tw_kind_domain_outbound))
				return dom;
		}
	}
	return NULL;
}

void tw_dialer_wire_number(struct tw_res *num, struct tw_diags *d)
{
	json_t *ring = tw_res_get(num, "ring"), *v;
	const struct tw_res *out = NULL;
	const char *svc = NULL;
	char *addr = tw_res_address(num);
	int fi = (int)(tw_kind_field(num->kind, "ring") - num->kind->fields);
	size_t i;

	json_array_foreach(ring, i, v) {
		const char *user = json_string_value(v), *list = NULL;
		struct tw_res *dom = domain_of_user(num, user, &list);
		const struct tw_res *o = dom ? child_of_kind(dom, &tw_kind_domain_outbound) : NULL;
		if (o && !tw_res_get_str(o, "service"))
			continue;   /* reported: outbound needs its service */
		if (!list) {
			tw_diag_add(d, 0, &num->flocs[fi], "%s: ring: no declared credential list holds \"%s\"", addr, user);
		} else if (!dom) {
			tw_diag_add(d, 0, &num->flocs[fi], "%s: ring: \"%s\" (in %s) registers to no SIP domain with an "
				    "outbound: dialer (its service hosts the ring function)", addr, user, list);
		} else if (svc && strcmp(svc, tw_res_get_str(o, "service"))) {
			tw_diag_add(d, 0, &num->flocs[fi], "%s: ring: its users' domains use two services (%s, %s)", addr,
				    svc, tw_res_get_str(o, "service"));
		} else {
			svc = tw_res_get_str(o, "service");
			out = o;
		}
	}
	free(addr);
	if (out && top(num, tw_kind_services.name, svc)) {
		tw_service_function(top(num, tw_kind_services.name, svc), RING_PATH);
		route(num, d, out, RING_PATH, "ring");
	}
}

/* ---- generating the code ---- */

static void add_config(struct tw_buf *b, json_t *config)
{
	char *j = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
	tw_buf_addf(b, "const config = %s;\n", j);
	free(j);
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
	"exports.handler = function (context, event, callback) {\n"
	"  const twiml = new Twilio.twiml.VoiceResponse();\n"
	"  const from = /^sips?:([^@;>]+)@([^;:>]+)/i.exec(String(event.From || ''));\n"
	"  const to = /^(?:sips?:)?([^@;>]+)/i.exec(String(event.To || ''));\n"
	"  const domain = from ? config.domains[domainOf(from[2])] : undefined;\n"
	"  if (!domain || !to) {\n"
	"    twiml.say('This call cannot be placed from this phone.');\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  const user = decodeURIComponent(from[1]);\n"
	"  const number = e164(decodeURIComponent(to[1]), domain.country_code);\n"
	"  if (!number || !domain.allowed_destinations.some((p) => number.startsWith(p))) {\n"
	"    twiml.say('The number you dialled cannot be called from this phone.');\n"
	"    return callback(null, twiml);\n"
	"  }\n"
	"  const callerId = domain.caller_ids[user] || domain.default_caller_id;\n"
	"  twiml.dial({ callerId: callerId }).number(number);\n"
	"  return callback(null, twiml);\n"
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

static const char header[] =
	"// Generated by twprov from the twprov file; do not edit (apply writes it again).\n"
	"'use strict';\n";

/* Caller IDs of the users of the lists domain d maps. */
static json_t *caller_ids(const struct tw_res *root, const struct tw_res *d)
{
	json_t *ids = json_object();
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *cl = root->children[i];
		if (cl->kind != &tw_kind_credential_lists || cl->absent || !cl->id || !domain_maps(d, cl->id))
			continue;
		for (size_t j = 0; j < cl->nchildren; j++) {
			const char *cid = tw_res_get_str(cl->children[j], "caller_id");
			if (cl->children[j]->kind == &tw_kind_credentials && cid && *cid)
				json_object_set_new(ids, cl->children[j]->id, json_string(cid));
		}
	}
	return ids;
}

static void set_code(struct tw_res *svc, const char *path, json_t *config, const char *code)
{
	struct tw_res *f = tw_res_find(svc, &tw_kind_functions, path);
	struct tw_buf b = TW_BUF_INIT;

	if (!f) {
		json_decref(config);
		return;
	}
	tw_buf_adds(&b, header);
	add_config(&b, config);
	tw_buf_adds(&b, code);
	tw_service_set_code(f, b.buf);
	tw_buf_release(&b);
	json_decref(config);
}

/* The generated function of svc at path, if it is still to be written (the first hook that
 * needs it writes it for every domain or number that uses the service). */
static struct tw_res *to_generate(struct tw_res *svc, const char *path)
{
	struct tw_res *f = svc ? tw_res_find(svc, &tw_kind_functions, path) : NULL;
	return f && !tw_res_get(f, "sha256") ? f : NULL;
}

/* The dialer of every domain whose outbound: names service svc. */
static void generate_outbound(struct tw_res *svc)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *domains = json_object();

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *d = root->children[i];
		const struct tw_res *out = child_of_kind(d, &tw_kind_domain_outbound);
		json_t *allowed = out ? tw_res_get(out, "allowed_destinations") : NULL;
		const char *cc = out ? tw_res_get_str(out, "country_code") : NULL;
		if (d->kind != &tw_kind_sip_domains || d->absent || !out || !tw_res_get_str(out, "service") || !svc->id ||
		    strcmp(tw_res_get_str(out, "service"), svc->id))
			continue;
		json_object_set_new(domains, d->id, json_pack("{s:o, s:s, s:s?, s:o}", "caller_ids", caller_ids(root, d),
							       "country_code", cc ? cc : "1", "default_caller_id",
							       tw_res_get_str(out, "default_caller_id"), "allowed_destinations",
							       allowed ? json_incref(allowed) : json_pack("[s]", "+")));
	}
	set_code(svc, OUTBOUND_PATH, json_pack("{s:o}", "domains", domains), outbound_code);
}

/* The ring TwiML of every number that rings users through service svc. */
static void generate_ring(struct tw_res *svc)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *numbers = json_object();

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *n = root->children[i];
		json_t *ring = tw_res_get(n, "ring"), *url = tw_res_get(n, "voice_url"), *sip = json_array(), *v;
		json_t *timeout = tw_res_get(n, "ring_timeout");
		size_t j;
		const char *usvc = json_string_value(json_object_get(url, "service"));
		if (n->kind != &tw_kind_phone_numbers || n->absent || !ring || !usvc || !svc->id || strcmp(usvc, svc->id)) {
			json_decref(sip);
			continue;
		}
		json_array_foreach(ring, j, v) {
			const char *list = NULL;
			struct tw_res *dom = domain_of_user(n, json_string_value(v), &list);
			if (dom)
				json_array_append_new(sip, json_sprintf("sip:%s@%s", json_string_value(v), dom->id));
		}
		json_object_set_new(numbers, n->id, json_pack("{s:o, s:I}", "sip", sip, "timeout",
							      timeout ? json_integer_value(timeout) : (json_int_t)30));
	}
	set_code(svc, RING_PATH, json_pack("{s:o}", "numbers", numbers), ring_code);
}

/* The derive hooks: once every domain and number is wired, write the code. */
static void outbound_derive(struct tw_res *out, struct tw_diags *d)
{
	struct tw_res *svc = top(out, tw_kind_services.name, tw_res_get_str(out, "service"));
	(void)d;
	if (to_generate(svc, OUTBOUND_PATH))
		generate_outbound(svc);
}

void tw_dialer_derive_number(struct tw_res *num, struct tw_diags *d)
{
	const char *name = json_string_value(json_object_get(tw_res_get(num, "voice_url"), "service"));
	struct tw_res *svc = tw_res_get(num, "ring") && name ? top(num, tw_kind_services.name, name) : NULL;
	(void)d;
	if (to_generate(svc, RING_PATH))
		generate_ring(svc);
}

/* ---- twprov export: the configuration back from the generated code ---- */

/* The `config` object in generated code, or NULL. */
static json_t *config_of(const char *code)
{
	const char *p = code ? strstr(code, "\nconst config = ") : NULL, *end;

	if (!p)
		return NULL;
	p += strlen("\nconst config = ");
	end = strstr(p, ";\n");
	return end ? json_loadb(p, (size_t)(end - p), 0, NULL) : NULL;
}

/* Set field `name` of r to v (a string, or a list of strings; taken) if the file can hold it,
 * else say why and return -1. */
static int put(struct tw_res *r, const char *name, json_t *v, struct tw_buf *why)
{
	const struct tw_field *f = tw_kind_field(r->kind, name);
	size_t i;
	json_t *s;
	int ok = json_is_string(v) || json_is_array(v);

	if (json_is_string(v))
		ok = tw_config_check_str(f, json_string_value(v), json_string_length(v), why) == 0;
	json_array_foreach(json_is_array(v) ? v : NULL, i, s)
		ok = ok && json_is_string(s) && tw_config_check_str(f, json_string_value(s), json_string_length(s), why) == 0;
	if (!ok) {
		if (!why->len)
			tw_buf_addf(why, "%s: not a string", name);
		json_decref(v);
		return -1;
	}
	json_object_set_new(r->fields, name, v);
	return 0;
}

/* ["+"]: what the generated code allows when the file says nothing. */
static int every_destination(const json_t *allowed)
{
	const char *s = json_string_value(json_array_get(allowed, 0));
	return json_array_size(allowed) == 1 && s && !strcmp(s, "+");
}

/* outbound: on each domain the dialer serves that is routed to it, and its users' caller IDs.
 * Returns how many domains got it. */
static int export_outbound(struct tw_export *x, struct tw_res *svc, const char *env, const char *url,
			   const json_t *domains)
{
	const char *name;
	json_t *cfg;
	int n = 0;

	json_object_foreach((json_t *)domains, name, cfg) {
		struct tw_res *dom = top(svc, tw_kind_sip_domains.name, name), *out;
		json_t *allowed = json_object_get(cfg, "allowed_destinations"), *cc = json_object_get(cfg, "country_code");
		struct tw_buf why = TW_BUF_INIT;
		const char *user;
		json_t *cid;

		if (!dom || !tw_res_get_str(dom, "voice_url") || strcmp(tw_res_get_str(dom, "voice_url"), url))
			continue;   /* not in the file, or its calls go elsewhere now: the code is stale */
		out = tw_res_new(&tw_kind_domain_outbound, NULL);
		json_object_set_new(out->fields, "service", json_string(svc->id));
		if ((env && put(out, "environment", json_string(env), &why) < 0) ||
		    put(out, "default_caller_id", json_incref(json_object_get(cfg, "default_caller_id")), &why) < 0 ||
		    (json_is_string(cc) && strcmp(json_string_value(cc), "1") &&
		     put(out, "country_code", json_incref(cc), &why) < 0) ||
		    (!every_destination(allowed) && put(out, "allowed_destinations", json_incref(allowed), &why) < 0)) {
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
				cl = top(svc, tw_kind_credential_lists.name, m->id);
				cred = cl ? tw_res_find(cl, &tw_kind_credentials, user) : NULL;
				if (cred && !tw_res_get(cred, "caller_id"))
					put(cred, "caller_id", json_incref(cid), &why);
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
		struct tw_res *num = top(svc, tw_kind_phone_numbers.name, name);
		json_t *users = json_array(), *uri, *timeout = json_object_get(cfg, "timeout");
		struct tw_buf why = TW_BUF_INIT;
		size_t i;
		int ok = 1;

		if (!num || !tw_res_get_str(num, "voice_url") || strcmp(tw_res_get_str(num, "voice_url"), url)) {
			json_decref(users);
			continue;
		}
		/* each user as the file would ring them: the domain its list registers to */
		json_array_foreach(json_object_get(cfg, "sip"), i, uri) {
			const char *s = json_string_value(uri), *at = s ? strrchr(s, '@') : NULL, *list = NULL;
			char *user = at && !strncmp(s, "sip:", 4) ? tw_xstrndup(s + 4, (size_t)(at - s - 4)) : NULL;
			struct tw_res *dom = user ? domain_of_user(num, user, &list) : NULL;
			const struct tw_res *o = dom ? child_of_kind(dom, &tw_kind_domain_outbound) : NULL;
			ok = ok && o && !strcmp(dom->id, at + 1) && !strcmp(tw_res_get_str(o, "service"), svc->id);
			if (user)
				json_array_append_new(users, json_string(user));
			free(user);
		}
		if (!ok || !json_array_size(users) || !json_is_integer(timeout) || json_integer_value(timeout) < 5 ||
		    json_integer_value(timeout) > 600 || put(num, "ring", json_incref(users), &why) < 0) {
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

int tw_dialer_export(struct tw_export *x, struct tw_res *svc, const char *env, const char *domain, const char *path,
		     const char *code)
{
	json_t *config = config_of(code);
	char *url = tw_xasprintf("https://%s%s", domain, path);
	int ret = -1;

	if (!strcmp(path, OUTBOUND_PATH) && json_is_object(json_object_get(config, "domains")))
		ret = export_outbound(x, svc, env, url, json_object_get(config, "domains"));
	else if (!strcmp(path, RING_PATH) && json_is_object(json_object_get(config, "numbers")))
		ret = export_ring(x, svc, url, json_object_get(config, "numbers"));
	free(url);
	json_decref(config);
	return ret;
}
