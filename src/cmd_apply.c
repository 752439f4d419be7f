/* cmd_apply.c - make the live account match the file */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "twprov/apply.h"
#include "twprov/http.h"
#include "twprov/log.h"

const char tw_usage_apply[] =
	"usage: twprov apply [-f FILE] [--auto-approve] [--parallelism N] [--target KIND/NAME]...\n"
	"                    [--sync-passwords] [--allow-purchase] [--allow-release]\n"
	"                    [--verify-timeout SECONDS] [PLANFILE]\n"
	"\n"
	"Read the live account, print the plan, and carry it out: creates and\n"
	"updates parents first and referenced resources first, deletes in reverse,\n"
	"independent actions in parallel.  On a terminal it asks for \"yes\"; when\n"
	"stdin is not a terminal it refuses unless --auto-approve is given.\n"
	"If an action fails, work in flight finishes, nothing new starts, and the\n"
	"report says what was applied; run apply again to finish the job.\n"
	"Then it reads the account again until it shows every change (Twilio's\n"
	"lists lag behind its writes): when apply exits 0, an immediate plan shows\n"
	"no changes.\n"
	"With PLANFILE (made by `twprov plan --out`), it computes the plan again from\n"
	"the file and the account the saved plan names, and carries it out, without\n"
	"asking, only if it is the same plan (\"saved plan is stale\" otherwise).\n"
	"\n"
	"  --auto-approve       do not ask for confirmation\n"
	"  --parallelism N      at most N requests in flight (default 256); fewer when\n"
	"                       Twilio answers 429: the limit is found by trying\n"
	"  --target KIND/NAME   apply only this resource (and what it needs); repeatable\n"
	"  --sync-passwords     set every declared password again (Twilio never\n"
	"                       returns passwords, so changes cannot be detected)\n"
	"  --allow-purchase     allow buying the phone numbers the plan purchases\n"
	"  --allow-release      allow releasing the phone numbers the plan releases\n"
	"  --verify-timeout SECONDS\n"
	"                       how long to wait for the account to show the changes,\n"
	"                       and to look for a create whose answer was lost before\n"
	"                       sending it again (default 30; 0: read once)\n";

enum { OPT_AUTO = TW_OPT_FIRST_COMMAND_OPT, OPT_TARGET, OPT_PARALLELISM, OPT_SYNC, OPT_PURCHASE, OPT_RELEASE,
       OPT_VERIFY_TIMEOUT };

#define TW_VERIFY_TIMEOUT_S 30

/* Purchases and releases happen only with their flag; without it, nothing is applied. */
static int guards_allowed(const struct tw_plan *p, const char *const *allowed, size_t nallowed)
{
	int ok = 1;
	for (size_t i = 0; i < p->n; i++) {
		const struct tw_guard *g = tw_act_guard(&p->acts[i]);
		int given = 0;
		for (size_t j = 0; g && j < nallowed; j++)
			given |= allowed[j] && !strcmp(allowed[j], g->flag);
		if (g && !given) {
			tw_error("%s: apply would %s it; pass %s to allow that (nothing was applied)",
				 tw_quote(p->acts[i].address), g->word, g->flag);
			ok = 0;
		}
	}
	return ok;
}

/*
 * Read the account again until it shows every change of the apply (or the
 * time is up): exit 0 only then.
 */
