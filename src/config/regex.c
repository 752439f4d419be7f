/* regex.c - the regular expressions of call routes
 *
 * A route's `match:` runs twice: here, when the file is validated (PCRE2),
 * and in the generated Function, as a JavaScript RegExp.  Both engines read
 * the same way a subset of the syntax, so that subset is what a route may
 * use: literals and escaped metacharacters, `.`, `^` and `$`, character
 * classes with ranges and negation, the escapes \d \D \w \W \s \S \b \B,
 * capturing and non-capturing groups, lookahead, alternation and the
 * quantifiers * + ? {n} {n,} {n,m}, greedy or lazy.  PCRE2 compiles the
 * pattern (a pattern it refuses is refused, with its message and offset)
 * with PCRE2_DOLLAR_ENDONLY, so that `$` ends the subject as in JavaScript;
 * what PCRE2 reads but JavaScript does not, or reads otherwise (back
 * references, named and atomic groups, lookbehind, inline options,
 * possessive quantifiers, \A \z \Q \p and the like, POSIX classes) is
 * refused by name before it gets there, and PCRE2's pattern information
 * refuses back references and named groups again.  tests/node/regex-cases.json holds
 * patterns and subjects whose groups both engines must give alike: the C
 * unit test runs them through tw_regex_exec, the Node test through RegExp.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/checks.h"

#define TW_REGEX_MAX 256

/* What PCRE2 reads in a way JavaScript does not, or not at all. */
static const char *unsupported(const char *p)
{
	static const char *const escapes = "AzZGQEhHvVRXKkpPNCcxuoeagl";
	int in_class = 0;

	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;     /* PCRE2 says what is wrong */
			if (strchr(escapes, p[1]) || (p[1] >= '1' && p[1] <= '9') || p[1] == '0')
				return "this escape";
			p++;
			continue;
		}
		if (in_class) {
			if (*p == '[' && p[1] == ':')
				return "POSIX classes ([:alpha:])";
			if (*p == ']')
				in_class = 0;
			continue;
		}
		if (*p == '[') {
			in_class = 1;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;     /* a literal ] first in a class */
			continue;
		}
		if (*p == '(' && p[1] == '?' && !(p[2] == ':' || p[2] == '=' || p[2] == '!'))
			return "this kind of group (only (...), (?:...), (?=...) and (?!...))";
		if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '+')
			return "possessive quantifiers";
	}
	return NULL;
}

static pcre2_code *compile(const char *pattern, int *ngroups, struct tw_buf *why)
{
	const char *what;
	pcre2_code *re;
	uint32_t n = 0, backref = 0, names = 0;
	int rc;
	PCRE2_SIZE at;

	if (strlen(pattern) > TW_REGEX_MAX) {
		tw_buf_addf(why, "longer than %d characters", TW_REGEX_MAX);
		return NULL;
	}
	if ((what = unsupported(pattern))) {
		tw_buf_addf(why, "not in the regular expressions routes take: %s (see twprov.yaml(5))", what);
		return NULL;
	}
	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF, &rc,
			   &at, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		tw_buf_addf(why, "not a valid regular expression: %s at offset %zu", (const char *)msg, (size_t)at);
		return NULL;
	}
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
	pcre2_pattern_info(re, PCRE2_INFO_BACKREFMAX, &backref);
	pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &names);
	/* (lookbehind was refused by name: PCRE2 counts \b as a lookbehind too) */
	if (backref || names) {
		tw_buf_addf(why, "not in the regular expressions routes take: %s (see twprov.yaml(5))",
			    backref ? "back references" : "named groups");
		pcre2_code_free(re);
		return NULL;
	}
	if (ngroups)
		*ngroups = (int)n;
	return re;
}

int tw_regex_check(const char *pattern, int *ngroups, struct tw_buf *why)
{
	pcre2_code *re = compile(pattern, ngroups, why);
	if (!re)
		return -1;
	pcre2_code_free(re);
	return 0;
}

int tw_check_regex(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	(void)f;
	return tw_regex_check(v, NULL, why);
}

json_t *tw_regex_exec(const char *pattern, const char *subject)
{
	struct tw_buf why = TW_BUF_INIT;
	pcre2_code *re = compile(pattern, NULL, &why);
	pcre2_match_data *md;
	json_t *out = NULL;
	int rc;

	tw_buf_release(&why);
	if (!re)
		return NULL;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
	if (rc > 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		uint32_t n = 0;
		pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
		out = json_array();
		/* JavaScript gives undefined for a group that did not take part: null here */
		for (uint32_t i = 0; i <= n; i++)
			json_array_append_new(out, (int)i < rc && ov[2 * i] != PCRE2_UNSET
					      ? json_stringn(subject + ov[2 * i], ov[2 * i + 1] - ov[2 * i])
					      : json_null());
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return out;
}
