/* voice_permissions.c - the account's voice dialing permissions (Voice v1 DialingPermissions)
 *
 * Settings, not resources: every country exists at Twilio, with three
 * switches (low-risk numbers, high-risk special services, high-risk toll
 * fraud ranges), and the account says whether a subaccount inherits its
 * parent's.  The file manages the countries it lists and leaves the others
 * alone.  Twilio changes countries only in batches (BulkCountryUpdates,
 * whose documented objects carry "true"/"false" strings:
 * twilio.com/docs/voice/api/dialingpermissions-bulkcountryupdate-resource).
 */
#include <string.h>

#include "kinds.h"
#include "twprov/model.h"

/*
 * twilio_default (what twprov export leaves out): a new account's permissions, as the fake's
 * README sources them: "By default, new subaccounts will inherit the Master Project
 * permissions", and every country closed but the low-risk numbers of the account's own country
 * (the Twilio blog "Increase conversions with Voice Dialing Geographic Permissions REST API",
 * 2019; support.twilio.com 223180228).
 */
static const struct tw_field permissions_fields[] = {
	{ .name = "inherit", .param = "DialingPermissionsInheritance", .json = "dialing_permissions_inheritance",
	  .type = TW_V_BOOL, .twilio_default = "true",
	  .doc = "a subaccount uses its parent account's permissions (Voice Settings)" },
};

const struct tw_kind tw_kind_voice_permissions = {
	.name = "voice_permissions",
	.yaml_key = "voice_permissions",
	.product = TW_PRODUCT_VOICE,
	.item = "/v1/Settings",
	.fields = permissions_fields,
	.nfields = TW_NFIELDS(permissions_fields),
	.flags = TW_K_SINGLE | TW_K_SETTING,
	.doc = "voice dialing permissions: which countries calls may go to (the countries listed only)",
};

static const struct tw_field country_fields[] = {
	{ .name = "iso_code", .json = "iso_code", .type = TW_V_STR, .flags = TW_F_IDENTITY,
	  .check = tw_check_iso_country, .doc = "the country's ISO code (US stands for the US and Canada); its identity" },
	{ .name = "low_risk_numbers", .param = "low_risk_numbers_enabled", .json = "low_risk_numbers_enabled",
	  .type = TW_V_BOOL, .twilio_default = "false", .doc = "calls to the country's ordinary numbers" },
	{ .name = "high_risk_special_numbers", .param = "high_risk_special_numbers_enabled",
	  .json = "high_risk_special_numbers_enabled", .type = TW_V_BOOL, .twilio_default = "false",
	  .doc = "calls to premium, shared-cost and other special service numbers" },
	{ .name = "high_risk_tollfraud_numbers", .param = "high_risk_tollfraud_numbers_enabled",
	  .json = "high_risk_tollfraud_numbers_enabled", .type = TW_V_BOOL, .twilio_default = "false",
	  .doc = "calls to the ranges most used for toll fraud" },
};

/* The country whose calling code (or NANP area code) is the longest prefix of `digits`, or NULL. */
static const char *country_of(const char *digits)
{
	const char *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < tw_ncalling_codes; i++) {
		size_t n = strlen(tw_calling_codes[i].prefix);
		if (n > best_len && !strncmp(digits, tw_calling_codes[i].prefix, n)) {
			best = tw_calling_codes[i].iso;
			best_len = n;
		}
	}
	return best;
}

int tw_prefix_reaches(const char *prefix, const char *iso)
{
	const char *digits = prefix[0] == '+' ? prefix + 1 : prefix;
	const char *of = country_of(digits);

	if (of && !strcmp(of, iso))
		return 1;
	/* a shorter prefix reaches every country whose numbers start with it */
	for (size_t i = 0; i < tw_ncalling_codes; i++)
		if (!strcmp(tw_calling_codes[i].iso, iso) && !strncmp(tw_calling_codes[i].prefix, digits, strlen(digits)))
			return 1;
	return 0;
}

/*
 * A country the file closes to ordinary numbers that a dialer lets phones
 * call: their calls would fail at Twilio (a warning: the dialer may be meant
 * to refuse them with its own message).
 */
static void country_validate(struct tw_res *c, struct tw_diags *d)
{
	const struct tw_res *root = &tw_res_model(c)->root;

	if (!c->id || !json_is_false(tw_res_get(c, "low_risk_numbers")))
		return;
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *dom = root->children[i], *out = tw_gen_child(dom, &tw_kind_domain_outbound);
		json_t *allowed, *v;
		size_t j;
		if (!out || dom->absent)
			continue;
		allowed = tw_res_get(out, "allowed_destinations");
		if (!allowed) {
			tw_res_diag(d, 1, out, NULL, "its phones may call any country, but voice_permissions closes %s to "
				    "ordinary numbers: those calls will fail (set allowed_destinations)", c->id);
			continue;
		}
		json_array_foreach(allowed, j, v)
			if (json_is_string(v) && tw_prefix_reaches(json_string_value(v), c->id))
				tw_res_diag(d, 1, out, "allowed_destinations", "%s reaches %s, which voice_permissions closes "
					    "to ordinary numbers: those calls will fail", json_string_value(v), c->id);
	}
}

static const struct tw_kind_hooks country_hooks = { .validate = country_validate };

/* Twilio documents no limit per request; a batch bounds what one refusal leaves undone. */
static const struct tw_bulk country_bulk = {
	.path = "/v1/DialingPermissions/BulkCountryUpdates",
	.param = "UpdateRequest",
	.id_key = "iso_code",
	.max = 100,
};

const struct tw_kind tw_kind_countries = {
	.name = "voice_permissions.countries",
	.yaml_key = "countries",
	.parent = "voice_permissions",
	.product = TW_PRODUCT_VOICE,
	.collection = "/v1/DialingPermissions/Countries",
	.list_key = "content",
	.fields = country_fields,
	.nfields = TW_NFIELDS(country_fields),
	.flags = TW_K_MAPPED | TW_K_SETTING,
	.bulk = &country_bulk,
	.hooks = &country_hooks,
	.doc = "the countries whose permissions the file sets, written ISO: {low_risk_numbers: true, ...}",
};
