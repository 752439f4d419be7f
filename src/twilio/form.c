/* form.c - application/x-www-form-urlencoded bodies, with a redacted twin for traces */
#include <string.h>

#include "twprov/http.h"

void tw_form_init(struct tw_form *f)
{
	tw_buf_init(&f->body);
	tw_buf_init(&f->shown);
}

void tw_form_release(struct tw_form *f)
{
	tw_buf_wipe(&f->body);
	tw_buf_release(&f->shown);
}

/*
 * Make room for `extra` more bytes in the body without realloc, so that a
 * secret added earlier is never left behind in freed heap memory: the new
 * buffer is a copy and the old one is wiped.
 */
static void body_reserve(struct tw_form *f, size_t extra)
{
	struct tw_buf nb = TW_BUF_INIT;
	if (f->body.alloc && f->body.len + extra + 1 <= f->body.alloc)
		return;
	tw_buf_grow(&nb, f->body.len + extra);
	tw_buf_add(&nb, f->body.buf, f->body.len);
	tw_buf_wipe(&f->body);
	f->body = nb;
}

static void add_pair(struct tw_form *f, const char *key, const char *value, int secret)
{
	if (!value)
		value = "";
	/* percent-encoding at most triples every byte */
	body_reserve(f, 3 * (strlen(key) + strlen(value)) + 2);
	if (f->body.len) {
		tw_buf_addc(&f->body, '&');
		tw_buf_addc(&f->shown, '&');
	}
	tw_buf_add_urlencoded(&f->body, key);
	tw_buf_addc(&f->body, '=');
	tw_buf_add_urlencoded(&f->body, value);

	tw_buf_add_urlencoded(&f->shown, key);
	tw_buf_addc(&f->shown, '=');
	if (secret)
		tw_buf_adds(&f->shown, "(redacted)");
	else
		tw_buf_add_urlencoded(&f->shown, value);
}

void tw_form_add(struct tw_form *f, const char *key, const char *value)
{
	add_pair(f, key, value, 0);
}

void tw_form_add_secret(struct tw_form *f, const char *key, const char *value)
{
	add_pair(f, key, value, 1);
}

void tw_form_add_bool(struct tw_form *f, const char *key, int value)
{
	add_pair(f, key, value ? "true" : "false", 0);
}
