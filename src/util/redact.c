/* redact.c - the registry of secret values, and their removal from text */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "twprov/buf.h"
#include "twprov/redact.h"

struct secret {
	char *s;
	size_t len;
};

static struct {
	struct secret *v;
	size_t n, alloc;
	int sorted;
	unsigned char pair[65536 / 8];      /* first two bytes of some secret: a cheap first test */
} reg;

static void add_one(const char *s, size_t len)
{
	struct secret *e;

	if (len < TW_SECRET_MIN)
		return;
	TW_ALLOC_GROW(reg.v, reg.n + 1, reg.alloc);
	e = &reg.v[reg.n++];
	e->s = tw_xmalloc(len);
	memcpy(e->s, s, len);
	e->len = len;
	reg.pair[((unsigned char)s[0] << 8 | (unsigned char)s[1]) >> 3] |=
		(unsigned char)(1u << (((unsigned char)s[0] << 8 | (unsigned char)s[1]) & 7));
	reg.sorted = 0;
}

/* s percent-encoded as a form body carries it (tw_form: a space is %20), and with '+' for
 * a space as other encoders write it. */
static void add_encoded(const char *s, size_t len)
{
	struct tw_buf raw = TW_BUF_INIT, enc = TW_BUF_INIT, plus = TW_BUF_INIT;

	tw_buf_add(&raw, s, len);
	tw_buf_grow(&enc, 3 * len);     /* once: no realloc leaves a copy behind */
	tw_buf_grow(&plus, 3 * len);
	tw_buf_add_urlencoded(&enc, raw.buf);
	if (enc.len != len)
		add_one(enc.buf, enc.len);
	if (memchr(s, ' ', len)) {
		for (size_t i = 0; i < enc.len; i++) {
			if (!strncmp(enc.buf + i, "%20", 3)) {
				tw_buf_addc(&plus, '+');
				i += 2;
			} else {
				tw_buf_addc(&plus, enc.buf[i]);
			}
		}
		add_one(plus.buf, plus.len);
	}
	tw_buf_wipe(&raw);
	tw_buf_wipe(&enc);
	tw_buf_wipe(&plus);
}

void tw_secret_add(const char *s, size_t len)
{
	if (!s || len < TW_SECRET_MIN)
		return;
	add_one(s, len);
	add_encoded(s, len);
}

void tw_secret_add_basic(const char *user, const char *pass)
{
	struct tw_buf pair = TW_BUF_INIT, enc = TW_BUF_INIT;

	if (!user || !pass)
		return;
	tw_buf_addf(&pair, "%s:%s", user, pass);
	tw_buf_grow(&enc, 4 * (pair.len / 3 + 1));
	enc.len = (size_t)EVP_EncodeBlock((unsigned char *)enc.buf, (const unsigned char *)pair.buf, (int)pair.len);
	add_one(enc.buf, enc.len);
	tw_buf_wipe(&pair);
	tw_buf_wipe(&enc);
}

static int by_bytes(const void *a, const void *b)
{
	const struct secret *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Is secret e <= the text t (of m bytes) in byte order? */
static int at_or_before(const struct secret *e, const char *t, size_t m)
{
	int c = memcmp(e->s, t, e->len < m ? e->len : m);
	return c < 0 || (c == 0 && e->len <= m);
}

/* The longest secret that t starts with, or NULL. */
static const struct secret *starts_with(const char *t, size_t m)
{
	size_t lo = 0, hi = reg.n;

	if (m < TW_SECRET_MIN)
		return NULL;
	/* every secret <= t is before `lo`; the prefixes of t are among them, the longest last */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (at_or_before(&reg.v[mid], t, m))
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo-- > 0) {
		const struct secret *e = &reg.v[lo];
		if (memcmp(e->s, t, TW_SECRET_MIN))
			return NULL;    /* before this one, nothing shares even the first bytes */
		if (e->len <= m && !memcmp(e->s, t, e->len))
			return e;
	}
	return NULL;
}

int tw_secret_find(const char *s, size_t len, size_t *at, size_t *n)
{
	if (!reg.n || len < TW_SECRET_MIN)
		return 0;
	if (!reg.sorted) {
		qsort(reg.v, reg.n, sizeof(*reg.v), by_bytes);
		reg.sorted = 1;
	}
	for (size_t i = 0; i + TW_SECRET_MIN <= len; i++) {
		unsigned p = (unsigned char)s[i] << 8 | (unsigned char)s[i + 1];
		const struct secret *e;
		if (!(reg.pair[p >> 3] & (1u << (p & 7))))
			continue;
		if ((e = starts_with(s + i, len - i))) {
			*at = i;
			*n = e->len;
			return 1;
		}
	}
	return 0;
}

size_t tw_redact(const char *s, size_t len, struct tw_buf *out)
{
	size_t count = 0, at, n;

	while (tw_secret_find(s, len, &at, &n)) {
		tw_buf_add(out, s, at);
		tw_buf_adds(out, TW_REDACTED);
		s += at + n;
		len -= at + n;
		count++;
	}
	tw_buf_add(out, s, len);
	return count;
}

void tw_redact_buf(struct tw_buf *b)
{
	struct tw_buf out = TW_BUF_INIT;
	size_t at, n;

	if (!tw_secret_find(b->buf, b->len, &at, &n))
		return;
	tw_redact(b->buf, b->len, &out);
	tw_buf_wipe(b);
	*b = out;
}

void tw_redact_json(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING: {
		size_t at, n;
		if (tw_secret_find(json_string_value(v), json_string_length(v), &at, &n)) {
			struct tw_buf b = TW_BUF_INIT;
			tw_redact(json_string_value(v), json_string_length(v), &b);
			json_string_setn(v, b.buf, b.len);
			tw_buf_release(&b);
		}
		break;
	}
	case JSON_OBJECT:
		json_object_foreach(v, key, item)
			tw_redact_json(item);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, item)
			tw_redact_json(item);
		break;
	default:
		break;
	}
}

void tw_secrets_release(void)
{
	for (size_t i = 0; i < reg.n; i++) {
		tw_memwipe(reg.v[i].s, reg.v[i].len);
		free(reg.v[i].s);
	}
	free(reg.v);
	memset(&reg, 0, sizeof(reg));
}
