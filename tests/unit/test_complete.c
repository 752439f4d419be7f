/* test_complete.c - shell completion reads commands and options from tables: a table of its own here */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/cmd.h"
#include "twprov/buf.h"
#include "twprov/kind.h"

static int run(int argc, char **argv, struct tw_global *g)
{
	(void)argc, (void)argv, (void)g;
	return 0;
}

/* A command that is not twprov's (yet): its options say what completes. */
static const struct tw_cmd cmds[] = {
	{ "export", run, "write a file from an existing account",
	  "usage: twprov export [-o FILE] [--kinds KIND,...] [--source-dir DIR] [--dry-run] ACCOUNT\n"
	  "\n"
	  "Write a file.\n"
	  "\n"
	  "  -o, --out FILE        write here\n"
	  "      --kinds KIND,...  only these kinds\n"
	  "      --source-dir DIR\n"
	  "                        function code and assets go here\n"
	  "      --dry-run         print only\n" },
	{ "__hidden", run, NULL, "usage: twprov __hidden\n" },
	{ NULL, NULL, NULL, NULL },
};

/* The output for a command line (words after "twprov", the last one being completed). */
static char *complete(const char *line)
{
	char *copy = tw_xstrdup(line), *words[16], *save = NULL;
	size_t n = 0;
	struct tw_buf out = TW_BUF_INIT;

	for (char *w = strtok_r(copy, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
		words[n++] = strcmp(w, "''") ? w : (char *)"";
	tw_complete(cmds, words, n, &out);
	free(copy);
	return tw_buf_detach(&out);
}

static void expect(const char *line, const char *want)
{
	char *got = complete(line);
	if (strcmp(got, want))
		fail_msg("completing \"%s\":\n%s\nwanted:\n%s", line, got, want);
	free(got);
}

static void test_commands(void **state)
{
	(void)state;
	expect("''", "export\twrite a file from an existing account\n:words\n");   /* not __hidden */
	expect("e", "export\twrite a file from an existing account\n:words\n");
	expect("x", ":words\n");
	expect("nosuch ''", ":words\n");
}

static void test_options_from_usage(void **state)
{
	(void)state;
	expect("export --k", "--kinds\tonly these kinds\n:words\n");
	expect("export --s", "--source-dir\tfunction code and assets go here\n:words\n");
	expect("export --o", "--out\twrite here\n:words\n");
	expect("--vers", "--version\tprint the version\n:words\n");      /* the global options */
	expect("export -o ''", ":files\n");
	expect("export --out=x", ":files\n");
	expect("export --source-dir ''", ":dirs\n");
	expect("export --dry-run ''", ":words\n");                      /* ACCOUNT: nothing known */
}

static void test_kinds(void **state)
{
	size_t n, nc = 0;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);
	char *all = complete("export --kinds ''"), *list = complete("export --kinds=credential_lists,");
	(void)state;
	for (size_t i = 0; i < n; i++) {
		char *line = tw_xasprintf("%s\t%s\n", tops[i]->name, tops[i]->doc);
		char *inlist = tw_xasprintf("--kinds=credential_lists,%s\t", tops[i]->name);
		assert_non_null(strstr(all, line));
		assert_non_null(strstr(list, inlist));
		free(line);
		free(inlist);
	}
	for (const char *p = all; (p = strchr(p, '\n')); p++)
		nc++;
	assert_int_equal(nc, n + 1);   /* the top-level kinds only, and the directive */
	for (size_t i = 0; i < tw_nkinds; i++) {
		char *line = tw_xasprintf("\n%s\t", tw_kinds[i]->name);
		if (tw_kinds[i]->parent && strstr(all, line))
			fail_msg("child kind %s offered", tw_kinds[i]->name);
		free(line);
	}
	free(all);
	free(list);
	expect("export --kinds cred", "credential_lists\tSIP credential lists (usernames and passwords phones "
	       "authenticate with)\n:words\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_options_from_usage),
		cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
