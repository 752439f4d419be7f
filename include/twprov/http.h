/* http.h - Twilio REST over one curl multi handle */
#ifndef TWPROV_HTTP_H
#define TWPROV_HTTP_H

#include <jansson.h>

#include "twprov/buf.h"
#include "twprov/err.h"
#include "twprov/kind.h"

struct tw_http;
struct tw_req;

/* The default cap of requests in flight (--parallelism).  How many are really in
 * flight to a host is found by trying (limit.h): Twilio publishes no number, reports
 * speak of about 100 per account.  Reads and writes share it. */
#define TW_PARALLELISM 256

struct tw_http_opts {
	const char *account_sid;    /* AC..., for 2010 paths */
	const char *user;           /* Basic auth user: account SID or API key SID */
	const char *pass;           /* auth token or API key secret (never printed) */
	const char *api_url;        /* TWPROV_API_URL: every product on this base, or NULL */
	const char *region;         /* TWILIO_REGION, or NULL */
	const char *edge;           /* TWILIO_EDGE, or NULL */
	const char *cacert;         /* CA bundle: --cacert or CURL_CA_BUNDLE (libcurl reads neither), or NULL */
	int parallelism;            /* cap of requests in flight (>= 1; default TW_PARALLELISM); to
	                               each API host, fewer when it answers 429 (limit.h) */
	int max_retries;            /* retries after the first attempt (default 6) */
	long retry_base_ms;         /* first backoff (default 250) */
	long retry_cap_ms;          /* largest single backoff (default 8000) */
	long timeout_ms;            /* per attempt (default 30000) */
	long stall_ms;              /* an attempt fails when less than a byte a second moved for this
	                               long (whole seconds, at least 1; default 15000) */
	long deadline_ms;           /* per request, its retries included: no attempt starts or runs
	                               past it (default 45000, or timeout_ms when that is longer) */
};

/* Defaults above, then TWPROV_MAX_RETRIES / TWPROV_RETRY_BASE_MS / TWPROV_RETRY_CAP_MS /
 * TWPROV_TIMEOUT_MS / TWPROV_STALL_MS / TWPROV_DEADLINE_MS from the environment when set
 * (documented in twprov(1)).  With the defaults a server that accepts a request and never
 * answers holds it 45 s: three attempts that stall for 15 s, the last cut by the deadline. */
void tw_http_opts_init(struct tw_http_opts *o);

/* Copies everything it needs from `o` (strings included).  Calls curl_global_init,
 * which libcurl reference-counts; tw_http_free balances it with curl_global_cleanup. */
struct tw_http *tw_http_new(const struct tw_http_opts *o, struct tw_err *err);
/* Normally called when tw_http_run has returned (idle).  Requests still queued or in
 * flight are freed without their callbacks. */
void tw_http_free(struct tw_http *h);

/*
 * A form body and the same body as shown in traces, with the values of
 * secret parameters replaced by "(redacted)".
 */
struct tw_form {
	struct tw_buf body;
	struct tw_buf shown;
};
void tw_form_init(struct tw_form *f);
void tw_form_release(struct tw_form *f);   /* wipes the body */
/* key=value, percent-encoded ('+' as %2B, ' ' as %20), joined by '&'; a NULL value is
 * sent empty.  Call again with the same key for list parameters. */
void tw_form_add(struct tw_form *f, const char *key, const char *value);
void tw_form_add_secret(struct tw_form *f, const char *key, const char *value);
void tw_form_add_bool(struct tw_form *f, const char *key, int value);  /* "true"/"false" */

typedef void (*tw_req_cb)(struct tw_http *h, struct tw_req *req);

/* Outcome of a request after its retries. */
enum tw_req_result {
	TW_REQ_OK = 0,          /* 2xx */
	TW_REQ_API_ERROR,       /* 4xx (not 429), or 429/5xx after the retry budget */
	TW_REQ_TRANSPORT,       /* connection failed/dropped/timed out after the retry budget */
	TW_REQ_UNSAFE,          /* a non-idempotent request failed in a way that it may have been
	                           processed (dropped connection, timeout or 5xx after sending):
	                           not retried; the caller must re-read before re-sending */
};

