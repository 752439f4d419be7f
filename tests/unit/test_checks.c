/* test_checks.c - value checks, edit distance, suggestions, globs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/checks.h"

static const char *const methods[] = { "GET", "POST", NULL };
static const char *const states[] = { "present", "absent", NULL };

static const struct tw_field f_any = { .name = "x" };
static const struct tw_field f_secret = { .name = "x", .flags = TW_F_SECRET };
static const struct tw_field f_sip = { .name = "domain_name", .suffix = ".sip.twilio.com" };
static const struct tw_field f_pstn = { .name = "domain_name", .suffix = ".pstn.twilio.com" };
static const struct tw_field f_enum = { .name = "voice_method", .choices = methods };
static const struct tw_field f_state = { .name = "state", .choices = states };
static const struct tw_field f_name64 = { .name = "name", .max = 64 };
static const struct tw_field f_name0 = { .name = "name" };

/* Run a check; on failure return its message (heap), else NULL. */
static char *run(tw_check_fn fn, const struct tw_field *f, const char *v)
{
	struct tw_buf why = TW_BUF_INIT;
	int r = fn(f, v, &why);
	if (r == 0) {
		assert_int_equal(why.len, 0);
		tw_buf_release(&why);
		return NULL;
	}
	assert_int_equal(r, -1);
	assert_true(why.len > 0);
	return tw_buf_detach(&why);
}

#define GOOD(fn, f, v) do { \
	char *m_ = run(fn, f, v); \
	if (m_) fail_msg("%s(%s) rejected: %s", #fn, v, m_); \
} while (0)

