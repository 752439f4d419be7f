/* phone.h - phone provisioning files (gen-phone-config): one module per vendor */
#ifndef TWPROV_PHONE_H
#define TWPROV_PHONE_H

#include <stddef.h>

#include "twprov/buf.h"
#include "twprov/model.h"

struct tw_err;

enum tw_phone_transport {
	TW_PHONE_UDP = 0,
	TW_PHONE_TCP,
	TW_PHONE_TLS,
};

/*
 * Everything a vendor module needs to write one SIP account, resolved from
 * a credential, the SIP domain it registers to and one of its devices.
 * Strings are borrowed (the model owns them).
 */
struct tw_phone_account {
	const char *username;      /* SIP user = auth user at Twilio */
	const char *password;      /* plain text: every format takes the password itself, never HA1 */
	const char *display_name;  /* may be NULL */
	const char *label;         /* what the phone shows for the line: display name, else username */
	const char *domain;        /* the SIP domain's domain_name (calls to the user use it) */
	const char *host;          /* registrar host: the domain, or <name>.sip.<edge>.twilio.com */
	int port;                  /* 5060, or 5061 with TLS */
	int explicit_port;         /* write host:port (TLS) rather than the bare host (5060) */
	const char *proxy_host;    /* outbound proxy (--outbound-proxy), or NULL */
	int proxy_port;            /* 0: the transport's default */
	enum tw_phone_transport transport;
	int srtp;                  /* mandatory SRTP (the domain is secure) */
	int expires;               /* registration expiry in seconds */
	const char *mac;           /* 12 lower-case hex digits, or NULL */
};

/*
 * One vendor: its `type` in the file, whether a device of that type must
 * declare its MAC, and a renderer that appends the file's bytes to `out` and
 * sets *name to the file name the phone requests (a heap string, relative to
 * the output directory, at most one '/').  Returns 0, or -1 with err set
 * (e.g. a value the format cannot carry); never puts a secret in err.
 */
struct tw_phone_vendor {
	const char *type;
	int needs_mac;
	int can_encrypt;           /* the phone reads files encrypted with encrypt_key */
	int (*render)(const struct tw_phone_account *acct, struct tw_buf *out, char **name, struct tw_err *err);
	const char *doc;
};

extern const struct tw_phone_vendor *const tw_phone_vendors[];
extern const size_t tw_phone_nvendors;
/* Vendor type names, NULL-terminated (choices of the devices' `type` field). */
extern const char *const tw_phone_types[];
/* Twilio SIP edges and legacy region names a device may register through. */
extern const char *const tw_phone_edges[];
extern const char *const tw_phone_transports[];

const struct tw_phone_vendor *tw_phone_vendor_find(const char *type);

/* The vendor modules (src/phone/<type>.c). */
extern const struct tw_phone_vendor tw_phone_grandstream;
extern const struct tw_phone_vendor tw_phone_yealink;
extern const struct tw_phone_vendor tw_phone_zoiper;
extern const struct tw_phone_vendor tw_phone_linphone;
extern const struct tw_phone_vendor tw_phone_baresip;

/* ---- helpers shared by the vendor modules (phone.c) ---- */

/* Append s with &, <, >, " and ' escaped for XML text and attribute values. */
void tw_phone_xml_escape(struct tw_buf *b, const char *s);
/* Append <name>escaped value</name> (indented by `indent` spaces) and a newline. */
void tw_phone_xml_elem(struct tw_buf *b, int indent, const char *name, const char *value);
void tw_phone_xml_elemf(struct tw_buf *b, int indent, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * A value for a line-based format (key = value, one account per line):
 * -1 with err naming the vendor and the field when it holds a control
 * character or one of the bytes in `forbidden` (may be NULL).
 */
int tw_phone_plain_value(const char *vendor, const char *field, const char *value, const char *forbidden,
			 struct tw_err *err);
/* "host" or "host:port" of the registrar as most phones want it in one field. */
void tw_phone_server(struct tw_buf *b, const struct tw_phone_account *a);
/* "host:port" of the outbound proxy, or "" when there is none. */
void tw_phone_proxy(struct tw_buf *b, const struct tw_phone_account *a);
const char *tw_phone_transport_name(enum tw_phone_transport t);   /* "udp", "tcp", "tls" */

/*
 * A MAC address as 12 lower-case hex digits: accepts 12 hex digits alone or
 * in pairs separated by ':' or '-' (00:0B:82:12:34:56), or in groups of four
 * separated by '.' (000b.8212.3456).  Returns 0 and fills out[13], else -1.
 */
int tw_phone_mac_normalize(const char *in, char out[13]);

/*
 * Encrypt `in` the way Grandstream phones decrypt provisioning files (their
 * "XML Config File Password", P1359): AES-256-CBC with PKCS#7 padding, the
 * key and IV derived from `key` and a random 8-byte salt with OpenSSL's
 * EVP_BytesToKey (MD5, one iteration), written as "Salted__" + salt +
 * ciphertext.  That is `openssl enc -e -aes-256-cbc -md md5 -k KEY` and
 * decrypts with `openssl enc -d -aes-256-cbc -md md5 -k KEY`.
 */
int tw_phone_encrypt(const char *key, const struct tw_buf *in, struct tw_buf *out, struct tw_err *err);

/* ---- the whole job: the file -> rendered files -> the output directory ---- */

struct tw_phone_opts {
	const char *only;          /* --only USER, or NULL for every credential */
	const char *domain;        /* --domain, or NULL */
	const char *proxy;         /* --outbound-proxy HOST[:PORT], or NULL */
	const char *encrypt_key;   /* --encrypt-key (resolved), or NULL */
};

struct tw_phone_file {
	char *name;                /* relative to the output directory */
	struct tw_buf data;        /* holds a password: wiped on release */
	char *type;                /* vendor */
	char *account;             /* "alice@office.sip.twilio.com" */
	int encrypted;
	int written;               /* tw_phone_write_all put it in place */
};

struct tw_phone_files {
	struct tw_phone_file *v;
	size_t n, alloc;
	size_t ncredentials;       /* credentials that got files */
};

void tw_phone_files_init(struct tw_phone_files *f);
void tw_phone_files_release(struct tw_phone_files *f);

/*
 * Render every file in memory for the credentials of `m` (a valid declared
 * model).  Problems of the file (no domain accepts the list's registrations,
 * a secure domain with a plain transport, two devices writing one file name,
 * a value a format cannot carry, ...) go to `d` at FILE:LINE:COL; then -1
 * with err kind TW_ERR_INVALID.  A --only or --domain that names nothing is
 * -1 with TW_ERR_USAGE.  Nothing is written.
 */
int tw_phone_render_all(const struct tw_model *m, const struct tw_phone_opts *o, struct tw_phone_files *out,
			struct tw_diags *d, struct tw_err *err);

/*
 * Write every file into `dir` (created 0700 with its parents if missing):
 * each through a temporary file in its final directory, mode 0600, fsync'd
 * (removed if a signal ends twprov); only when every temporary file is
 * written are they renamed over the targets (an existing file is replaced
 * atomically, a symbolic link replaced, not followed).  Paths under `dir`
 * never follow a symbolic link: a per-user directory that is one is an
 * error.  On failure the temporary files are removed; a rename that fails
 * after others succeeded leaves those replaced: `written` says which.
 */
int tw_phone_write_all(struct tw_phone_files *f, const char *dir, struct tw_err *err);

#endif
