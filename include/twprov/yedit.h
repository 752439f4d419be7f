/* yedit.h - remove declared items from a twprov file, keeping every other byte */
#ifndef TWPROV_YEDIT_H
#define TWPROV_YEDIT_H

#include <stddef.h>

#include "twprov/buf.h"
#include "twprov/kind.h"

struct tw_err;
struct tw_model;
struct tw_res;
struct tw_config_opts;

/*
 * An edit session over the text of one file: the text is parsed once
 * (libyaml events for the structure, libyaml tokens for the '-' and ','
 * that separate items), removals are recorded as byte ranges to cut, and
 * the result is the text without those ranges: comments, order, quoting,
 * indentation and line endings elsewhere stay as they were.
 *
 * What one removal cuts (twprov.yaml(5) and twprov-remove-credential(1)
 * describe the same rules):
 *  - a block sequence entry ("- username: bob" and its indented keys, or
 *    "- {username: bob, ...}"): whole lines, from the line of its '-' to the
 *    end of its last line, with the comment trailing that line and the
 *    comment lines right after it that are indented deeper than its '-'.
 *    Comment lines above the entry stay (they may head a group).  When blank
 *    lines both precede and follow the entry, the blank lines after it go
 *    too, so the separation between the neighbours stays as it was.  The
 *    last entry of a list leaves the key with no value, which the loader
 *    reads as an empty list.
 *  - an element of a flow sequence ("[{...}, {...}]"): the element with the
 *    comma that separates it from a neighbour (the one after it, or before
 *    it for the last element), and the comment that ends the line of that
 *    comma; an element alone on its lines takes the lines with it.
 * It refuses (and changes nothing) when the entry is an alias, defines an
 * anchor (inside it too), is reached through an alias, or sits inside a
 * node an alias repeats; when other text shares the entry's lines; when
 * the file is UTF-16 or uses CR-only line breaks.
 */
struct tw_yedit;

/* Where an item is: its first line and column (as the loader reports the
 * item) and its last line. */
struct tw_yedit_place {
	int line, col;
	int end_line;
};

/* Parse `data` (not copied: it must outlive the session).  NULL on a YAML
 * error or an encoding the editor cannot keep byte-exact (err says why). */
struct tw_yedit *tw_yedit_new(const char *data, size_t len, struct tw_err *err);
void tw_yedit_free(struct tw_yedit *e);

/*
 * Record the removal of the item of kind `k` whose identity is `id`: a
 * top-level item (parent_id NULL), or a child of the top-level item of kind
 * k->parent named `parent_id` (a credential of a credential list).  Keys
 * and identity fields come from the kind descriptors, matched as the loader
 * matches them (the first of repeated keys).  Returns 0, or -1 when the
 * item is not in the text or cannot be cut safely; err says why and
 * `where` (when not NULL) says where the item is (line 0 if not found).
 */
int tw_yedit_remove(struct tw_yedit *e, const struct tw_kind *k, const char *parent_id, const char *id,
		    struct tw_yedit_place *where, struct tw_err *err);

/* The text with every recorded removal applied (appended to out). */
void tw_yedit_result(const struct tw_yedit *e, struct tw_buf *out);
/* Number of byte ranges recorded (0: the text is unchanged). */
size_t tw_yedit_ncuts(const struct tw_yedit *e);

/*
 * A unified diff of the recorded removals ("--- name", "+++ name", hunks
 * with 3 lines of context), appended to out.  Values of secret fields
 * (passwords) written literally in the file are shown as (sensitive);
 * secret references such as ${env:NAME} are shown.  CR of CRLF line ends
 * is left out.  `color`: ANSI colours for removed and added lines.
 */
void tw_yedit_diff(const struct tw_yedit *e, const char *name, int color, struct tw_buf *out);

/*
 * Load `text` as `before` was loaded (its file name and directory, with
 * options `o`) and check that the result is valid and is `before` without
 * exactly the declared resources `removed`: every other resource, field,
 * setting and order the same.  Returns 0, or -1 with err saying what
 * differs (or the first error of the edited text).
 */
int tw_yedit_verify(const struct tw_model *before, const char *text, size_t len,
		    const struct tw_config_opts *o, const struct tw_res *const *removed, size_t nremoved,
		    struct tw_err *err);

#endif
