/* test_plan.c - the differ, dependency ordering, --target and the renderings */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/apply.h"
#include "twprov/buf.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/plan.h"

#define SECRET "Sup3rSecretPassw0rd"

static const struct tw_kind *K(const char *name)
{
	const struct tw_kind *k = tw_kind_find(name);
	assert_non_null(k);
	return k;
}

/* A declared resource: fields as "name=value" pairs ("b:" prefix = bool, "i:" = int). */
static struct tw_res *decl(struct tw_res *parent, const char *kind, const char *id, ...)
{
	struct tw_res *r = tw_res_new(K(kind), parent);
	int idf = tw_kind_identity(r->kind);
	va_list ap;
	const char *kv;

	r->id = tw_xstrdup(id);
	if (idf >= 0)
		json_object_set_new(r->fields, r->kind->fields[idf].name, json_string(id));
	va_start(ap, id);
	while ((kv = va_arg(ap, const char *))) {
		const char *eq = strchr(kv, '=');
		char *name = tw_xstrndup(kv, (size_t)(eq - kv));
		const struct tw_field *f = tw_kind_field(r->kind, name);
		assert_non_null(f);
		if (f->type == TW_V_BOOL)
			json_object_set_new(r->fields, name, json_boolean(!strcmp(eq + 1, "true")));
		else if (f->type == TW_V_INT)
			json_object_set_new(r->fields, name, json_integer(atoi(eq + 1)));
		else
			json_object_set_new(r->fields, name, json_string(eq + 1));
		free(name);
	}
	va_end(ap);
	tw_res_add_child(parent, r);
	return r;
}

/* A live resource from a JSON object text. */
static struct tw_res *live(struct tw_res *parent, const char *kind, const char *json)
{
	struct tw_res *r = tw_res_new(K(kind), parent);
	json_error_t e;
	json_t *o = json_loads(json, 0, &e);
	assert_non_null(o);
	assert_int_equal(tw_live_set_json(r, o, NULL), 0);
	json_decref(o);
	tw_res_add_child(parent, r);
	parent->children_read = 1;
	return r;
}

static void convert_all(struct tw_model *have)
{
	for (size_t i = 0; i < have->root.nchildren; i++)
		tw_live_convert(have->root.children[i], &have->root);
}

static struct tw_model *want_model(void)
{
	struct tw_model *m = tw_model_new(0);
	json_object_set_new(m->kinds_present, "credential_lists", json_true());
	json_object_set_new(m->kinds_present, "ip_access_control_lists", json_true());
	json_object_set_new(m->kinds_present, "sip_domains", json_true());
	return m;
}

static struct tw_action *find(struct tw_plan *p, const char *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->acts[i].address, addr))
			return &p->acts[i];
	return NULL;
}

static int depends(struct tw_plan *p, const char *a, const char *b)
{
	struct tw_action *x = find(p, a), *y = find(p, b);
	assert_non_null(x);
	assert_non_null(y);
	for (size_t i = 0; i < x->ndeps; i++)
		if (&p->acts[x->deps[i]] == y)
			return 1;
	return 0;
}

static char *render_text(struct tw_plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tw_plan_print(p, f);
	fclose(f);
	return buf;
}

/* The form of an action's step i (its requests are planned first), as the plan knows SIDs. */
static void step_form(const struct tw_plan *p, const struct tw_action *a, size_t i, struct tw_form *f)
{
	struct tw_step steps[TW_MAX_STEPS];
	size_t n = tw_apply_steps(a, steps);
	assert_true(i < n);
	tw_form_init(f);
	tw_apply_form(p, NULL, a, &steps[i], f);
}

static void office(struct tw_model *w)
{
	struct tw_res *cl = decl(&w->root, "credential_lists", "office", NULL);
	struct tw_res *cr = decl(cl, "credentials", "alice", "password=" SECRET, NULL);
	struct tw_res *d;
	(void)cr;
	decl(&w->root, "ip_access_control_lists", "pbx", NULL);
	d = decl(&w->root, "sip_domains", "office.sip.twilio.com", "voice_url=https://a.example/v",
		 "sip_registration=true", NULL);
	decl(d, "auth.calls.credential_lists", "office", NULL);
	decl(d, "auth.calls.ip_access_control_lists", "pbx", NULL);
	decl(d, "auth.registrations.credential_lists", "office", NULL);
}

