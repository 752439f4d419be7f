/*
 * http.c - Twilio REST over one curl multi handle
 *
 * A bounded pool: at most `parallelism` requests are in flight, fewer to a
 * host that takes fewer (see below); the others wait in their host's FIFO
 * queue.  Each in-flight request occupies a slot that owns a
 * reusable easy handle (connections, DNS and TLS sessions are kept by the
 * multi handle and the share, so keep-alive works across requests).
 * Retries wait in the `delayed` list until their due time and then go to the
 * front of the queue (they are older than anything queued).
 *
 * When is a failed request re-sent?
 *   429                          always: Twilio did not process it (see below)
 *   5xx                          only if the request is idempotent; otherwise
 *                                TW_REQ_UNSAFE (it may have been processed)
 *   transport error, transient   if idempotent, or if nothing was sent: curl
 *                                never called CURLOPT_PREREQFUNCTION, which it
 *                                does right before it sends a request on a
 *                                connected (and TLS-established) connection
 *   other transport errors       never (TLS verification, bad URL, ...)
 * libcurl itself re-sends a request once, transparently, when a reused
 * keep-alive connection turns out to have been closed by the server before
 * any byte of the response arrived (it cannot tell "dead before" from "died
 * after").  For a create that would make a duplicate, so non-idempotent
 * requests always go on a fresh connection (CURLOPT_FRESH_CONNECT): curl only
 * does that re-send on reused connections.
 *
 * Adaptive concurrency: Twilio answers 429 when an account has too many
 * requests in flight and publishes no number.  Each API host (scheme, name and
 * port of the URL: every product goes to one host under TWPROV_API_URL) has a
 * limit of requests in flight that is found by trying (limit.h: slow start,
 * then additive increase and multiplicative decrease, the level of the last
 * 429 remembered), never above `parallelism`, the cap, which also bounds the
 * requests in flight to all hosts together.  The limit lives as long as the
 * handle: plan's reads, apply's writes and the verification after them share
 * what the account was found to take.  Each host has its own FIFO queue; a
 * 429 that changed the limit, or came to a request sent before the change,
 * sends the request again as soon as there is room, first in its queue,
 * instead of after a backoff delay.  Only when the limit is down to one
 * request, or the answer has a Retry-After, does a 429 wait for a backoff
 * delay.  Those immediate re-sends do not count against the retry budget (at
 * most TW_MAX_REQUEUES of them per request).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "twprov/http.h"
#include "twprov/limit.h"
#include "twprov/log.h"
#include "twprov/redact.h"

#define TW_CONNECT_TIMEOUT_MS 10000L
#define TW_DEADLINE_MS 45000L   /* default: one request, its retries included */
#define TW_MAX_RESPONSE ((size_t)64 << 20)   /* bytes; a 1000-item page is a few MB */
#define TW_POLL_MAX_MS 1000
#define TW_MAX_REQUEUES 8       /* re-sends of one request absorbed by the limit's changes */
#define TW_LARGE_BODY (64 << 10) /* bytes: parsing takes milliseconds; refill the pool first */

static const char *const product_host[TW_PRODUCT_COUNT] = {
	[TW_PRODUCT_API] = "api",
	[TW_PRODUCT_VOICE] = "voice",
	[TW_PRODUCT_TRUNKING] = "trunking",
	[TW_PRODUCT_SERVERLESS] = "serverless",
	[TW_PRODUCT_UPLOAD] = "serverless-upload",
};

struct tw_slot {
	CURL *easy;             /* created on first use, reset after each attempt */
	struct tw_req *req;     /* in flight here, or NULL */
	int sent;               /* curl got as far as sending the request */
};

/* An API host: its limit of requests in flight and the requests waiting for room in it. */
struct tw_host {
	char name[272];                         /* host[:port] of its URLs (never a user name) */
	struct tw_limit limit;
	int ninflight, peak;
	struct tw_req *queue, *queue_tail;      /* ready to start, FIFO */
	long requests, throttled;
};

struct tw_http {
	CURLM *multi;
	CURLSH *share;
	struct curl_slist *hdr_plain, *hdr_form;
	char *account_sid, *user, *pass, *cacert;
	char *base[TW_PRODUCT_COUNT];
	char *api_base;                         /* TWPROV_API_URL (normalised), or NULL */
	char *proxy[2], *noproxy;               /* curl's proxy variables, read once ([0] http, [1] https) */
	int parallelism, max_retries;
	long retry_base_ms, retry_cap_ms, timeout_ms, stall_s, deadline_ms;

	struct tw_slot *slots;
	int nslots;                             /* allocated: the parallelism */
	int ninflight;                          /* to every host */
	struct tw_host **hosts;                 /* in order of first use */
	int nhosts;
	struct tw_req *delayed;                 /* retries waiting for their due time */
	struct tw_req *answered;                /* finished with a 2xx body, not parsed yet */

	volatile sig_atomic_t cancel;
	int running;
	char fatal[256];                        /* set when the multi handle failed */
	struct tw_http_stats stats;
};

/* ---- options ---- */

static void env_long(const char *name, long min, long max, long *out)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return;     /* invalid values are ignored, the default stays */
	*out = n;
}

void tw_http_opts_init(struct tw_http_opts *o)
{
	long retries;

	memset(o, 0, sizeof(*o));
	o->parallelism = TW_PARALLELISM;
	o->max_retries = 6;
	o->retry_base_ms = 250;
	o->retry_cap_ms = 8000;
	o->timeout_ms = 30000;
	o->stall_ms = 15000;
	o->deadline_ms = 0;

	retries = o->max_retries;
	env_long("TWPROV_MAX_RETRIES", 0, 1000, &retries);
	o->max_retries = (int)retries;
	env_long("TWPROV_RETRY_BASE_MS", 0, 3600000, &o->retry_base_ms);
	env_long("TWPROV_RETRY_CAP_MS", 0, 3600000, &o->retry_cap_ms);
	env_long("TWPROV_TIMEOUT_MS", 1, 86400000, &o->timeout_ms);
	env_long("TWPROV_STALL_MS", 1, 86400000, &o->stall_ms);
	env_long("TWPROV_DEADLINE_MS", 1, 86400000, &o->deadline_ms);
	if (!o->deadline_ms)      /* an attempt may always take its whole timeout */
		o->deadline_ms = o->timeout_ms > TW_DEADLINE_MS ? o->timeout_ms : TW_DEADLINE_MS;
}

