/* cmd_remove_credential.c - revoke a SIP user now (offboarding) and drop it from the file */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "twprov/apply.h"
#include "twprov/checks.h"
#include "twprov/config.h"
#include "twprov/file.h"
#include "twprov/http.h"
#include "twprov/live.h"
#include "twprov/log.h"
#include "twprov/yedit.h"

const char tw_usage_remove_credential[] =
	"usage: twprov remove-credential [-f FILE] [--list NAME]... [--all-lists] [--dry-run]\n"
	"                                [--keep-file] [--auto-approve] USER\n"
	"\n"
	"Revoke the SIP user USER at once (offboarding): delete it at Twilio from\n"
	"every credential list of the file that declares it, then remove those\n"
	"entries from the file, keeping every other byte as it was (comments, order,\n"
	"quoting, indentation).  The edited file is re-read and checked before it\n"
	"replaces the original; if a safe edit is impossible the file is left alone\n"
	"and twprov says what to remove by hand.  No password is needed: secret\n"
	"references in the file are not resolved.  On a terminal it asks for \"yes\";\n"
	"when stdin is not a terminal it refuses unless --auto-approve is given.\n"
	"\n"
	"  --list NAME      only this credential list; repeatable\n"
	"  --all-lists      also delete USER from lists where Twilio has it and the\n"
	"                   file does not (lists matching `ignore` are left alone)\n"
	"  --dry-run        print the deletions and the file change; change nothing\n"
	"  --keep-file      revoke at Twilio but leave the file as it is\n"
	"  --auto-approve   do not ask for confirmation\n";

enum { OPT_LIST = TW_OPT_FIRST_COMMAND_OPT, OPT_ALL, OPT_DRY, OPT_KEEP, OPT_AUTO };

/* One credential to revoke (at Twilio, in the file, or both). */
struct target {
	const char *list;               /* the credential list's name */
	const struct tw_res *want;      /* the declared credential, or NULL (not in the file) */
	const struct tw_res *have;      /* the live credential, or NULL (not at Twilio) */
	struct tw_yedit_place place;    /* where `want` is written */
	int twin;                       /* at a second live list with the name of a declared one */
};

struct rm {
	const char *user;
	const char **lists;             /* --list */
	size_t nlists, alists;
	int all_lists, dry_run, keep_file;
	struct target *t;
	size_t n, alloc;
	size_t nfile;                   /* targets with `want` */
	size_t nlive;                   /* targets with `have` */
	json_t *notes;                  /* strings */
};

/* ---- the file ---- */

/* The file as it is now, whole (a file over the loader's limit is still read: the loader reports it). */
static int read_all(const char *path, struct tw_buf *out, struct stat *st, struct tw_err *err)
{
	if (tw_read_file(path, (size_t)-2, out, st, err) < 0) {
		err->kind = TW_ERR_INVALID;
		return -1;
	}
	return 0;
}

/*
 * Replace `path` with `text` atomically: only if the file still holds
 * `orig`; a temporary file in the same directory (mode 0600 while it
 * exists, removed if a signal ends twprov), fsync, rename over the file (a
 * symlink's target), then the original mode (and owner, when allowed), fsync
 * of the directory.
 */
static int replace_file(const char *path, const struct tw_buf *orig, const char *text, size_t len,
			struct tw_err *err)
{
	char *real = realpath(path, NULL), *dir;
	const char *target = real ? real : path, *base;
	struct tw_tmpfile tmp;
	struct tw_buf now = TW_BUF_INIT;
	struct stat st;
	int fd, dirfd, ret = -1;

