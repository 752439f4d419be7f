/* cmd_export.c - write a twprov file from the live account (adoption needs no import step) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "twprov/config.h"
#include "twprov/export.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/log.h"

const char tw_usage_export[] =
	"usage: twprov export [-o FILE] [--kinds KIND,...] [--source-dir DIR] [--parallelism N]\n"
	"\n"
	"Read the live account as plan reads it and write a twprov file that declares\n"
	"it as it is: the next plan reports no changes, with no import step.  Fields\n"
	"at Twilio's documented defaults are left out; passwords, which Twilio never\n"
	"returns, are written ${env:NAME} and the variables listed on stderr; the code\n"
	"of Serverless functions and public assets goes into files.  Nothing is\n"
	"written when two live resources share an identity.\n"
	"\n"
	"  -o, --out FILE      write the file to FILE (default: standard output)\n"
	"  --kinds KIND,...    only these kinds (names as in prune:, e.g.\n"
	"                      sip_domains,credential_lists); lists a domain maps come too\n"
	"  --source-dir DIR    where function and asset files go (default: the\n"
	"                      directory of FILE, or the current one)\n"
	"  --parallelism N     at most N requests in flight (default 256); fewer when\n"
	"                      Twilio answers 429: the limit is found by trying\n";

enum { OPT_OUT = TW_OPT_FIRST_COMMAND_OPT, OPT_KINDS, OPT_SOURCE_DIR, OPT_PARALLELISM };

/* --kinds a,b,c (repeatable) into a list of names (pointers into `spec`, which is modified). */
static void add_kinds(char *spec, const char ***kinds, size_t *n)
{
	for (char *save = NULL, *k = strtok_r(spec, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		*kinds = tw_xrealloc(*kinds, (*n + 1) * sizeof(**kinds));
		(*kinds)[(*n)++] = k;
	}
}

/* The comment lines at the top of the file: what it is, what it leaves out, what plan will show. */
static char *header(struct tw_http *h, struct tw_export *x, size_t changes)
{
	struct tw_buf b = TW_BUF_INIT;
	const json_t *env = tw_export_env(x), *left = tw_export_left_out(x);
	size_t i;
	json_t *v;

	tw_buf_addf(&b, "Written by twprov export from account %s.\n", tw_http_account_sid(h));
	if (changes)
		tw_buf_addf(&b, "Planned against that account it shows %zu change%s (export listed them).\n", changes,
			    changes == 1 ? "" : "s");
	else
		tw_buf_adds(&b, "Planned against that account it shows no changes.\n");
	if (json_array_size(env))
		tw_buf_addf(&b, "Passwords are write-only at Twilio: %zu %s ${env:NAME} (export listed the names, see\n"
			    "twprov-export(1)); set the variables before plan or apply.\n", json_array_size(env),
			    json_array_size(env) == 1 ? "is" : "are");
	if (json_array_size(left)) {
		tw_buf_adds(&b, "Left out:\n");
		json_array_foreach(left, i, v)
			tw_buf_addf(&b, "  %s\n", json_string_value(v));
	}
	return tw_buf_detach(&b);
}

/* What the file as written changes when planned against the account as read (should be nothing):
 * *changes gets how many actions. */
static int verify(struct tw_export *x, const struct tw_buf *yaml, size_t *changes)
{
	struct tw_plan *plan = NULL;
	struct tw_diags diags = { 0 };
	struct tw_err err = TW_ERR_INIT;
	int rc = TW_EXIT_OK;

	if (tw_export_verify(x, yaml->buf, yaml->len, &plan, &diags, &err) < 0) {
		tw_diags_print(&diags, stderr);
		tw_error("%s: the file export made does not plan (a bug in twprov; nothing was written)", err.msg);
		rc = TW_EXIT_FAIL;
	} else if (!tw_plan_empty(plan)) {
		json_t *o = tw_cmd_plan_json(plan);
		*changes = json_array_size(json_object_get(o, "changes"));
		tw_warning("plan will not be empty: twprov could not write what these actions change:");
		tw_plan_print_actions(o, stderr);
		json_decref(o);
	}
	tw_plan_free(plan);
	tw_diags_release(&diags);
	return rc;
}

static int mkdir_of(const char *file, struct tw_err *err)
{
	char *dir = tw_dir_of(file);
	int ret = tw_mkdir_p(dir, 0755, err);
	free(dir);
	return ret;
}

static int write_out(const char *out, const struct tw_buf *yaml)
{
	struct tw_err err = TW_ERR_INIT;

	if (!out) {
		fwrite(yaml->buf, 1, yaml->len, stdout);
		return TW_EXIT_OK;
	}
	if (tw_write_atomic(out, yaml->buf, yaml->len, 0644, &err) < 0) {
		tw_error("%s", err.msg);
		return TW_EXIT_FAIL;
	}
	return TW_EXIT_OK;
}

static void report(struct tw_export *x, const char *out, size_t nfiles, const char *dir)
{
	const json_t *env = tw_export_env(x), *left = tw_export_left_out(x);
	size_t i, top, all;
	json_t *v;

	json_array_foreach(left, i, v)
		tw_warning("%s", json_string_value(v));
	if (json_array_size(env)) {
		/* one write for them all (10,000 at the benchmark's size): each address quoted as
		 * tw_info would show it; the names are twprov's ([A-Z0-9_]) */
		struct tw_buf b = TW_BUF_INIT;
		tw_info("Set these environment variables to the passwords (Twilio never returns them):");
		json_array_foreach(env, i, v) {
			const char *a = json_string_value(json_array_get(v, 1));
			tw_buf_addf(&b, "  %s  ", json_string_value(json_array_get(v, 0)));
			tw_buf_add_quoted(&b, a, strlen(a), 0);
			tw_buf_addc(&b, '\n');
		}
		fwrite(b.buf, 1, b.len, stderr);
		tw_buf_release(&b);
	}
	tw_export_count(x, &top, &all);
	tw_info("Exported %zu resource%s (%zu top-level) to %s%s%s.", all, all == 1 ? "" : "s", top,
		out ? tw_quote(out) : "standard output", nfiles ? ", with function and asset files in " : "",
		nfiles ? tw_quote(dir) : "");
}

int cmd_export(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "out", required_argument, NULL, 'o' },
		{ "kinds", required_argument, NULL, OPT_KINDS },
		{ "source-dir", required_argument, NULL, OPT_SOURCE_DIR },
		{ "parallelism", required_argument, NULL, OPT_PARALLELISM },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_export_opts o = { 0 };
	const char **kinds = NULL;
	char **specs = NULL;
	size_t nspecs = 0, nfiles, changes = 0;
	struct tw_export *x = NULL;
	struct tw_http *h = NULL;
	struct tw_err err = TW_ERR_INIT;
	struct tw_buf yaml = TW_BUF_INIT, body = TW_BUF_INIT;
	struct tw_tree_file *files;
	const char *dir;
	char *text = NULL;
	long par = 0;
	double t0, t1;
	int c, rc = TW_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': rc = tw_cmd_usage("export", 0); goto out;
		case 'o': o.out = optarg; break;
		case OPT_SOURCE_DIR: o.source_dir = optarg; break;
		case OPT_KINDS:
			specs = tw_xrealloc(specs, (nspecs + 1) * sizeof(*specs));
			specs[nspecs] = tw_xstrdup(optarg);
			add_kinds(specs[nspecs++], &kinds, &o.nkinds);
			break;
		case OPT_PARALLELISM:
			if ((par = tw_cmd_parse_count("--parallelism", optarg)) < 0)
				goto out;
			break;
		default:
			if (!tw_global_opt(g, c, optarg)) {
				tw_cmd_bad_option("export", longopts, argv, c);
				goto out;
			}
		}
	}
	if (optind < argc) {
		tw_error("export takes no arguments (use -o FILE)");
		goto out;
	}
	if (nspecs && !o.nkinds) {
		tw_error("--kinds: no kind named");
		goto out;
	}
	o.kinds = kinds;
	tw_global_apply(g);

	if (!(x = tw_export_new(&o, &err))) {
		tw_error("%s", err.msg);
		goto out;
	}
	if ((rc = tw_cmd_connect(g, NULL, (int)par, &h)))
		goto out;
	rc = TW_EXIT_FAIL;
	t0 = tw_now_s();
	if (tw_export_run(x, h, &err) < 0) {
		size_t i;
		json_t *v;
		json_array_foreach(tw_export_problems(x), i, v)
			tw_error("%s", json_string_value(v));
		tw_error("%s (nothing was written)", err.msg);
		goto out;
	}
	t1 = tw_now_s();
	tw_trace(1, "read the account and made the file's model in %.0f ms", (t1 - t0) * 1000);
	if (tw_export_yaml(x, NULL, &body, &err) < 0) {
		tw_error("%s", err.msg);
		goto out;
	}
	/* the file's directory, then its sources: where the file, loaded to verify it, finds them */
	files = tw_export_sources(x, &nfiles, &dir);
	if ((o.out && mkdir_of(o.out, &err) < 0) || (nfiles && tw_write_tree(files, nfiles, dir, 0644, &err) < 0)) {
		tw_error("%s (the twprov file was not written)", err.msg);
		goto out;
	}
	t0 = tw_now_s();
	tw_trace(1, "wrote %zu bytes of YAML and %zu files in %.0f ms", body.len, nfiles, (t0 - t1) * 1000);
	if ((rc = verify(x, &body, &changes)))
		goto out;
	tw_trace(1, "loaded the file and planned it against the account in %.0f ms", (tw_now_s() - t0) * 1000);
	text = header(h, x, changes);
	tw_config_comment(&yaml, text);
	tw_buf_add(&yaml, body.buf, body.len);
	if ((rc = write_out(o.out, &yaml)))
		goto out;
	report(x, o.out, nfiles, dir);
out:
	tw_buf_release(&yaml);
	tw_buf_release(&body);
	free(text);
	tw_export_free(x);
	tw_http_free(h);
	for (size_t i = 0; i < nspecs; i++)
		free(specs[i]);
	free(specs);
	free(kinds);
	return rc;
}