static void test_empty_account_creates_in_order(void **state)
{
	struct tw_model *w = want_model(), *h = tw_model_new(1);
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 7);
	assert_int_equal(p->add, 7);
	assert_int_equal(p->change + p->destroy, 0);
	assert_true(depends(p, "credential_lists/office/credentials/alice", "credential_lists/office"));
	assert_true(depends(p, "sip_domains/office.sip.twilio.com/auth.calls.credential_lists/office",
			    "sip_domains/office.sip.twilio.com"));
	assert_true(depends(p, "sip_domains/office.sip.twilio.com/auth.calls.credential_lists/office",
			    "credential_lists/office"));
	assert_true(depends(p, "sip_domains/office.sip.twilio.com/auth.calls.ip_access_control_lists/pbx",
			    "ip_access_control_lists/pbx"));
	assert_int_equal(find(p, "credential_lists/office")->ndeps, 0);
	assert_int_equal(find(p, "sip_domains/office.sip.twilio.com")->ndeps, 0);

	char *text = render_text(p);
	assert_non_null(strstr(text, "+ credential_lists/office\n"));
	assert_non_null(strstr(text, "password = (sensitive)"));
	assert_non_null(strstr(text, "Plan: 7 to add, 0 to change, 0 to destroy."));
	assert_null(strstr(text, SECRET));
	free(text);

	json_t *j = tw_plan_json(p);
	char *js = json_dumps(j, 0);
	assert_null(strstr(js, SECRET));
	assert_non_null(strstr(js, "\"(sensitive)\""));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "add")), 7);
	free(js);
	json_decref(j);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

#define CL1 "CL00000000000000000000000000000001"
#define CL2 "CL00000000000000000000000000000002"
#define AL1 "AL00000000000000000000000000000001"
#define SD1 "SD00000000000000000000000000000001"

static struct tw_model *converged_live(void)
{
	struct tw_model *h = tw_model_new(1);
	struct tw_res *cl = live(&h->root, "credential_lists", "{\"sid\":\"" CL1 "\",\"friendly_name\":\"office\"}");
	struct tw_res *d;
	live(cl, "credentials", "{\"sid\":\"CR00000000000000000000000000000001\",\"username\":\"alice\"}");
	live(&h->root, "ip_access_control_lists", "{\"sid\":\"" AL1 "\",\"friendly_name\":\"pbx\"}");
	d = live(&h->root, "sip_domains", "{\"sid\":\"" SD1 "\",\"domain_name\":\"office.sip.twilio.com\","
		 "\"voice_url\":\"https://a.example/v\",\"sip_registration\":true,\"voice_fallback_url\":null}");
	live(d, "auth.calls.credential_lists", "{\"sid\":\"" CL1 "\",\"friendly_name\":\"office\"}");
	live(d, "auth.calls.ip_access_control_lists", "{\"sid\":\"" AL1 "\",\"friendly_name\":\"pbx\"}");
	live(d, "auth.registrations.credential_lists", "{\"sid\":\"" CL1 "\",\"friendly_name\":\"office\"}");
	convert_all(h);
	return h;
}