/* ---- hosts ---- */

static int set(const char *s)
{
	return s && *s;
}

/* Is `host` (as curl's URL parser gives it: an IPv6 address in brackets) a loopback address? */
static int loopback(const char *host)
{
	unsigned char a[16];
	char v6[64];
	size_t n = strlen(host);

	if (!strcasecmp(host, "localhost") || (inet_pton(AF_INET, host, a) == 1 && a[0] == 127))
		return 1;
	if (n < 3 || n - 2 >= sizeof(v6) || host[0] != '[' || host[n - 1] != ']')
		return 0;
	memcpy(v6, host + 1, n - 2);
	v6[n - 2] = '\0';
	if (inet_pton(AF_INET6, v6, a) != 1)
		return 0;
	/* ::1, or ::ffff:127.x.x.x */
	static const unsigned char one[16] = { [15] = 1 }, mapped[12] = { [10] = 0xff, [11] = 0xff };
	return !memcmp(a, one, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

/*
 * TWPROV_API_URL as a base for every product: http or https, no user name or
 * password (Basic auth carries the credentials; the URL's would be printed),
 * no query or fragment (paths are appended), and plain http only to a
 * loopback address: anywhere else the credentials and passwords would cross
 * the network in clear text.  The normalised URL without its final '/'.
 */
static char *api_base(const char *url, struct tw_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL, *query = NULL, *frag = NULL, *norm = NULL;
	char *base = NULL;

	if (!u)
		goto oom;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		tw_err_set(err, "TWPROV_API_URL: not a URL: %s", tw_quote_always(url));
		goto out;
	}
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		tw_err_set(err, "TWPROV_API_URL: expected an http or https URL, not %s", tw_quote(scheme));
	} else if (user || pass) {
		tw_err_set(err, "TWPROV_API_URL: a user name or password in the URL is not allowed (not shown here): "
			   "the credentials come from TWILIO_AUTH_TOKEN or TWILIO_API_KEY and TWILIO_API_SECRET");
	} else if (query || frag) {
		tw_err_set(err, "TWPROV_API_URL: a base URL has no query or fragment: %s", tw_quote_always(url));
	} else if (!strcmp(scheme, "http") && !loopback(host)) {
		tw_err_set(err, "TWPROV_API_URL: plain http is only allowed to a loopback address (127.0.0.1, ::1, "
			   "localhost), not %s: the credentials would cross the network in clear text; use https",
			   tw_quote(host));
	} else if (curl_url_get(u, CURLUPART_URL, &norm, 0) == CURLUE_OK) {
		size_t n = strlen(norm);
		while (n && norm[n - 1] == '/')
			n--;
		base = tw_xstrndup(norm, n);
	} else {
		tw_err_set(err, "TWPROV_API_URL: not a URL: %s", tw_quote_always(url));
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	if (pass) {
		tw_memwipe(pass, strlen(pass));
		curl_free(pass);
	}
	curl_free(query);
	curl_free(frag);
	curl_free(norm);
	curl_url_cleanup(u);
	return base;
oom:
	tw_err_set(err, "cannot initialise libcurl: out of memory");
	return NULL;
}

static char *make_base(const struct tw_http_opts *o, enum tw_product p)
{
	const char *name = product_host[p];

	if (set(o->edge))
		return tw_xasprintf("https://%s.%s.%s.twilio.com", name, o->edge,
				    set(o->region) ? o->region : "us1");
	if (set(o->region))
		return tw_xasprintf("https://%s.%s.twilio.com", name, o->region);
	return tw_xasprintf("https://%s.twilio.com", name);
}

char *tw_http_url(struct tw_http *h, enum tw_product product, const char *path)
{
	if ((int)product < 0 || product >= TW_PRODUCT_COUNT || !path)
		return NULL;
	return tw_xasprintf("%s%s%s", h->base[product], path[0] == '/' ? "" : "/", path);
}

/* A host name under twil.io: labels of [a-z0-9-] (either case), no empty one. */
static int deployed_domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n <= 8 || n > 253 || strcasecmp(d + n - 8, ".twil.io"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (!label || d[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

static char *deployed_url(struct tw_http *h, const char *domain, const char *path, char **host, struct tw_err *err)
{
	static const char keep[] = "-._~!$&'()*+,;=:@/";
	struct tw_buf b = TW_BUF_INIT;

	*host = NULL;
	if (!domain || !deployed_domain_ok(domain)) {
		tw_err_set(err, "not a Serverless domain name: %s (expected a host name under twil.io)",
			   tw_quote_always(domain ? domain : ""));
		return NULL;
	}
	if (!path || path[0] != '/') {
		tw_err_set(err, "not a deployed path: %s", tw_quote_always(path ? path : ""));
		return NULL;
	}
	for (const char *p = path; *p; p += strcspn(p, "/")) {
		size_t n;
		if (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			tw_err_set(err, "not a deployed path: %s (a \".\" or \"..\" segment)", tw_quote_always(path));
			return NULL;
		}
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			tw_err_set(err, "not a deployed path: %s (a control character)", tw_quote_always(path));
			return NULL;
		}
	if (h->api_base) {
		tw_buf_adds(&b, h->api_base);
		*host = tw_xstrdup(domain);
	} else {
		tw_buf_addf(&b, "https://%s", domain);
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (isalnum(*p) || strchr(keep, *p))
			tw_buf_addc(&b, (char)*p);
		else
			tw_buf_addf(&b, "%%%02X", *p);
	return tw_buf_detach(&b);
}

struct tw_req *tw_req_download(struct tw_http *h, const char *domain, const char *path, tw_req_cb cb, void *ud,
			       struct tw_err *err)
{
	char *host, *url = deployed_url(h, domain, path, &host, err);
	struct tw_req *req;

	if (!url)
		return NULL;
	req = tw_req_new("GET", url, cb, ud);
	req->download = 1;
	req->host = host;
	return req;
}

/* Length of "scheme://" or "//" at the start of `s`, or 0 when `s` has none. */
static size_t authority_prefix(const char *s)
{
	size_t i = 0;

	if (s[0] == '/' && s[1] == '/')
		return 2;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (s[i] && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	return strncmp(s + i, "://", 3) ? 0 : i + 3;
}

char *tw_http_link(struct tw_http *h, enum tw_product product, const char *link)
{
	const char *path;
	size_t n;

	if (!link || !*link)
		return NULL;
	if ((n = authority_prefix(link))) {
		/* absolute (v1 next_page_url): keep path and query, use our host */
		path = strchr(link + n, '/');
		if (!path)
			return NULL;
	} else if (link[0] == '/') {
		path = link;    /* relative (2010 next_page_uri) */
	} else {
		return NULL;
	}
	return tw_http_url(h, product, path);
}

const char *tw_http_account_sid(struct tw_http *h)
{
	return h->account_sid;
}

int tw_http_max_retries(struct tw_http *h)
{
	return h->max_retries;
}

/* ---- hosts and their queues ---- */

static void host_of(const char *url, char *out, size_t outlen);

/* The host of `url` (its limit and queue), made on first use. */
static struct tw_host *host_for(struct tw_http *h, const char *url)
{
	char name[sizeof(((struct tw_host *)0)->name)];
	struct tw_host *hst;

	host_of(url ? url : "", name, sizeof(name));
	for (int i = 0; i < h->nhosts; i++)
		if (!strcmp(h->hosts[i]->name, name))
			return h->hosts[i];
	hst = tw_xcalloc(1, sizeof(*hst));
	memcpy(hst->name, name, sizeof(name));
	tw_limit_init(&hst->limit, h->parallelism);
	h->hosts = tw_xrealloc(h->hosts, (size_t)(h->nhosts + 1) * sizeof(*h->hosts));
	h->hosts[h->nhosts++] = hst;
	return hst;
}

static void enqueue(struct tw_host *hst, struct tw_req *r)
{
	r->next = NULL;
	if (hst->queue_tail)
		hst->queue_tail->next = r;
	else
		hst->queue = r;
	hst->queue_tail = r;
}

static void push_front(struct tw_host *hst, struct tw_req *r)
{
	r->next = hst->queue;
	hst->queue = r;
	if (!hst->queue_tail)
		hst->queue_tail = r;
}

static struct tw_req *dequeue(struct tw_host *hst)
{
	struct tw_req *r = hst->queue;

	hst->queue = r->next;
	if (!hst->queue)
		hst->queue_tail = NULL;
	r->next = NULL;
	return r;
}

/* Is a request waiting in any host's queue? */
static int queued(const struct tw_http *h)
{
	for (int i = 0; i < h->nhosts; i++)
		if (h->hosts[i]->queue)
			return 1;
	return 0;
}

/* -v: what each host was found to take (its name from our URLs: no user name in it) */
static void trace_limits(const struct tw_http *h)
{
	for (int i = 0; i < h->nhosts; i++) {
		const struct tw_host *hst = h->hosts[i];
		const struct tw_limit *l = &hst->limit;

		if (!hst->requests)
			continue;
		if (l->ceiling)
			tw_trace(1, "limit of %s: %d request%s at once (found: 429 beyond that; %ld of %ld requests "
				 "answered 429; %d in flight at most; cap %d)", tw_quote(hst->name), l->ceiling,
				 l->ceiling == 1 ? "" : "s", hst->throttled, hst->requests, hst->peak, l->cap);
		else
			tw_trace(1, "limit of %s: not reached: %d requests in flight at most, no 429 in %ld requests "
				 "(cap %d)", tw_quote(hst->name), hst->peak, hst->requests, l->cap);
	}
}

/* ---- life cycle ---- */

static char *dup_or_null(const char *s)
{
	return s ? tw_xstrdup(s) : NULL;
}

/* Never more connections than requests in flight; HTTP/2 multiplexes when offered. */
static int set_connection_limits(struct tw_http *h, long par)
{
	if (curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, par) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, par) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, par) != CURLM_OK)
		return -1;
	return 0;
}

/*
 * libcurl reads the proxy variables on every request, and getenv scans the
 * whole environment (10,000 ${env:...} passwords make that visible).  Read
 * them once, as curl would: <scheme>_proxy (and HTTPS_PROXY; never
 * HTTP_PROXY, as curl), then all_proxy/ALL_PROXY; no_proxy/NO_PROXY.
 */
static void read_proxy_env(struct tw_http *h)
{
	static const char *const names[2][4] = {
		{ "http_proxy", "all_proxy", "ALL_PROXY", NULL },
		{ "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" },
	};
	const char *v;
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 4 && names[s][i] && !h->proxy[s]; i++)
			if ((v = getenv(names[s][i])) && *v)
				h->proxy[s] = tw_xstrdup(v);
	if (((v = getenv("no_proxy")) && *v) || ((v = getenv("NO_PROXY")) && *v))
		h->noproxy = tw_xstrdup(v);
}

struct tw_http *tw_http_new(const struct tw_http_opts *o, struct tw_err *err)
{
	struct tw_http *h;
	struct curl_slist *l;
	long par;

	if (o->parallelism < 1) {
		tw_err_set(err, "parallelism must be at least 1, not %d", o->parallelism);
		return NULL;
	}
	/* reference counted by libcurl: balanced by curl_global_cleanup in tw_http_free */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tw_err_set(err, "cannot initialise libcurl");
		return NULL;
	}

	h = tw_xcalloc(1, sizeof(*h));
	par = o->parallelism;
	h->parallelism = o->parallelism;
	h->max_retries = o->max_retries < 0 ? 0 : o->max_retries;
	h->retry_base_ms = o->retry_base_ms;
	h->retry_cap_ms = o->retry_cap_ms;
	h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	h->stall_s = o->stall_ms > 0 ? (o->stall_ms + 999) / 1000 : 15;   /* curl counts whole seconds */
	h->deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : TW_DEADLINE_MS;
	h->account_sid = dup_or_null(o->account_sid);
	h->user = dup_or_null(o->user);
	h->pass = dup_or_null(o->pass);
	/* a server may echo them: never shown (redact.h) */
	if (o->pass) {
		tw_secret_add(o->pass, strlen(o->pass));
		tw_secret_add_basic(o->user, o->pass);
	}
	h->cacert = set(o->cacert) ? tw_xstrdup(o->cacert) : NULL;
	if (set(o->api_url)) {
		char *base = api_base(o->api_url, err);
		if (!base) {
			tw_http_free(h);
			return NULL;
		}
		for (int p = 0; p < TW_PRODUCT_COUNT; p++)
			h->base[p] = tw_xstrdup(base);
		h->api_base = base;
	} else {
		for (int p = 0; p < TW_PRODUCT_COUNT; p++)
			h->base[p] = make_base(o, (enum tw_product)p);
	}
	read_proxy_env(h);
	h->slots = tw_xcalloc((size_t)o->parallelism, sizeof(*h->slots));
	h->nslots = o->parallelism;

	h->multi = curl_multi_init();
	h->share = curl_share_init();
	if (!h->multi || !h->share)
		goto fail;
	if (curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto fail;
	if (set_connection_limits(h, par) < 0 ||
	    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK)
		goto fail;

	/* "Expect:" stops curl from waiting for 100-continue on large forms */
	l = curl_slist_append(NULL, "Accept: application/json");
	if (!l)
		goto fail;
	h->hdr_plain = l;
	if (!(l = curl_slist_append(h->hdr_plain, "Expect:")))
		goto fail;
	if (!(l = curl_slist_append(NULL, "Accept: application/json")))
		goto fail;
	h->hdr_form = l;
	if (!curl_slist_append(h->hdr_form, "Expect:") ||
	    !curl_slist_append(h->hdr_form, "Content-Type: application/x-www-form-urlencoded"))
		goto fail;
	return h;

fail:
	tw_err_set(err, "cannot initialise libcurl: out of memory");
	tw_http_free(h);
	return NULL;
}

static void free_list(struct tw_req *r)
{
	while (r) {
		struct tw_req *next = r->next;
		tw_req_free(r);
		r = next;
	}
}

void tw_http_free(struct tw_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nslots; i++) {
		struct tw_slot *s = &h->slots[i];
		if (s->req) {
			curl_multi_remove_handle(h->multi, s->easy);
			s->req->handle = NULL;
			tw_req_free(s->req);
		}
		if (s->easy)
			curl_easy_cleanup(s->easy);
	}
	trace_limits(h);
	for (int i = 0; i < h->nhosts; i++) {
		free_list(h->hosts[i]->queue);
		free(h->hosts[i]);
	}
	free(h->hosts);
	free_list(h->delayed);
	free_list(h->answered);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->share)
		curl_share_cleanup(h->share);
	curl_slist_free_all(h->hdr_plain);
	curl_slist_free_all(h->hdr_form);
	for (int p = 0; p < TW_PRODUCT_COUNT; p++)
		free(h->base[p]);
	free(h->api_base);
	free(h->account_sid);
	free(h->user);
	if (h->pass) {
		tw_memwipe(h->pass, strlen(h->pass));
		free(h->pass);
	}
	free(h->cacert);
	free(h->proxy[0]);
	free(h->proxy[1]);
	free(h->noproxy);
	free(h->slots);
	free(h);
	curl_global_cleanup();
}

