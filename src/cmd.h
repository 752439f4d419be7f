/* cmd.h - the command layer: only main and cmd_* print errors and pick exit codes */
#ifndef TWPROV_CMD_H
#define TWPROV_CMD_H

#include <getopt.h>
#include <signal.h>

#include "twprov/model.h"
#include "twprov/plan.h"

struct tw_http;

/* Options every command accepts, before or after the command name. */
struct tw_global {
	const char *file;       /* -f, --file (default twprov.yaml) */
	int file_given;         /* -f was given */
	const char *cacert;     /* --cacert */
	int verbose;            /* -v, repeatable */
	int no_color;           /* --no-color, NO_COLOR */
};

/* getopt_long values of the global options (beyond single characters). */
enum {
	TW_OPT_NO_COLOR = 1000,
	TW_OPT_CACERT,
	TW_OPT_VERSION,
	TW_OPT_FIRST_COMMAND_OPT = 1100,
};

#define TW_GLOBAL_LONGOPTS \
	{ "file", required_argument, NULL, 'f' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "no-color", no_argument, NULL, TW_OPT_NO_COLOR }, \
	{ "cacert", required_argument, NULL, TW_OPT_CACERT }, \
	{ "help", no_argument, NULL, 'h' }
/* '+': options end at the command name; ':': a missing value is told from an unknown option */
#define TW_GLOBAL_SHORTOPTS "+:f:vh"

/* Handles a global option; returns 1 if `c` was one. */
int tw_global_opt(struct tw_global *g, int c, const char *arg);
/* Applies the output settings (colour, verbosity) to tw_out. */
void tw_global_apply(const struct tw_global *g);

struct tw_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct tw_global *g);
	const char *summary;    /* NULL: not listed (a command for twprov's own use) */
	const char *usage;      /* full --help text; shell completion reads its options from it */
};

int cmd_validate(int argc, char **argv, struct tw_global *g);
int cmd_plan(int argc, char **argv, struct tw_global *g);
int cmd_apply(int argc, char **argv, struct tw_global *g);
int cmd_gen_phone_config(int argc, char **argv, struct tw_global *g);
int cmd_remove_credential(int argc, char **argv, struct tw_global *g);
int cmd_show(int argc, char **argv, struct tw_global *g);
int cmd_export(int argc, char **argv, struct tw_global *g);
int cmd_schema(int argc, char **argv, struct tw_global *g);
int cmd_complete(int argc, char **argv, struct tw_global *g);

extern const struct tw_cmd tw_commands[];
/* The global options, as the usage texts list options ("  -f, --file FILE    ..."). */
extern const char tw_usage_global[];
const struct tw_cmd *tw_cmd_find(const char *name);
/* Prints the command's usage to stdout (help) and returns 0, or to stderr and returns 64. */
int tw_cmd_usage(const char *name, int error);
/*
 * After getopt_long returned `c` ('?' or ':', or an option the command does
 * not take): name the option ("unknown option: --auto-aprove (did you mean
 * --auto-approve?)", "option --target needs a value"), print the usage of
 * command `name` to stderr (NULL: none, the caller prints its own) and return 64.
 */
int tw_cmd_bad_option(const char *name, const struct option *longopts, char **argv, int c);

/*
 * Shell completion (cmd_complete.c): the candidates for the last of the n words of a command
 * line (the words after "twprov"), one a line, then a directive line (:words, :files, :dirs).
 * Commands come from `cmds`, their options from their usage texts.
 */
void tw_complete(const struct tw_cmd *cmds, char **words, size_t n, struct tw_buf *out);

/* Shared plumbing (cmd_common.c). Each returns an exit code; 0 means go on. */
int tw_cmd_load(const struct tw_global *g, struct tw_model **out);
struct tw_plan_args {
	int parallelism;
	int sync_passwords;
	const char **targets;
	size_t ntargets;
	const json_t *saved;    /* a saved plan to recompute: the file's SHA-256 and the account must be
	                           the ones it was made from, checked before anything is read */
};
int tw_cmd_connect(const struct tw_global *g, const struct tw_model *m, int parallelism, struct tw_http **out);
/* The plan's JSON as printed and saved (secrets a server echoed into names redacted). */
json_t *tw_cmd_plan_json(const struct tw_plan *p);
/* Load, connect, read live state and build the plan. */
int tw_cmd_plan(const struct tw_global *g, const struct tw_plan_args *a, struct tw_model **want,
		struct tw_model **have, struct tw_http **h, struct tw_plan **plan);
/*
 * Ask for "yes" on a terminal before changing anything.  Returns TW_EXIT_OK
 * to go ahead; TW_EXIT_USAGE when stdin is not a terminal ("refusing to
 * VERB: ...", the caller should have had --auto-approve); TW_EXIT_FAIL when
 * the answer is not "yes" (prints `cancelled`).
 */
int tw_cmd_confirm(const char *verb, const char *cancelled);
/* Parse a positive integer option value; returns -1 if invalid. */
long tw_cmd_parse_count(const char *opt, const char *arg);
/*
 * While changes are made (apply, remove-credential): SIGINT and SIGTERM set
 * tw_cmd_interrupted, so no new request starts and the work in flight ends
 * with a report; a second signal ends the process.  0 restores the defaults.
 */
extern volatile sig_atomic_t tw_cmd_interrupted;
void tw_cmd_catch_signals(int on);
/* Parse a number of seconds (0 to 86400, decimals allowed); returns -1 if invalid. */
double tw_cmd_parse_seconds(const char *opt, const char *arg);
/* Adds a --target (heap array grows). */
void tw_cmd_add_target(struct tw_plan_args *a, const char *t);

#endif
