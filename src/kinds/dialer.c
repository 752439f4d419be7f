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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/file.h"
#include "twprov/model.h"

#define OUTBOUND_PATH "/_twprov/outbound"
#define RING_PATH "/_twprov/ring"
#define INBOUND_PATH "/_twprov/inbound"

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

/* ---- a BYOC trunk's inbound calls, by called number ---- */

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

/* An error about r at its field `field` (or at r). */
static void diag_at(struct tw_diags *d, const struct tw_res *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void diag_at(struct tw_diags *d, const struct tw_res *r, const char *field, const char *fmt, ...)
{
	const struct tw_field *f = field ? tw_kind_field(r->kind, field) : NULL;
	const struct tw_loc *loc = f && r->flocs[f - r->kind->fields].line ? &r->flocs[f - r->kind->fields] : &r->loc;
	struct tw_buf b = TW_BUF_INIT;
	char *addr = tw_res_address(r);
	va_list ap;

	va_start(ap, fmt);
	tw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	tw_diag_add(d, 0, loc, "%s: %s", addr, b.buf);
	free(addr);
	tw_buf_release(&b);
}

/* The one field of `names` that r sets, or NULL (and an error unless exactly one is set). */
static const char *one_of(struct tw_diags *d, const struct tw_res *r, const char *const *names, size_t n,
			  const char *what)
{
	const char *set = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!tw_res_get(r, names[i]))
			continue;
		if (set) {
			diag_at(d, r, names[i], "%s and %s: a route has one %s", set, names[i], what);
			return NULL;
		}
		set = names[i];
	}
	if (!set) {
		struct tw_buf b = TW_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			tw_buf_addf(&b, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
		diag_at(d, r, NULL, "no %s: give %s", what, b.buf);
		tw_buf_release(&b);
	}
	return set;
}

static const char *const matchers[] = { "match", "prefix" };
static const char *const route_targets[] = { "pstn", "sip", "byoc_trunk", "application", "url" };

static void route_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *m = one_of(d, r, matchers, 2, "matcher"), *t = one_of(d, r, route_targets, 5, "target");
	int ngroups = 1;
	struct tw_buf why = TW_BUF_INIT;

	if (m && !strcmp(m, "match") && tw_regex_check(tw_res_get_str(r, "match"), &ngroups, &why) < 0)
		return;         /* the field's check has said why */
	if (t && (!strcmp(t, "pstn") || !strcmp(t, "sip")) &&
	    template_check(tw_res_get_str(r, t), m ? ngroups : -1, &why) < 0)
		diag_at(d, r, t, "%s", why.buf);
	tw_buf_release(&why);
	/* a redirect hands the call over: nothing of a dial applies */
	if (t && !strcmp(t, "url"))
		for (size_t i = 0; i < 4; i++) {
			static const char *const dial_only[] = { "caller_id", "timeout", "record", "status_callback" };
			if (tw_res_get(r, dial_only[i]))
				diag_at(d, r, dial_only[i], "%s does not apply to a url route (the call is handed over)",
					dial_only[i]);
		}
	if (t && !strcmp(t, "application") && tw_res_get(r, "status_callback"))
		diag_at(d, r, "status_callback", "status_callback applies to pstn, sip and byoc_trunk routes");
}

static struct tw_res *domain_of(const struct tw_res *from, const char *user, int dialer, const char **list);
static const char *const inbound_targets[] = { "ring", "sip", "url", "application" };

static void target_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *t = one_of(d, r, inbound_targets, 4, "target");
	json_t *v;
	size_t i;

	if (t && tw_res_get(r, "timeout") && strcmp(t, "ring") && strcmp(t, "sip"))
		diag_at(d, r, "timeout", "timeout applies to ring and sip targets");
	json_array_foreach(t && !strcmp(t, "ring") ? tw_res_get(r, "ring") : NULL, i, v) {
		const char *list = NULL;
		if (!domain_of(r, json_string_value(v), 0, &list))
			diag_at(d, r, "ring", list ? "\"%s\" (in %s) registers to no declared SIP domain"
				: "no declared credential list holds \"%s\"%s", json_string_value(v), list ? list : "");
	}
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

