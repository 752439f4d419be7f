/* checks.c - value checks of the kind descriptors, edit distance, globs */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "twprov/buf.h"
#include "twprov/checks.h"
#include "internal.h"

#define QUOTE_MAX 80

void tw_cfg_quote(struct tw_buf *b, const char *v)
{
	size_t n = strlen(v), show = n;

	if (show > QUOTE_MAX) {
		show = QUOTE_MAX;
		while (show && ((unsigned char)v[show] & 0xC0) == 0x80)
			show--;
	}
	tw_buf_add_quoted(b, v, show, TW_QUOTE_ALWAYS);
	if (show < n) {
		b->buf[b->len - 1] = '\0';     /* the cut goes inside the quotes */
		b->len--;
		tw_buf_adds(b, "...\"");
	}
}

size_t tw_cfg_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* `what` then, unless the field is secret, `: "value"`. */
static int fail(const struct tw_field *f, const char *v, struct tw_buf *why, const char *what, const char *hint)
{
	tw_buf_adds(why, what);
	if (!(f && (f->flags & TW_F_SECRET))) {
		tw_buf_adds(why, ": ");
		tw_cfg_quote(why, v);
	}
	if (hint)
		tw_buf_addf(why, " (%s)", hint);
	return -1;
}

static int is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A host name, an IPv4 address or a bracketed IPv6 address: no spaces, controls or URL delimiters. */
static int valid_host(const char *h, size_t n)
{
	if (!n)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (size_t i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return 0;
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c <= 0x20 || c == 0x7f || strchr("/?#@[]\\\"<>{}|^`%", c))
			return 0;
	}
	return 1;
}

