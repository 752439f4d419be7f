/* kinds.h - the descriptors, one per file in src/kinds/ */
#ifndef TWPROV_KINDS_INTERNAL_H
#define TWPROV_KINDS_INTERNAL_H

#include "twprov/checks.h"
#include "twprov/kind.h"

#define TW_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* svcref.c: a URL written {service, environment, path}, the deployed path of a function or asset. */
extern const struct tw_objval tw_svcref;

/* Shared value lists. */
extern const char *const tw_methods[];   /* GET, POST */

/*
 * The voice webhook fields every kind that answers calls has, with Twilio's
 * names (status callbacks differ per kind and stay in each descriptor).
 * `what` ends the voice_url doc: "the domain receives a call".
 */
#define TW_URL_FIELD(n, p, d) \
	{ .name = n, .param = p, .json = n, .type = TW_V_STR, .objval = &tw_svcref, .check = tw_check_url, .doc = d }
#define TW_METHOD_FIELD(n, p) \
	{ .name = n, .param = p, .json = n, .type = TW_V_STR, .check = tw_check_enum, .choices = tw_methods, \
	  .doc = "GET or POST" }
#define TW_VOICE_FIELDS(what) \
	TW_URL_FIELD("voice_url", "VoiceUrl", "URL Twilio requests when " what), \
	TW_METHOD_FIELD("voice_method", "VoiceMethod"), \
	TW_URL_FIELD("voice_fallback_url", "VoiceFallbackUrl", "URL requested when voice_url fails"), \
	TW_METHOD_FIELD("voice_fallback_method", "VoiceFallbackMethod")
/*
 * The same where both methods default to POST: documented for phone numbers (the spec's
 * descriptions); for SIP domains and BYOC trunks, undocumented, every create, list and fetch
 * example of the spec shows POST.  (twilio_default: what twprov export leaves out.)
 */
#define TW_METHOD_FIELD_POST(n, p) \
	{ .name = n, .param = p, .json = n, .type = TW_V_STR, .check = tw_check_enum, .choices = tw_methods, \
	  .twilio_default = "POST", .doc = "GET or POST (Twilio's default POST)" }
#define TW_VOICE_FIELDS_POST(what) \
	TW_URL_FIELD("voice_url", "VoiceUrl", "URL Twilio requests when " what), \
	TW_METHOD_FIELD_POST("voice_method", "VoiceMethod"), \
	TW_URL_FIELD("voice_fallback_url", "VoiceFallbackUrl", "URL requested when voice_url fails"), \
	TW_METHOD_FIELD_POST("voice_fallback_method", "VoiceFallbackMethod")

/* 2010 API path prefix. */
#define TW_2010 "/2010-04-01/Accounts/{AccountSid}"

extern const struct tw_kind tw_kind_credential_lists;
extern const struct tw_kind tw_kind_credentials;
extern const struct tw_kind tw_kind_devices;
extern const struct tw_kind tw_kind_ip_access_control_lists;
extern const struct tw_kind tw_kind_ip_addresses;
extern const struct tw_kind tw_kind_sip_domains;
extern const struct tw_kind tw_kind_domain_calls_credential_lists;
extern const struct tw_kind tw_kind_domain_calls_ip_access_control_lists;
extern const struct tw_kind tw_kind_domain_registrations_credential_lists;
extern const struct tw_kind tw_kind_applications;
extern const struct tw_kind tw_kind_connection_policies;
extern const struct tw_kind tw_kind_targets;
extern const struct tw_kind tw_kind_byoc_trunks;
extern const struct tw_kind tw_kind_sip_trunks;
extern const struct tw_kind tw_kind_origination_urls;
extern const struct tw_kind tw_kind_trunk_credential_lists;
extern const struct tw_kind tw_kind_trunk_ip_access_control_lists;
extern const struct tw_kind tw_kind_phone_numbers;
extern const struct tw_kind tw_kind_services;
extern const struct tw_kind tw_kind_environments;
extern const struct tw_kind tw_kind_variables;
extern const struct tw_kind tw_kind_functions;
extern const struct tw_kind tw_kind_assets;
extern const struct tw_kind tw_kind_domain_outbound;

struct tw_res;
struct tw_diags;

/* services.c: twprov's function that lists what a build deploys (its SHA-256 sums), the
 * manifest object in its source (or NULL), and the bytes of a function or asset. */
#define TW_MANIFEST_PATH "/_twprov/manifest"
json_t *tw_manifest_parse(const char *src);
struct tw_err;
int tw_source_bytes(const struct tw_res *r, struct tw_buf *out, struct tw_err *err);

/* deploy.c: the hooks that read, plan and apply what an environment runs. */
struct tw_live_more;
struct tw_planner;
void tw_deploy_read(struct tw_live_more *lm, struct tw_res *r);
void tw_deploy_plan(struct tw_planner *pl, const struct tw_res *w, const struct tw_res *h);

/* services.c: a function twprov generates in service svc, added (protected, empty until
 * the plan writes its code) unless svc has one at `path`; and writing that code (its
 * content and SHA-256). */
struct tw_res *tw_service_function(struct tw_res *svc, const char *path);
void tw_service_set_code(struct tw_res *f, const char *code);

/* svcexport.c: twprov export of a service: the build an environment runs, as its functions' and
 * assets' files and the configuration of twprov's generated functions. */
struct tw_export;
void tw_service_export_read(struct tw_export *x, const struct tw_res *live);
void tw_service_export(struct tw_export *x, const struct tw_res *live, struct tw_res *decl);

/* dialer.c: the generated outbound dialer and ring functions */
void tw_dialer_wire_domain(struct tw_res *dom, struct tw_diags *d);
void tw_dialer_wire_number(struct tw_res *num, struct tw_diags *d);
void tw_dialer_derive_number(struct tw_res *num, struct tw_diags *d);
/*
 * twprov export (the services' hook): the configuration that generated twprov's function at
 * `path` (/_twprov/outbound or /_twprov/ring) of declared service `svc`, from its `code` as
 * environment `env` (NULL when the file need not name it) serves it on `domain`: outbound: on
 * the SIP domains routed to it, with their users' caller_id, or ring: on the phone numbers; their
 * voice_url goes (the configuration routes them).  Domains and numbers no longer routed there,
 * or not in the file, are left as they are.  Returns how many got the configuration; -1 when
 * `path` is no such function or its code holds no configuration.
 */
int tw_dialer_export(struct tw_export *x, struct tw_res *svc, const char *env, const char *domain, const char *path,
		     const char *code);

#endif
