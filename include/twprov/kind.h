/* kind.h - resource kinds are data: one descriptor per Twilio resource kind */
#ifndef TWPROV_KIND_H
#define TWPROV_KIND_H

#include <stddef.h>

#include <jansson.h>

struct tw_buf;
struct tw_err;
struct tw_field;
struct tw_res;
struct tw_diags;
struct tw_live_more;
struct tw_planner;
struct tw_export;

/* Which Twilio API host a kind lives on (DESIGN.md section 2). */
enum tw_product {
	TW_PRODUCT_API = 0,       /* api.twilio.com, 2010 API, `*_uri` relative links */
	TW_PRODUCT_VOICE,         /* voice.twilio.com/v1 */
	TW_PRODUCT_TRUNKING,      /* trunking.twilio.com/v1 */
	TW_PRODUCT_SERVERLESS,    /* serverless.twilio.com/v1 */
	TW_PRODUCT_UPLOAD,        /* serverless-upload.twilio.com/v1 */
	TW_PRODUCT_COUNT
};

/* The type of a field's value in YAML and in the model (jansson types). */
enum tw_vtype {
	TW_V_STR = 0,   /* json string */
	TW_V_BOOL,      /* json true/false; sent as "true"/"false" */
	TW_V_INT,       /* json integer; range [min, max] */
	TW_V_REF,       /* name of a resource of kind `ref`; sent as that resource's SID */
	TW_V_REFLIST,   /* list of names of kind `ref` (local only for now) */
	TW_V_MAP,       /* mapping of names to strings ({twilio: "5.3.0"}); a json object */
	TW_V_LIST,      /* list of strings, each checked with `check` */
};

/* Field flags. */
#define TW_F_REQUIRED  (1u << 0)  /* must be present in the file */
#define TW_F_IDENTITY  (1u << 1)  /* the natural key (implies required) */
#define TW_F_SECRET    (1u << 2)  /* sensitive and write-only: never read back, shown as (sensitive) */
#define TW_F_LOCAL     (1u << 3)  /* twprov-only (gen-phone-config, dialer): never sent nor read */
#define TW_F_IMMUTABLE (1u << 4)  /* Twilio cannot update it: a change plans a replace */
#define TW_F_SECREF    (1u << 5)  /* may be a ${env:..}/${file:..} reference (always allowed for SECRET) */
#define TW_F_COMPUTED  (1u << 7)  /* set by the kind's hooks (a source file's sha256), never written
                                     in the file */
#define TW_F_DEFER     (1u << 6)  /* TW_V_REF that may close a cycle of references (a BYOC trunk's
                                     from_domain): when its target is created by the same apply,
                                     the create leaves it out and a follow-up update sets it */
#define TW_F_ICASE     (1u << 9)  /* an enum Twilio answers in varying case (a Build's "PUBLIC" for
                                     "public"): values compare case-insensitively */
#define TW_F_MAY_OMIT  (1u << 10) /* answers may leave it out or set it to null although it always has
                                     a value (a number's voice_receive_mode): then it is unknown, not
                                     unset: never compared, written whenever the resource is written,
                                     and the plan's notes say Twilio did not return it */
#define TW_F_CREATE_IGNORES (1u << 11) /* Twilio ignores it on create (a purchase keeps the default
                                     voice_receive_mode): the create action writes it with an
                                     update right after the create */
#define TW_F_WRITE_ONLY (1u << 12) /* Twilio takes it but never returns it (an address's
                                     AutoCorrectAddress): sent with every create and update, the
                                     file's value or else create_default; never compared */
