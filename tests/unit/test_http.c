/*
 * test_http.c - the HTTP module: pure helpers, then real requests over
 * loopback against a tiny scripted HTTP/1.1 responder running in a thread
 * of this test (it answers from a list of canned responses and records
 * what it received, how many connections and requests were open at once).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "twprov/http.h"
#include "twprov/limit.h"
#include "twprov/log.h"

/* ------------------------------------------------------------------ */
/* form encoding                                                        */

static void test_form_encoding(void **state)
{
	struct tw_form f;
	(void)state;

	tw_form_init(&f);
	assert_int_equal(f.body.len, 0);
	tw_form_add(&f, "To", "+16505551111");
	tw_form_add(&f, "FriendlyName", "Main line & more=yes");
	tw_form_add(&f, "Name", "Zo\xc3\xab 100%");          /* "Zoë 100%" in UTF-8 */
	tw_form_add_bool(&f, "Secure", 1);
	tw_form_add_bool(&f, "SipRegistration", 0);
	tw_form_add(&f, "VoiceUrl", "");
	tw_form_add(&f, "Empty", NULL);
	tw_form_add(&f, "Safe", "a-b_c.d~e");
	tw_form_add_secret(&f, "Password", "s3cr+t Pw&x=1");
	tw_form_add(&f, "FunctionVersions", "ZN1");
	tw_form_add(&f, "FunctionVersions", "ZN2");

	assert_string_equal(f.body.buf,
			    "To=%2B16505551111"
			    "&FriendlyName=Main%20line%20%26%20more%3Dyes"
			    "&Name=Zo%C3%AB%20100%25"
			    "&Secure=true&SipRegistration=false"
			    "&VoiceUrl=&Empty=&Safe=a-b_c.d~e"
			    "&Password=s3cr%2Bt%20Pw%26x%3D1"
			    "&FunctionVersions=ZN1&FunctionVersions=ZN2");
	assert_string_equal(f.shown.buf,
			    "To=%2B16505551111"
			    "&FriendlyName=Main%20line%20%26%20more%3Dyes"
			    "&Name=Zo%C3%AB%20100%25"
			    "&Secure=true&SipRegistration=false"
			    "&VoiceUrl=&Empty=&Safe=a-b_c.d~e"
			    "&Password=(redacted)"
			    "&FunctionVersions=ZN1&FunctionVersions=ZN2");
	assert_null(strstr(f.shown.buf, "s3cr"));
	tw_form_release(&f);
	assert_int_equal(f.body.len, 0);
	assert_int_equal(f.shown.len, 0);
	assert_string_equal(f.body.buf, "");
}

static void test_form_grows(void **state)
{
	struct tw_form f;
	struct tw_buf want = TW_BUF_INIT;
	(void)state;

	/* many pairs: the body is regrown many times and must stay intact */
	tw_form_init(&f);
	for (int i = 0; i < 300; i++) {
		char k[16], v[32];
		snprintf(k, sizeof(k), "K%d", i);
		snprintf(v, sizeof(v), "+v %d", i);
		if (i == 7)
			tw_form_add_secret(&f, k, v);
		else
			tw_form_add(&f, k, v);
		tw_buf_addf(&want, "%sK%d=%%2Bv%%20%d", i ? "&" : "", i, i);
	}
	assert_string_equal(f.body.buf, want.buf);
	assert_int_equal(f.body.len, want.len);
	assert_non_null(strstr(f.shown.buf, "&K7=(redacted)&K8=%2Bv%208"));
	tw_buf_release(&want);
	tw_form_release(&f);
}

/* ------------------------------------------------------------------ */
/* backoff                                                              */

static long ceiling_of(int attempt, long base, long cap)
{
	long c = base;
	for (int i = 1; i < attempt && c < cap; i++)
		c *= 2;
	return c < cap ? c : cap;
}

static void test_backoff_bounds(void **state)
{
	static const double rnds[] = { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999 };
	(void)state;

	for (size_t k = 0; k < sizeof(rnds) / sizeof(rnds[0]); k++) {
		long prev = 0;
		for (int a = 1; a <= 64; a++) {
			long c = ceiling_of(a, 250, 8000);
			long d = tw_backoff_ms(a, 250, 8000, 0, rnds[k]);
			long want = (long)(rnds[k] * (double)c);
			if (want < 125)
				want = 125;
			assert_true(d >= 125);          /* floor: base / 2 */
			assert_true(d <= c);
			assert_true(d <= 8000);         /* cap */
			assert_int_equal(d, want);
			assert_true(d >= prev);         /* monotone in the attempt for one rnd */
			prev = d;
		}
	}
	/* the exact full-jitter values */
	assert_int_equal(tw_backoff_ms(1, 250, 8000, 0, 0.5), 125);
	assert_int_equal(tw_backoff_ms(2, 250, 8000, 0, 0.5), 250);
	assert_int_equal(tw_backoff_ms(3, 250, 8000, 0, 0.5), 500);
	assert_int_equal(tw_backoff_ms(6, 250, 8000, 0, 0.5), 4000);
	assert_int_equal(tw_backoff_ms(7, 250, 8000, 0, 0.5), 4000);   /* capped at 8000 */
	assert_int_equal(tw_backoff_ms(6, 250, 8000, 0, 0.0), 125);    /* floor */
	assert_true(tw_backoff_ms(40, 250, 8000, 0, 0.999999) >= 7990);
	/* nonsense inputs stay in range and never overflow */
	assert_int_equal(tw_backoff_ms(0, 250, 8000, 0, 0.5), 125);
	assert_int_equal(tw_backoff_ms(-3, 250, 8000, 0, 0.5), 125);
	assert_int_equal(tw_backoff_ms(INT_MAX, 250, 8000, 0, 0.5), 4000);
	assert_int_equal(tw_backoff_ms(5, 250, 8000, 0, NAN), 125);
	assert_int_equal(tw_backoff_ms(5, 250, 8000, 0, 7.0), 4000);
	assert_int_equal(tw_backoff_ms(3, 1000, 100, 0, 0.0), 100);    /* floor capped by cap */
	assert_int_equal(tw_backoff_ms(3, 0, 0, 0, 0.5), 0);
}

static void test_backoff_retry_after(void **state)
{
	(void)state;
	/* Retry-After wins when longer */
	assert_int_equal(tw_backoff_ms(1, 250, 8000, 5000, 0.5), 5000);
	assert_int_equal(tw_backoff_ms(1, 250, 8000, 20000, 0.0), 20000);   /* even above the cap */
	/* and is ignored when shorter, or invalid (-1) */
	assert_int_equal(tw_backoff_ms(6, 250, 8000, 100, 0.5), 4000);
	assert_int_equal(tw_backoff_ms(6, 250, 8000, -1, 0.5), 4000);
	for (int a = 1; a < 20; a++)
		assert_true(tw_backoff_ms(a, 250, 8000, 3000, 0.1) >= 3000);
}

/* ------------------------------------------------------------------ */
/* Retry-After                                                          */

static void test_parse_retry_after(void **state)
{
	const long when = 1445412480;   /* Wed, 21 Oct 2015 07:28:00 GMT */
	(void)state;

	assert_int_equal(tw_parse_retry_after("120", 0), 120000);
	assert_int_equal(tw_parse_retry_after("0", 0), 0);
	assert_int_equal(tw_parse_retry_after(" 3 \r\n", 0), 3000);
	/* HTTP dates: the three formats of RFC 9110 */
	assert_int_equal(tw_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when - 30), 30000);
	assert_int_equal(tw_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", when - 2), 2000);
	assert_int_equal(tw_parse_retry_after("Wed Oct 21 07:28:00 2015", when - 1), 1000);
	/* in the past: no wait */
	assert_int_equal(tw_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when + 100), 0);
	/* garbage */
	assert_int_equal(tw_parse_retry_after(NULL, 0), -1);
	assert_int_equal(tw_parse_retry_after("", 0), -1);
	assert_int_equal(tw_parse_retry_after("   ", 0), -1);
	assert_int_equal(tw_parse_retry_after("soon", 0), -1);
	assert_int_equal(tw_parse_retry_after("-5", 0), -1);
	assert_int_equal(tw_parse_retry_after("1.5", 0), -1);
	assert_int_equal(tw_parse_retry_after("12abc", 0), -1);
	assert_int_equal(tw_parse_retry_after("Oct 2015", 0), -1);
	assert_int_equal(tw_parse_retry_after("99999999999999999999999999", 0), -1);
}

/* ------------------------------------------------------------------ */
/* Twilio error bodies                                                  */

