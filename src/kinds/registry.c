/* registry.c - the table of resource kinds (like git's builtin table) */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/model.h"
#include "kinds.h"

/*
 * Every kind twprov manages.  Order matters only for presentation and as a
 * tie-break: parents come before their children, and kinds that others
 * reference come before the kinds that reference them.  Adding a kind is a
 * new descriptor file plus one line here.
 */
const struct tw_kind *const tw_kinds[] = {
	&tw_kind_addresses,
	&tw_kind_credential_lists,
	&tw_kind_credentials,
	&tw_kind_devices,
	&tw_kind_ip_access_control_lists,
	&tw_kind_ip_addresses,
	&tw_kind_services,
	&tw_kind_environments,
	&tw_kind_variables,
	&tw_kind_functions,
	&tw_kind_assets,
	&tw_kind_connection_policies,
	&tw_kind_targets,
	&tw_kind_byoc_trunks,
	&tw_kind_byoc_inbound,
	&tw_kind_inbound_routes,
	&tw_kind_inbound_default,
	&tw_kind_sip_domains,
	&tw_kind_domain_calls_credential_lists,
	&tw_kind_domain_calls_ip_access_control_lists,
	&tw_kind_domain_registrations_credential_lists,
	&tw_kind_domain_outbound,
	&tw_kind_outbound_routes,
	&tw_kind_applications,
	&tw_kind_sip_trunks,
	&tw_kind_origination_urls,
	&tw_kind_trunk_credential_lists,
	&tw_kind_trunk_ip_access_control_lists,
	&tw_kind_phone_numbers,
	&tw_kind_voice_permissions,
	&tw_kind_countries,
};
const size_t tw_nkinds = sizeof(tw_kinds) / sizeof(tw_kinds[0]);

const struct tw_kind *tw_kind_find(const char *name)
{
	for (size_t i = 0; i < tw_nkinds; i++)
		if (!strcmp(tw_kinds[i]->name, name))
			return tw_kinds[i];
	return NULL;
}

size_t tw_kind_index(const struct tw_kind *k)
{
	for (size_t i = 0; i < tw_nkinds; i++)
		if (tw_kinds[i] == k)
			return i;
	return tw_nkinds;
}

/*
 * The children of every kind, computed once from the registry: row i holds the
 * children of tw_kinds[i], the last row the top-level kinds.  Sized by the
 * registry itself, so no caller needs an array of a guessed size.
 */
#define NKINDS (sizeof(tw_kinds) / sizeof(tw_kinds[0]))
static const struct tw_kind *children_of[NKINDS + 1][NKINDS];
static size_t nchildren_of[NKINDS + 1];
static int children_ready;

static void children_init(void)
{
	for (size_t p = 0; p <= NKINDS; p++) {
		const struct tw_kind *parent = p < NKINDS ? tw_kinds[p] : NULL;
		for (size_t i = 0; i < NKINDS; i++) {
			const struct tw_kind *k = tw_kinds[i];
			if (parent ? (k->parent && !strcmp(k->parent, parent->name)) : !k->parent)
				children_of[p][nchildren_of[p]++] = k;
		}
	}
	children_ready = 1;
}

const struct tw_kind *const *tw_kind_children(const struct tw_kind *parent, size_t *n)
{
	size_t p = parent ? tw_kind_index(parent) : NKINDS;

	if (!children_ready)
		children_init();
	*n = parent && p == NKINDS ? 0 : nchildren_of[p];     /* a kind not in the registry has none */
	return children_of[p];
}

const struct tw_field *tw_kind_field(const struct tw_kind *k, const char *name)
{
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, name))
			return &k->fields[i];
	return NULL;
}

int tw_kind_identity(const struct tw_kind *k)
{
	for (size_t i = 0; i < k->nfields; i++)
		if (k->fields[i].flags & TW_F_IDENTITY)
			return (int)i;
	return -1;
}

int tw_sid_ok(const char *sid, const char *prefix)
{
	if (!sid || strlen(sid) != 34 || !(sid[0] >= 'A' && sid[0] <= 'Z') || !(sid[1] >= 'A' && sid[1] <= 'Z'))
		return 0;
	if (prefix && strncmp(sid, prefix, 2))
		return 0;
	return strspn(sid + 2, "0123456789abcdefABCDEF") == 32;
}

int tw_sid_check(const json_t *v, const char *prefix, struct tw_err *err)
{
	char *s;

	if (json_is_string(v) && tw_sid_ok(json_string_value(v), prefix))
		return 0;
	if (!v) {
		s = tw_xstrdup("nothing");
	} else if (json_is_string(v)) {
		struct tw_buf b = TW_BUF_INIT;
		tw_buf_add_quoted(&b, json_string_value(v), json_string_length(v), TW_QUOTE_ALWAYS);
		s = tw_buf_detach(&b);
	} else if (json_is_object(v) || json_is_array(v)) {
		s = tw_xstrdup(json_is_object(v) ? "an object" : "an array");
	} else {
		s = json_dumps(v, JSON_ENCODE_ANY);
	}
	tw_err_set(err, "no valid SID: got %s (expected %s and 32 hex digits)", s ? s : "?",
		   prefix ? prefix : "two capital letters");
	free(s);
	return -1;
}

char *tw_path_expand(const char *tmpl, const char *account_sid, const char *parent_sid,
		     const char *grandparent_sid, const char *sid)
{
	static const struct { const char *name; size_t len; } vars[] = {
		{ "{AccountSid}", 12 }, { "{ParentSid}", 11 }, { "{GrandParentSid}", 16 }, { "{Sid}", 5 },
	};
	const char *vals[4] = { account_sid, parent_sid, grandparent_sid, sid };
	struct tw_buf b = TW_BUF_INIT;

	for (const char *p = tmpl; *p;) {
		size_t i;
		for (i = 0; i < 4; i++)
			if (!strncmp(p, vars[i].name, vars[i].len))
				break;
		if (i < 4) {
			tw_buf_adds(&b, vals[i] ? vals[i] : "");
			p += vars[i].len;
		} else {
			tw_buf_addc(&b, *p++);
		}
	}
	return tw_buf_detach(&b);
}

char *tw_res_path(const struct tw_res *r, const char *tmpl, const char *account_sid, const char *sid)
{
	const struct tw_res *p = r->parent && r->parent->kind ? r->parent : NULL;
	const struct tw_res *gp = p && p->parent && p->parent->kind ? p->parent : NULL;
	return tw_path_expand(tmpl, account_sid, p ? p->sid : NULL, gp ? gp->sid : NULL, sid);
}

int tw_kind_mapped_value(const struct tw_kind *k)
{
	int idf = tw_kind_identity(k), value = -1, n = 0;

	for (size_t i = 0; i < k->nfields; i++)
		if ((int)i != idf && !(k->fields[i].flags & TW_F_COMPUTED)) {
			if (value < 0)
				value = (int)i;
			n++;
		}
	return n == 1 ? value : -1;
}
