/* test_yedit.c - byte-exact removal of items from a twprov file, and its checks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/err.h"
#include "twprov/kind.h"
#include "twprov/model.h"
#include "twprov/yedit.h"

static const struct tw_config_opts no_secrets = { .no_secrets = 1 };

static const struct tw_kind *creds(void)
{
	const struct tw_kind *k = tw_kind_find("credentials");
	assert_non_null(k);
	return k;
}

/* The declared credential `user` of list `list` in m, or NULL. */
static const struct tw_res *find_cred(const struct tw_model *m, const char *list, const char *user)
{
	const struct tw_res *l = tw_res_find(&m->root, tw_kind_find("credential_lists"), list);
	return l ? tw_res_find(l, creds(), user) : NULL;
}

static struct tw_model *load(const char *text, size_t len)
{
	struct tw_model *m = NULL;
	struct tw_err err = TW_ERR_INIT;
	if (tw_config_load_buf_opts("t.yaml", ".", text, len, &no_secrets, &m, &err) < 0) {
		tw_diags_print(&m->diags, stderr);
		fail_msg("the input does not load: %s", err.msg);
	}
	return m;
}

/*
 * Remove each (list, user) pair of `targets` (NULL-terminated pairs) from
 * `in`; the text must come out exactly as `want`, and the loader must read
 * it as the input's model without exactly those credentials.
 */
static void expect_edit(const char *in, const char *const *targets, const char *want)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_buf out = TW_BUF_INIT;
	struct tw_model *m = load(in, strlen(in));
	const struct tw_res *removed[8];
	size_t n = 0;
	struct tw_yedit *e = tw_yedit_new(in, strlen(in), &err);

	if (!e)
		fail_msg("tw_yedit_new: %s", err.msg);
	for (; targets[0]; targets += 2) {
		struct tw_yedit_place where;
		removed[n] = find_cred(m, targets[0], targets[1]);
		assert_non_null(removed[n]);
		if (tw_yedit_remove(e, creds(), targets[0], targets[1], &where, &err) < 0)
			fail_msg("tw_yedit_remove %s/%s: %s", targets[0], targets[1], err.msg);
		/* the place is where the loader says the item is */
		assert_int_equal(where.line, removed[n]->loc.line);
		assert_int_equal(where.col, removed[n]->loc.col);
		assert_true(where.end_line >= where.line);
		n++;
	}
	tw_yedit_result(e, &out);
	assert_string_equal(out.buf, want);
	if (tw_yedit_verify(m, out.buf, out.len, &no_secrets, removed, n, &err) < 0)
		fail_msg("verify: %s", err.msg);
	tw_buf_release(&out);
	tw_yedit_free(e);
	tw_model_free(m);
}

static void expect_one(const char *in, const char *list, const char *user, const char *want)
{
	const char *t[] = { list, user, NULL, NULL };
	expect_edit(in, t, want);
}

/* The removal is refused with a message holding `why`; the text is unchanged. */
static void expect_refused(const char *in, const char *list, const char *user, const char *why, int line)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_yedit_place where;
	struct tw_buf out = TW_BUF_INIT;
	struct tw_yedit *e = tw_yedit_new(in, strlen(in), &err);

	if (!e)
		fail_msg("tw_yedit_new: %s", err.msg);
	assert_int_equal(tw_yedit_remove(e, creds(), list, user, &where, &err), -1);
	if (!strstr(err.msg, why))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
	assert_int_equal(where.line, line);
	assert_int_equal(tw_yedit_ncuts(e), 0);
	tw_yedit_result(e, &out);
	assert_string_equal(out.buf, in);
	tw_buf_release(&out);
	tw_yedit_free(e);
}

/* ---- block sequences ---- */

static const char office[] =
	"# office phones\n"
	"twprov: 1\n"
	"\n"
	"credential_lists:\n"
	"  - name: office   # the main list\n"
	"    credentials:\n"
	"      - username: alice        # desk 1\n"
	"        password: ${env:PW_ALICE}\n"
	"        display_name: \"Alice A.\"\n"
	"      # Bob, sales\n"
	"      - username: bob          # desk 2\n"
	"        # his old phone\n"
	"        password: ${env:PW_BOB}   # rotated 2024\n"
	"        display_name: 'Bob B.'\n"
	"          # deeper comment about bob\n"
	"      - username: carol\n"
	"        password: ${env:PW_CAROL}\n";