	if (read_all(target, &now, &st, err) < 0)
		goto out_real;
	if (now.len != orig->len || memcmp(now.buf, orig->buf, now.len)) {
		tw_err_set(err, "%s changed while twprov was running", tw_quote(path));
		goto out_real;
	}
	dir = tw_dir_of(target);
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		tw_err_set(err, "cannot open the directory %s: %s", tw_quote(dir), strerror(errno));
		goto out_dir;
	}
	if ((fd = tw_tmpfile_write(&tmp, dirfd, dir, base, text, len, err)) < 0)
		goto out_dirfd;
	if (tw_tmpfile_commit(&tmp, base, err) < 0) {
		close(fd);
		tw_tmpfile_discard(&tmp);
		goto out_dirfd;
	}
	/* the file's own mode and owner come back once it is in place (a temporary file is 0600) */
	if (fchmod(fd, st.st_mode & 07777) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0) {
		/* not allowed to give the file away: it stays ours, at worst only readable by us */
	}
	close(fd);
	fsync(dirfd);   /* make the rename durable; a failure here changes nothing */
	ret = 0;
out_dirfd:
	close(dirfd);
out_dir:
	free(dir);
out_real:
	tw_buf_wipe(&now);
	free(real);
	return ret;
}

/* ---- targets ---- */

static struct target *add_target(struct rm *rm, const char *list, const struct tw_res *want, const struct tw_res *have)
{
	TW_ALLOC_GROW(rm->t, rm->n + 1, rm->alloc);
	struct target *t = &rm->t[rm->n++];
	memset(t, 0, sizeof(*t));
	t->list = list;
	t->want = want;
	t->have = have;
	rm->nfile += want != NULL;
	rm->nlive += have != NULL;
	return t;
}

static int listed(const struct rm *rm, const char *name)
{
	if (!rm->nlists)
		return 1;
	for (size_t i = 0; i < rm->nlists; i++)
		if (!strcmp(rm->lists[i], name))
			return 1;
	return 0;
}

static const char *ignored_by(const struct tw_model *m, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(m->ignore, i, v)
		if (tw_glob_match(json_string_value(v), name))
			return json_string_value(v);
	return NULL;
}

/* The declared, present list of this name, or NULL. */
static const struct tw_res *declared_list(const struct tw_model *m, const char *name)
{
	const struct tw_res *l = tw_res_find(&m->root, tw_kind_find("credential_lists"), name);
	return l && !l->absent ? l : NULL;
}

/* The file's side: declared lists that hold the user. */
static int file_targets(struct rm *rm, const struct tw_model *m)
{
	const struct tw_kind *kl = tw_kind_find("credential_lists"), *kc = tw_kind_find("credentials");
	for (size_t i = 0; i < m->root.nchildren; i++) {
		const struct tw_res *l = m->root.children[i];
		const struct tw_res *c;
		if (l->kind != kl || l->absent || !l->id || !listed(rm, l->id))
			continue;
		if ((c = tw_res_find(l, kc, rm->user)))
			add_target(rm, l->id, c, NULL);
	}
	for (size_t i = 0; i < rm->nlists; i++)
		if (!rm->all_lists && !declared_list(m, rm->lists[i])) {
			tw_error("credential list \"%s\" is not declared in %s (--all-lists acts on lists only "
				 "Twilio has)", rm->lists[i], tw_quote(m->file));
			return TW_EXIT_FAIL;
		}
	return TW_EXIT_OK;
}

/* The live side: match the file's targets with Twilio's credentials; with
 * --all-lists add every other live list holding the user. */
static void live_targets(struct rm *rm, const struct tw_model *m, const struct tw_model *live)
{
	const struct tw_kind *kl = tw_kind_find("credential_lists"), *kc = tw_kind_find("credentials");
	size_t nfile = rm->n;

	for (size_t i = 0; i < nfile; i++) {
		int found = 0;
		for (size_t j = 0; j < live->root.nchildren; j++) {
			const struct tw_res *l = live->root.children[j], *c;
			if (l->kind != kl || !l->id || strcmp(l->id, rm->t[i].list) || !(c = tw_res_find(l, kc, rm->user)))
				continue;
			if (!found++) {
				rm->t[i].have = c;
				rm->nlive++;
			} else {
				/* two live lists of that name: revoke in both */
				add_target(rm, rm->t[i].list, NULL, c)->twin = 1;
			}
		}
	}
	for (size_t j = 0; j < live->root.nchildren; j++) {
		const struct tw_res *l = live->root.children[j], *c, *dl;
		if (l->kind != kl || !l->id || !listed(rm, l->id) || !(c = tw_res_find(l, kc, rm->user)))
			continue;
		dl = declared_list(m, l->id);
		if (dl && tw_res_find(dl, kc, rm->user))
			continue;   /* a file target, matched above */
		const char *glob = dl ? NULL : ignored_by(m, l->id);
		char *addr = tw_res_address(c);
		if (!rm->all_lists)
			json_array_append_new(rm->notes, json_sprintf("Twilio also has %s, which the file declares without "
				"%s: twprov apply removes it, or run again with --all-lists", addr, rm->user));
		else if (glob)
			json_array_append_new(rm->notes, json_sprintf("%s is left alone: its list matches ignore \"%s\"",
								      addr, glob));
		else
			add_target(rm, l->id, NULL, c);
		free(addr);
	}
}

