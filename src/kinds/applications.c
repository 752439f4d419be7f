/* applications.c - TwiML applications (REFERENCE.md section 8) */
#include "kinds.h"

static const struct tw_field application_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 64,
	  .doc = "the application's FriendlyName; its identity" },
	TW_VOICE_FIELDS("a call comes in"),
	{ .name = "status_callback", .param = "StatusCallback", .json = "status_callback", .type = TW_V_STR,
	  .check = tw_check_url, .doc = "URL that receives call status events" },
	{ .name = "status_callback_method", .param = "StatusCallbackMethod", .json = "status_callback_method",
	  .type = TW_V_STR, .check = tw_check_enum, .choices = tw_methods, .doc = "GET or POST" },
	/* the default: every create, list and fetch example of the spec shows false (the methods'
	 * examples disagree: no default is assumed for them) */
	{ .name = "voice_caller_id_lookup", .param = "VoiceCallerIdLookup", .json = "voice_caller_id_lookup",
	  .type = TW_V_BOOL, .twilio_default = "false", .doc = "look up the caller's name (CNAM) on incoming calls" },
};

const struct tw_kind tw_kind_applications = {
	.name = "applications",
	.yaml_key = "applications",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/Applications.json",
	.item = TW_2010 "/Applications/{Sid}.json",
	.list_key = "applications",
	.sid_prefix = "AP",
	.fields = application_fields,
	.nfields = TW_NFIELDS(application_fields),
	.doc = "TwiML applications that phone numbers route calls to",
};
