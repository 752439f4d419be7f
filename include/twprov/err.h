/* err.h - error values passed up to the cmd_* layer */
#ifndef TWPROV_ERR_H
#define TWPROV_ERR_H

/*
 * Functions return 0 / -1 (or NULL) and take `struct tw_err *err` last.
 * Only main and cmd_* print errors and pick the exit code.
 * `msg` is lowercase with no final period and never holds a secret.
 */
struct tw_err {
	char msg[1024];
	int status;     /* HTTP status when the error came from the API, else 0 */
	int code;       /* Twilio error code (e.g. 21243), else 0 */
	int kind;       /* enum tw_err_kind */
};

enum tw_err_kind {
	TW_ERR_NONE = 0,
	TW_ERR_RUNTIME,  /* API or runtime failure: exit 1 */
	TW_ERR_INVALID,  /* the file is invalid: exit 3 */
	TW_ERR_USAGE,    /* usage error: exit 64 */
};

#define TW_ERR_INIT { {0}, 0, 0, TW_ERR_NONE }

/* Sets a runtime error; returns -1 so callers can `return tw_err_set(...)`. */
int tw_err_set(struct tw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tw_err_setk(struct tw_err *err, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "prefix: " (context from callers). */
void tw_err_prefix(struct tw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tw_err_clear(struct tw_err *err);

/* Exit codes of DESIGN.md section 2. */
enum tw_exit {
	TW_EXIT_OK = 0,
	TW_EXIT_FAIL = 1,
	TW_EXIT_CHANGES = 2,
	TW_EXIT_INVALID = 3,
	TW_EXIT_USAGE = 64,
};

#endif
