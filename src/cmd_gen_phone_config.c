/* cmd_gen_phone_config.c - write provisioning files for the credentials' phones */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config/internal.h"
#include "twprov/err.h"
#include "twprov/log.h"
#include "twprov/phone.h"
#include "twprov/redact.h"

const char tw_usage_gen_phone_config[] =
	"usage: twprov gen-phone-config [-f FILE] [-o DIR] [--only USER] [--domain DOMAIN]\n"
	"                               [--outbound-proxy HOST[:PORT]] [--encrypt-key KEY]\n"
	"\n"
	"Write the provisioning file each device of each credential expects\n"
	"(devices: in the file): Grandstream cfg<mac>.xml, Yealink <mac>.cfg,\n"
	"Zoiper USER/Config.xml, Linphone USER/linphone.xml, baresip USER/accounts.\n"
	"Files are mode 0600 and replaced atomically; nothing is written unless\n"
	"every file could be made.  Passwords are never printed.  Offline: nothing\n"
	"is sent to Twilio.  See twprov-gen-phone-config(1).\n"
	"\n"
	"  -o, --out DIR              output directory (default phone-config, created 0700)\n"
	"      --only USER            only the credential(s) with this username\n"
	"      --domain DOMAIN        register to this SIP domain (when a list is mapped to several)\n"
	"      --outbound-proxy HOST[:PORT]\n"
	"                             send SIP through this proxy (an SBC, a Twilio edge, a lab\n"
	"                             registrar); the files keep the Twilio domain\n"
	"      --encrypt-key KEY      encrypt Grandstream files with this XML config file password;\n"
	"                             ${env:NAME} or ${file:PATH} keeps it off the command line\n";

enum {
	OPT_ONLY = TW_OPT_FIRST_COMMAND_OPT,
	OPT_DOMAIN,
	OPT_PROXY,
	OPT_KEY,
};

/* --encrypt-key: a literal, ${env:NAME} or ${file:PATH} (relative to the current directory). */
static int resolve_key(const char *arg, struct tw_buf *key)
{
	struct tw_buf why = TW_BUF_INIT;
	const char *name;
	size_t namelen;
	enum tw_secref ref = tw_secref_parse(arg, strlen(arg), &name, &namelen);

	if (ref == TW_SECREF_NONE) {
		tw_buf_adds(key, arg);
	} else {
		json_t *env = NULL;
		int rc = tw_secref_resolve(ref, name, namelen, ".", &env, key, &why);
		json_decref(env);
		if (rc < 0) {
			tw_error("--encrypt-key: %s", why.buf);
			tw_buf_release(&why);
			return TW_EXIT_USAGE;
		}
	}
	tw_buf_release(&why);
	if (!key->len) {
		tw_error("--encrypt-key: the key is empty");
		return TW_EXIT_USAGE;
	}
	return TW_EXIT_OK;
}

/* One line per file: written, or not. */
static void report(const struct tw_phone_files *files, const char *out)
{
	for (size_t i = 0; i < files->n; i++) {
		const struct tw_phone_file *f = &files->v[i];
		char *path = tw_xasprintf("%s/%s", out, f->name);
		tw_info("  %s %s (%s, %s%s)", f->written ? "wrote" : "not written:", tw_quote(path), f->type,
			tw_quote(f->account), f->encrypted ? ", encrypted" : "");
		free(path);
	}
}

int cmd_gen_phone_config(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "outbound-proxy", required_argument, NULL, OPT_PROXY },
		{ "encrypt-key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_phone_opts o = { 0 };
	struct tw_phone_files files;
	struct tw_diags d = { 0 };
	struct tw_err err = TW_ERR_INIT;
	struct tw_buf key = TW_BUF_INIT;
	struct tw_model *m = NULL;
	const char *out = "phone-config", *key_arg = NULL;
	int c, rc;

	tw_phone_files_init(&files);
	while ((c = getopt_long(argc, argv, TW_GLOBAL_SHORTOPTS "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': return tw_cmd_usage("gen-phone-config", 0);
		case 'o': out = optarg; break;
		case OPT_ONLY: o.only = optarg; break;
		case OPT_DOMAIN: o.domain = optarg; break;
		case OPT_PROXY: o.proxy = optarg; break;
		case OPT_KEY: key_arg = optarg; break;
		default:
			if (!tw_global_opt(g, c, optarg))
				return tw_cmd_bad_option("gen-phone-config", longopts, argv, c);
		}
	}
	tw_global_apply(g);
	if (optind < argc) {
		tw_error("gen-phone-config takes no arguments (use --only USER)");
		return TW_EXIT_USAGE;
	}
	if (!*out) {
		tw_error("--out: expected a directory");
		return TW_EXIT_USAGE;
	}
	if (key_arg && (rc = resolve_key(key_arg, &key)))
		goto done;
	if (key_arg) {
		o.encrypt_key = key.buf;
		tw_secret_add(key.buf, key.len);
	}

	if ((rc = tw_cmd_load(g, &m)))
		goto done;
	if (tw_phone_render_all(m, &o, &files, &d, &err) < 0) {
		tw_diags_sort(&d);
		tw_diags_print(&d, stderr);
		tw_error("%s", err.msg);
		rc = err.kind == TW_ERR_USAGE ? TW_EXIT_USAGE : err.kind == TW_ERR_INVALID ? TW_EXIT_INVALID : TW_EXIT_FAIL;
		goto done;
	}
	tw_diags_sort(&d);
	tw_diags_print(&d, stderr);   /* warnings */
	if (!files.n) {
		tw_info("gen-phone-config: no credential%s declares devices: nothing to write",
			o.only ? " selected by --only" : "");
		rc = TW_EXIT_OK;
		goto done;
	}
	if (tw_phone_write_all(&files, out, &err) < 0) {
		size_t nw = 0;
		for (size_t i = 0; i < files.n; i++)
			nw += files.v[i].written;
		tw_error("%s", err.msg);
		if (!nw) {
			tw_error("no file was written");
		} else {
			/* the renames that went before the failure stay: say exactly which */
			tw_error("%zu of %zu files were replaced, the other %zu were not written:", nw, files.n,
				 files.n - nw);
			report(&files, out);
		}
		rc = TW_EXIT_FAIL;
		goto done;
	}
	report(&files, out);
	tw_info("gen-phone-config: %zu file%s for %zu credential%s in %s/", files.n, files.n == 1 ? "" : "s",
		files.ncredentials, files.ncredentials == 1 ? "" : "s", tw_quote(out));
	rc = TW_EXIT_OK;
done:
	tw_phone_files_release(&files);
	tw_diags_release(&d);
	tw_model_free(m);
	tw_buf_wipe(&key);
	return rc;
}
