/* checks.h - value validators used by the kind descriptors (pure functions) */
#ifndef TWPROV_CHECKS_H
#define TWPROV_CHECKS_H

#include "twprov/kind.h"

/*
 * Each returns 0 if `v` is valid for field `f`, else -1 and a message in `why`
 * such as `not a URL: "htp://x"` (lowercase, no field name, no final period).
 * When `f->flags` has TW_F_SECRET the message never shows the value; the
 * loader passes that flag for values that came from ${env:}/${file:} too.
 * `f` may be NULL for checks that need nothing from it.  The loader skips the
 * checks for an empty value of an optional field (it clears the field).
 */
int tw_check_url(const struct tw_field *f, const char *v, struct tw_buf *why);      /* http(s)://host...; "" allowed (clears) */
int tw_check_method(const struct tw_field *f, const char *v, struct tw_buf *why);   /* GET or POST */
int tw_check_e164(const struct tw_field *f, const char *v, struct tw_buf *why);     /* +[1-9][0-9]{1,14} */
int tw_check_domain(const struct tw_field *f, const char *v, struct tw_buf *why);   /* labels [a-z0-9-], ends with f->suffix */
int tw_check_username(const struct tw_field *f, const char *v, struct tw_buf *why); /* 1..32 chars, no space, '@' or ':' */
int tw_check_password(const struct tw_field *f, const char *v, struct tw_buf *why); /* >= 12, digit, upper, lower */
int tw_check_ipv4(const struct tw_field *f, const char *v, struct tw_buf *why);     /* dotted quad */
int tw_check_enum(const struct tw_field *f, const char *v, struct tw_buf *why);     /* one of f->choices */
int tw_check_sip_uri(const struct tw_field *f, const char *v, struct tw_buf *why);  /* sip:host[:port][;params], not sips: */
int tw_check_sip_address(const struct tw_field *f, const char *v, struct tw_buf *why); /* sip:user@host[:port][;params] */
int tw_check_name(const struct tw_field *f, const char *v, struct tw_buf *why);     /* non-empty, no control chars, <= f->max */
int tw_check_iso_country(const struct tw_field *f, const char *v, struct tw_buf *why); /* ISO 3166 alpha-2: US, GB */

/*
 * The regular expressions of call routes (regex.c): the subset that PCRE2
 * and JavaScript read the same way (twprov.yaml(5)).  tw_regex_check: 0 and
 * the number of capturing groups in *ngroups (may be NULL), or -1 with why;
 * tw_check_regex is the same as a field check.  tw_regex_exec: the groups of
 * the first match (0 the whole match; null for a group that took no part),
 * or NULL when there is none or the pattern is refused.
 */
int tw_regex_check(const char *pattern, int *ngroups, struct tw_buf *why);
int tw_check_regex(const struct tw_field *f, const char *v, struct tw_buf *why);
json_t *tw_regex_exec(const char *pattern, const char *subject);

/*
 * What a regular expression can say of the strings f->check accepts, for the JSON Schema of
 * the file (`twprov schema`) and its man page: a pattern anchored at both ends, in the syntax
 * ECMA-262 (with the u flag) and Python's re share, that matches every string the check
 * accepts.  Never stricter than the check, looser where a regular expression cannot count
 * (a port is 1 to 5 digits, not 1 to 65535).  A heap string, or NULL when the check has
 * none (tw_check_enum: f->choices say it; a check of a descriptor's own).
 * *scalars: whether the text of a YAML number or boolean (an unquoted +16505551111, true)
 * can pass the check: the file's values are text to twprov, while YAML editors read them
 * as numbers.  `what`, if not NULL, gets the check's noun for man pages ("URL"), or NULL.
 */
char *tw_check_pattern(const struct tw_field *f, int *scalars, const char **what);

/* A region or edge name, one label of a host name: [a-z0-9-]+ (account.region, TWILIO_REGION, ...). */
int tw_host_label_ok(const char *s);

/* Damerau-free Levenshtein distance, for "did you mean". */
size_t tw_edit_distance(const char *a, const char *b);
/*
 * The closest candidate within a small distance, or NULL: at most 1 edit for
 * words of up to 3 characters, 2 for longer ones, never a candidate the edit
 * replaces entirely; a candidate equal but for case wins; ties go to the
 * first.  NULL entries are skipped; words longer than 256 bytes get none.
 */
const char *tw_suggest(const char *word, const char *const *cands, size_t n);

/* fnmatch-style glob match for `ignore` (uses fnmatch(3), no flags): 1 on a match, else 0. */
int tw_glob_match(const char *glob, const char *s);

#endif