static void test_block_middle(void **state)
{
	(void)state;
	expect_one(office, "office", "bob",
		   "# office phones\n"
		   "twprov: 1\n"
		   "\n"
		   "credential_lists:\n"
		   "  - name: office   # the main list\n"
		   "    credentials:\n"
		   "      - username: alice        # desk 1\n"
		   "        password: ${env:PW_ALICE}\n"
		   "        display_name: \"Alice A.\"\n"
		   "      # Bob, sales\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n");
}

static void test_block_first_and_last(void **state)
{
	(void)state;
	expect_one(office, "office", "alice",
		   "# office phones\n"
		   "twprov: 1\n"
		   "\n"
		   "credential_lists:\n"
		   "  - name: office   # the main list\n"
		   "    credentials:\n"
		   "      # Bob, sales\n"
		   "      - username: bob          # desk 2\n"
		   "        # his old phone\n"
		   "        password: ${env:PW_BOB}   # rotated 2024\n"
		   "        display_name: 'Bob B.'\n"
		   "          # deeper comment about bob\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n");
	expect_one(office, "office", "carol",
		   "# office phones\n"
		   "twprov: 1\n"
		   "\n"
		   "credential_lists:\n"
		   "  - name: office   # the main list\n"
		   "    credentials:\n"
		   "      - username: alice        # desk 1\n"
		   "        password: ${env:PW_ALICE}\n"
		   "        display_name: \"Alice A.\"\n"
		   "      # Bob, sales\n"
		   "      - username: bob          # desk 2\n"
		   "        # his old phone\n"
		   "        password: ${env:PW_BOB}   # rotated 2024\n"
		   "        display_name: 'Bob B.'\n"
		   "          # deeper comment about bob\n");
}

static void test_block_only_item(void **state)
{
	(void)state;
	/* the key is left with no value: the loader reads an empty list */
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: solo\n"
		   "    credentials:   # one user\n"
		   "      - username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "  - name: other\n"
		   "    credentials:\n"
		   "      - {username: bob, password: \"${env:PW_BOB}\"}\n",
		   "solo", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: solo\n"
		   "    credentials:   # one user\n"
		   "  - name: other\n"
		   "    credentials:\n"
		   "      - {username: bob, password: \"${env:PW_BOB}\"}\n");
}

static void test_block_blank_lines(void **state)
{
	(void)state;
	static const char in[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"\n"
		"      - username: alice\n"
		"        password: ${env:PW_ALICE}\n"
		"\n"
		"      - username: bob\n"
		"        password: ${env:PW_BOB}\n"
		"\n"
		"\n"
		"      - username: carol\n"
		"        password: ${env:PW_CAROL}\n"
		"\n"
		"ip_access_control_lists: []\n";
	/* blank lines on both sides: the ones after it go */
	expect_one(in, "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "\n"
		   "      - username: alice\n"
		   "        password: ${env:PW_ALICE}\n"
		   "\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n"
		   "\n"
		   "ip_access_control_lists: []\n");
	expect_one(in, "office", "carol",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "\n"
		   "      - username: alice\n"
		   "        password: ${env:PW_ALICE}\n"
		   "\n"
		   "      - username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "\n"
		   "\n"
		   "ip_access_control_lists: []\n");
}

static void test_block_odd_indentation(void **state)
{
	(void)state;
	/* an indentless sequence, one-space and five-space indents, tabs after the colons,
	   keys in another order, the list's name after its credentials, quoted names */
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "- credentials:\n"
		   "  - password:\t${env:PW_ALICE}\n"
		   "    username:\talice\n"
		   "  -   username: \"bob\"\n"
		   "      password: ${env:PW_BOB}\n"
		   "  - username: carol\n"
		   "    password: ${env:PW_CAROL}\n"
		   "  name: 'office'\n"
		   "- name: lobby\n"
		   "  credentials:\n"
		   "       -\n"
		   "        username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "       - username: dave\n"
		   "         password: ${env:PW_DAVE}\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "- credentials:\n"
		   "  - password:\t${env:PW_ALICE}\n"
		   "    username:\talice\n"
		   "  - username: carol\n"
		   "    password: ${env:PW_CAROL}\n"
		   "  name: 'office'\n"
		   "- name: lobby\n"
		   "  credentials:\n"
		   "       -\n"
		   "        username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "       - username: dave\n"
		   "         password: ${env:PW_DAVE}\n");
	/* the '-' alone on its line */
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "- name: lobby\n"
		   "  credentials:\n"
		   "       -   # bob's entry\n"
		   "        username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "       - username: dave\n"
		   "         password: ${env:PW_DAVE}\n",
		   "lobby", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "- name: lobby\n"
		   "  credentials:\n"
		   "       - username: dave\n"
		   "         password: ${env:PW_DAVE}\n");
}

