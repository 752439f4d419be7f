/* byoc_trunks.c - Bring Your Own Carrier trunks (REFERENCE.md section 9) */
#include "kinds.h"

static const struct tw_field byoc_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the trunk's FriendlyName; its identity" },
	/* the defaults: every create, list and fetch example of the spec shows them */
	TW_VOICE_FIELDS_POST("a call comes in from the carrier"),
	{ .name = "status_callback_url", .param = "StatusCallbackUrl", .json = "status_callback_url",
	  .type = TW_V_STR, .check = tw_check_url, .doc = "URL that receives call status events" },
	TW_METHOD_FIELD_POST("status_callback_method", "StatusCallbackMethod"),
	{ .name = "cnam_lookup_enabled", .param = "CnamLookupEnabled", .json = "cnam_lookup_enabled",
	  .type = TW_V_BOOL, .twilio_default = "false",
	  .doc = "look up the caller's name (CNAM) on incoming calls" },
	{ .name = "connection_policy", .param = "ConnectionPolicySid", .json = "connection_policy_sid",
	  .type = TW_V_REF, .ref = "connection_policies", .doc = "where outbound calls go (a connection policy)" },
	{ .name = "from_domain", .param = "FromDomainSid", .json = "from_domain_sid", .type = TW_V_REF,
	  .ref = "sip_domains", .flags = TW_F_DEFER,
	  .doc = "the SIP domain in the From header of calls to the carrier (default sip.twilio.com)" },
};

static void trunk_validate(struct tw_res *r, struct tw_diags *d)
{
	tw_inbound_wire_trunk(r, d);   /* inbound: routes its calls through a generated function */
}

static const struct tw_kind_hooks trunk_hooks = { .validate = trunk_validate };

const struct tw_kind tw_kind_byoc_trunks = {
	.name = "byoc_trunks",
	.yaml_key = "byoc_trunks",
	.product = TW_PRODUCT_VOICE,
	.collection = "/v1/ByocTrunks",
	.item = "/v1/ByocTrunks/{Sid}",
	.list_key = "byoc_trunks",
	.sid_prefix = "BY",
	.fields = byoc_fields,
	.nfields = TW_NFIELDS(byoc_fields),
	.hooks = &trunk_hooks,
	.doc = "BYOC trunks: calls to and from your own carrier",
};
