/* cmd_complete.c - shell completion: `twprov __complete WORD... CURRENT`
 *
 * The bash and zsh scripts in completions/ hand twprov the words of the
 * command line after "twprov", up to the one being completed (maybe empty),
 * and print what comes back: one candidate a line ("WORD" or
 * "WORD<TAB>DESCRIPTION"), then a directive line: ":words" (the candidates),
 * ":files" or ":dirs" (the shell completes paths itself).
 *
 * Everything is read from tables, so new commands and options complete
 * without an edit here: commands from the command table, options from each
 * command's usage text ("  --target KIND/NAME   plan only ..."), option
 * values and arguments by their metavariable: FILE and DIR paths; KIND/NAME
 * the addresses of the resources the file declares (--target); KIND the
 * top-level kinds (what `prune` and a --kinds option take, a comma-separated
 * list for KIND,...); USER, DOMAIN and --list's NAME the usernames, SIP
 * domains and credential lists of the file.  The file (-f, default
 * twprov.yaml) is read offline, secret references unresolved, errors ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "twprov/buf.h"
#include "twprov/config.h"
#include "twprov/kind.h"
#include "twprov/model.h"

const char tw_usage_complete[] =
	"usage: twprov __complete WORD... CURRENT\n"
	"\n"
	"For the shell completion scripts: the candidates for CURRENT, one a line,\n"
	"then :words, :files or :dirs.\n";

/* An option as a usage text lists it. */
struct copt {
	char shortopt;          /* 'f', or 0 */
	char *name;             /* "--file" */
	char *metavar;          /* "FILE", or NULL: it takes no value */
	char *desc;
};

struct copts {
	struct copt *v;
	size_t n, alloc;
};

static void copts_release(struct copts *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].metavar);
		free(o->v[i].desc);
	}
	free(o->v);
}

/* A word of `s` up to a space (or `stop`), as a heap string; *s moves past it. */
static char *word(const char **s, const char *stop)
{
	size_t n = strcspn(*s, stop);
	char *w = tw_xstrndup(*s, n);
	*s += n;
	return w;
}

/* The option lines of a usage text: "  -o, --out DIR    description" (the description may
 * start on the next line). */
static void parse_options(const char *usage, struct copts *o)
{
	for (const char *line = usage; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p = line + strspn(line, " ");
		struct copt c = { 0 };

		if (p - line < 2 || *p != '-')
			continue;
		if (p[1] != '-') {
			c.shortopt = p[1];
			p += 2;
			if (*p == ',')
				p += 1 + strspn(p + 1, " ");
		}
		if (!strncmp(p, "--", 2))
			c.name = word(&p, " =\n");
		if (*p == ' ' && p[1] != ' ' && p[1] != '\n') {
			p++;
			c.metavar = word(&p, " \n");
		}
		p += strspn(p, " ");
		if (*p == '\n') {   /* the description on the next line */
			p++;
			p += strspn(p, " ");
		}
		c.desc = word(&p, "\n");
		if (!c.name && !c.shortopt) {
			free(c.metavar);
			free(c.desc);
			continue;
		}
		TW_ALLOC_GROW(o->v, o->n + 1, o->alloc);
		o->v[o->n++] = c;
	}
}

/* The n-th positional argument of a usage synopsis ("usage: twprov show [--json] PLANFILE"),
 * without brackets, or NULL. */
static char *positional(const char *usage, const char *cmd, size_t n)
{
	const char *end = strstr(usage, "\n\n"), *p = usage;
	int in_option = 0;

	if (!end)
		end = usage + strlen(usage);
	while (p < end) {
		p += strspn(p, " \n");
		if (p >= end)
			break;
		size_t len = strcspn(p, " \n");
		char *w = tw_xstrndup(p, len);
		int opens = w[0] == '[' && w[1] == '-', option = in_option || opens || w[0] == '-';

		if (strchr(w, ']'))
			in_option = 0;
		else if (opens)
			in_option = 1;
		p += len;
		if (option || !strcmp(w, "usage:") || !strcmp(w, "twprov") || !strcmp(w, cmd)) {
			free(w);
			continue;
		}
		if (!n--) {
			w[strcspn(w, "]")] = '\0';
			memmove(w, w + (w[0] == '['), strlen(w) + 1 - (w[0] == '['));
			return w;
		}
		free(w);
	}
	return NULL;
}

static const struct copt *find_opt(const struct copts *o, const char *w)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct copt *c = &o->v[i];
		if (w[0] == '-' && w[1] != '-' ? c->shortopt == w[1] : (c->name && !strcmp(c->name, w)))
			return c;
	}
	return NULL;
}

struct ctx {
	struct tw_buf *out;
	const char *cur;            /* the word being completed */
	const char *prefix;         /* printed before each candidate ("--target=") */
	const char *file;           /* -f */
	struct tw_model *m;
	int loaded;
};

static void candidate(struct ctx *c, const char *w, const char *desc)
{
	size_t pl = strlen(c->prefix);
	if (strncmp(c->cur, c->prefix, pl) || strncmp(w, c->cur + pl, strlen(c->cur + pl)))
		return;
	tw_buf_addf(c->out, "%s%s", c->prefix, w);
	if (desc && *desc)
		tw_buf_addf(c->out, "\t%s", desc);
	tw_buf_addc(c->out, '\n');
}

static struct tw_model *model(struct ctx *c)
{
	struct tw_err err = TW_ERR_INIT;
	struct tw_config_opts o = { .no_secrets = 1 };

	if (c->loaded)
		return c->m;
	c->loaded = 1;
	tw_config_load_opts(c->file, &o, &c->m, &err);
	return c->m;
}

/* The addresses of the resources the file declares (all of them, or of kind `kind` only: their
 * identities). */