/* One part of a multipart/form-data body (Serverless uploads). */
struct tw_part {
	char *name;                 /* "Content", "Path", ... */
	char *filename;             /* a file part's name, or NULL */
	char *type;                 /* its Content-Type, or NULL */
	struct tw_buf data;
	struct tw_part *next;
};

struct tw_req {
	/* set by the caller */
	const char *method;         /* "GET", "POST", "DELETE" */
	char *url;                  /* absolute URL (tw_http_url); owned, freed with the request */
	struct tw_form form;        /* POST body */
	struct tw_part *parts;      /* or a multipart/form-data body (tw_req_add_part) */
	int idempotent;             /* safe to re-send after a 5xx or a dropped connection */
	int download;               /* a download from a deployed URL (tw_req_download): no
	                               credentials are sent, a 2xx answer's bytes are kept in `body`
	                               as they came (not parsed) */
	char *host;                 /* a Host header to send (a deployed domain reached through
	                               TWPROV_API_URL), or NULL; owned */
	tw_req_cb cb;               /* called once, when done (from tw_http_run) */
	void *ud;                   /* caller data */
	long tag;                   /* caller data */

	/* set by tw_http when done */
	enum tw_req_result result;
	long status;                /* HTTP status of the last attempt, 0 if none */
	json_t *json;               /* parsed body (object) of a 2xx answer, or NULL (e.g. 204) */
	struct tw_buf body;         /* a download's 2xx answer, its bytes */
	struct tw_err err;          /* set unless TW_REQ_OK: "20404: The requested ... (more_info)";
	                               transport errors: "GET https://...: <what curl said>", for a
	                               timeout what was awaited from which host ("no answer from
	                               HOST within 15 s (the request was sent)");
	                               after the retry budget or the deadline: "gave up after 3
	                               attempts in 45 s: ..." */
	int attempts;               /* attempts made, retries included */

	/* private */
	double deadline;            /* when the first attempt started + deadline_ms */
	char *location;             /* a 3xx answer's Location */
	int requeues;               /* re-sent at once after a 429 (the host's limit had no room) */
	void *api;                  /* its API host: limit and queue */
	struct tw_buf resp;
	long retry_after_ms;
	double due;                 /* time at which a delayed retry may start */
	double started;
	double took_ms;             /* the last attempt, for the trace */
	void *handle;
	char curl_err[256];
	struct tw_req *next;
	void *mime;                 /* the attempt's curl_mime, when parts */
	void *headers;              /* its own header list (a Host header), once built */
};

/* Full URL for `path` on `product`'s host, honouring TWPROV_API_URL, region and edge
 * (heap string; NULL only for an invalid product). */
char *tw_http_url(struct tw_http *h, enum tw_product product, const char *path);
/* Same host rules for a link returned by the API: an absolute `next_page_url`
 * (its path and query are kept, the host replaced by ours) or a 2010 `next_page_uri`.
 * Returns NULL when the link is neither absolute (scheme://host/...) nor a path. */
char *tw_http_link(struct tw_http *h, enum tw_product product, const char *link);
const char *tw_http_account_sid(struct tw_http *h);
/*
 * A download (req->download) of what Twilio serves for a deployed public
 * Function or Asset: GET https://DOMAIN/PATH
 * (twilio.com/docs/serverless/functions-assets/visibility), DOMAIN being an
 * environment's domain_name.  With TWPROV_API_URL the request goes to that base
 * URL with the same path and `Host: DOMAIN`.  DOMAIN must be a host name under
 * twil.io and PATH a path of printable characters without "." or ".." segments
 * (both come from a server); the path is percent-encoded.  NULL with the
 * reason in err otherwise.  Submit it as any other request.
 */
struct tw_req *tw_req_download(struct tw_http *h, const char *domain, const char *path, tw_req_cb cb, void *ud,
			       struct tw_err *err);
/* The retry budget: retries after the first attempt (TWPROV_MAX_RETRIES). */
int tw_http_max_retries(struct tw_http *h);

/* Allocate a request (url is taken over; `method` must outlive it, e.g. a literal).
 * `idempotent` starts as 1 for GET, DELETE and HEAD, 0 otherwise: set it for a POST
 * that is safe to repeat (an update of fixed values). */
