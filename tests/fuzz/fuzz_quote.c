/*
 * fuzz_quote.c - libFuzzer harness for what twprov shows on a terminal
 *
 * The bytes are a string from the file or a server (a name, an error
 * message).  The first byte picks the mode of tw_buf_add_quoted (none,
 * TW_QUOTE_ALWAYS, TW_QUOTE_INLINE) and whether bytes 1 to 8 are registered
 * as a secret first.  Whatever the input:
 *   - the output holds no control character (C0, DEL), no C1 control, no
 *     bidi or invisible formatting control and no invalid UTF-8: quoting it
 *     again inline changes nothing;
 *   - quoted, it is unambiguous: either the input itself (plain: no '"' nor
 *     '\') or a C string literal that reads back as the input, with every
 *     secret replaced by "(redacted)";
 *   - a registered secret never shows (when it cannot be formed from the
 *     bytes of "(redacted)" or of an escape).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "twprov/buf.h"
#include "twprov/redact.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Read a quoted form back as a C string literal; returns its length or -1. */
static long unquote(const char *q, size_t qlen, char *out)
{
	size_t n = 0, i = 1;

	if (qlen < 2 || q[0] != '"' || q[qlen - 1] != '"')
		return -1;
	while (i < qlen - 1) {
		if (q[i] != '\\') {
			if (q[i] == '"')
				return -1;      /* a bare quote inside: ambiguous */
			out[n++] = q[i++];
			continue;
		}
		if (++i >= qlen - 1)
			return -1;
		if (q[i] >= '0' && q[i] <= '3' && i + 2 < qlen - 1 && q[i + 1] >= '0' && q[i + 1] <= '7' &&
		    q[i + 2] >= '0' && q[i + 2] <= '7') {
			out[n++] = (char)((q[i] - '0') << 6 | (q[i + 1] - '0') << 3 | (q[i + 2] - '0'));
			i += 3;
			continue;
		}
		const char *e = strchr("a\ab\bt\tn\nv\vf\fr\r\"\"\\\\", q[i]);
		if (!q[i] || !e || (e - "a\ab\bt\tn\nv\vf\fr\r\"\"\\\\") % 2)
			return -1;
		out[n++] = e[1];
		i++;
	}
	return (long)n;
}

/* Can `s` be spelled with the bytes of "(redacted)" and of escapes (\ooo, \a, \", ...)? */
static int formable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr("(redacted)\\\"01234567abtnvfr", s[i]) && s[i])
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned modes[3] = { 0, TW_QUOTE_ALWAYS, TW_QUOTE_INLINE };
	struct tw_buf out = TW_BUF_INIT, again = TW_BUF_INIT, want = TW_BUF_INIT;
	const char *s = (const char *)data + 1;
	size_t len = size ? size - 1 : 0, at, n;
	unsigned mode;
	int secret;

	if (!size)
		return 0;
	mode = modes[data[0] % 3];
	secret = data[0] & 4 && len >= 8;
	if (secret)
		tw_secret_add(s, 8);

	tw_buf_add_quoted(&out, s, len, mode);
	tw_redact(s, len, &want);
	if (secret && !formable(s, 8) && tw_secret_find(out.buf, out.len, &at, &n))
		abort();
	tw_secrets_release();   /* what follows looks at the escaping alone */

	/* nothing left that a terminal would act on */
	tw_buf_add_quoted(&again, out.buf, out.len, TW_QUOTE_INLINE);
	if (again.len != out.len || memcmp(again.buf, out.buf, out.len))
		abort();
	for (size_t i = 0; i < out.len; i++)
		if ((unsigned char)out.buf[i] < 0x20 || out.buf[i] == 0x7f)
			abort();

	if (!(mode & TW_QUOTE_INLINE)) {
		int plain = !(mode & TW_QUOTE_ALWAYS) && (out.len == 0 || out.buf[0] != '"');
		if (plain) {
			if (out.len != want.len || memcmp(out.buf, want.buf, want.len) || memchr(want.buf, '"', want.len))
				abort();
		} else {
			char *back = malloc(out.len ? out.len : 1);
			long got = unquote(out.buf, out.len, back);
			if (got < 0 || (size_t)got != want.len || memcmp(back, want.buf, want.len))
				abort();
			free(back);
		}
	}

	tw_buf_release(&out);
	tw_buf_release(&again);
	tw_buf_release(&want);
	tw_quote_release();
	return 0;
}
