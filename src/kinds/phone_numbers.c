/* phone_numbers.c - incoming phone numbers (REFERENCE.md sections 6, 7) */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/model.h"

static const char *const receive_modes[] = { "voice", "fax", NULL };

static const char *const registration_failed[] = { "registration-failure", "unregistration-failure", NULL };
static const struct tw_settle emergency_registration = {
	.json = "emergency_address_status",
	.set = "registered",
	.cleared = "unregistered",
	.failed = registration_failed,
	.timeout_s = 600,
};

static const struct tw_field number_fields[] = {
	{ .name = "number", .param = "PhoneNumber", .json = "phone_number", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_e164, .doc = "the number in E.164 (+16505551234); its identity" },
	{ .name = "friendly_name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .max = 64, .doc = "a description, up to 64 characters" },
	{ .name = "voice_application", .param = "VoiceApplicationSid", .json = "voice_application_sid",
	  .type = TW_V_REF, .ref = "applications", .doc = "route calls to this TwiML application" },
	/* the defaults: the spec's descriptions of the IncomingPhoneNumber parameters ("defaults to POST",
	 * "defaults to false") */
	TW_VOICE_FIELDS_POST("a call comes in (a routing)"),
	{ .name = "status_callback", .param = "StatusCallback", .json = "status_callback", .type = TW_V_STR,
	  .check = tw_check_url, .doc = "URL that receives call status events" },
	TW_METHOD_FIELD_POST("status_callback_method", "StatusCallbackMethod"),
	{ .name = "sip_trunk", .param = "TrunkSid", .json = "trunk_sid", .type = TW_V_REF, .ref = "sip_trunks",
	  .doc = "route calls to this Elastic SIP trunk (named by its domain_name)" },
	/* answers may leave it out (twilio-php#462, twilio-python#381) and a purchase ignores it
	 * (twilio-php#478), keeping voice (twilio-php#462, #478; an omitted value means voice in
	 * RJPearson94/terraform-provider-twilio's receive_mode.go): see the fake's README */
	{ .name = "voice_receive_mode", .param = "VoiceReceiveMode", .json = "voice_receive_mode",
	  .type = TW_V_STR, .flags = TW_F_MAY_OMIT | TW_F_CREATE_IGNORES, .check = tw_check_enum,
	  .choices = receive_modes, .twilio_default = "voice", .doc = "voice or fax" },
	{ .name = "voice_caller_id_lookup", .param = "VoiceCallerIdLookup", .json = "voice_caller_id_lookup",
	  .type = TW_V_BOOL, .twilio_default = "false", .doc = "look up the caller's name (CNAM) on incoming calls" },
	/* the documented order: link, then wait until registered; to change it, unlink and wait
	 * until unregistered first (twilio.com/docs/voice/sip/api/emergency-calling-api); a purchase
	 * ignores it (twilio-node#706); Twilio will not release a number nor delete an address
	 * while they are linked (terraform-provider-twilio#149) */
	{ .name = "emergency_address", .param = "EmergencyAddressSid", .json = "emergency_address_sid",
	  .type = TW_V_REF, .ref = "addresses", .flags = TW_F_CREATE_IGNORES | TW_F_BLOCKS_DELETE,
	  .settle = &emergency_registration,
	  .doc = "the address emergency calls from this number report (an emergency_enabled address)" },
	{ .name = "purchase", .type = TW_V_BOOL, .flags = TW_F_LOCAL,
	  .doc = "buy the number if the account lacks it (apply needs --allow-purchase)" },
	{ .name = "ring", .type = TW_V_LIST, .flags = TW_F_LOCAL, .check = tw_check_username,
	  .doc = "ring these SIP users' phones, in parallel (a generated function; see outbound)" },
	{ .name = "ring_timeout", .type = TW_V_INT, .flags = TW_F_LOCAL, .min = 5, .max = 600,
	  .doc = "seconds to ring before giving up (default 30)" },
};

/* The three ways to route a number's calls; Twilio honours the first that is set. */
static const char *const routings[] = { "sip_trunk", "voice_application", "voice_url" };

static int routed_by(const struct tw_res *r, const char *field)
{
	json_t *v = tw_res_get(r, field);
	return json_is_object(v) || (json_is_string(v) && json_string_length(v));   /* a deployed path, or a value */
}

/*
 * At most one routing.  The one chosen clears the others, as Twilio does
 * (setting TrunkSid clears voice_application_sid and the reverse; a trunk or
 * an application makes voice_url unused): the file then says what Twilio will
 * hold, so a converged account plans no changes.
 */
static void number_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *chosen = NULL;
	size_t i;

	if (tw_res_get(r, "ring"))
		tw_dialer_wire_number(r, d);   /* ring is a voice_url routing */
	for (i = 0; i < 3; i++) {
		if (!routed_by(r, routings[i]))
			continue;
		if (chosen) {
			tw_res_diag(d, 0, r, routings[i], "%s and %s are two voice routings: choose one", chosen,
				    routings[i]);
			return;
		}
		chosen = routings[i];
	}
	if (!chosen)
		return;
	for (i = 0; i < 3; i++) {
		if (routings[i] == chosen || json_object_get(r->fields, routings[i]))
			continue;
		/* voice_url stays as it is under a trunk or an application: Twilio keeps it, unused */
		if (!strcmp(routings[i], "voice_url"))
			continue;
		json_object_set_new(r->fields, routings[i], json_string(""));
	}
}

/* twprov export: the routing Twilio honours is the one written; voice_url, unused under a trunk or
 * an application, is left out (number_validate refuses two routings). */
static void number_export(struct tw_export *x, const struct tw_res *live, struct tw_res *decl)
{
	(void)x;
	if (routed_by(live, "sip_trunk") || routed_by(live, "voice_application"))
		json_object_del(decl->fields, "voice_url");
	if (routed_by(live, "sip_trunk"))
		json_object_del(decl->fields, "voice_application");
}

static const struct tw_kind_hooks number_hooks = { .validate = number_validate, .derive = tw_dialer_derive_number,
						   .export = number_export };
static const struct tw_guard purchase = { "purchase", "--allow-purchase" };
static const struct tw_guard release = { "release", "--allow-release" };

const struct tw_kind tw_kind_phone_numbers = {
	.name = "phone_numbers",
	.yaml_key = "phone_numbers",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/IncomingPhoneNumbers.json",
	.item = TW_2010 "/IncomingPhoneNumbers/{Sid}.json",
	.list_key = "incoming_phone_numbers",
	.sid_prefix = "PN",
	.fields = number_fields,
	.nfields = TW_NFIELDS(number_fields),
	.flags = TW_K_NO_PRUNE,
	.hooks = &number_hooks,
	.create_guard = &purchase,
	.delete_guard = &release,
	.create_requires = "purchase",
	.doc = "the account's phone numbers and where their calls go",
};
