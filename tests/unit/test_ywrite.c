/* test_ywrite.c - the loader's inverse: a declared model written as YAML reads back as itself */
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

static struct tw_res *add(struct tw_res *parent, const char *kind, const char *id)
{
	const struct tw_kind *k = tw_kind_find(kind);
	struct tw_res *r;
	int idf;

	assert_non_null(k);
	r = tw_res_new(k, NULL);
	idf = tw_kind_identity(k);
	if (id) {
		r->id = tw_xstrdup(id);
		if (idf >= 0)
			json_object_set_new(r->fields, k->fields[idf].name, json_string(id));
	}
	tw_res_add_child(parent, r);
	return r;
}

static char *write_model(const struct tw_model *m, const char *header)
{
	struct tw_buf b = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	assert_int_equal(tw_config_write(m, header, &b, &err), 0);
	return tw_buf_detach(&b);
}

static struct tw_model *load(const char *text)
{
	static const struct tw_config_opts no_secrets = { .no_secrets = 1 };
	struct tw_model *m = NULL;
	struct tw_err err = TW_ERR_INIT;
	if (tw_config_load_buf_opts("t.yaml", ".", text, strlen(text), &no_secrets, &m, &err) < 0) {
		tw_diags_print(&m->diags, stderr);
		fprintf(stderr, "%s", text);
		fail_msg("the written file does not load: %s", err.msg);
	}
	return m;
}

static void test_plain_ok(void **state)
{
	static const char *const quoted[] = { "", "null", "Null", "~", "true", "False", "yes", "NO", "on", "Off", "y",
					      "n", "<<", "123", "0x1F", "+1", "-1", ".5", ".inf", "2024-01-01", "1e3" };
	static const char *const plain[] = { "office-phones", "a: b", "#x", "x y", "yes please", "n/a", "sip:a",
					     "ünï", "/hello" };
	(void)state;
	for (size_t i = 0; i < sizeof(quoted) / sizeof(quoted[0]); i++)
		assert_false(tw_yaml_plain_ok(quoted[i], strlen(quoted[i])));
	/* these may still be quoted: libyaml decides what it cannot write plain */
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_true(tw_yaml_plain_ok(plain[i], strlen(plain[i])));
	assert_false(tw_yaml_plain_ok("a\0b", 3));
}

/* The file's layout: fields in the descriptor's order, dotted keys as nested mappings, lists of
 * names and of strings in flow style, a value written as a mapping in its keys' order. */
static void test_layout(void **state)
{
	struct tw_model *m = tw_model_new(0);
	struct tw_res *cl = add(&m->root, "credential_lists", "office"), *d, *num, *svc, *env, *out;
	char *text;
	(void)state;

	json_object_set_new(add(cl, "credentials", "alice")->fields, "password", json_string("${env:PW}"));
	d = add(&m->root, "sip_domains", "x.sip.twilio.com");
	json_object_set_new(d->fields, "secure", json_false());
	json_object_set_new(d->fields, "friendly_name", json_string("yes"));
	add(d, "auth.registrations.credential_lists", "office");
	add(d, "auth.calls.credential_lists", "office");
	out = add(d, "sip_domains.outbound", NULL);
	json_object_set_new(out->fields, "service", json_string("svc"));
	json_object_set_new(out->fields, "default_caller_id", json_string("+16505550000"));
	json_object_set_new(out->fields, "allowed_destinations", json_pack("[s, s]", "+1", "+44"));
	svc = add(&m->root, "services", "svc");
	env = add(svc, "environments", "prod");
	json_object_set_new(add(env, "variables", "K")->fields, "value", json_string("line\nbreak"));
	num = add(&m->root, "phone_numbers", "+16505550000");
	json_object_set_new(num->fields, "voice_url", json_pack("{s:s, s:s}", "path", "/x", "service", "svc"));
	json_object_set_new(num->fields, "ring_timeout", json_integer(45));
	add(svc, "functions", "/x");
	json_object_set_new(svc->children[1]->fields, "content", json_string("ok"));
	json_array_append_new(m->prune, json_string("sip_domains"));

	text = write_model(m, "a header\nwith \"two\" lines\x1b[2J");
	assert_string_equal(text,
			    "# a header\n"
			    "# with \"two\" lines\\033[2J\n"
			    "twprov: 1\n"
			    "prune: [sip_domains]\n"
			    "credential_lists:\n"
			    "- name: office\n"
			    "  credentials:\n"
			    "  - username: alice\n"
			    "    password: ${env:PW}\n"
			    "services:\n"
			    "- unique_name: svc\n"
			    "  environments:\n"
			    "  - name: prod\n"
			    "    variables:\n"
			    "      K: \"line\\nbreak\"\n"
			    "  functions:\n"
			    "  - path: /x\n"
			    "    content: ok\n"
			    "sip_domains:\n"
			    "- domain_name: x.sip.twilio.com\n"
			    "  friendly_name: \"yes\"\n"
			    "  secure: false\n"
			    "  auth:\n"
			    "    calls:\n"
			    "      credential_lists: [office]\n"
			    "    registrations:\n"
			    "      credential_lists: [office]\n"
			    "  outbound:\n"
			    "    service: svc\n"
			    "    default_caller_id: \"+16505550000\"\n"
			    "    allowed_destinations: [\"+1\", \"+44\"]\n"
			    "phone_numbers:\n"
			    "- number: \"+16505550000\"\n"
			    "  voice_url: {service: svc, path: /x}\n"
			    "  ring_timeout: 45\n");
	free(text);
	tw_model_free(m);
}