static void resources(struct ctx *c, const struct tw_res *r, const char *kind)
{
	for (size_t i = 0; i < r->nchildren; i++) {
		const struct tw_res *k = r->children[i];
		if (!k->id && tw_kind_identity(k->kind) >= 0)
			continue;   /* an item the file gives no identity: it has no address */
		if (!kind) {
			char *a = tw_res_address(k);
			candidate(c, a, NULL);
			free(a);
		} else if (!strcmp(k->kind->name, kind) && k->id) {
			candidate(c, k->id, NULL);
		}
		resources(c, k, kind);
	}
}

static void kinds(struct ctx *c, int list)
{
	size_t n;
	const struct tw_kind *const *tops = tw_kind_children(NULL, &n);
	const char *comma = list ? strrchr(c->cur, ',') : NULL;
	char *prefix = comma ? tw_xstrndup(c->cur, (size_t)(comma + 1 - c->cur)) : NULL;
	const char *saved = c->prefix;

	if (prefix)
		c->prefix = prefix;
	for (size_t i = 0; i < n; i++)
		candidate(c, tops[i]->name, tops[i]->doc);
	c->prefix = saved;
	free(prefix);
}

/* The values of an option or argument, by its metavariable; the directive. */
static const char *values(struct ctx *c, const char *name, const char *metavar)
{
	struct tw_model *m;

	if (strstr(metavar, "FILE"))
		return ":files";
	if (!strcmp(metavar, "DIR"))
		return ":dirs";
	if (strstr(metavar, "KIND") && !strchr(metavar, '/')) {
		kinds(c, strstr(metavar, ",...") != NULL);
		return ":words";
	}
	if (!(m = model(c)))
		return ":words";
	if (!strcmp(metavar, "KIND/NAME"))
		resources(c, &m->root, NULL);
	else if (!strcmp(metavar, "USER"))
		resources(c, &m->root, "credentials");
	else if (!strcmp(metavar, "DOMAIN"))
		resources(c, &m->root, "sip_domains");
	else if (name && !strcmp(name, "--list"))
		resources(c, &m->root, "credential_lists");
	return ":words";
}

static void options(struct ctx *c, const struct copts *o, int after_command)
{
	for (size_t i = 0; i < o->n; i++) {
		if (after_command && o->v[i].name && !strcmp(o->v[i].name, "--version"))
			continue;   /* the one global option only main takes */
		if (o->v[i].name) {
			candidate(c, o->v[i].name, o->v[i].desc);
		} else {
			char s[3] = { '-', o->v[i].shortopt, '\0' };
			candidate(c, s, o->v[i].desc);
		}
	}
}

void tw_complete(const struct tw_cmd *cmds, char **words, size_t n, struct tw_buf *out)
{
	struct ctx c = { .out = out, .cur = n ? words[n - 1] : "", .prefix = "", .file = "twprov.yaml" };
	struct copts opts = { 0 };
	const struct tw_cmd *cmd = NULL;
	const struct copt *pending = NULL;
	size_t npos = 0;
	const char *directive = ":words";
	int dashdash = 0;

	parse_options(tw_usage_global, &opts);
	for (size_t i = 0; i + 1 < n; i++) {
		const char *w = words[i];
		const struct copt *o;
		if (pending) {
			if (pending->name && !strcmp(pending->name, "--file"))
				c.file = w;
			pending = NULL;
		} else if (!dashdash && !strcmp(w, "--")) {
			dashdash = 1;
		} else if (!dashdash && w[0] == '-' && w[1]) {
			char *name = tw_xstrndup(w, w[1] == '-' ? strcspn(w, "=") : 2);
			o = find_opt(&opts, name);
			if (o && o->metavar) {
				const char *v = w[1] == '-' ? strchr(w, '=') : (w[2] ? w + 2 : NULL);
				if (v && *v == '=')
					v++;
				if (!v)
					pending = o;
				else if (!strcmp(o->name ? o->name : "", "--file"))
					c.file = v;
			}
			free(name);
		} else if (!cmd) {
			for (const struct tw_cmd *k = cmds; k->name && !cmd; k++)
				if (!strcmp(k->name, w))
					cmd = k;
			if (!cmd)
				goto out;   /* an unknown command: nothing to offer */
			parse_options(cmd->usage, &opts);
		} else {
			npos++;
		}
	}

	if (pending) {
		directive = values(&c, pending->name, pending->metavar);
	} else if (!dashdash && !strncmp(c.cur, "--", 2) && strchr(c.cur, '=')) {
		char *name = tw_xstrndup(c.cur, strcspn(c.cur, "="));
		const struct copt *o = find_opt(&opts, name);
		char *prefix = tw_xasprintf("%s=", name);
		c.prefix = prefix;
		if (o && o->metavar)
			directive = values(&c, o->name, o->metavar);
		c.prefix = "";
		free(prefix);
		free(name);
	} else if (!dashdash && c.cur[0] == '-') {
		options(&c, &opts, cmd != NULL);
	} else if (!cmd) {
		for (const struct tw_cmd *k = cmds; k->name; k++)
			if (k->summary)
				candidate(&c, k->name, k->summary);
	} else {
		char *arg = positional(cmd->usage, cmd->name, npos);
		if (arg)
			directive = values(&c, NULL, arg);
		free(arg);
	}
out:
	tw_buf_addf(out, "%s\n", directive);
	tw_model_free(c.m);
	copts_release(&opts);
}

int cmd_complete(int argc, char **argv, struct tw_global *g)
{
	struct tw_buf out = TW_BUF_INIT;

	(void)g;
	tw_complete(tw_commands, argv + 1, (size_t)(argc - 1), &out);
	fwrite(out.buf, 1, out.len, stdout);
	tw_buf_release(&out);
	return TW_EXIT_OK;
}