static void test_converged_is_empty(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 0);
	assert_true(tw_plan_empty(p));
	/* matched resources learn their SIDs */
	assert_string_equal(tw_plan_live(p, w->root.children[0])->sid, CL1);
	/* and the plan wrote nothing into the models */
	assert_null(w->root.children[0]->sid);
	/* the password was not compared, and the plan says so */
	assert_int_equal(json_array_size(p->notes), 1);
	assert_non_null(strstr(json_string_value(json_array_get(p->notes, 0)), "--sync-passwords"));
	char *text = render_text(p);
	assert_non_null(strstr(text, "No changes."));
	free(text);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_sync_passwords_plans_update(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan_opts o = { .sync_passwords = 1 };
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	assert_int_equal(tw_plan_build(w, h, &o, &p, &err), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->acts[0].type, TW_ACT_UPDATE);
	assert_string_equal(p->acts[0].address, "credential_lists/office/credentials/alice");
	assert_true(p->acts[0].changes[0].sensitive);
	assert_null(p->acts[0].changes[0].after);

	struct tw_form f;
	step_form(p, &p->acts[0], 0, &f);
	assert_string_equal(f.body.buf, "Password=" SECRET);
	assert_null(strstr(f.shown.buf, SECRET));
	tw_form_release(&f);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_drift_update_and_owned_delete(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_res *d = h->root.children[2];
	(void)state;

	office(w);
	/* someone changed the URL in the Console and added a credential by hand */
	json_object_set_new(d->fields, "voice_url", json_string("https://evil.example/"));
	live(h->root.children[0], "credentials", "{\"sid\":\"CR00000000000000000000000000000009\",\"username\":\"mallory\"}");
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 2);
	struct tw_action *u = find(p, "sip_domains/office.sip.twilio.com");
	assert_non_null(u);
	assert_int_equal(u->type, TW_ACT_UPDATE);
	assert_int_equal(u->nchanges, 1);
	assert_string_equal(u->changes[0].field->name, "voice_url");
	assert_string_equal(json_string_value(u->changes[0].before), "https://evil.example/");
	assert_string_equal(json_string_value(u->changes[0].after), "https://a.example/v");
	struct tw_action *del = find(p, "credential_lists/office/credentials/mallory");
	assert_non_null(del);
	assert_int_equal(del->type, TW_ACT_DELETE);
	char *text = render_text(p);
	assert_non_null(strstr(text, "voice_url = \"https://evil.example/\" -> \"https://a.example/v\""));
	assert_non_null(strstr(text, "Plan: 0 to add, 1 to change, 1 to destroy."));
	free(text);

	struct tw_form f;
	step_form(p, u, 0, &f);
	assert_string_equal(f.body.buf, "VoiceUrl=https%3A%2F%2Fa.example%2Fv");
	tw_form_release(&f);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_unmanaged_prune_ignore(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	live(&h->root, "credential_lists", "{\"sid\":\"" CL2 "\",\"friendly_name\":\"old-list\"}");
	live(&h->root, "credential_lists", "{\"sid\":\"CL00000000000000000000000000000003\",\"friendly_name\":\"legacy-x\"}");
	live(&h->root, "ip_access_control_lists", "{\"sid\":\"AL00000000000000000000000000000005\",\"friendly_name\":\"other\"}");

	/* no prune: listed, not touched */
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 0);
	assert_int_equal(json_array_size(p->unmanaged), 3);
	tw_plan_free(p);

	/* prune credential lists, ignore legacy-*: only old-list goes */
	json_array_append_new(w->prune, json_string("credential_lists"));
	json_array_append_new(w->ignore, json_string("legacy-*"));
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 1);
	assert_string_equal(p->acts[0].address, "credential_lists/old-list");
	assert_int_equal(p->acts[0].type, TW_ACT_DELETE);
	assert_int_equal(json_array_size(p->unmanaged), 2);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_delete_waits_for_unmapping(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_res *d;
	(void)state;

	/* the file drops the IP ACL and the domain's mapping of it; the ACL is absent */
	decl(&w->root, "credential_lists", "office", NULL);
	decl(w->root.children[0], "credentials", "alice", "password=" SECRET, NULL);
	struct tw_res *acl = decl(&w->root, "ip_access_control_lists", "pbx", NULL);
	acl->absent = 1;
	d = decl(&w->root, "sip_domains", "office.sip.twilio.com", NULL);
	decl(d, "auth.calls.credential_lists", "office", NULL);
	decl(d, "auth.registrations.credential_lists", "office", NULL);

	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 2);
	assert_true(depends(p, "ip_access_control_lists/pbx",
			    "sip_domains/office.sip.twilio.com/auth.calls.ip_access_control_lists/pbx"));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_still_referenced_is_noted(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	/* only the list is declared absent; the domain is unmanaged and still maps it */
	json_object_del(w->kinds_present, "sip_domains");
	struct tw_res *cl = decl(&w->root, "credential_lists", "office", NULL);
	cl->absent = 1;
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->acts[0].ndeps, 0);
	assert_true(json_array_size(p->notes) >= 1);
	assert_non_null(strstr(json_string_value(json_array_get(p->notes, 0)), "still used by sip_domains/"));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_duplicate_identity_is_an_error(void **state)
{
	struct tw_model *w = want_model(), *h = converged_live();
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	live(&h->root, "credential_lists", "{\"sid\":\"" CL2 "\",\"friendly_name\":\"office\"}");
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), -1);
	assert_int_equal(json_array_size(p->problems), 1);
	const char *msg = json_string_value(json_array_get(p->problems, 0));
	assert_non_null(strstr(msg, "credential_lists/office"));
	assert_non_null(strstr(msg, CL1));
	assert_non_null(strstr(msg, CL2));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_res_index(void **state)
{
	struct tw_model *m = want_model();
	struct tw_res *office1, *lab, *office2;
	json_t *ix;
	(void)state;

	office1 = decl(&m->root, "credential_lists", "office", NULL);
	decl(&m->root, "ip_access_control_lists", "office", NULL);
	lab = decl(&m->root, "credential_lists", "lab", NULL);
	office2 = decl(&m->root, "credential_lists", "office", NULL);
	ix = tw_res_index(&m->root, K("credential_lists"));
	assert_int_equal(json_object_size(ix), 2);
	assert_ptr_equal(tw_res_index_first(&m->root, json_object_get(ix, "lab")), lab);
	/* a shared identity: every position, in order */
	assert_true(json_is_array(json_object_get(ix, "office")));
	assert_int_equal(json_array_size(json_object_get(ix, "office")), 2);
	assert_ptr_equal(tw_res_index_first(&m->root, json_object_get(ix, "office")), office1);
	assert_ptr_equal(m->root.children[json_integer_value(json_array_get(json_object_get(ix, "office"), 1))],
			 office2);
	assert_null(tw_res_index_first(&m->root, json_object_get(ix, "nosuch")));
	json_decref(ix);
	tw_model_free(m);
}

/* The live model keeps of an API object its sid and what the kind's fields read. */
static void test_live_keeps_read_fields(void **state)
{
	struct tw_model *h = tw_model_new(1);
	static const char *const keep[] = { "sid", "domain_name", "friendly_name", "recording", "secure", NULL };
	struct tw_res *t;
	(void)state;

	t = live(&h->root, "sip_trunks", "{\"sid\":\"TK00000000000000000000000000000001\",\"domain_name\":\"x.pstn.twilio.com\","
		 "\"friendly_name\":\"x\",\"recording\":{\"mode\":\"record-from-answer\",\"trim\":\"do-not-trim\"},"
		 "\"auth_type\":\"\",\"links\":{\"origination_urls\":\"https://trunking.twilio.com/v1/Trunks/TK00000000000000000000000000000001/"
		 "OriginationUrls\"},\"date_created\":\"2024-01-01T00:00:00Z\",\"secure\":false}");
	assert_int_equal(json_object_size(t->json), 5);
	for (const char *const *k = keep; *k; k++)
		assert_non_null(json_object_get(t->json, *k));
	assert_null(json_object_get(t->json, "links"));
	assert_null(json_object_get(t->json, "date_created"));
	assert_string_equal(t->sid, "TK00000000000000000000000000000001");
	assert_string_equal(t->id, "x.pstn.twilio.com");
	convert_all(h);
	assert_string_equal(tw_res_get_str(t, "name"), "x");
	assert_string_equal(tw_res_get_str(t, "recording_mode"), "record-from-answer");
	assert_string_equal(tw_res_get_str(t, "recording_trim"), "do-not-trim");
	assert_true(json_is_false(tw_res_get(t, "secure")));
	tw_model_free(h);
}

