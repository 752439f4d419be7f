/* apierr.c - Twilio error bodies, Retry-After and retry backoff (pure helpers) */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "twprov/http.h"
#include "twprov/redact.h"

/* Longest piece of a non-JSON error body quoted in a message, in bytes. */
#define TW_BODY_QUOTE_MAX 200

/*
 * Copy `len` bytes of `s` into `out` as one printable line: control bytes
 * become spaces, runs of spaces collapse, and the copy stops at `max` bytes
 * on a UTF-8 character boundary (then "..." is added).
 */
static void add_line(struct tw_buf *out, const char *s, size_t len, size_t max)
{
	size_t n = 0;
	int space = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ') {
			space = 1;
			continue;
		}
		if (space && n) {
			if (n + 1 > max)
				goto cut;
			tw_buf_addc(out, ' ');
			n++;
		}
		space = 0;
		/* the length of the UTF-8 sequence starting here, so it is never split */
		size_t clen = 1;
		if (c >= 0xc0) {
			while (i + clen < len && ((unsigned char)s[i + clen] & 0xc0) == 0x80 && clen < 4)
				clen++;
		}
		if (n + clen > max)
			goto cut;
		tw_buf_add(out, s + i, clen);
		n += clen;
		i += clen - 1;
	}
	return;
cut:
	tw_buf_adds(out, "...");
}

/* The same, with every secret redacted first: a server that echoes the request (its form body,
 * its Authorization header) would show them, and a cut must not leave part of one. */
static void add_clean(struct tw_buf *out, const char *s, size_t len, size_t max)
{
	struct tw_buf clean = TW_BUF_INIT;

	tw_redact(s, len, &clean);
	add_line(out, clean.buf, clean.len, max);
	tw_buf_release(&clean);
}

void tw_api_error(struct tw_err *err, long status, const char *body, size_t len)
{
	struct tw_buf m = TW_BUF_INIT;

	if (!err)
		return;
	tw_err_clear(err);
	err->status = (int)status;
	err->kind = TW_ERR_RUNTIME;

	if (body && len) {
		json_error_t je;
		json_t *j = json_loadb(body, len, 0, &je);
		const char *msg = json_string_value(json_object_get(j, "message"));
		if (json_is_object(j) && msg && *msg) {
			json_t *code = json_object_get(j, "code");
			const char *more = json_string_value(json_object_get(j, "more_info"));
			if (json_is_integer(code) && json_integer_value(code) > 0 &&
			    json_integer_value(code) <= INT_MAX) {
				err->code = (int)json_integer_value(code);
				tw_buf_addf(&m, "%d: ", err->code);
			} else {
				tw_buf_addf(&m, "HTTP %ld: ", status);
			}
			add_clean(&m, msg, strlen(msg), sizeof(err->msg));
			if (more && *more) {
				tw_buf_adds(&m, " (");
				add_clean(&m, more, strlen(more), TW_BODY_QUOTE_MAX);
				tw_buf_addc(&m, ')');
			}
			json_decref(j);
			goto out;
		}
		json_decref(j);
	}

	/* not a Twilio error body: quote its first non-blank line */
	tw_buf_addf(&m, "HTTP %ld", status);
	if (body) {
		size_t i = 0, end;
		while (i < len && isspace((unsigned char)body[i]))
			i++;
		end = i;
		while (end < len && body[end] != '\n' && body[end] != '\r')
			end++;
		if (end > i) {
			tw_buf_adds(&m, ": ");
			add_clean(&m, body + i, end - i, TW_BODY_QUOTE_MAX);
		}
	}
out:
	snprintf(err->msg, sizeof(err->msg), "%s", m.buf);
	tw_buf_release(&m);
}

long tw_parse_retry_after(const char *value, long now_epoch)
{
	char v[128];
	size_t n;

	if (!value)
		return -1;
	while (isspace((unsigned char)*value))
		value++;
	n = strlen(value);
	while (n && isspace((unsigned char)value[n - 1]))
		n--;
	if (!n || n >= sizeof(v))
		return -1;
	memcpy(v, value, n);
	v[n] = '\0';

	/* delay-seconds = 1*DIGIT */
	if (strspn(v, "0123456789") == n) {
		errno = 0;
		long s = strtol(v, NULL, 10);
		if (errno || s > LONG_MAX / 1000)
			return -1;
		return s * 1000;
	}

	/* HTTP-date; curl_getdate needs a day, a month and a year, so junk fails */
	time_t t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return -1;
	if ((long)t <= now_epoch)
		return 0;
	if ((long)t - now_epoch > LONG_MAX / 1000)
		return -1;
	return ((long)t - now_epoch) * 1000;
}

/*
 * Full jitter ("exponential backoff and jitter", AWS architecture blog):
 * rnd * min(cap, base * 2^(attempt-1)), with a floor of base/2 so that a
 * small rnd never turns into an immediate retry hammering a throttled
 * account (the floor is itself capped by the ceiling), and never less than
 * what the server asked for in Retry-After.
 */
long tw_backoff_ms(int attempt, long base_ms, long cap_ms, long retry_after_ms, double rnd)
{
	long ceiling, floor_ms, d;

	if (attempt < 1)
		attempt = 1;
	if (base_ms < 0)
		base_ms = 0;
	if (cap_ms < 0)
		cap_ms = 0;
	ceiling = base_ms;
	for (int i = 1; i < attempt && ceiling > 0 && ceiling < cap_ms; i++)
		ceiling = ceiling > LONG_MAX / 2 ? LONG_MAX : ceiling * 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;

	if (!(rnd >= 0.0))      /* also NaN */
		rnd = 0.0;
	if (rnd > 1.0)
		rnd = 1.0;
	d = (long)(rnd * (double)ceiling);
	if (d > ceiling)
		d = ceiling;
	floor_ms = base_ms / 2;
	if (floor_ms > ceiling)
		floor_ms = ceiling;
	if (d < floor_ms)
		d = floor_ms;
	if (retry_after_ms > d)
		d = retry_after_ms;
	return d;
}
