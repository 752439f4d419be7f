/*
 * fuzz_config.c - libFuzzer harness for the YAML loader
 *
 * tw_config_load_buf on arbitrary bytes: YAML parsing and its limits, every
 * kind's field checks and hooks, secret references, references between
 * resources; then, for a valid file, the plan from an empty account and both
 * of its renderings.
 *
 * The oracle beyond crashes, leaks and undefined behaviour: a secret (the
 * value of one of the variables or files below) that reached the model only
 * through a secret reference never appears in a diagnostic or in the plan.
 *
 * No input can reach outside the harness: ${env:NAME} sees a fixed
 * environment (clearenv, then the few variables below), and ${file:PATH}
 * a sandbox directory made at start-up.  open() is wrapped at link time
 * (-Wl,--wrap=open): while the loader runs, a path outside the sandbox (an
 * absolute path, "..") is refused with EACCES, so no file of the machine is
 * read whatever the input says.
 */
#define _GNU_SOURCE     /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/plan.h"

static char sandbox[64];
static int confined;

/* The environment and files the inputs can reference; every value is secret. */
static const char *const env_secrets[][2] = {
	{ "SIP_PW_ALICE", "Alice-Desk-Phone-2024" },
	{ "SIP_PW_BOB", "Bob-Soft-Phone-2024" },
	{ "SIP_PW_CAROL", "Carol-Mobile-2024x" },
	{ "ASTERISK_TRUNK_PW", "Asterisk-Trunk-2024" },
	{ "WEAK_PW", "weakenvsecretvalue" },
	{ "EMPTY_PW", "" },
};
static const char *const file_secrets[][2] = {
	{ "secrets/alice", "Alice-File-Phone-2024" },
	{ "secrets/weak", "weakfilesecretvalue" },
	{ "secrets/empty", "" },
};

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

static int inside_sandbox(const char *path)
{
	size_t n = strlen(sandbox);
	const char *p;

	if (strncmp(path, sandbox, n) || path[n] != '/')
		return 0;
	for (p = path + n; (p = strstr(p, "/..")); p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return 0;
	return 1;
}

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (confined && !inside_sandbox(path)) {
		errno = EACCES;
		return -1;
	}
	return __real_open(path, flags, mode);
}

static void put(const char *rel, const char *content)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sandbox, rel);
	f = fopen(path, "w");
	if (!f || fputs(content, f) < 0 || fclose(f))
		abort();
}

static void cleanup(void)
{
	static const char *const files[] = { "secrets/alice", "secrets/weak", "secrets/empty", "secrets/big" };
	char path[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", sandbox, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/secrets/dir", sandbox);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/secrets", sandbox);
	rmdir(path);
	rmdir(sandbox);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[128], *big;

	(void)argc;
	(void)argv;
	snprintf(sandbox, sizeof(sandbox), "%s/twprov-fuzz-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(sandbox))
		abort();
	snprintf(path, sizeof(path), "%s/secrets", sandbox);
	if (mkdir(path, 0700))
		abort();
	snprintf(path, sizeof(path), "%s/secrets/dir", sandbox);
	if (mkdir(path, 0700))
		abort();
	for (size_t i = 0; i < sizeof(file_secrets) / sizeof(file_secrets[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "%s\n", file_secrets[i][1]);
		put(file_secrets[i][0], line);
	}
	big = malloc(70000);
	if (!big)
		abort();
	memset(big, 'A', 69999);
	big[69999] = '\0';
	put("secrets/big", big);
	free(big);
	atexit(cleanup);

	clearenv();
	for (size_t i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++)
		setenv(env_secrets[i][0], env_secrets[i][1], 1);
	return 0;
}

/* Abort when `text` shows a secret that the input itself does not spell out. */
static void check_no_secret(const char *what, const char *text, size_t tlen, const uint8_t *data, size_t size)
{
	const char *const *lists[] = { &env_secrets[0][0], &file_secrets[0][0] };
	const size_t counts[] = { sizeof(env_secrets) / sizeof(env_secrets[0]),
				  sizeof(file_secrets) / sizeof(file_secrets[0]) };

	for (size_t l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			const char *secret = lists[l][2 * i + 1];
			size_t n = strlen(secret);
			if (!n || !memmem(text, tlen, secret, n) || memmem(data, size, secret, n))
				continue;
			fprintf(stderr, "secret %s shown in the %s:\n%.*s\n", lists[l][2 * i], what, (int)tlen, text);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_model *m = NULL, *have;
	struct tw_plan *p = NULL;
	struct tw_err err = TW_ERR_INIT;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;
	int rc;

	confined = 1;
	rc = tw_config_load_buf("fuzz.yaml", sandbox, (const char *)data, size, &m, &err);
	confined = 0;
	check_no_secret("error", err.msg, strlen(err.msg), data, size);
	if (!(f = open_memstream(&out, &outlen)))
		abort();
	if (m)
		tw_diags_print(&m->diags, f);
	if (rc == 0 && m) {
		have = tw_model_new(1);
		if (tw_plan_build(m, have, NULL, &p, &err) == 0) {
			json_t *j = tw_plan_json(p);
			char *s = json_dumps(j, 0);
			if (s)
				fputs(s, f);
			tw_plan_print(p, f);
			free(s);
			json_decref(j);
		}
		tw_plan_free(p);
		tw_model_free(have);
	}
	fclose(f);
	check_no_secret("diagnostics or plan", out, outlen, data, size);
	free(out);
	tw_model_free(m);
	return 0;
}
