/* generated.c - what the kinds whose code twprov generates share
 *
 * A SIP domain's outbound dialer and a number's ring list (dialer.c), a BYOC
 * trunk's inbound routes (inbound.c) become Functions of a service the file
 * declares.  Each wires the resource's voice_url to its function when the
 * file is validated, and writes the function's code (a header, the config
 * as JSON, the handler) when the model is derived.  The SIDs the code needs
 * reach it as environment variables twprov declares: code holds no SID.
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/config.h"
#include "twprov/export.h"
#include "twprov/file.h"
#include "twprov/model.h"

struct tw_res *tw_gen_top(const struct tw_res *from, const char *kind, const char *name)
{
	struct tw_res *r = tw_res_top(from, kind, name);
	return r && !r->absent ? r : NULL;
}

int tw_gen_routed_to(const struct tw_res *r, const char *url)
{
	const char *v = tw_res_get_str(r, "voice_url");
	return v && !strcmp(v, url);
}

struct tw_res *tw_gen_child(const struct tw_res *p, const struct tw_kind *k)
{
	for (size_t i = 0; p && i < p->nchildren; i++)
		if (p->children[i]->kind == k)
			return p->children[i];
	return NULL;
}

/* Does domain d map credential list `list` for calls or registrations? */
int tw_gen_domain_maps(const struct tw_res *d, const char *list)
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
void tw_gen_wire(struct tw_res *r, struct tw_diags *d, const struct tw_res *out, const char *path,
		  const char *why)
{
	const char *env = tw_res_get_str(out, "environment");
	struct tw_buf msg = TW_BUF_INIT;
	json_t *ref;
	char *addr;

	if (tw_res_get(r, "voice_url")) {
		tw_res_diag(d, 0, r, "voice_url", "voice_url and %s both route its calls: remove voice_url", why);
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

/* The one field of `names` that r sets, or NULL (and an error unless exactly one is set). */
const char *tw_gen_one_of(struct tw_diags *d, const struct tw_res *r, const char *const *names, size_t n,
			  const char *what)
{
	const char *set = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!tw_res_get(r, names[i]))
			continue;
		if (set) {
			tw_res_diag(d, 0, r, names[i], "%s and %s: a route has one %s", set, names[i], what);
			return NULL;
		}
		set = names[i];
	}
	if (!set) {
		struct tw_buf b = TW_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			tw_buf_addf(&b, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
		tw_res_diag(d, 0, r, NULL, "no %s: give %s", what, b.buf);
		tw_buf_release(&b);
	}
	return set;
}

/* The declared SIP domain (with a dialer, when `dialer`) that maps the list holding `user`, or NULL;
 * *list is that list (NULL when no list holds the user). */
struct tw_res *tw_gen_domain_of(const struct tw_res *from, const char *user, int dialer, const char **list)
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
			if (dom->kind == &tw_kind_sip_domains && !dom->absent && dom->id && tw_gen_domain_maps(dom, cl->id) &&
			    (!dialer || tw_gen_child(dom, &tw_kind_domain_outbound)))
				return dom;
		}
	}
	return NULL;
}

json_t *tw_gen_ring_uris(const struct tw_res *from, const json_t *users, int dialer)
{
	json_t *uris = json_array(), *u;
	size_t i;

	json_array_foreach(users, i, u) {
		const char *list;
		const struct tw_res *dom = tw_gen_domain_of(from, json_string_value(u), dialer, &list);
		if (dom)
			json_array_append_new(uris, json_sprintf("sip:%s@%s", json_string_value(u), dom->id));
	}
	return uris;
}

char *tw_gen_sip_user(const char *uri, const char **domain)
{
	const char *at = uri ? strrchr(uri, '@') : NULL;

	if (!at || strncmp(uri, "sip:", 4) || at < uri + 4)
		return NULL;
	*domain = at + 1;
	return tw_xstrndup(uri + 4, (size_t)(at - uri - 4));
}

static void add_config(struct tw_buf *b, json_t *config)
{
	char *j = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS);
	tw_buf_addf(b, "const config = %s;\n", j);
	free(j);
}