static void test_block_indentless_only_item(void **state)
{
	(void)state;
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "- name: office\n"
		   "  credentials:\n"
		   "  - username: bob\n"
		   "    password: ${env:PW_BOB}\n"
		   "sip_domains: []\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "- name: office\n"
		   "  credentials:\n"
		   "sip_domains: []\n");
}

static void test_block_flow_mapping_items(void **state)
{
	(void)state;
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - {username: alice, password: \"${env:PW_ALICE}\"}\n"
		   "      - {username: bob,   password: \"${env:PW_BOB}\",\n"
		   "         display_name: Bob}   # two lines\n"
		   "      - {username: carol, password: \"${env:PW_CAROL}\"}\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - {username: alice, password: \"${env:PW_ALICE}\"}\n"
		   "      - {username: carol, password: \"${env:PW_CAROL}\"}\n");
}

static void test_block_scalar_in_item(void **state)
{
	(void)state;
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "        display_name: >-\n"
		   "          Bob\n"
		   "          Builder\n"
		   "\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n");
}

static void test_no_final_newline(void **state)
{
	(void)state;
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - username: alice\n"
		   "        password: ${env:PW_ALICE}\n"
		   "      - username: bob\n"
		   "        password: ${env:PW_BOB}",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials:\n"
		   "      - username: alice\n"
		   "        password: ${env:PW_ALICE}\n");
}

/* ---- flow sequences ---- */