static void test_api_error(void **state)
{
	struct tw_err e = TW_ERR_INIT;
	const char *b404 = "{\"code\": 20404, \"message\": \"The requested resource "
			   "/2010-04-01/Accounts/AC123/SIP/Domains/SD1.json was not found\", "
			   "\"more_info\": \"https://www.twilio.com/docs/errors/20404\", \"status\": 404}";
	const char *b401 = "{\"code\":20003,\"detail\":\"Your AccountSid or AuthToken was incorrect.\","
			   "\"message\":\"Authenticate\",\"more_info\":\"https://www.twilio.com/docs/errors/20003\","
			   "\"status\":401}";
	(void)state;

	tw_api_error(&e, 404, b404, strlen(b404));
	assert_string_equal(e.msg, "20404: The requested resource /2010-04-01/Accounts/AC123/SIP/Domains/SD1.json "
			    "was not found (https://www.twilio.com/docs/errors/20404)");
	assert_int_equal(e.code, 20404);
	assert_int_equal(e.status, 404);
	assert_int_equal(e.kind, TW_ERR_RUNTIME);

	tw_api_error(&e, 401, b401, strlen(b401));
	assert_string_equal(e.msg, "20003: Authenticate (https://www.twilio.com/docs/errors/20003)");
	assert_int_equal(e.code, 20003);
	assert_int_equal(e.status, 401);

	/* no code, no more_info */
	tw_api_error(&e, 400, "{\"message\":\"bad\\nthing\"}", 24);
	assert_string_equal(e.msg, "HTTP 400: bad thing");
	assert_int_equal(e.code, 0);

	/* JSON but not a Twilio error: quoted like any other body */
	tw_api_error(&e, 500, "{\"foo\":1}", 9);
	assert_string_equal(e.msg, "HTTP 500: {\"foo\":1}");

	/* non-JSON: the first non-blank line */
	tw_api_error(&e, 502, "<html>\n<body>Bad gateway</body>\n</html>", 38);
	assert_string_equal(e.msg, "HTTP 502: <html>");
	assert_int_equal(e.status, 502);
	assert_int_equal(e.code, 0);
	tw_api_error(&e, 502, "\r\n  upstream   connect error\t \r\nmore", 36);
	assert_string_equal(e.msg, "HTTP 502: upstream connect error");
	/* the body is not NUL-terminated: only `len` bytes count */
	tw_api_error(&e, 502, "oops-and-more", 4);
	assert_string_equal(e.msg, "HTTP 502: oops");

	/* empty */
	tw_api_error(&e, 503, "", 0);
	assert_string_equal(e.msg, "HTTP 503");
	tw_api_error(&e, 503, NULL, 0);
	assert_string_equal(e.msg, "HTTP 503");
	tw_api_error(&e, 503, " \r\n \n", 5);
	assert_string_equal(e.msg, "HTTP 503");
}

static void test_api_error_long_body(void **state)
{
	struct tw_err e = TW_ERR_INIT;
	char body[2000];
	const char *q;
	(void)state;

	memset(body, 'x', sizeof(body));
	tw_api_error(&e, 502, body, sizeof(body));
	assert_int_equal(strncmp(e.msg, "HTTP 502: xxx", 13), 0);
	q = e.msg + strlen("HTTP 502: ");
	assert_int_equal(strlen(q), 200 + 3);
	assert_string_equal(q + 200, "...");

	/* two-byte UTF-8 characters are never cut in half */
	for (size_t i = 0; i + 1 < sizeof(body); i += 2) {
		body[i] = (char)0xc3;
		body[i + 1] = (char)0xa9;      /* é */
	}
	tw_api_error(&e, 502, body, sizeof(body));
	q = e.msg + strlen("HTTP 502: ");
	assert_int_equal(strlen(q), 200 + 3);
	assert_int_equal((unsigned char)q[198], 0xc3);
	assert_int_equal((unsigned char)q[199], 0xa9);
	assert_string_equal(q + 200, "...");

	/* a three-byte character straddling byte 200 is dropped whole */
	memset(body, 'a', sizeof(body));
	memcpy(body + 199, "\xe2\x82\xac", 3);       /* € at bytes 199..201 */
	tw_api_error(&e, 502, body, sizeof(body));
	q = e.msg + strlen("HTTP 502: ");
	assert_int_equal(strlen(q), 199 + 3);
	assert_string_equal(q + 199, "...");
}

/* ------------------------------------------------------------------ */
/* list pages                                                           */

static json_t *parse(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	assert_non_null(j);
	return j;
}

static void test_page_helpers_2010(void **state)
{
	json_t *p;
	(void)state;

	p = parse("{\"domains\":[{\"sid\":\"SD1\"},{\"sid\":\"SD2\"}],"
		  "\"first_page_uri\":\"/2010-04-01/Accounts/AC1/SIP/Domains.json?PageSize=50&Page=0\","
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC1/SIP/Domains.json?PageSize=50&Page=1&PageToken=PA1\","
		  "\"page\":0,\"page_size\":50}");
	assert_string_equal(tw_page_next(p), "/2010-04-01/Accounts/AC1/SIP/Domains.json?PageSize=50&Page=1&PageToken=PA1");
	assert_int_equal(json_array_size(tw_page_items(p, "domains")), 2);
	assert_ptr_equal(tw_page_items(p, "domains"), json_object_get(p, "domains"));
	assert_null(tw_page_items(p, "contents"));   /* no such key, no meta */
	assert_null(tw_page_items(p, NULL));
	json_decref(p);

	p = parse("{\"contents\":[],\"next_page_uri\":null}");
	assert_null(tw_page_next(p));
	assert_non_null(tw_page_items(p, "contents"));
	assert_int_equal(json_array_size(tw_page_items(p, "contents")), 0);
	json_decref(p);

	p = parse("{\"domains\":[1],\"next_page_uri\":\"\"}");
	assert_null(tw_page_next(p));
	json_decref(p);

	p = parse("{\"domains\":{\"not\":\"an array\"}}");
	assert_null(tw_page_next(p));
	assert_null(tw_page_items(p, "domains"));
	json_decref(p);

	assert_null(tw_page_next(NULL));
	assert_null(tw_page_items(NULL, "domains"));
}

static void test_page_helpers_v1(void **state)
{
	json_t *p;
	(void)state;

	p = parse("{\"byoc_trunks\":[{\"sid\":\"BY1\"}],"
		  "\"meta\":{\"page\":0,\"page_size\":50,\"key\":\"byoc_trunks\","
		  "\"first_page_url\":\"https://voice.twilio.com/v1/ByocTrunks?PageSize=50&Page=0\","
		  "\"previous_page_url\":null,"
		  "\"next_page_url\":\"https://voice.twilio.com/v1/ByocTrunks?PageSize=50&Page=1&PageToken=PT1\","
		  "\"url\":\"https://voice.twilio.com/v1/ByocTrunks?PageSize=50&Page=0\"}}");
	assert_string_equal(tw_page_next(p), "https://voice.twilio.com/v1/ByocTrunks?PageSize=50&Page=1&PageToken=PT1");
	assert_int_equal(json_array_size(tw_page_items(p, NULL)), 1);          /* meta.key */
	assert_int_equal(json_array_size(tw_page_items(p, "byoc_trunks")), 1);
	assert_ptr_equal(tw_page_items(p, "trunks"), json_object_get(p, "byoc_trunks"));  /* falls back */
	json_decref(p);

	p = parse("{\"trunks\":[],\"meta\":{\"key\":\"trunks\",\"next_page_url\":null}}");
	assert_null(tw_page_next(p));
	assert_non_null(tw_page_items(p, NULL));
	json_decref(p);

	/* meta without a key, and no list_key */
	p = parse("{\"trunks\":[],\"meta\":{\"next_page_url\":null}}");
	assert_null(tw_page_items(p, NULL));
	assert_non_null(tw_page_items(p, "trunks"));
	json_decref(p);
}

/* ------------------------------------------------------------------ */
/* hosts and links                                                      */

static struct tw_http *new_http(const char *api_url, const char *region, const char *edge)
{
	struct tw_http_opts o;
	struct tw_err err = TW_ERR_INIT;
	struct tw_http *h;

	tw_http_opts_init(&o);
	o.account_sid = "AC123";
	o.user = "ACuser";
	o.pass = "t0ken+secret";
	o.api_url = api_url;
	o.region = region;
	o.edge = edge;
	h = tw_http_new(&o, &err);
	assert_non_null(h);
	return h;
}

static void check_url(struct tw_http *h, enum tw_product p, const char *path, const char *want)
{
	char *u = tw_http_url(h, p, path);
	assert_non_null(u);
	assert_string_equal(u, want);
	free(u);
}