/* Expect a failure whose message contains `sub`. */
#define BAD(fn, f, v, sub) do { \
	char *m_ = run(fn, f, v); \
	if (!m_) fail_msg("%s(%s) accepted", #fn, v); \
	if (!strstr(m_, sub)) fail_msg("%s(%s): \"%s\" lacks \"%s\"", #fn, v, m_, sub); \
	free(m_); \
} while (0)

static void test_url(void **state)
{
	(void)state;
	GOOD(tw_check_url, &f_any, "");
	GOOD(tw_check_url, &f_any, "https://example.twil.io/inbound");
	GOOD(tw_check_url, &f_any, "http://x");
	GOOD(tw_check_url, &f_any, "HTTPS://Example.com:8443/a?b=c#d");
	GOOD(tw_check_url, &f_any, "https://user:pw@example.com/x");
	GOOD(tw_check_url, &f_any, "http://[::1]:8080/");
	GOOD(tw_check_url, &f_any, "http://127.0.0.1:5000?x=1");
	BAD(tw_check_url, &f_any, "htp://x", "not a URL: \"htp://x\"");
	BAD(tw_check_url, &f_any, "ftp://example.com", "not a URL");
	BAD(tw_check_url, &f_any, "example.com/x", "not a URL");
	BAD(tw_check_url, &f_any, "https://", "not a URL");
	BAD(tw_check_url, &f_any, "https:///path", "not a URL");
	BAD(tw_check_url, &f_any, "https://exa mple.com", "not a URL");
	BAD(tw_check_url, &f_any, "https://example.com/a b", "not a URL");
	BAD(tw_check_url, &f_any, "https://example.com:port/", "not a URL");
	BAD(tw_check_url, &f_any, "https://example.com:0/", "not a URL");
	BAD(tw_check_url, &f_any, "https://user@/x", "not a URL");
	BAD(tw_check_url, &f_any, " https://example.com", "not a URL");
	/* the value is never shown for a secret field */
	char *m = run(tw_check_url, &f_secret, "htp://hunter2");
	assert_non_null(m);
	assert_null(strstr(m, "hunter2"));
	free(m);
}

static void test_method(void **state)
{
	(void)state;
	GOOD(tw_check_method, &f_any, "GET");
	GOOD(tw_check_method, &f_any, "POST");
	BAD(tw_check_method, &f_any, "PUT", "not GET or POST: \"PUT\"");
	BAD(tw_check_method, &f_any, "post", "did you mean \"POST\"?");
	BAD(tw_check_method, &f_any, "get", "did you mean \"GET\"?");
	BAD(tw_check_method, &f_any, "", "not GET or POST");
}

static void test_e164(void **state)
{
	(void)state;
	GOOD(tw_check_e164, &f_any, "+16505551111");
	GOOD(tw_check_e164, &f_any, "+19863334949");
	GOOD(tw_check_e164, &f_any, "+12");                /* shortest: country code + 1 digit */
	GOOD(tw_check_e164, &f_any, "+123456789012345");   /* 15 digits */
	BAD(tw_check_e164, &f_any, "+1234567890123456", "not an E.164 number"); /* 16 digits */
	BAD(tw_check_e164, &f_any, "16505551111", "not an E.164 number: \"16505551111\"");
	BAD(tw_check_e164, &f_any, "+06505551111", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "+1", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "+", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "+1 650 555 1111", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "+1650555111a", "not an E.164 number");
	BAD(tw_check_e164, &f_any, "++16505551111", "not an E.164 number");
}

static void test_domain(void **state)
{
	(void)state;
	GOOD(tw_check_domain, &f_sip, "movewheels.sip.twilio.com");
	GOOD(tw_check_domain, &f_sip, "a.b-c.sip.twilio.com");
	GOOD(tw_check_domain, &f_sip, "x1.sip.twilio.com");
	GOOD(tw_check_domain, &f_pstn, "nlpbay.pstn.twilio.com");
	BAD(tw_check_domain, &f_sip, "nlpbay.pstn.twilio.com", "must end in .sip.twilio.com");
	BAD(tw_check_domain, &f_pstn, "movewheels.sip.twilio.com", "must end in .pstn.twilio.com");
	BAD(tw_check_domain, &f_sip, ".sip.twilio.com", "needs a name before .sip.twilio.com");
	BAD(tw_check_domain, &f_sip, "sip.twilio.com", "must end in .sip.twilio.com");
	BAD(tw_check_domain, &f_sip, "Move.sip.twilio.com", "must be lower case");
	BAD(tw_check_domain, &f_sip, "-move.sip.twilio.com", "starts or ends with '-'");
	BAD(tw_check_domain, &f_sip, "move-.sip.twilio.com", "starts or ends with '-'");
	BAD(tw_check_domain, &f_sip, "mo_ve.sip.twilio.com", "only letters, digits and '-'");
	BAD(tw_check_domain, &f_sip, "a..b.sip.twilio.com", "empty label");
	BAD(tw_check_domain, &f_sip, "a..sip.twilio.com", "empty label");
	BAD(tw_check_domain, &f_sip, ".a.sip.twilio.com", "empty label");
	BAD(tw_check_domain, &f_sip, "", "must end in");
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".sip.twilio.com");
	BAD(tw_check_domain, &f_sip, label, "longer than 63");
	label[1] = '\0';
	GOOD(tw_check_domain, &f_sip, strcat(label, ".sip.twilio.com"));
}

static void test_username(void **state)
{
	(void)state;
	GOOD(tw_check_username, &f_any, "alice");
	GOOD(tw_check_username, &f_any, "a");
	GOOD(tw_check_username, &f_any, "12345678901234567890123456789012"); /* 32 */
	GOOD(tw_check_username, &f_any, "a.b-c_d+e!~");
	BAD(tw_check_username, &f_any, "123456789012345678901234567890123", "longer than 32");
	BAD(tw_check_username, &f_any, "", "empty");
	BAD(tw_check_username, &f_any, "al ice", "contains a space");
	BAD(tw_check_username, &f_any, "alice@example.com", "contains '@'");
	BAD(tw_check_username, &f_any, "alice:1", "contains ':'");
	BAD(tw_check_username, &f_any, "al\tice", "printable ASCII");
	BAD(tw_check_username, &f_any, "j\xc3\xb6rg", "printable ASCII");
	BAD(tw_check_username, &f_any, "bob@x", "not a valid username: \"bob@x\"");
}