/* ---- requests ---- */

struct tw_req *tw_req_new(const char *method, char *url, tw_req_cb cb, void *ud)
{
	struct tw_req *r = tw_xcalloc(1, sizeof(*r));

	r->method = method;
	r->url = url;
	r->cb = cb;
	r->ud = ud;
	r->idempotent = !strcmp(method, "GET") || !strcmp(method, "DELETE") || !strcmp(method, "HEAD");
	tw_form_init(&r->form);
	tw_buf_init(&r->resp);
	tw_buf_init(&r->body);
	return r;
}

static void free_parts(struct tw_req *r);
static double now_s(void);

double tw_now_s(void)
{
	return now_s();
}

void tw_req_free(struct tw_req *r)
{
	if (!r)
		return;
	free(r->url);
	free(r->location);
	tw_form_release(&r->form);
	curl_mime_free(r->mime);
	free_parts(r);
	tw_buf_release(&r->resp);
	tw_buf_release(&r->body);
	free(r->host);
	curl_slist_free_all(r->headers);
	json_decref(r->json);
	free(r);
}

void tw_req_add_part(struct tw_req *r, const char *name, const char *filename, const char *type,
		     const void *data, size_t len)
{
	struct tw_part *p = tw_xcalloc(1, sizeof(*p)), **pp = &r->parts;

	p->name = tw_xstrdup(name);
	p->filename = filename ? tw_xstrdup(filename) : NULL;
	p->type = type ? tw_xstrdup(type) : NULL;
	tw_buf_init(&p->data);
	tw_buf_add(&p->data, data, len);
	while (*pp)
		pp = &(*pp)->next;
	*pp = p;
}

