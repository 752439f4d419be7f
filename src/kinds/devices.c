/* devices.c - the phones of a SIP credential, for gen-phone-config (twprov only, never sent) */
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "twprov/buf.h"
#include "twprov/model.h"
#include "twprov/phone.h"

static int check_mac(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	char mac[13];
	(void)f;
	if (tw_phone_mac_normalize(v, mac) == 0)
		return 0;
	tw_buf_adds(why, "not a MAC address: \"");
	for (const char *s = v; *s && s - v < 40; s++)
		tw_buf_addc(why, (*s >= 0x20 && *s < 0x7f && *s != '"') ? *s : '?');
	tw_buf_adds(why, "\" (12 hex digits, alone or as 00:0b:82:12:34:56, 00-0b-82-12-34-56 or 000b.8212.3456)");
	return -1;
}

static const struct tw_field device_fields[] = {
	{ .name = "type", .type = TW_V_STR, .flags = TW_F_REQUIRED | TW_F_LOCAL, .check = tw_check_enum,
	  .choices = tw_phone_types, .doc = "the phone or softphone: grandstream, yealink, zoiper, linphone or baresip" },
	{ .name = "mac", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = check_mac,
	  .doc = "the phone's MAC address (required for yealink; names the file)" },
	{ .name = "transport", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_enum,
	  .choices = tw_phone_transports, .doc = "udp (default), tcp or tls; a secure domain needs tls" },
	{ .name = "edge", .type = TW_V_STR, .flags = TW_F_LOCAL, .check = tw_check_enum, .choices = tw_phone_edges,
	  .doc = "register through this Twilio edge: <name>.sip.<edge>.twilio.com" },
	{ .name = "domain", .type = TW_V_REF, .flags = TW_F_LOCAL, .ref = "sip_domains",
	  .doc = "the SIP domain to register to, when the credential's list is mapped to several" },
	{ .name = "expires", .type = TW_V_INT, .flags = TW_F_LOCAL, .min = 600, .max = 86400,
	  .doc = "registration expiry in seconds (600 to 86400, default 3600)" },
	{ .name = "encrypt_key", .type = TW_V_STR, .flags = TW_F_LOCAL | TW_F_SECRET,
	  .doc = "grandstream: encrypt the file with this XML config file password (P1359)" },
};

/* What depends on the type: a MAC for vendors whose phones ask for <mac> files; encryption only where read. */
static void device_validate(struct tw_res *r, struct tw_diags *d)
{
	const struct tw_phone_vendor *v = tw_phone_vendor_find(tw_res_get_str(r, "type"));
	const char *mac = tw_res_get_str(r, "mac"), *key = tw_res_get_str(r, "encrypt_key");

	if (!v)
		return;   /* reported by the field check */
	if (v->needs_mac && !(mac && *mac))
		tw_res_diag(d, 0, r, NULL, "a %s device needs its mac (the phone asks for a file named after it)", v->type);
	if (!v->can_encrypt && key && *key)
		tw_res_diag(d, 0, r, "encrypt_key", "encrypt_key: %s phones do not read encrypted files (only "
			    "grandstream does)", v->type);
}

static const struct tw_kind_hooks device_hooks = { .validate = device_validate };

const struct tw_kind tw_kind_devices = {
	.name = "devices",
	.yaml_key = "devices",
	.parent = "credentials",
	.fields = device_fields,
	.nfields = TW_NFIELDS(device_fields),
	.flags = TW_K_LOCAL,
	.hooks = &device_hooks,
	.doc = "the credential's phones, for twprov gen-phone-config (never sent to Twilio)",
};