static int verify(const struct tw_plan_args *a, struct tw_model *want, struct tw_http *h, double timeout)
{
	struct tw_plan_opts po = { .targets = a->targets, .ntargets = a->ntargets };
	struct tw_verify_opts vo = { .plan = &po, .timeout_s = timeout, .interrupted = &tw_cmd_interrupted };
	struct tw_verify_result vr;
	struct tw_err err = TW_ERR_INIT;
	int rc = TW_EXIT_OK;

	if (tw_verify(h, want, &vo, &vr, &err) < 0) {
		size_t i;
		json_t *v;
		tw_error("apply made its changes, but %s", err.msg);
		if (vr.left) {
			json_array_foreach(vr.left->problems, i, v)
				tw_error("%s", json_string_value(v));
			for (i = 0; i < vr.left->n; i++) {
				const struct tw_action *la = &vr.left->acts[i];
				if (!i)
					fprintf(stderr, "Not visible yet (what a plan would still do):\n");
				tw_show(stderr, "  %s %s", tw_act_symbol(la->type), tw_quote(la->address));
				if (la->custom)
					fprintf(stderr, " (%s)", la->custom->verb);
				for (size_t c = 0; c < la->nchanges && la->type == TW_ACT_UPDATE && !la->custom; c++)
					fprintf(stderr, "%s%s", c ? ", " : ": ", la->changes[c].field->name);
				fputc('\n', stderr);
			}
		}
		fprintf(stderr, "Run twprov plan in a while to see whether the account caught up; a longer "
			"--verify-timeout waits longer.\n");
		rc = TW_EXIT_FAIL;
	} else {
		fprintf(stderr, "Verified: the account shows every change (%d read%s, %.1f s).\n", vr.reads,
			vr.reads == 1 ? "" : "s", vr.seconds);
	}
	tw_trace(1, "verified in %.0f ms: %d reads, %ld requests", vr.seconds * 1000, vr.reads, vr.requests);
	tw_verify_release(&vr);
	return rc;
}

/*
 * A saved plan to carry out: it names the twprov file (unless -f does) and
 * carries the options that shape a plan, so none may be given beside it.
 */
static int load_saved(const char *path, struct tw_global *g, struct tw_plan_args *a, json_t **saved,
		      const char ***targets)
{
	struct tw_plan_opts po;
	struct tw_err err = TW_ERR_INIT;

	if (a->ntargets || a->sync_passwords) {
		tw_error("a saved plan carries its own --target and --sync-passwords: give neither with %s",
			 tw_quote(path));
		return TW_EXIT_USAGE;
	}
	if (tw_saved_read(path, saved, &err) < 0) {
		tw_error("%s", err.msg);
		return TW_EXIT_FAIL;
	}
	if (!g->file_given)
		g->file = json_string_value(json_object_get(json_object_get(*saved, "file"), "path"));
	tw_saved_opts(*saved, &po, targets);
	free(a->targets);
	a->targets = NULL;
	a->ntargets = po.ntargets;
	a->sync_passwords = po.sync_passwords;
	a->saved = *saved;
	a->targets = tw_xcalloc(po.ntargets ? po.ntargets : 1, sizeof(*a->targets));
	memcpy(a->targets, po.targets, po.ntargets * sizeof(*a->targets));
	return TW_EXIT_OK;
}

/* The plan computed now must be the saved one, action for action: else nothing is applied. */
static int same_as_saved(const char *path, const json_t *saved, const json_t *now)
{
	json_t *lines = json_array(), *v;
	size_t n = tw_saved_diff(json_object_get(saved, "plan"), now, lines), i;

	if (n) {
		tw_error("saved plan is stale: the file and the account now give another plan than %s (%zu action%s "
			 "differ%s); nothing was applied:", tw_quote(path), n, n == 1 ? "" : "s", n == 1 ? "s" : "");
		json_array_foreach(lines, i, v)
			tw_show(stderr, "%s\n", json_string_value(v));
	}
	json_decref(lines);
	return n ? TW_EXIT_FAIL : TW_EXIT_OK;
}