static void test_flow_one_line(void **state)
{
	(void)state;
	static const char in[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - {name: office, credentials: [{username: alice, password: \"${env:A}\"}, {username: bob, "
		"password: \"${env:B}\"}, {username: carol, password: \"${env:C}\"}]}  # all of them\n";
	expect_one(in, "office", "alice",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - {name: office, credentials: [{username: bob, password: \"${env:B}\"}, {username: carol, "
		   "password: \"${env:C}\"}]}  # all of them\n");
	expect_one(in, "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - {name: office, credentials: [{username: alice, password: \"${env:A}\"}, {username: carol, "
		   "password: \"${env:C}\"}]}  # all of them\n");
	expect_one(in, "office", "carol",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - {name: office, credentials: [{username: alice, password: \"${env:A}\"}, {username: bob, "
		   "password: \"${env:B}\"}]}  # all of them\n");
	expect_one("twprov: 1\ncredential_lists: [{name: x, credentials: [ {username: bob, password: \"${env:B}\"} ]}]\n",
		   "x", "bob", "twprov: 1\ncredential_lists: [{name: x, credentials: [ ]}]\n");
	/* a trailing comma; single-pair entries without braces */
	expect_one("twprov: 1\ncredential_lists: [{name: x, credentials: [{username: a, password: \"${env:B}\"}, "
		   "{username: bob, password: \"${env:B}\"}, ]}]\n",
		   "x", "bob",
		   "twprov: 1\ncredential_lists: [{name: x, credentials: [{username: a, password: \"${env:B}\"}, ]}]\n");
}

static void test_flow_multi_line(void **state)
{
	(void)state;
	static const char in[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials: [\n"
		"      {username: alice, password: \"${env:A}\"},   # alice\n"
		"      {username: bob, password: \"${env:B}\"},     # bob\n"
		"      {username: carol,\n"
		"       password: \"${env:C}\"}   # carol\n"
		"    ]\n";
	expect_one(in, "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [\n"
		   "      {username: alice, password: \"${env:A}\"},   # alice\n"
		   "      {username: carol,\n"
		   "       password: \"${env:C}\"}   # carol\n"
		   "    ]\n");
	/* the last element takes the comma before it */
	expect_one(in, "office", "carol",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [\n"
		   "      {username: alice, password: \"${env:A}\"},   # alice\n"
		   "      {username: bob, password: \"${env:B}\"}     # bob\n"
		   "    ]\n");
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [\n"
		   "      {username: bob, password: \"${env:B}\"}\n"
		   "    ]\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [\n"
		   "    ]\n");
	/* elements sharing lines */
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [{username: alice, password: \"${env:A}\"}, {username: bob, password: \"${env:B}\"},\n"
		   "                  {username: carol, password: \"${env:C}\"}]\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [{username: alice, password: \"${env:A}\"},\n"
		   "                  {username: carol, password: \"${env:C}\"}]\n");
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [ {username: bob, password: \"${env:B}\"},   # bob's\r\n"
		   "                   {username: carol, password: \"${env:C}\"} ]\r\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [\r\n"
		   "                   {username: carol, password: \"${env:C}\"} ]\r\n");
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [{username: alice, password: \"${env:A}\"},\n"
		   "                  {username: bob, password: \"${env:B}\"}]\n",
		   "office", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: office\n"
		   "    credentials: [{username: alice, password: \"${env:A}\"}]\n");
}

/* ---- line ends and encodings ---- */

static void test_crlf(void **state)
{
	(void)state;
	expect_one("twprov: 1\r\n"
		   "credential_lists:\r\n"
		   "  - name: office\r\n"
		   "    credentials:\r\n"
		   "      - username: alice   # a\r\n"
		   "        password: ${env:PW_ALICE}\r\n"
		   "      - username: bob     # b\r\n"
		   "        password: ${env:PW_BOB}\r\n"
		   "        # about bob\r\n"
		   "      - username: carol\r\n"
		   "        password: ${env:PW_CAROL}\r\n"
		   "  - name: lobby\r\n"
		   "    credentials: [\r\n"
		   "      {username: bob, password: \"${env:B}\"},\r\n"
		   "      {username: eve, password: \"${env:E}\"}\r\n"
		   "    ]\r\n",
		   "office", "bob",
		   "twprov: 1\r\n"
		   "credential_lists:\r\n"
		   "  - name: office\r\n"
		   "    credentials:\r\n"
		   "      - username: alice   # a\r\n"
		   "        password: ${env:PW_ALICE}\r\n"
		   "      - username: carol\r\n"
		   "        password: ${env:PW_CAROL}\r\n"
		   "  - name: lobby\r\n"
		   "    credentials: [\r\n"
		   "      {username: bob, password: \"${env:B}\"},\r\n"
		   "      {username: eve, password: \"${env:E}\"}\r\n"
		   "    ]\r\n");
	static const char *const both[] = { "office", "bob", "lobby", "bob", NULL, NULL };
	expect_edit("twprov: 1\r\n"
		    "credential_lists:\r\n"
		    "  - name: office\r\n"
		    "    credentials:\r\n"
		    "      - username: alice\r\n"
		    "        password: ${env:PW_ALICE}\r\n"
		    "      - username: bob\r\n"
		    "        password: ${env:PW_BOB}\r\n"
		    "  - name: lobby\r\n"
		    "    credentials: [\r\n"
		    "      {username: eve, password: \"${env:E}\"},\r\n"
		    "      {username: bob, password: \"${env:B}\"}\r\n"
		    "    ]\r\n",
		    both,
		    "twprov: 1\r\n"
		    "credential_lists:\r\n"
		    "  - name: office\r\n"
		    "    credentials:\r\n"
		    "      - username: alice\r\n"
		    "        password: ${env:PW_ALICE}\r\n"
		    "  - name: lobby\r\n"
		    "    credentials: [\r\n"
		    "      {username: eve, password: \"${env:E}\"}\r\n"
		    "    ]\r\n");
}

static void test_utf8_before_item(void **state)
{
	(void)state;
	/* libyaml counts characters: "Zoë" and "Łódź" must not shift the cut */
	expect_one("\xEF\xBB\xBFtwprov: 1\n"
		   "credential_lists:\n"
		   "  - name: Łódź office\n"
		   "    credentials:\n"
		   "      - username: zoe\n"
		   "        password: ${env:PW_ZOE}\n"
		   "        display_name: Zoë ✓\n"
		   "      - username: bob\n"
		   "        password: ${env:PW_BOB}\n"
		   "        display_name: \"Bób 🎉\"\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n",
		   "Łódź office", "bob",
		   "\xEF\xBB\xBFtwprov: 1\n"
		   "credential_lists:\n"
		   "  - name: Łódź office\n"
		   "    credentials:\n"
		   "      - username: zoe\n"
		   "        password: ${env:PW_ZOE}\n"
		   "        display_name: Zoë ✓\n"
		   "      - username: carol\n"
		   "        password: ${env:PW_CAROL}\n");
}

static void test_encodings_refused(void **state)
{
	struct tw_err err = TW_ERR_INIT;
	(void)state;
	assert_null(tw_yedit_new("\xFF\xFEt\0w\0", 6, &err));
	assert_non_null(strstr(err.msg, "UTF-16"));
	tw_err_clear(&err);
	assert_null(tw_yedit_new("twprov: 1\rcredential_lists: []\r", 31, &err));
	assert_non_null(strstr(err.msg, "CR alone (line 1)"));
	tw_err_clear(&err);
	assert_null(tw_yedit_new("a: [\n", 5, &err));
	assert_non_null(strstr(err.msg, "cannot parse"));
}

/* ---- several removals at once ---- */

static void test_two_lists(void **state)
{
	(void)state;
	static const char *const both[] = { "office", "bob", "lobby", "bob", NULL, NULL };
	expect_edit("twprov: 1\n"
		    "credential_lists:\n"
		    "  - name: office\n"
		    "    credentials:\n"
		    "      - username: bob\n"
		    "        password: ${env:PW_BOB}\n"
		    "      - username: carol\n"
		    "        password: ${env:PW_CAROL}\n"
		    "  - name: lobby\n"
		    "    credentials:\n"
		    "      - username: carol\n"
		    "        password: ${env:PW_CAROL}\n"
		    "      - username: bob\n"
		    "        password: ${env:PW_BOB}\n",
		    both,
		    "twprov: 1\n"
		    "credential_lists:\n"
		    "  - name: office\n"
		    "    credentials:\n"
		    "      - username: carol\n"
		    "        password: ${env:PW_CAROL}\n"
		    "  - name: lobby\n"
		    "    credentials:\n"
		    "      - username: carol\n"
		    "        password: ${env:PW_CAROL}\n");
}

static void test_place(void **state)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_yedit_place p;
	(void)state;
	struct tw_yedit *e = tw_yedit_new(office, strlen(office), &err);
	assert_non_null(e);
	assert_int_equal(tw_yedit_remove(e, creds(), "office", "bob", &p, &err), 0);
	assert_int_equal(p.line, 11);
	assert_int_equal(p.col, 9);
	assert_int_equal(p.end_line, 14);
	assert_int_equal(tw_yedit_remove(e, creds(), "office", "carol", &p, &err), 0);
	assert_int_equal(p.line, 16);
	assert_int_equal(p.end_line, 17);
	/* the same entry twice overlaps */
	assert_int_equal(tw_yedit_remove(e, creds(), "office", "carol", &p, &err), -1);
	assert_string_equal(err.msg, "the entry overlaps another removal");
	assert_int_equal(tw_yedit_ncuts(e), 2);
	tw_yedit_free(e);

	static const char flow[] = "twprov: 1\ncredential_lists: [{name: x, credentials: [\n"
				   "  {username: bob,\n   password: \"${env:B}\"}]}]\n";
	e = tw_yedit_new(flow, strlen(flow), &err);
	assert_non_null(e);
	assert_int_equal(tw_yedit_remove(e, creds(), "x", "bob", &p, &err), 0);
	assert_int_equal(p.line, 3);
	assert_int_equal(p.col, 3);
	assert_int_equal(p.end_line, 4);
	tw_yedit_free(e);
}

/* ---- refusals ---- */

static void test_not_found(void **state)
{
	(void)state;
	expect_refused(office, "office", "mallory", "no credentials with username \"mallory\" in credential_lists "
		       "\"office\"", 0);
	expect_refused(office, "nosuch", "bob", "no credential_lists named \"nosuch\"", 0);
	expect_refused("- just a list\n", "office", "bob", "not a mapping", 0);
}

static void test_aliases_refused(void **state)
{
	(void)state;
	/* the entry defines an anchor (used or not) */
	expect_refused("twprov: 1\n"
		       "credential_lists:\n"
		       "  - name: a\n"
		       "    credentials:\n"
		       "      - &bob {username: bob, password: \"${env:B}\"}\n"
		       "  - name: b\n"
		       "    credentials:\n"
		       "      - *bob\n",
		       "a", "bob", "defines the anchor &bob (line 5)", 5);
	/* the entry is an alias */
	expect_refused("twprov: 1\n"
		       "credential_lists:\n"
		       "  - name: a\n"
		       "    credentials:\n"
		       "      - &bob {username: bob, password: \"${env:B}\"}\n"
		       "  - name: b\n"
		       "    credentials:\n"
		       "      - *bob\n",
		       "b", "bob", "the entry is the alias *bob of a node written at line 5", 8);
	/* an anchor deep inside the entry */
	expect_refused("twprov: 1\n"
		       "credential_lists:\n"
		       "  - name: a\n"
		       "    credentials:\n"
		       "      - username: bob\n"
		       "        password: &pw ${env:PW}\n"
		       "      - username: carol\n"
		       "        password: *pw\n",
		       "a", "bob", "defines the anchor &pw (line 6)", 5);
	/* the list's credentials are an alias */
	expect_refused("twprov: 1\n"
		       "credential_lists:\n"
		       "  - name: a\n"
		       "    credentials: &staff\n"
		       "      - {username: bob, password: \"${env:B}\"}\n"
		       "  - name: b\n"
		       "    credentials: *staff\n",
		       "b", "bob", "reached through the alias *staff (line 7)", 5);
	/* an alias repeats a node that holds the entry */
	expect_refused("twprov: 1\n"
		       "credential_lists:\n"
		       "  - name: a\n"
		       "    credentials: &staff\n"
		       "      - {username: bob, password: \"${env:B}\"}\n"
		       "  - name: b\n"
		       "    credentials: *staff\n",
		       "a", "bob", "the alias *staff (line 7) repeats a node that holds the entry", 5);
}

static void test_aliases_elsewhere_allowed(void **state)
{
	(void)state;
	/* an alias inside the entry (to an anchor outside it) goes with it */
	expect_one("twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: a\n"
		   "    credentials:\n"
		   "      - username: alice\n"
		   "        password: &pw ${env:PW}\n"
		   "      - username: bob\n"
		   "        password: *pw\n",
		   "a", "bob",
		   "twprov: 1\n"
		   "credential_lists:\n"
		   "  - name: a\n"
		   "    credentials:\n"
		   "      - username: alice\n"
		   "        password: &pw ${env:PW}\n");
}

/* ---- the diff ---- */

static void test_diff(void **state)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_buf out = TW_BUF_INIT;
	(void)state;
	static const char in[] =
		"twprov: 1\n"                                        /* 1 */
		"credential_lists:\n"                                /* 2 */
		"  - name: office\n"                                 /* 3 */
		"    credentials:\n"                                 /* 4 */
		"      - username: alice\n"                          /* 5 */
		"        password: Literal-Secret-1\n"               /* 6 */
		"      - username: bob\n"                            /* 7 */
		"        password: \"Bob-Literal-99\"   # shh\n"     /* 8 */
		"      - username: carol\n"                          /* 9 */
		"        password: ${env:PW_CAROL}\n"                /* 10 */
		"  - name: x\n"                                      /* 11 */
		"    credentials: [{username: a, password: \"${env:A}\"},\r\n" /* 12 */
		"                  {username: bob, password: Bob-Literal-99}]\n" /* 13 */
		"ip_access_control_lists: []\n"                      /* 14 */
		"sip_domains: []\n"                                  /* 15 */
		"applications: []\n"                                 /* 16 */
		"phone_numbers: []\n"                                /* 17 */
		"byoc_trunks: []\n"                                  /* 18 */
		"connection_policies: []\n"                          /* 19 */
		"sip_trunks: []\n";                                  /* 20 */
	struct tw_yedit *e = tw_yedit_new(in, strlen(in), &err);
	assert_non_null(e);
	tw_yedit_diff(e, "t.yaml", 0, &out);
	assert_int_equal(out.len, 0);   /* nothing recorded, no diff */
	assert_int_equal(tw_yedit_remove(e, creds(), "office", "bob", NULL, &err), 0);
	assert_int_equal(tw_yedit_remove(e, creds(), "x", "bob", NULL, &err), 0);
	tw_yedit_diff(e, "t.yaml", 0, &out);
	assert_string_equal(out.buf,
			    "--- t.yaml\n"
			    "+++ t.yaml\n"
			    "@@ -4,13 +4,10 @@\n"
			    "     credentials:\n"
			    "       - username: alice\n"
			    "         password: (sensitive)\n"
			    "-      - username: bob\n"
			    "-        password: (sensitive)   # shh\n"
			    "       - username: carol\n"
			    "         password: ${env:PW_CAROL}\n"
			    "   - name: x\n"
			    "-    credentials: [{username: a, password: \"${env:A}\"},\n"
			    "-                  {username: bob, password: (sensitive)}]\n"
			    "+    credentials: [{username: a, password: \"${env:A}\"}]\n"
			    " ip_access_control_lists: []\n"
			    " sip_domains: []\n"
			    " applications: []\n");
	assert_null(strstr(out.buf, "Literal"));
	tw_buf_reset(&out);
	tw_yedit_diff(e, "t.yaml", 1, &out);
	assert_non_null(strstr(out.buf, "\033[31m-      - username: bob\033[0m\n"));
	assert_non_null(strstr(out.buf, "\033[32m+    credentials: [{username: a, password: \"${env:A}\"}]\033[0m\n"));
	tw_buf_release(&out);
	tw_yedit_free(e);
}

static void test_diff_hunks(void **state)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_buf out = TW_BUF_INIT, text = TW_BUF_INIT;
	(void)state;
	/* two removals far apart: two hunks, the second numbered in the new file */
	tw_buf_adds(&text, "twprov: 1\ncredential_lists:\n  - name: a\n    credentials:\n"
			   "      - {username: bob, password: \"${env:B}\"}\n");
	for (int i = 0; i < 10; i++)
		tw_buf_addf(&text, "      - {username: u%d, password: \"${env:B}\"}\n", i);
	tw_buf_adds(&text, "  - name: b\n    credentials:\n      - {username: bob, password: \"${env:B}\"}\n");
	struct tw_yedit *e = tw_yedit_new(text.buf, text.len, &err);
	assert_non_null(e);
	assert_int_equal(tw_yedit_remove(e, creds(), "a", "bob", NULL, &err), 0);
	assert_int_equal(tw_yedit_remove(e, creds(), "b", "bob", NULL, &err), 0);
	tw_yedit_diff(e, "f", 0, &out);
	assert_string_equal(out.buf,
			    "--- f\n+++ f\n"
			    "@@ -2,7 +2,6 @@\n"
			    " credential_lists:\n"
			    "   - name: a\n"
			    "     credentials:\n"
			    "-      - {username: bob, password: \"${env:B}\"}\n"
			    "       - {username: u0, password: \"${env:B}\"}\n"
			    "       - {username: u1, password: \"${env:B}\"}\n"
			    "       - {username: u2, password: \"${env:B}\"}\n"
			    "@@ -15,4 +14,3 @@\n"
			    "       - {username: u9, password: \"${env:B}\"}\n"
			    "   - name: b\n"
			    "     credentials:\n"
			    "-      - {username: bob, password: \"${env:B}\"}\n");
	tw_buf_release(&out);
	tw_buf_release(&text);
	tw_yedit_free(e);
}

/* ---- verification ---- */

static void test_verify_catches_differences(void **state)
{
	struct tw_err err = TW_ERR_INIT;
	(void)state;
	static const char in[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alice}\n"
		"      - {username: bob, password: \"${env:B}\"}\n"
		"      - {username: carol, password: \"${env:C}\"}\n";
	struct tw_model *m = load(in, sizeof(in) - 1);
	const struct tw_res *bob = find_cred(m, "office", "bob");
	const struct tw_res *rm[] = { bob };
	static const char ok[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alice}\n"
		"      - {username: carol, password: \"${env:C}\"}\n";
	assert_int_equal(tw_yedit_verify(m, ok, sizeof(ok) - 1, &no_secrets, rm, 1, &err), 0);

	/* another credential gone too */
	static const char lost[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alice}\n";
	assert_int_equal(tw_yedit_verify(m, lost, sizeof(lost) - 1, &no_secrets, rm, 1, &err), -1);
	assert_string_equal(err.msg, "the edited file would not load the same: "
			    "credential_lists/office/credentials/carol is gone");
	/* a field changed */
	static const char changed[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alicia}\n"
		"      - {username: carol, password: \"${env:C}\"}\n";
	assert_int_equal(tw_yedit_verify(m, changed, sizeof(changed) - 1, &no_secrets, rm, 1, &err), -1);
	assert_string_equal(err.msg, "the edited file would not load the same: "
			    "credential_lists/office/credentials/alice differs");
	/* bob still there */
	assert_int_equal(tw_yedit_verify(m, in, sizeof(in) - 1, &no_secrets, rm, 1, &err), -1);
	assert_string_equal(err.msg, "the edited file would not load the same: "
			    "credential_lists/office/credentials/bob is where "
			    "credential_lists/office/credentials/carol was");
	/* one more at the end */
	static const char more[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alice}\n"
		"      - {username: carol, password: \"${env:C}\"}\n"
		"      - {username: dave, password: \"${env:C}\"}\n";
	assert_int_equal(tw_yedit_verify(m, more, sizeof(more) - 1, &no_secrets, rm, 1, &err), -1);
	assert_string_equal(err.msg, "the edited file would not load the same: "
			    "credential_lists/office/credentials/dave appeared");
	/* not valid any more */
	static const char broken[] = "twprov: 1\ncredential_lists:\n  - name: office\n    credentials: [\n";
	assert_int_equal(tw_yedit_verify(m, broken, sizeof(broken) - 1, &no_secrets, rm, 1, &err), -1);
	assert_non_null(strstr(err.msg, "the edited file would not be valid: "));
	/* a setting changed */
	static const char pruned[] =
		"twprov: 1\n"
		"prune: [credential_lists]\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: alice, password: \"${env:A}\", display_name: Alice}\n"
		"      - {username: carol, password: \"${env:C}\"}\n";
	assert_int_equal(tw_yedit_verify(m, pruned, sizeof(pruned) - 1, &no_secrets, rm, 1, &err), -1);
	assert_string_equal(err.msg, "the edited file would not load the same: its settings differ");
	tw_model_free(m);
}

static void test_no_secrets_option(void **state)
{
	struct tw_model *m = NULL;
	struct tw_err err = TW_ERR_INIT;
	(void)state;
	static const char in[] =
		"twprov: 1\n"
		"credential_lists:\n"
		"  - name: office\n"
		"    credentials:\n"
		"      - {username: bob, password: \"${env:TWPROV_TEST_SURELY_UNSET}\"}\n"
		"      - {username: eve, password: \"${file:no/such/file}\"}\n";
	/* by default an unset variable is an error */
	assert_int_equal(tw_config_load_buf("t.yaml", ".", in, sizeof(in) - 1, &m, &err), -1);
	tw_model_free(m);
	assert_int_equal(tw_config_load_buf_opts("t.yaml", ".", in, sizeof(in) - 1, &no_secrets, &m, &err), 0);
	const struct tw_res *bob = find_cred(m, "office", "bob");
	assert_non_null(bob);
	assert_null(tw_res_get(bob, "password"));
	assert_int_equal(m->diags.n, 0);
	tw_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_middle),
		cmocka_unit_test(test_block_first_and_last),
		cmocka_unit_test(test_block_only_item),
		cmocka_unit_test(test_block_blank_lines),
		cmocka_unit_test(test_block_odd_indentation),
		cmocka_unit_test(test_block_indentless_only_item),
		cmocka_unit_test(test_block_flow_mapping_items),
		cmocka_unit_test(test_block_scalar_in_item),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_flow_one_line),
		cmocka_unit_test(test_flow_multi_line),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_utf8_before_item),
		cmocka_unit_test(test_encodings_refused),
		cmocka_unit_test(test_two_lists),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_aliases_refused),
		cmocka_unit_test(test_aliases_elsewhere_allowed),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_hunks),
		cmocka_unit_test(test_verify_catches_differences),
		cmocka_unit_test(test_no_secrets_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