static void test_target_pulls_dependencies(void **state)
{
	struct tw_model *w = want_model(), *h = tw_model_new(1);
	const char *targets[] = { "sip_domains/office.sip.twilio.com" };
	struct tw_plan_opts o = { .targets = targets, .ntargets = 1 };
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	office(w);
	decl(&w->root, "credential_lists", "unrelated", NULL);
	assert_int_equal(tw_plan_build(w, h, &o, &p, &err), 0);
	/* the domain, its three mappings, and the two lists they need; not alice, not unrelated */
	assert_int_equal(p->n, 6);
	assert_non_null(find(p, "credential_lists/office"));
	assert_non_null(find(p, "ip_access_control_lists/pbx"));
	assert_null(find(p, "credential_lists/unrelated"));
	assert_null(find(p, "credential_lists/office/credentials/alice"));
	for (size_t i = 0; i < p->n; i++)
		for (size_t d = 0; d < p->acts[i].ndeps; d++)
			assert_true(p->acts[i].deps[d] < p->n);
	tw_plan_free(p);

	const char *bad[] = { "sip_domains/nosuch.sip.twilio.com" };
	o.targets = bad;
	assert_int_equal(tw_plan_build(w, h, &o, &p, &err), -1);
	assert_int_equal(err.kind, TW_ERR_USAGE);
	assert_non_null(strstr(err.msg, "nosuch"));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_value_equal(void **state)
{
	const struct tw_field *url = tw_kind_field(K("sip_domains"), "voice_url");
	const struct tw_field *reg = tw_kind_field(K("sip_domains"), "sip_registration");
	const struct tw_field *cidr = tw_kind_field(K("ip_access_control_lists.addresses"), "cidr");
	json_t *e = json_string(""), *n = json_null(), *x = json_string("x"), *i32 = json_integer(32);
	(void)state;

	assert_true(tw_value_equal(url, e, n));
	assert_true(tw_value_equal(url, e, NULL));
	assert_false(tw_value_equal(url, x, n));
	assert_true(tw_value_equal(reg, json_false(), n));
	assert_false(tw_value_equal(reg, json_true(), n));
	assert_false(tw_value_equal(cidr, i32, n));
	assert_true(tw_value_equal(cidr, i32, i32));
	json_decref(e);
	json_decref(n);
	json_decref(x);
	json_decref(i32);

	/* a field flagged TW_F_ICASE (a Build answers "PUBLIC") compares without case; others do not */
	{
		const struct tw_field *vis = tw_kind_field(K("functions"), "visibility");
		json_t *lower = json_string("public"), *upper = json_string("PUBLIC"), *other = json_string("protected");
		json_t *u1 = json_string("https://a.example/v"), *u2 = json_string("https://A.example/V");
		assert_true(vis->flags & TW_F_ICASE);
		assert_true(tw_value_equal(vis, lower, upper));
		assert_false(tw_value_equal(vis, other, upper));
		assert_false(url->flags & TW_F_ICASE);
		assert_false(tw_value_equal(url, u1, u2));
		json_decref(lower);
		json_decref(upper);
		json_decref(other);
		json_decref(u1);
		json_decref(u2);
	}
}

#define PN1 "PN00000000000000000000000000000001"

/* A declared number routed by URL, in fax mode, and its live counterpart from `json`. */
static struct tw_plan *number_plan(const char *json, struct tw_model **w, struct tw_model **h)
{
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;

	*w = want_model();
	*h = tw_model_new(1);
	json_object_set_new((*w)->kinds_present, "phone_numbers", json_true());
	decl(&(*w)->root, "phone_numbers", "+16505550100", "friendly_name=main", "voice_url=https://a.example/v",
	     "voice_receive_mode=fax", NULL);
	if (json)
		live(&(*h)->root, "phone_numbers", json);
	convert_all(*h);
	assert_int_equal(tw_plan_build(*w, *h, NULL, &p, &err), 0);
	return p;
}

static void test_not_returned_is_not_compared(void **state)
{
	struct tw_model *w, *h;
	struct tw_plan *p;
	struct tw_action *a;
	struct tw_form f;
	char *text;
	(void)state;

	/* left out of the answer, or null (TW_F_MAY_OMIT): unknown, not compared; the notes say so */
	p = number_plan("{\"sid\":\"" PN1 "\",\"phone_number\":\"+16505550100\",\"friendly_name\":\"main\","
			"\"voice_url\":\"https://a.example/v\"}", &w, &h);
	assert_true(tw_plan_empty(p));
	assert_int_equal(json_array_size(p->notes), 1);
	assert_non_null(strstr(json_string_value(json_array_get(p->notes, 0)),
			       "Twilio did not return voice_receive_mode of phone_numbers/+16505550100"));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
	p = number_plan("{\"sid\":\"" PN1 "\",\"phone_number\":\"+16505550100\",\"friendly_name\":\"main\","
			"\"voice_url\":\"https://a.example/v\",\"voice_receive_mode\":null}", &w, &h);
	assert_true(tw_plan_empty(p));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);

	/* null for a field without the flag is "unset": voice_url is written */
	p = number_plan("{\"sid\":\"" PN1 "\",\"phone_number\":\"+16505550100\",\"friendly_name\":\"main\","
			"\"voice_url\":null,\"voice_receive_mode\":\"fax\"}", &w, &h);
	assert_int_equal(p->n, 1);
	assert_int_equal(p->acts[0].nchanges, 1);
	assert_string_equal(p->acts[0].changes[0].field->name, "voice_url");
	assert_int_equal(json_array_size(p->notes), 0);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);

	/* an update for another reason writes the unreturned value with it */
	p = number_plan("{\"sid\":\"" PN1 "\",\"phone_number\":\"+16505550100\",\"friendly_name\":\"old\","
			"\"voice_url\":\"https://a.example/v\"}", &w, &h);
	a = find(p, "phone_numbers/+16505550100");
	assert_non_null(a);
	assert_int_equal(a->type, TW_ACT_UPDATE);
	assert_int_equal(a->nchanges, 2);
	assert_true(a->changes[1].unread);
	step_form(p, a, 0, &f);
	assert_string_equal(f.body.buf, "FriendlyName=main&VoiceReceiveMode=fax");
	tw_form_release(&f);
	text = render_text(p);
	assert_non_null(strstr(text, "voice_receive_mode = (not returned) -> \"fax\""));
	free(text);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_create_ignored_field_is_written_after_the_create(void **state)
{
	struct tw_model *w, *h;
	struct tw_plan *p;
	struct tw_action *a;
	struct tw_form f;
	char *text;
	(void)state;

	w = want_model();
	h = tw_model_new(1);
	json_object_set_new(w->kinds_present, "phone_numbers", json_true());
	decl(&w->root, "phone_numbers", "+16505550100", "purchase=true", "voice_receive_mode=fax", NULL);
	{
		struct tw_err err = TW_ERR_INIT;
		assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	}
	a = find(p, "phone_numbers/+16505550100");
	assert_non_null(a);
	assert_int_equal(a->type, TW_ACT_CREATE);
	/* a purchase ignores VoiceReceiveMode: the same action updates it right after */
	{
		struct tw_step steps[TW_MAX_STEPS];
		assert_int_equal(tw_apply_steps(a, steps), 2);
		assert_int_equal(steps[0].op, TW_STEP_CREATE);
		assert_int_equal(steps[1].op, TW_STEP_UPDATE);
	}
	step_form(p, a, 1, &f);
	assert_string_equal(f.body.buf, "VoiceReceiveMode=fax");
	tw_form_release(&f);
	text = render_text(p);
	assert_non_null(strstr(text, "voice_receive_mode = \"fax\"  # set by an update after the purchase"));
	free(text);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);

	/* nothing to set after: one request */
	w = want_model();
	h = tw_model_new(1);
	json_object_set_new(w->kinds_present, "phone_numbers", json_true());
	decl(&w->root, "phone_numbers", "+16505550100", "purchase=true", "friendly_name=x", NULL);
	{
		struct tw_err err = TW_ERR_INIT;
		assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	}
	a = find(p, "phone_numbers/+16505550100");
	{
		struct tw_step steps[TW_MAX_STEPS];
		assert_int_equal(tw_apply_steps(a, steps), 1);
	}
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

