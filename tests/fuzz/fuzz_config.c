/*
 * fuzz_config.c - libFuzzer harness for the YAML loader
 *
 * tw_config_load_buf on arbitrary bytes: YAML parsing and its limits, every
 * kind's field checks and hooks, secret references, references between
 * resources; then, for a valid file, the plan from an empty account and both
 * of its renderings.
 *
 * No input can reach outside the harness: ${env:NAME} sees a fixed
 * environment (clearenv, then the few variables below), and ${file:PATH}
 * a sandbox directory made at start-up.  open() is wrapped at link time
 * (-Wl,--wrap=open): while the loader runs, a path outside the sandbox (an
 * absolute path, "..") is refused with EACCES, so no file of the machine is
 * read whatever the input says.
 */
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
static FILE *devnull;

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
	put("secrets/alice", "Alice-Desk-Phone-2024\n");
	put("secrets/weak", "weak\n");
	put("secrets/empty", "");
	big = malloc(70000);
	if (!big)
		abort();
	memset(big, 'A', 69999);
	big[69999] = '\0';
	put("secrets/big", big);
	free(big);
	atexit(cleanup);

	clearenv();
	setenv("SIP_PW_ALICE", "Alice-Desk-Phone-2024", 1);
	setenv("SIP_PW_BOB", "Bob-Soft-Phone-2024", 1);
	setenv("SIP_PW_CAROL", "Carol-Mobile-2024x", 1);
	setenv("ASTERISK_TRUNK_PW", "Asterisk-Trunk-2024", 1);
	setenv("WEAK_PW", "weak", 1);
	setenv("EMPTY_PW", "", 1);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_model *m = NULL, *have;
	struct tw_plan *p = NULL;
	struct tw_err err = TW_ERR_INIT;
	int rc;

	confined = 1;
	rc = tw_config_load_buf("fuzz.yaml", sandbox, (const char *)data, size, &m, &err);
	confined = 0;
	if (m)
		tw_diags_print(&m->diags, devnull);
	if (rc == 0 && m) {
		have = tw_model_new(1);
		if (tw_plan_build(m, have, NULL, &p, &err) == 0) {
			json_t *j = tw_plan_json(p);
			char *s = json_dumps(j, 0);
			tw_plan_print(p, devnull);
			free(s);
			json_decref(j);
		}
		tw_plan_free(p);
		tw_model_free(have);
	}
	tw_model_free(m);
	return 0;
}
