/* linphone.c - Linphone remote-provisioning XML (linphonerc as XML, phone-formats.md 4.2) */
#include <stdio.h>

#include "twprov/err.h"
#include "twprov/phone.h"

static void entry(struct tw_buf *b, const char *name, const char *value)
{
	tw_buf_addf(b, "    <entry name=\"%s\" overwrite=\"true\">", name);
	tw_phone_xml_escape(b, value ? value : "");
	tw_buf_adds(b, "</entry>\n");
}

static void entryf(struct tw_buf *b, const char *name, int value)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", value);
	entry(b, name, v);
}

static void section(struct tw_buf *b, const char *name)
{
	tw_buf_addf(b, "  <section name=\"%s\">\n", name);
}

static void codec(struct tw_buf *b, int n, const char *mime)
{
	char name[32];
	snprintf(name, sizeof(name), "audio_codec_%d", n);
	section(b, name);
	entry(b, "mime", mime);
	entry(b, "rate", "8000");
	entry(b, "channels", "1");
	entry(b, "enabled", "1");
	tw_buf_adds(b, "  </section>\n");
}

/*
 * The password goes in auth_info_0/passwd, never as ha1: Twilio's digest
 * realm (sip.twilio.com) is not the domain, so an HA1 computed by anyone
 * but linphone itself from the challenge would be wrong.
 */
static int render(const struct tw_phone_account *a, struct tw_buf *out, char **name, struct tw_err *err)
{
	struct tw_buf v = TW_BUF_INIT;
	const char *t = tw_phone_transport_name(a->transport);

	/* the username is written inside a SIP URI: <sip:user@domain> */
	if (tw_phone_plain_value("linphone", "username", a->username, ";\"<>,\\", err) < 0)
		return -1;

	tw_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	tw_buf_adds(out, "<!-- twprov gen-phone-config: Linphone remote provisioning for ");
	tw_phone_xml_escape(out, a->username);
	tw_buf_adds(out, " on ");
	tw_phone_xml_escape(out, a->domain);
	tw_buf_adds(out, " -->\n<config xmlns=\"http://www.linphone.org/xsds/lpconfig.xsd\" "
			 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
			 "xsi:schemaLocation=\"http://www.linphone.org/xsds/lpconfig.xsd lpconfig.xsd\">\n");
	section(out, "sip");
	entryf(out, "default_proxy", 0);
	entry(out, "media_encryption", a->srtp ? "srtp" : "none");
	entryf(out, "media_encryption_mandatory", a->srtp);
	entryf(out, "use_rfc2833", 1);
	entryf(out, "use_info", 0);
	tw_buf_adds(out, "  </section>\n");
	section(out, "proxy_0");
	/*
	 * Linphone sends every request to its "proxy": the registrar, or the
	 * outbound proxy when there is one (liblinphone 5.1 resolves reg_proxy
	 * even when reg_route is set).  The identity keeps the SIP domain.
	 */
	tw_buf_adds(&v, "<sip:");
	if (a->proxy_host)
		tw_phone_proxy(&v, a);
	else
		tw_phone_server(&v, a);
	tw_buf_addf(&v, ";transport=%s>", t);
	entry(out, "reg_proxy", v.buf);
	tw_buf_reset(&v);
	if (a->display_name) {
		/* a quoted-string: escape \ and " */
		tw_buf_addc(&v, '"');
		for (const char *s = a->display_name; *s; s++) {
			if (*s == '"' || *s == '\\')
				tw_buf_addc(&v, '\\');
			tw_buf_addc(&v, *s);
		}
		tw_buf_adds(&v, "\" ");
	}
	tw_buf_addf(&v, "<sip:%s@%s>", a->username, a->host);
	entry(out, "reg_identity", v.buf);
	entryf(out, "reg_expires", a->expires);
	entryf(out, "reg_sendregister", 1);
	entryf(out, "publish", 0);
	entryf(out, "avpf", 0);
	tw_buf_adds(out, "  </section>\n");
	section(out, "auth_info_0");
	entry(out, "username", a->username);
	entry(out, "userid", a->username);
	entry(out, "passwd", a->password);
	entry(out, "domain", a->domain);
	tw_buf_adds(out, "  </section>\n");
	codec(out, 0, "PCMU");
	codec(out, 1, "PCMA");
	tw_buf_adds(out, "</config>\n");
	tw_buf_release(&v);
	*name = tw_xasprintf("%s/linphone.xml", a->username);
	return 0;
}

const struct tw_phone_vendor tw_phone_linphone = {
	.type = "linphone",
	.render = render,
	.doc = "Linphone (desktop and mobile) remote provisioning XML: USER/linphone.xml",
};
