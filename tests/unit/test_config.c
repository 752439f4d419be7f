/* test_config.c - the loader and validator: YAML -> desired model and diagnostics */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/model.h"

/* ---- fixtures ---- */

static char tmpdir[64];
static char *made[32];
static size_t nmade;

static void write_file(const char *rel, const char *content, size_t len)
{
	char *p = tw_xasprintf("%s/%s", tmpdir, rel);
	char *slash = strrchr(p, '/');
	if (slash > p + strlen(tmpdir)) {
		*slash = '\0';
		if (mkdir(p, 0700) == 0)
			made[nmade++] = tw_xstrdup(p);
		*slash = '/';
	}
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	made[nmade++] = p;
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/twprov-test-config-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	while (nmade) {
		char *p = made[--nmade];
		if (unlink(p) < 0)
			rmdir(p);
		free(p);
	}
	rmdir(tmpdir);
	return 0;
}

/* ---- helpers ---- */

static void print_diags(const struct tw_model *m)
{
	for (size_t i = 0; i < m->diags.n; i++)
		print_message("  %d:%d %s: %s\n", m->diags.v[i].loc.line, m->diags.v[i].loc.col,
			      m->diags.v[i].warning ? "warning" : "error", m->diags.v[i].msg);
}

static struct tw_model *load(const char *yaml, int *ret, struct tw_err *err)
{
	struct tw_model *m = NULL;
	*ret = tw_config_load_buf("t.yaml", tmpdir, yaml, strlen(yaml), &m, err);
	assert_non_null(m);
	assert_string_equal(m->file, "t.yaml");
	return m;
}

/* The file must be valid (warnings allowed). */
static struct tw_model *load_ok(const char *yaml)
{
	struct tw_err err = TW_ERR_INIT;
	int ret;
	struct tw_model *m = load(yaml, &ret, &err);
	if (ret != 0 || m->diags.nerrors) {
		print_diags(m);
		fail_msg("expected a valid file, got: %s", err.msg);
	}
	return m;
}

/* The file must be invalid with `nerrors` errors (-1: any number). */
static struct tw_model *load_bad(const char *yaml, int nerrors)
{
	struct tw_err err = TW_ERR_INIT;
	int ret;
	struct tw_model *m = load(yaml, &ret, &err);
	if (ret != -1 || (nerrors >= 0 && m->diags.nerrors != (size_t)nerrors)) {
		print_diags(m);
		fail_msg("expected %d errors, got %zu (ret %d)", nerrors, m->diags.nerrors, ret);
	}
	assert_int_equal(err.kind, TW_ERR_INVALID);
	assert_non_null(strstr(err.msg, " in t.yaml"));
	return m;
}

/* Assert a diagnostic at line:col whose message contains (exact: equals) msg. */
static void expect_diag(const struct tw_model *m, int line, int col, int warning, const char *msg, int exact)
{
	for (size_t i = 0; i < m->diags.n; i++) {
		const struct tw_diag *d = &m->diags.v[i];
		if (d->loc.line == line && d->loc.col == col && d->warning == warning &&
		    (exact ? !strcmp(d->msg, msg) : strstr(d->msg, msg) != NULL)) {
			assert_ptr_equal(d->loc.file, m->file);
			return;
		}
	}
	print_diags(m);
	fail_msg("no %s at %d:%d %s \"%s\"", warning ? "warning" : "error", line, col,
		 exact ? "saying" : "containing", msg);
}

#define ERR_AT(m, l, c, msg) expect_diag(m, l, c, 0, msg, 0)
#define ERR_IS(m, l, c, msg) expect_diag(m, l, c, 0, msg, 1)
#define WARN_IS(m, l, c, msg) expect_diag(m, l, c, 1, msg, 1)

static void assert_sorted(const struct tw_model *m)
{
	for (size_t i = 1; i < m->diags.n; i++) {
		const struct tw_loc *a = &m->diags.v[i - 1].loc, *b = &m->diags.v[i].loc;
		if (a->line > b->line || (a->line == b->line && a->col > b->col)) {
			print_diags(m);
			fail_msg("diagnostics %zu and %zu out of order", i - 1, i);
		}
	}
}

static void assert_no_diag_contains(const struct tw_model *m, const char *s)
{
	for (size_t i = 0; i < m->diags.n; i++)
		if (strstr(m->diags.v[i].msg, s)) {
			print_diags(m);
			fail_msg("a diagnostic shows \"%s\"", s);
		}
}

static const struct tw_res *child(const struct tw_res *r, size_t i)
{
	assert_true(i < r->nchildren);
	return r->children[i];
}

static int field_index(const struct tw_res *r, const char *name)
{
	for (size_t i = 0; i < r->kind->nfields; i++)
		if (!strcmp(r->kind->fields[i].name, name))
			return (int)i;
	fail_msg("no field %s", name);
	return -1;
}

static void assert_str_field(const struct tw_res *r, const char *name, const char *want)
{
	const char *v = tw_res_get_str(r, name);
	if (!v)
		fail_msg("%s/%s: field %s is not a string", r->kind->name, r->id, name);
	assert_string_equal(v, want);
}

/* ---- the full valid file ---- */

static const char full_yaml[] =
	"twprov: 1\n"                                                   /* 1 */
	"account:\n"
	"  region: us1\n"
	"  edge: ashburn\n"
	"prune: [credential_lists, ip_access_control_lists, sip_domains]\n" /* 5 */
	"ignore: [\"legacy-*\", old-?]\n"
	"credential_lists:\n"
	"  - name: office-phones\n"
	"    credentials:\n"
	"      - username: alice\n"                                     /* 10 */
	"        password: ${env:TWPROV_TEST_PW_ALICE}\n"
	"        display_name: Alice Smith\n"
	"        caller_id: +16505551111\n"
	"      - username: bob\n"
	"        password: ${file:secrets/bob}\n"                       /* 15 */
	"      - username: carol\n"
	"        password: Carol0literalpw\n"
	"  - name: lobby\n"
	"sip_domains:\n"
	"  - domain_name: movewheels.sip.twilio.com\n"                  /* 20 */
	"    friendly_name: Move Wheels office\n"
	"    voice_url: https://example.twil.io/sip-outbound\n"
	"    voice_method: POST\n"
	"    sip_registration: true\n"
	"    secure: false\n"                                           /* 25 */
	"    voice_fallback_url:\n"
	"    auth:\n"
	"      registrations:\n"
	"        credential_lists: [office-phones]\n"
	"      calls:\n"                                                /* 30 */
	"        ip_access_control_lists: [asterisk-pbx]\n"
	"        credential_lists: [office-phones, lobby]\n"
	"  - domain_name: old.sip.twilio.com\n"
	"    state: absent\n"
	"ip_access_control_lists:\n"                                    /* 35 */
	"  - name: asterisk-pbx\n"
	"    addresses:\n"
	"      - {name: pbx, ip: 138.2.68.107}\n"
	"      - {name: twilio-pops, ip: 54.172.60.0, cidr: 24}\n";

