/* report.c - what an apply did, for the reader: the same for apply and remove-credential */
#include <stdio.h>

#include "twprov/apply.h"
#include "twprov/buf.h"
#include "twprov/log.h"

/* gone: -1 any, 0 not gone, 1 gone */
static void section(const struct tw_plan *p, const struct tw_apply_result *res, enum tw_act_state st, int gone,
		    const char *title, FILE *f)
{
	int any = 0;
	for (size_t i = 0; i < p->n && i < res->n; i++) {
		const struct tw_action *a = &p->acts[i];
		const struct tw_outcome *oc = &res->outcome[i];
		if (oc->state != st || (gone >= 0 && oc->gone != gone))
			continue;
		const struct tw_loc *at = st == TW_ST_FAILED && a->want && a->want->loc.line ? &a->want->loc : NULL;
		if (!any++)
			fprintf(f, "%s:\n", title);
		tw_show(f, "  %s %s%s%s%s", tw_act_symbol(a->type), tw_quote(a->address),
			a->custom ? " (" : "", a->custom ? a->custom->verb : "", a->custom ? ")" : "");
		if (at)     /* where the file declares it: what Twilio refused is there */
			tw_show(f, " (%s:%d:%d)", tw_quote(at->file ? at->file : "?"), at->line, at->col);
		tw_show(f, "%s%s\n", st == TW_ST_FAILED ? ": " : "", st == TW_ST_FAILED ? oc->err.msg : "");
	}
}

void tw_apply_report(const struct tw_plan *p, const struct tw_apply_result *res, const struct tw_report_titles *t,
		     FILE *f)
{
	static const struct tw_report_titles apply = { "Applied", NULL, "Failed", "Not applied" };

	if (!t)
		t = &apply;
	section(p, res, TW_ST_DONE, t->gone ? 0 : -1, t->done, f);
	if (t->gone)
		section(p, res, TW_ST_DONE, 1, t->gone, f);
	section(p, res, TW_ST_FAILED, -1, t->failed, f);
	section(p, res, TW_ST_SKIPPED, -1, t->skipped, f);
}
