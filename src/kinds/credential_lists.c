/* credential_lists.c - SIP credential lists and their credentials (REFERENCE.md sections 2, 3) */
#include "kinds.h"

const char *const tw_methods[] = { "GET", "POST", NULL };

static const struct tw_field credential_list_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 64,
	  .doc = "the list's FriendlyName; its identity" },
};

const struct tw_kind tw_kind_credential_lists = {
	.name = "credential_lists",
	.yaml_key = "credential_lists",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/SIP/CredentialLists.json",
	.item = TW_2010 "/SIP/CredentialLists/{Sid}.json",
	.list_key = "credential_lists",
	.sid_prefix = "CL",
	.fields = credential_list_fields,
	.nfields = TW_NFIELDS(credential_list_fields),
	.doc = "SIP credential lists (usernames and passwords phones authenticate with)",
};

static const struct tw_field credential_fields[] = {
	{ .name = "username", .param = "Username", .json = "username", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_username, .max = 32,
	  .doc = "the SIP username; its identity within the list" },
	{ .name = "password", .param = "Password", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED | TW_F_SECRET, .check = tw_check_password, .export_env = "SIP_PW",
	  .doc = "at least 12 characters with a digit, an upper and a lower case letter; write-only" },
	{ .name = "display_name", .type = TW_V_STR, .flags = TW_F_LOCAL, .max = 64,
	  .doc = "the name phones show (gen-phone-config)" },
	{ .name = "caller_id", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_e164,
	  .doc = "E.164 caller ID of this user's outbound calls (outbound dialer)" },
};

const struct tw_kind tw_kind_credentials = {
	.name = "credentials",
	.yaml_key = "credentials",
	.parent = "credential_lists",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/SIP/CredentialLists/{ParentSid}/Credentials.json",
	.item = TW_2010 "/SIP/CredentialLists/{ParentSid}/Credentials/{Sid}.json",
	.list_key = "credentials",
	.sid_prefix = "CR",
	.fields = credential_fields,
	.nfields = TW_NFIELDS(credential_fields),
	.flags = TW_K_CASCADE,
	.doc = "SIP credentials of a list (owned: undeclared ones are removed)",
};
