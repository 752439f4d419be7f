/* cmd_common.c - options, the command table and the plumbing shared by commands */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "twprov/checks.h"
#include "twprov/config.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/redact.h"

extern const char tw_usage_validate[], tw_usage_plan[], tw_usage_apply[], tw_usage_gen_phone_config[],
	tw_usage_remove_credential[], tw_usage_show[], tw_usage_export[], tw_usage_schema[], tw_usage_complete[];

const struct tw_cmd tw_commands[] = {
	{ "validate", cmd_validate, "check the file offline (types, references, Twilio's rules)", tw_usage_validate },
	{ "plan", cmd_plan, "show what apply would change in the live account", tw_usage_plan },
	{ "apply", cmd_apply, "make the live account match the file", tw_usage_apply },
	{ "gen-phone-config", cmd_gen_phone_config, "write provisioning files for the credentials' phones", tw_usage_gen_phone_config },
	{ "remove-credential", cmd_remove_credential, "revoke a SIP user now and drop it from the file", tw_usage_remove_credential },
	{ "show", cmd_show, "print a plan saved by plan --out", tw_usage_show },
	{ "export", cmd_export, "write a twprov file from the live account (adoption)", tw_usage_export },
	{ "schema", cmd_schema, "print the JSON Schema of the file, for editors", tw_usage_schema },
	{ "__complete", cmd_complete, NULL, tw_usage_complete },
	{ NULL, NULL, NULL, NULL },
};

const char tw_usage_global[] =
	"  -f, --file FILE    the twprov file (default twprov.yaml)\n"
	"  -v, --verbose      trace HTTP requests on stderr (secrets redacted); twice for more\n"
	"      --no-color     no colour (also NO_COLOR=1)\n"
	"      --cacert FILE  trust this CA bundle for TLS (also CURL_CA_BUNDLE)\n"
	"  -h, --help         show help; `twprov COMMAND --help` for a command\n"
	"      --version      print the version\n";

const struct tw_cmd *tw_cmd_find(const char *name)
{
	for (const struct tw_cmd *c = tw_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int tw_cmd_usage(const char *name, int error)
{
	const struct tw_cmd *c = tw_cmd_find(name);
	fputs(c ? c->usage : "", error ? stderr : stdout);
	return error ? TW_EXIT_USAGE : TW_EXIT_OK;
}

int tw_cmd_bad_option(const char *name, const struct option *longopts, char **argv, int c)
{
	const char *arg = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char **cands;
	const char *dym = NULL;
	char *word;
	size_t n = 0;

	/* an unknown short option may sit in a cluster (-vx): getopt names it in optopt (long
	 * options are named by their values, all >= 1000, or 0 when unknown) */
	if (optopt > 0 && optopt < 128)
		word = tw_xstrdup(shortopt);
	else
		word = tw_xstrndup(arg, strcspn(arg, "="));
	for (n = 0; longopts[n].name; n++)
		;
	cands = tw_xcalloc(n ? n : 1, sizeof(*cands));
	for (size_t i = 0; i < n; i++)
		cands[i] = tw_xasprintf("--%s", longopts[i].name);
	if (c == ':') {
		tw_error("option %s needs a value", word);
	} else if (optopt >= 128 && strchr(arg, '=')) {
		/* a known long option (getopt names it by its value) given a value it does not take */
		tw_error("option %s takes no value", word);
	} else {
		if (!strncmp(word, "--", 2))
			dym = tw_suggest(word, cands, n);
		tw_error("unknown option: %s%s%s%s", word, dym ? " (did you mean " : "", dym ? dym : "",
			 dym ? "?)" : "");
	}
	for (size_t i = 0; i < n; i++)
		free((char *)cands[i]);
	free(cands);
	free(word);
	return name ? tw_cmd_usage(name, 1) : TW_EXIT_USAGE;
}

int tw_global_opt(struct tw_global *g, int c, const char *arg)
{
	switch (c) {
	case 'f': g->file = arg; g->file_given = 1; return 1;
	case 'v': g->verbose++; return 1;
	case TW_OPT_NO_COLOR: g->no_color = 1; return 1;
	case TW_OPT_CACERT: g->cacert = arg; return 1;
	default: return 0;
	}
}

void tw_global_apply(const struct tw_global *g)
{
	const char *nc = getenv("NO_COLOR");
	int color = !g->no_color && !(nc && *nc);
	tw_out.verbose = g->verbose;
	tw_out.color = color && isatty(STDOUT_FILENO);
	tw_out.color_err = color && isatty(STDERR_FILENO);
}

long tw_cmd_parse_count(const char *opt, const char *arg)
{
	char *end;
	long n;
	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < 1 || n > 1024) {
		tw_error("%s: expected a number from 1 to 1024, got \"%s\"", opt, arg);
		return -1;
	}
	return n;
}

double tw_cmd_parse_seconds(const char *opt, const char *arg)
{
	char *end;
	double n;
	errno = 0;
	n = strtod(arg, &end);
	if (errno || end == arg || *end || !(n >= 0 && n <= 86400)) {
		tw_error("%s: expected a number of seconds from 0 to 86400, got \"%s\"", opt, arg);
		return -1;
	}
	return n;
}

void tw_cmd_add_target(struct tw_plan_args *a, const char *t)
{
	a->targets = realloc(a->targets, (a->ntargets + 1) * sizeof(*a->targets));
	if (!a->targets)
		abort();
	a->targets[a->ntargets++] = t;
}

int tw_cmd_confirm(const char *verb, const char *cancelled)
{
	char line[64];
	if (!isatty(STDIN_FILENO)) {
		tw_error("refusing to %s: stdin is not a terminal and --auto-approve was not given", verb);
		return TW_EXIT_USAGE;
	}
	fprintf(stderr, "Do you want to perform these actions?\n  Only 'yes' will be accepted: ");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return TW_EXIT_FAIL;
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes")) {
		fprintf(stderr, "%s\n", cancelled);
		return TW_EXIT_FAIL;
	}
	return TW_EXIT_OK;
}

