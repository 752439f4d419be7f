/* svcref.h - URLs written as a deployed Serverless path: {service, environment, path} */
#ifndef TWPROV_SVCREF_H
#define TWPROV_SVCREF_H

#include <jansson.h>

#include "twprov/buf.h"
#include "twprov/model.h"

/*
 * A field flagged TW_F_SVCREF may hold, instead of a URL, the object
 * {"service": UNIQUE_NAME, "environment": NAME, "path": "/x"} naming a
 * function or asset the file declares.  The URL is
 * https://<the environment's domain_name><path>, known once the environment
 * exists at Twilio.
 */

/* Check that `ref` (in resource `from`) names a declared service, environment
 * and path; a missing environment is filled in when the service has exactly
 * one.  Returns 0, or -1 with a message in `why`. */
int tw_svcref_check(const struct tw_res *from, json_t *ref, struct tw_buf *why);

/* The declared environment `ref` names, or NULL. */
struct tw_res *tw_svcref_env(const struct tw_res *from, const json_t *ref);

/* The URL `ref` stands for (heap), or NULL while its environment does not exist yet. */
char *tw_svcref_url(const struct tw_res *from, const json_t *ref);

#endif
