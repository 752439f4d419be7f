/* baresip.c - a baresip `accounts` line (phone-formats.md 4.3) */
#include "twprov/err.h"
#include "twprov/phone.h"

/*
 * "Display" <sip:user@host[:port][;transport=..]>;auth_user=..;auth_pass=..;...
 * baresip reads parameter values up to the next ';' or blank and has no
 * escapes, so a value holding one of those cannot be written: an error says so.
 */
static int render(const struct tw_phone_account *a, struct tw_buf *out, char **name, struct tw_err *err)
{
	struct tw_buf v = TW_BUF_INIT;

	if (tw_phone_plain_value("baresip", "username", a->username, ";\"<>,\\", err) < 0 ||
	    tw_phone_plain_value("baresip", "password", a->password, "; \t\"<>,\\", err) < 0 ||
	    (a->display_name && tw_phone_plain_value("baresip", "display name", a->display_name, "\"\\", err) < 0))
		return -1;
	tw_buf_addf(out, "# twprov gen-phone-config: %s on %s (save as ~/.baresip/accounts)\n", a->username,
		    a->domain);
	if (a->display_name)
		tw_buf_addf(out, "\"%s\" ", a->display_name);
	tw_buf_addf(out, "<sip:%s@", a->username);
	tw_phone_server(out, a);
	if (a->transport != TW_PHONE_UDP)
		tw_buf_addf(out, ";transport=%s", tw_phone_transport_name(a->transport));
	tw_buf_addf(out, ">;auth_user=%s;auth_pass=%s;regint=%d;audio_codecs=pcmu,pcma", a->username, a->password,
		    a->expires);
	if (a->srtp)
		tw_buf_adds(out, ";mediaenc=srtp-mand");
	if (a->proxy_host) {
		tw_phone_proxy(&v, a);
		tw_buf_addf(out, ";outbound=\"sip:%s", v.buf);
		if (a->transport != TW_PHONE_UDP)
			tw_buf_addf(out, ";transport=%s", tw_phone_transport_name(a->transport));
		tw_buf_adds(out, "\"");
	}
	tw_buf_addc(out, '\n');
	tw_buf_release(&v);
	*name = tw_xasprintf("%s/accounts", a->username);
	return 0;
}

const struct tw_phone_vendor tw_phone_baresip = {
	.type = "baresip",
	.render = render,
	.doc = "baresip: USER/accounts (one account line)",
};