/* Declare list `name` in w (once). */
static void want_list(struct tw_model *w, const struct tw_kind *kl, const char *name)
{
	struct tw_res *r;

	if (tw_res_find(&w->root, kl, name))
		return;
	r = tw_res_new(kl, NULL);
	r->id = tw_xstrdup(name);
	tw_res_add_child(&w->root, r);
}

/* What the live reader needs: the lists whose credentials are read. */
static struct tw_model *read_model(const struct rm *rm, const struct tw_model *m)
{
	const struct tw_kind *kl = tw_kind_find("credential_lists");
	struct tw_model *w = tw_model_new(0);

	json_object_set_new(w->kinds_present, kl->yaml_key, json_true());
	for (size_t i = 0; i < m->root.nchildren; i++) {
		const struct tw_res *l = m->root.children[i];
		if (l->kind == kl && !l->absent && l->id && listed(rm, l->id))
			want_list(w, kl, l->id);
	}
	/* --list with --all-lists: read those lists whether the file declares them or not */
	for (size_t i = 0; rm->all_lists && i < rm->nlists; i++)
		want_list(w, kl, rm->lists[i]);
	return w;
}

/* ---- the edit ---- */

struct edit {
	struct tw_buf text;             /* the new file */
	struct tw_yedit *ed;
	int ok;
	struct tw_err why;
};

static void plan_edit(struct rm *rm, const struct tw_model *m, const struct tw_buf *orig, struct edit *ed)
{
	const struct tw_kind *kc = tw_kind_find("credentials");
	const struct tw_res **removed = tw_xcalloc(rm->n ? rm->n : 1, sizeof(*removed));
	const struct tw_config_opts o = { .no_secrets = 1 };
	struct tw_err err = TW_ERR_INIT;
	size_t n = 0;
	char *dir, *real;

	ed->ok = 0;
	ed->ed = tw_yedit_new(orig->buf, orig->len, &ed->why);
	for (size_t i = 0; i < rm->n; i++) {
		struct target *t = &rm->t[i];
		if (!t->want)
			continue;
		removed[n++] = t->want;
		if (ed->ed && tw_yedit_remove(ed->ed, kc, t->list, rm->user, &t->place, &err) < 0 && !ed->why.msg[0]) {
			char *addr = tw_res_address(t->want);
			ed->why = err;
			tw_err_prefix(&ed->why, "%s", addr);
			free(addr);
		}
	}
	if (!ed->ed || ed->why.msg[0])
		goto out;
	tw_yedit_result(ed->ed, &ed->text);
	if (tw_yedit_verify(m, ed->text.buf, ed->text.len, &o, removed, n, &ed->why) < 0)
		goto out;
	real = realpath(m->file, NULL);
	dir = tw_dir_of(real ? real : m->file);
	free(real);
	if (access(m->file, W_OK) < 0)
		tw_err_set(&ed->why, "%s is not writable: %s", m->file, strerror(errno));
	else if (access(dir, W_OK) < 0)
		tw_err_set(&ed->why, "cannot write in %s: %s", dir, strerror(errno));
	free(dir);
	ed->ok = !ed->why.msg[0];
out:
	free(removed);
}

