/* test_phone.c - gen-phone-config: vendor renderers, helpers, encryption, the credential -> file job */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/phone.h"

#define PW "Se<cr>et&Pass-123"

static struct tw_phone_account account(void)
{
	struct tw_phone_account a;
	memset(&a, 0, sizeof(a));
	a.username = "alice";
	a.password = PW;
	a.display_name = "Alice \"A\" & Co";
	a.label = a.display_name;
	a.domain = "office.sip.twilio.com";
	a.host = "office.sip.twilio.com";
	a.port = 5060;
	a.transport = TW_PHONE_UDP;
	a.expires = 3600;
	a.mac = "000b82123456";
	return a;
}

static char *render(const char *type, const struct tw_phone_account *a, char **name)
{
	const struct tw_phone_vendor *v = tw_phone_vendor_find(type);
	struct tw_buf b = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	assert_non_null(v);
	*name = NULL;
	assert_int_equal(v->render(a, &b, name, &err), 0);
	assert_non_null(*name);
	return tw_buf_detach(&b);
}

static void test_vendor_table(void **state)
{
	(void)state;
	assert_int_equal(tw_phone_nvendors, 5);
	for (size_t i = 0; i < tw_phone_nvendors; i++) {
		assert_non_null(tw_phone_types[i]);
		assert_string_equal(tw_phone_types[i], tw_phone_vendors[i]->type);
		assert_ptr_equal(tw_phone_vendor_find(tw_phone_types[i]), tw_phone_vendors[i]);
		assert_non_null(tw_phone_vendors[i]->render);
	}
	assert_null(tw_phone_types[tw_phone_nvendors]);
	assert_null(tw_phone_vendor_find("polycom"));
	assert_true(tw_phone_vendor_find("yealink")->needs_mac);
	assert_false(tw_phone_vendor_find("grandstream")->needs_mac);
	assert_true(tw_phone_vendor_find("grandstream")->can_encrypt);
	assert_false(tw_phone_vendor_find("zoiper")->can_encrypt);
}

static void test_mac(void **state)
{
	char m[13];
	(void)state;
	const char *good[] = { "000b82123456", "00:0B:82:12:34:56", "00-0b-82-12-34-56", "000B.8212.3456" };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(tw_phone_mac_normalize(good[i], m), 0);
		assert_string_equal(m, "000b82123456");
	}
	const char *bad[] = { "", "000b8212345", "000b821234567", "00:0b:82:12:34", "00:0b-82:12:34:56",
			      "00:0b:82:12:34:5g", "000b:8212:3456", "0:00b:82:12:34:56", "000b.8212.345z",
			      "00::0b:82:12:34:5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tw_phone_mac_normalize(bad[i], m), -1);
}