static void test_full_valid_file(void **state)
{
	(void)state;
	write_file("secrets/bob", "Bob0secretPW99\n", 15);
	setenv("TWPROV_TEST_PW_ALICE", "Alice0secretPW9", 1);
	struct tw_model *m = load_ok(full_yaml);

	/* settings */
	assert_int_equal(m->version, 1);
	assert_string_equal(m->region, "us1");
	assert_string_equal(m->edge, "ashburn");
	assert_string_equal(m->dir, tmpdir);
	assert_int_equal(json_array_size(m->prune), 3);
	assert_string_equal(json_string_value(json_array_get(m->prune, 0)), "credential_lists");
	assert_string_equal(json_string_value(json_array_get(m->prune, 2)), "sip_domains");
	assert_int_equal(json_array_size(m->ignore), 2);
	assert_string_equal(json_string_value(json_array_get(m->ignore, 0)), "legacy-*");
	assert_string_equal(json_string_value(json_array_get(m->ignore, 1)), "old-?");
	assert_int_equal(json_object_size(m->kinds_present), 3);
	assert_non_null(json_object_get(m->kinds_present, "credential_lists"));
	assert_non_null(json_object_get(m->kinds_present, "sip_domains"));
	assert_non_null(json_object_get(m->kinds_present, "ip_access_control_lists"));

	/* one warning: the literal password of carol */
	assert_int_equal(m->diags.nerrors, 0);
	assert_int_equal(m->diags.nwarnings, 1);
	WARN_IS(m, 17, 19, "credential_lists[0].credentials[2].password: literal secret in the file; "
		"use ${env:NAME} or ${file:PATH}");

	/* top level: file order, across kinds */
	const struct tw_res *root = &m->root;
	assert_null(root->kind);
	assert_int_equal(root->nchildren, 5);
	const struct tw_res *cl = child(root, 0), *lobby = child(root, 1), *sd = child(root, 2);
	const struct tw_res *old = child(root, 3), *acl = child(root, 4);
	assert_string_equal(cl->kind->name, "credential_lists");
	assert_string_equal(cl->id, "office-phones");
	assert_string_equal(lobby->id, "lobby");
	assert_string_equal(sd->kind->name, "sip_domains");
	assert_string_equal(sd->id, "movewheels.sip.twilio.com");
	assert_string_equal(old->id, "old.sip.twilio.com");
	assert_string_equal(acl->kind->name, "ip_access_control_lists");
	assert_string_equal(acl->id, "asterisk-pbx");
	for (size_t i = 0; i < root->nchildren; i++)
		assert_ptr_equal(root->children[i]->parent, root);
	assert_false(cl->absent);
	assert_true(old->absent);
	assert_int_equal(old->nchildren, 0);
	char *addr = tw_res_address(old);
	assert_string_equal(addr, "sip_domains/old.sip.twilio.com");
	free(addr);

	/* locations: item start and field values */
	assert_int_equal(cl->loc.line, 8);
	assert_int_equal(cl->loc.col, 5);
	assert_ptr_equal(cl->loc.file, m->file);
	int di = field_index(sd, "domain_name");
	assert_int_equal(sd->flocs[di].line, 20);
	assert_int_equal(sd->flocs[di].col, 18);
	assert_int_equal(sd->flocs[field_index(sd, "secure")].line, 25);
	assert_int_equal(sd->flocs[field_index(sd, "voice_status_callback_url")].line, 0);   /* not in the file */

	/* credentials: fields, types, sensitive bits */
	assert_int_equal(cl->nchildren, 3);
	const struct tw_res *alice = child(cl, 0), *bob = child(cl, 1), *carol = child(cl, 2);
	assert_string_equal(alice->kind->name, "credentials");
	assert_ptr_equal(alice->parent, cl);
	assert_string_equal(alice->id, "alice");
	assert_str_field(alice, "username", "alice");
	assert_str_field(alice, "password", "Alice0secretPW9");
	assert_str_field(alice, "display_name", "Alice Smith");
	assert_str_field(alice, "caller_id", "+16505551111");   /* unquoted: still the string */
	assert_int_equal(json_object_size(alice->fields), 4);
	int pw = field_index(alice, "password");
	assert_int_equal(alice->sensitive, (uint64_t)1 << pw);
	assert_true(tw_res_is_sensitive(alice, "password"));
	assert_false(tw_res_is_sensitive(alice, "display_name"));
	assert_int_equal(alice->loc.line, 10);
	assert_int_equal(alice->loc.col, 9);
	assert_int_equal(alice->flocs[pw].line, 11);
	assert_int_equal(alice->flocs[pw].col, 19);
	assert_str_field(bob, "password", "Bob0secretPW99");   /* trailing newline stripped */
	assert_int_equal(bob->sensitive, (uint64_t)1 << pw);
	assert_str_field(carol, "password", "Carol0literalpw");
	assert_int_equal(carol->sensitive, 0);                 /* literal: not from a reference */
	assert_int_equal(lobby->nchildren, 0);

	/* sip domain: strings, bools, empty value clears, assoc children in file order */
	assert_str_field(sd, "friendly_name", "Move Wheels office");
	assert_str_field(sd, "voice_url", "https://example.twil.io/sip-outbound");
	assert_str_field(sd, "voice_method", "POST");
	assert_str_field(sd, "voice_fallback_url", "");
	assert_true(json_is_true(tw_res_get(sd, "sip_registration")));
	assert_true(json_is_false(tw_res_get(sd, "secure")));
	assert_null(tw_res_get(sd, "emergency_calling_enabled"));
	assert_int_equal(sd->nchildren, 4);
	const char *kinds[] = { "auth.registrations.credential_lists", "auth.calls.ip_access_control_lists",
				"auth.calls.credential_lists", "auth.calls.credential_lists" };
	const char *ids[] = { "office-phones", "asterisk-pbx", "office-phones", "lobby" };
	for (size_t i = 0; i < 4; i++) {
		const struct tw_res *a = child(sd, i);
		assert_string_equal(a->kind->name, kinds[i]);
		assert_true(a->kind->flags & TW_K_ASSOC);
		assert_string_equal(a->id, ids[i]);
		assert_ptr_equal(a->parent, sd);
		assert_int_equal(json_object_size(a->fields), 0);
	}
	assert_int_equal(child(sd, 3)->loc.line, 32);
	assert_int_equal(child(sd, 3)->loc.col, 43);

	/* addresses: flow mappings, integer field */
	assert_int_equal(acl->nchildren, 2);
	const struct tw_res *pbx = child(acl, 0), *pops = child(acl, 1);
	assert_string_equal(pbx->kind->name, "ip_access_control_lists.addresses");
	assert_string_equal(pbx->id, "pbx");
	assert_str_field(pbx, "ip", "138.2.68.107");
	assert_null(tw_res_get(pbx, "cidr"));
	assert_int_equal(pbx->loc.line, 38);
	assert_int_equal(pbx->loc.col, 9);
	json_t *cidr = tw_res_get(pops, "cidr");
	assert_true(json_is_integer(cidr));
	assert_int_equal(json_integer_value(cidr), 24);

	/* lookups by address work on the loaded model */
	assert_ptr_equal(tw_model_find_address(m, "credential_lists/office-phones/credentials/bob"), bob);
	tw_model_free(m);
	unsetenv("TWPROV_TEST_PW_ALICE");
}

/* ---- file-level problems ---- */

static void test_empty_file(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("", 1);
	ERR_IS(m, 1, 1, "empty file");
	tw_model_free(m);
	m = load_bad("# just a comment\n\n", 1);
	ERR_IS(m, 1, 1, "empty file");
	tw_model_free(m);
	m = load_bad("---\n", 1);
	ERR_IS(m, 1, 1, "empty file");
	tw_model_free(m);
}

static void test_syntax_error(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("twprov: 1\nsip_domains: [a, b\nx: 1\n", 1);
	assert_int_equal(m->diags.v[0].loc.line, 3);
	ERR_IS(m, 3, 2, "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at 2:14)");
	tw_model_free(m);
	m = load_bad("twprov: 1\n  bad: indent\n", 1);
	ERR_AT(m, 2, 6, "YAML syntax error: mapping values are not allowed in this context");
	tw_model_free(m);
	m = load_bad("twprov: 1\nx: \"unterminated\n", 1);
	ERR_AT(m, 3, 1, "YAML syntax error: found unexpected end of stream");
	tw_model_free(m);
}