/* [:port] after a host: digits, 1..65535. */
static int valid_port(const char *p, size_t n)
{
	long v = 0;
	if (!n || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* host[:port]; the host may be [v6]. */
static int valid_hostport(const char *s, size_t n)
{
	size_t hl = n;
	if (n && s[0] == '[') {
		const char *e = memchr(s, ']', n);
		if (!e)
			return 0;
		hl = (size_t)(e - s) + 1;
		if (hl < n && s[hl] != ':')
			return 0;
	} else {
		const char *c = memchr(s, ':', n);
		if (c)
			hl = (size_t)(c - s);
	}
	if (!valid_host(s, hl))
		return 0;
	if (hl < n)
		return valid_port(s + hl + 1, n - hl - 1);
	return 1;
}

int tw_check_url(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	size_t skip;

	if (!*v)
		return 0;   /* clears the URL at Twilio */
	if (!strncasecmp(v, "https://", 8))
		skip = 8;
	else if (!strncasecmp(v, "http://", 7))
		skip = 7;
	else
		return fail(f, v, why, "not a URL", NULL);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(f, v, why, "not a URL", NULL);
	const char *auth = v + skip;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (at) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	if (!valid_hostport(auth, alen))
		return fail(f, v, why, "not a URL", NULL);
	return 0;
}

int tw_check_method(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	if (!strcmp(v, "GET") || !strcmp(v, "POST"))
		return 0;
	if (!strcasecmp(v, "GET"))
		return fail(f, v, why, "not GET or POST", "did you mean \"GET\"?");
	if (!strcasecmp(v, "POST"))
		return fail(f, v, why, "not GET or POST", "did you mean \"POST\"?");
	return fail(f, v, why, "not GET or POST", NULL);
}

int tw_check_e164(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	size_t n = strlen(v);
	int ok = n >= 3 && n <= 16 && v[0] == '+' && v[1] >= '1' && v[1] <= '9';
	for (size_t i = 1; ok && i < n; i++)
		ok = is_digit((unsigned char)v[i]);
	if (ok)
		return 0;
	return fail(f, v, why, "not an E.164 number", "+ and country code then up to 15 digits, e.g. +16505551111");
}

int tw_check_domain(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	const char *suffix = f && f->suffix ? f->suffix : "";
	size_t n = strlen(v), sl = strlen(suffix);
	char hint[160];

	for (size_t i = 0; i < n; i++)
		if (v[i] >= 'A' && v[i] <= 'Z')
			return fail(f, v, why, "not a valid domain name", "must be lower case");
	if (n < sl || strcmp(v + n - sl, suffix)) {
		snprintf(hint, sizeof(hint), "must end in %s", suffix);
		return fail(f, v, why, "not a valid domain name", hint);
	}
	size_t pl = n - sl;          /* the labels before the suffix */
	if (sl && suffix[0] != '.') {
		if (!pl || v[pl - 1] != '.') {
			snprintf(hint, sizeof(hint), "needs a name before %s", suffix);
			return fail(f, v, why, "not a valid domain name", hint);
		}
		pl--;
	}
	if (!pl) {
		snprintf(hint, sizeof(hint), "needs a name before %s", suffix);
		return fail(f, v, why, "not a valid domain name", hint);
	}
	if (n > 253)
		return fail(f, v, why, "not a valid domain name", "longer than 253 characters");
	for (size_t i = 0; i < pl;) {
		size_t j = i;
		while (j < pl && v[j] != '.')
			j++;
		size_t ll = j - i;
		if (!ll || ll > 63)
			return fail(f, v, why, "not a valid domain name",
				    ll ? "a label is longer than 63 characters" : "empty label");
		for (size_t k = i; k < j; k++)
			if (!is_lower_alnum((unsigned char)v[k]) && v[k] != '-')
				return fail(f, v, why, "not a valid domain name",
					    "only letters, digits and '-' are allowed");
		if (v[i] == '-' || v[j - 1] == '-')
			return fail(f, v, why, "not a valid domain name", "a label starts or ends with '-'");
		i = j + 1;
		if (j < pl && i == pl)
			return fail(f, v, why, "not a valid domain name", "empty label");
	}
	return 0;
}

int tw_check_username(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	size_t n = strlen(v);
	if (!n)
		return fail(f, v, why, "not a valid username", "empty");
	if (n > 32)
		return fail(f, v, why, "not a valid username", "longer than 32 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == ' ')
			return fail(f, v, why, "not a valid username", "contains a space");
		if (c == '@' || c == ':')
			return fail(f, v, why, "not a valid username", c == '@' ? "contains '@'" : "contains ':'");
		if (c < 0x21 || c > 0x7e)
			return fail(f, v, why, "not a valid username",
				    "only printable ASCII characters are allowed");
	}
	return 0;
}

int tw_check_password(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	int digit = 0, upper = 0, lower = 0;
	(void)f;
	for (const char *p = v; *p; p++) {
		digit |= *p >= '0' && *p <= '9';
		upper |= *p >= 'A' && *p <= 'Z';
		lower |= *p >= 'a' && *p <= 'z';
	}
	if (tw_cfg_utf8_len(v) >= 12 && digit && upper && lower)
		return 0;
	/* never the value: this is a password */
	tw_buf_adds(why, "too weak: needs at least 12 characters, a digit, an upper and a lower case letter");
	return -1;
}

int tw_check_ipv4(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	const char *p = v;
	for (int part = 0; part < 4; part++) {
		int val = 0, nd = 0;
		if (part && *p++ != '.')
			return fail(f, v, why, "not an IPv4 address", NULL);
		while (is_digit((unsigned char)*p) && nd < 4) {
			val = val * 10 + (*p - '0');
			p++;
			nd++;
		}
		if (!nd || nd > 3 || val > 255)
			return fail(f, v, why, "not an IPv4 address", NULL);
		if (nd > 1 && p[-nd] == '0')
			return fail(f, v, why, "not an IPv4 address", "leading zeros are not allowed");
	}
	if (*p)
		return fail(f, v, why, "not an IPv4 address", NULL);
	return 0;
}

int tw_check_enum(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	const char *const *c = f ? f->choices : NULL;
	struct tw_buf what = TW_BUF_INIT;
	size_t n = 0;

	if (!c)
		return 0;
	for (; c[n]; n++)
		if (!strcmp(c[n], v))
			return 0;
	tw_buf_adds(&what, "not one of ");
	for (size_t i = 0; i < n; i++)
		tw_buf_addf(&what, "%s%s", i ? ", " : "", c[i]);
	const char *s = tw_suggest(v, c, n);
	char *hint = s ? tw_xasprintf("did you mean \"%s\"?", s) : NULL;
	fail(f, v, why, what.buf, hint);
	free(hint);
	tw_buf_release(&what);
	return -1;
}

/* sip:[user@]host[:port][;params], the user part forbidden (a server) or required (a phone). */
static int sip_uri(const struct tw_field *f, const char *v, struct tw_buf *why, int user)
{
	const char *form = user ? "expected sip:user@host[:port][;params]" : "expected sip:host[:port][;params]";
	if (!strncasecmp(v, "sips:", 5))
		return fail(f, v, why, "not a SIP URI", "sips: is not supported, use sip: with ;transport=tls");
	if (strncasecmp(v, "sip:", 4))
		return fail(f, v, why, "not a SIP URI", "must start with sip:");
	const char *hp = v + 4;
	size_t hl = strcspn(hp, ";");
	const char *at = memchr(hp, '@', hl);
	if (!at != !user || (at && (at == hp || memchr(at + 1, '@', hl - (size_t)(at + 1 - hp)))))
		return fail(f, v, why, "not a SIP URI", form);
	for (const char *u = hp; at && u < at; u++)
		if ((unsigned char)*u <= 0x20 || *u == 0x7f || *u == ':')
			return fail(f, v, why, "not a SIP URI", form);
	if (at) {
		hl -= (size_t)(at + 1 - hp);
		hp = at + 1;
	}
	if (!valid_hostport(hp, hl))
		return fail(f, v, why, "not a SIP URI", form);
	for (const char *p = hp + hl; *p == ';';) {
		size_t pl = strcspn(p + 1, ";");
		if (!pl || p[1] == '=')
			return fail(f, v, why, "not a SIP URI", "empty parameter");
		for (size_t i = 1; i <= pl; i++)
			if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
				return fail(f, v, why, "not a SIP URI", NULL);
		p += pl + 1;
	}
	return 0;
}

int tw_check_sip_uri(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	return sip_uri(f, v, why, 0);
}

int tw_check_sip_address(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	return sip_uri(f, v, why, 1);
}

int tw_check_name(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	if (!*v) {
		tw_buf_adds(why, "must not be empty");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		/* C0 controls, DEL, and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F) */
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return fail(f, v, why, "contains a control character", NULL);
	}
	size_t n = tw_cfg_utf8_len(v);
	if (f && f->max > 0 && n > (size_t)f->max) {
		tw_buf_addf(why, "too long: %zu characters (max %ld)", n, f->max);
		return -1;
	}
	return 0;
}

int tw_check_iso_country(const struct tw_field *f, const char *v, struct tw_buf *why)
{
	if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z')
		return fail(f, v, why, "not an ISO country code", "two capital letters, e.g. US or GB");
	return 0;
}

int tw_host_label_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

size_t tw_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = tw_xmalloc((lb + 1) * sizeof(*row));

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

/* Longest word tw_suggest looks at. */
#define SUGGEST_MAX 256

/*
 * Levenshtein distance if it is at most `limit`, else limit + 1: only the
 * band |i - j| <= limit is computed and a row whose minimum exceeds the limit
 * ends it, so scanning many candidates stays cheap.
 */
static size_t bounded_distance(const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
	size_t big = limit + 1, rows[2 * (SUGGEST_MAX + 3)], *prev = rows, *cur;

	if ((la > lb ? la - lb : lb - la) > limit || lb > SUGGEST_MAX + 2)
		return big;
	cur = prev + lb + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j <= limit ? j : big;
	for (size_t i = 1; i <= la; i++) {
		size_t lo = i > limit ? i - limit : 1, hi = i + limit < lb ? i + limit : lb, rowmin = big;
		cur[0] = i <= limit ? i : big;
		if (lo > 1)
			cur[lo - 1] = big;
		for (size_t j = lo; j <= hi; j++) {
			size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			cur[j] = d > big ? big : d;
			if (cur[j] < rowmin)
				rowmin = cur[j];
		}
		if (hi < lb)
			cur[hi + 1] = big;
		if (i <= limit && cur[0] < rowmin)
			rowmin = cur[0];
		if (rowmin > limit)
			return big;
		size_t *t = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb] > limit ? big : prev[lb];
}

const char *tw_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t wl = strlen(word);
	size_t limit = wl <= 3 ? 1 : 2;
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	if (!wl || wl > SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < n && bestd > 0; i++) {
		const char *c = cands[i];
		if (!c)
			continue;
		size_t cl = strlen(c), d;
		if (cl > wl + limit || cl + limit < wl)
			continue;
		if (cl == wl && !strcasecmp(c, word)) {
			d = 0;   /* only the case differs: the best hint there is */
		} else {
			d = bounded_distance(word, wl, c, cl, limit);
			if (d > limit || d >= cl)
				continue;
		}
		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	return best;
}

int tw_glob_match(const char *glob, const char *s)
{
	return fnmatch(glob, s, 0) == 0;
}

/* ---- the checks as regular expressions (JSON Schema, man pages) ---- */

/* A host (valid_host): a name without spaces, controls or URL delimiters, or a bracketed IPv6
 * address; SIP_HOST also ends at ';', where a SIP URI's parameters start. */
#define HOST_CHARS "^\\x00-\\x20\\x7f/?#@\\[\\]\\\\\"<>{}|^`%:"
#define URL_HOST "(?:[" HOST_CHARS "]+|\\[[0-9A-Fa-f:.]+\\])"
#define SIP_HOST "(?:[" HOST_CHARS ";]+|\\[[0-9A-Fa-f:.]+\\])"
#define PORT "(?::[0-9]{1,5})?"
#define LABEL "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#define OCTET "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"

static const struct {
	tw_check_fn fn;
	const char *what;           /* its noun in man pages */
	const char *pattern;        /* NULL: made from the field (domains) or none (enums) */
	int scalars;
} check_patterns[] = {
	{ tw_check_url, "URL",
	  "^[Hh][Tt][Tt][Pp][Ss]?://(?:[^\\x00-\\x20\\x7f/?#]*@)?" URL_HOST PORT "(?:[/?#][^\\x00-\\x20\\x7f]*)?$", 0 },
	{ tw_check_method, "GET or POST", "^(?:GET|POST)$", 0 },
	{ tw_check_e164, "E.164 number", "^\\+[1-9][0-9]{1,14}$", 1 },
	{ tw_check_domain, "domain name", NULL, 0 },
	{ tw_check_username, "SIP username", "^[\\x21-\\x39\\x3b-\\x3f\\x41-\\x7e]{1,32}$", 1 },
	{ tw_check_password, "password", "^(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])[\\s\\S]{12,}$", 0 },
	{ tw_check_ipv4, "IPv4 address", "^(?:" OCTET "\\.){3}" OCTET "$", 0 },
	{ tw_check_enum, NULL, NULL, 0 },
	{ tw_check_sip_uri, "SIP URI",
	  "^[Ss][Ii][Pp]:" SIP_HOST PORT "(?:;[^;=\\x00-\\x20\\x7f][^;\\x00-\\x20\\x7f]*)*$", 0 },
	{ tw_check_name, NULL, "^[^\\x00-\\x1f\\x7f-\\x9f]+$", 1 },
};

/* `s` with the characters regular expressions give a meaning escaped. */
static void add_regex_literal(struct tw_buf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("^$\\.*+?()[]{}|/", *s))
			tw_buf_addc(b, '\\');
		tw_buf_addc(b, *s);
	}
}

