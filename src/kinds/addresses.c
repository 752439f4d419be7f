/* addresses.c - addresses, the emergency addresses of phone numbers (2010 Addresses)
 *
 * Twilio validates an address and, unless AutoCorrectAddress is false,
 * stores a corrected form of it (twilio.com/docs/usage/api/address): the
 * stored street would then differ from the file's at every plan.  So twprov
 * sends AutoCorrectAddress=false unless the file says otherwise, and Twilio
 * answers a near match with its suggestion (error 21629), which apply shows
 * at the address's place in the file.  IsoCountry cannot be updated: a new
 * country is a new address, created before the old one is deleted so that
 * the numbers it serves move to it first.
 */
#include "kinds.h"
#include "twprov/buf.h"
#include "twprov/model.h"

static const struct tw_field address_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 64,
	  .doc = "its name (FriendlyName), up to 32 characters for an emergency address; its identity" },
	{ .name = "customer_name", .param = "CustomerName", .json = "customer_name", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED, .check = tw_check_name, .doc = "the person or business at the address" },
	{ .name = "street", .param = "Street", .json = "street", .type = TW_V_STR, .flags = TW_F_REQUIRED,
	  .check = tw_check_name, .doc = "number and street" },
	{ .name = "street_secondary", .param = "StreetSecondary", .json = "street_secondary", .type = TW_V_STR,
	  .doc = "suite, floor, unit" },
	{ .name = "city", .param = "City", .json = "city", .type = TW_V_STR, .flags = TW_F_REQUIRED,
	  .check = tw_check_name, .doc = "city" },
	{ .name = "region", .param = "Region", .json = "region", .type = TW_V_STR, .flags = TW_F_REQUIRED,
	  .check = tw_check_name, .doc = "state or region (IL, Ontario)" },
	{ .name = "postal_code", .param = "PostalCode", .json = "postal_code", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED, .check = tw_check_name, .doc = "postal code, quoted (\"02108\")" },
	{ .name = "iso_country", .param = "IsoCountry", .json = "iso_country", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED | TW_F_IMMUTABLE, .check = tw_check_iso_country,
	  .doc = "ISO country code (US); Twilio cannot change it: a new one replaces the address" },
	{ .name = "emergency_enabled", .param = "EmergencyEnabled", .json = "emergency_enabled", .type = TW_V_BOOL,
	  .doc = "an emergency address, that numbers can be registered with for emergency calls" },
	{ .name = "auto_correct_address", .param = "AutoCorrectAddress", .type = TW_V_BOOL,
	  .flags = TW_F_WRITE_ONLY, .create_default = "false",
	  .doc = "let Twilio store its correction of the address (default false: Twilio suggests it instead)" },
};

/* An emergency address's name is at most 32 characters (the FriendlyName parameter's description). */
static void address_validate(struct tw_res *r, struct tw_diags *d)
{
	static const struct tw_field emergency_name = { .name = "name", .max = 32 };
	const char *name = tw_res_get_str(r, "name");
	struct tw_buf why = TW_BUF_INIT;

	if (json_is_true(tw_res_get(r, "emergency_enabled")) && name &&
	    tw_check_name(&emergency_name, name, &why) < 0)
		tw_res_diag(d, 0, r, "name", "an emergency address's name: %s", why.buf);
	tw_buf_release(&why);
}

static const struct tw_kind_hooks address_hooks = { .validate = address_validate };

const struct tw_kind tw_kind_addresses = {
	.name = "addresses",
	.yaml_key = "addresses",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/Addresses.json",
	.item = TW_2010 "/Addresses/{Sid}.json",
	.list_key = "addresses",
	.sid_prefix = "AD",
	.fields = address_fields,
	.nfields = TW_NFIELDS(address_fields),
	.flags = TW_K_CREATE_FIRST,
	.hooks = &address_hooks,
	.doc = "addresses: the emergency addresses of phone numbers",
};