static void test_password(void **state)
{
	(void)state;
	GOOD(tw_check_password, &f_secret, "IWasAtSignal2018");
	GOOD(tw_check_password, &f_secret, "Abcdefghijk1");   /* exactly 12 */
	const char *weak[] = {
		"Abcdefghij1",        /* 11 */
		"abcdefghijk1",       /* no upper */
		"ABCDEFGHIJK1",       /* no lower */
		"Abcdefghijkl",       /* no digit */
		"",
	};
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		char *m = run(tw_check_password, &f_secret, weak[i]);
		assert_non_null(m);
		assert_string_equal(m, "too weak: needs at least 12 characters, a digit, an upper and a lower case letter");
		free(m);
	}
	/* no value in the message even when the field is not flagged secret */
	char *m = run(tw_check_password, &f_any, "Hunter2");
	assert_null(strstr(m, "Hunter2"));
	free(m);
}

static void test_ipv4(void **state)
{
	(void)state;
	GOOD(tw_check_ipv4, &f_any, "138.2.68.107");
	GOOD(tw_check_ipv4, &f_any, "0.0.0.0");
	GOOD(tw_check_ipv4, &f_any, "255.255.255.255");
	GOOD(tw_check_ipv4, &f_any, "54.172.60.0");
	BAD(tw_check_ipv4, &f_any, "256.1.1.1", "not an IPv4 address: \"256.1.1.1\"");
	BAD(tw_check_ipv4, &f_any, "1.2.3", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "1.2.3.4.5", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "01.2.3.4", "leading zeros");
	BAD(tw_check_ipv4, &f_any, "1.2.3.010", "leading zeros");
	BAD(tw_check_ipv4, &f_any, "1.2.3.0004", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "1..3.4", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "1.2.3.4 ", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, " 1.2.3.4", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "+1.2.3.4", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "1.2.3.-4", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "0x7f.0.0.1", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "::1", "not an IPv4 address");
	BAD(tw_check_ipv4, &f_any, "", "not an IPv4 address");
}

static void test_enum(void **state)
{
	(void)state;
	GOOD(tw_check_enum, &f_enum, "GET");
	GOOD(tw_check_enum, &f_enum, "POST");
	GOOD(tw_check_enum, &f_state, "absent");
	BAD(tw_check_enum, &f_enum, "post", "not one of GET, POST: \"post\" (did you mean \"POST\"?)");
	BAD(tw_check_enum, &f_state, "absnet", "not one of present, absent: \"absnet\" (did you mean \"absent\"?)");
	char *m = run(tw_check_enum, &f_state, "gone");
	assert_string_equal(m, "not one of present, absent: \"gone\"");
	free(m);
	/* a field without choices accepts anything */
	GOOD(tw_check_enum, &f_any, "whatever");
}

static void test_sip_uri(void **state)
{
	(void)state;
	GOOD(tw_check_sip_uri, &f_any, "sip:sbc1.carrier.example:5060");
	GOOD(tw_check_sip_uri, &f_any, "sip:138.2.68.107:5060");
	GOOD(tw_check_sip_uri, &f_any, "sip:138.2.68.107");
	GOOD(tw_check_sip_uri, &f_any, "sip:pbx.example.com;transport=tls");
	GOOD(tw_check_sip_uri, &f_any, "sip:pbx.example.com:5061;transport=tls;lr");
	GOOD(tw_check_sip_uri, &f_any, "sip:[2001:db8::1]:5060");
	BAD(tw_check_sip_uri, &f_any, "sips:pbx.example.com", "sips: is not supported");
	BAD(tw_check_sip_uri, &f_any, "http://pbx.example.com", "must start with sip:");
	BAD(tw_check_sip_uri, &f_any, "pbx.example.com", "not a SIP URI: \"pbx.example.com\"");
	BAD(tw_check_sip_uri, &f_any, "sip:", "not a SIP URI");
	BAD(tw_check_sip_uri, &f_any, "sip::5060", "not a SIP URI");
	BAD(tw_check_sip_uri, &f_any, "sip:pbx.example.com:99999", "not a SIP URI");
	BAD(tw_check_sip_uri, &f_any, "sip:pbx.example.com:", "not a SIP URI");
	BAD(tw_check_sip_uri, &f_any, "sip:pbx example.com", "not a SIP URI");
	BAD(tw_check_sip_uri, &f_any, "sip:pbx.example.com;", "empty parameter");
	BAD(tw_check_sip_uri, &f_any, "sip:alice@pbx.example.com", "expected sip:host[:port][;params]");
}

