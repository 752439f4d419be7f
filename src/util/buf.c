/* buf.c - growable buffer and allocation helpers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"

char tw_buf_slop[1];

static void die_oom(void)
{
	fputs("fatal: out of memory\n", stderr);
	abort();
}

void *tw_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

void *tw_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom();
	return p;
}

void *tw_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

char *tw_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die_oom();
	return p;
}

char *tw_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		die_oom();
	return p;
}

char *tw_xasprintf(const char *fmt, ...)
{
	struct tw_buf b = TW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	tw_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return tw_buf_detach(&b);
}

void tw_memwipe(void *p, size_t n)
{
	explicit_bzero(p, n);   /* a memset the compiler may not remove */
}

void tw_buf_init(struct tw_buf *b)
{
	b->buf = tw_buf_slop;
	b->len = b->alloc = 0;
}

void tw_buf_release(struct tw_buf *b)
{
	if (b->alloc)
		free(b->buf);
	tw_buf_init(b);
}

void tw_buf_wipe(struct tw_buf *b)
{
	if (b->alloc)
		tw_memwipe(b->buf, b->alloc);
	tw_buf_release(b);
}

void tw_buf_reset(struct tw_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

void tw_buf_grow(struct tw_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < need)
		n *= 2;
	if (!b->alloc) {
		b->buf = tw_xmalloc(n);
		b->buf[0] = '\0';
	} else {
		b->buf = tw_xrealloc(b->buf, n);
	}
	b->alloc = n;
}

void tw_buf_add(struct tw_buf *b, const void *data, size_t len)
{
	tw_buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void tw_buf_adds(struct tw_buf *b, const char *s)
{
	tw_buf_add(b, s, strlen(s));
}

void tw_buf_addc(struct tw_buf *b, char c)
{
	tw_buf_add(b, &c, 1);
}

void tw_buf_vaddf(struct tw_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(b->buf + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= (b->alloc ? b->alloc - b->len : 0)) {
		tw_buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void tw_buf_addf(struct tw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tw_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *tw_buf_detach(struct tw_buf *b)
{
	char *s = b->alloc ? b->buf : tw_xstrdup("");
	tw_buf_init(b);
	return s;
}

void tw_buf_add_urlencoded(struct tw_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			tw_buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			tw_buf_add(b, e, 3);
		}
	}
}