static void test_create_form(void **state)
{
	struct tw_model *w = want_model(), *h = tw_model_new(1);
	struct tw_res *acl = decl(&w->root, "ip_access_control_lists", "pbx", NULL);
	struct tw_res *d = decl(&w->root, "sip_domains", "a.sip.twilio.com", "secure=false", "voice_url=", NULL);
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_form f;
	(void)state;

	decl(acl, "ip_access_control_lists.addresses", "pbx host", "ip=10.0.0.1", "cidr=24", NULL);
	decl(d, "auth.calls.ip_access_control_lists", "pbx", NULL);
	/* the ACL exists: its SID, known from the plan, goes into what refers to it */
	live(&h->root, "ip_access_control_lists", "{\"sid\":\"" AL1 "\",\"friendly_name\":\"pbx\"}");
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 3);

	step_form(p, find(p, "ip_access_control_lists/pbx/addresses/pbx host"), 0, &f);
	assert_string_equal(f.body.buf, "FriendlyName=pbx%20host&IpAddress=10.0.0.1&CidrPrefixLength=24");
	tw_form_release(&f);

	step_form(p, find(p, "sip_domains/a.sip.twilio.com"), 0, &f);
	assert_string_equal(f.body.buf, "DomainName=a.sip.twilio.com&VoiceUrl=&Secure=false");
	tw_form_release(&f);

	step_form(p, find(p, "sip_domains/a.sip.twilio.com/auth.calls.ip_access_control_lists/pbx"), 0, &f);
	assert_string_equal(f.body.buf, "IpAccessControlListSid=" AL1);
	tw_form_release(&f);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}