/* A BYOC trunk with inbound: its voice_url is the generated function. */
void tw_dialer_wire_trunk(struct tw_res *trunk, struct tw_diags *d)
{
	struct tw_res *in = child_of_kind(trunk, &tw_kind_byoc_inbound);
	struct tw_res *svc = in ? top(trunk, tw_kind_services.name, tw_res_get_str(in, "service")) : NULL;

	if (!svc)
		return;
	tw_service_function(svc, INBOUND_PATH);
	route(trunk, d, in, INBOUND_PATH, "inbound");
}

/* The declared SIP domain (with a dialer, when `dialer`) that maps the list holding `user`, or NULL;
 * *list is that list (NULL when no list holds the user). */
static struct tw_res *domain_of(const struct tw_res *from, const char *user, int dialer, const char **list)
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
			if (dom->kind == &tw_kind_sip_domains && !dom->absent && dom->id && domain_maps(dom, cl->id) &&
			    (!dialer || child_of_kind(dom, &tw_kind_domain_outbound)))
				return dom;
		}
	}
	return NULL;
}

static struct tw_res *domain_of_user(const struct tw_res *from, const char *user, const char **list)
{
	return domain_of(from, user, 1, list);
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

/*
 * The name of the environment variable that hands a generated function the SID
 * of `target` (TWPROV_BY_CARRIER_X), declared once in env with the value
 * {sid_of: ADDRESS}: code holds no SID, apply sets it once the target exists.
 */
static char *sid_variable(struct tw_res *env, const struct tw_res *target, struct tw_diags *d, const struct tw_res *at)
{
	char *addr = tw_res_address(target), *key = tw_xasprintf("TWPROV_%s_%s", target->kind->sid_prefix, target->id);
	struct tw_res *v;

	for (char *p = key + 7; *p; p++)
		*p = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			? *p : '_';
	v = tw_res_find(env, &tw_kind_variables, key);
	if (v) {
		const char *of = json_string_value(json_object_get(tw_res_get(v, "value"), "sid_of"));
		if (!of || strcmp(of, addr))
			diag_at(d, at, NULL, "the environment variable %s, which twprov sets to the SID of %s, is already "
				"declared in %s%s", key, addr, env->id, of ? " for another resource: rename one of them" : "");
	} else {
		v = tw_res_new(&tw_kind_variables, env);
		v->id = tw_xstrdup(key);
		v->loc = at->loc;
		json_object_set_new(v->fields, "key", json_string(key));
		json_object_set_new(v->fields, "value", json_pack("{s:s}", "sid_of", addr));
		tw_res_add_child(env, v);
	}
	free(addr);
	return key;
}

/* A route as the generated code reads it. */
static json_t *route_config(const struct tw_res *r, struct tw_res *env, struct tw_diags *d)
{
	json_t *o = json_object(), *v;
	static const char *const plain[] = { "match", "prefix", "pstn", "sip", "url", "caller_id", "timeout", "record",
					     "status_callback" };
	static const char *const sids[][2] = { { "byoc_trunk", "byoc" }, { "application", "application" } };

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if ((v = tw_res_get(r, plain[i])))
			json_object_set(o, plain[i], v);
	for (size_t i = 0; i < 2; i++) {
		const char *name = tw_res_get_str(r, sids[i][0]);
		const struct tw_res *target = name ? top(r, tw_kind_field(r->kind, sids[i][0])->ref, name) : NULL;
		if (target && env) {
			char *key = sid_variable(env, target, d, r);
			json_object_set_new(o, sids[i][1], json_string(key));
			free(key);
		}
	}
	return o;
}

/* The environment the voice_url of r (a deployed path, once wired) names, or NULL. */
static struct tw_res *environment_of(const struct tw_res *r)
{
	json_t *ref = tw_res_get(r, "voice_url");
	return json_is_object(ref) ? tw_svcref.source(r, ref) : NULL;
}

/* The dialer of every domain whose outbound: names service svc. */
static void generate_outbound(struct tw_res *svc, struct tw_diags *diags)
{
	const struct tw_res *root = &tw_res_model(svc)->root;
	json_t *domains = json_object();

	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *d = root->children[i];
		const struct tw_res *out = child_of_kind(d, &tw_kind_domain_outbound);
		json_t *allowed = out ? tw_res_get(out, "allowed_destinations") : NULL, *routes = json_array();
		const char *cc = out ? tw_res_get_str(out, "country_code") : NULL;
		struct tw_res *env;
		if (d->kind != &tw_kind_sip_domains || d->absent || !out || !tw_res_get_str(out, "service") || !svc->id ||
		    strcmp(tw_res_get_str(out, "service"), svc->id) || !d->id) {
			json_decref(routes);
			continue;
		}
		env = environment_of(d);
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

/* An inbound target as the generated code reads it. */
static json_t *target_config(const struct tw_res *t, struct tw_res *env, struct tw_diags *d)
{
	json_t *o = json_object(), *v;
	const char *app = tw_res_get_str(t, "application");
	size_t i;

	if ((v = tw_res_get(t, "sip")))
		json_object_set(o, "sip", v);
	if ((v = tw_res_get(t, "url")))
		json_object_set(o, "url", v);
	if ((v = tw_res_get(t, "timeout")))
		json_object_set(o, "timeout", v);
	if ((v = tw_res_get(t, "ring"))) {
		json_t *uris = json_array(), *u;
		json_array_foreach(v, i, u) {
			const char *list;
			const struct tw_res *dom = domain_of(t, json_string_value(u), 0, &list);
			if (dom)
				json_array_append_new(uris, json_sprintf("sip:%s@%s", json_string_value(u), dom->id));
		}
		json_object_set_new(o, "ring", uris);
	}
	if (app && env && top(t, "applications", app)) {
		char *key = sid_variable(env, top(t, "applications", app), d, t);
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
		const struct tw_res *trunk = root->children[i], *in = child_of_kind(trunk, &tw_kind_byoc_inbound);
		struct tw_res *env;
		if (trunk->absent || !in || !tw_res_get_str(in, "service") || !svc->id ||
		    strcmp(tw_res_get_str(in, "service"), svc->id))
			continue;
		env = environment_of(trunk);
		for (size_t j = 0; j < in->nchildren; j++) {
			const struct tw_res *t = in->children[j];
			if (t->kind == &tw_kind_inbound_routes && t->id) {
				if (json_object_get(numbers, t->id))
					diag_at(diags, t, NULL, "%s is routed by another BYOC trunk of service %s too", t->id,
						svc->id);
				else
					json_object_set_new(numbers, t->id, target_config(t, env, diags));
			} else if (t->kind == &tw_kind_inbound_default) {
				json_t *c = target_config(t, env, diags);
				if (dflt && !json_equal(dflt, c))
					diag_at(diags, t, NULL, "another BYOC trunk of service %s has another default (%s): "
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
	set_code(svc, INBOUND_PATH, json_pack("{s:o, s:o}", "numbers", numbers, "default", dflt ? dflt : json_null()),
		 inbound_code);
}

static void inbound_derive(struct tw_res *in, struct tw_diags *d)
{
	struct tw_res *svc = top(in, tw_kind_services.name, tw_res_get_str(in, "service"));
	if (to_generate(svc, INBOUND_PATH))
		generate_inbound(svc, d);
}

/* The derive hooks: once every domain and number is wired, write the code. */
static void outbound_derive(struct tw_res *out, struct tw_diags *d)
{
	struct tw_res *svc = top(out, tw_kind_services.name, tw_res_get_str(out, "service"));
	if (to_generate(svc, OUTBOUND_PATH))
		generate_outbound(svc, d);
}

void tw_dialer_derive_number(struct tw_res *num, struct tw_diags *d)
{
	const char *name = json_string_value(json_object_get(tw_res_get(num, "voice_url"), "service"));
	struct tw_res *svc = tw_res_get(num, "ring") && name ? top(num, tw_kind_services.name, name) : NULL;
	(void)d;
	if (to_generate(svc, RING_PATH))
		generate_ring(svc);
}