static void check_link(struct tw_http *h, enum tw_product p, const char *link, const char *want)
{
	char *u = tw_http_link(h, p, link);
	if (!want) {
		assert_null(u);
		return;
	}
	assert_non_null(u);
	assert_string_equal(u, want);
	free(u);
}

static void test_urls(void **state)
{
	struct tw_http *h;
	(void)state;

	h = new_http(NULL, NULL, NULL);
	check_url(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json",
		  "https://api.twilio.com/2010-04-01/Accounts/AC123/SIP/Domains.json");
	check_url(h, TW_PRODUCT_VOICE, "/v1/ByocTrunks", "https://voice.twilio.com/v1/ByocTrunks");
	check_url(h, TW_PRODUCT_TRUNKING, "/v1/Trunks", "https://trunking.twilio.com/v1/Trunks");
	check_url(h, TW_PRODUCT_SERVERLESS, "/v1/Services", "https://serverless.twilio.com/v1/Services");
	check_url(h, TW_PRODUCT_UPLOAD, "/v1/Services/ZS1/Functions/ZH1/Versions",
		  "https://serverless-upload.twilio.com/v1/Services/ZS1/Functions/ZH1/Versions");
	check_url(h, TW_PRODUCT_VOICE, "v1/ByocTrunks", "https://voice.twilio.com/v1/ByocTrunks");
	assert_null(tw_http_url(h, TW_PRODUCT_COUNT, "/x"));
	assert_string_equal(tw_http_account_sid(h), "AC123");
	tw_http_free(h);

	h = new_http(NULL, "ie1", NULL);
	check_url(h, TW_PRODUCT_API, "/2010-04-01/Accounts.json", "https://api.ie1.twilio.com/2010-04-01/Accounts.json");
	check_url(h, TW_PRODUCT_TRUNKING, "/v1/Trunks", "https://trunking.ie1.twilio.com/v1/Trunks");
	tw_http_free(h);

	h = new_http(NULL, NULL, "ashburn");     /* edge alone: region us1 */
	check_url(h, TW_PRODUCT_VOICE, "/v1/ByocTrunks", "https://voice.ashburn.us1.twilio.com/v1/ByocTrunks");
	tw_http_free(h);

	h = new_http(NULL, "ie1", "dublin");
	check_url(h, TW_PRODUCT_API, "/2010-04-01/Accounts.json", "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts.json");
	check_url(h, TW_PRODUCT_UPLOAD, "/v1/S", "https://serverless-upload.dublin.ie1.twilio.com/v1/S");
	tw_http_free(h);

	h = new_http(NULL, "", "");              /* empty means unset */
	check_url(h, TW_PRODUCT_API, "/x.json", "https://api.twilio.com/x.json");
	tw_http_free(h);

	/* TWPROV_API_URL: every product on one base, same paths; beats region and edge */
	h = new_http("http://127.0.0.1:8080/", "ie1", "dublin");
	check_url(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json",
		  "http://127.0.0.1:8080/2010-04-01/Accounts/AC123/SIP/Domains.json");
	check_url(h, TW_PRODUCT_VOICE, "/v1/ByocTrunks", "http://127.0.0.1:8080/v1/ByocTrunks");
	check_url(h, TW_PRODUCT_TRUNKING, "/v1/Trunks", "http://127.0.0.1:8080/v1/Trunks");
	check_url(h, TW_PRODUCT_SERVERLESS, "/v1/Services", "http://127.0.0.1:8080/v1/Services");
	check_url(h, TW_PRODUCT_UPLOAD, "/v1/Services", "http://127.0.0.1:8080/v1/Services");
	tw_http_free(h);
}

static void test_links(void **state)
{
	struct tw_http *h;
	(void)state;

	h = new_http("http://127.0.0.1:9", NULL, NULL);
	check_link(h, TW_PRODUCT_VOICE, "https://voice.twilio.com/v1/ByocTrunks?PageSize=50&Page=1&PageToken=PTx",
		   "http://127.0.0.1:9/v1/ByocTrunks?PageSize=50&Page=1&PageToken=PTx");
	check_link(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=50&Page=1&PageToken=PAx",
		   "http://127.0.0.1:9/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=50&Page=1&PageToken=PAx");
	check_link(h, TW_PRODUCT_VOICE, NULL, NULL);
	check_link(h, TW_PRODUCT_VOICE, "", NULL);
	check_link(h, TW_PRODUCT_VOICE, "ByocTrunks?Page=1", NULL);
	check_link(h, TW_PRODUCT_VOICE, "https://voice.twilio.com", NULL);
	/* a URL inside the query does not make a relative link absolute */
	check_link(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/Applications.json?VoiceUrl=https://x.example/y&Page=1",
		   "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Applications.json?VoiceUrl=https://x.example/y&Page=1");
	check_link(h, TW_PRODUCT_VOICE, "ByocTrunks?Url=https://x.example/y", NULL);
	check_link(h, TW_PRODUCT_VOICE, "HTTPS://voice.twilio.com/v1/ByocTrunks?Page=1", "http://127.0.0.1:9/v1/ByocTrunks?Page=1");
	check_link(h, TW_PRODUCT_VOICE, "//voice.twilio.com/v1/ByocTrunks?Page=1", "http://127.0.0.1:9/v1/ByocTrunks?Page=1");
	tw_http_free(h);

	h = new_http(NULL, NULL, NULL);
	check_link(h, TW_PRODUCT_TRUNKING, "https://trunking.twilio.com/v1/Trunks?PageSize=50&Page=1",
		   "https://trunking.twilio.com/v1/Trunks?PageSize=50&Page=1");
	check_link(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC1/Applications.json?Page=1",
		   "https://api.twilio.com/2010-04-01/Accounts/AC1/Applications.json?Page=1");
	tw_http_free(h);

	h = new_http(NULL, "ie1", "dublin");
	check_link(h, TW_PRODUCT_TRUNKING, "https://trunking.twilio.com/v1/Trunks?Page=1",
		   "https://trunking.dublin.ie1.twilio.com/v1/Trunks?Page=1");
	tw_http_free(h);
}

/* ------------------------------------------------------------------ */
/* options                                                              */

static void unset_env(void)
{
	unsetenv("TWPROV_MAX_RETRIES");
	unsetenv("TWPROV_RETRY_BASE_MS");
	unsetenv("TWPROV_RETRY_CAP_MS");
	unsetenv("TWPROV_TIMEOUT_MS");
	unsetenv("TWPROV_STALL_MS");
	unsetenv("TWPROV_DEADLINE_MS");
}

static void test_opts_env(void **state)
{
	struct tw_http_opts o;
	(void)state;

	unset_env();
	tw_http_opts_init(&o);
	assert_int_equal(o.parallelism, TW_PARALLELISM);
	assert_int_equal(o.max_retries, 6);
	assert_int_equal(o.retry_base_ms, 250);
	assert_int_equal(o.retry_cap_ms, 8000);
	assert_int_equal(o.timeout_ms, 30000);
	assert_int_equal(o.stall_ms, 15000);
	/* a silent server: three attempts stalling 15 s each, the last one cut: under a minute */
	assert_int_equal(o.deadline_ms, 45000);
	assert_null(o.api_url);
	assert_null(o.pass);

	setenv("TWPROV_MAX_RETRIES", "2", 1);
	setenv("TWPROV_RETRY_BASE_MS", "10", 1);
	setenv("TWPROV_RETRY_CAP_MS", "100", 1);
	setenv("TWPROV_TIMEOUT_MS", "5000", 1);
	tw_http_opts_init(&o);
	assert_int_equal(o.max_retries, 2);
	assert_int_equal(o.retry_base_ms, 10);
	assert_int_equal(o.retry_cap_ms, 100);
	assert_int_equal(o.timeout_ms, 5000);

	setenv("TWPROV_MAX_RETRIES", "abc", 1);
	setenv("TWPROV_RETRY_BASE_MS", "-1", 1);
	setenv("TWPROV_RETRY_CAP_MS", "12x", 1);
	setenv("TWPROV_TIMEOUT_MS", "", 1);
	tw_http_opts_init(&o);
	assert_int_equal(o.max_retries, 6);
	assert_int_equal(o.retry_base_ms, 250);
	assert_int_equal(o.retry_cap_ms, 8000);
	assert_int_equal(o.timeout_ms, 30000);
	setenv("TWPROV_TIMEOUT_MS", "0", 1);
	tw_http_opts_init(&o);
	assert_int_equal(o.timeout_ms, 30000);

	/* an attempt may always take its whole timeout, unless the deadline is set too */
	setenv("TWPROV_TIMEOUT_MS", "90000", 1);
	tw_http_opts_init(&o);
	assert_int_equal(o.deadline_ms, 90000);
	setenv("TWPROV_DEADLINE_MS", "2000", 1);
	setenv("TWPROV_STALL_MS", "1500", 1);
	tw_http_opts_init(&o);
	assert_int_equal(o.deadline_ms, 2000);
	assert_int_equal(o.stall_ms, 1500);
	unset_env();
}

