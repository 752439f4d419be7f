/* page.c - list envelopes (2010 and v1) and paginated lists over tw_http */
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/http.h"

const char *tw_page_next(const json_t *page)
{
	const json_t *meta = json_object_get(page, "meta");
	const char *next;

	if (json_is_object(meta))
		next = json_string_value(json_object_get(meta, "next_page_url"));     /* v1 */
	else
		next = json_string_value(json_object_get(page, "next_page_uri"));     /* 2010 */
	return next && *next ? next : NULL;
}

json_t *tw_page_items(const json_t *page, const char *list_key)
{
	json_t *items = NULL;

	if (list_key)
		items = json_object_get(page, list_key);
	if (!json_is_array(items)) {
		const char *key = json_string_value(json_object_get(json_object_get(page, "meta"), "key"));
		items = key ? json_object_get(page, key) : NULL;
	}
	return json_is_array(items) ? items : NULL;
}

/* Pages of one collection at most: 1000 pages of 1000 items (PageSize) is a million resources;
 * a server whose pages never end must not hold twprov (and its memory) forever. */
#define TW_MAX_PAGES 1000

struct tw_list {
	enum tw_product product;
	char *list_key;
	char *collection;       /* the path asked for, for messages */
	json_t *items;
	json_t *seen;           /* URL of each page asked for -> its number (1-based) */
	tw_list_cb done;
	void *ud;
};

static void list_finish(struct tw_http *h, struct tw_list *l, const struct tw_err *err)
{
	l->done(h, err ? NULL : l->items, err, l->ud);
	json_decref(l->items);
	json_decref(l->seen);
	free(l->list_key);
	free(l->collection);
	free(l);
}

/* "PageSize" already among the parameters of the query string of `path`? */
static int has_page_size(const char *path)
{
	const char *q = strchr(path, '?');
	while (q) {
		q++;
		if (!strncmp(q, "PageSize=", 9))
			return 1;
		q = strchr(q, '&');
	}
	return 0;
}

static void list_page_done(struct tw_http *h, struct tw_req *r)
{
	struct tw_list *l = r->ud;
	struct tw_err err = TW_ERR_INIT;
	const char *next;
	json_t *items, *at;
	char *url;

	if (r->result != TW_REQ_OK) {
		list_finish(h, l, &r->err);
		tw_req_free(r);
		return;
	}
	items = tw_page_items(r->json, l->list_key);
	if (!items) {
		tw_err_set(&err, "unexpected list page from GET %s: no \"%s\" array", r->url,
			   l->list_key ? l->list_key : "meta.key");
		goto fail;
	}
	json_array_extend(l->items, items);

	next = tw_page_next(r->json);
	if (!next) {
		list_finish(h, l, NULL);
		tw_req_free(r);
		return;
	}
	url = tw_http_link(h, l->product, next);
	if (!url) {
		tw_err_set(&err, "unexpected list page from GET %s: bad next page link %.200s", r->url,
			   tw_quote_always(next));
		goto fail;
	}
	/* every loop over the server's answers is bounded: a link back to a page already read
	 * (a cycle, or a page linking to itself) and a list that never ends both stop it */
	if ((at = json_object_get(l->seen, url))) {
		tw_err_set(&err, "list %s: page %zu links back to page %lld: the server's next-page links go round "
			   "in a circle", tw_quote(l->collection), json_object_size(l->seen), json_integer_value(at));
		free(url);
		goto fail;
	}
	if (json_object_size(l->seen) >= TW_MAX_PAGES) {
		tw_err_set(&err, "list %s: more than %d pages (%zu items so far): the server's pages do not end",
			   tw_quote(l->collection), TW_MAX_PAGES, json_array_size(l->items));
		free(url);
		goto fail;
	}
	json_object_set_new(l->seen, url, json_integer((json_int_t)json_object_size(l->seen) + 1));
	tw_req_free(r);
	tw_http_submit(h, tw_req_new("GET", url, list_page_done, l));
	return;

fail:
	list_finish(h, l, &err);
	tw_req_free(r);
}

void tw_http_list(struct tw_http *h, enum tw_product product, const char *path, const char *list_key,
		  tw_list_cb done, void *ud)
{
	tw_http_list_after(h, product, path, list_key, 0, done, ud);
}

void tw_http_list_after(struct tw_http *h, enum tw_product product, const char *path, const char *list_key,
			long delay_ms, tw_list_cb done, void *ud)
{
	struct tw_list *l = tw_xcalloc(1, sizeof(*l));
	struct tw_buf p = TW_BUF_INIT;
	char *url;

	l->product = product;
	l->list_key = list_key ? tw_xstrdup(list_key) : NULL;
	l->collection = tw_xstrndup(path, strcspn(path, "?"));
	l->items = json_array();
	l->seen = json_object();
	l->done = done;
	l->ud = ud;

	tw_buf_adds(&p, path);
	if (!has_page_size(path)) {
		if (!strchr(path, '?'))
			tw_buf_addc(&p, '?');
		else if (p.len && p.buf[p.len - 1] != '?' && p.buf[p.len - 1] != '&')
			tw_buf_addc(&p, '&');
		tw_buf_adds(&p, "PageSize=1000");
	}
	url = tw_http_url(h, product, p.buf);
	tw_buf_release(&p);
	json_object_set_new(l->seen, url, json_integer(1));
	if (delay_ms > 0)
		tw_http_submit_after(h, tw_req_new("GET", url, list_page_done, l), delay_ms);
	else
		tw_http_submit(h, tw_req_new("GET", url, list_page_done, l));
}