static void test_multiple_documents(void **state)
{
	(void)state;
	/* the second document is an error; the first is still checked */
	struct tw_model *m = load_bad("twprov: 1\nfoo: 1\n---\ntwprov: 1\n", 2);
	ERR_IS(m, 3, 1, "the file holds more than one YAML document (only one is allowed)");
	ERR_IS(m, 2, 1, "unknown key \"foo\"");
	tw_model_free(m);
}

static void test_root_not_mapping(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("- twprov: 1\n", 1);
	ERR_AT(m, 1, 1, "the file must be a mapping");
	ERR_AT(m, 1, 1, "not a list");
	tw_model_free(m);
	m = load_bad("just text\n", 1);
	ERR_AT(m, 1, 1, "not a string");
	tw_model_free(m);
}

static void test_version(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("credential_lists: []\n", 1);
	ERR_IS(m, 1, 1, "missing required key \"twprov\" (the schema version: twprov: 1)");
	tw_model_free(m);
	m = load_bad("twprov: 2\n", 1);
	ERR_IS(m, 1, 9, "twprov: unsupported schema version 2 (this twprov reads version 1)");
	assert_int_equal(m->version, 2);
	tw_model_free(m);
	m = load_bad("twprov: \"1\"\n", 1);
	ERR_IS(m, 1, 9, "twprov: expected the schema version 1, got the quoted string \"1\"");
	tw_model_free(m);
	m = load_bad("twprov: one\n", 1);
	ERR_IS(m, 1, 9, "twprov: expected the schema version 1, got \"one\"");
	tw_model_free(m);
	m = load_bad("twprov:\n", 1);
	ERR_IS(m, 1, 8, "twprov: expected the schema version 1, got null");
	tw_model_free(m);
	m = load_ok("credential_lists: []\ntwprov: 1\n");   /* anywhere in the mapping */
	assert_int_equal(m->version, 1);
	tw_model_free(m);
}

static void test_non_utf8(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("twprov: 1\nx: \xff\xfe\n", 1);
	ERR_AT(m, 2, 4, "invalid leading UTF-8 octet");
	tw_model_free(m);
}

static void test_file_too_large(void **state)
{
	(void)state;
	size_t n = 16u * 1024 * 1024 + 1;
	char *big = tw_xmalloc(n);
	memset(big, '#', n);
	struct tw_model *m = NULL;
	struct tw_err err = TW_ERR_INIT;
	assert_int_equal(tw_config_load_buf("big.yaml", ".", big, n, &m, &err), -1);
	assert_non_null(m);
	assert_int_equal(m->diags.n, 1);
	assert_non_null(strstr(m->diags.v[0].msg, "file too large"));
	assert_string_equal(err.msg, "1 error in big.yaml");
	tw_model_free(m);
	free(big);
}

static void test_huge_scalar(void **state)
{
	(void)state;
	size_t n = 70000;
	char *y = tw_xmalloc(n + 64);
	strcpy(y, "twprov: 1\ncredential_lists:\n  - name: ");
	size_t l = strlen(y);
	memset(y + l, 'a', n);
	strcpy(y + l + n, "\n");
	struct tw_model *m = load_bad(y, 1);
	ERR_IS(m, 3, 11, "value too long: 70000 bytes (max 65536)");
	tw_model_free(m);
	free(y);
}

static void test_deep_nesting(void **state)
{
	(void)state;
	struct tw_buf b = TW_BUF_INIT;
	tw_buf_adds(&b, "twprov: 1\nx: ");
	for (int i = 0; i < 5000; i++)
		tw_buf_addc(&b, '[');
	for (int i = 0; i < 5000; i++)
		tw_buf_addc(&b, ']');
	tw_buf_addc(&b, '\n');
	struct tw_model *m = load_bad(b.buf, 1);
	ERR_AT(m, 2, 4 + 99, "nesting too deep (more than 100 levels");
	tw_model_free(m);

	/* 60 levels are fine for the parser: only the unknown key is reported */
	tw_buf_reset(&b);
	tw_buf_adds(&b, "twprov: 1\nx: ");
	for (int i = 0; i < 60; i++)
		tw_buf_adds(&b, "{a: ");
	tw_buf_adds(&b, "1");
	for (int i = 0; i < 60; i++)
		tw_buf_addc(&b, '}');
	tw_buf_addc(&b, '\n');
	m = load_bad(b.buf, 1);
	ERR_IS(m, 2, 1, "unknown key \"x\"");
	tw_model_free(m);
	tw_buf_release(&b);
}

static void test_alias_bomb(void **state)
{
	(void)state;
	static const char bomb[] =
		"twprov: 1\n"
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
		"credential_lists: *i\n";
	clock_t t0 = clock();
	struct tw_model *m = load_bad(bomb, 1);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
	/* the 8th *d brings the total over 100000 */
	ERR_IS(m, 6, 36, "aliases expand to more than 100000 nodes (alias \"d\"); the file is refused");
	tw_model_free(m);

	/* recursive and unknown aliases */
	m = load_bad("twprov: 1\nx: &a [1, *a]\n", 1);
	ERR_IS(m, 2, 11, "alias \"a\" refers to a node that contains it");
	tw_model_free(m);
	m = load_bad("twprov: 1\nx: *nope\n", 1);
	ERR_IS(m, 2, 4, "unknown alias \"nope\" (no anchor &nope before it)");
	tw_model_free(m);
}

static void test_aliases_allowed(void **state)
{
	(void)state;
	setenv("TWPROV_TEST_PW", "Shared0secretPW", 1);
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: a\n"
		"    credentials: &creds\n"
		"      - username: alice\n"
		"        password: ${env:TWPROV_TEST_PW}\n"
		"      - username: bob\n"
		"        password: ${env:TWPROV_TEST_PW}\n"
		"  - name: b\n"
		"    credentials: *creds\n"
		"sip_domains:\n"
		"  - &dom {domain_name: x.sip.twilio.com, voice_method: GET}\n";
	struct tw_model *m = load_ok(y);
	const struct tw_res *a = child(&m->root, 0), *b = child(&m->root, 1);
	assert_int_equal(a->nchildren, 2);
	assert_int_equal(b->nchildren, 2);
	assert_string_equal(child(b, 1)->id, "bob");
	assert_str_field(child(b, 1), "password", "Shared0secretPW");
	assert_true(child(b, 1)->sensitive);
	assert_ptr_not_equal(child(a, 0), child(b, 0));   /* separate resources */
	assert_str_field(child(&m->root, 2), "voice_method", "GET");
	tw_model_free(m);
	unsetenv("TWPROV_TEST_PW");
}

/* ---- keys ---- */

static void test_unknown_keys(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_list: []\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    voice_ulr: https://x\n"
		"    password: x\n"
		"    auth:\n"
		"      call:\n"
		"        credential_lists: []\n"
		"      registrations:\n"
		"        ip_access_control_lists: []\n"
		"        credential_list: []\n"
		"    stat: present\n"
		"account: {regoin: us1}\n"
		"credential_lists:\n"
		"  - name: x\n"
		"    credential: []\n";
	struct tw_model *m = load_bad(y, 9);
	ERR_IS(m, 2, 1, "unknown key \"credential_list\" (did you mean \"credential_lists\"?)");
	ERR_IS(m, 5, 5, "sip_domains[0]: unknown key \"voice_ulr\" (did you mean \"voice_url\"?)");
	ERR_IS(m, 6, 5, "sip_domains[0]: unknown key \"password\"");
	ERR_IS(m, 8, 7, "sip_domains[0].auth: unknown key \"call\" (did you mean \"calls\"?)");
	/* only keys valid at that place: registrations has no ip_access_control_lists */
	ERR_IS(m, 11, 9, "sip_domains[0].auth.registrations: unknown key \"ip_access_control_lists\"");
	ERR_IS(m, 12, 9, "sip_domains[0].auth.registrations: unknown key \"credential_list\" "
	       "(did you mean \"credential_lists\"?)");
	ERR_IS(m, 13, 5, "sip_domains[0]: unknown key \"stat\" (did you mean \"state\"?)");
	ERR_IS(m, 14, 11, "account: unknown key \"regoin\" (did you mean \"region\"?)");
	ERR_IS(m, 17, 5, "credential_lists[0]: unknown key \"credential\" (did you mean \"credentials\"?)");
	assert_sorted(m);
	tw_model_free(m);
}

