/* cmd_plan.c - show what apply would change */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "twprov/http.h"
#include "twprov/log.h"
#include "twprov/redact.h"

const char tw_usage_plan[] =
	"usage: twprov plan [-f FILE] [--json] [--detailed-exitcode] [--target KIND/NAME]...\n"
	"                   [--parallelism N] [--sync-passwords]\n"
	"\n"
	"Read the live account and print what apply would create (+), update (~),\n"
	"destroy (-) or replace (-/+).  Nothing is changed.\n"
	"\n"
	"  --json               print the plan as JSON (schema in twprov(1))\n"
	"  --detailed-exitcode  exit 2 when there are changes, 0 when there are none\n"
	"  --target KIND/NAME   plan only this resource (and what it needs); repeatable,\n"
	"                       e.g. credential_lists/office-phones\n"
	"  --parallelism N      requests in flight at once (default 32)\n"
	"  --sync-passwords     plan to set every declared password again\n";

enum { OPT_JSON = TW_OPT_FIRST_COMMAND_OPT, OPT_DETAILED, OPT_TARGET, OPT_PARALLELISM, OPT_SYNC };

int cmd_plan(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "parallelism", required_argument, NULL, OPT_PARALLELISM },
		{ "sync-passwords", no_argument, NULL, OPT_SYNC },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_plan_args a = { 0 };
	struct tw_model *want, *have;
	struct tw_http *h;
	struct tw_plan *plan;
	int c, json = 0, detailed = 0, rc = TW_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': free(a.targets); return tw_cmd_usage("plan", 0);
		case OPT_JSON: json = 1; break;
		case OPT_DETAILED: detailed = 1; break;
		case OPT_TARGET: tw_cmd_add_target(&a, optarg); break;
		case OPT_SYNC: a.sync_passwords = 1; break;
		case OPT_PARALLELISM:
			if ((a.parallelism = (int)tw_cmd_parse_count("--parallelism", optarg)) < 0)
				goto out_usage;
			break;
		default:
			if (!tw_global_opt(g, c, optarg)) {
				tw_cmd_bad_option("plan", longopts, argv, c);
				goto out_usage;
			}
		}
	}
	if (optind < argc) {
		tw_error("plan takes no arguments (use -f FILE)");
		goto out_usage;
	}
	tw_global_apply(g);

	rc = tw_cmd_plan(g, &a, &want, &have, &h, &plan);
	if (rc == TW_EXIT_OK) {
		if (json) {
			json_t *o = tw_plan_json(plan);
			tw_redact_json(o);      /* exact, but for a secret a server echoed into a name */
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(o);
		} else {
			tw_plan_print(plan, stdout);
		}
		if (detailed && !tw_plan_empty(plan))
			rc = TW_EXIT_CHANGES;
	}
	tw_plan_free(plan);
	tw_model_free(have);
	tw_model_free(want);
	tw_http_free(h);
out_usage:
	free(a.targets);
	return rc;
}
