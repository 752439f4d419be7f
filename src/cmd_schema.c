/* cmd_schema.c - print the JSON Schema of the file */
#include <stdio.h>

#include "cmd.h"
#include "twprov/log.h"
#include "twprov/schema.h"

const char tw_usage_schema[] =
	"usage: twprov schema\n"
	"\n"
	"Print the JSON Schema (draft 2020-12) of the twprov file, generated from the\n"
	"kind descriptors: every kind, field, type, enum, pattern, range, required\n"
	"field and reference, with its doc line.  Editors that check YAML against a\n"
	"JSON Schema (yaml-language-server in VS Code, Neovim, JetBrains) validate and\n"
	"complete the file with it:\n"
	"\n"
	"    twprov schema > twprov.schema.json\n"
	"    # yaml-language-server: $schema=twprov.schema.json   (in twprov.yaml)\n"
	"\n"
	"Every file twprov accepts validates; twprov checks more than a schema can\n"
	"(references, unique identities, secret values): run twprov validate.\n";

int cmd_schema(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	json_t *s;
	int c;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'h')
			return tw_cmd_usage("schema", 0);
		if (!tw_global_opt(g, c, optarg))
			return tw_cmd_bad_option("schema", longopts, argv, c);
	}
	if (optind < argc) {
		tw_error("schema takes no arguments");
		return tw_cmd_usage("schema", 1);
	}
	tw_global_apply(g);
	s = tw_schema();
	json_dumpf(s, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(s);
	return TW_EXIT_OK;
}