static void test_unknown_child_key(void **state)
{
	(void)state;
	struct tw_model *m = load_bad("twprov: 1\ncredential_lists:\n  - name: x\n    credential: []\n", 1);
	ERR_IS(m, 4, 5, "credential_lists[0]: unknown key \"credential\" (did you mean \"credentials\"?)");
	tw_model_free(m);
	/* a dotted key is not the nested form */
	m = load_bad("twprov: 1\nsip_domains:\n  - domain_name: a.sip.twilio.com\n"
		     "    auth.calls.credential_lists: []\n", 1);
	ERR_AT(m, 4, 5, "unknown key \"auth.calls.credential_lists\" (write it as nested mappings");
	tw_model_free(m);
	/* merge keys */
	m = load_bad("twprov: 1\nsip_domains:\n  - domain_name: a.sip.twilio.com\n    <<: {secure: true}\n", 1);
	ERR_AT(m, 4, 5, "merge keys (<<) are not supported");
	tw_model_free(m);
	/* a key that is not a string */
	m = load_bad("twprov: 1\n? [a, b]\n: c\n", 1);
	ERR_IS(m, 2, 3, "keys must be strings, not a list");
	tw_model_free(m);
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    secure: true\n"
		"    secure: false\n"
		"    auth: {calls: {credential_lists: [], credential_lists: []}}\n"
		"twprov: 1\n"
		"x: {k: 1, k: 2}\n";
	struct tw_model *m = load_bad(y, 5);
	ERR_IS(m, 5, 5, "sip_domains[0]: duplicate key \"secure\" (first at 4:5)");
	ERR_IS(m, 6, 42, "sip_domains[0].auth.calls: duplicate key \"credential_lists\" (first at 6:20)");
	ERR_IS(m, 7, 1, "duplicate key \"twprov\" (first at 1:1)");
	ERR_IS(m, 8, 1, "unknown key \"x\"");
	ERR_IS(m, 8, 11, "duplicate key \"k\" (first at 8:5)");   /* in a mapping nobody reads */
	/* the first value is the one kept */
	const struct tw_res *sd = child(&m->root, 0);
	assert_true(json_is_true(tw_res_get(sd, "secure")));
	tw_model_free(m);
}

/* ---- types ---- */

static void test_wrong_types(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists: {name: x}\n"
		"ip_access_control_lists:\n"
		"  - [name, x]\n"
		"  - name: acl\n"
		"    addresses: {name: a}\n"
		"sip_domains:\n"
		"  - domain_name: {a: b}\n"
		"    friendly_name: [x]\n"
		"    auth: [calls]\n"
		"  - domain_name: b.sip.twilio.com\n"
		"    auth:\n"
		"      calls: x\n"
		"  - just-a-name\n"
		"  -\n";
	struct tw_model *m = load_bad(y, 9);
	ERR_IS(m, 2, 19, "credential_lists: expected a list, got a mapping");
	ERR_IS(m, 4, 5, "ip_access_control_lists[0]: expected a mapping, got a list");
	ERR_IS(m, 6, 16, "ip_access_control_lists[1].addresses: expected a list, got a mapping");
	ERR_IS(m, 8, 18, "sip_domains[0].domain_name: expected a string, got a mapping");
	ERR_IS(m, 9, 20, "sip_domains[0].friendly_name: expected a string, got a list");
	ERR_IS(m, 10, 11, "sip_domains[0].auth: expected a mapping, got a list");
	ERR_IS(m, 13, 14, "sip_domains[1].auth.calls: expected a mapping, got a string");
	ERR_IS(m, 14, 5, "sip_domains[2]: expected a mapping, got a string");
	ERR_IS(m, 15, 4, "sip_domains[3]: expected a mapping, got null");
	tw_model_free(m);
}

