/* test_quote.c - strings shown on a terminal (tw_buf_add_quoted) and the redaction of secrets */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/redact.h"

static char *quoted(const char *s, size_t len, unsigned flags)
{
	struct tw_buf b = TW_BUF_INIT;
	tw_buf_add_quoted(&b, s, len, flags);
	return tw_buf_detach(&b);
}

#define Q(in, flags, want) do { \
	char *got_ = quoted(in, sizeof(in) - 1, flags); \
	assert_string_equal(got_, want); \
	free(got_); \
} while (0)

static void test_plain_strings_unchanged(void **state)
{
	(void)state;
	Q("office-phones", 0, "office-phones");
	Q("Main line (front desk) +1 650 555", 0, "Main line (front desk) +1 650 555");
	Q("Café Zürich — 東京", 0, "Café Zürich — 東京");
	Q("", 0, "");
	Q("office-phones", TW_QUOTE_ALWAYS, "\"office-phones\"");
	Q("", TW_QUOTE_ALWAYS, "\"\"");
}

static void test_git_style_escapes(void **state)
{
	(void)state;
	Q("evil\033[2J\nfake: line", 0, "\"evil\\033[2J\\nfake: line\"");
	Q("a\"b", 0, "\"a\\\"b\"");
	Q("back\\slash", 0, "\"back\\\\slash\"");
	Q("\a\b\t\n\v\f\r", 0, "\"\\a\\b\\t\\n\\v\\f\\r\"");
	Q("del\177", 0, "\"del\\177\"");
	Q("nul\0x", 0, "\"nul\\000x\"");
	/* C1 controls (CSI as U+009B), invalid UTF-8, overlong and surrogate forms */
	Q("csi\302\2332J", 0, "\"csi\\302\\2332J\"");
	Q("bad\377\376", 0, "\"bad\\377\\376\"");
	Q("over\300\257", 0, "\"over\\300\\257\"");
	Q("surr\355\240\200", 0, "\"surr\\355\\240\\200\"");
	Q("cut\342\202", 0, "\"cut\\342\\202\"");
	/* bidi and invisible controls: U+202E (right-to-left override), U+200B, U+2066 */
	Q("abc\342\200\256gpj.exe", 0, "\"abc\\342\\200\\256gpj.exe\"");
	Q("zero\342\200\213width", 0, "\"zero\\342\\200\\213width\"");
	Q("iso\342\201\246late", 0, "\"iso\\342\\201\\246late\"");
}

static void test_inline_escapes_only_controls(void **state)
{
	(void)state;
	Q("said \"no\" \\ ok", TW_QUOTE_INLINE, "said \"no\" \\ ok");
	Q("20404: gone\033]0;owned\007", TW_QUOTE_INLINE, "20404: gone\\033]0;owned\\a");
	Q("two\nlines", TW_QUOTE_INLINE, "two\\nlines");
}

/* The quoted form read back as a C string literal gives the bytes back. */
static size_t unquote(const char *q, char *out)
{
	size_t n = 0;
	assert_int_equal(*q++, '"');
	while (*q != '"') {
		if (*q != '\\') {
			out[n++] = *q++;
			continue;
		}
		q++;
		if (*q >= '0' && *q <= '7') {
			out[n++] = (char)((q[0] - '0') << 6 | (q[1] - '0') << 3 | (q[2] - '0'));
			q += 3;
			continue;
		}
		const char *e = strchr("a\ab\bt\tn\nv\vf\fr\r\"\"\\\\", *q);
		assert_non_null(e);
		out[n++] = e[1];
		q++;
	}
	assert_int_equal(q[1], '\0');
	return n;
}

static void test_round_trip_and_no_control_bytes(void **state)
{
	unsigned char in[512];
	char back[512];
	(void)state;
	srand(11);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand() % 40);
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)rand();
		char *q = quoted((const char *)in, len, TW_QUOTE_ALWAYS);
		for (const unsigned char *p = (const unsigned char *)q; *p; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
		assert_int_equal(unquote(q, back), len);
		assert_memory_equal(back, in, len);
		free(q);
	}
}

static void test_quote_ring(void **state)
{
	const char *a, *b;
	(void)state;
	a = tw_quote("tab\there");
	b = tw_quote("plain");
	assert_string_equal(a, "\"tab\\there\"");
	assert_string_equal(b, "plain");
	assert_string_equal(tw_quote(NULL), "(none)");
	assert_string_equal(tw_quote_always("plain"), "\"plain\"");
	tw_quote_release();
}

static void test_redaction(void **state)
{
	struct tw_buf b = TW_BUF_INIT;
	size_t at, n;
	(void)state;

	assert_false(tw_secret_find("nothing registered", 18, &at, &n));
	tw_secret_add("Alice-Desk-Phone-2024", 21);
	tw_secret_add("Pw with+space&=", 15);
	tw_secret_add("Alice-Desk", 10);      /* a prefix of another: the longest wins */
	tw_secret_add("short", 5);            /* too short to search: ignored */
	tw_secret_add_basic("ACxyz", "AuthTok-5ecret");

	assert_int_equal(tw_redact("400: bad Password=Alice-Desk-Phone-2024 for alice", 49, &b), 1);
	assert_string_equal(b.buf, "400: bad Password=(redacted) for alice");
	tw_buf_reset(&b);
	/* the form body's spellings: %20 and '+' for the space, %2B %26 %3D */
	tw_redact("Password=Pw%20with%2Bspace%26%3D&x=Pw+with%2Bspace%26%3D", 56, &b);
	assert_string_equal(b.buf, "Password=(redacted)&x=(redacted)");
	tw_buf_reset(&b);
	tw_redact("Basic QUN4eXo6QXV0aFRvay01ZWNyZXQ= and Alice-Desk only, short", 61, &b);
	assert_string_equal(b.buf, "Basic (redacted) and (redacted) only, short");
	tw_buf_release(&b);
	/* shown strings are redacted before they are escaped */
	Q("list Alice-Desk-Phone-2024\n", 0, "\"list (redacted)\\n\"");
	tw_secrets_release();
	Q("Alice-Desk-Phone-2024", 0, "Alice-Desk-Phone-2024");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_strings_unchanged),
		cmocka_unit_test(test_git_style_escapes),
		cmocka_unit_test(test_inline_escapes_only_controls),
		cmocka_unit_test(test_round_trip_and_no_control_bytes),
		cmocka_unit_test(test_quote_ring),
		cmocka_unit_test(test_redaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