static void free_parts(struct tw_req *r)
{
	while (r->parts) {
		struct tw_part *p = r->parts;
		r->parts = p->next;
		free(p->name);
		free(p->filename);
		free(p->type);
		tw_buf_release(&p->data);
		free(p);
	}
}

/* A (re-)submitted request starts afresh, its host found from its URL. */
static void prepare(struct tw_http *h, struct tw_req *r)
{
	r->result = TW_REQ_OK;
	r->status = 0;
	json_decref(r->json);
	r->json = NULL;
	tw_buf_release(&r->body);
	tw_err_clear(&r->err);
	r->attempts = 0;
	r->requeues = 0;
	r->retry_after_ms = 0;
	r->due = 0;
	r->handle = NULL;
	r->next = NULL;
	r->api = host_for(h, r->url);
}

void tw_http_submit_after(struct tw_http *h, struct tw_req *r, long delay_ms)
{
	prepare(h, r);
	/* it waits like a retry */
	r->due = now_s() + (double)delay_ms / 1000.0;
	r->next = h->delayed;
	h->delayed = r;
}

void tw_http_submit(struct tw_http *h, struct tw_req *r)
{
	prepare(h, r);
	enqueue(r->api, r);
}

void tw_http_cancel_queued(struct tw_http *h)
{
	h->cancel = 1;
	curl_multi_wakeup(h->multi);
}

void tw_http_stats(struct tw_http *h, struct tw_http_stats *out)
{
	*out = h->stats;
}