static void test_xml_escape(void **state)
{
	struct tw_buf b = TW_BUF_INIT;
	(void)state;
	tw_phone_xml_escape(&b, "a&b<c>d\"e'f");
	assert_string_equal(b.buf, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	tw_buf_reset(&b);
	tw_phone_xml_elem(&b, 2, "P34", "x<y");
	assert_string_equal(b.buf, "  <P34>x&lt;y</P34>\n");
	tw_buf_release(&b);
}

static void test_grandstream(void **state)
{
	struct tw_phone_account a = account();
	char *name, *s;
	(void)state;
	s = render("grandstream", &a, &name);
	assert_string_equal(name, "cfg000b82123456.xml");
	assert_non_null(strstr(s, "<gs_provision version=\"1\">\n  <mac>000b82123456</mac>\n  <config version=\"1\">"));
	assert_non_null(strstr(s, "<P34>Se&lt;cr&gt;et&amp;Pass-123</P34>"));
	assert_non_null(strstr(s, "<P3>Alice &quot;A&quot; &amp; Co</P3>"));
	assert_non_null(strstr(s, "<P47>office.sip.twilio.com</P47>"));
	assert_non_null(strstr(s, "<P48></P48>"));
	assert_non_null(strstr(s, "<P130>0</P130>"));
	assert_non_null(strstr(s, "<P32>60</P32>"));
	assert_non_null(strstr(s, "<P57>0</P57>"));
	assert_non_null(strstr(s, "<P58>8</P58>"));
	assert_non_null(strstr(s, "<P183>0</P183>"));
	assert_null(strstr(s, "P2329"));
	free(s);
	free(name);

	a.mac = NULL;
	a.transport = TW_PHONE_TLS;
	a.port = 5061;
	a.srtp = 1;
	a.expires = 601;
	a.proxy_host = "sbc.example.com";
	s = render("grandstream", &a, &name);
	assert_string_equal(name, "cfg.xml");
	assert_null(strstr(s, "<mac>"));
	assert_non_null(strstr(s, "<P47>office.sip.twilio.com:5061</P47>"));
	assert_non_null(strstr(s, "<P48>sbc.example.com:5061</P48>"));
	assert_non_null(strstr(s, "<P130>2</P130>"));
	assert_non_null(strstr(s, "<P2329>0</P2329>"));
	assert_non_null(strstr(s, "<P183>2</P183>"));
	assert_non_null(strstr(s, "<P32>11</P32>"));   /* 601 s: 11 minutes, rounded up */
	free(s);
	free(name);
}

static void test_yealink(void **state)
{
	struct tw_phone_account a = account();
	struct tw_buf b = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	char *name, *s;
	(void)state;
	a.transport = TW_PHONE_TCP;
	a.proxy_host = "10.1.2.3";
	a.proxy_port = 5080;
	s = render("yealink", &a, &name);
	assert_string_equal(name, "000b82123456.cfg");
	assert_memory_equal(s, "#!version:1.0.0.1\n", 18);
	assert_non_null(strstr(s, "\naccount.1.password = " PW "\n"));
	assert_non_null(strstr(s, "\naccount.1.sip_server.1.transport_type = 1\n"));
	assert_non_null(strstr(s, "\naccount.1.outbound_proxy_enable = 1\n"));
	assert_non_null(strstr(s, "\naccount.1.outbound_proxy.1.address = 10.1.2.3\n"));
	assert_non_null(strstr(s, "\naccount.1.outbound_proxy.1.port = 5080\n"));
	free(s);
	free(name);
	/* a newline in a value would start a new key */
	a.password = "Line1\naccount.1.enable = 0";
	name = NULL;
	assert_int_equal(tw_phone_yealink.render(&a, &b, &name, &err), -1);
	assert_null(name);
	assert_non_null(strstr(err.msg, "control character"));
	assert_null(strstr(err.msg, "Line1"));
	tw_buf_release(&b);
}

static void test_zoiper(void **state)
{
	struct tw_phone_account a = account();
	char *name, *s, *s2;
	(void)state;
	s = render("zoiper", &a, &name);
	assert_string_equal(name, "alice/Config.xml");
	assert_non_null(strstr(s, "<options>\n  <accounts>\n    <account>\n"));
	assert_non_null(strstr(s, "<password>Se&lt;cr&gt;et&amp;Pass-123</password>"));
	assert_non_null(strstr(s, "<SIP_transport_type>udp</SIP_transport_type>"));
	assert_non_null(strstr(s, "<SIP_srtp_mode>none</SIP_srtp_mode>"));
	assert_non_null(strstr(s, "<SIP_dtmf_style>rfc_2833</SIP_dtmf_style>"));
	assert_non_null(strstr(s, "<ident>Z"));
	free(name);
	/* the account id is stable */
	s2 = render("zoiper", &a, &name);
	assert_string_equal(s, s2);
	free(s2);
	free(s);
	free(name);
}

static void test_linphone(void **state)
{
	struct tw_phone_account a = account();
	char *name, *s;
	(void)state;
	a.host = "office.sip.frankfurt.twilio.com";
	s = render("linphone", &a, &name);
	assert_string_equal(name, "alice/linphone.xml");
	assert_non_null(strstr(s, "<entry name=\"passwd\" overwrite=\"true\">Se&lt;cr&gt;et&amp;Pass-123</entry>"));
	assert_null(strstr(s, "ha1"));
	assert_non_null(strstr(s, "&lt;sip:office.sip.frankfurt.twilio.com;transport=udp&gt;"));
	/* the display name is a SIP quoted-string, then XML-escaped */
	assert_non_null(strstr(s, "&quot;Alice \\&quot;A\\&quot; &amp; Co&quot; &lt;sip:alice@office.sip.frankfurt.twilio.com&gt;"));
	free(s);
	free(name);
	a.proxy_host = "127.0.0.1";
	a.proxy_port = 5080;
	a.transport = TW_PHONE_TCP;
	s = render("linphone", &a, &name);
	assert_non_null(strstr(s, "reg_proxy\" overwrite=\"true\">&lt;sip:127.0.0.1:5080;transport=tcp&gt;"));
	free(s);
	free(name);
}

static void test_baresip(void **state)
{
	struct tw_phone_account a = account();
	struct tw_buf b = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	char *name = NULL, *s;
	(void)state;
	/* '<' in a parameter value, or a quote in the display name, cannot be written */
	assert_int_equal(tw_phone_baresip.render(&a, &b, &name, &err), -1);
	assert_non_null(strstr(err.msg, "the password holds '<'"));
	a.password = "Secret&Pass-123";
	assert_int_equal(tw_phone_baresip.render(&a, &b, &name, &err), -1);
	assert_non_null(strstr(err.msg, "display name"));
	a.display_name = "Alice Smith";
	s = render("baresip", &a, &name);
	assert_string_equal(name, "alice/accounts");
	assert_non_null(strstr(s, "\n\"Alice Smith\" <sip:alice@office.sip.twilio.com>;auth_user=alice;"
			       "auth_pass=Secret&Pass-123;regint=3600;audio_codecs=pcmu,pcma\n"));
	free(s);
	free(name);
	a.password = "Pass;word-123";
	tw_buf_reset(&b);
	assert_int_equal(tw_phone_baresip.render(&a, &b, &name, &err), -1);
	assert_null(strstr(err.msg, "Pass;word"));
	a.password = "Password-123";
	a.transport = TW_PHONE_TLS;
	a.port = 5061;
	a.srtp = 1;
	a.proxy_host = "sbc.example.com";
	s = render("baresip", &a, &name);
	assert_non_null(strstr(s, "<sip:alice@office.sip.twilio.com:5061;transport=tls>"));
	assert_non_null(strstr(s, ";mediaenc=srtp-mand;outbound=\"sip:sbc.example.com:5061;transport=tls\"\n"));
	free(s);
	free(name);
	tw_buf_release(&b);
}

/* Decrypt the way `openssl enc -d -aes-256-cbc -md md5 -k KEY` does. */
static int decrypt(const char *key, const struct tw_buf *in, struct tw_buf *out)
{
	unsigned char kiv[48];
	int n = 0, fin = 0, ok;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (in->len < 16 || memcmp(in->buf, "Salted__", 8))
		return -1;
	EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), (const unsigned char *)in->buf + 8, (const unsigned char *)key,
		       (int)strlen(key), 1, kiv, kiv + 32);
	tw_buf_grow(out, in->len);
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, kiv, kiv + 32) == 1 &&
	     EVP_DecryptUpdate(ctx, (unsigned char *)out->buf, &n, (const unsigned char *)in->buf + 16,
			       (int)in->len - 16) == 1 &&
	     EVP_DecryptFinal_ex(ctx, (unsigned char *)out->buf + n, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	out->len = (size_t)(n + fin);
	out->buf[out->len] = '\0';
	return 0;
}

