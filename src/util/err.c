/* err.c - error values */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "twprov/err.h"

__attribute__((format(printf, 3, 0)))
static void vset(struct tw_err *err, int kind, const char *fmt, va_list ap)
{
	if (!err)
		return;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->kind = kind;
}

int tw_err_set(struct tw_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, TW_ERR_RUNTIME, fmt, ap);
	va_end(ap);
	return -1;
}

int tw_err_setk(struct tw_err *err, int kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

void tw_err_prefix(struct tw_err *err, const char *fmt, ...)
{
	char pre[512], old[sizeof(err->msg)];
	va_list ap;
	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strlen(pre);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, pre, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	size_t rest = strnlen(old, sizeof(old) - 1);
	if (rest > sizeof(err->msg) - 1 - n)
		rest = sizeof(err->msg) - 1 - n;
	memcpy(err->msg + n, old, rest);
	err->msg[n + rest] = '\0';
}

void tw_err_clear(struct tw_err *err)
{
	memset(err, 0, sizeof(*err));
}