static void print_hand_edit(const struct rm *rm, const struct tw_model *m)
{
	tw_show(stderr, "Remove %s by hand from %s:\n", rm->nfile > 1 ? "these entries" : "this entry",
		tw_quote(m->file));
	for (size_t i = 0; i < rm->n; i++) {
		const struct target *t = &rm->t[i];
		if (!t->want)
			continue;
		char *addr = tw_res_address(t->want);
		tw_show(stderr, "  %s:%d:%d: %s", tw_quote(m->file), t->want->loc.line, t->want->loc.col,
			tw_quote(addr));
		if (t->place.line && t->place.end_line > t->place.line)
			fprintf(stderr, " (lines %d-%d)", t->place.line, t->place.end_line);
		else if (t->place.line)
			fprintf(stderr, " (line %d)", t->place.line);
		fputc('\n', stderr);
		free(addr);
	}
}

/* ---- printing ---- */

/* A blank line between sections. */
static void section(int *printed)
{
	if ((*printed)++)
		putchar('\n');
}

static void print_plan(const struct rm *rm, const struct tw_model *m, const struct edit *ed,
		       const struct tw_plan *revocations)
{
	int printed = 0, any = 0;
	size_t i;
	json_t *v;

	if (rm->nlive) {
		json_t *o = tw_plan_json(revocations);
		section(&printed);
		printf("twprov will revoke the SIP user %s at Twilio:\n\n", tw_quote(rm->user));
		tw_plan_print_actions(o, stdout);
		json_decref(o);
	}
	for (i = 0; i < rm->n; i++) {
		const struct target *t = &rm->t[i];
		if (!t->want || t->have)
			continue;
		if (!any++)
			section(&printed);
		char *addr = tw_res_address(t->want);
		printf("Not at Twilio, nothing to revoke: %s\n", tw_quote(addr));
		free(addr);
	}
	if (rm->nfile && rm->keep_file) {
		section(&printed);
		printf("%s is left as it is (--keep-file): it still declares %s, so the next apply creates it again.\n",
		       tw_quote(m->file), tw_quote(rm->user));
	} else if (rm->nfile && ed->ok) {
		struct tw_buf diff = TW_BUF_INIT;
		tw_yedit_diff(ed->ed, m->file, tw_out.color, &diff);
		section(&printed);
		printf("%s loses %zu entr%s:\n\n", tw_quote(m->file), rm->nfile, rm->nfile == 1 ? "y" : "ies");
		fwrite(diff.buf, 1, diff.len, stdout);
		tw_buf_wipe(&diff);
	}
	if (json_array_size(rm->notes))
		section(&printed);
	json_array_foreach(rm->notes, i, v)
		tw_show(stdout, "Note: %s.\n", json_string_value(v));
	fflush(stdout);
}

/*
 * The revocations are a plan of deletes, one per live credential, in the
 * order of the targets; each notes why it is there when the file does not
 * declare it.
 */
static struct tw_plan *revocations(const struct rm *rm, const struct tw_model *m)
{
	const struct tw_res **live = tw_xcalloc(rm->nlive ? rm->nlive : 1, sizeof(*live));
	char **notes = tw_xcalloc(rm->nlive ? rm->nlive : 1, sizeof(*notes));
	struct tw_plan *p;
	size_t n = 0;

	for (size_t i = 0; i < rm->n; i++) {
		const struct target *t = &rm->t[i];
		if (!t->have)
			continue;
		live[n] = t->have;
		notes[n++] = t->twin ? tw_xstrdup("another list with this name at Twilio")
			     : !t->want ? tw_xasprintf("not in %s", m->file) : NULL;
	}
	p = tw_plan_deletes(live, (const char *const *)notes, n);
	for (size_t i = 0; i < n; i++)
		free(notes[i]);
	free(notes);
	free(live);
	return p;
}