static void test_new_rejects_zero_parallelism(void **state)
{
	struct tw_http_opts o;
	struct tw_err err = TW_ERR_INIT;
	(void)state;

	tw_http_opts_init(&o);
	o.parallelism = 0;
	assert_null(tw_http_new(&o, &err));
	assert_string_equal(err.msg, "parallelism must be at least 1, not 0");
}

/* ------------------------------------------------------------------ */
/* the scripted HTTP/1.1 responder                                      */

#define TWILIO_ERR(code, status, msg) \
	"{\"code\":" #code ",\"message\":\"" msg "\",\"more_info\":\"https://www.twilio.com/docs/errors/" \
	#code "\",\"status\":" #status "}"

#define STUB_MAX_REQS 64
#define STUB_MAX_CONNS 64

struct stub_resp {
	const char *match;      /* substring of the request target; NULL matches any */
	int status;             /* 0: read the request, then close without answering */
	const char *headers;    /* extra header lines, each ending in "\r\n", or NULL */
	const char *body;       /* NULL: empty */
	int delay_ms;           /* before answering */
	int repeat;             /* never used up */
	int used;
};

struct stub_req {
	char method[16];
	char target[512];
	char auth[256];
	char content_type[128];
	char user_agent[128];
	char accept[128];
	char body[2048];
};

struct stub {
	int lfd, port, wake[2];
	pthread_t acceptor;
	pthread_mutex_t mu;
	struct stub_resp *script;
	size_t nscript;
	struct stub_req reqs[STUB_MAX_REQS];
	int nreqs;
	int conns;              /* connections accepted */
	int open, max_open;     /* connections open now, and at most */
	int active, max_active; /* requests between "received" and "answered", now and at most */
	int limit;              /* > 0: more requests than this active at once are answered 429 at once,
	                           as Twilio's per-account concurrency limit (set before requests start) */
	int throttled;          /* requests so answered */
	int stop;
	pthread_t workers[STUB_MAX_CONNS];
	int nworkers;
};

struct stub_conn {
	struct stub *s;
	int fd;
};

/* Wait until `fd` is readable; 0 when the stub is stopping. */
static int stub_readable(struct stub *s, int fd)
{
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int stop, n = poll(&p, 1, 50);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			return 0;
	}
}

static void header_value(const char *hdrs, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *p = hdrs;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *end = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(end - v), v);
			return;
		}
	}
}

