/* cmd_validate.c - check the file offline */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/log.h"

const char tw_usage_validate[] =
	"usage: twprov validate [-f FILE] [--json]\n"
	"\n"
	"Check the file without contacting Twilio: YAML syntax, keys and types,\n"
	"required fields, duplicate identities, references between resources,\n"
	"Twilio's own rules (E.164 numbers, domain suffixes, password strength)\n"
	"and secret references (${env:NAME}, ${file:PATH}).  Every problem is\n"
	"reported as FILE:LINE:COL.  Exit 0 when valid, 3 when not.\n"
	"\n"
	"  --json    print {\"valid\", \"errors\", \"warnings\", \"resources\"} on stdout\n";

enum { OPT_JSON = TW_OPT_FIRST_COMMAND_OPT };

static json_t *diags_json(const struct tw_diags *d, int warnings)
{
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct tw_diag *g = &d->v[i];
		if (g->warning != warnings)
			continue;
		json_array_append_new(a, json_pack("{s:s?, s:i, s:i, s:s}", "file", g->loc.file, "line", g->loc.line,
						    "column", g->loc.col, "message", g->msg));
	}
	return a;
}

/* Count of declared top-level resources per kind. */
static json_t *resource_counts(const struct tw_model *m)
{
	json_t *o = json_object();
	for (size_t i = 0; m && i < m->root.nchildren; i++) {
		const char *k = m->root.children[i]->kind->name;
		json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + 1));
	}
	return o;
}

int cmd_validate(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_err err = TW_ERR_INIT;
	struct tw_model *m = NULL;
	int c, json = 0, rc;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'h')
			return tw_cmd_usage("validate", 0);
		if (c == OPT_JSON)
			json = 1;
		else if (!tw_global_opt(g, c, optarg))
			return tw_cmd_bad_option("validate", longopts, argv, c);
	}
	if (optind < argc) {
		tw_error("validate takes no arguments (use -f FILE)");
		return TW_EXIT_USAGE;
	}
	tw_global_apply(g);

	rc = tw_config_load(g->file, &m, &err) < 0 ? TW_EXIT_INVALID : TW_EXIT_OK;
	if (json) {
		json_t *o = json_object(), *errors;
		json_object_set_new(o, "file", json_string(g->file));
		json_object_set_new(o, "valid", json_boolean(rc == TW_EXIT_OK));
		errors = m ? diags_json(&m->diags, 0) : json_array();
		if (!m)
			json_array_append_new(errors, json_pack("{s:s, s:s}", "file", g->file, "message", err.msg));
		json_object_set_new(o, "errors", errors);
		json_object_set_new(o, "warnings", m ? diags_json(&m->diags, 1) : json_array());
		json_object_set_new(o, "resources", resource_counts(rc == TW_EXIT_OK ? m : NULL));
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		if (m)
			tw_diags_print(&m->diags, stderr);
		if (rc != TW_EXIT_OK) {
			tw_error("%s", err.msg);
		} else {
			json_t *counts = resource_counts(m);
			const char *k;
			json_t *v;
			int first = 1;
			printf("%s is valid", tw_quote(g->file));
			json_object_foreach(counts, k, v) {
				printf("%s%lld %s", first ? ": " : ", ", (long long)json_integer_value(v), k);
				first = 0;
			}
			printf("\n");
			json_decref(counts);
		}
	}
	tw_model_free(m);
	return rc;
}