static void test_encrypt(void **state)
{
	struct tw_buf in = TW_BUF_INIT, a = TW_BUF_INIT, b = TW_BUF_INIT, dec = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	(void)state;
	tw_buf_adds(&in, "<gs_provision version=\"1\"><config version=\"1\"><P34>" PW "</P34></config></gs_provision>\n");
	assert_int_equal(tw_phone_encrypt("Key-1", &in, &a, &err), 0);
	assert_int_equal(tw_phone_encrypt("Key-1", &in, &b, &err), 0);
	assert_int_equal(a.len % 16, 0);
	assert_int_equal(a.len, 16 + (in.len / 16 + 1) * 16);
	assert_memory_equal(a.buf, "Salted__", 8);
	assert_true(memcmp(a.buf + 8, b.buf + 8, 8) != 0);      /* a fresh salt each time */
	for (size_t i = 0; i + strlen(PW) <= a.len; i++)
		assert_true(memcmp(a.buf + i, PW, strlen(PW)) != 0);
	assert_int_equal(decrypt("Key-1", &a, &dec), 0);
	assert_string_equal(dec.buf, in.buf);
	tw_buf_reset(&dec);
	assert_int_not_equal(decrypt("Key-2", &a, &dec) == 0 && !strcmp(dec.buf, in.buf), 1);
	assert_int_equal(tw_phone_encrypt("", &in, &b, &err), -1);
	tw_buf_release(&in);
	tw_buf_wipe(&a);
	tw_buf_wipe(&b);
	tw_buf_wipe(&dec);
}

