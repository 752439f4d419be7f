/* redact.h - the secrets twprov holds, and their removal from text it prints */
#ifndef TWPROV_REDACT_H
#define TWPROV_REDACT_H

#include <stddef.h>

#include <jansson.h>

struct tw_buf;

/*
 * Every secret value twprov holds (SIP passwords and other secret references,
 * the auth token or API secret, an encryption key) is registered once, when
 * it is read.  Text that came from outside (a server's error message, names
 * and values read from the account) is shown only with every registered
 * value, and its percent-encoded spellings (as a form body carries it: a
 * server that echoes the request body), replaced by "(redacted)".  Values
 * shorter than TW_SECRET_MIN bytes are not searched: they would match
 * ordinary words.  The registry's copies are wiped by tw_secrets_release.
 */
#define TW_SECRET_MIN 6
#define TW_REDACTED "(redacted)"

void tw_secret_add(const char *s, size_t len);
/* The value of an HTTP Basic authorization for user:pass (base64), as a server may echo it. */
void tw_secret_add_basic(const char *user, const char *pass);
/* Is there a secret in s?  1 with its offset and length in *at and *n (the first and, there,
 * the longest), else 0. */
int tw_secret_find(const char *s, size_t len, size_t *at, size_t *n);
/* Append s to out with every secret replaced by TW_REDACTED; returns how many were. */
size_t tw_redact(const char *s, size_t len, struct tw_buf *out);
/* Replace secrets in b itself (its old bytes are wiped). */
void tw_redact_buf(struct tw_buf *b);
/* Replace secrets in every string of a JSON value (keys are names twprov wrote). */
void tw_redact_json(json_t *v);
void tw_secrets_release(void);

#endif
