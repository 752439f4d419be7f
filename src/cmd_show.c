/* cmd_show.c - print a saved plan */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "twprov/buf.h"
#include "twprov/log.h"

const char tw_usage_show[] =
	"usage: twprov show [--json] PLANFILE\n"
	"\n"
	"Print a plan saved by `twprov plan --out PLANFILE`: what it was made from\n"
	"(the account, the twprov file and its SHA-256, the targets) and its actions,\n"
	"as plan prints them.  Nothing is read from Twilio.\n"
	"\n"
	"  --json   print the saved plan itself (its schema is in twprov(1))\n";

enum { OPT_JSON = TW_OPT_FIRST_COMMAND_OPT };

int cmd_show(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_err err = TW_ERR_INIT;
	json_t *saved, *v;
	size_t i;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': return tw_cmd_usage("show", 0);
		case OPT_JSON: json = 1; break;
		default:
			if (!tw_global_opt(g, c, optarg)) {
				tw_cmd_bad_option("show", longopts, argv, c);
				return TW_EXIT_USAGE;
			}
		}
	}
	if (optind + 1 != argc) {
		tw_error("show takes one argument: the saved plan");
		return tw_cmd_usage("show", 1);
	}
	tw_global_apply(g);
	if (tw_saved_read(argv[optind], &saved, &err) < 0) {
		tw_error("%s", err.msg);
		return TW_EXIT_FAIL;
	}
	if (json) {
		json_dumpf(saved, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		const json_t *file = json_object_get(saved, "file");
		printf("Saved plan for account %s\n", tw_quote(json_string_value(json_object_get(saved, "account_sid"))));
		printf("  of %s (sha256 %s)\n", tw_quote(json_string_value(json_object_get(file, "path"))),
		       tw_quote(json_string_value(json_object_get(file, "sha256"))));
		json_array_foreach(json_object_get(saved, "targets"), i, v)
			printf("  --target %s\n", tw_quote(json_string_value(v)));
		if (json_is_true(json_object_get(saved, "sync_passwords")))
			printf("  --sync-passwords\n");
		putchar('\n');
		tw_plan_print_json(json_object_get(saved, "plan"), stdout);
	}
	json_decref(saved);
	return TW_EXIT_OK;
}