static char *find_crlfcrlf(char *p, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (!memcmp(p + i, "\r\n\r\n", 4))
			return p + i;
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void *stub_serve(void *arg)
{
	struct stub_conn *c = arg;
	struct stub *s = c->s;
	int fd = c->fd;
	static char unscripted[] = "{\"code\":0,\"message\":\"the test stub has no response for this request\"}";
	char *buf = malloc(65536);
	size_t have = 0;

	free(c);
	for (;;) {
		char *hend, cl[32];
		size_t hlen, clen;
		struct stub_req rq;
		struct stub_resp *resp = NULL, fallback = { NULL, 418, NULL, unscripted, 0, 1, 0 };
		struct tw_buf out = TW_BUF_INIT;

		while (!(hend = find_crlfcrlf(buf, have))) {
			ssize_t n;
			if (have == 65536 || !stub_readable(s, fd))
				goto out;
			n = recv(fd, buf + have, 65536 - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		hlen = (size_t)(hend + 4 - buf);
		hend[2] = '\0';      /* keep the last header line's CRLF, end the string there */
		memset(&rq, 0, sizeof(rq));
		sscanf(buf, "%15s %511s", rq.method, rq.target);
		header_value(buf, "Authorization", rq.auth, sizeof(rq.auth));
		header_value(buf, "Content-Type", rq.content_type, sizeof(rq.content_type));
		header_value(buf, "User-Agent", rq.user_agent, sizeof(rq.user_agent));
		header_value(buf, "Accept", rq.accept, sizeof(rq.accept));
		header_value(buf, "Content-Length", cl, sizeof(cl));
		clen = (size_t)strtoul(cl, NULL, 10);
		while (have < hlen + clen) {
			ssize_t n;
			if (hlen + clen > 65536 || !stub_readable(s, fd))
				goto out;
			n = recv(fd, buf + have, 65536 - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		snprintf(rq.body, sizeof(rq.body), "%.*s", (int)clen, buf + hlen);

		pthread_mutex_lock(&s->mu);
		if (s->nreqs < STUB_MAX_REQS)
			s->reqs[s->nreqs++] = rq;
		for (size_t i = 0; i < s->nscript && !resp; i++) {
			struct stub_resp *r = &s->script[i];
			if ((r->repeat || !r->used) && (!r->match || strstr(rq.target, r->match)))
				resp = r;
		}
		if (!resp)
			resp = &fallback;
		if (s->limit && resp->status && s->active >= s->limit) {
			static struct stub_resp busy = { NULL, 429, NULL, TWILIO_ERR(20429, 429, "Too Many Requests"),
							 0, 1, 0 };
			s->throttled++;
			resp = &busy;
		} else if (resp->status) {
			resp->used = 1;
			s->active++;
			if (s->active > s->max_active)
				s->max_active = s->active;
		} else {
			resp->used = 1;
		}
		pthread_mutex_unlock(&s->mu);

		if (!resp->status)
			goto out;       /* dropped connection: no answer at all */
		if (resp->delay_ms)
			sleep_ms(resp->delay_ms);
		tw_buf_addf(&out, "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\n"
			    "Content-Length: %zu\r\n%s\r\n%s",
			    resp->status, resp->body ? strlen(resp->body) : 0, resp->headers ? resp->headers : "",
			    resp->body ? resp->body : "");
		pthread_mutex_lock(&s->mu);
		if (resp->used)     /* not the limit's 429 */
			s->active--;
		pthread_mutex_unlock(&s->mu);
		send_all(fd, out.buf, out.len);
		tw_buf_release(&out);

		memmove(buf, buf + hlen + clen, have - hlen - clen);
		have -= hlen + clen;
	}
out:
	close(fd);
	free(buf);
	pthread_mutex_lock(&s->mu);
	s->open--;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *stub_accept(void *arg)
{
	struct stub *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->lfd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };
		struct stub_conn *c;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		if (s->nworkers == STUB_MAX_CONNS) {
			pthread_mutex_unlock(&s->mu);
			close(fd);
			continue;
		}
		s->conns++;
		s->open++;
		if (s->open > s->max_open)
			s->max_open = s->open;
		c = malloc(sizeof(*c));
		c->s = s;
		c->fd = fd;
		/* (no cmocka asserts off the main thread: a failure here shows as missing requests) */
		if (pthread_create(&s->workers[s->nworkers], NULL, stub_serve, c) == 0) {
			s->nworkers++;
		} else {
			s->open--;
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static struct stub *stub_start(struct stub_resp *script, size_t n)
{
	struct stub *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1;

	assert_non_null(s);
	s->script = script;
	s->nscript = n;
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 64), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pipe(s->wake), 0);
	assert_int_equal(pthread_create(&s->acceptor, NULL, stub_accept, s), 0);
	return s;
}

static void stub_stop(struct stub *s)
{
	assert_int_equal(write(s->wake[1], "x", 1), 1);
	pthread_join(s->acceptor, NULL);
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* A port on 127.0.0.1 where nothing listens (bound once, then released). */
static int dead_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* ------------------------------------------------------------------ */
/* network helpers                                                      */

struct result {
	int called;
	enum tw_req_result result;
	long status;
	int attempts;
	struct tw_err err;
	json_t *json;
	struct tw_http *cancel;     /* cancel queued requests from the callback */
};

static void save_cb(struct tw_http *h, struct tw_req *r)
{
	struct result *res = r->ud;
	(void)h;
	res->called++;
	res->result = r->result;
	res->status = r->status;
	res->attempts = r->attempts;
	res->err = r->err;
	json_decref(res->json);
	res->json = json_incref(r->json);
	if (res->cancel)
		tw_http_cancel_queued(res->cancel);
	tw_req_free(r);
}

static struct tw_http *port_http(int port, int parallelism, int max_retries)
{
	struct tw_http_opts o;
	struct tw_err err = TW_ERR_INIT;
	struct tw_http *h;
	char url[64];

	tw_http_opts_init(&o);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	o.api_url = url;
	o.account_sid = "AC123";
	o.user = "ACuser";
	o.pass = "t0ken+secret";
	o.parallelism = parallelism;
	o.max_retries = max_retries;
	o.retry_base_ms = 2;        /* keep the tests fast */
	o.retry_cap_ms = 20;
	o.timeout_ms = 20000;
	h = tw_http_new(&o, &err);
	assert_non_null(h);
	return h;
}

static struct tw_http *stub_http(struct stub *s, int parallelism, int max_retries)
{
	return port_http(s->port, parallelism, max_retries);
}

static void run_ok(struct tw_http *h)
{
	struct tw_err err = TW_ERR_INIT;
	assert_int_equal(tw_http_run(h, &err), 0);
}

static struct tw_req *req(struct tw_http *h, const char *method, enum tw_product p, const char *path,
			  struct result *res)
{
	return tw_req_new(method, tw_http_url(h, p, path), save_cb, res);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* ------------------------------------------------------------------ */
/* pagination                                                           */

struct list_result {
	int called;
	json_t *items;
	struct tw_err err;
	int failed;
};

static void list_cb(struct tw_http *h, json_t *items, const struct tw_err *err, void *ud)
{
	struct list_result *l = ud;
	(void)h;
	l->called++;
	l->items = json_incref(items);
	if (err) {
		l->failed = 1;
		l->err = *err;
	}
}

static void check_sids(json_t *items, const char *const *want, size_t n)
{
	assert_non_null(items);
	assert_int_equal(json_array_size(items), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "sid")), want[i]);
}

static void test_list_2010_three_pages(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD1\"},{\"sid\":\"SD2\"}],\"page\":0,"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=1&PageToken=PA1\"}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD3\"},{\"sid\":\"SD4\"}],\"page\":1,"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=2&PageToken=PA2\"}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD5\"}],\"page\":2,\"next_page_uri\":null}", 0, 0, 0 },
	};
	static const char *const sids[] = { "SD1", "SD2", "SD3", "SD4", "SD5" };
	struct stub *s = stub_start(script, 3);
	struct tw_http *h = stub_http(s, 4, 0);
	struct list_result l = { 0 };
	(void)state;

	tw_http_list(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json", "domains", list_cb, &l);
	run_ok(h);
	tw_http_free(h);
	stub_stop(s);   /* joins the stub threads: its records are complete */

	assert_int_equal(l.called, 1);
	assert_false(l.failed);
	check_sids(l.items, sids, 5);
	json_decref(l.items);
}

static void test_list_2010_requests(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD1\"}],"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=1&PageToken=PA1\"}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD2\"}],"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=2&PageToken=PA2\"}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"domains\":[{\"sid\":\"SD3\"}],\"next_page_uri\":null}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 3);
	struct tw_http *h = stub_http(s, 4, 0);
	struct list_result l = { 0 };
	struct stub_req reqs[3];
	int nreqs;
	(void)state;

	tw_http_list(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json", "domains", list_cb, &l);
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	memcpy(reqs, s->reqs, sizeof(reqs));
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(nreqs, 3);
	assert_string_equal(reqs[0].method, "GET");
	assert_string_equal(reqs[0].target, "/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000");
	assert_string_equal(reqs[1].target, "/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=1&PageToken=PA1");
	assert_string_equal(reqs[2].target, "/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=2&PageToken=PA2");
	assert_int_equal(json_array_size(l.items), 3);
	json_decref(l.items);
}

static void test_list_v1_three_pages(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"byoc_trunks\":[{\"sid\":\"BY1\"}],\"meta\":{\"key\":\"byoc_trunks\",\"page\":0,"
		  "\"next_page_url\":\"https://voice.twilio.com/v1/ByocTrunks?FriendlyName=x&PageSize=1000&Page=1&PageToken=PT1\"}}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"byoc_trunks\":[{\"sid\":\"BY2\"},{\"sid\":\"BY3\"}],\"meta\":{\"key\":\"byoc_trunks\",\"page\":1,"
		  "\"next_page_url\":\"https://voice.twilio.com/v1/ByocTrunks?FriendlyName=x&PageSize=1000&Page=2&PageToken=PT2\"}}", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"byoc_trunks\":[{\"sid\":\"BY4\"}],\"meta\":{\"key\":\"byoc_trunks\",\"page\":2,"
		  "\"next_page_url\":null}}", 0, 0, 0 },
	};
	static const char *const sids[] = { "BY1", "BY2", "BY3", "BY4" };
	struct stub *s = stub_start(script, 3);
	struct tw_http *h = stub_http(s, 4, 0);
	struct list_result l = { 0 };
	struct stub_req reqs[3];
	int nreqs;
	(void)state;

	/* an existing query string is kept; the items come from meta.key */
	tw_http_list(h, TW_PRODUCT_VOICE, "/v1/ByocTrunks?FriendlyName=x", NULL, list_cb, &l);
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	memcpy(reqs, s->reqs, sizeof(reqs));
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(l.called, 1);
	assert_false(l.failed);
	check_sids(l.items, sids, 4);
	json_decref(l.items);
	assert_int_equal(nreqs, 3);
	assert_string_equal(reqs[0].target, "/v1/ByocTrunks?FriendlyName=x&PageSize=1000");
	/* the absolute https://voice.twilio.com link was followed on our host */
	assert_string_equal(reqs[1].target, "/v1/ByocTrunks?FriendlyName=x&PageSize=1000&Page=1&PageToken=PT1");
	assert_string_equal(reqs[2].target, "/v1/ByocTrunks?FriendlyName=x&PageSize=1000&Page=2&PageToken=PT2");
}

static void test_list_fails_midway(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"credentials\":[{\"sid\":\"CR1\"}],"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/Credentials.json?Page=1\"}", 0, 0, 0 },
		{ NULL, 404, NULL, TWILIO_ERR(20404, 404, "The requested resource was not found"), 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct list_result l = { 0 };
	(void)state;

	tw_http_list(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/Credentials.json",
		     "credentials", list_cb, &l);
	run_ok(h);
	tw_http_free(h);
	stub_stop(s);

	assert_int_equal(l.called, 1);
	assert_true(l.failed);
	assert_null(l.items);
	assert_int_equal(l.err.code, 20404);
	assert_int_equal(l.err.status, 404);
	assert_string_equal(l.err.msg, "20404: The requested resource was not found "
			    "(https://www.twilio.com/docs/errors/20404)");
}

static void test_list_bad_page(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"something_else\":[]}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 2, 0);
	struct list_result l = { 0 };
	(void)state;

	tw_http_list(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/Applications.json", "applications", list_cb, &l);
	run_ok(h);
	tw_http_free(h);
	stub_stop(s);
	assert_int_equal(l.called, 1);
	assert_true(l.failed);
	assert_non_null(strstr(l.err.msg, "no \"applications\" array"));
}

static void test_lists_concurrent(void **state)
{
	/* one pool, two lists at once: the stub answers by path (first match wins) */
	struct stub_resp script[] = {
		{ "Domains.json?PageSize=1000&Page=1", 200, NULL,
		  "{\"domains\":[{\"sid\":\"SD2\"}],\"next_page_uri\":null}", 0, 0, 0 },
		{ "Domains.json", 200, NULL, "{\"domains\":[{\"sid\":\"SD1\"}],"
		  "\"next_page_uri\":\"/2010-04-01/Accounts/AC123/SIP/Domains.json?PageSize=1000&Page=1\"}", 150, 0, 0 },
		{ "Trunks?PageSize=1000&Page=1", 200, NULL,
		  "{\"trunks\":[{\"sid\":\"TK2\"}],\"meta\":{\"key\":\"trunks\",\"next_page_url\":null}}", 0, 0, 0 },
		{ "Trunks", 200, NULL, "{\"trunks\":[{\"sid\":\"TK1\"}],\"meta\":{\"key\":\"trunks\","
		  "\"next_page_url\":\"https://trunking.twilio.com/v1/Trunks?PageSize=1000&Page=1\"}}", 150, 0, 0 },
	};
	static const char *const d[] = { "SD1", "SD2" }, *const t[] = { "TK1", "TK2" };
	struct stub *s = stub_start(script, 4);
	struct tw_http *h = stub_http(s, 2, 0);
	struct list_result ld = { 0 }, lt = { 0 };
	int nreqs, max_active;
	(void)state;

	tw_http_list(h, TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json", "domains", list_cb, &ld);
	tw_http_list(h, TW_PRODUCT_TRUNKING, "/v1/Trunks", "trunks", list_cb, &lt);
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	max_active = s->max_active;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_false(ld.failed);
	assert_false(lt.failed);
	check_sids(ld.items, d, 2);
	check_sids(lt.items, t, 2);
	json_decref(ld.items);
	json_decref(lt.items);
	assert_int_equal(nreqs, 4);
	assert_true(max_active <= 2);
}

/* ------------------------------------------------------------------ */
/* retries                                                              */

static void test_429_retry_after_then_ok(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 429, "Retry-After: 1\r\n", TWILIO_ERR(20429, 429, "Too Many Requests"), 0, 0, 0 },
		{ NULL, 201, NULL, "{\"sid\":\"CL1\",\"friendly_name\":\"office\"}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_http_stats st;
	struct tw_req *r;
	struct stub_req reqs[2];
	double t0, elapsed;
	int nreqs;
	(void)state;

	/* a create: not idempotent, yet a 429 is always retried */
	r = req(h, "POST", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/CredentialLists.json", &res);
	assert_false(r->idempotent);
	tw_form_add(&r->form, "FriendlyName", "office");
	tw_http_submit(h, r);
	t0 = mono();
	run_ok(h);
	elapsed = mono() - t0;
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	memcpy(reqs, s->reqs, sizeof(reqs));
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.called, 1);
	assert_int_equal(res.result, TW_REQ_OK);
	assert_int_equal(res.status, 201);
	assert_int_equal(res.attempts, 2);
	assert_string_equal(json_string_value(json_object_get(res.json, "sid")), "CL1");
	json_decref(res.json);
	assert_int_equal(nreqs, 2);
	assert_string_equal(reqs[0].body, "FriendlyName=office");
	assert_string_equal(reqs[1].body, "FriendlyName=office");
	/* backoff base/cap are 2/20 ms here: only Retry-After explains a 1 s wait */
	assert_true(elapsed >= 0.95);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.throttled, 1);
	assert_int_equal(st.server_errors, 0);
}

static void test_5xx_get_retried(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 500, NULL, TWILIO_ERR(20500, 500, "Internal Server Error"), 0, 0, 0 },
		{ NULL, 502, NULL, "<html>bad gateway</html>", 0, 0, 0 },
		{ NULL, 200, NULL, "{\"sid\":\"SD1\"}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 3);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_http_stats st;
	int nreqs;
	(void)state;

	tw_http_submit(h, req(h, "GET", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains/SD1.json", &res));
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_OK);
	assert_int_equal(res.attempts, 3);
	assert_string_equal(json_string_value(json_object_get(res.json, "sid")), "SD1");
	json_decref(res.json);
	assert_int_equal(nreqs, 3);
	assert_int_equal(st.server_errors, 2);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.requests, 3);
}

static void test_5xx_post_unsafe(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 500, NULL, TWILIO_ERR(20500, 500, "Internal Server Error"), 0, 0, 0 },
		{ NULL, 201, NULL, "{\"sid\":\"SD1\"}", 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 5);
	struct result res = { 0 };
	struct tw_http_stats st;
	struct tw_req *r;
	(void)state;

	r = req(h, "POST", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains.json", &res);
	tw_form_add(&r->form, "DomainName", "x.sip.twilio.com");
	tw_http_submit(h, r);
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	stub_stop(s);   /* joins the stub's threads before its counters are read */

	assert_int_equal(res.result, TW_REQ_UNSAFE);
	assert_int_equal(res.status, 500);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.err.code, 20500);
	assert_int_equal(res.err.status, 500);
	assert_string_equal(res.err.msg, "20500: Internal Server Error (https://www.twilio.com/docs/errors/20500)");
	assert_null(res.json);
	assert_int_equal(st.requests, 1);     /* never re-sent */
	assert_int_equal(st.retries, 0);
}

static void test_dropped_get_retried(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 0, NULL, NULL, 0, 0, 0 },      /* close without a reply */
		{ NULL, 200, NULL, "{\"sid\":\"AP1\"}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_http_stats st;
	int nreqs;
	(void)state;

	tw_http_submit(h, req(h, "GET", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/Applications/AP1.json", &res));
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_OK);
	assert_int_equal(res.attempts, 2);
	json_decref(res.json);
	assert_int_equal(nreqs, 2);
	assert_int_equal(st.transport_errors, 1);
	assert_int_equal(st.retries, 1);
}

static void test_dropped_post_unsafe(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 0, NULL, NULL, 0, 0, 0 },      /* the create arrived, then the connection died */
		{ NULL, 201, NULL, "{\"sid\":\"AP1\"}", 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_http_stats st;
	struct tw_req *r;
	int nreqs;
	(void)state;

	r = req(h, "POST", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/Applications.json", &res);
	tw_form_add(&r->form, "FriendlyName", "inbound");
	tw_http_submit(h, r);
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_UNSAFE);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.status, 0);
	assert_int_equal(nreqs, 1);
	assert_non_null(strstr(res.err.msg, "POST http://127.0.0.1:"));
	assert_non_null(strstr(res.err.msg, "(the request may have been processed)"));
	assert_int_equal(st.transport_errors, 1);
	assert_int_equal(st.retries, 0);
}

static void test_refused_post_retried_then_gives_up(void **state)
{
	/* nothing was sent, so even a create is safe to retry */
	struct tw_http *h = port_http(dead_port(), 2, 2);
	struct result res = { 0 };
	struct tw_http_stats st;
	struct tw_req *r;
	(void)state;

	r = req(h, "POST", TW_PRODUCT_VOICE, "/v1/ByocTrunks", &res);
	tw_form_add(&r->form, "FriendlyName", "carrier-x");
	tw_http_submit(h, r);
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);

	assert_int_equal(res.called, 1);
	assert_int_equal(res.result, TW_REQ_TRANSPORT);
	assert_int_equal(res.attempts, 3);
	assert_int_equal(strncmp(res.err.msg, "gave up after 3 attempts: POST http://127.0.0.1:", 48), 0);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.transport_errors, 3);
	assert_int_equal(st.retries, 2);
}

static void test_retry_budget_exhausted(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 503, NULL, TWILIO_ERR(20503, 503, "Service Unavailable"), 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_http_stats st;
	int nreqs;
	(void)state;

	tw_http_submit(h, req(h, "DELETE", TW_PRODUCT_TRUNKING, "/v1/Trunks/TK1", &res));
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_API_ERROR);
	assert_int_equal(res.status, 503);
	assert_int_equal(res.attempts, 4);
	assert_int_equal(res.err.code, 20503);
	assert_int_equal(res.err.status, 503);
	assert_string_equal(res.err.msg, "gave up after 4 attempts: 20503: Service Unavailable "
			    "(https://www.twilio.com/docs/errors/20503)");
	assert_int_equal(nreqs, 4);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.retries, 3);
	assert_int_equal(st.server_errors, 4);
}

