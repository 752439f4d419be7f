/* yealink.c - Yealink T4x/T5x per-phone configuration <mac>.cfg (phone-formats.md 4.1) */
#include "twprov/err.h"
#include "twprov/phone.h"

static void kv(struct tw_buf *b, const char *key, const char *value)
{
	tw_buf_addf(b, "account.1.%s = %s\n", key, value ? value : "");
}

static void kvi(struct tw_buf *b, const char *key, int value)
{
	tw_buf_addf(b, "account.1.%s = %d\n", key, value);
}

static int render(const struct tw_phone_account *a, struct tw_buf *out, char **name, struct tw_err *err)
{
	/* key = value lines: a value runs to the end of its line */
	if (tw_phone_plain_value("yealink", "password", a->password, NULL, err) < 0 ||
	    tw_phone_plain_value("yealink", "display name", a->label, NULL, err) < 0)
		return -1;
	tw_buf_adds(out, "#!version:1.0.0.1\n");
	tw_buf_addf(out, "## twprov gen-phone-config: account 1 for %s on %s\n", a->username, a->domain);
	kvi(out, "enable", 1);
	kv(out, "label", a->label);
	kv(out, "display_name", a->display_name);
	kv(out, "auth_name", a->username);
	kv(out, "user_name", a->username);
	kv(out, "password", a->password);
	kv(out, "sip_server.1.address", a->host);
	kvi(out, "sip_server.1.port", a->port);
	kvi(out, "sip_server.1.transport_type", a->transport == TW_PHONE_TLS ? 2 : a->transport == TW_PHONE_TCP ? 1 : 0);
	kvi(out, "sip_server.1.expires", a->expires);
	kvi(out, "outbound_proxy_enable", a->proxy_host != NULL);
	kv(out, "outbound_proxy.1.address", a->proxy_host);
	if (a->proxy_host)
		kvi(out, "outbound_proxy.1.port", a->proxy_port ? a->proxy_port : a->port);
	kvi(out, "srtp_encryption", a->srtp ? 2 : 0);     /* 0 disabled, 2 compulsory */
	kvi(out, "dtmf.type", 1);                          /* RFC 2833 */
	kvi(out, "dtmf.dtmf_payload", 101);
	kvi(out, "nat.udp_update_enable", 1);              /* keep-alive */
	kvi(out, "nat.udp_update_time", 30);
	kvi(out, "codec.pcmu.enable", 1);
	kvi(out, "codec.pcmu.priority", 1);
	kvi(out, "codec.pcma.enable", 1);
	kvi(out, "codec.pcma.priority", 2);
	kvi(out, "codec.g722.enable", 0);
	kvi(out, "codec.g729.enable", 0);
	kvi(out, "codec.opus.enable", 0);
	*name = tw_xasprintf("%s.cfg", a->mac);
	return 0;
}

const struct tw_phone_vendor tw_phone_yealink = {
	.type = "yealink",
	.needs_mac = 1,
	.render = render,
	.doc = "Yealink T4x/T5x: <mac>.cfg",
};
