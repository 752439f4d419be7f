/* saved.c - a plan saved for a later apply (plan --out FILE, apply FILE, show FILE)
 *
 * A saved plan is the plan's JSON (the value --json prints, no secret in it)
 * with what it was computed from: the account, the twprov file's path and
 * the SHA-256 of its bytes, the options that shape a plan (targets,
 * --sync-passwords) and the twprov version.  It is not executed as it
 * stands: apply reads the file and the account again, computes the plan
 * again and carries it out only if it equals the saved one, so what runs is
 * what was reviewed, against the account as it was reviewed.
 */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/file.h"
#include "twprov/plan.h"

#define TW_SAVED_FORMAT 1
#define TW_SAVED_MAX (256u * 1024 * 1024)

json_t *tw_saved_new(const json_t *plan, const char *account_sid, const char *file, const char *sha256,
		     const struct tw_plan_opts *o)
{
	json_t *targets = json_array();

	for (size_t i = 0; o && i < o->ntargets; i++)
		json_array_append_new(targets, json_string(o->targets[i]));
	return json_pack("{s:i, s:s, s:s, s:{s:s, s:s}, s:o, s:b, s:O}", "saved_plan_format", TW_SAVED_FORMAT,
			 "twprov_version", TWPROV_VERSION, "account_sid", account_sid, "file", "path", file, "sha256",
			 sha256, "targets", targets, "sync_passwords", o && o->sync_passwords, "plan", plan);
}

int tw_saved_read(const char *path, json_t **out, struct tw_err *err)
{
	struct tw_buf b = TW_BUF_INIT;
	json_error_t je;
	json_t *o, *v;
	size_t i;
	const char *version;

	*out = NULL;
	if (tw_read_file(path, TW_SAVED_MAX, &b, NULL, err) < 0)
		return -1;
	o = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &je);
	tw_buf_release(&b);
	if (!o)
		return tw_err_set(err, "%s:%d:%d: not a saved plan: %s", tw_quote(path), je.line, je.column, je.text);
	if (json_integer_value(json_object_get(o, "saved_plan_format")) != TW_SAVED_FORMAT ||
	    !json_is_string(json_object_get(o, "account_sid")) ||
	    !json_is_string(json_object_get(json_object_get(o, "file"), "path")) ||
	    !json_is_string(json_object_get(json_object_get(o, "file"), "sha256")) ||
	    !json_is_array(json_object_get(o, "targets")) || !json_is_boolean(json_object_get(o, "sync_passwords")) ||
	    !json_is_array(json_object_get(json_object_get(o, "plan"), "changes"))) {
		json_decref(o);
		return tw_err_set(err, "%s: not a saved plan of format %d (made with twprov plan --out)", tw_quote(path),
				  TW_SAVED_FORMAT);
	}
	json_array_foreach(json_object_get(o, "targets"), i, v)
		if (!json_is_string(v)) {
			json_decref(o);
			return tw_err_set(err, "%s: not a saved plan: targets[%zu] is not a string", tw_quote(path), i);
		}
	version = json_string_value(json_object_get(o, "twprov_version"));
	if (!version || strcmp(version, TWPROV_VERSION)) {
		tw_err_set(err, "%s was made by twprov %s, this is twprov %s: make the plan again", tw_quote(path),
			   version ? tw_quote(version) : "(unknown)", TWPROV_VERSION);
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

void tw_saved_opts(const json_t *saved, struct tw_plan_opts *o, const char ***targets)
{
	const json_t *t = json_object_get(saved, "targets");
	size_t n = json_array_size(t);

	*targets = tw_xcalloc(n ? n : 1, sizeof(**targets));
	for (size_t i = 0; i < n; i++)
		(*targets)[i] = json_string_value(json_array_get(t, i));
	o->targets = *targets;
	o->ntargets = n;
	o->sync_passwords = json_is_true(json_object_get(saved, "sync_passwords"));
}

/* The address of each action of a plan's JSON -> the action. */
static json_t *by_address(const json_t *plan)
{
	json_t *idx = json_object(), *a;
	size_t i;

	json_array_foreach(json_object_get(plan, "changes"), i, a) {
		const char *addr = json_string_value(json_object_get(a, "address"));
		const char *act = json_string_value(json_object_get(a, "action"));
		char *key = tw_xasprintf("%s %s", act ? act : "?", addr ? addr : "?");
		json_object_set(idx, key, a);
		free(key);
	}
	return idx;
}

/* A value of a plan, short, for a line of text (JSON: strings keep their quotes). */
static void show_value(struct tw_buf *out, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (!s) {
		tw_buf_adds(out, "(nothing)");
		return;
	}
	if (strlen(s) > 80)
		strcpy(s + 77, "...");
	tw_buf_adds(out, s);
	free(s);
}

static void line(json_t *lines, struct tw_buf *b)
{
	json_array_append_new(lines, json_string(b->buf));
	tw_buf_reset(b);
}

/* A line per key in which two actions differ: "    fields.voice_url.before: "a" (saved), "b" (now)". */
static void differing(const json_t *a, const json_t *b, const char *prefix, json_t *lines)
{
	const char *key;
	json_t *v, *keys = json_object();
	struct tw_buf out = TW_BUF_INIT;

	json_object_foreach((json_t *)a, key, v)
		json_object_set_new(keys, key, json_true());
	json_object_foreach((json_t *)b, key, v)
		json_object_set_new(keys, key, json_true());
	json_object_foreach(keys, key, v) {
		json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
		if (json_equal(x, y))
			continue;
		if (json_is_object(x) && json_is_object(y)) {
			char *p = tw_xasprintf("%s%s.", prefix, key);
			differing(x, y, p, lines);
			free(p);
			continue;
		}
		tw_buf_addf(&out, "    %s%s: ", prefix, key);
		show_value(&out, x);
		tw_buf_adds(&out, " (saved), ");
		show_value(&out, y);
		tw_buf_adds(&out, " (now)");
		line(lines, &out);
	}
	tw_buf_release(&out);
	json_decref(keys);
}

size_t tw_saved_diff(const json_t *saved, const json_t *now, json_t *lines)
{
	json_t *s = by_address(saved), *n = by_address(now), *v;
	struct tw_buf b = TW_BUF_INIT;
	const char *key;
	size_t count = 0;

	json_object_foreach(s, key, v) {
		json_t *w = json_object_get(n, key);
		if (!w) {
			tw_buf_addf(&b, "  %s: in the saved plan, no longer planned", key);
			line(lines, &b);
			count++;
		} else if (!json_equal(v, w)) {
			tw_buf_addf(&b, "  %s:", key);
			line(lines, &b);
			differing(v, w, "", lines);
			count++;
		}
	}
	json_object_foreach(n, key, v)
		if (!json_object_get(s, key)) {
			tw_buf_addf(&b, "  %s: planned now, not in the saved plan", key);
			line(lines, &b);
			count++;
		}
	/* the same actions in another order would run in another order */
	if (!count && !json_equal(json_object_get(saved, "changes"), json_object_get(now, "changes"))) {
		tw_buf_adds(&b, "  the actions are in another order");
		line(lines, &b);
		count++;
	}
	tw_buf_release(&b);
	json_decref(s);
	json_decref(n);
	return count;
}