char *tw_check_pattern(const struct tw_field *f, int *scalars, const char **what)
{
	struct tw_buf b = TW_BUF_INIT;
	size_t i;

	*scalars = 1;           /* a check of a descriptor's own: nothing is known */
	if (what)
		*what = NULL;
	for (i = 0; i < sizeof(check_patterns) / sizeof(check_patterns[0]); i++)
		if (f->check == check_patterns[i].fn)
			break;
	if (!f->check || i == sizeof(check_patterns) / sizeof(check_patterns[0]))
		return NULL;
	*scalars = check_patterns[i].scalars;
	if (what)
		*what = check_patterns[i].what;
	if (check_patterns[i].pattern)
		return tw_xstrdup(check_patterns[i].pattern);
	if (f->check != tw_check_domain)
		return NULL;
	/* labels of [a-z0-9-] that neither start nor end with '-', the suffix, 253 at most */
	const char *suffix = f->suffix ? f->suffix : "";
	tw_buf_adds(&b, "^(?=[\\s\\S]{0,253}$)(?:" LABEL "\\.)*" LABEL);
	if (*suffix && *suffix != '.')
		tw_buf_adds(&b, "\\.");
	add_regex_literal(&b, suffix);
	tw_buf_addc(&b, '$');
	*scalars = !*suffix;
	return tw_buf_detach(&b);
}