static const char header[] =
	"// Generated by twprov from the twprov file; do not edit (apply writes it again).\n"
	"'use strict';\n";


void tw_gen_set_code(struct tw_res *svc, const char *path, json_t *config, const char *code)
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
struct tw_res *tw_gen_pending(struct tw_res *svc, const char *path)
{
	struct tw_res *f = svc ? tw_res_find(svc, &tw_kind_functions, path) : NULL;
	return f && !tw_res_get(f, "sha256") ? f : NULL;
}


/*
 * The name of the environment variable that hands a generated function the SID
 * of `target` (TWPROV_BY_CARRIER_X), declared once in env with the value
 * {sid_of: ADDRESS}: code holds no SID, apply sets it once the target exists.
 */
char *tw_gen_sid_variable(struct tw_res *env, const struct tw_res *target, struct tw_diags *d, const struct tw_res *at)
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
			tw_res_diag(d, 0, at, NULL, "the environment variable %s, which twprov sets to the SID of %s, is already "
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

/* The environment the voice_url of r (a deployed path, once wired) names, or NULL. */
struct tw_res *tw_gen_environment(const struct tw_res *r)
{
	json_t *ref = tw_res_get(r, "voice_url");
	return json_is_object(ref) ? tw_svcref.source(r, ref) : NULL;
}

/* ---- twprov export: the configuration back from generated code ---- */

json_t *tw_gen_config(const char *code)
{
	const char *p = code ? strstr(code, "\nconst config = ") : NULL, *end;

	if (!p)
		return NULL;
	p += strlen("\nconst config = ");
	end = strstr(p, ";\n");
	return end ? json_loadb(p, (size_t)(end - p), 0, NULL) : NULL;
}

int tw_gen_put(struct tw_res *r, const char *name, json_t *v, struct tw_buf *why)
{
	const struct tw_field *f = tw_kind_field(r->kind, name);
	size_t i;
	json_t *s;
	int ok = f != NULL;

	if (ok && json_is_string(v))
		ok = tw_config_check_str(f, json_string_value(v), json_string_length(v), why) == 0;
	else if (ok && json_is_array(v))
		json_array_foreach(v, i, s)
			ok = ok && json_is_string(s) &&
			     tw_config_check_str(f, json_string_value(s), json_string_length(s), why) == 0;
	else if (ok && json_is_integer(v))
		ok = f->type == TW_V_INT && json_integer_value(v) >= f->min && json_integer_value(v) <= f->max;
	else
		ok = ok && json_is_boolean(v) && f->type == TW_V_BOOL;
	if (!ok) {
		if (!why->len)
			tw_buf_addf(why, "%s: not a value the file can hold", name);
		json_decref(v);
		return -1;
	}
	json_object_set_new(r->fields, name, v);
	return 0;
}

char *tw_gen_url(const struct tw_export *x, const struct tw_res *env, const char *path)
{
	const struct tw_res *l = tw_export_live(x, env);
	const char *domain = l ? json_string_value(json_object_get(l->json, "domain_name")) : NULL;
	return domain ? tw_xasprintf("https://%s%s", domain, path) : NULL;
}

const char *tw_gen_env_name(const struct tw_res *env)
{
	size_t n = 0;
	for (size_t i = 0; i < env->parent->nchildren; i++)
		n += env->parent->children[i]->kind == &tw_kind_environments;
	return n > 1 ? env->id : NULL;
}

struct tw_res *tw_gen_sid_target(const struct tw_export *x, const struct tw_res *env, const char *key,
				 const char *kind)
{
	const struct tw_res *v = key ? tw_res_find(env, &tw_kind_variables, key) : NULL;
	const struct tw_res *root = &tw_res_model(env)->root;
	const struct tw_kind *k = tw_kind_find(kind);
	const char *sid = v ? tw_res_get_str(v, "value") : NULL;

	for (size_t i = 0; sid && i < root->nchildren; i++) {
		const struct tw_res *l = tw_export_live(x, root->children[i]);
		if (root->children[i]->kind == k && l && l->sid && !strcmp(l->sid, sid))
			return root->children[i];
	}
	return NULL;
}