static void test_4xx_not_retried(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 404, NULL, TWILIO_ERR(20404, 404, "The requested resource was not found"), 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	int nreqs;
	(void)state;

	tw_http_submit(h, req(h, "GET", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/Domains/SD9.json", &res));
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_API_ERROR);
	assert_int_equal(res.status, 404);
	assert_int_equal(res.err.code, 20404);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(nreqs, 1);
}

static void test_delete_204_and_bad_json(void **state)
{
	struct stub_resp script[] = {
		{ "/Trunks/TK1", 204, NULL, NULL, 0, 0, 0 },
		{ "/get", 200, NULL, "not json", 0, 0, 0 },
		{ "/post", 201, NULL, "[1,2]", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 3);
	struct tw_http *h = stub_http(s, 1, 3);
	struct result del = { 0 }, get = { 0 }, post = { 0 };
	struct stub_req r0;
	(void)state;

	tw_http_submit(h, req(h, "DELETE", TW_PRODUCT_TRUNKING, "/v1/Trunks/TK1", &del));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/get", &get));
	tw_http_submit(h, req(h, "POST", TW_PRODUCT_VOICE, "/v1/post", &post));
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	r0 = s->reqs[0];
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(del.result, TW_REQ_OK);
	assert_int_equal(del.status, 204);
	assert_null(del.json);
	assert_string_equal(r0.method, "DELETE");
	assert_string_equal(r0.target, "/v1/Trunks/TK1");
	assert_string_equal(r0.content_type, "");

	assert_int_equal(get.result, TW_REQ_API_ERROR);
	assert_int_equal(get.attempts, 1);
	assert_non_null(strstr(get.err.msg, "not a JSON object"));
	/* the create happened but we cannot read its answer: the caller must re-read */
	assert_int_equal(post.result, TW_REQ_UNSAFE);
	assert_null(post.json);
}

/* ------------------------------------------------------------------ */
/* the pool, headers, cancel, trace                                     */

static void test_pool_bounded_and_reused(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{\"ok\":true}", 150, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 3, 0);
	struct result res[12];
	struct tw_http_stats st;
	int nreqs, conns, max_open, max_active;
	(void)state;

	memset(res, 0, sizeof(res));
	for (int i = 0; i < 12; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/Things/%d", i);
		tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, path, &res[i]));
	}
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	conns = s->conns;
	max_open = s->max_open;
	max_active = s->max_active;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	for (int i = 0; i < 12; i++) {
		assert_int_equal(res[i].called, 1);
		assert_int_equal(res[i].result, TW_REQ_OK);
		json_decref(res[i].json);
	}
	assert_int_equal(nreqs, 12);
	assert_int_equal(st.requests, 12);
	/* never more than `parallelism` at once ... */
	assert_true(max_active <= 3);
	assert_true(max_open <= 3);
	/* ... but really in parallel (each answer takes 150 ms) */
	assert_true(max_active >= 2);
	/* keep-alive: 12 requests over at most 3 connections */
	assert_true(conns <= 3);
}