static void test_bools(void **state)
{
	(void)state;
	static const char good[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - {domain_name: a.sip.twilio.com, secure: true, sip_registration: false}\n"
		"  - {domain_name: b.sip.twilio.com, secure: True, sip_registration: FALSE}\n"
		"  - {domain_name: c.sip.twilio.com, secure: !!bool true}\n";
	struct tw_model *m = load_ok(good);
	assert_true(json_is_true(tw_res_get(child(&m->root, 0), "secure")));
	assert_true(json_is_false(tw_res_get(child(&m->root, 0), "sip_registration")));
	assert_true(json_is_true(tw_res_get(child(&m->root, 1), "secure")));
	assert_true(json_is_false(tw_res_get(child(&m->root, 1), "sip_registration")));
	assert_true(json_is_true(tw_res_get(child(&m->root, 2), "secure")));
	tw_model_free(m);

	static const char bad[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    secure: yes\n"
		"    sip_registration: \"true\"\n"
		"    emergency_calling_enabled: 1\n"
		"  - domain_name: b.sip.twilio.com\n"
		"    secure: Off\n"
		"    sip_registration:\n"
		"    emergency_calling_enabled: [true]\n";
	m = load_bad(bad, 6);
	ERR_IS(m, 4, 13, "sip_domains[0].secure: expected true or false, got \"yes\" "
	       "(YAML 1.2 booleans are only true and false)");
	ERR_IS(m, 5, 23, "sip_domains[0].sip_registration: expected true or false, got the quoted string \"true\"");
	ERR_IS(m, 6, 32, "sip_domains[0].emergency_calling_enabled: expected true or false, got \"1\"");
	ERR_AT(m, 8, 13, "got \"Off\" (YAML 1.2 booleans are only true and false)");
	ERR_IS(m, 9, 22, "sip_domains[1].sip_registration: expected true or false, got null");
	ERR_IS(m, 10, 32, "sip_domains[1].emergency_calling_enabled: expected true or false, got a list");
	tw_model_free(m);
}

static void test_ints(void **state)
{
	(void)state;
	static const char good[] =
		"twprov: 1\n"
		"ip_access_control_lists:\n"
		"  - name: acl\n"
		"    addresses:\n"
		"      - {name: a, ip: 1.2.3.4, cidr: 0}\n"
		"      - {name: b, ip: 1.2.3.4, cidr: 32}\n"
		"      - {name: c, ip: 1.2.3.4, cidr: +8}\n";
	struct tw_model *m = load_ok(good);
	const struct tw_res *acl = child(&m->root, 0);
	assert_int_equal(json_integer_value(tw_res_get(child(acl, 0), "cidr")), 0);
	assert_int_equal(json_integer_value(tw_res_get(child(acl, 1), "cidr")), 32);
	assert_int_equal(json_integer_value(tw_res_get(child(acl, 2), "cidr")), 8);
	tw_model_free(m);

	static const char bad[] =
		"twprov: 1\n"
		"ip_access_control_lists:\n"
		"  - name: acl\n"
		"    addresses:\n"
		"      - {name: a, ip: 1.2.3.4, cidr: 33}\n"
		"      - {name: b, ip: 1.2.3.4, cidr: -1}\n"
		"      - {name: c, ip: 1.2.3.4, cidr: \"24\"}\n"
		"      - {name: d, ip: 1.2.3.4, cidr: abc}\n"
		"      - {name: e, ip: 1.2.3.4, cidr: }\n"
		"      - {name: f, ip: 1.2.3.4, cidr: 99999999999999999999}\n"
		"      - {name: g, ip: 1.2.3.4, cidr: 2.5}\n"
		"      - {name: h, ip: 1.2.3.4, cidr: 0x10}\n";
	m = load_bad(bad, 8);
	ERR_IS(m, 5, 38, "ip_access_control_lists[0].addresses[0].cidr: must be between 0 and 32, got 33");
	ERR_IS(m, 6, 38, "ip_access_control_lists[0].addresses[1].cidr: must be between 0 and 32, got -1");
	ERR_IS(m, 7, 38, "ip_access_control_lists[0].addresses[2].cidr: expected an integer, "
	       "got the quoted string \"24\"");
	ERR_IS(m, 8, 38, "ip_access_control_lists[0].addresses[3].cidr: expected an integer, got \"abc\"");
	ERR_AT(m, 9, 38, "addresses[4].cidr: expected an integer, got null");
	ERR_AT(m, 10, 38, "addresses[5].cidr: must be between 0 and 32, got 99999999999999999999");
	ERR_AT(m, 11, 38, "addresses[6].cidr: expected an integer, got \"2.5\"");
	ERR_AT(m, 12, 38, "addresses[7].cidr: expected an integer, got \"0x10\"");
	tw_model_free(m);
}

static void test_strings_take_any_scalar(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: 123\n"
		"    credentials:\n"
		"      - {username: true, password: \"${env:TWPROV_TEST_PW}\", display_name: 1.5e3,\n"
		"         caller_id: +16505551111}\n"
		"      - {username: \"007\", password: \"${env:TWPROV_TEST_PW}\", display_name: ~}\n"
		"      - {username: x, password: \"${env:TWPROV_TEST_PW}\", display_name: }\n"
		"      - {username: y, password: \"${env:TWPROV_TEST_PW}\", display_name: \"\"}\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    voice_url:\n"
		"    voice_method: ~\n"
		"    friendly_name: |\n"
		"      two\n"
		"      lines\n";
	setenv("TWPROV_TEST_PW", "Shared0secretPW", 1);
	struct tw_model *m = load_ok(y);
	const struct tw_res *cl = child(&m->root, 0);
	assert_string_equal(cl->id, "123");
	assert_str_field(child(cl, 0), "username", "true");
	assert_str_field(child(cl, 0), "display_name", "1.5e3");
	assert_str_field(child(cl, 0), "caller_id", "+16505551111");
	assert_str_field(child(cl, 1), "username", "007");
	assert_str_field(child(cl, 1), "display_name", "");      /* null: empty, clears */
	assert_str_field(child(cl, 2), "display_name", "");
	assert_str_field(child(cl, 3), "display_name", "");
	const struct tw_res *sd = child(&m->root, 1);
	assert_str_field(sd, "voice_url", "");
	assert_str_field(sd, "voice_method", "");   /* empty optional: clears, no enum check */
	assert_str_field(sd, "friendly_name", "two\nlines\n");
	tw_model_free(m);
	unsetenv("TWPROV_TEST_PW");
}

static void test_null_and_empty_required(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name:\n"
		"  - name: \"\"\n"
		"    credentials:\n"
		"      - username: ~\n"
		"        password: \"\"\n";
	struct tw_model *m = load_bad(y, 4);
	ERR_IS(m, 3, 10, "credential_lists[0].name: expected a string, got null");
	ERR_IS(m, 4, 11, "credential_lists[1].name: must not be empty");
	ERR_IS(m, 6, 19, "credential_lists[1].credentials[0].username: expected a string, got null");
	ERR_IS(m, 7, 19, "credential_lists[1].credentials[0].password: must not be empty");
	tw_model_free(m);
}

/* ---- required fields, identities, references ---- */

static void test_missing_required(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office-phones\n"
		"    credentials:\n"
		"      - username: alice\n"
		"        password: Alice0secretPW9\n"
		"      - username: bob\n"
		"  - credentials: []\n"
		"ip_access_control_lists:\n"
		"  - name: acl\n"
		"    addresses:\n"
		"      - {cidr: 8}\n";
	struct tw_model *m = load_bad(y, 4);
	ERR_IS(m, 7, 9, "credential_lists[0].credentials[1]: missing required field \"password\"");
	ERR_IS(m, 8, 5, "credential_lists[1]: missing required field \"name\"");
	ERR_IS(m, 12, 9, "ip_access_control_lists[0].addresses[0]: missing required field \"name\"");
	ERR_IS(m, 12, 9, "ip_access_control_lists[0].addresses[0]: missing required field \"ip\"");
	/* name comes before ip, as in the descriptor */
	size_t a = 0, b = 0;
	for (size_t i = 0; i < m->diags.n; i++) {
		if (strstr(m->diags.v[i].msg, "field \"name\"") && m->diags.v[i].loc.line == 12)
			a = i;
		if (strstr(m->diags.v[i].msg, "field \"ip\""))
			b = i;
	}
	assert_true(a < b);
	/* a field that is present but invalid is not also "missing" */
	tw_model_free(m);
	m = load_bad("twprov: 1\ncredential_lists:\n  - name: [x]\n", 1);
	ERR_IS(m, 3, 11, "credential_lists[0].name: expected a string, got a list");
	tw_model_free(m);
}

static void test_duplicate_identities(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office-phones\n"
		"    credentials:\n"
		"      - {username: alice, password: Alice0secretPW9}\n"
		"      - {username: alice, password: Alice0secretPW9}\n"
		"  - name: office-phones\n"
		"    credentials:\n"
		"      - {username: alice, password: Alice0secretPW9}\n"
		"  - name: office-phones\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    auth:\n"
		"      calls:\n"
		"        credential_lists: [office-phones, office-phones]\n"
		"      registrations:\n"
		"        credential_lists: [office-phones]\n";
	struct tw_model *m = load_bad(y, 4);
	ERR_IS(m, 6, 20, "credential_lists[0].credentials[1].username: duplicate credentials \"alice\" "
	       "(first declared at 5:20)");
	ERR_IS(m, 7, 11, "credential_lists[1].name: duplicate credential_lists \"office-phones\" "
	       "(first declared at 3:11)");
	ERR_IS(m, 10, 11, "credential_lists[2].name: duplicate credential_lists \"office-phones\" "
	       "(first declared at 3:11)");
	ERR_IS(m, 15, 43, "sip_domains[0].auth.calls.credential_lists[1]: \"office-phones\" is listed twice "
	       "(first at 15:28)");
	/* alice in another list and the registrations mapping are not duplicates */
	assert_sorted(m);
	tw_model_free(m);

	/* present and absent with the same identity conflict too */
	m = load_bad("twprov: 1\nsip_domains:\n  - domain_name: a.sip.twilio.com\n"
		     "  - {domain_name: a.sip.twilio.com, state: absent}\n", 1);
	ERR_IS(m, 4, 19, "sip_domains[1].domain_name: duplicate sip_domains \"a.sip.twilio.com\" (first declared at 3:18)");
	tw_model_free(m);
}

static void test_dangling_references(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office-phones\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"  - domain_name: b.sip.twilio.com\n"
		"    auth:\n"
		"      calls:\n"
		"        credential_lists: [offic-phones, office-phones, zzz]\n"
		"        ip_access_control_lists: [asterisk-pbx]\n"
		"      registrations:\n"
		"        credential_lists: [~, [x]]\n";
	struct tw_model *m = load_bad(y, 5);
	ERR_IS(m, 9, 28, "sip_domains[1].auth.calls.credential_lists[0]: unknown credential_lists \"offic-phones\" "
	       "(did you mean \"office-phones\"?)");
	ERR_IS(m, 9, 57, "sip_domains[1].auth.calls.credential_lists[2]: unknown credential_lists \"zzz\"");
	/* no ip_access_control_lists declared at all */
	ERR_IS(m, 10, 35, "sip_domains[1].auth.calls.ip_access_control_lists[0]: unknown ip_access_control_lists "
	       "\"asterisk-pbx\" (no ip_access_control_lists are declared in the file)");
	ERR_IS(m, 12, 28, "sip_domains[1].auth.registrations.credential_lists[0]: expected a name, got null");
	ERR_IS(m, 12, 31, "sip_domains[1].auth.registrations.credential_lists[1]: expected a name, got a list");
	assert_sorted(m);
	tw_model_free(m);
}

static void test_absent_items(void **state)
{
	(void)state;
	unsetenv("TWPROV_TEST_UNSET");
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: old\n"
		"    state: absent\n"
		"  - name: gone\n"
		"    state: absent\n"
		"    credentials:\n"
		"      - username: x\n"
		"        password: ${env:TWPROV_TEST_UNSET}\n"
		"      - username: y\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    state: absent\n"
		"    voice_url: https://x\n"
		"    auth: {calls: {credential_lists: [nosuch]}}\n"
		"  - domain_name: b.sip.twilio.com\n"
		"    state: present\n"
		"    auth: {calls: {credential_lists: [old]}}\n"
		"  - state: absent\n"
		"    secure: maybe\n";
	struct tw_model *m = load_bad(y, 3);
	/* the reference to an absent resource */
	ERR_IS(m, 18, 39, "sip_domains[1].auth.calls.credential_lists[0]: credential_lists \"old\" is declared "
	       "with state: absent");
	/* identity still required; types still checked */
	ERR_IS(m, 19, 5, "sip_domains[2]: missing required field \"domain_name\"");
	ERR_AT(m, 20, 13, "sip_domains[2].secure: expected true or false");
	/* children of an absent item are checked but ignored, with a warning */
	WARN_IS(m, 7, 5, "credential_lists[1].credentials: ignored: the item has state: absent");
	WARN_IS(m, 15, 5, "sip_domains[0].auth: ignored: the item has state: absent");
	assert_no_diag_contains(m, "TWPROV_TEST_UNSET");
	assert_no_diag_contains(m, "nosuch");
	assert_no_diag_contains(m, "missing required field \"password\"");

	const struct tw_res *old = child(&m->root, 0), *gone = child(&m->root, 1), *a = child(&m->root, 2);
	assert_true(old->absent);
	assert_true(gone->absent);
	assert_int_equal(gone->nchildren, 0);
	assert_true(a->absent);
	assert_int_equal(a->nchildren, 0);
	assert_str_field(a, "voice_url", "https://x");
	assert_false(child(&m->root, 3)->absent);
	tw_model_free(m);
}

static void test_state_rules(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    state: absnet\n"
		"  - domain_name: b.sip.twilio.com\n"
		"    state: [absent]\n"
		"credential_lists:\n"
		"  - name: x\n"
		"    credentials:\n"
		"      - {username: a, password: Alice0secretPW9, state: absent}\n";
	struct tw_model *m = load_bad(y, 3);
	ERR_IS(m, 4, 12, "sip_domains[0].state: not one of present, absent: \"absnet\" (did you mean \"absent\"?)");
	ERR_IS(m, 6, 12, "sip_domains[1].state: expected present or absent, got a list");
	ERR_IS(m, 10, 50, "credential_lists[0].credentials[0]: \"state\" is only allowed on top-level items");
	assert_false(child(&m->root, 0)->absent);
	tw_model_free(m);
}

/* ---- value checks ---- */

static void test_value_checks(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - domain_name: movewheels.sip.twilio.com\n"
		"    voice_url: htp://x\n"
		"    voice_method: post\n"
		"    voice_fallback_url: https://ok.example/x\n"
		"    voice_status_callback_method: PUT\n"
		"    friendly_name: 12345678901234567890123456789012345678901234567890123456789012345\n"
		"  - domain_name: movewheels.pstn.twilio.com\n"
		"credential_lists:\n"
		"  - name: \"tab\\there\"\n"
		"    credentials:\n"
		"      - username: bob@x\n"
		"        password: Bob0secretPW99\n"
		"        caller_id: \"6505551111\"\n"
		"ip_access_control_lists:\n"
		"  - name: acl\n"
		"    addresses:\n"
		"      - {name: a, ip: 256.1.1.1}\n";
	struct tw_model *m = load_bad(y, 9);
	ERR_IS(m, 4, 16, "sip_domains[0].voice_url: not a URL: \"htp://x\"");
	ERR_IS(m, 5, 19, "sip_domains[0].voice_method: not one of GET, POST: \"post\" (did you mean \"POST\"?)");
	ERR_IS(m, 7, 35, "sip_domains[0].voice_status_callback_method: not one of GET, POST: \"PUT\"");
	ERR_IS(m, 8, 20, "sip_domains[0].friendly_name: too long: 65 characters (max 64)");
	ERR_AT(m, 9, 18, "sip_domains[1].domain_name: not a valid domain name: \"movewheels.pstn.twilio.com\" "
	       "(must end in .sip.twilio.com)");
	ERR_IS(m, 11, 11, "credential_lists[0].name: contains a control character: \"tab\\there\"");
	ERR_IS(m, 13, 19, "credential_lists[0].credentials[0].username: not a valid username: \"bob@x\" "
	       "(contains '@')");
	ERR_AT(m, 15, 20, "credential_lists[0].credentials[0].caller_id: not an E.164 number: \"6505551111\"");
	ERR_IS(m, 19, 23, "ip_access_control_lists[0].addresses[0].ip: not an IPv4 address: \"256.1.1.1\"");
	tw_model_free(m);
}

/* ---- secrets ---- */

static void test_env_secrets(void **state)
{
	(void)state;
	setenv("TWPROV_TEST_PW", "Env0secretPWxyz", 1);
	setenv("TWPROV_TEST_EMPTY", "", 1);
	unsetenv("TWPROV_TEST_UNSET");
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: l\n"
		"    credentials:\n"
		"      - {username: a, password: \"${env:TWPROV_TEST_PW}\"}\n"
		"      - username: b\n"
		"        password: ${env:TWPROV_TEST_UNSET}\n"
		"      - username: c\n"
		"        password: ${env:TWPROV_TEST_EMPTY}\n"
		"      - username: d\n"
		"        password: ${env:}\n"
		"      - username: e\n"
		"        password: ${env:NOT A NAME}\n"
		"      - username: f\n"
		"        password: ${env:TWPROV_TEST_PW}\n"
		"        display_name: ${env:TWPROV_TEST_PW}\n";
	struct tw_model *m = load_bad(y, 5);
	ERR_IS(m, 7, 19, "credential_lists[0].credentials[1].password: environment variable \"TWPROV_TEST_UNSET\" "
	       "is not set");
	ERR_IS(m, 9, 19, "credential_lists[0].credentials[2].password: environment variable \"TWPROV_TEST_EMPTY\" "
	       "is empty");
	ERR_AT(m, 11, 19, "credential_lists[0].credentials[3].password: invalid secret reference: empty "
	       "environment variable name");
	ERR_AT(m, 13, 19, "credential_lists[0].credentials[4].password: invalid secret reference: \"NOT A NAME\" "
	       "is not an environment variable name");
	ERR_IS(m, 16, 23, "credential_lists[0].credentials[5].display_name: secret references are only allowed "
	       "in password");
	assert_int_equal(m->diags.nwarnings, 0);
	const struct tw_res *a = child(child(&m->root, 0), 0);
	assert_str_field(a, "password", "Env0secretPWxyz");
	assert_true(a->sensitive & 2);
	assert_no_diag_contains(m, "Env0secretPWxyz");
	tw_model_free(m);

	/* a reference only counts when it is the whole value */
	m = load_ok("twprov: 1\ncredential_lists:\n  - name: l\n    credentials:\n"
		    "      - username: a\n        password: x0Y${env:TWPROV_TEST_PW}\n");
	assert_str_field(child(child(&m->root, 0), 0), "password", "x0Y${env:TWPROV_TEST_PW}");
	assert_int_equal(m->diags.nwarnings, 1);
	assert_int_equal(child(child(&m->root, 0), 0)->sensitive, 0);
	tw_model_free(m);
	unsetenv("TWPROV_TEST_PW");
	unsetenv("TWPROV_TEST_EMPTY");
}

/* Each load reads the environment afresh (its index of the environment lives
 * for one load), and many references to many variables all resolve. */
static void test_env_secrets_many(void **state)
{
	struct tw_buf y = TW_BUF_INIT;
	struct tw_model *m;
	char name[64], value[64];
	(void)state;

	tw_buf_adds(&y, "twprov: 1\ncredential_lists:\n  - name: l\n    credentials:\n");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "TWPROV_TEST_MANY_%03d", i);
		snprintf(value, sizeof(value), "Many0secret%03dPW", i);
		setenv(name, value, 1);
		tw_buf_addf(&y, "      - {username: u%03d, password: \"${env:%s}\"}\n", i, name);
	}
	m = load_ok(y.buf);
	for (int i = 0; i < 300; i += 37) {
		snprintf(value, sizeof(value), "Many0secret%03dPW", i);
		assert_str_field(child(child(&m->root, 0), (size_t)i), "password", value);
	}
	tw_model_free(m);

	setenv("TWPROV_TEST_MANY_000", "Changed0secretPW", 1);
	unsetenv("TWPROV_TEST_MANY_001");
	m = load_bad(y.buf, 1);
	assert_str_field(child(child(&m->root, 0), 0), "password", "Changed0secretPW");
	ERR_IS(m, 6, 36, "credential_lists[0].credentials[1].password: environment variable "
	       "\"TWPROV_TEST_MANY_001\" is not set");
	tw_model_free(m);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "TWPROV_TEST_MANY_%03d", i);
		unsetenv(name);
	}
	tw_buf_release(&y);
}

