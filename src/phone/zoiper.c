/* zoiper.c - Zoiper 5 Config.xml account (phone-formats.md 3.2) */
#include <stdlib.h>
#include <string.h>

#include "twprov/err.h"
#include "twprov/file.h"
#include "twprov/phone.h"

/* A stable account id ("Z" + 24 hex digits of SHA-256 of user@domain): a new file updates the same account. */
static void ident(struct tw_buf *b, const struct tw_phone_account *a)
{
	char *s = tw_xasprintf("%s@%s", a->username, a->domain);
	char hex[65];

	tw_sha256_hex(s, strlen(s), hex);
	free(s);
	tw_buf_addf(b, "Z%.24s", hex);
}

static void codec(struct tw_buf *b, int id, int priority)
{
	tw_buf_adds(b, "        <codec>\n");
	tw_phone_xml_elemf(b, 10, "codec_id", "%d", id);
	tw_phone_xml_elemf(b, 10, "priority", "%d", priority);
	tw_phone_xml_elem(b, 10, "enabled", "true");
	tw_buf_adds(b, "        </codec>\n");
}

static int render(const struct tw_phone_account *a, struct tw_buf *out, char **name, struct tw_err *err)
{
	struct tw_buf v = TW_BUF_INIT;
	(void)err;

	tw_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	tw_buf_adds(out, "<!-- twprov gen-phone-config: save as Config.xml in ~/.Zoiper5 (Linux) or "
			 "%APPDATA%\\Zoiper5 (Windows) while Zoiper is closed -->\n");
	tw_buf_adds(out, "<options>\n  <accounts>\n    <account>\n");
	ident(&v, a);
	tw_phone_xml_elem(out, 6, "ident", v.buf);
	tw_phone_xml_elem(out, 6, "name", a->label);
	tw_phone_xml_elem(out, 6, "save_username", "true");
	tw_phone_xml_elem(out, 6, "save_password", "true");
	tw_phone_xml_elem(out, 6, "username", a->username);
	tw_phone_xml_elem(out, 6, "password", a->password);
	tw_phone_xml_elem(out, 6, "register_on_startup", "true");
	tw_phone_xml_elem(out, 6, "protocol", "sip");
	tw_buf_reset(&v);
	tw_phone_server(&v, a);
	tw_phone_xml_elem(out, 6, "SIP_domain", v.buf);
	tw_phone_xml_elem(out, 6, "SIP_use_outbound_proxy", a->proxy_host ? "true" : "false");
	tw_buf_reset(&v);
	tw_phone_proxy(&v, a);
	tw_phone_xml_elem(out, 6, "SIP_outbound_proxy", v.buf);
	tw_phone_xml_elem(out, 6, "SIP_transport_type", tw_phone_transport_name(a->transport));
	tw_phone_xml_elem(out, 6, "SIP_use_auth_username", "false");
	tw_phone_xml_elem(out, 6, "SIP_auth_username", "");
	tw_phone_xml_elem(out, 6, "SIP_callerId", a->display_name ? a->display_name : "");
	tw_phone_xml_elem(out, 6, "SIP_use_rport", "true");
	tw_phone_xml_elem(out, 6, "SIP_srtp_mode", a->srtp ? "sdes" : "none");
	tw_phone_xml_elem(out, 6, "SIP_dtmf_style", "rfc_2833");
	tw_phone_xml_elem(out, 6, "SIP_keep_alive_mode", "custom");
	tw_phone_xml_elem(out, 6, "SIP_keep_alive_timeout", "30");
	tw_phone_xml_elem(out, 6, "SIP_use_blf", "false");
	tw_phone_xml_elem(out, 6, "SIP_publish_presence", "false");
	tw_phone_xml_elem(out, 6, "SIP_subscribe_presence", "false");
	tw_phone_xml_elem(out, 6, "reregistration_mode", "custom");
	tw_phone_xml_elemf(out, 6, "reregistration_time", "%d", a->expires);
	tw_phone_xml_elem(out, 6, "mwi_subscribe_usage", "disabled");
	tw_buf_adds(out, "      <codecs>\n");
	codec(out, 0, 0);      /* PCMU */
	codec(out, 6, 1);      /* PCMA */
	codec(out, 33, 2);     /* telephone-event (RFC 2833) */
	tw_buf_adds(out, "      </codecs>\n    </account>\n  </accounts>\n</options>\n");
	tw_buf_release(&v);
	*name = tw_xasprintf("%s/Config.xml", a->username);
	return 0;
}

const struct tw_phone_vendor tw_phone_zoiper = {
	.type = "zoiper",
	.render = render,
	.doc = "Zoiper 5 (desktop): USER/Config.xml",
};
