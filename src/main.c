/* main.c - the command table and global options */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/log.h"
#include "twprov/redact.h"

static const char main_usage[] =
	"usage: twprov [-f FILE] [-v] [--no-color] [--cacert FILE] COMMAND [options]\n"
	"\n"
	"Declarative provisioning for Twilio voice: SIP domains, credential lists,\n"
	"IP access control lists and more, from one YAML file.\n"
	"\n"
	"Commands:\n"
	"%s"
	"\n"
	"Global options (also accepted after the command):\n"
	"%s"
	"\n"
	"Credentials come from TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN, or\n"
	"TWILIO_API_KEY and TWILIO_API_SECRET.  See twprov(1) and twprov.yaml(5).\n";

static void print_main_usage(FILE *f)
{
	char list[2048] = "";
	size_t n = 0;
	for (const struct tw_cmd *c = tw_commands; c->name; c++)
		if (c->summary)   /* NULL: a command for twprov's own use (__complete) */
			n += (size_t)snprintf(list + n, sizeof(list) - n, "  %-18s %s\n", c->name, c->summary);
	fprintf(f, main_usage, list, tw_usage_global);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "version", no_argument, NULL, TW_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_global g = { .file = "twprov.yaml" };
	const struct tw_cmd *cmd;
	int c, rc;

	(void)tw_heap_init();
	opterr = 0;
	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'h') {
			print_main_usage(stdout);
			return TW_EXIT_OK;
		}
		if (c == TW_OPT_VERSION) {
			printf("twprov %s\n", TWPROV_VERSION);
			return TW_EXIT_OK;
		}
		if (tw_global_opt(&g, c, optarg))
			continue;
		tw_global_apply(&g);
		tw_cmd_bad_option(NULL, longopts, argv, c);
		print_main_usage(stderr);
		return TW_EXIT_USAGE;
	}
	tw_global_apply(&g);
	if (optind >= argc) {
		print_main_usage(stderr);
		return TW_EXIT_USAGE;
	}
	cmd = tw_cmd_find(argv[optind]);
	if (!cmd) {
		tw_error("unknown command: %s (see twprov --help)", argv[optind]);
		return TW_EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tw_error("cannot initialise libcurl");
		return TW_EXIT_FAIL;
	}
	argv += optind;
	argc -= optind;
	optind = 0;   /* glibc: full reinitialisation for the command's own parse */
	rc = cmd->fn(argc, argv, &g);
	curl_global_cleanup();
	tw_secrets_release();
	tw_quote_release();
	fflush(stdout);
	if (ferror(stdout)) {
		tw_error("cannot write to standard output");
		return TW_EXIT_FAIL;
	}
	return rc;
}