static int stub_max_active(struct stub *s, int reset)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->max_active;
	if (reset)
		s->max_active = 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void submit_gets(struct tw_http *h, struct result *res, int n)
{
	memset(res, 0, (size_t)n * sizeof(*res));
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/v1/Things/%d", i);
		tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, path, &res[i]));
	}
}

static void check_all_ok(struct result *res, int n)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(res[i].called, 1);
		assert_int_equal(res[i].result, TW_REQ_OK);
		json_decref(res[i].json);
	}
}

static int stub_throttled(struct stub *s)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->throttled;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void test_limit_shrinks_on_429(void **state)
{
	/* The account takes 2 requests at once (429 beyond, as Twilio's concurrency
	 * limit); the pool allows 8.  The first burst's 429s cut the host's limit and
	 * the throttled requests wait for room in it, without using up a retry budget
	 * of 1: every request succeeds, with fewer 429s than requests. */
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{}", 40, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 8, 1);
	struct tw_http_stats st;
	struct result res[24];
	int throttled;
	(void)state;

	s->limit = 2;
	submit_gets(h, res, 24);
	run_ok(h);
	tw_http_stats(h, &st);
	tw_http_free(h);
	throttled = stub_throttled(s);
	stub_stop(s);

	check_all_ok(res, 24);
	assert_int_equal(st.throttled, throttled);
	assert_true(throttled >= 1);
	assert_true(throttled < 24);
	assert_int_equal(st.requests, 24 + throttled);
}

static void test_limit_is_per_host(void **state)
{
	/* Two hosts in one pool of 16: one takes 2 requests at once, the other any
	 * number.  The first one's 429s cut its limit only: the other keeps 8 of
	 * the first burst in flight (one limit shared by both would fall to 2). */
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{}", 60, 1, 0 },
	};
	struct stub *a = stub_start(script, 1), *b = stub_start(script, 1);
	struct tw_http *h = stub_http(a, 16, 1);
	struct result ra[24], rb[24];
	(void)state;

	a->limit = 2;
	memset(ra, 0, sizeof(ra));
	memset(rb, 0, sizeof(rb));
	for (int i = 0; i < 24; i++) {
		tw_http_submit(h, tw_req_new("GET", tw_xasprintf("http://127.0.0.1:%d/v1/A/%d", a->port, i), save_cb,
					     &ra[i]));
		tw_http_submit(h, tw_req_new("GET", tw_xasprintf("http://127.0.0.1:%d/v1/B/%d", b->port, i), save_cb,
					     &rb[i]));
	}
	run_ok(h);
	tw_http_free(h);
	check_all_ok(ra, 24);
	check_all_ok(rb, 24);
	assert_true(stub_throttled(a) >= 1);
	assert_int_equal(stub_throttled(b), 0);
	assert_true(stub_max_active(a, 0) <= 2);
	assert_true(stub_max_active(b, 0) >= 8);
	stub_stop(a);
	stub_stop(b);
}

static void test_limit_kept_across_runs(void **state)
{
	/* plan's reads find the limit (3 at once); apply's writes, in the same
	 * process, start from it: far fewer 429s the second time */
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{}", 30, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 16, 1);
	struct result res[24];
	int first, second;
	(void)state;

	s->limit = 3;
	submit_gets(h, res, 24);
	run_ok(h);
	check_all_ok(res, 24);
	first = stub_throttled(s);
	submit_gets(h, res, 24);
	run_ok(h);
	check_all_ok(res, 24);
	second = stub_throttled(s) - first;
	tw_http_free(h);
	stub_stop(s);

	assert_true(first >= 13);       /* 16 at once (the cap) against 3: the first burst */
	assert_true(second <= 3);       /* a try or two past 3 */
}

static void test_slow_start_grows_past_the_start(void **state)
{
	/* a host with no limit: 80 requests of 100 ms, a cap of 48; the limit
	 * starts at TW_LIMIT_START (32) and grows with the first answers */
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{}", 100, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 48, 1);
	struct result res[80];
	int max_active;
	(void)state;

	submit_gets(h, res, 80);
	run_ok(h);
	check_all_ok(res, 80);
	tw_http_free(h);
	max_active = stub_max_active(s, 0);
	stub_stop(s);
	assert_true(max_active > TW_LIMIT_START);
	assert_true(max_active <= 48);
}

struct resubmit {
	struct result res;
	int seen;
};

/* The first time, re-submit the same request (as a caller re-trying after a re-read). */
static void resubmit_cb(struct tw_http *h, struct tw_req *r)
{
	struct resubmit *rs = r->ud;
	if (!rs->seen++) {
		assert_int_equal(r->result, TW_REQ_API_ERROR);
		assert_int_equal(r->attempts, 1);
		tw_http_submit(h, r);
		return;
	}
	r->cb = save_cb;
	r->ud = &rs->res;
	save_cb(h, r);
}

static void test_fifo_and_resubmit(void **state)
{
	struct stub_resp script[] = {
		{ "/v1/again", 409, NULL, TWILIO_ERR(20409, 409, "Conflict"), 0, 0, 0 },
		{ NULL, 200, NULL, "{}", 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 1, 0);
	struct result res[5];
	struct resubmit rs;
	struct stub_req reqs[7];
	int nreqs;
	(void)state;

	memset(res, 0, sizeof(res));
	memset(&rs, 0, sizeof(rs));
	for (int i = 0; i < 5; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/v1/n/%d", i);
		tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, path, &res[i]));
	}
	tw_http_submit(h, tw_req_new("GET", tw_http_url(h, TW_PRODUCT_VOICE, "/v1/again"), resubmit_cb, &rs));
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	memcpy(reqs, s->reqs, sizeof(reqs));
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	/* one slot: strictly in submission order, the re-submitted request last */
	assert_int_equal(nreqs, 7);
	for (int i = 0; i < 5; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/v1/n/%d", i);
		assert_string_equal(reqs[i].target, path);
		assert_int_equal(res[i].result, TW_REQ_OK);
		json_decref(res[i].json);
	}
	assert_string_equal(reqs[5].target, "/v1/again");
	assert_string_equal(reqs[6].target, "/v1/again");
	assert_int_equal(rs.seen, 2);
	assert_int_equal(rs.res.result, TW_REQ_OK);
	assert_int_equal(rs.res.attempts, 1);      /* counted afresh */
	assert_int_equal(rs.res.err.msg[0], '\0');
	json_decref(rs.res.json);
}

static void test_auth_headers_and_form(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 201, NULL, "{\"sid\":\"CR1\"}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 2, 0);
	struct result res = { 0 };
	struct tw_req *r;
	struct stub_req rq;
	(void)state;

	r = req(h, "POST", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/Credentials.json", &res);
	tw_form_add(&r->form, "Username", "alice");
	tw_form_add_secret(&r->form, "Password", "Sup3r+Secret pw");
	tw_form_add(&r->form, "FriendlyName", "a b&c=d");
	tw_form_add(&r->form, "To", "+16505551111");
	tw_http_submit(h, r);
	run_ok(h);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	rq = s->reqs[0];
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);

	assert_int_equal(res.result, TW_REQ_OK);
	json_decref(res.json);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.target, "/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/Credentials.json");
	/* base64("ACuser:t0ken+secret") */
	assert_string_equal(rq.auth, "Basic QUN1c2VyOnQwa2VuK3NlY3JldA==");
	assert_string_equal(rq.content_type, "application/x-www-form-urlencoded");
	assert_string_equal(rq.accept, "application/json");
	assert_string_equal(rq.user_agent, "twprov/" TWPROV_VERSION);
	assert_string_equal(rq.body, "Username=alice&Password=Sup3r%2BSecret%20pw&FriendlyName=a%20b%26c%3Dd"
			    "&To=%2B16505551111");
}

