/* buf.c - growable buffer and allocation helpers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twprov/buf.h"
#include "twprov/redact.h"

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

/*
 * The length of the UTF-8 character at s (at most len bytes) when it is valid
 * and may be shown as it is; 0 when its bytes must be escaped: not UTF-8
 * (a stray or missing continuation byte, an overlong form, a surrogate, past
 * U+10FFFF), or a control character or an invisible formatting or bidi
 * control that could reorder or hide what a terminal shows.
 */
static size_t printable_char(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f ||                                   /* C1 controls */
	    cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
		return 0;
	return n;
}

static void add_escaped(struct tw_buf *b, const char *s, size_t len, unsigned flags)
{
	static const char named[] = "abtnvfr";     /* the C escapes of 7 to 13 */

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = printable_char((const unsigned char *)s + i, len - i);
		if (n && !((c == '"' || c == '\\') && !(flags & TW_QUOTE_INLINE))) {
			tw_buf_add(b, s + i, n);
			i += n;
			continue;
		}
		if (n) {
			tw_buf_addc(b, '\\');
			tw_buf_addc(b, (char)c);
		} else if (c >= 7 && c <= 13) {
			tw_buf_addc(b, '\\');
			tw_buf_addc(b, named[c - 7]);
		} else {
			char o[4] = { '\\', (char)('0' + (c >> 6)), (char)('0' + (c >> 3 & 7)), (char)('0' + (c & 7)) };
			tw_buf_add(b, o, 4);
		}
		i++;
	}
}

void tw_buf_add_quoted(struct tw_buf *b, const char *s, size_t len, unsigned flags)
{
	struct tw_buf clean = TW_BUF_INIT;
	size_t at, n, i;

	if (tw_secret_find(s, len, &at, &n)) {
		tw_redact(s, len, &clean);
		s = clean.buf;
		len = clean.len;
	}
	if (flags & TW_QUOTE_INLINE) {
		add_escaped(b, s, len, flags);
	} else {
		for (i = 0; i < len && !(flags & TW_QUOTE_ALWAYS); i += n) {
			n = printable_char((const unsigned char *)s + i, len - i);
			if (!n || s[i] == '"' || s[i] == '\\')
				break;
		}
		if (i == len && !(flags & TW_QUOTE_ALWAYS)) {
			tw_buf_add(b, s, len);
		} else {
			tw_buf_addc(b, '"');
			add_escaped(b, s, len, flags);
			tw_buf_addc(b, '"');
		}
	}
	tw_buf_release(&clean);
}

static struct tw_buf quote_ring[8];

static const char *ring(const char *s, unsigned flags)
{
	static unsigned next;
	struct tw_buf *b = &quote_ring[next++ % 8];

	if (!b->alloc)
		tw_buf_init(b);
	tw_buf_reset(b);
	if (s)
		tw_buf_add_quoted(b, s, strlen(s), flags);
	else
		tw_buf_adds(b, "(none)");
	return b->buf;
}

const char *tw_quote(const char *s)
{
	return ring(s, 0);
}

const char *tw_quote_always(const char *s)
{
	return ring(s, TW_QUOTE_ALWAYS);
}

void tw_quote_release(void)
{
	for (size_t i = 0; i < 8; i++)
		tw_buf_wipe(&quote_ring[i]);
}