static void test_name(void **state)
{
	(void)state;
	GOOD(tw_check_name, &f_name64, "office-phones");
	GOOD(tw_check_name, &f_name64, "Move Wheels office");
	GOOD(tw_check_name, &f_name64, "B\xc3\xbcro");   /* UTF-8 is fine */
	BAD(tw_check_name, &f_name64, "", "must not be empty");
	BAD(tw_check_name, &f_name64, "a\tb", "contains a control character");
	BAD(tw_check_name, &f_name64, "a\x7f", "contains a control character");
	BAD(tw_check_name, &f_name64, "a\xc2\x85" "b", "contains a control character");   /* U+0085 */
	char s[160];
	memset(s, 'x', 65);
	s[65] = '\0';
	BAD(tw_check_name, &f_name64, s, "too long: 65 characters (max 64)");
	s[64] = '\0';
	GOOD(tw_check_name, &f_name64, s);
	/* 64 two-byte characters are 64 characters, not 128 */
	for (int i = 0; i < 64; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[128] = '\0';
	GOOD(tw_check_name, &f_name64, s);
	/* max 0 is no limit */
	memset(s, 'y', 99);
	s[99] = '\0';
	GOOD(tw_check_name, &f_name0, s);
}

static void test_quote_long_and_control(void **state)
{
	(void)state;
	/* long values are cut and control characters escaped in messages */
	char s[300];
	memset(s, 'h', 299);
	s[0] = 'x';
	s[299] = '\0';
	char *m = run(tw_check_url, &f_any, s);
	assert_non_null(strstr(m, "...\""));
	assert_true(strlen(m) < 120);
	free(m);
	m = run(tw_check_e164, &f_any, "\x1b[31m");
	assert_non_null(strstr(m, "\\033[31m"));
	assert_null(strchr(m, '\x1b'));
	free(m);
}

static void test_null_field(void **state)
{
	(void)state;
	/* checks that need nothing from the field accept NULL */
	GOOD(tw_check_url, NULL, "https://x");
	BAD(tw_check_url, NULL, "x", "not a URL: \"x\"");
	GOOD(tw_check_e164, NULL, "+16505551111");
	GOOD(tw_check_ipv4, NULL, "1.2.3.4");
	GOOD(tw_check_username, NULL, "alice");
	GOOD(tw_check_password, NULL, "IWasAtSignal2018");
	GOOD(tw_check_sip_uri, NULL, "sip:a.example");
	GOOD(tw_check_method, NULL, "GET");
	GOOD(tw_check_name, NULL, "x");
	GOOD(tw_check_enum, NULL, "x");
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(tw_edit_distance("", ""), 0);
	assert_int_equal(tw_edit_distance("abc", ""), 3);
	assert_int_equal(tw_edit_distance("", "abc"), 3);
	assert_int_equal(tw_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(tw_edit_distance("voice_ulr", "voice_url"), 2);   /* no transpositions */
	assert_int_equal(tw_edit_distance("offic-phones", "office-phones"), 1);
	assert_int_equal(tw_edit_distance("same", "same"), 0);
	assert_int_equal(tw_edit_distance("flaw", "lawn"), 2);
	assert_int_equal(tw_edit_distance("a", "b"), 1);
}

static void test_suggest(void **state)
{
	(void)state;
	const char *keys[] = { "domain_name", "friendly_name", "voice_url", "voice_method", "secure" };
	size_t n = sizeof(keys) / sizeof(keys[0]);

	assert_string_equal(tw_suggest("voice_ulr", keys, n), "voice_url");
	assert_string_equal(tw_suggest("voice_metod", keys, n), "voice_method");
	assert_string_equal(tw_suggest("secur", keys, n), "secure");
	assert_string_equal(tw_suggest("Secure", keys, n), "secure");   /* case only */
	assert_string_equal(tw_suggest("SECURE", keys, n), "secure");
	assert_null(tw_suggest("password", keys, n));
	assert_null(tw_suggest("", keys, n));
	assert_null(tw_suggest("x", keys, n));
	assert_null(tw_suggest("voice_url", keys, 0));
	/* short words allow one edit only */
	const char *two[] = { "ip", "id" };
	assert_string_equal(tw_suggest("iq", two, 2), "ip");
	const char *edge[] = { "edge", "region" };
	assert_null(tw_suggest("ab", edge, 2));
	/* the closest wins; ties go to the first */
	const char *names[] = { "office-phones", "office-phone", "offices-phones" };
	assert_string_equal(tw_suggest("office-phonez", names, 3), "office-phones");
	assert_string_equal(tw_suggest("office-phon", names, 3), "office-phone");
	/* NULL entries are skipped */
	const char *holes[] = { NULL, "calls", NULL };
	assert_string_equal(tw_suggest("call", holes, 3), "calls");
	/* a one-letter name is not "close" to another one-letter name */
	const char *one[] = { "a" };
	assert_null(tw_suggest("b", one, 1));
}

/* tw_suggest (banded, early exit) agrees with a brute force over tw_edit_distance. */
static const char *suggest_reference(const char *word, const char *const *cands, size_t n)
{
	size_t wl = strlen(word), limit = wl <= 3 ? 1 : 2, bestd = (size_t)-1;
	const char *best = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t d = tw_edit_distance(word, cands[i]);
		if (d > limit || (d && d >= strlen(cands[i])))
			continue;
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

static void random_word(char *w, unsigned *seed)
{
	int len = 1 + (int)(rand_r(seed) % 9);
	for (int i = 0; i < len; i++)
		w[i] = "abc-"[rand_r(seed) % 4];
	w[len] = '\0';
}

static void test_suggest_matches_brute_force(void **state)
{
	(void)state;
	unsigned seed = 12345;
	char words[9][16];
	const char *cands[8];
	for (int round = 0; round < 20000; round++) {
		for (int i = 0; i < 9; i++)
			random_word(words[i], &seed);
		for (int i = 0; i < 8; i++)
			cands[i] = words[i + 1];
		const char *got = tw_suggest(words[0], cands, 8), *want = suggest_reference(words[0], cands, 8);
		if (got != want)
			fail_msg("tw_suggest(%s) = %s, want %s", words[0], got ? got : "NULL", want ? want : "NULL");
	}
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(tw_glob_match("legacy-*", "legacy-office"));
	assert_true(tw_glob_match("legacy-*", "legacy-"));
	assert_false(tw_glob_match("legacy-*", "office-legacy"));
	assert_true(tw_glob_match("*", "anything at all"));
	assert_true(tw_glob_match("pbx-?", "pbx-1"));
	assert_false(tw_glob_match("pbx-?", "pbx-12"));
	assert_true(tw_glob_match("[ab]*", "alpha"));
	assert_false(tw_glob_match("[ab]*", "gamma"));
	assert_true(tw_glob_match("exact", "exact"));
	assert_false(tw_glob_match("exact", "Exact"));
	assert_true(tw_glob_match("*.sip.twilio.com", "a.sip.twilio.com"));
	assert_true(tw_glob_match("a/*", "a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_e164),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_username),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_sip_uri),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_quote_long_and_control),
		cmocka_unit_test(test_null_field),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_suggest_matches_brute_force),
		cmocka_unit_test(test_glob),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