static void test_file_secrets(void **state)
{
	(void)state;
	write_file("pw/one", "File0secretPWa\n", 15);
	write_file("pw/two", "File0secretPWb\n\n", 16);
	write_file("pw/crlf", "File0secretPWc\r\n", 16);
	write_file("pw/none", "File0secretPWd", 14);
	write_file("pw/empty", "", 0);
	write_file("pw/nul", "File0sec\0retPWe", 15);
	char *abs = tw_xasprintf("%s/pw/one", tmpdir);
	char *y = tw_xasprintf(
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: l\n"
		"    credentials:\n"
		"      - {username: a, password: \"${file:pw/one}\"}\n"
		"      - {username: b, password: \"${file:pw/two}\"}\n"
		"      - {username: c, password: \"${file:pw/crlf}\"}\n"
		"      - {username: d, password: \"${file:pw/none}\"}\n"
		"      - {username: e, password: \"${file:%s}\"}\n"
		"      - {username: f, password: \"${file:pw/nosuch}\"}\n"
		"      - {username: g, password: \"${file:pw/empty}\"}\n"
		"      - {username: h, password: \"${file:pw}\"}\n"
		"      - {username: i, password: \"${file:pw/nul}\"}\n"
		"      - {username: j, password: \"${file:}\"}\n", abs);
	struct tw_model *m = load_bad(y, 5);
	const struct tw_res *l = child(&m->root, 0);
	assert_str_field(child(l, 0), "password", "File0secretPWa");
	assert_str_field(child(l, 1), "password", "File0secretPWb\n");   /* one newline only */
	assert_str_field(child(l, 2), "password", "File0secretPWc");
	assert_str_field(child(l, 3), "password", "File0secretPWd");
	assert_str_field(child(l, 4), "password", "File0secretPWa");     /* absolute path */
	for (size_t i = 0; i < 5; i++)
		assert_true(child(l, i)->sensitive & 2);
	ERR_IS(m, 10, 33, "credential_lists[0].credentials[5].password: cannot read \"pw/nosuch\": "
	       "No such file or directory");
	ERR_IS(m, 11, 33, "credential_lists[0].credentials[6].password: file \"pw/empty\" is empty");
	ERR_IS(m, 12, 33, "credential_lists[0].credentials[7].password: cannot read \"pw\": Is a directory");
	ERR_AT(m, 13, 33, "cannot read \"pw/nul\": it holds a NUL byte");
	ERR_AT(m, 14, 33, "invalid secret reference: empty path");
	assert_no_diag_contains(m, "File0sec");
	tw_model_free(m);
	free(y);
	free(abs);
}