int tw_cmd_load(const struct tw_global *g, struct tw_model **out)
{
	struct tw_err err = TW_ERR_INIT;
	int rc = tw_config_load(g->file, out, &err);

	if (*out)
		tw_diags_print(&(*out)->diags, stderr);
	if (rc < 0) {
		tw_error("%s", err.msg);
		tw_model_free(*out);
		*out = NULL;
		/* a file that cannot be read is invalid input too: nothing was sent */
		return TW_EXIT_INVALID;
	}
	return TW_EXIT_OK;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/*
 * The file's account.region (or edge), else TWILIO_REGION (or TWILIO_EDGE) checked as the
 * file's value is: anything but a host name label would send requests to another host.
 * -1 (printed, naming the variable) when the variable is not a label.
 */
static int env_label(const char *name, const char *what, const char *from_file, const char **out)
{
	const char *v = env(name);

	*out = from_file;
	if (from_file || !v)
		return 0;
	if (!tw_host_label_ok(v)) {
		tw_error("%s: not %s name: %s (lower-case letters, digits and '-')", name, what, tw_quote_always(v));
		return -1;
	}
	*out = v;
	return 0;
}

int tw_cmd_connect(const struct tw_global *g, const struct tw_model *m, int parallelism, struct tw_http **out)
{
	struct tw_http_opts o;
	struct tw_err err = TW_ERR_INIT;
	const char *sid = env("TWILIO_ACCOUNT_SID");
	const char *key = env("TWILIO_API_KEY"), *secret = env("TWILIO_API_SECRET");
	const char *token = env("TWILIO_AUTH_TOKEN");

	tw_http_opts_init(&o);
	if (!sid) {
		tw_error("TWILIO_ACCOUNT_SID is not set: export your account SID (AC...) and "
			 "TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET");
		return TW_EXIT_FAIL;
	}
	if (!tw_sid_ok(sid, "AC")) {
		tw_error("TWILIO_ACCOUNT_SID is not an account SID: expected AC followed by 32 hex digits");
		return TW_EXIT_FAIL;
	}
	if (key) {
		if (!secret) {
			tw_error("TWILIO_API_KEY is set but TWILIO_API_SECRET is not: export the key's secret");
			return TW_EXIT_FAIL;
		}
		o.user = key;
		o.pass = secret;
	} else if (token) {
		o.user = sid;
		o.pass = token;
	} else {
		tw_error("no credentials: export TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET");
		return TW_EXIT_FAIL;
	}
	o.account_sid = sid;
	o.api_url = env("TWPROV_API_URL");
	if (env_label("TWILIO_REGION", "a region", m ? m->region : NULL, &o.region) < 0 ||
	    env_label("TWILIO_EDGE", "an edge", m ? m->edge : NULL, &o.edge) < 0)
		return TW_EXIT_FAIL;
	/* libcurl itself does not read CURL_CA_BUNDLE (only the curl tool does) */
	o.cacert = g->cacert ? g->cacert : env("CURL_CA_BUNDLE");
	if (o.cacert) {
		/* curl opens it later: a FIFO there would hold every request */
		int fd = tw_open_regular(o.cacert, NULL, &err);
		if (fd < 0) {
			tw_error("%s %s: %s", g->cacert ? "--cacert" : "CURL_CA_BUNDLE", tw_quote(o.cacert), err.msg);
			return g->cacert ? TW_EXIT_USAGE : TW_EXIT_FAIL;
		}
		close(fd);
	}
	if (parallelism > 0)
		o.parallelism = parallelism;
	*out = tw_http_new(&o, &err);
	if (!*out) {
		tw_error("%s", err.msg);
		return TW_EXIT_FAIL;
	}
	return TW_EXIT_OK;
}

/* Print an API error with advice where the cause is usually on our side. */
static void report_api_error(const struct tw_err *err)
{
	tw_error("%s", err->msg);
	if (err->status == 401)
		tw_info("hint: Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
			"(or TWILIO_API_KEY and TWILIO_API_SECRET), and the region if you set one");
	/* curl's words for a certificate chain that ends in a CA it does not trust */
	else if (!err->status && strstr(err->msg, "SSL certificate problem: ") &&
		 (strstr(err->msg, "self-signed") || strstr(err->msg, "self signed") ||
		  strstr(err->msg, "issuer certificate")))
		tw_info("hint: the server's TLS certificate is not trusted: if a private CA signed it (a proxy, "
			"a test server), pass --cacert FILE (or set CURL_CA_BUNDLE) with that CA's certificate");
}

int tw_cmd_plan(const struct tw_global *g, const struct tw_plan_args *a, struct tw_model **want,
		struct tw_model **have, struct tw_http **h, struct tw_plan **plan)
{
	struct tw_plan_opts po = { .sync_passwords = a->sync_passwords, .targets = a->targets,
				   .ntargets = a->ntargets };
	struct tw_err err = TW_ERR_INIT;
	struct tw_http_stats st;
	double t0 = tw_now_s(), t1;
	int rc;

	*want = *have = NULL;
	*h = NULL;
	*plan = NULL;
	if ((rc = tw_cmd_load(g, want)))
		return rc;
	t1 = tw_now_s();
	tw_trace(1, "loaded %s in %.0f ms", g->file, (t1 - t0) * 1000);
	if (a->saved && strcmp((*want)->sha256, json_string_value(json_object_get(json_object_get(a->saved, "file"),
										   "sha256")))) {
		tw_error("saved plan is stale: %s changed since the plan was made (nothing was applied)", tw_quote(g->file));
		return TW_EXIT_FAIL;
	}
	if ((rc = tw_cmd_connect(g, *want, a->parallelism, h)))
		return rc;
	if (a->saved && strcmp(tw_http_account_sid(*h), json_string_value(json_object_get(a->saved, "account_sid")))) {
		tw_error("the saved plan was made for account %s, not for %s (TWILIO_ACCOUNT_SID): nothing was applied",
			 tw_quote(json_string_value(json_object_get(a->saved, "account_sid"))),
			 tw_quote(tw_http_account_sid(*h)));
		return TW_EXIT_FAIL;
	}
	if (tw_live_read(*h, *want, NULL, have, &err) < 0) {
		report_api_error(&err);
		return TW_EXIT_FAIL;
	}
	t0 = tw_now_s();
	tw_http_stats(*h, &st);
	tw_trace(1, "read the account in %.0f ms: %ld requests, %ld answered 429", (t0 - t1) * 1000, st.requests,
		 st.throttled);
	rc = tw_plan_build(*want, *have, &po, plan, &err);
	tw_trace(1, "planned in %.0f ms", (tw_now_s() - t0) * 1000);
	if (rc < 0) {
		size_t i;
		json_t *v;
		json_array_foreach((*plan)->problems, i, v)
			tw_error("%s", json_string_value(v));
		tw_error("%s", err.msg);
		return err.kind == TW_ERR_USAGE ? TW_EXIT_USAGE : TW_EXIT_FAIL;
	}
	return TW_EXIT_OK;
}

json_t *tw_cmd_plan_json(const struct tw_plan *p)
{
	json_t *o = tw_plan_json(p);
	tw_redact_json(o);      /* exact, but for a secret a server echoed into a name */
	return o;
}

volatile sig_atomic_t tw_cmd_interrupted;

static void on_signal(int sig)
{
	tw_cmd_interrupted = 1;
	signal(sig, SIG_DFL);   /* a second signal ends the process */
}

void tw_cmd_catch_signals(int on)
{
	signal(SIGINT, on ? on_signal : SIG_DFL);
	signal(SIGTERM, on ? on_signal : SIG_DFL);
}