#define TW_F_BLOCKS_DELETE (1u << 13) /* TW_V_REF: Twilio refuses to delete what it names while it
                                     does (a number's emergency address): the delete waits for the
                                     reference to end, and a plan that leaves one fails */

/*
 * A field whose write starts work Twilio finishes later (a number's emergency
 * address is registered with emergency services).  Apply waits, polling the
 * item, until `json` says the work is done; a change from one value to
 * another first clears the field and waits for that (the documented order),
 * and deleting the resource first clears it too.
 */
struct tw_settle {
	const char *json;            /* the status key in the item: "emergency_address_status" */
	const char *set;             /* its value once a written value is in force: "registered" */
	const char *cleared;         /* once the field is cleared: "unregistered" */
	const char *const *failed;   /* values that mean the work failed (NULL-terminated) */
	int timeout_s;               /* how long apply waits at most */
};

/*
 * Updates of a kind that Twilio takes in batches (dialing permissions): one
 * POST to `path` with `param` set to a JSON array of one object per resource,
 * its identity under `id_key` and every field the file sets under the field's
 * `param` (booleans as "true"/"false"), at most `max` resources per request.
 */
struct tw_bulk {
	const char *path;
	const char *param;
	const char *id_key;
	size_t max;
};

/*
 * What twprov knows of a declared resource at Twilio: while planning, the
 * object of its live counterpart; while applying, also what this apply made
 * (a created environment's domain_name).  NULL: not at Twilio (yet).
 */
struct tw_facts {
	const json_t *(*object)(const struct tw_facts *f, const struct tw_res *declared);
	const void *ctx;
};

/*
 * A string field that may also be written as a mapping standing for a value
 * another resource gives once it exists at Twilio, such as a URL written
 * {service, environment, path}: the deployed path of a Serverless function.
 * The loader reads the mapping's keys and checks the reference; the planner
 * and the applier ask `resolve` for the value and order the action after
 * `source` (and the source's own actions, such as a deployment).
 */
struct tw_objval {
	const char *const *keys;     /* the mapping's keys, NULL-terminated */
	unsigned optional;           /* bit i: keys[i] may be left out */
	const char *ref_key;         /* the key that names a top-level resource ... */
	const char *ref_kind;        /* ... of this kind (a reference like any other) */
	const char *what;            /* "a deployed path is {service, environment, path}" */
	/* After the loader's hooks: does it name what the file declares?  May fill in defaults
	 * (the one environment of a service).  0, or -1 with a message in `why`. */
	int (*check)(const struct tw_res *from, json_t *v, struct tw_buf *why);
	/* The declared resource that must exist first (the environment), or NULL. */
	struct tw_res *(*source)(const struct tw_res *from, const json_t *v);
	/* The value (heap), or NULL while it is not known (its source is not at Twilio yet). */
	char *(*resolve)(const struct tw_res *from, const json_t *v, const struct tw_facts *facts);
	/* twprov export: the mapping that stands for the literal value `s` of a field of `from` (a
	 * resource of a declared model whose resources' live objects `facts` gives), or NULL when
	 * `s` is no such value or what it would name is not declared.  Resolving the mapping gives
	 * back `s`. */
	json_t *(*unresolve)(const struct tw_res *from, const char *s, const struct tw_facts *facts);
};

/*
 * Validation of a string value beyond its type.  Returns 0 when `value` is
 * acceptable; otherwise -1 with a message in `why` such as
 * `not a URL: "htp://x"` (no field name: the caller adds the location).
 */
typedef int (*tw_check_fn)(const struct tw_field *f, const char *value, struct tw_buf *why);

struct tw_field {
	const char *name;        /* YAML key, plan label and JSON plan key */
	const char *param;       /* form parameter sent to Twilio; NULL if never sent */
	const char *json;        /* key in Twilio's JSON; NULL if not readable */
	enum tw_vtype type;
	unsigned flags;          /* TW_F_* */
	tw_check_fn check;       /* extra validation for TW_V_STR, or NULL */
	const char *const *choices; /* allowed values (NULL-terminated) for tw_check_enum */
	long min, max;           /* TW_V_INT: value range; TW_V_STR: max is the max length (0 = none) */
	const char *ref;         /* TW_V_REF/TW_V_REFLIST: name of the referenced kind */
	const char *suffix;      /* tw_check_domain: required suffix, e.g. ".sip.twilio.com" */
	const char *create_default; /* sent on create when the file leaves the field out */
	const char *twilio_default; /* the value Twilio gives it when a create leaves it out, written as
	                               the file would ("POST", "false", "32"), only where Twilio documents
	                               it: twprov export leaves out a live value equal to it (or to
	                               create_default), so the file then does not manage the field */
	const char *export_env;     /* a TW_F_SECRET field Twilio never returns: twprov export writes
	                               ${env:NAME}, NAME being this prefix and the identities of the
	                               resource and its parents (twprov-export(1)) */
	const struct tw_objval *objval; /* TW_V_STR that may be written as a mapping (see above) */
	const struct tw_settle *settle; /* writing it starts work Twilio finishes later (see above) */
	const char *endpoint;    /* written through this sub-resource (path template with {Sid} of the
	                            resource, e.g. a trunk's ".../Trunks/{Sid}/Recording") instead of
	                            the item; `json` may then be a dotted path ("recording.mode") */
	const char *doc;         /* one line for help and man pages */
};

/* Kind flags. */
#define TW_K_ASSOC    (1u << 0)  /* association/mapping: YAML is a list of names of kind `assoc_ref`;
                                    created by POSTing `assoc_param`=<target SID>; the live item's
                                    `sid` is the target's SID; no fields, no update */
#define TW_K_NO_UPDATE (1u << 1) /* Twilio has no update: every managed change is a replace */
#define TW_K_LOCAL    (1u << 2)  /* exists only in the file (never read nor applied) */
#define TW_K_CASCADE  (1u << 3)  /* deleting the parent deletes these children at Twilio */
#define TW_K_MAPPED   (1u << 5)  /* written as a mapping {IDENTITY: VALUE, ...} instead of a list of
                                    mappings; VALUE is the kind's one other field (a service
                                    environment's variables) or, for a kind of several, a mapping
                                    of them (a BYOC trunk's inbound routes by number) */
#define TW_K_SINGLE   (1u << 6)  /* written as one mapping, not a list (a domain's outbound:) */
#define TW_K_NO_PRUNE (1u << 4)  /* never removed for not being declared (phone numbers):
                                    only `state: absent` removes one */
#define TW_K_CREATE_FIRST (1u << 7) /* a replace creates the new one first, moves what references
                                    the old one to it, then deletes the old one (an address and the
                                    numbers it is the emergency address of) */
#define TW_K_SETTING  (1u << 8)  /* settings of the account (dialing permissions): never created nor
                                    deleted and without SID; one the file declares that Twilio does
                                    not have is a problem, those it does not declare are left alone.
                                    A TW_K_SINGLE one without collection is read from and written
                                    to `item` */

/*
 * An action that costs money or cannot be undone (buying or releasing a phone
 * number): plans name it with `word`, and apply performs it only when given
 * the command-line `flag`.
 */
struct tw_guard {
	const char *word;        /* "purchase" */
	const char *flag;        /* "--allow-purchase" */
};

/* Optional per-kind behaviour beyond the field table (DESIGN.md section 4). */
struct tw_kind_hooks {
	/* Extra rules over one declared (present) resource after the file is loaded
	 * (e.g. exclusive routings); may complete r->fields with what a choice
	 * implies (e.g. a routing clears the other routings). */
	void (*validate)(struct tw_res *r, struct tw_diags *d);
	/* After every validate hook: content generated from the whole file (the dialer's
	 * code, written into the generated functions of a service). */
	void (*derive)(struct tw_res *r, struct tw_diags *d);
	/* After every derive hook: values computed from what was generated (a service's
	 * manifest of the SHA-256 of every function and asset). */
	void (*seal)(struct tw_res *r, struct tw_diags *d);
	/* Live reader: read more about a live resource that the file declares, with
	 * tw_live_get (a Serverless environment's deployed build). */
	void (*read_more)(struct tw_live_more *lm, struct tw_res *live);
	/* Planner: after declared resource w (matched with live h, or NULL when it is
	 * created) and its children are diffed, add the kind's own actions
	 * (Serverless uploads, builds and deployments). */
	void (*plan_more)(struct tw_planner *pl, const struct tw_res *w, const struct tw_res *h);
	/* twprov export: read what the live model lacks for the file (a function's code), with
	 * tw_export_get and tw_export_download, for each live resource export writes. */
	void (*export_read)(struct tw_export *x, const struct tw_res *live);
	/* twprov export: complete `decl`, the resource written for `live`, once every resource has
	 * its fields and children from the descriptors (what only the kind knows: a number's routing,
	 * a service's sources, the configuration that generated a function).  Called in the file's
	 * order: kinds as registered, resources by identity. */
	void (*export)(struct tw_export *x, const struct tw_res *live, struct tw_res *decl);
};

struct tw_kind {
	const char *name;        /* "credential_lists"; for children "credentials"; addresses, --target, prune */
	const char *yaml_key;    /* key in the file (top level) or in the parent item; may be dotted
	                            ("auth.calls.credential_lists") for nested mappings */
	const char *parent;      /* parent kind name, NULL at top level */
	enum tw_product product;
	const char *collection;  /* path template of the list/create endpoint */
	const char *item;        /* path template of fetch/update/delete ({Sid}) */
	const char *list_key;    /* key of the items array in list pages */
	const char *sid_prefix;  /* "CL" */
	const char *assoc_ref;   /* TW_K_ASSOC: kind whose names are listed */
	const char *assoc_param; /* TW_K_ASSOC: "CredentialListSid" */
	const struct tw_field *fields;
	size_t nfields;
	unsigned flags;          /* TW_K_* */
	const struct tw_kind_hooks *hooks;
	const struct tw_guard *create_guard;  /* creating one is a purchase, ... */
	const struct tw_guard *delete_guard;  /* deleting one is a release, ... */
	const char *const *json_keep; /* more keys of the API object that its hooks read (a live
	                                 resource keeps only "sid", its fields' keys and these) */
	const struct tw_bulk *bulk;  /* updates are written in batches (see struct tw_bulk) */
	const char *create_requires; /* a TW_F_LOCAL bool field that must be true for twprov to
	                                create one (phone numbers: `purchase`); else plan reports it */
	const char *doc;         /* one line for help and man pages */
};

/*
 * Path templates use {AccountSid}, {ParentSid} (the SID of the parent
 * resource), {GrandParentSid} (its parent's) and {Sid}.  Example:
 *   "/2010-04-01/Accounts/{AccountSid}/SIP/CredentialLists/{ParentSid}/Credentials.json"
 */

/* The registry: every kind, parents before children, referenced kinds before referencing. */
extern const struct tw_kind *const tw_kinds[];
extern const size_t tw_nkinds;

const struct tw_kind *tw_kind_find(const char *name);
/* Child kinds of `parent` (NULL: top-level kinds), in registry order, and their count in *n:
 * a table of the registry (never freed), as long as the registry needs. */
const struct tw_kind *const *tw_kind_children(const struct tw_kind *parent, size_t *n);
const struct tw_field *tw_kind_field(const struct tw_kind *k, const char *name);
/* Index of the identity field, or -1 (TW_K_ASSOC kinds have none: the item is the name). */
int tw_kind_identity(const struct tw_kind *k);
/* TW_K_MAPPED: the index of the one field a value is, or -1 when a value is a mapping of the
 * kind's fields but its identity (the key) and computed ones. */
int tw_kind_mapped_value(const struct tw_kind *k);
/* The kind's position in tw_kinds (stable order for sorting). */
size_t tw_kind_index(const struct tw_kind *k);

/*
 * SIDs (DESIGN.md section 6): two capital letters, `prefix` when given (a kind's sid_prefix,
 * "CL"), and 32 hex digits.  Every SID read from an answer is checked before twprov acts on
 * it; nothing is sent with an empty or malformed one.
 */
int tw_sid_ok(const char *sid, const char *prefix);
/* The same for a value of an answer (NULL: the key was missing): 0, or -1 with
 * "no valid SID: got null (expected CL and 32 hex digits)" (what came back, escaped). */
int tw_sid_check(const json_t *v, const char *prefix, struct tw_err *err);

/* Expand a path template.  Returns a heap string. */
char *tw_path_expand(const char *tmpl, const char *account_sid, const char *parent_sid,
		     const char *grandparent_sid, const char *sid);
/* The same for a resource's collection (sid NULL) or item: parents from r->parent. */
char *tw_res_path(const struct tw_res *r, const char *tmpl, const char *account_sid, const char *sid);

#endif