static void test_literal_secret_warning(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: l\n"
		"    credentials:\n"
		"      - username: alice\n"
		"        password: Alice0secretPW9\n";
	struct tw_err err = TW_ERR_INIT;
	struct tw_model *m = NULL;
	/* warnings alone keep the file valid */
	assert_int_equal(tw_config_load_buf("t.yaml", NULL, y, strlen(y), &m, &err), 0);
	assert_string_equal(m->dir, ".");
	assert_int_equal(m->diags.n, 1);
	WARN_IS(m, 6, 19, "credential_lists[0].credentials[0].password: literal secret in the file; "
		"use ${env:NAME} or ${file:PATH}");
	assert_no_diag_contains(m, "Alice0secretPW9");
	tw_model_free(m);
}

static void test_no_secret_in_any_message(void **state)
{
	(void)state;
	/* weak passwords from every source, and secrets near other errors */
	setenv("TWPROV_TEST_WEAK", "weakpass", 1);
	setenv("TWPROV_TEST_GOOD", "Str0ngSecretPW", 1);
	write_file("weak", "filepw\n", 7);
	static const char y[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: l\n"
		"    credentials:\n"
		"      - {username: a, password: \"${env:TWPROV_TEST_WEAK}\"}\n"
		"      - {username: b, password: \"${file:weak}\"}\n"
		"      - {username: c, password: short1A}\n"
		"      - {username: \"bad user\", password: \"${env:TWPROV_TEST_GOOD}\"}\n"
		"      - {username: a, password: \"${env:TWPROV_TEST_GOOD}\", caller_id: nope}\n"
		"      - {username: e, password: [Lst0secretPWz]}\n"
		"      - {username: f, password: \"weak\"}\n";
	struct tw_model *m = load_bad(y, 8);
	static const char weak_msg[] = "too weak: needs at least 12 characters, a digit, an upper and a lower case letter";
	char *msg = tw_xasprintf("credential_lists[0].credentials[0].password: %s", weak_msg);
	ERR_IS(m, 5, 33, msg);
	free(msg);
	ERR_AT(m, 6, 33, weak_msg);
	ERR_AT(m, 7, 33, weak_msg);
	ERR_AT(m, 11, 33, weak_msg);
	ERR_AT(m, 10, 33, "expected a string, got a list");
	const char *secrets[] = { "weakpass", "filepw", "short1A", "Str0ngSecretPW", "Lst0secretPWz", "\"weak\"" };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_no_diag_contains(m, secrets[i]);
	tw_model_free(m);
	unsetenv("TWPROV_TEST_WEAK");
	unsetenv("TWPROV_TEST_GOOD");
}

/* ---- prune, ignore, account, kinds_present ---- */

static void test_prune_ignore_account(void **state)
{
	(void)state;
	static const char y[] =
		"twprov: 1\n"
		"prune: [credential_list, credentials, sip_domains, sip_domains, ~]\n"
		"ignore: [legacy-*, \"\", [x]]\n"
		"account: {region: \"US 1\", edge: sydney}\n"
		"sip_domains:\n"
		"credential_lists: []\n";
	struct tw_model *m = load_bad(y, 6);
	ERR_IS(m, 2, 9, "prune[0]: unknown kind \"credential_list\" (did you mean \"credential_lists\"?)");
	ERR_IS(m, 2, 26, "prune[1]: unknown kind \"credentials\"");   /* not a top-level kind */
	WARN_IS(m, 2, 52, "prune[3]: \"sip_domains\" is listed twice");
	ERR_IS(m, 2, 65, "prune[4]: expected a name, got null");
	ERR_IS(m, 3, 20, "ignore[1]: expected a name pattern, got an empty string");
	ERR_IS(m, 3, 24, "ignore[2]: expected a name pattern, got a list");
	ERR_AT(m, 4, 19, "account.region: not a region name: \"US 1\"");
	assert_int_equal(json_array_size(m->prune), 1);
	assert_string_equal(json_string_value(json_array_get(m->prune, 0)), "sip_domains");
	assert_int_equal(json_array_size(m->ignore), 1);
	assert_null(m->region);
	assert_string_equal(m->edge, "sydney");
	/* kinds_present: keys in the file, even when empty or null */
	assert_int_equal(json_object_size(m->kinds_present), 2);
	assert_non_null(json_object_get(m->kinds_present, "sip_domains"));
	assert_non_null(json_object_get(m->kinds_present, "credential_lists"));
	assert_null(json_object_get(m->kinds_present, "ip_access_control_lists"));
	tw_model_free(m);

	m = load_bad("twprov: 1\nprune: sip_domains\nignore: x\naccount: [us1]\n", 3);
	ERR_IS(m, 2, 8, "prune: expected a list of kind names, got a string");
	ERR_IS(m, 3, 9, "ignore: expected a list of name patterns, got a string");
	ERR_IS(m, 4, 10, "account: expected a mapping, got a list");
	tw_model_free(m);

	m = load_ok("twprov: 1\n");
	assert_int_equal(json_object_size(m->kinds_present), 0);
	assert_int_equal(json_array_size(m->prune), 0);
	assert_null(m->region);
	assert_int_equal(m->root.nchildren, 0);
	tw_model_free(m);
}

/* ---- all errors, sorted ---- */

static void test_many_errors_sorted(void **state)
{
	(void)state;
	/* found in walk order and after the walk (references, duplicates), reported in file order */
	static const char y[] =
		"twprov: 1\n"
		"sip_domains:\n"
		"  - domain_name: a.sip.twilio.com\n"
		"    auth: {calls: {credential_lists: [nope]}}\n"
		"    voice_url: htp://x\n"
		"  - domain_name: a.sip.twilio.com\n"
		"credential_lists:\n"
		"  - name: l\n"
		"    credentials:\n"
		"      - username: alice\n"
		"bogus: 1\n"
		"twprov: 2\n";
	struct tw_model *m = load_bad(y, 6);
	assert_int_equal(m->diags.n, 6);
	assert_sorted(m);
	ERR_AT(m, 4, 39, "unknown credential_lists \"nope\"");
	ERR_AT(m, 5, 16, "not a URL");
	ERR_AT(m, 6, 18, "duplicate sip_domains");
	ERR_AT(m, 10, 9, "missing required field \"password\"");
	ERR_AT(m, 11, 1, "unknown key \"bogus\"");
	ERR_AT(m, 12, 1, "duplicate key \"twprov\"");
	assert_int_equal(m->diags.v[0].loc.line, 4);
	assert_int_equal(m->diags.v[5].loc.line, 12);
	tw_model_free(m);

	struct tw_err err = TW_ERR_INIT;
	int ret;
	m = load(y, &ret, &err);
	assert_int_equal(ret, -1);
	assert_string_equal(err.msg, "6 errors in t.yaml");
	tw_model_free(m);
	m = load("twprov: 2\n", &ret, &err);
	assert_string_equal(err.msg, "1 error in t.yaml");
	tw_model_free(m);
}

static void test_error_cap(void **state)
{
	(void)state;
	struct tw_buf b = TW_BUF_INIT;
	tw_buf_adds(&b, "twprov: 1\ncredential_lists:\n");
	for (int i = 0; i < 1500; i++)
		tw_buf_adds(&b, "  - x\n");
	struct tw_err err = TW_ERR_INIT;
	int ret;
	struct tw_model *m = load(b.buf, &ret, &err);
	assert_int_equal(ret, -1);
	assert_string_equal(err.msg, "1500 errors in t.yaml");   /* all of them are counted */
	assert_int_equal(m->diags.n, 1001);
	assert_sorted(m);
	assert_string_equal(m->diags.v[1000].msg, "too many problems: 500 more not shown");
	tw_model_free(m);
	tw_buf_release(&b);
}

/* ---- tw_config_load ---- */

static void test_load_path(void **state)
{
	(void)state;
	struct tw_model *m = (struct tw_model *)1;
	struct tw_err err = TW_ERR_INIT;
	char *nosuch = tw_xasprintf("%s/nosuch.yaml", tmpdir);
	assert_int_equal(tw_config_load(nosuch, &m, &err), -1);
	assert_null(m);
	char *want = tw_xasprintf("cannot read %s: No such file or directory", nosuch);
	assert_string_equal(err.msg, want);
	free(want);
	free(nosuch);

	assert_int_equal(tw_config_load(tmpdir, &m, &err), -1);
	assert_null(m);
	assert_non_null(strstr(err.msg, "Is a directory"));

	/* ${file:} is relative to the file's directory */
	write_file("proj/secret", "Proj0secretPW9\n", 15);
	static const char y[] = "twprov: 1\ncredential_lists:\n  - name: l\n    credentials:\n"
				"      - {username: a, password: \"${file:secret}\"}\n";
	write_file("proj/twprov.yaml", y, strlen(y));
	char *path = tw_xasprintf("%s/proj/twprov.yaml", tmpdir);
	tw_err_clear(&err);
	assert_int_equal(tw_config_load(path, &m, &err), 0);
	assert_non_null(m);
	assert_string_equal(m->file, path);
	char *dir = tw_xasprintf("%s/proj", tmpdir);
	assert_string_equal(m->dir, dir);
	assert_str_field(child(child(&m->root, 0), 0), "password", "Proj0secretPW9");
	tw_model_free(m);

	/* an invalid file: the model with its diagnostics comes back too */
	write_file("proj/bad.yaml", "twprov: 3\n", 10);
	char *bad = tw_xasprintf("%s/proj/bad.yaml", tmpdir);
	assert_int_equal(tw_config_load(bad, &m, &err), -1);
	assert_non_null(m);
	assert_int_equal(m->diags.nerrors, 1);
	assert_ptr_equal(m->diags.v[0].loc.file, m->file);
	char *msg = tw_xasprintf("1 error in %s", bad);
	assert_string_equal(err.msg, msg);
	tw_model_free(m);
	free(msg);
	free(bad);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_valid_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_multiple_documents),
		cmocka_unit_test(test_root_not_mapping),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_non_utf8),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_huge_scalar),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_aliases_allowed),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_unknown_child_key),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_strings_take_any_scalar),
		cmocka_unit_test(test_null_and_empty_required),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_duplicate_identities),
		cmocka_unit_test(test_dangling_references),
		cmocka_unit_test(test_absent_items),
		cmocka_unit_test(test_state_rules),
		cmocka_unit_test(test_value_checks),
		cmocka_unit_test(test_env_secrets),
		cmocka_unit_test(test_env_secrets_many),
		cmocka_unit_test(test_file_secrets),
		cmocka_unit_test(test_literal_secret_warning),
		cmocka_unit_test(test_no_secret_in_any_message),
		cmocka_unit_test(test_prune_ignore_account),
		cmocka_unit_test(test_many_errors_sorted),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_load_path),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
