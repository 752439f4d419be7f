/* kinds.h - the descriptors, one per file in src/kinds/ */
#ifndef TWPROV_KINDS_INTERNAL_H
#define TWPROV_KINDS_INTERNAL_H

#include "twprov/checks.h"
#include "twprov/kind.h"

#define TW_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* svcref.c: a URL written {service, environment, path}, the deployed path of a function or asset. */
extern const struct tw_objval tw_svcref;
/* sidref.c: {sid_of: KIND/NAME}, the SID of a resource the file declares. */
extern const struct tw_objval tw_sidref;

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
	  .twilio_default = "POST", .doc = "GET or POST (default POST)" }
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
extern const struct tw_kind tw_kind_outbound_routes;
extern const struct tw_kind tw_kind_byoc_inbound;
extern const struct tw_kind tw_kind_inbound_routes;
extern const struct tw_kind tw_kind_inbound_default;
extern const struct tw_kind tw_kind_addresses;
extern const struct tw_kind tw_kind_voice_permissions;
extern const struct tw_kind tw_kind_countries;

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
/* The path of a function version's code (Version Content) in service svc_sid: heap. */
char *tw_deploy_content_path(const char *svc_sid, const json_t *version);

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
/* calling_codes.c (generated): country calling codes, with more digits for the regions that
 * share one (Jamaica: 1876); Canada is under US, as in Twilio's dialing permissions. */
struct tw_calling_code {
	const char *iso;
	const char *prefix;     /* digits, without + */
};
extern const struct tw_calling_code tw_calling_codes[];
extern const size_t tw_ncalling_codes;

/* voice_permissions.c: may calls to E.164 prefix `prefix` ("+44", "+" for all) reach country iso? */
int tw_prefix_reaches(const char *prefix, const char *iso);

/* dialer.c: the generated outbound dialer and ring functions */
void tw_dialer_wire_domain(struct tw_res *dom, struct tw_diags *d);
void tw_dialer_wire_number(struct tw_res *num, struct tw_diags *d);
void tw_dialer_derive_number(struct tw_res *num, struct tw_diags *d);
/*
 * twprov export (the services' hook): the configuration that generated twprov's function at
 * `path` (/_twprov/outbound or /_twprov/ring) of declared service `svc`, from its `code` as
 * declared environment `env` serves it: outbound: (with its routes) on the SIP domains routed
 * to it, with their users' caller_id, or ring: on the phone numbers; their voice_url goes (the
 * configuration routes them).  Domains and numbers no longer routed there, or not in the file,
 * are left as they are.  Returns how many got the configuration; -1 when `path` is no such
 * function or its code holds no configuration.
 */
int tw_dialer_export(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *path,
		     const char *code);

/* inbound.c: a BYOC trunk's generated inbound routes */
void tw_inbound_wire_trunk(struct tw_res *trunk, struct tw_diags *d);

/* generated.c: what the kinds whose code twprov generates share */
struct tw_res *tw_gen_top(const struct tw_res *from, const char *kind, const char *name);   /* declared, present */
struct tw_res *tw_gen_child(const struct tw_res *p, const struct tw_kind *k);              /* first child of kind k */
int tw_gen_routed_to(const struct tw_res *r, const char *url);   /* r's voice_url is url */
int tw_gen_domain_maps(const struct tw_res *d, const char *list);  /* domain d maps list (calls or registrations) */
/* Point r's voice_url at function `path` of the service `out` names (why: the field that asks). */
void tw_gen_wire(struct tw_res *r, struct tw_diags *d, const struct tw_res *out, const char *path, const char *why);
/* The one field of names[n] that r sets, or NULL (and an error unless exactly one is set). */
const char *tw_gen_one_of(struct tw_diags *d, const struct tw_res *r, const char *const *names, size_t n,
			  const char *what);
/* The declared SIP domain (with a dialer, when `dialer`) that maps the list holding `user`;
 * *list is that list (NULL when no list holds the user). */
struct tw_res *tw_gen_domain_of(const struct tw_res *from, const char *user, int dialer, const char **list);
/* The generated code's "sip:USER@DOMAIN" of each user (a JSON array of strings) at the domain
 * tw_gen_domain_of gives (users without one are left out), and back: the user of such a URI
 * (heap) with *domain at its DOMAIN, or NULL. */
json_t *tw_gen_ring_uris(const struct tw_res *from, const json_t *users, int dialer);
char *tw_gen_sip_user(const char *uri, const char **domain);
void tw_gen_set_code(struct tw_res *svc, const char *path, json_t *config, const char *code);  /* takes config */
struct tw_res *tw_gen_pending(struct tw_res *svc, const char *path);   /* the function, if not yet written */
/* The variable of env that holds target's SID (declared on first use; free the name). */
char *tw_gen_sid_variable(struct tw_res *env, const struct tw_res *target, struct tw_diags *d, const struct tw_res *at);
struct tw_res *tw_gen_environment(const struct tw_res *r);   /* the environment r's voice_url names */
/* twprov export: the `config` object of generated code (or NULL); set field `name` of r to v
 * (taken) if a file can hold it, else -1 and why; https://DOMAIN/PATH where declared
 * environment env serves path (heap; NULL when unknown); env's name when its service has
 * several (a generated configuration then names it), else NULL; and the declared top-level
 * resource of `kind` whose SID env's variable `key` holds (the variables twprov declares for
 * generated code, tw_gen_sid_variable), or NULL. */
json_t *tw_gen_config(const char *code);
int tw_gen_put(struct tw_res *r, const char *name, json_t *v, struct tw_buf *why);
char *tw_gen_url(const struct tw_export *x, const struct tw_res *env, const char *path);
const char *tw_gen_env_name(const struct tw_res *env);
struct tw_res *tw_gen_sid_target(const struct tw_export *x, const struct tw_res *env, const char *key,
				 const char *kind);
/* inbound.c: twprov export of /_twprov/inbound (as tw_dialer_export): inbound: on the BYOC
 * trunks routed to it, its routes and default on the first of them (one function serves
 * them all: which trunk a number is under changes no byte of it). */
int tw_inbound_export(struct tw_export *x, struct tw_res *svc, struct tw_res *env, const char *path,
		      const char *code);

#endif