/* ---- the loop ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Uniform in [0, 1) from OpenSSL's CSPRNG (only jitter: failure is harmless). */
static double jitter(void)
{
	uint32_t u;
	if (RAND_bytes((unsigned char *)&u, sizeof(u)) != 1)
		return 0.5;
	return (double)u / 4294967296.0;
}

static void complete(struct tw_http *h, struct tw_req *r, enum tw_req_result res)
{
	r->result = res;
	if (res == TW_REQ_OK)
		tw_err_clear(&r->err);
	else if (!r->err.kind)
		r->err.kind = TW_ERR_RUNTIME;
	tw_buf_release(&r->resp);
	r->next = NULL;
	if (r->cb)
		r->cb(h, r);
	else
		tw_req_free(r);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct tw_req *r = ud;
	size_t len = size * n;

	if (r->resp.len + len > TW_MAX_RESPONSE)
		return 0;       /* CURLE_WRITE_ERROR */
	if (!r->resp.len) {
		/* one allocation for a body whose size is announced: no copies while it grows */
		curl_off_t cl = -1;
		const struct tw_slot *s = r->handle;
		if (s && curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
		    cl > 0 && (unsigned long long)cl <= TW_MAX_RESPONSE)
			tw_buf_grow(&r->resp, (size_t)cl);
	}
	tw_buf_add(&r->resp, data, len);
	return len;
}

static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
	struct tw_slot *s = ud;
	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	s->sent = 1;
	return CURL_PREREQFUNC_OK;
}

static int setup(struct tw_http *h, struct tw_slot *s, struct tw_req *r)
{
	CURLcode rc = CURLE_OK;
	CURL *e;
	int is_get = !strcmp(r->method, "GET"), is_post = !strcmp(r->method, "POST");

	if (!s->easy && !(s->easy = curl_easy_init()))
		return -1;
	e = s->easy;
	s->sent = 0;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, r->url);
	{
		const char *proxy = h->proxy[!strncmp(r->url, "https:", 6)];
		SET(CURLOPT_PROXY, proxy ? proxy : "");     /* "": none, and no lookup of the environment */
		if (h->noproxy)
			SET(CURLOPT_NOPROXY, h->noproxy);
	}
	SET(CURLOPT_PRIVATE, (void *)s);
	SET(CURLOPT_SHARE, h->share);
	SET(CURLOPT_ERRORBUFFER, r->curl_err);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cacert)
		SET(CURLOPT_CAINFO, h->cacert);
	{
		/* this attempt: its own timeout, never past the request's deadline; and a transfer
		 * that stalls (a server that accepted and does not answer) fails sooner */
		long left = (long)((r->deadline - now_s()) * 1000.0), t = h->timeout_ms < left ? h->timeout_ms : left;
		if (t < 1)
			t = 1;
		SET(CURLOPT_TIMEOUT_MS, t);
		SET(CURLOPT_CONNECTTIMEOUT_MS, t < TW_CONNECT_TIMEOUT_MS ? t : TW_CONNECT_TIMEOUT_MS);
		SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SET(CURLOPT_LOW_SPEED_TIME, h->stall_s);
	}
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* a request that must not be sent twice gets a connection of its own:
	 * libcurl silently re-sends a request whose reused connection dies
	 * before the first response byte, even when the server processed it */
	SET(CURLOPT_FRESH_CONNECT, r->idempotent ? 0L : 1L);
	/* HTTP/2 is only negotiated over TLS (ALPN): there, waiting for the first
	 * connection to a host beats opening parallel ones; over plain http the
	 * wait would last until its first response and serialise the start */
	if (!strncmp(r->url, "https://", 8))
		SET(CURLOPT_PIPEWAIT, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, "twprov/" TWPROV_VERSION);
	if (h->user && !r->download) {     /* a deployed URL is public: no credentials go there */
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, h->user);
		SET(CURLOPT_PASSWORD, h->pass ? h->pass : "");
	}
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)r);
	SET(CURLOPT_PREREQFUNCTION, on_prereq);
	SET(CURLOPT_PREREQDATA, (void *)s);
	if (is_get) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (!is_post)
			SET(CURLOPT_CUSTOMREQUEST, r->method);
		if (r->parts) {
			curl_mime *mime = curl_mime_init(e);
			for (const struct tw_part *p = r->parts; p && mime; p = p->next) {
				curl_mimepart *mp = curl_mime_addpart(mime);
				curl_mime_name(mp, p->name);
				curl_mime_data(mp, p->data.buf, p->data.len);
				if (p->filename)
					curl_mime_filename(mp, p->filename);
				if (p->type)
					curl_mime_type(mp, p->type);
			}
			r->mime = mime;
			SET(CURLOPT_MIMEPOST, mime);
		} else if (is_post || r->form.body.len) {
			SET(CURLOPT_POST, 1L);
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->form.body.len);
			SET(CURLOPT_POSTFIELDS, r->form.body.buf);
		}
	}
	/* curl writes a multipart body's own Content-Type (with its boundary) */
	if (r->download) {
		if (!r->headers) {
			char *hh = r->host ? tw_xasprintf("Host: %s", r->host) : NULL;
			struct curl_slist *l = curl_slist_append(NULL, "Accept: */*");
			r->headers = l && hh ? curl_slist_append(l, hh) : l;
			if (!r->headers)
				curl_slist_free_all(l);
			free(hh);
			if (!r->headers)
				rc = CURLE_OUT_OF_MEMORY;
		}
		SET(CURLOPT_HTTPHEADER, (struct curl_slist *)r->headers);
	} else {
		SET(CURLOPT_HTTPHEADER, (r->form.body.len || is_post) && !r->parts ? h->hdr_form : h->hdr_plain);
	}
