/* sip_trunks.c - Elastic SIP Trunking: trunks, origination URLs, associations (REFERENCE.md section 10) */
#include "kinds.h"

static const char *const transfer_modes[] = { "disable-all", "enable-all", "sip-only", NULL };
static const char *const transfer_caller_ids[] = { "from-transferee", "from-transferor", NULL };
static const char *const recording_modes[] = { "do-not-record", "record-from-ringing", "record-from-answer",
	"record-from-ringing-dual", "record-from-answer-dual", NULL };
static const char *const recording_trims[] = { "trim-silence", "do-not-trim", NULL };

#define RECORDING "/v1/Trunks/{Sid}/Recording"

/* The defaults (twilio_default): every create, list and fetch example of the spec (and the
 * Recording examples) shows them; transfer_caller_id's examples disagree, so it has none. */
static const struct tw_field trunk_fields[] = {
	{ .name = "domain_name", .param = "DomainName", .json = "domain_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_domain, .suffix = ".pstn.twilio.com",
	  .doc = "the termination URI, ending in .pstn.twilio.com; its identity" },
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .check = tw_check_name, .max = 64, .doc = "the trunk's FriendlyName" },
	{ .name = "secure", .param = "Secure", .json = "secure", .type = TW_V_BOOL, .twilio_default = "false",
	  .doc = "TLS and SRTP for termination" },
	{ .name = "cnam_lookup_enabled", .param = "CnamLookupEnabled", .json = "cnam_lookup_enabled",
	  .type = TW_V_BOOL, .twilio_default = "false", .doc = "look up the caller's name (CNAM) on incoming calls" },
	{ .name = "transfer_mode", .param = "TransferMode", .json = "transfer_mode", .type = TW_V_STR,
	  .check = tw_check_enum, .choices = transfer_modes, .twilio_default = "disable-all",
	  .doc = "disable-all, enable-all or sip-only" },
	{ .name = "transfer_caller_id", .param = "TransferCallerId", .json = "transfer_caller_id",
	  .type = TW_V_STR, .check = tw_check_enum, .choices = transfer_caller_ids,
	  .doc = "from-transferee or from-transferor" },
	{ .name = "disaster_recovery_url", .param = "DisasterRecoveryUrl", .json = "disaster_recovery_url",
	  .type = TW_V_STR, .check = tw_check_url, .doc = "URL Twilio requests when no origination URL answers" },
	{ .name = "disaster_recovery_method", .param = "DisasterRecoveryMethod", .json = "disaster_recovery_method",
	  .type = TW_V_STR, .check = tw_check_enum, .choices = tw_methods, .twilio_default = "POST",
	  .doc = "GET or POST" },
	{ .name = "recording_mode", .param = "Mode", .json = "recording.mode", .type = TW_V_STR,
	  .check = tw_check_enum, .choices = recording_modes, .endpoint = RECORDING, .twilio_default = "do-not-record",
	  .doc = "do-not-record, record-from-ringing, record-from-answer, or a -dual variant" },
	{ .name = "recording_trim", .param = "Trim", .json = "recording.trim", .type = TW_V_STR,
	  .check = tw_check_enum, .choices = recording_trims, .endpoint = RECORDING, .twilio_default = "do-not-trim",
	  .doc = "trim-silence or do-not-trim" },
};

const struct tw_kind tw_kind_sip_trunks = {
	.name = "sip_trunks",
	.yaml_key = "sip_trunks",
	.product = TW_PRODUCT_TRUNKING,
	.collection = "/v1/Trunks",
	.item = "/v1/Trunks/{Sid}",
	.list_key = "trunks",
	.sid_prefix = "TK",
	.fields = trunk_fields,
	.nfields = TW_NFIELDS(trunk_fields),
	.doc = "Elastic SIP trunks (a PBX reaching the PSTN through Twilio)",
};

static const struct tw_field origination_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the URL's FriendlyName; its identity within the trunk" },
	{ .name = "sip_url", .param = "SipUrl", .json = "sip_url", .type = TW_V_STR, .flags = TW_F_REQUIRED,
	  .check = tw_check_sip_uri, .doc = "where Twilio sends incoming calls: a sip: URI" },
	{ .name = "priority", .param = "Priority", .json = "priority", .type = TW_V_INT, .min = 0, .max = 65535,
	  .create_default = "10", .doc = "0 to 65535, lower is tried first (default 10)" },
	{ .name = "weight", .param = "Weight", .json = "weight", .type = TW_V_INT, .min = 1, .max = 65535,
	  .create_default = "10", .doc = "1 to 65535, share among URLs of equal priority (default 10)" },
	{ .name = "enabled", .param = "Enabled", .json = "enabled", .type = TW_V_BOOL,
	  .create_default = "true", .doc = "whether the URL is used (default true)" },
};

const struct tw_kind tw_kind_origination_urls = {
	.name = "origination_urls",
	.yaml_key = "origination_urls",
	.parent = "sip_trunks",
	.product = TW_PRODUCT_TRUNKING,
	.collection = "/v1/Trunks/{ParentSid}/OriginationUrls",
	.item = "/v1/Trunks/{ParentSid}/OriginationUrls/{Sid}",
	.list_key = "origination_urls",
	.sid_prefix = "OU",
	.fields = origination_fields,
	.nfields = TW_NFIELDS(origination_fields),
	.flags = TW_K_CASCADE,
	.doc = "where a trunk sends incoming calls (owned)",
};

const struct tw_kind tw_kind_trunk_credential_lists = {
	.name = "sip_trunks.credential_lists",
	.yaml_key = "credential_lists",
	.parent = "sip_trunks",
	.product = TW_PRODUCT_TRUNKING,
	.collection = "/v1/Trunks/{ParentSid}/CredentialLists",
	.item = "/v1/Trunks/{ParentSid}/CredentialLists/{Sid}",
	.list_key = "credential_lists",
	.sid_prefix = "CL",
	.assoc_ref = "credential_lists",
	.assoc_param = "CredentialListSid",
	.flags = TW_K_ASSOC | TW_K_CASCADE,
	.doc = "credential lists that authenticate calls to the trunk's termination URI",
};

const struct tw_kind tw_kind_trunk_ip_access_control_lists = {
	.name = "sip_trunks.ip_access_control_lists",
	.yaml_key = "ip_access_control_lists",
	.parent = "sip_trunks",
	.product = TW_PRODUCT_TRUNKING,
	.collection = "/v1/Trunks/{ParentSid}/IpAccessControlLists",
	.item = "/v1/Trunks/{ParentSid}/IpAccessControlLists/{Sid}",
	.list_key = "ip_access_control_lists",
	.sid_prefix = "AL",
	.assoc_ref = "ip_access_control_lists",
	.assoc_param = "IpAccessControlListSid",
	.flags = TW_K_ASSOC | TW_K_CASCADE,
	.doc = "IP access control lists that may call the trunk's termination URI",
};
