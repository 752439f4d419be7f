/* ip_access_control_lists.c - IP ACLs and their addresses (REFERENCE.md section 5) */
#include "kinds.h"

static const struct tw_field acl_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the list's FriendlyName; its identity" },
};

const struct tw_kind tw_kind_ip_access_control_lists = {
	.name = "ip_access_control_lists",
	.yaml_key = "ip_access_control_lists",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/SIP/IpAccessControlLists.json",
	.item = TW_2010 "/SIP/IpAccessControlLists/{Sid}.json",
	.list_key = "ip_access_control_lists",
	.sid_prefix = "AL",
	.fields = acl_fields,
	.nfields = TW_NFIELDS(acl_fields),
	.doc = "IP access control lists (source addresses allowed to send SIP)",
};

static const struct tw_field address_fields[] = {
	{ .name = "name", .param = "FriendlyName", .json = "friendly_name", .type = TW_V_STR,
	  .flags = TW_F_IDENTITY, .check = tw_check_name, .max = 255,
	  .doc = "the address's FriendlyName; its identity within the list" },
	{ .name = "ip", .param = "IpAddress", .json = "ip_address", .type = TW_V_STR,
	  .flags = TW_F_REQUIRED, .check = tw_check_ipv4,
	  .doc = "IPv4 address in dotted decimal notation" },
	{ .name = "cidr", .param = "CidrPrefixLength", .json = "cidr_prefix_length", .type = TW_V_INT,
	  .min = 0, .max = 32, .twilio_default = "32",   /* "By default the entire IP address is used" (spec) */
	  .doc = "CIDR prefix length (Twilio's default is the whole address, 32)" },
};

const struct tw_kind tw_kind_ip_addresses = {
	.name = "ip_access_control_lists.addresses",
	.yaml_key = "addresses",
	.parent = "ip_access_control_lists",
	.product = TW_PRODUCT_API,
	.collection = TW_2010 "/SIP/IpAccessControlLists/{ParentSid}/IpAddresses.json",
	.item = TW_2010 "/SIP/IpAccessControlLists/{ParentSid}/IpAddresses/{Sid}.json",
	.list_key = "ip_addresses",
	.sid_prefix = "IP",
	.fields = address_fields,
	.nfields = TW_NFIELDS(address_fields),
	.flags = TW_K_CASCADE,
	.doc = "addresses of an IP access control list (owned)",
};