#define AD1 "AD00000000000000000000000000000001"
#define AD2 "AD00000000000000000000000000000002"

static struct tw_model *emergency_model(void)
{
	struct tw_model *w = tw_model_new(0);
	json_object_set_new(w->kinds_present, "addresses", json_true());
	json_object_set_new(w->kinds_present, "phone_numbers", json_true());
	return w;
}

static struct tw_res *hq(struct tw_res *root, const char *country)
{
	char iso[32];
	snprintf(iso, sizeof(iso), "iso_country=%s", country);
	return decl(root, "addresses", "hq", "customer_name=Move Wheels", "street=1 Main St", "city=Springfield",
		    "region=IL", "postal_code=62701", iso, "emergency_enabled=true", NULL);
}

static void live_hq(struct tw_res *root, const char *sid, const char *name)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"sid\":\"%s\",\"friendly_name\":\"%s\",\"customer_name\":\"Move Wheels\",\"street\":\"1 Main St\","
		 "\"street_secondary\":null,\"city\":\"Springfield\",\"region\":\"IL\",\"postal_code\":\"62701\","
		 "\"iso_country\":\"US\",\"emergency_enabled\":true}", sid, name);
	live(root, "addresses", json);
}

static void live_number(struct tw_res *root, const char *address_sid)
{
	char json[256];
	snprintf(json, sizeof(json), "{\"sid\":\"" PN1 "\",\"phone_number\":\"+16505550100\","
		 "\"emergency_address_sid\":%s%s%s}", address_sid ? "\"" : "", address_sid ? address_sid : "null",
		 address_sid ? "\"" : "");
	live(root, "phone_numbers", json);
}

static size_t steps_of(const struct tw_action *a, struct tw_step *steps)
{
	assert_non_null(a);
	return tw_apply_steps(a, steps);
}

/* A write-only field is sent with every write (the file's value or its default) and never compared. */
static void test_write_only_field(void **state)
{
	struct tw_model *w = emergency_model(), *h = tw_model_new(1);
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_form f;
	struct tw_res *a;
	(void)state;

	a = hq(&w->root, "US");
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	step_form(p, find(p, "addresses/hq"), 0, &f);
	assert_non_null(strstr(f.body.buf, "IsoCountry=US"));
	assert_non_null(strstr(f.body.buf, "&AutoCorrectAddress=false"));
	tw_form_release(&f);
	tw_plan_free(p);

	/* converged: nothing to do although Twilio never returns AutoCorrectAddress */
	json_object_set_new(a->fields, "auto_correct_address", json_true());
	live_hq(&h->root, AD1, "hq");
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 0);
	tw_plan_free(p);

	/* an update sends it along */
	json_object_set_new(a->fields, "city", json_string("Shelbyville"));
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	step_form(p, find(p, "addresses/hq"), 0, &f);
	assert_string_equal(f.body.buf, "City=Shelbyville&AutoCorrectAddress=true");
	tw_form_release(&f);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

