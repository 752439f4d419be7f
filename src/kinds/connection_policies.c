/* connection_policies.c - Voice connection policies and their targets (REFERENCE.md section 9) */
#include "kinds.h"

static const struct tw_field policy_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the policy's FriendlyName; its identity" },
};

const struct tw_kind tw_kind_connection_policies = {
	.name = "connection_policies",
	.yaml_key = "connection_policies",
	.product = TW_PRODUCT_VOICE,
	.collection = "/v1/ConnectionPolicies",
	.item = "/v1/ConnectionPolicies/{Sid}",
	.list_key = "connection_policies",
	.sid_prefix = "NY",
	.fields = policy_fields,
	.nfields = TW_NFIELDS(policy_fields),
	.doc = "connection policies: where BYOC trunks send calls",
};

static const struct tw_field target_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the target's FriendlyName; its identity within the policy" },
	{ .name = "target", .param = "Target", .json = "target", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED, .check = tw_check_sip_uri, .doc = "a sip: URI (sips: is not supported)" },
	/* the defaults: the spec's descriptions of the Target parameters */
	{ .name = "priority", .param = "Priority", .json = "priority", .type = TW_V_INT, .min = 0, .max = 65535,
	  .twilio_default = "10", .doc = "0 to 65535, lower is preferred (Twilio's default 10)" },
	{ .name = "weight", .param = "Weight", .json = "weight", .type = TW_V_INT, .min = 1, .max = 65535,
	  .twilio_default = "10", .doc = "1 to 65535, share among targets of equal priority (Twilio's default 10)" },
	{ .name = "enabled", .param = "Enabled", .json = "enabled", .type = TW_V_BOOL,
	  .twilio_default = "true", .doc = "whether the target is used (Twilio's default true)" },
};

const struct tw_kind tw_kind_targets = {
	.name = "targets",
	.yaml_key = "targets",
	.parent = "connection_policies",
	.product = TW_PRODUCT_VOICE,
	.collection = "/v1/ConnectionPolicies/{ParentSid}/Targets",
	.item = "/v1/ConnectionPolicies/{ParentSid}/Targets/{Sid}",
	.list_key = "targets",
	.sid_prefix = "NE",
	.fields = target_fields,
	.nfields = TW_NFIELDS(target_fields),
	.flags = TW_K_CASCADE,
	.doc = "targets of a connection policy (owned)",
};