#undef SET
	if (rc != CURLE_OK) {
		tw_err_set(&r->err, "%s %s: cannot set up the request: %s", r->method, r->url, curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

static void release_slot(struct tw_http *h, struct tw_slot *s)
{
	if (s->req) {
		curl_multi_remove_handle(h->multi, s->easy);
		curl_mime_free(s->req->mime);   /* the next attempt builds its own */
		s->req->mime = NULL;
		s->req->handle = NULL;
		((struct tw_host *)s->req->api)->ninflight--;
		s->req = NULL;
		h->ninflight--;
	}
	/* forget this request's pointers; connections and caches stay */
	if (s->easy)
		curl_easy_reset(s->easy);
}

/* Can a request of `hst` start now: one is queued and there is room for it? */
static int startable(const struct tw_http *h, const struct tw_host *hst)
{
	return hst->queue && hst->ninflight < tw_limit_allowed(&hst->limit) && h->ninflight < h->parallelism;
}

/* Start the first request queued for `hst`. */
static void start_one(struct tw_http *h, struct tw_host *hst)
{
	struct tw_req *r = dequeue(hst);
	struct tw_slot *s = NULL;
	CURLMcode mc;

	for (int i = 0; i < h->nslots && !s; i++)
		if (!h->slots[i].req)
			s = &h->slots[i];

	if (!r->attempts++)
		r->deadline = now_s() + (double)h->deadline_ms / 1000.0;
	r->status = 0;
	r->retry_after_ms = 0;
	free(r->location);
	r->location = NULL;
	r->curl_err[0] = '\0';
	tw_err_clear(&r->err);
	tw_buf_reset(&r->resp);
	json_decref(r->json);
	r->json = NULL;

	if (!r->url) {
		tw_err_set(&r->err, "%s: no URL", r->method);
		complete(h, r, TW_REQ_TRANSPORT);
		return;
	}
	if (setup(h, s, r) < 0) {
		curl_mime_free(r->mime);
		r->mime = NULL;
		if (!r->err.msg[0])
			tw_err_set(&r->err, "%s %s: cannot set up the request: out of memory", r->method, r->url);
		release_slot(h, s);
		complete(h, r, TW_REQ_TRANSPORT);
		return;
	}
	mc = curl_multi_add_handle(h->multi, s->easy);
	if (mc != CURLM_OK) {
		tw_err_set(&r->err, "%s %s: %s", r->method, r->url, curl_multi_strerror(mc));
		release_slot(h, s);
		complete(h, r, TW_REQ_TRANSPORT);
		return;
	}
	s->req = r;
	r->handle = s;
	h->ninflight++;
	if (++hst->ninflight > hst->peak)
		hst->peak = hst->ninflight;
	h->stats.requests++;
	hst->requests++;
	r->started = now_s();
	if (r->form.shown.len)
		tw_trace(1, "> %s %s %s", r->method, r->url, r->form.shown.buf);
	else
		tw_trace(1, "> %s %s", r->method, r->url);
}

/* Start queued requests while their hosts and the cap have room, a host at a time. */
static void start_ready(struct tw_http *h)
{
	int started = 1;

	while (started && !h->cancel) {
		started = 0;
		/* (a callback of a request that failed to start may add a host) */
		for (int i = 0; i < h->nhosts && !h->cancel; i++) {
			if (startable(h, h->hosts[i])) {
				start_one(h, h->hosts[i]);
				started = 1;
			}
		}
	}
}

/* Would an attempt that starts in `delay_ms` begin at or after the request's deadline? */
static int past_deadline(const struct tw_req *r, long delay_ms)
{
	return now_s() + (double)delay_ms / 1000.0 >= r->deadline;
}

/* Out of retries ("gave up after 7 attempts: ...") or of time (`late`: "gave up after 3 attempts
 * in 45.0 s (the deadline of a request, TWPROV_DEADLINE_MS): ..."). */
static void give_up(struct tw_http *h, struct tw_req *r, enum tw_req_result res, int late)
{
	double took = now_s() - (r->deadline - (double)h->deadline_ms / 1000.0);

	if (late && r->retry_after_ms > 0)
		tw_err_prefix(&r->err, "gave up after %d attempt%s in %.1f s (the server asks to wait %ld s, past the "
			      "deadline of a request, TWPROV_DEADLINE_MS)", r->attempts, r->attempts == 1 ? "" : "s",
			      took, (r->retry_after_ms + 999) / 1000);
	else if (late)
		tw_err_prefix(&r->err, "gave up after %d attempt%s in %.1f s (the deadline of a request, "
			      "TWPROV_DEADLINE_MS)", r->attempts, r->attempts == 1 ? "" : "s", took);
	else
		tw_err_prefix(&r->err, "gave up after %d attempt%s", r->attempts, r->attempts == 1 ? "" : "s");
	complete(h, r, res);
}

/* Retry `r` after a delay, or complete it with `res` when its budget or its time is spent. */
static void retry_or_give_up(struct tw_http *h, struct tw_req *r, enum tw_req_result res, const char *why)
{
	int tries = r->attempts - r->requeues;     /* what counts against the budget */
	long d;

	d = tw_backoff_ms(tries, h->retry_base_ms, h->retry_cap_ms, r->retry_after_ms, jitter());
	if (tries > h->max_retries || past_deadline(r, d)) {
		give_up(h, r, res, tries <= h->max_retries);
		return;
	}
	r->due = now_s() + (double)d / 1000.0;
	h->stats.retries++;
	tw_trace(1, "retry %d/%d %s %s after %s in %ld ms", tries + 1, h->max_retries + 1,
		 r->method, r->url, why, d);
	r->next = h->delayed;
	h->delayed = r;
}

/*
 * A 429: tell the host's limit (a change, unless this request was sent before
 * the last one: its burst has been answered).  Returns 1 when the request may
 * go again as soon as its host has room, 0 when it must back off (the limit
 * is down to one request, or the server said when to come back).
 */
static int throttle(const struct tw_req *r)
{
	struct tw_host *hst = r->api;
	int was_one = tw_limit_allowed(&hst->limit) == 1;

	/* the others in flight now (`r` has left its slot already) */
	if (tw_limit_throttled(&hst->limit, r->started, hst->ninflight, r->retry_after_ms > 0, now_s()) && was_one)
		return 0;
	return r->retry_after_ms <= 0 && r->requeues < TW_MAX_REQUEUES;
}

/* Send `r` again as soon as its host has room: it goes first in its queue. */
static void requeue(struct tw_http *h, struct tw_req *r, const char *why)
{
	struct tw_host *hst = r->api;

	r->requeues++;
	h->stats.retries++;
	tw_trace(1, "retry %d/%d %s %s after %s in 0 ms (%d in flight at most now)", r->attempts - r->requeues + 2,
		 h->max_retries + 1, r->method, r->url, why, tw_limit_allowed(&hst->limit));
	push_front(hst, r);
}

/* Any answer but a 429: the host's limit may grow, if requests wait for room in it. */
static void answered(const struct tw_req *r)
{
	struct tw_host *hst = r->api;

	tw_limit_ok(&hst->limit, hst->queue || hst->ninflight + 1 >= tw_limit_allowed(&hst->limit));
}

static int transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
		return 1;
	default:
		return 0;
	}
}