/* Revoke them all on the engine: every list is tried even if one fails (keep-going). */
static int revoke_all(const struct rm *rm, const struct tw_plan *p, struct tw_http *h, const struct tw_model *m)
{
	static const struct tw_report_titles titles = { "Revoked", "Already gone", "Not revoked", "Not started" };
	struct tw_apply_opts o = { .interrupted = &tw_cmd_interrupted, .keep_going = 1 };
	struct tw_apply_result res;
	struct tw_err err = TW_ERR_INIT;
	int rc = TW_EXIT_OK;

	tw_cmd_catch_signals(1);
	if (tw_apply(h, p, &o, &res, &err) < 0) {
		tw_error("revoking %s stopped: not every credential was deleted at Twilio (%s)", tw_quote(rm->user),
			 err.msg);
		tw_apply_report(p, &res, &titles, stderr);
		if (rm->nfile && !rm->keep_file)
			tw_show(stderr, "%s was not edited. Run the same command again to finish: it re-reads the "
				"account and revokes what is left.\n", tw_quote(m->file));
		rc = TW_EXIT_FAIL;
	}
	tw_cmd_catch_signals(0);
	tw_apply_result_release(&res);
	return rc;
}

/* ---- the command ---- */

int cmd_remove_credential(int argc, char **argv, struct tw_global *g)
{
	static const struct option longopts[] = {
		TW_GLOBAL_LONGOPTS,
		{ "list", required_argument, NULL, OPT_LIST },
		{ "all-lists", no_argument, NULL, OPT_ALL },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "keep-file", no_argument, NULL, OPT_KEEP },
		{ "auto-approve", no_argument, NULL, OPT_AUTO },
		{ NULL, 0, NULL, 0 },
	};
	const struct tw_config_opts lo = { .no_secrets = 1 };
	struct rm rm = { .notes = json_array() };
	struct tw_buf orig = TW_BUF_INIT;
	struct tw_model *m = NULL, *want = NULL, *live = NULL;
	struct tw_http *h = NULL;
	struct edit ed = { .text = TW_BUF_INIT, .why = TW_ERR_INIT };
	struct tw_err err = TW_ERR_INIT;
	struct stat st;
	int c, autoapprove = 0, rc = TW_EXIT_USAGE;
	char *dir = NULL;
	struct tw_plan *revoke = NULL;

	/* the global short options, permuted: options may follow USER ("--" ends them) */
	while ((c = getopt_long(argc, argv, ":f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = tw_cmd_usage("remove-credential", 0);
			goto out;
		case OPT_LIST:
			TW_ALLOC_GROW(rm.lists, rm.nlists + 1, rm.alists);
			rm.lists[rm.nlists++] = optarg;
			break;
		case OPT_ALL: rm.all_lists = 1; break;
		case OPT_DRY: rm.dry_run = 1; break;
		case OPT_KEEP: rm.keep_file = 1; break;
		case OPT_AUTO: autoapprove = 1; break;
		default:
			if (!tw_global_opt(g, c, optarg)) {
				rc = tw_cmd_bad_option("remove-credential", longopts, argv, c);
				goto out;
			}
		}
	}
	tw_global_apply(g);
	if (argc - optind != 1 || !*argv[optind]) {
		tw_error(argc - optind > 1 ? "remove-credential takes one USER" : "remove-credential needs a USER");
		tw_cmd_usage("remove-credential", 1);
		goto out;
	}
	rm.user = argv[optind];

	/* the file, read once: what is loaded is what is edited */
	if (read_all(g->file, &orig, &st, &err) < 0) {
		tw_error("%s", err.msg);
		rc = TW_EXIT_INVALID;
		goto out;
	}
	dir = tw_dir_of(g->file);
	if (tw_config_load_buf_opts(g->file, dir, orig.buf, orig.len, &lo, &m, &err) < 0) {
		tw_diags_print(&m->diags, stderr);
		tw_error("%s", err.msg);
		rc = TW_EXIT_INVALID;
		goto out;
	}
	tw_diags_print(&m->diags, stderr);

	rc = file_targets(&rm, m);
	if (rc != TW_EXIT_OK)
		goto out;
	if (!rm.n && !rm.all_lists) {
		if (rm.nlists == 1)
			tw_error("credential list \"%s\" of %s does not declare the user %s (nothing was changed; "
				 "--all-lists looks for it at Twilio too)", rm.lists[0], m->file, rm.user);
		else
			tw_error("no credential list %sof %s declares the user %s (nothing was changed; "
				 "--all-lists looks for it at Twilio too)", rm.nlists ? "given with --list " : "",
				 m->file, rm.user);
		rc = TW_EXIT_FAIL;
		goto out;
	}

	if ((rc = tw_cmd_connect(g, m, 0, &h)) != TW_EXIT_OK)
		goto out;
	want = read_model(&rm, m);
	struct tw_live_opts opts = { .all_children = rm.all_lists && !rm.nlists };
	if (tw_live_read(h, want, &opts, &live, &err) < 0) {
		tw_error("%s", err.msg);
		if (err.status == 401)
			tw_info("hint: Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
				"(or TWILIO_API_KEY and TWILIO_API_SECRET)");
		rc = TW_EXIT_FAIL;
		goto out;
	}
	live_targets(&rm, m, live);
	if (!rm.n) {
		tw_error("the user %s is neither in %s nor in any credential list at Twilio%s (nothing was changed)",
			 rm.user, m->file, rm.nlists ? " given with --list" : "");
		rc = TW_EXIT_FAIL;
		goto out;
	}
	revoke = revocations(&rm, m);
	if (!rm.nlive && rm.keep_file) {
		print_plan(&rm, m, &ed, revoke);
		printf("\nNo changes: Twilio has no credential %s, and --keep-file leaves %s alone.\n",
		       tw_quote(rm.user), tw_quote(m->file));
		rc = TW_EXIT_OK;
		goto out;
	}

	if (rm.nfile && !rm.keep_file)
		plan_edit(&rm, m, &orig, &ed);
	print_plan(&rm, m, &ed, revoke);
	if (rm.nfile && !rm.keep_file && !ed.ok) {
		if (rm.nlive || rm.dry_run) {
			tw_warning("%s cannot be edited safely: %s", m->file, ed.why.msg);
			if (rm.nlive)
				fprintf(stderr, "The revocation goes ahead all the same; the file is left as it is.\n");
		} else {
			tw_error("%s cannot be edited safely: %s (nothing was changed)", m->file, ed.why.msg);
		}
		print_hand_edit(&rm, m);
	}
	if (rm.dry_run) {
		printf("\nDry run: nothing was changed.\n");
		rc = TW_EXIT_OK;
		goto out;
	}
	if (!rm.nlive && (rm.keep_file || !ed.ok)) {
		rc = TW_EXIT_FAIL;   /* nothing to revoke, and the file cannot be edited */
		goto out;
	}
	putchar('\n');
	fflush(stdout);
	if (!autoapprove && (rc = tw_cmd_confirm("revoke the credential", "Removal cancelled.")) != TW_EXIT_OK)
		goto out;

	if (rm.nlive && (rc = revoke_all(&rm, revoke, h, m)) != TW_EXIT_OK)
		goto out;
	if (rm.nfile && !rm.keep_file) {
		if (ed.ok && replace_file(g->file, &orig, ed.text.buf, ed.text.len, &ed.why) < 0)
			ed.ok = 0;
		if (!ed.ok) {
			if (rm.nlive)
				tw_error("%s was revoked at Twilio, but %s was not edited: %s", rm.user, m->file, ed.why.msg);
			else
				tw_error("%s was not edited: %s", m->file, ed.why.msg);
			print_hand_edit(&rm, m);
			rc = TW_EXIT_FAIL;
			goto out;
		}
	}
	printf("Removed %s: %zu credential%s revoked at Twilio", tw_quote(rm.user), rm.nlive, rm.nlive == 1 ? "" : "s");
	if (rm.nfile && !rm.keep_file)
		printf(", %zu entr%s removed from %s", rm.nfile, rm.nfile == 1 ? "y" : "ies", tw_quote(m->file));
	printf(".\n");
	rc = TW_EXIT_OK;
out:
	tw_plan_free(revoke);
	tw_yedit_free(ed.ed);
	tw_buf_wipe(&ed.text);
	tw_buf_wipe(&orig);
	free(dir);
	free(rm.t);
	free(rm.lists);
	json_decref(rm.notes);
	tw_model_free(live);
	tw_model_free(want);
	tw_model_free(m);
	tw_http_free(h);
	return rc;
}