/* A string of random characters: YAML's indicators, quotes, spaces, line breaks, escapes and
 * characters outside ASCII, and outside the Basic Multilingual Plane. */
static void random_string(struct tw_buf *b, unsigned *seed, int printable)
{
	static const char *const parts[] = { ":", " ", "#", "-", "?", "'", "\"", "\\", "{", "}", "[", "]", ",", "&",
					     "*", "!", "|", ">", "%", "@", "`", "~", "a", "Z", "0", "9", ".", "yes",
					     "null", "ü", "日", "📞", "\u00a0", "\u2028", "\t", "\n", "\r" };
	size_t n = 1 + (size_t)(rand_r(seed) % 12);

	for (size_t i = 0; i < n; i++) {
		const char *p = parts[rand_r(seed) % (sizeof(parts) / sizeof(parts[0]))];
		if (printable && (*p == '\t' || *p == '\n' || *p == '\r'))
			p = "x";
		tw_buf_adds(b, p);
	}
}

/* Names and values of every sort read back exactly. */
static void test_round_trip(void **state)
{
	unsigned seed = 20240601;
	(void)state;

	for (int round = 0; round < 200; round++) {
		struct tw_model *m = tw_model_new(0), *back;
		struct tw_res *svc = add(&m->root, "services", "svc"), *env = add(svc, "environments", "e");
		json_t *want = json_object();
		char *text;
		const char *k;
		json_t *v;

		for (int i = 0; i < 8; i++) {
			struct tw_buf name = TW_BUF_INIT, value = TW_BUF_INIT;
			random_string(&name, &seed, 1);
			random_string(&value, &seed, 0);
			if (!json_object_get(want, name.buf)) {
				json_object_set_new(want, name.buf, json_string(value.buf));
				json_object_set_new(add(env, "variables", name.buf)->fields, "value", json_string(value.buf));
				add(&m->root, "applications", name.buf);
			}
			tw_buf_release(&name);
			tw_buf_release(&value);
		}
		text = write_model(m, NULL);
		back = load(text);
		{
			const struct tw_res *bsvc = tw_res_find(&back->root, tw_kind_find("services"), "svc");
			const struct tw_res *benv = bsvc ? tw_res_find(bsvc, tw_kind_find("environments"), "e") : NULL;
			assert_non_null(benv);
			json_object_foreach(want, k, v) {
				const struct tw_res *var = tw_res_find(benv, tw_kind_find("variables"), k);
				if (!var)
					fail_msg("variable %s lost in:\n%s", k, text);
				assert_string_equal(tw_res_get_str(var, "value"), json_string_value(v));
				assert_non_null(tw_res_find(&back->root, tw_kind_find("applications"), k));
			}
		}
		tw_model_free(back);
		free(text);
		json_decref(want);
		tw_model_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_ok),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