/* curl's message as one lowercase clause: "Empty reply from server." -> "empty reply from server" */
static void clause(char *out, size_t outlen, const char *msg)
{
	size_t n;

	snprintf(out, outlen, "%s", msg);
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '.'))
		out[--n] = '\0';
	if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
		out[0] = (char)(out[0] - 'A' + 'a');
}

/* The host[:port] of an absolute URL, without a user name or password. */
static void host_of(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://"), *end, *at;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	snprintf(out, outlen, "%.*s", (int)(end - p), p);
}

/*
 * What a timed-out attempt was waiting for, and from which host: the
 * connection, the answer to a request it sent (a server that accepted and is
 * silent), or the rest of an answer that stalled.
 */
static void timed_out(char *why, size_t n, const struct tw_req *r, int sent, long status, double ms)
{
	char host[100];

	host_of(r->url, host, sizeof(host));
	if (!sent)
		snprintf(why, n, "could not connect to %s within %.1f s", host, ms / 1000);
	else if (!status)
		snprintf(why, n, "no answer from %s within %.1f s (the request was sent; twprov waited for the "
			 "response)", host, ms / 1000);
	else
		snprintf(why, n, "the answer from %s did not finish within %.1f s (HTTP %ld, %zu bytes of its body "
			 "came)", host, ms / 1000, status, r->resp.len);
}

static void transport_done(struct tw_http *h, struct tw_req *r, CURLcode rc, int sent, long status, double ms)
{
	char why[CURL_ERROR_SIZE], brief[128];

	if (rc == CURLE_OPERATION_TIMEDOUT)
		timed_out(why, sizeof(why), r, sent, status, ms);
	else
		clause(why, sizeof(why), r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
	clause(brief, sizeof(brief), curl_easy_strerror(rc));

	h->stats.transport_errors++;
	tw_trace(1, "< error %s %s (%.0f ms): %s", r->method, r->url, ms, why);

	if (!r->idempotent && sent) {
		tw_err_set(&r->err, "%s %s: %s (the request may have been processed)", r->method, r->url, why);
		complete(h, r, TW_REQ_UNSAFE);
		return;
	}
	tw_err_set(&r->err, "%s %s: %s", r->method, r->url, why);
	if (transient(rc))
		retry_or_give_up(h, r, TW_REQ_TRANSPORT, brief);
	else
		complete(h, r, TW_REQ_TRANSPORT);
}

/* A 3xx answer: twprov follows no redirect (it would take the credentials elsewhere); the
 * message says where it pointed (without a user name or password). */
static void redirected(struct tw_req *r, long status)
{
	CURLU *u = r->location ? curl_url() : NULL;
	char *shown = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, r->location, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_URL, &shown, 0);
	tw_err_set(&r->err, "%s %s: HTTP %ld: the server redirects to %s; twprov follows no redirect (is "
		   "TWPROV_API_URL, TWILIO_REGION or TWILIO_EDGE right?)", r->method, r->url, status,
		   shown ? tw_quote_always(shown) : r->location ? "an address that is not a URL" : "nowhere");
	r->err.status = (int)status;
	curl_free(shown);
	curl_url_cleanup(u);
}

static void response_done(struct tw_http *h, struct tw_req *r, long status, double ms)
{
	char why[32];

	if (tw_out.verbose >= 2)
		tw_trace(2, "< %ld %s %s (%.0f ms, %zu bytes)", status, r->method, r->url, ms, r->resp.len);
	else
		tw_trace(1, "< %ld %s %s (%.0f ms)", status, r->method, r->url, ms);

	if (status != 429)
		answered(r);
	if (status >= 200 && status < 300 && r->download) {
		/* the bytes as they came: the callback reads `body` */
		struct tw_buf t = r->body;
		r->body = r->resp;
		r->resp = t;
		complete(h, r, TW_REQ_OK);
		return;
	}
	if (status >= 200 && status < 300) {
		if (r->resp.len) {
			json_error_t je;
			json_t *j = json_loadb(r->resp.buf, r->resp.len, 0, &je);
			if (!json_is_object(j)) {
				tw_err_set(&r->err, "%s %s: HTTP %ld: the response is not a JSON object%s%s",
					   r->method, r->url, status, j ? "" : ": ", j ? "" : je.text);
				json_decref(j);
				r->err.status = (int)status;
				/* a create that succeeded but whose answer we cannot read */
				complete(h, r, r->idempotent ? TW_REQ_API_ERROR : TW_REQ_UNSAFE);
				return;
			}
			r->json = j;
		}
		complete(h, r, TW_REQ_OK);
		return;
	}

	tw_api_error(&r->err, status, r->resp.buf, r->resp.len);
	if (status >= 300 && status < 400)
		redirected(r, status);
	snprintf(why, sizeof(why), "%ld", status);
	if (status == 429) {
		h->stats.throttled++;
		((struct tw_host *)r->api)->throttled++;
		if (throttle(r) && !past_deadline(r, 0))
			requeue(h, r, why);
		else
			retry_or_give_up(h, r, TW_REQ_API_ERROR, why);
	} else if (status >= 500) {
		h->stats.server_errors++;
		if (r->idempotent)
			retry_or_give_up(h, r, TW_REQ_API_ERROR, why);
		else
			complete(h, r, TW_REQ_UNSAFE);
	} else {
		complete(h, r, TW_REQ_API_ERROR);
	}
}

/*
 * A finished attempt gives back its slot at once.  A 2xx answer with a body
 * waits on h->answered to be parsed (see parse_one); every other outcome is
 * handled now.
 */
