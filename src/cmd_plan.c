/* cmd_plan.c - show what apply would change */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "twprov/http.h"
#include "twprov/log.h"
#include "twprov/file.h"

const char tw_usage_plan[] =
	"usage: twprov plan [-f FILE] [--json] [--detailed-exitcode] [--target KIND/NAME]...\n"
	"                   [--parallelism N] [--sync-passwords] [--out PLANFILE]\n"
	"\n"
	"Read the live account and print what apply would create (+), update (~),\n"
	"destroy (-) or replace (-/+).  Nothing is changed.\n"
	"\n"
	"  --json               print the plan as JSON (schema in twprov(1))\n"
	"  --detailed-exitcode  exit 2 when there are changes, 0 when there are none\n"
	"  --target KIND/NAME   plan only this resource (and what it needs); repeatable,\n"
	"                       e.g. credential_lists/office-phones\n"
	"  --parallelism N      at most N requests in flight (default 256); fewer when\n"
	"                       Twilio answers 429: the limit is found by trying\n"
	"  --sync-passwords     plan to set every declared password again\n"
	"  --out PLANFILE       also save the plan (JSON, no secrets) for `twprov apply\n"
	"                       PLANFILE`, which carries it out only if the file and the\n"
	"                       account still give the same plan\n";

enum { OPT_JSON = TW_OPT_FIRST_COMMAND_OPT, OPT_DETAILED, OPT_TARGET, OPT_PARALLELISM, OPT_SYNC, OPT_OUT };

/* Write the saved plan: the JSON shown, and what it was computed from. */
static int save(const char *out, const struct tw_global *g, const struct tw_plan_args *a, const struct tw_model *want,
		struct tw_http *h, const json_t *plan)
{
	struct tw_plan_opts po = { .sync_passwords = a->sync_passwords, .targets = a->targets, .ntargets = a->ntargets };
	json_t *saved = tw_saved_new(plan, tw_http_account_sid(h), g->file, want->sha256, &po);
	char *text = json_dumps(saved, JSON_INDENT(2));   /* in the order shown */
	struct tw_err err = TW_ERR_INIT;
	int rc = TW_EXIT_OK;

	if (tw_write_atomic(out, text, strlen(text), 0600, &err) < 0) {
		tw_error("%s", err.msg);
		rc = TW_EXIT_FAIL;
	} else {
		tw_info("Saved the plan to %s: `twprov apply %s` carries it out if it is still what the file and the "
			"account give.", tw_quote(out), tw_quote(out));
	}
	free(text);
	json_decref(saved);
	return rc;
}

int cmd_plan(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "parallelism", required_argument, NULL, OPT_PARALLELISM },
		{ "sync-passwords", no_argument, NULL, OPT_SYNC },
		{ "out", required_argument, NULL, OPT_OUT },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_plan_args a = { 0 };
	struct tw_model *want, *have;
	struct tw_http *h;
	struct tw_plan *plan;
	const char *out = NULL;
	int c, json = 0, detailed = 0, rc = TW_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': free(a.targets); return tw_cmd_usage("plan", 0);
		case OPT_JSON: json = 1; break;
		case OPT_DETAILED: detailed = 1; break;
		case OPT_TARGET: tw_cmd_add_target(&a, optarg); break;
		case OPT_SYNC: a.sync_passwords = 1; break;
		case OPT_OUT: out = optarg; break;
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
		json_t *o = tw_cmd_plan_json(plan);
		if (json) {
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		} else {
			tw_plan_print_json(o, stdout);
		}
		fflush(stdout);
		if (out)
			rc = save(out, g, &a, want, h, o);
		json_decref(o);
		if (rc == TW_EXIT_OK && detailed && !tw_plan_empty(plan))
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
