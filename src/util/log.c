/* log.c - diagnostics on stderr */
#include <stdarg.h>
#include <stdio.h>

#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/log.h"

struct tw_out tw_out;

const char *tw_color(FILE *f, const char *code)
{
	static char bufs[4][16];
	static int next;
	int on = f == stdout ? tw_out.color : f == stderr ? tw_out.color_err : 0;
	if (!on)
		return "";
	char *b = bufs[next++ & 3];
	snprintf(b, sizeof(bufs[0]), "\033[%sm", code);
	return b;
}

/*
 * Every message is shown text: what it quotes came from the file, the
 * environment or a server, so secrets are redacted and control characters
 * escaped (the parts already quoted pass unchanged).
 */
__attribute__((format(printf, 2, 0)))
static void vshow(FILE *f, const char *fmt, va_list ap)
{
	struct tw_buf raw = TW_BUF_INIT, out = TW_BUF_INIT;
	int nl;

	tw_buf_vaddf(&raw, fmt, ap);
	nl = raw.len && raw.buf[raw.len - 1] == '\n';      /* the line's own end stays one */
	tw_buf_add_quoted(&out, raw.buf, raw.len - (size_t)nl, TW_QUOTE_INLINE);
	if (nl)
		tw_buf_addc(&out, '\n');
	fwrite(out.buf, 1, out.len, f);
	tw_buf_wipe(&raw);
	tw_buf_release(&out);
}

void tw_show(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vshow(f, fmt, ap);
	va_end(ap);
}

void tw_status(const char *color, const char *symbol, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s%s%s ", tw_color(stderr, color), symbol, tw_color(stderr, TW_C_RESET));
	va_start(ap, fmt);
	vshow(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 3, 0)))
static void vreport(const char *prefix, const char *color, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s%s:%s ", tw_color(stderr, color), prefix, tw_color(stderr, TW_C_RESET));
	vshow(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tw_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("error", TW_C_RED, fmt, ap);
	va_end(ap);
}

void tw_warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning", TW_C_YELLOW, fmt, ap);
	va_end(ap);
}

void tw_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vshow(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tw_trace(int level, const char *fmt, ...)
{
	va_list ap;
	if (tw_out.verbose < level)
		return;
	va_start(ap, fmt);
	vshow(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tw_error_err(const struct tw_err *err)
{
	tw_error("%s", err->msg[0] ? err->msg : "unknown error");
}