int cmd_apply(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "auto-approve", no_argument, NULL, OPT_AUTO },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "parallelism", required_argument, NULL, OPT_PARALLELISM },
		{ "sync-passwords", no_argument, NULL, OPT_SYNC },
		{ "allow-purchase", no_argument, NULL, OPT_PURCHASE },
		{ "allow-release", no_argument, NULL, OPT_RELEASE },
		{ "verify-timeout", required_argument, NULL, OPT_VERIFY_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	const char *allowed[2] = { NULL, NULL };
	struct tw_plan_args a = { 0 };
	struct tw_model *want = NULL, *have = NULL;
	struct tw_http *h = NULL;
	struct tw_plan *plan = NULL;
	struct tw_apply_result res;
	struct tw_err err = TW_ERR_INIT;
	int c, autoapprove = 0, rc = TW_EXIT_USAGE;
	double verify_timeout = TW_VERIFY_TIMEOUT_S;
	json_t *saved = NULL, *now = NULL;
	const char **saved_targets = NULL;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h': free(a.targets); return tw_cmd_usage("apply", 0);
		case OPT_AUTO: autoapprove = 1; break;
		case OPT_TARGET: tw_cmd_add_target(&a, optarg); break;
		case OPT_SYNC: a.sync_passwords = 1; break;
		case OPT_PURCHASE: allowed[0] = "--allow-purchase"; break;
		case OPT_RELEASE: allowed[1] = "--allow-release"; break;
		case OPT_VERIFY_TIMEOUT:
			if ((verify_timeout = tw_cmd_parse_seconds("--verify-timeout", optarg)) < 0)
				goto out;
			break;
		case OPT_PARALLELISM:
			if ((a.parallelism = (int)tw_cmd_parse_count("--parallelism", optarg)) < 0)
				goto out;
			break;
		default:
			if (!tw_global_opt(g, c, optarg)) {
				tw_cmd_bad_option("apply", longopts, argv, c);
				goto out;
			}
		}
	}
	if (optind + 1 < argc) {
		tw_error("apply takes at most one argument, a saved plan (use -f FILE for the twprov file)");
		goto out;
	}
	tw_global_apply(g);
	if (optind < argc && (rc = load_saved(argv[optind], g, &a, &saved, &saved_targets)) != TW_EXIT_OK)
		goto out;

	rc = tw_cmd_plan(g, &a, &want, &have, &h, &plan);
	if (rc != TW_EXIT_OK)
		goto out;
	now = tw_cmd_plan_json(plan);
	tw_plan_print_json(now, stdout);
	fflush(stdout);
	if (saved && (rc = same_as_saved(argv[optind], saved, now)) != TW_EXIT_OK)
		goto out;
	json_decref(now);       /* printed and compared: a large plan's text takes memory */
	now = NULL;
	if (tw_plan_empty(plan))
		goto out;
	if (!guards_allowed(plan, allowed, 2)) {
		rc = TW_EXIT_USAGE;
		goto out;
	}
	/* a saved plan was reviewed when it was made: it is the approval */
	if (!autoapprove && !saved && (rc = tw_cmd_confirm("apply", "Apply cancelled.")) != TW_EXIT_OK)
		goto out;

	tw_cmd_catch_signals(1);
	struct tw_apply_opts ao = { .interrupted = &tw_cmd_interrupted, .verify_timeout_s = verify_timeout };
	if (tw_apply(h, plan, &ao, &res, &err) < 0) {
		tw_error("apply stopped: %s", err.msg);
		tw_apply_report(plan, &res, NULL, stderr);
		fprintf(stderr, "Run twprov apply again to finish: it re-reads the account and plans what is left.\n");
		rc = TW_EXIT_FAIL;
	} else {
		printf("Apply complete: %zu added, %zu changed, %zu destroyed.\n", res.added, res.changed,
		       res.destroyed);
		fflush(stdout);
		/* what is verified is the file against a fresh read: the plan and the account as it
		 * was are done with (and a large account's take memory) */
		tw_apply_result_release(&res);
		tw_plan_free(plan);
		tw_model_free(have);
		plan = NULL;
		have = NULL;
		rc = verify(&a, want, h, verify_timeout);
	}
	tw_apply_result_release(&res);
	tw_cmd_catch_signals(0);
out:
	json_decref(now);
	json_decref(saved);
	free(saved_targets);
	tw_plan_free(plan);
	tw_model_free(have);
	tw_model_free(want);
	tw_http_free(h);
	free(a.targets);
	return rc;
}