struct tw_req *tw_req_new(const char *method, char *url, tw_req_cb cb, void *ud);
void tw_req_free(struct tw_req *r);

/* Add a part to a multipart body (sent instead of `form`); `data` is copied. */
void tw_req_add_part(struct tw_req *r, const char *name, const char *filename, const char *type,
		     const void *data, size_t len);

/* Queue a request after `delay_ms` (polling: a build's status). */
void tw_http_submit_after(struct tw_http *h, struct tw_req *r, long delay_ms);

/* Queue a request; it starts when its host's limit and the cap have room (requests to
 * one host start in the order queued, retries first).  Ownership passes to
 * tw_http until its callback runs; the callback must tw_req_free it (or re-submit it:
 * the result fields and the attempt count start afresh).  With no callback the request
 * is freed when done. */
void tw_http_submit(struct tw_http *h, struct tw_req *r);

/* Run until no request is queued, in flight or waiting to retry.  Callbacks may submit more.
 * Returns -1 only when curl's multi handle itself fails (then every pending request
 * completes with TW_REQ_TRANSPORT); request failures are reported in each request. */
int tw_http_run(struct tw_http *h, struct tw_err *err);


/* Ask the loop to stop starting queued requests (in-flight ones finish; queued ones and
 * retries waiting for their delay complete with TW_REQ_TRANSPORT "cancelled", and so do
 * requests submitted later during the same tw_http_run).  May be called from a callback;
 * the cancellation ends when tw_http_run returns. */
void tw_http_cancel_queued(struct tw_http *h);

/*
 * Paginated list: GET `path` on `product` with PageSize=1000 (unless the query
 * already has a PageSize), follow the API's next link (meta.next_page_url or
 * next_page_uri, via tw_http_link) until null, append every element of `list_key`
 * (or of meta.key when the page has no `list_key`) to one array, then call `done`
 * with it (NULL on failure, err set).  `items` and `err` are borrowed: valid during
 * the callback only (json_incref the array to keep it).  Lists run concurrently in
 * the pool like any other request.
 */
typedef void (*tw_list_cb)(struct tw_http *h, json_t *items, const struct tw_err *err, void *ud);
void tw_http_list(struct tw_http *h, enum tw_product product, const char *path, const char *list_key,
		  tw_list_cb done, void *ud);
/* The same, its first page sent after `delay_ms` (polling a list that lags behind writes). */
void tw_http_list_after(struct tw_http *h, enum tw_product product, const char *path, const char *list_key,
			long delay_ms, tw_list_cb done, void *ud);

/* Seconds on a monotonic clock. */
double tw_now_s(void);

/* Counters for -v summaries and benchmarks.  (tw_http_free traces, with -v, the limit
 * each host was found to take.) */
struct tw_http_stats {
	long requests;      /* attempts sent */
	long retries;
	long throttled;     /* 429 answers */
	long server_errors; /* 5xx answers */
	long transport_errors;
};
void tw_http_stats(struct tw_http *h, struct tw_http_stats *out);

/* Pure helpers, exposed for unit tests. */
/* Delay before retry number `attempt` (1-based): exponential from base, capped,
 * with full jitter from `rnd` in [0,1): rnd * min(cap, base * 2^(attempt-1)), but
 * never below min(base/2, that ceiling); at least retry_after_ms when that is > 0. */
long tw_backoff_ms(int attempt, long base_ms, long cap_ms, long retry_after_ms, double rnd);
/* Parse a Retry-After header value (seconds or HTTP date) into ms; -1 if invalid.
 * A date in the past gives 0. */
long tw_parse_retry_after(const char *value, long now_epoch);
/* Turn a Twilio error body (may be NULL/non-JSON) and status into err:
 * "CODE: message (more_info)", else "HTTP 502: <first line of the body>" or "HTTP 503". */
void tw_api_error(struct tw_err *err, long status, const char *body, size_t len);
/* The next-page link of a list page, or NULL (points into `page`). */
const char *tw_page_next(const json_t *page);
/* The items array of a list page: `list_key`, or meta.key for v1 pages. */
json_t *tw_page_items(const json_t *page, const char *list_key);

#endif