/* The documented order of an emergency address: link then wait; to change it, unlink and wait first. */
static void test_settling_field_steps(void **state)
{
	struct tw_model *w, *h;
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_step st[TW_MAX_STEPS];
	struct tw_form f;
	struct tw_res *n;
	(void)state;

	/* from one address to another */
	w = emergency_model();
	h = tw_model_new(1);
	hq(&w->root, "US");
	decl(&w->root, "addresses", "annex", "customer_name=x", "street=2 Main St", "city=Springfield",
	     "region=IL", "postal_code=62701", "iso_country=US", NULL);
	n = decl(&w->root, "phone_numbers", "+16505550100", "emergency_address=annex", NULL);
	live_hq(&h->root, AD1, "hq");
	live_hq(&h->root, AD2, "annex");
	live_number(&h->root, AD1);
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, 2);      /* annex's street, and the number */
	assert_int_equal(steps_of(find(p, "phone_numbers/+16505550100"), st), 4);
	assert_int_equal(st[0].op, TW_STEP_CLEAR);
	assert_int_equal(st[1].op, TW_STEP_SETTLE);
	assert_true(st[1].cleared);
	assert_int_equal(st[2].op, TW_STEP_UPDATE);
	assert_int_equal(st[3].op, TW_STEP_SETTLE);
	assert_false(st[3].cleared);
	assert_string_equal(st[3].field->settle->set, "registered");
	step_form(p, find(p, "phone_numbers/+16505550100"), 0, &f);
	assert_string_equal(f.body.buf, "EmergencyAddressSid=");
	tw_form_release(&f);
	step_form(p, find(p, "phone_numbers/+16505550100"), 2, &f);
	assert_string_equal(f.body.buf, "EmergencyAddressSid=" AD2);
	tw_form_release(&f);
	tw_plan_free(p);

	/* unlinked: write "" and wait until unregistered */
	json_object_set_new(n->fields, "emergency_address", json_string(""));
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(steps_of(find(p, "phone_numbers/+16505550100"), st), 2);
	assert_int_equal(st[0].op, TW_STEP_UPDATE);
	assert_int_equal(st[1].op, TW_STEP_SETTLE);
	assert_true(st[1].cleared);
	tw_plan_free(p);

	/* released: unlinked first (Twilio keeps a linked number), then deleted */
	n->absent = 1;
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(steps_of(find(p, "phone_numbers/+16505550100"), st), 3);
	assert_int_equal(st[0].op, TW_STEP_CLEAR);
	assert_true(st[0].live);
	assert_int_equal(st[1].op, TW_STEP_SETTLE);
	assert_int_equal(st[2].op, TW_STEP_DELETE);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);

	/* bought with an address: the purchase ignores it, the update after it sets it, then wait */
	w = emergency_model();
	h = tw_model_new(1);
	hq(&w->root, "US");
	decl(&w->root, "phone_numbers", "+16505550100", "purchase=true", "emergency_address=hq", NULL);
	live_hq(&h->root, AD1, "hq");
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(steps_of(find(p, "phone_numbers/+16505550100"), st), 3);
	assert_int_equal(st[0].op, TW_STEP_CREATE);
	assert_int_equal(st[1].op, TW_STEP_UPDATE);
	assert_int_equal(st[2].op, TW_STEP_SETTLE);
	step_form(p, find(p, "phone_numbers/+16505550100"), 1, &f);
	assert_string_equal(f.body.buf, "EmergencyAddressSid=" AD1);
	tw_form_release(&f);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

/* A new country is a new address: created first, the number moves to it, then the old one goes. */
static void test_create_first_replace(void **state)
{
	struct tw_model *w = emergency_model(), *h = tw_model_new(1);
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_step st[TW_MAX_STEPS];
	const struct tw_action *rep = NULL, *del = NULL, *num;
	(void)state;

	hq(&w->root, "CA");
	decl(&w->root, "phone_numbers", "+16505550100", "emergency_address=hq", NULL);
	live_hq(&h->root, AD1, "hq");
	live_number(&h->root, AD1);
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	for (size_t i = 0; i < p->n; i++) {
		if (p->acts[i].type == TW_ACT_REPLACE)
			rep = &p->acts[i];
		if (p->acts[i].type == TW_ACT_DELETE)
			del = &p->acts[i];
	}
	assert_non_null(rep);
	assert_non_null(del);
	assert_true(tw_act_creates_first(rep));
	assert_true(del->secondary);
	assert_ptr_equal(del->have, rep->have);
	/* the replace only creates */
	assert_int_equal(steps_of(rep, st), 1);
	assert_int_equal(st[0].op, TW_STEP_CREATE);
	/* the number's reference moves to the new SID, known after apply, in the documented order */
	num = find(p, "phone_numbers/+16505550100");
	assert_non_null(num);
	assert_int_equal(num->type, TW_ACT_UPDATE);
	assert_int_equal(num->nchanges, 1);
	assert_true(num->changes[0].unknown);
	assert_int_equal(steps_of(num, st), 4);
	assert_int_equal(st[0].op, TW_STEP_CLEAR);
	/* the number waits for the new address; the old one waits for the number */
	for (size_t i = 0, ok = 0; i < 2; i++, ok = 0) {
		const struct tw_action *x = i ? del : num, *y = i ? num : rep;
		for (size_t d = 0; d < x->ndeps; d++)
			ok |= &p->acts[x->deps[d]] == y;
		assert_true(ok);
	}
	/* one add, one change, one destroy, as a plan summary counts a replace */
	assert_int_equal(p->add, 1);
	assert_int_equal(p->change, 1);
	assert_int_equal(p->destroy, 1);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

/* Twilio will not delete an address a number still uses: a plan that leaves it linked fails. */
static void test_blocking_reference_is_a_problem(void **state)
{
	struct tw_model *w = emergency_model(), *h = tw_model_new(1);
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	char *problems;
	(void)state;

	json_object_del(w->kinds_present, "phone_numbers");     /* the number is not the file's */
	hq(&w->root, "US")->absent = 1;
	live_hq(&h->root, AD1, "hq");
	live_number(&h->root, AD1);
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), -1);
	problems = json_dumps(p->problems, 0);
	assert_non_null(strstr(problems, "addresses/hq: cannot be deleted while phone_numbers/+16505550100 uses it "
				      "as its emergency_address"));
	assert_non_null(strstr(problems, "the file does not declare it"));
	free(problems);
	tw_plan_free(p);

	/* declared and unlinked by the same plan: the delete waits for the unlink */
	json_object_set_new(w->kinds_present, "phone_numbers", json_true());
	decl(&w->root, "phone_numbers", "+16505550100", "emergency_address=", NULL);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_true(depends(p, "addresses/hq", "phone_numbers/+16505550100"));
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

