/*
 * fuzz_page.c - libFuzzer harness for the reader of API list pages
 *
 * The bytes are parsed as JSON (as tw_http does with a 2xx body) and read as
 * a list page of every kind the registry has, the way tw_live_read reads an
 * account: tw_page_items with the kind's list key (or meta.key), tw_page_next
 * and tw_http_link on the next-page link, tw_live_set_json on every item;
 * the first live resources of each kind get the same page as their children.
 * Then tw_live_convert resolves references, the plan is built against a file
 * that declares every kind (prune on), and every action's requests are formed
 * (tw_apply_steps, tw_apply_form) and both renderings printed: hostile live
 * data must not crash any stage between Twilio's answer and the requests
 * twprov would send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "twprov/apply.h"
#include "twprov/config.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/plan.h"

#define MAX_PARENTS 3   /* live resources per kind that get the page as their children too */

static const char want_yaml[] =
	"twprov: 1\n"
	"prune: [credential_lists, ip_access_control_lists, sip_domains, applications,\n"
	"        connection_policies, byoc_trunks, sip_trunks]\n"
	"ignore: [\"legacy-*\"]\n"
	"credential_lists:\n"
	"  - name: office-phones\n"
	"    credentials:\n"
	"      - {username: alice, password: \"${env:SIP_PW_ALICE}\"}\n"
	"      - {username: bob, password: \"${env:SIP_PW_BOB}\"}\n"
	"  - name: gone\n"
	"    state: absent\n"
	"ip_access_control_lists:\n"
	"  - name: asterisk-pbx\n"
	"    addresses:\n"
	"      - {name: pbx, ip: 138.2.68.107, cidr: 32}\n"
	"connection_policies:\n"
	"  - name: carrier-x\n"
	"    targets:\n"
	"      - {name: sbc1, target: \"sip:sbc1.carrier.example:5060\", priority: 10, weight: 60, enabled: true}\n"
	"byoc_trunks:\n"
	"  - name: carrier-x\n"
	"    voice_url: https://example.twil.io/byoc-in\n"
	"    connection_policy: carrier-x\n"
	"    from_domain: office.sip.twilio.com\n"
	"sip_domains:\n"
	"  - domain_name: office.sip.twilio.com\n"
	"    friendly_name: Office\n"
	"    voice_url: https://example.twil.io/sip-out\n"
	"    sip_registration: true\n"
	"    byoc_trunk: carrier-x\n"
	"    auth:\n"
	"      calls:\n"
	"        credential_lists: [office-phones]\n"
	"        ip_access_control_lists: [asterisk-pbx]\n"
	"      registrations:\n"
	"        credential_lists: [office-phones]\n"
	"applications:\n"
	"  - name: inbound\n"
	"    voice_url: https://example.twil.io/inbound\n"
	"    voice_method: POST\n"
	"    voice_caller_id_lookup: false\n"
	"sip_trunks:\n"
	"  - domain_name: pbx.pstn.twilio.com\n"
	"    name: asterisk\n"
	"    recording_mode: do-not-record\n"
	"    origination_urls:\n"
	"      - {name: asterisk, sip_url: \"sip:138.2.68.107:5060\", priority: 10, weight: 10}\n"
	"    credential_lists: [office-phones]\n"
	"    ip_access_control_lists: [asterisk-pbx]\n"
	"phone_numbers:\n"
	"  - number: \"+19863334949\"\n"
	"    sip_trunk: pbx.pstn.twilio.com\n"
	"  - number: \"+16505551111\"\n"
	"    voice_application: inbound\n"
	"  - number: \"+16505550000\"\n"
	"    purchase: true\n"
	"    voice_url: https://example.twil.io/direct\n"
	"  - number: \"+16505559999\"\n"
	"    state: absent\n";

static struct tw_http *http;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tw_http_opts o;
	struct tw_err err = TW_ERR_INIT;

	(void)argc;
	(void)argv;
	setenv("SIP_PW_ALICE", "Alice-Desk-Phone-2024", 1);
	setenv("SIP_PW_BOB", "Bob-Soft-Phone-2024", 1);
	tw_http_opts_init(&o);
	o.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	o.user = o.account_sid;
	o.pass = "not-used";
	o.api_url = "https://fuzz.invalid";
	http = tw_http_new(&o, &err);
	devnull = fopen("/dev/null", "w");
	if (!http || !devnull)
		abort();
	return 0;
}

/* The page read as a list of kind k under `parent`, as far as the reader goes (it stops at an
 * item without a valid SID); returns how many items it took. */
static size_t read_items(const json_t *page, const struct tw_kind *k, struct tw_res *parent)
{
	json_t *items = tw_page_items(page, k->list_key), *item;
	size_t i, n = 0;

	json_array_foreach(items, i, item) {
		struct tw_res *r = tw_res_new(k, parent);
		tw_res_add_child(parent, r);
		n++;
		if (tw_live_set_json(r, item, NULL) < 0)
			break;
	}
	parent->children_read = 1;
	return n;
}

static void read_account(const json_t *page, struct tw_model *have)
{
	size_t ntop;
	const struct tw_kind *const *top = tw_kind_children(NULL, &ntop);

	for (size_t t = 0; t < ntop; t++) {
		size_t first = have->root.nchildren, n, nkids;
		const struct tw_kind *const *kids;
		if (top[t]->flags & TW_K_LOCAL)
			continue;
		n = read_items(page, top[t], &have->root);
		kids = tw_kind_children(top[t], &nkids);
		for (size_t i = 0; i < n && i < MAX_PARENTS; i++)
			for (size_t c = 0; c < nkids; c++)
				if (!(kids[c]->flags & TW_K_LOCAL))
					read_items(page, kids[c], have->root.children[first + i]);
	}
	for (size_t i = 0; i < have->root.nchildren; i++)
		tw_live_convert(have->root.children[i], &have->root);
}

static void form_requests(const struct tw_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct tw_action *a = &p->acts[i];
		struct tw_step steps[TW_MAX_STEPS];
		size_t n = tw_apply_steps(a, steps);
		for (size_t s = 0; s < n; s++) {
			struct tw_form f;
			tw_form_init(&f);
			tw_apply_form(p, NULL, a, &steps[s], &f);
			tw_form_release(&f);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_model *want = NULL, *have;
	struct tw_plan *p = NULL;
	struct tw_err err = TW_ERR_INIT;
	json_error_t je;
	const char *next;
	json_t *page;

	page = json_loadb((const char *)data, size, 0, &je);
	if (!json_is_object(page)) {   /* tw_http only passes objects on */
		json_decref(page);
		return 0;
	}
	next = tw_page_next(page);
	for (int prod = 0; next && prod < TW_PRODUCT_COUNT; prod++)
		free(tw_http_link(http, (enum tw_product)prod, next));

	have = tw_model_new(1);
	read_account(page, have);
	if (tw_config_load_buf("want.yaml", NULL, want_yaml, sizeof(want_yaml) - 1, &want, &err) < 0)
		abort();        /* the harness's own file must stay valid */
	if (tw_plan_build(want, have, NULL, &p, &err) == 0) {
		json_t *j = tw_plan_json(p);
		char *s = json_dumps(j, 0);
		form_requests(p);
		tw_plan_print(p, devnull);
		free(s);
		json_decref(j);
	}
	tw_plan_free(p);
	tw_model_free(want);
	tw_model_free(have);
	json_decref(page);
	return 0;
}
