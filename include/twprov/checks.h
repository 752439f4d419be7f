/* checks.h - value validators used by the kind descriptors (pure functions) */
#ifndef TWPROV_CHECKS_H
#define TWPROV_CHECKS_H

#include "twprov/kind.h"

/* Each returns 0 if `v` is valid for field `f`, else -1 and a message in `why`. */
int tw_check_url(const struct tw_field *f, const char *v, struct tw_buf *why);      /* http(s)://host...; "" allowed (clears) */
int tw_check_method(const struct tw_field *f, const char *v, struct tw_buf *why);   /* GET or POST */
int tw_check_e164(const struct tw_field *f, const char *v, struct tw_buf *why);     /* +[1-9][0-9]{1,14} */
int tw_check_domain(const struct tw_field *f, const char *v, struct tw_buf *why);   /* labels [a-z0-9-], ends with f->suffix */
int tw_check_username(const struct tw_field *f, const char *v, struct tw_buf *why); /* 1..32 chars, no space, '@' or ':' */
int tw_check_password(const struct tw_field *f, const char *v, struct tw_buf *why); /* >= 12, digit, upper, lower */
int tw_check_ipv4(const struct tw_field *f, const char *v, struct tw_buf *why);     /* dotted quad */
int tw_check_enum(const struct tw_field *f, const char *v, struct tw_buf *why);     /* one of f->choices */
int tw_check_sip_uri(const struct tw_field *f, const char *v, struct tw_buf *why);  /* sip:host[:port][;params], not sips: */
int tw_check_name(const struct tw_field *f, const char *v, struct tw_buf *why);     /* non-empty, no control chars, <= f->max */

/* Damerau-free Levenshtein distance, for "did you mean". */
size_t tw_edit_distance(const char *a, const char *b);
/* The closest candidate within a small distance, or NULL. */
const char *tw_suggest(const char *word, const char *const *cands, size_t n);

/* fnmatch-style glob match for `ignore` (uses fnmatch(3)). */
int tw_glob_match(const char *glob, const char *s);

#endif