/* Settings: never created nor deleted; changes of a bulk kind go in ceil(N / max) requests. */
static void test_settings_in_batches(void **state)
{
	struct tw_model *w = tw_model_new(0), *h = tw_model_new(1);
	const struct tw_kind *ck = K("voice_permissions.countries");
	struct tw_res *vp, *lvp;
	struct tw_plan *p;
	struct tw_err err = TW_ERR_INIT;
	struct tw_step st[TW_MAX_STEPS];
	struct tw_form f;
	size_t n = ck->bulk->max + 5, leaders = 0, members = 0;
	char iso[3] = "AA", json[256], *problems;
	(void)state;

	json_object_set_new(w->kinds_present, "voice_permissions", json_true());
	vp = decl(&w->root, "voice_permissions", "voice_permissions", "inherit=false", NULL);
	lvp = live(&h->root, "voice_permissions", "{\"dialing_permissions_inheritance\":true}");
	assert_string_equal(lvp->id, "voice_permissions");
	assert_null(lvp->sid);
	for (size_t i = 0; i < n + 3; i++) {
		iso[0] = (char)('A' + i / 26);
		iso[1] = (char)('A' + i % 26);
		snprintf(json, sizeof(json), "{\"iso_code\":\"%s\",\"low_risk_numbers_enabled\":false,"
			 "\"high_risk_special_numbers_enabled\":false,\"high_risk_tollfraud_numbers_enabled\":false}", iso);
		live(lvp, "voice_permissions.countries", json);
		if (i < n)      /* the last three are the file's to leave alone */
			decl(vp, "voice_permissions.countries", iso, "low_risk_numbers=true", NULL);
	}
	convert_all(h);
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), 0);
	assert_int_equal(p->n, n + 1);
	assert_int_equal(p->destroy, 0);
	for (size_t i = 0; i < p->n; i++) {
		const struct tw_action *a = &p->acts[i];
		size_t ns = tw_apply_steps(a, st);
		if (a->kind != ck) {
			assert_int_equal(ns, 1);        /* Voice Settings: one POST to its item */
			assert_int_equal(st[0].op, TW_STEP_UPDATE);
			continue;
		}
		if (a->batch) {
			members++;
			assert_int_equal(ns, 0);
			assert_true(depends(p, a->address, p->acts[a->batch - 1].address));
		} else {
			leaders++;
			assert_int_equal(ns, 1);
			assert_int_equal(st[0].op, TW_STEP_BULK);
		}
	}
	assert_int_equal(leaders, (n + ck->bulk->max - 1) / ck->bulk->max);
	assert_int_equal(leaders + members, n);
	step_form(p, find(p, "voice_permissions/countries/AA"), 0, &f);
	assert_true(!strncmp(f.body.buf, "UpdateRequest=%5B%7B%22iso_code%22%3A%22AA%22%2C%22low_risk_numbers_enabled"
			     "%22%3A%22true%22%7D%2C%7B%22iso_code%22%3A%22AB%22", 100));
	tw_form_release(&f);
	tw_plan_free(p);

	/* a country Twilio does not list, and settings declared absent, are problems */
	decl(vp, "voice_permissions.countries", "ZZ", "low_risk_numbers=true", NULL);
	vp->absent = 1;
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), -1);
	problems = json_dumps(p->problems, 0);
	assert_non_null(strstr(problems, "voice_permissions: settings cannot be absent"));
	tw_plan_free(p);
	free(problems);
	vp->absent = 0;
	assert_int_equal(tw_plan_build(w, h, NULL, &p, &err), -1);
	problems = json_dumps(p->problems, 0);
	assert_non_null(strstr(problems, "voice_permissions/countries/ZZ: Twilio has no such voice_permissions.countries"));
	free(problems);
	tw_plan_free(p);
	tw_model_free(w);
	tw_model_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_account_creates_in_order),
		cmocka_unit_test(test_converged_is_empty),
		cmocka_unit_test(test_sync_passwords_plans_update),
		cmocka_unit_test(test_drift_update_and_owned_delete),
		cmocka_unit_test(test_unmanaged_prune_ignore),
		cmocka_unit_test(test_delete_waits_for_unmapping),
		cmocka_unit_test(test_still_referenced_is_noted),
		cmocka_unit_test(test_duplicate_identity_is_an_error),
		cmocka_unit_test(test_res_index),
		cmocka_unit_test(test_live_keeps_read_fields),
		cmocka_unit_test(test_target_pulls_dependencies),
		cmocka_unit_test(test_value_equal),
		cmocka_unit_test(test_create_form),
		cmocka_unit_test(test_not_returned_is_not_compared),
		cmocka_unit_test(test_create_ignored_field_is_written_after_the_create),
		cmocka_unit_test(test_write_only_field),
		cmocka_unit_test(test_settling_field_steps),
		cmocka_unit_test(test_create_first_replace),
		cmocka_unit_test(test_blocking_reference_is_a_problem),
		cmocka_unit_test(test_settings_in_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
