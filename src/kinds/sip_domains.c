/* sip_domains.c - SIP domains and their auth mappings (REFERENCE.md sections 1, 4) */
#include "kinds.h"
#include "twprov/model.h"

#define DOMAIN_PATH TW_2010 "/SIP/Domains/{ParentSid}"

static const struct tw_field domain_fields[] = {
	{ .name = "domain_name", .param = "DomainName", .json = "domain_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_domain, .suffix = ".sip.twilio.com",
	  .doc = "the domain, ending in .sip.twilio.com; its identity" },
	{ .name = "friendly_name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .max = 64, .doc = "a description, up to 64 characters" },
	TW_VOICE_FIELDS_POST("the domain receives a call"),
	{ .name = "voice_status_callback_url", .param = "VoiceStatusCallbackUrl",
	  .json = "voice_status_callback_url", .type = TW_V_STR, .check = tw_check_url,
	  .doc = "URL that receives call status events" },
	TW_METHOD_FIELD_POST("voice_status_callback_method", "VoiceStatusCallbackMethod"),
	{ .name = "sip_registration", .param = "SipRegistration", .json = "sip_registration",
	  .type = TW_V_BOOL, .doc = "allow SIP endpoints to register to the domain" },
	{ .name = "emergency_calling_enabled", .param = "EmergencyCallingEnabled",
	  .json = "emergency_calling_enabled", .type = TW_V_BOOL, .doc = "allow emergency calls" },
	{ .name = "emergency_caller", .param = "EmergencyCallerSid", .json = "emergency_caller_sid", .type = TW_V_REF,
	  .ref = "phone_numbers", .doc = "the number emergency calls from the domain come from (one with an "
	  "emergency_address)" },
	{ .name = "secure", .param = "Secure", .json = "secure", .type = TW_V_BOOL,
	  .doc = "enforce TLS and SRTP on the domain" },
	{ .name = "byoc_trunk", .param = "ByocTrunkSid", .json = "byoc_trunk_sid", .type = TW_V_REF,
	  .ref = "byoc_trunks", .doc = "the BYOC trunk that carries the domain's calls to the PSTN" },
};

/*
 * Emergency calls: phones that call out through a dialer should reach
 * emergency services, from a number registered at an address (without one,
 * a 911 call in the US and Canada costs a fee and reaches a national call
 * center: twilio.com/docs/voice/sip/emergency-calling).
 */
static void domain_validate(struct tw_res *r, struct tw_diags *d)
{
	const char *caller = tw_res_get_str(r, "emergency_caller");
	const struct tw_res *number = caller && *caller ? tw_gen_top(r, "phone_numbers", caller) : NULL;

	tw_dialer_wire_domain(r, d);
	if (tw_gen_child(r, &tw_kind_domain_outbound) && !json_is_true(tw_res_get(r, "emergency_calling_enabled")))
		tw_res_diag(d, 1, r, NULL, "its phones call out (outbound) but emergency_calling_enabled is not true: "
			    "emergency calls from them will fail");
	if (number && !(tw_res_get_str(number, "emergency_address") && *tw_res_get_str(number, "emergency_address")))
		tw_res_diag(d, 1, r, "emergency_caller", "%s declares no emergency_address: emergency calls from the "
			    "domain would report no address", caller);
}

static const struct tw_kind_hooks domain_hooks = { .validate = domain_validate };

const struct tw_kind tw_kind_sip_domains = {
	.name = "sip_domains",
	.yaml_key = "sip_domains",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/SIP/Domains.json",
	.item = TW_2010 "/SIP/Domains/{Sid}.json",
	.list_key = "domains",
	.sid_prefix = "SD",
	.fields = domain_fields,
	.nfields = TW_NFIELDS(domain_fields),
	.hooks = &domain_hooks,
	.doc = "SIP domains phones register to and call through",
};

const struct tw_kind tw_kind_domain_calls_credential_lists = {
	.name = "auth.calls.credential_lists",
	.yaml_key = "auth.calls.credential_lists",
	.parent = "sip_domains",
	.product = TW_PRODUCT_API,
	.collection = DOMAIN_PATH "/Auth/Calls/CredentialListMappings.json",
	.item = DOMAIN_PATH "/Auth/Calls/CredentialListMappings/{Sid}.json",
	.list_key = "contents",
	.sid_prefix = "CL",
	.assoc_ref = "credential_lists",
	.assoc_param = "CredentialListSid",
	.flags = TW_K_ASSOC | TW_K_CASCADE,
	.doc = "credential lists that authenticate calls to the domain",
};

const struct tw_kind tw_kind_domain_calls_ip_access_control_lists = {
	.name = "auth.calls.ip_access_control_lists",
	.yaml_key = "auth.calls.ip_access_control_lists",
	.parent = "sip_domains",
	.product = TW_PRODUCT_API,
	.collection = DOMAIN_PATH "/Auth/Calls/IpAccessControlListMappings.json",
	.item = DOMAIN_PATH "/Auth/Calls/IpAccessControlListMappings/{Sid}.json",
	.list_key = "contents",
	.sid_prefix = "AL",
	.assoc_ref = "ip_access_control_lists",
	.assoc_param = "IpAccessControlListSid",
	.flags = TW_K_ASSOC | TW_K_CASCADE,
	.doc = "IP access control lists that authenticate calls to the domain",
};

const struct tw_kind tw_kind_domain_registrations_credential_lists = {
	.name = "auth.registrations.credential_lists",
	.yaml_key = "auth.registrations.credential_lists",
	.parent = "sip_domains",
	.product = TW_PRODUCT_API,
	.collection = DOMAIN_PATH "/Auth/Registrations/CredentialListMappings.json",
	.item = DOMAIN_PATH "/Auth/Registrations/CredentialListMappings/{Sid}.json",
	.list_key = "contents",
	.sid_prefix = "CL",
	.assoc_ref = "credential_lists",
	.assoc_param = "CredentialListSid",
	.flags = TW_K_ASSOC | TW_K_CASCADE,
	.doc = "credential lists that authenticate registrations to the domain",
};