static void test_cancel_queued(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 200, NULL, "{}", 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 1);
	struct tw_http *h = stub_http(s, 1, 3);
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
	int nreqs;
	(void)state;

	r1.cancel = h;      /* its callback cancels what is still queued */
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/a", &r1));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/b", &r2));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/c", &r3));
	run_ok(h);

	assert_int_equal(r1.result, TW_REQ_OK);
	assert_int_equal(r2.called, 1);
	assert_int_equal(r2.result, TW_REQ_TRANSPORT);
	assert_string_equal(r2.err.msg, "cancelled");
	assert_int_equal(r3.result, TW_REQ_TRANSPORT);
	assert_string_equal(r3.err.msg, "cancelled");

	/* the next run works normally again */
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/d", &r4));
	run_ok(h);
	assert_int_equal(r4.result, TW_REQ_OK);
	tw_http_free(h);
	pthread_mutex_lock(&s->mu);
	nreqs = s->nreqs;
	pthread_mutex_unlock(&s->mu);
	stub_stop(s);
	assert_int_equal(nreqs, 2);
	json_decref(r1.json);
	json_decref(r4.json);
}

static void test_cancel_waiting_retry(void **state)
{
	/* /slow is throttled for a long time; /fast's callback cancels: no 30 s wait */
	struct stub_resp script[] = {
		{ "/slow", 429, "Retry-After: 30\r\n", TWILIO_ERR(20429, 429, "Too Many Requests"), 0, 1, 0 },
		{ "/fast", 200, NULL, "{}", 300, 1, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result slow = { 0 }, fast = { 0 };
	double t0;
	(void)state;

	fast.cancel = h;
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/slow", &slow));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/fast", &fast));
	t0 = mono();
	run_ok(h);
	assert_true(mono() - t0 < 25.0);
	tw_http_free(h);
	stub_stop(s);

	assert_int_equal(fast.result, TW_REQ_OK);
	json_decref(fast.json);
	assert_int_equal(slow.called, 1);
	assert_int_equal(slow.result, TW_REQ_TRANSPORT);
	assert_string_equal(slow.err.msg, "cancelled");
	assert_int_equal(slow.attempts, 1);
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_cancel_waits_for_inflight_without_spinning(void **state)
{
	/* /slow stays in flight for 800 ms after the cancel: the loop must sleep in
	 * curl_multi_poll meanwhile, not spin (a spin burns ~0.8 s of CPU) */
	struct stub_resp script[] = {
		{ "/slow", 200, NULL, "{\"sid\":\"S\"}", 800, 1, 0 },
		{ "/fast", 200, NULL, "{}", 0, 1, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result slow = { 0 }, fast = { 0 }, queued = { 0 };
	double cpu;
	(void)state;

	fast.cancel = h;
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/slow", &slow));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/fast", &fast));
	tw_http_submit(h, req(h, "GET", TW_PRODUCT_VOICE, "/v1/fast", &queued));
	cpu = thread_cpu();
	run_ok(h);
	cpu = thread_cpu() - cpu;
	tw_http_free(h);
	stub_stop(s);

	assert_int_equal(fast.result, TW_REQ_OK);
	assert_int_equal(queued.result, TW_REQ_TRANSPORT);
	assert_string_equal(queued.err.msg, "cancelled");
	/* in flight when cancelled: finishes normally */
	assert_int_equal(slow.result, TW_REQ_OK);
	assert_string_equal(json_string_value(json_object_get(slow.json, "sid")), "S");
	assert_true(cpu < 0.4);
	json_decref(slow.json);
	json_decref(fast.json);
}

static char *slurp(FILE *f)
{
	struct tw_buf b = TW_BUF_INIT;
	char chunk[4096];
	size_t n;

	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tw_buf_add(&b, chunk, n);
	return tw_buf_detach(&b);
}

static void test_trace_redacts(void **state)
{
	struct stub_resp script[] = {
		{ NULL, 429, NULL, TWILIO_ERR(20429, 429, "Too Many Requests"), 0, 0, 0 },
		{ NULL, 201, NULL, "{\"sid\":\"CR1\"}", 0, 0, 0 },
	};
	struct stub *s = stub_start(script, 2);
	struct tw_http *h = stub_http(s, 2, 3);
	struct result res = { 0 };
	struct tw_req *r;
	struct tw_buf want = TW_BUF_INIT;
	FILE *tmp = tmpfile();
	int saved, port = s->port;
	char *trace;
	(void)state;

	assert_non_null(tmp);
	r = req(h, "POST", TW_PRODUCT_API, "/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/Credentials.json", &res);
	tw_form_add(&r->form, "Username", "alice");
	tw_form_add_secret(&r->form, "Password", "Sup3rSecretPw");
	tw_http_submit(h, r);

	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	tw_out.verbose = 1;
	run_ok(h);
	tw_http_free(h);        /* -v: the limit found per host */
	tw_out.verbose = 0;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	stub_stop(s);
	trace = slurp(tmp);
	fclose(tmp);

	assert_int_equal(res.result, TW_REQ_OK);
	json_decref(res.json);
	tw_buf_addf(&want, "> POST http://127.0.0.1:%d/2010-04-01/Accounts/AC123/SIP/CredentialLists/CL1/"
		    "Credentials.json Username=alice&Password=(redacted)\n", port);
	assert_non_null(strstr(trace, want.buf));
	assert_non_null(strstr(trace, "< 429 POST http://127.0.0.1:"));
	assert_non_null(strstr(trace, "retry 2/4 POST http://127.0.0.1:"));
	assert_non_null(strstr(trace, " after 429 in "));
	assert_non_null(strstr(trace, "< 201 POST http://127.0.0.1:"));
	assert_non_null(strstr(trace, " ms)\n"));
	tw_buf_reset(&want);
	tw_buf_addf(&want, "limit of 127.0.0.1:%d: 1 request at once (found: 429 beyond that; 1 of 2 requests "
		    "answered 429; 1 in flight at most; cap 2)\n", port);
	assert_non_null(strstr(trace, want.buf));
	assert_null(strstr(trace, "Sup3rSecretPw"));
	assert_null(strstr(trace, "t0ken"));
	assert_null(strstr(trace, "Authorization"));
	assert_null(strstr(trace, "QUN1c2Vy"));
	tw_buf_release(&want);
	free(trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encoding),
		cmocka_unit_test(test_form_grows),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_backoff_retry_after),
		cmocka_unit_test(test_parse_retry_after),
		cmocka_unit_test(test_api_error),
		cmocka_unit_test(test_api_error_long_body),
		cmocka_unit_test(test_page_helpers_2010),
		cmocka_unit_test(test_page_helpers_v1),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_opts_env),
		cmocka_unit_test(test_new_rejects_zero_parallelism),
		cmocka_unit_test(test_list_2010_three_pages),
		cmocka_unit_test(test_list_2010_requests),
		cmocka_unit_test(test_list_v1_three_pages),
		cmocka_unit_test(test_list_fails_midway),
		cmocka_unit_test(test_list_bad_page),
		cmocka_unit_test(test_lists_concurrent),
		cmocka_unit_test(test_429_retry_after_then_ok),
		cmocka_unit_test(test_5xx_get_retried),
		cmocka_unit_test(test_5xx_post_unsafe),
		cmocka_unit_test(test_dropped_get_retried),
		cmocka_unit_test(test_dropped_post_unsafe),
		cmocka_unit_test(test_refused_post_retried_then_gives_up),
		cmocka_unit_test(test_retry_budget_exhausted),
		cmocka_unit_test(test_4xx_not_retried),
		cmocka_unit_test(test_delete_204_and_bad_json),
		cmocka_unit_test(test_pool_bounded_and_reused),
		cmocka_unit_test(test_fifo_and_resubmit),
		cmocka_unit_test(test_auth_headers_and_form),
		cmocka_unit_test(test_cancel_queued),
		cmocka_unit_test(test_cancel_waiting_retry),
		cmocka_unit_test(test_cancel_waits_for_inflight_without_spinning),
		cmocka_unit_test(test_trace_redacts),
		cmocka_unit_test(test_limit_shrinks_on_429),
		cmocka_unit_test(test_limit_is_per_host),
		cmocka_unit_test(test_limit_kept_across_runs),
		cmocka_unit_test(test_slow_start_grows_past_the_start),
	};
	int rc;

	unset_env();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