/* ---- the job over a loaded file ---- */

static const char base[] =
	"twprov: 1\n"
	"credential_lists:\n"
	"  - name: office\n"
	"    credentials:\n"
	"      - username: alice\n"
	"        password: ${env:TW_TEST_PHONE_PW}\n"
	"        devices:\n"
	"          - {type: zoiper}\n"
	"          - {type: grandstream, mac: 000b82123456}\n"
	"sip_domains:\n"
	"  - domain_name: office.sip.twilio.com\n"
	"    auth:\n"
	"      registrations:\n"
	"        credential_lists: [office]\n";

static struct tw_model *load(const char *yaml, int valid)
{
	struct tw_model *m = NULL;
	struct tw_err err = TW_ERR_INIT;
	int rc = tw_config_load_buf("t.yaml", ".", yaml, strlen(yaml), &m, &err);
	if (valid && rc != 0)
		tw_diags_print(&m->diags, stderr);
	assert_int_equal(rc, valid ? 0 : -1);
	return m;
}

static int has_diag(const struct tw_diags *d, int line, int col, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].loc.line == line && (!col || d->v[i].loc.col == col) && strstr(d->v[i].msg, text))
			return 1;
	return 0;
}

static void test_render_all(void **state)
{
	struct tw_model *m;
	struct tw_phone_opts o = { 0 };
	struct tw_phone_files f;
	struct tw_diags d = { 0 };
	struct tw_err err = TW_ERR_INIT;
	(void)state;
	setenv("TW_TEST_PHONE_PW", "Alice-Pass-1234", 1);
	m = load(base, 1);
	tw_phone_files_init(&f);
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.ncredentials, 1);
	assert_string_equal(f.v[0].name, "alice/Config.xml");
	assert_string_equal(f.v[0].type, "zoiper");
	assert_string_equal(f.v[0].account, "alice@office.sip.twilio.com");
	assert_string_equal(f.v[1].name, "cfg000b82123456.xml");
	assert_non_null(strstr(f.v[1].data.buf, "<P34>Alice-Pass-1234</P34>"));
	tw_phone_files_release(&f);

	/* --only and --domain that name nothing are usage errors */
	o.only = "nobody";
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	assert_int_equal(err.kind, TW_ERR_USAGE);
	o.only = NULL;
	o.domain = "other.sip.twilio.com";
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	assert_int_equal(err.kind, TW_ERR_USAGE);
	o.domain = NULL;
	o.proxy = "host:0";
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	assert_int_equal(err.kind, TW_ERR_USAGE);
	o.proxy = "bad host";
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	o.proxy = "127.0.0.1:5080";
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), 0);
	assert_non_null(strstr(f.v[0].data.buf, "<SIP_outbound_proxy>127.0.0.1:5080</SIP_outbound_proxy>"));
	tw_phone_files_release(&f);
	assert_int_equal(d.nerrors, 0);
	tw_model_free(m);
	tw_diags_release(&d);
}

