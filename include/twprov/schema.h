/* schema.h - what the file accepts, generated from the kind descriptors: its JSON Schema and
 * the field reference of twprov.yaml(5) */
#ifndef TWPROV_SCHEMA_H
#define TWPROV_SCHEMA_H

#include <jansson.h>

struct tw_buf;

/*
 * The JSON Schema (draft 2020-12) of the file: every kind, field, type, enum, pattern,
 * range, required field and reference of the registry, with its doc line.  A file twprov
 * accepts always validates; the schema is looser where JSON Schema cannot follow twprov
 * (references to names the file declares, unique identities, secret values, the kinds'
 * hooks: twprov(1), COMMANDS, schema).  Returns a new reference.
 */
json_t *tw_schema(void);

/* The field reference of twprov.yaml(5), in roff: a subsection per top-level kind. */
void tw_schema_man(struct tw_buf *out);

#endif
