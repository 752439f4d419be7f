/* log.h - diagnostics on stderr */
#ifndef TWPROV_LOG_H
#define TWPROV_LOG_H

#include <stdio.h>

struct tw_err;

/* Global output settings, set once by main from the options and environment. */
struct tw_out {
	int verbose;    /* -v count */
	int color;      /* colour on stdout (a TTY, no --no-color, no NO_COLOR) */
	int color_err;  /* colour on stderr */
};
extern struct tw_out tw_out;

/*
 * Messages are shown text: secrets (redact.h) are redacted and control
 * characters escaped (tw_buf_add_quoted, TW_QUOTE_INLINE), whatever the
 * arguments hold; quote each name or value from the file or a server with
 * tw_quote so that the message also stays unambiguous.
 */
void tw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with -v (level >= 1) or -vv (level >= 2). */
void tw_trace(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tw_error_err(const struct tw_err *err);
/* The same treatment for text printed otherwise: tw_show prints a final newline of the format as
 * one (only that one: any other is escaped, so one call prints at most one line); tw_status prints
 * "SYMBOL text\n" on stderr with the symbol in `color` (apply's progress lines). */
void tw_show(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tw_status(const char *color, const char *symbol, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ANSI colour codes, or "" when colour is off for that stream. */
const char *tw_color(FILE *f, const char *code);
#define TW_C_RESET "0"
#define TW_C_RED "31"
#define TW_C_GREEN "32"
#define TW_C_YELLOW "33"
#define TW_C_BOLD "1"
#define TW_C_DIM "2"

#endif