static void test_render_all_problems(void **state)
{
	struct tw_phone_opts o = { 0 };
	struct tw_phone_files f;
	struct tw_diags d = { 0 };
	struct tw_err err = TW_ERR_INIT;
	struct tw_model *m;
	char *y;
	(void)state;
	setenv("TW_TEST_PHONE_PW", "Alice-Pass-1234", 1);
	tw_phone_files_init(&f);

	/* no domain maps the list: reported at the device, nothing rendered */
	y = tw_xstrdup(base);
	memcpy(strstr(y, "[office]"), "[]      ", 8);
	m = load(y, 1);
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	assert_int_equal(err.kind, TW_ERR_INVALID);
	assert_int_equal(f.n, 0);
	assert_true(has_diag(&d, 8, 13, "credentials/alice/devices[0]: no sip domain takes registrations"));
	assert_true(has_diag(&d, 9, 13, "credentials/alice/devices[1]: no sip domain"));
	tw_model_free(m);
	tw_diags_release(&d);
	memset(&d, 0, sizeof(d));
	free(y);

	/* a username that would leave the output directory */
	y = tw_xasprintf("%s", base);
	memcpy(strstr(y, "alice"), "../.x", 5);
	m = load(y, 1);
	assert_int_equal(tw_phone_render_all(m, &o, &f, &d, &err), -1);
	assert_true(has_diag(&d, 8, 13, "cannot name a file \"../.x/Config.xml\""));
	tw_model_free(m);
	tw_diags_release(&d);
	memset(&d, 0, sizeof(d));
	free(y);
}

static void test_device_validation(void **state)
{
	struct tw_model *m;
	(void)state;
	setenv("TW_TEST_PHONE_PW", "Alice-Pass-1234", 1);
	m = load("twprov: 1\n"
		 "credential_lists:\n"
		 "  - name: office\n"
		 "    credentials:\n"
		 "      - username: alice\n"
		 "        password: ${env:TW_TEST_PHONE_PW}\n"
		 "        devices:\n"
		 "          - {type: yealink}\n"
		 "          - {type: polycom}\n"
		 "          - {type: zoiper, mac: 12, transport: sctp, edge: mars, expires: 60}\n"
		 "          - {type: baresip, encrypt_key: literal-key, domain: nosuch.sip.twilio.com}\n"
		 "          - {type: grandstream, encrypt_key: literal-key}\n"
		 "          - {mac: 000b82123456}\n", 0);
	assert_true(has_diag(&m->diags, 8, 13, "credential_lists/office/credentials/alice/devices[0]: a yealink device "
			     "needs its mac"));
	assert_true(has_diag(&m->diags, 9, 20, "devices[1].type: not one of grandstream, yealink, zoiper, linphone, baresip"));
	assert_true(has_diag(&m->diags, 10, 33, "devices[2].mac: not a MAC address"));
	assert_true(has_diag(&m->diags, 10, 48, "devices[2].transport: not one of udp, tcp, tls"));
	assert_true(has_diag(&m->diags, 10, 60, "devices[2].edge: not one of"));
	assert_true(has_diag(&m->diags, 10, 75, "devices[2].expires: must be between 600 and 86400"));
	assert_true(has_diag(&m->diags, 11, 0, "devices[3]: encrypt_key: baresip phones do not read encrypted files"));
	assert_true(has_diag(&m->diags, 11, 0, "unknown sip_domains \"nosuch.sip.twilio.com\""));
	assert_true(has_diag(&m->diags, 11, 0, "literal secret in the file"));
	assert_true(has_diag(&m->diags, 13, 13, "devices[5]: missing required field \"type\""));
	/* grandstream may take a key */
	assert_false(has_diag(&m->diags, 12, 0, "encrypt_key: grandstream"));
	tw_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vendor_table),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_xml_escape),
		cmocka_unit_test(test_grandstream),
		cmocka_unit_test(test_yealink),
		cmocka_unit_test(test_zoiper),
		cmocka_unit_test(test_linphone),
		cmocka_unit_test(test_baresip),
		cmocka_unit_test(test_encrypt),
		cmocka_unit_test(test_render_all),
		cmocka_unit_test(test_render_all_problems),
		cmocka_unit_test(test_device_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