static void attempt_done(struct tw_http *h, struct tw_slot *s, CURLcode rc)
{
	struct tw_req *r = s->req;
	struct curl_header *ra;
	double ms = (now_s() - r->started) * 1000.0;
	long status = 0;
	int sent = s->sent;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);     /* 0 when no answer began */
	if (rc == CURLE_OK) {
		if (curl_easy_header(s->easy, "Retry-After", 0, CURLH_HEADER, -1, &ra) == CURLHE_OK)
			r->retry_after_ms = tw_parse_retry_after(ra->value, (long)time(NULL));
		if (status >= 300 && status < 400 &&
		    curl_easy_header(s->easy, "Location", 0, CURLH_HEADER, -1, &ra) == CURLHE_OK)
			r->location = tw_xstrdup(ra->value);
	}
	release_slot(h, s);
	r->status = rc == CURLE_OK ? status : 0;
	if (rc != CURLE_OK) {
		transport_done(h, r, rc, sent, status, ms);
	} else if (status >= 200 && status < 300 && r->resp.len) {
		r->took_ms = ms;
		r->next = h->answered;
		h->answered = r;
	} else {
		response_done(h, r, status, ms);
	}
}

/* Take the request with the shortest body off the list. */
static struct tw_req *take_smallest(struct tw_req **list)
{
	struct tw_req **min = list, *r;

	for (struct tw_req **pp = &(*list)->next; *pp; pp = &(*pp)->next)
		if ((*pp)->resp.len < (*min)->resp.len)
			min = pp;
	r = *min;
	*min = r->next;
	r->next = NULL;
	return r;
}

/* Handle the transfers curl has finished (their bodies wait on h->answered). */
static void drain(struct tw_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		char *priv = NULL;
		struct tw_slot *s;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		s = (struct tw_slot *)(void *)priv;
		if (s && s->req)
			attempt_done(h, s, rc);     /* `m` is invalid from here */
	}
}

/*
 * Parse one answered body and run its callback.  Parsing is the costly part
 * of reading an account (a 700 KB page of numbers takes tens of milliseconds)
 * and must not hold up the pool: the loop parses one body per turn, the
 * smallest first, and between turns lets curl finish transfers, give back
 * their slots and start queued requests (a callback may just have queued the
 * children of the page it read).  A small body is parsed in the turn its
 * transfer finished, so its callback still runs before the requests queued
 * behind its own start (and can cancel them); before a large one, the pool is
 * refilled first.
 */
static void parse_one(struct tw_http *h)
{
	struct tw_req *r = take_smallest(&h->answered);

	if (r->resp.len >= TW_LARGE_BODY)
		start_ready(h);
	response_done(h, r, r->status, r->took_ms);
}

/* Move retries whose time has come to the front of their host's queue, keeping their order. */
static void promote_due(struct tw_http *h)
{
	struct tw_req **pp = &h->delayed, *due = NULL;
	double now = now_s();

	while (*pp) {
		struct tw_req *r = *pp;
		if (r->due > now) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = due;          /* reversed ... */
		due = r;
	}
	while (due) {                   /* ... and reversed again, each at the front of its queue */
		struct tw_req *r = due;
		due = r->next;
		push_front(r->api, r);
	}
}

static void cancel_pending(struct tw_http *h, const char *msg)
{
	for (;;) {
		struct tw_req *r = NULL;
		for (int i = 0; i < h->nhosts && !r; i++)
			if (h->hosts[i]->queue)
				r = dequeue(h->hosts[i]);
		if (!r && (r = h->delayed))
			h->delayed = r->next;
		if (!r)
			break;
		tw_err_clear(&r->err);
		tw_err_set(&r->err, "%s", msg);
		complete(h, r, TW_REQ_TRANSPORT);
	}
}

/* Fail everything in flight after the multi handle itself failed. */
static void abort_inflight(struct tw_http *h)
{
	for (int i = 0; i < h->nslots; i++) {
		struct tw_slot *s = &h->slots[i];
		struct tw_req *r = s->req;
		if (!r)
			continue;
		release_slot(h, s);
		tw_err_set(&r->err, "%s %s: %s", r->method, r->url, h->fatal);
		complete(h, r, TW_REQ_TRANSPORT);
	}
}

static int poll_timeout(struct tw_http *h)
{
	double t = TW_POLL_MAX_MS, now = now_s();

	for (struct tw_req *r = h->delayed; r; r = r->next) {
		double ms = (r->due - now) * 1000.0;
		if (ms < t)
			t = ms;
	}
	if (t <= 0)
		return 0;
	return (int)t + ((double)(int)t < t);     /* round up: never wake just before */
}

/*
 * Can the top of the loop do something without waiting: return (idle), cancel
 * queued requests, or start one?  (Not while cancelled requests are still in
 * flight: then the loop must sleep in curl_multi_poll, not spin.)
 */
static int work_now(struct tw_http *h)
{
	if (!h->ninflight && !queued(h) && !h->delayed)
		return 1;
	if (h->answered)
		return 1;
	if (h->cancel)
		return queued(h) || h->delayed;
	for (int i = 0; i < h->nhosts; i++)
		if (startable(h, h->hosts[i]))
			return 1;
	return 0;
}

int tw_http_run(struct tw_http *h, struct tw_err *err)
{
	int ret = 0;

	if (h->running)
		return tw_err_set(err, "tw_http_run called from a request callback");
	h->running = 1;
	for (;;) {
		CURLMcode mc;
		int still;

		if (h->cancel)
			cancel_pending(h, h->fatal[0] ? h->fatal : "cancelled");
		promote_due(h);
		start_ready(h);
		if (!h->ninflight && !queued(h) && !h->delayed && !h->answered)
			break;
		if (h->fatal[0] || (h->cancel && (queued(h) || h->delayed))) {
			if (h->answered)
				parse_one(h);
			continue;       /* callbacks of cancelled requests submitted more */
		}

		mc = curl_multi_perform(h->multi, &still);
		if (mc == CURLM_OK) {
			drain(h);
			if (h->answered) {
				parse_one(h);
				continue;
			}
			if (work_now(h))
				continue;
			/* sleep until a socket, a curl timer or our next retry is due */
			mc = curl_multi_poll(h->multi, NULL, 0, poll_timeout(h), NULL);
		}
		if (mc != CURLM_OK) {
			snprintf(h->fatal, sizeof(h->fatal), "curl: %s", curl_multi_strerror(mc));
			ret = tw_err_set(err, "%s", h->fatal);
			h->cancel = 1;
			abort_inflight(h);
		}
	}
	h->running = 0;
	h->cancel = 0;
	h->fatal[0] = '\0';
	return ret;
}
