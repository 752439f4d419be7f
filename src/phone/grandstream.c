/* grandstream.c - Grandstream GXP16xx/GXP21xx/GRP26xx XML provisioning, config version 1 (phone-formats.md 2) */
#include <stdio.h>
#include <stdlib.h>

#include "twprov/err.h"
#include "twprov/phone.h"

static void p(struct tw_buf *b, int n, const char *value)
{
	char name[16];
	snprintf(name, sizeof(name), "P%d", n);
	tw_phone_xml_elem(b, 4, name, value);
}

static void pi(struct tw_buf *b, int n, int value)
{
	char v[16];
	snprintf(v, sizeof(v), "%d", value);
	p(b, n, v);
}

/*
 * Account 1 of the phone.  The P-values and their meanings are the same on
 * GXP16xx, GXP21xx, GXP17xx and GRP26xx (FusionPBX templates, provisioner.net
 * gxpsb); the phone changes only the P-values a file holds.
 */
static int render(const struct tw_phone_account *a, struct tw_buf *out, char **name, struct tw_err *err)
{
	struct tw_buf v = TW_BUF_INIT;
	(void)err;

	tw_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	tw_buf_adds(out, "<!-- twprov gen-phone-config: account 1 for ");
	tw_phone_xml_escape(out, a->username);
	tw_buf_adds(out, " on ");
	tw_phone_xml_escape(out, a->domain);
	tw_buf_adds(out, " -->\n<gs_provision version=\"1\">\n");
	if (a->mac)
		tw_phone_xml_elem(out, 2, "mac", a->mac);
	tw_buf_adds(out, "  <config version=\"1\">\n");
	pi(out, 271, 1);                         /* account active */
	p(out, 270, a->label);                   /* account name */
	tw_phone_server(&v, a);
	p(out, 47, v.buf);                       /* SIP server */
	tw_buf_reset(&v);
	tw_phone_proxy(&v, a);
	p(out, 48, v.buf);                       /* outbound proxy ("" = none) */
	p(out, 35, a->username);                 /* SIP user ID */
	p(out, 36, a->username);                 /* authenticate ID */
	p(out, 34, a->password);                 /* authenticate password */
	p(out, 3, a->display_name ? a->display_name : "");   /* display name */
	pi(out, 103, 0);                         /* DNS mode: A record */
	pi(out, 52, 2);                          /* NAT traversal: keep-alive */
	pi(out, 2397, 1);                        /* SIP OPTIONS keep-alive on */
	pi(out, 2398, 30);                       /* ... every 30 s */
	pi(out, 2399, 3);                        /* ... 3 lost before re-registering */
	pi(out, 31, 1);                          /* SIP registration */
	pi(out, 81, 0);                          /* unregister on reboot: no */
	pi(out, 32, (a->expires + 59) / 60);     /* register expiration, in minutes */
	pi(out, 130, a->transport == TW_PHONE_TLS ? 2 : a->transport == TW_PHONE_TCP ? 1 : 0);
	if (a->transport == TW_PHONE_TLS)
		pi(out, 2329, 0);                /* sip: (not sips:) URIs over TLS */
	pi(out, 2301, 0);                        /* DTMF in audio: no */
	pi(out, 2302, 1);                        /* DTMF via RTP (RFC 2833): yes */
	pi(out, 2303, 0);                        /* DTMF via SIP INFO: no */
	pi(out, 79, 101);                        /* DTMF payload type */
	pi(out, 57, 0);                          /* vocoder 1: PCMU */
	pi(out, 58, 8);                          /* vocoder 2: PCMA */
	pi(out, 183, a->srtp ? 2 : 0);           /* SRTP: enabled and forced, or disabled */
	tw_buf_adds(out, "  </config>\n</gs_provision>\n");
	tw_buf_release(&v);
	*name = a->mac ? tw_xasprintf("cfg%s.xml", a->mac) : tw_xstrdup("cfg.xml");
	return 0;
}

const struct tw_phone_vendor tw_phone_grandstream = {
	.type = "grandstream",
	.needs_mac = 0,
	.can_encrypt = 1,
	.render = render,
	.doc = "Grandstream GXP16xx, GXP21xx, GRP26xx (XML, config version 1): cfg<mac>.xml, or cfg.xml",
};
