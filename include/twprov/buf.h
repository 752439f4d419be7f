/* buf.h - growable byte/string buffer (like git's strbuf) */
#ifndef TWPROV_BUF_H
#define TWPROV_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable, always NUL-terminated buffer.  `buf` is never NULL after
 * tw_buf_init (it points at a static empty string until something is added),
 * so it can be printed directly.
 */
struct tw_buf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char tw_buf_slop[];
#define TW_BUF_INIT { tw_buf_slop, 0, 0 }

void tw_buf_init(struct tw_buf *b);
void tw_buf_release(struct tw_buf *b);
/* Like release, but zeroes the memory first (for secrets). */
void tw_buf_wipe(struct tw_buf *b);
void tw_buf_reset(struct tw_buf *b);
void tw_buf_grow(struct tw_buf *b, size_t extra);
void tw_buf_add(struct tw_buf *b, const void *data, size_t len);
void tw_buf_adds(struct tw_buf *b, const char *s);
void tw_buf_addc(struct tw_buf *b, char c);
void tw_buf_addf(struct tw_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tw_buf_vaddf(struct tw_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the heap string and leaves the buffer empty; caller frees. */
char *tw_buf_detach(struct tw_buf *b);

/*
 * Append the `len` bytes of `s` as they may be shown on a terminal, the way
 * git quotes odd paths: unchanged when they are printable UTF-8 with no '"'
 * nor '\\'; otherwise in double quotes with C escapes: \" \\ \a \b \t \n
 * \v \f \r, and \ooo (three octal digits) for every byte of any other
 * control character (C0, DEL, C1), of an invisible formatting or bidi control
 * (U+200B-U+200F, U+202A-U+202E, U+2060-U+2064, U+2066-U+2069, U+2028,
 * U+2029, U+061C, U+FEFF) and for every byte that is not valid UTF-8.  The
 * quoted form reads back as a C string literal (nothing is lost).
 * Every secret registered with tw_secret_add (redact.c) is replaced by
 * "(redacted)" first.
 *   "office-phones"          ->  office-phones
 *   "evil\033[2J\nfake"      ->  "evil\033[2J\nfake"
 */
#define TW_QUOTE_ALWAYS 1u   /* in double quotes even when nothing needs escaping (values) */
#define TW_QUOTE_INLINE 2u   /* no quotes, '"' and '\\' kept: only what a terminal would act on
                                is escaped (text made of parts already quoted, such as messages) */
void tw_buf_add_quoted(struct tw_buf *b, const char *s, size_t len, unsigned flags);
/* `s` (NUL-terminated; NULL shows as "(none)") quoted as by tw_buf_add_quoted with no flags,
 * for printf arguments: one of 8 rotating buffers (shared with tw_quote_always), valid until
 * the 8th next call. */
const char *tw_quote(const char *s);
/* The same in double quotes always: a value a message calls wrong (`not a URL: "x"`). */
const char *tw_quote_always(const char *s);
/* Frees (and wipes) those buffers; at exit. */
void tw_quote_release(void);

/* Append s percent-encoded for application/x-www-form-urlencoded. */
void tw_buf_add_urlencoded(struct tw_buf *b, const char *s);

/* Small allocation helpers that abort on out-of-memory (like git's xmalloc). */
/* Once, first thing in main: huge pages under malloc's heap where the kernel has them
 * (heap.c).  1 when the top of the heap was marked, 0 when nothing was done (not glibc,
 * or a sanitizer's malloc, which ignores mallopt). */
int tw_heap_init(void);
void *tw_xmalloc(size_t n);
void *tw_xcalloc(size_t n, size_t size);
void *tw_xrealloc(void *p, size_t n);
char *tw_xstrdup(const char *s);
char *tw_xstrndup(const char *s, size_t n);
char *tw_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array `p` of `nr` elements to hold at least `need`; `alloc` tracks capacity. */
#define TW_ALLOC_GROW(p, need, alloc) do { \
	if ((need) > (alloc)) { \
		size_t tw_n_ = (alloc) ? (alloc) * 2 : 8; \
		if (tw_n_ < (need)) tw_n_ = (need); \
		(p) = tw_xrealloc((p), tw_n_ * sizeof(*(p))); \
		(alloc) = tw_n_; \
	} \
} while (0)

/* Zero memory in a way the compiler may not remove. */
void tw_memwipe(void *p, size_t n);

#endif
