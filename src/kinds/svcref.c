/* svcref.c - URLs written as a deployed Serverless path: {service, environment, path}
 *
 * A URL field of any kind (TW_URL_FIELD) may name a function or asset the file
 * declares instead of spelling its URL: https://<the environment's
 * domain_name><path>, known once the environment exists at Twilio.  The
 * engine sees only the descriptor below (struct tw_objval).
 */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/buf.h"
#include "twprov/model.h"

static const char *const keys[] = { "service", "environment", "path", NULL };

static struct tw_res *child_named(const struct tw_res *p, const struct tw_kind *k, const char *id)
{
	struct tw_res *c = p && id ? tw_res_find(p, k, id) : NULL;
	return c && !c->absent ? c : NULL;
}

static struct tw_res *service_of(const struct tw_res *from, const json_t *ref)
{
	struct tw_res *svc = tw_res_top(from, tw_kind_services.name, json_string_value(json_object_get(ref, "service")));
	return svc && !svc->absent ? svc : NULL;
}

/* The declared environment `ref` names, or NULL. */
static struct tw_res *environment_of(const struct tw_res *from, const json_t *ref)
{
	return child_named(service_of(from, ref), &tw_kind_environments,
			   json_string_value(json_object_get(ref, "environment")));
}

static int check(const struct tw_res *from, json_t *ref, struct tw_buf *why)
{
	struct tw_res *svc = service_of(from, ref), *env = NULL;
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

static char *resolve(const struct tw_res *from, const json_t *ref, const struct tw_facts *facts)
{
	const struct tw_res *env = environment_of(from, ref);
	const json_t *obj = env ? facts->object(facts, env) : NULL;
	const char *domain = json_string_value(json_object_get(obj, "domain_name"));
	return domain ? tw_xasprintf("https://%s%s", domain, json_string_value(json_object_get(ref, "path"))) : NULL;
}

/* twprov export: https://DOMAIN/PATH where DOMAIN is an environment's and PATH a function or asset
 * the file declares in its service.  The environment is named when the service has several. */
static json_t *unresolve(const struct tw_res *from, const char *s, const struct tw_facts *facts)
{
	const struct tw_res *root = &tw_res_model(from)->root;
	const char *host = !strncmp(s, "https://", 8) ? s + 8 : NULL, *path = host ? strchr(host, '/') : NULL;

	for (size_t i = 0; path && i < root->nchildren; i++) {
		const struct tw_res *svc = root->children[i], *env = NULL;
		size_t nenv = 0;
		if (svc->kind != &tw_kind_services || svc->absent ||
		    !(child_named(svc, &tw_kind_functions, path) || child_named(svc, &tw_kind_assets, path)))
			continue;
		for (size_t j = 0; j < svc->nchildren; j++) {
			const struct tw_res *e = svc->children[j];
			const char *domain;
			if (e->kind != &tw_kind_environments || e->absent)
				continue;
			nenv++;
			domain = json_string_value(json_object_get(facts->object(facts, e), "domain_name"));
			if (domain && strlen(domain) == (size_t)(path - host) && !strncmp(domain, host, (size_t)(path - host)))
				env = e;
		}
		if (env)
			return json_pack("{s:s, s:s*, s:s}", "service", svc->id, "environment", nenv > 1 ? env->id : NULL,
					 "path", path);
	}
	return NULL;
}

const struct tw_objval tw_svcref = {
	.keys = keys,
	.optional = 1u << 1,
	.ref_key = "service",
	.ref_kind = "services",
	.what = "a deployed path is {service, environment, path}",
	.check = check,
	.source = environment_of,
	.resolve = resolve,
	.unresolve = unresolve,
};
