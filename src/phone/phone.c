/* phone.c - gen-phone-config: vendor table, shared helpers, the credential -> file job */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "twprov/err.h"
#include "twprov/file.h"
#include "twprov/kind.h"
#include "twprov/phone.h"

/* Every vendor: adding one is a file in src/phone/ plus one line here. */
const struct tw_phone_vendor *const tw_phone_vendors[] = {
	&tw_phone_grandstream,
	&tw_phone_yealink,
	&tw_phone_zoiper,
	&tw_phone_linphone,
	&tw_phone_baresip,
};
const size_t tw_phone_nvendors = sizeof(tw_phone_vendors) / sizeof(tw_phone_vendors[0]);

/* Kept in the order of tw_phone_vendors (test_phone checks it). */
const char *const tw_phone_types[] = { "grandstream", "yealink", "zoiper", "linphone", "baresip", NULL };

/* Twilio's SIP edges, their Interconnect variants and the legacy region names (phone-formats.md 5). */
const char *const tw_phone_edges[] = {
	"ashburn", "umatilla", "dublin", "frankfurt", "singapore", "tokyo", "sao-paulo", "sydney",
	"ashburn-ix", "umatilla-ix", "dublin-ix", "frankfurt-ix", "singapore-ix", "tokyo-ix", "sao-paulo-ix",
	"sydney-ix", "us1", "us2", "ie1", "de1", "sg1", "jp1", "br1", "au1", NULL,
};

const char *const tw_phone_transports[] = { "udp", "tcp", "tls", NULL };

const struct tw_phone_vendor *tw_phone_vendor_find(const char *type)
{
	for (size_t i = 0; type && i < tw_phone_nvendors; i++)
		if (!strcmp(tw_phone_vendors[i]->type, type))
			return tw_phone_vendors[i];
	return NULL;
}

/* ---- helpers for the vendor modules ---- */

void tw_phone_xml_escape(struct tw_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': tw_buf_adds(b, "&amp;"); break;
		case '<': tw_buf_adds(b, "&lt;"); break;
		case '>': tw_buf_adds(b, "&gt;"); break;
		case '"': tw_buf_adds(b, "&quot;"); break;
		case '\'': tw_buf_adds(b, "&apos;"); break;
		default: tw_buf_addc(b, *s); break;
		}
	}
}

void tw_phone_xml_elem(struct tw_buf *b, int indent, const char *name, const char *value)
{
	tw_buf_addf(b, "%*s<%s>", indent, "", name);
	tw_phone_xml_escape(b, value ? value : "");
	tw_buf_addf(b, "</%s>\n", name);
}

void tw_phone_xml_elemf(struct tw_buf *b, int indent, const char *name, const char *fmt, ...)
{
	struct tw_buf v = TW_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	tw_buf_vaddf(&v, fmt, ap);
	va_end(ap);
	tw_phone_xml_elem(b, indent, name, v.buf);
	tw_buf_wipe(&v);
}

int tw_phone_plain_value(const char *vendor, const char *field, const char *value, const char *forbidden,
			 struct tw_err *err)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return tw_err_setk(err, TW_ERR_INVALID, "%s: the %s holds a control character, which a %s file "
					   "cannot carry", vendor, field, vendor);
		if (forbidden && strchr(forbidden, *p))
			return tw_err_setk(err, TW_ERR_INVALID, "%s: the %s holds '%c', which a %s file cannot carry",
					   vendor, field, *p, vendor);
	}
	return 0;
}

const char *tw_phone_transport_name(enum tw_phone_transport t)
{
	return tw_phone_transports[t];
}

void tw_phone_server(struct tw_buf *b, const struct tw_phone_account *a)
{
	if (a->port != 5060)
		tw_buf_addf(b, "%s:%d", a->host, a->port);
	else
		tw_buf_adds(b, a->host);
}

void tw_phone_proxy(struct tw_buf *b, const struct tw_phone_account *a)
{
	if (!a->proxy_host)
		return;
	tw_buf_addf(b, "%s:%d", a->proxy_host, a->proxy_port ? a->proxy_port : a->transport == TW_PHONE_TLS ? 5061 : 5060);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tw_phone_mac_normalize(const char *in, char out[13])
{
	size_t n = 0, len = strlen(in), group;
	char sep = 0;

	if (len == 12)
		group = 12;
	else if (len == 17 && (in[2] == ':' || in[2] == '-'))
		group = 2, sep = in[2];
	else if (len == 14 && in[4] == '.')
		group = 4, sep = '.';
	else
		return -1;
	for (size_t i = 0, ingroup = 0; i < len; i++) {
		if (ingroup == group) {
			if (in[i] != sep)
				return -1;
			ingroup = 0;
			continue;
		}
		int v = hexval((unsigned char)in[i]);
		if (v < 0 || n >= 12)
			return -1;
		out[n++] = "0123456789abcdef"[v];
		ingroup++;
	}
	if (n != 12)
		return -1;
	out[12] = '\0';
	return 0;
}

int tw_phone_encrypt(const char *key, const struct tw_buf *in, struct tw_buf *out, struct tw_err *err)
{
	const EVP_CIPHER *cipher = EVP_aes_256_cbc();
	unsigned char salt[8], kiv[EVP_MAX_KEY_LENGTH + EVP_MAX_IV_LENGTH];
	EVP_CIPHER_CTX *ctx = NULL;
	int klen = EVP_CIPHER_key_length(cipher), n = 0, fin = 0, ret = -1;

	if (!key || !*key)
		return tw_err_set(err, "grandstream: the encryption key is empty");
	if (in->len > (size_t)INT32_MAX - 64)
		return tw_err_set(err, "grandstream: file too large to encrypt");
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return tw_err_set(err, "grandstream: no random salt from openssl");
	if (EVP_BytesToKey(cipher, EVP_md5(), salt, (const unsigned char *)key, (int)strlen(key), 1, kiv, kiv + klen)
	    != klen)
		goto out;
	if (!(ctx = EVP_CIPHER_CTX_new()) || EVP_EncryptInit_ex(ctx, cipher, NULL, kiv, kiv + klen) != 1)
		goto out;
	tw_buf_reset(out);
	tw_buf_add(out, "Salted__", 8);
	tw_buf_add(out, salt, sizeof(salt));
	tw_buf_grow(out, in->len + (size_t)EVP_CIPHER_block_size(cipher));
	if (EVP_EncryptUpdate(ctx, (unsigned char *)out->buf + out->len, &n, (const unsigned char *)in->buf,
			      (int)in->len) != 1)
		goto out;
	out->len += (size_t)n;
	if (EVP_EncryptFinal_ex(ctx, (unsigned char *)out->buf + out->len, &fin) != 1)
		goto out;
	out->len += (size_t)fin;
	out->buf[out->len] = '\0';
	ret = 0;
out:
	if (ret < 0)
		tw_err_set(err, "grandstream: openssl could not encrypt the file");
	EVP_CIPHER_CTX_free(ctx);
	tw_memwipe(kiv, sizeof(kiv));
	return ret;
}

/* ---- the job ---- */

void tw_phone_files_init(struct tw_phone_files *f)
{
	memset(f, 0, sizeof(*f));
}

void tw_phone_files_release(struct tw_phone_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].type);
		free(f->v[i].account);
		tw_buf_wipe(&f->v[i].data);
	}
	free(f->v);
	tw_phone_files_init(f);
}

struct job {
	const struct tw_model *m;
	const struct tw_phone_opts *o;
	struct tw_diags *d;
	struct tw_phone_files *out;
	const struct tw_kind *k_lists, *k_creds, *k_devices, *k_domains, *k_regmap;
	const char *proxy_host;
	int proxy_port;
	char *proxy_buf;
};

static const char *fstr(const struct tw_res *r, const char *name)
{
	const char *s = tw_res_get_str(r, name);
	return s && *s ? s : NULL;
}

/* Is the declared domain `dom` taking registrations from credential list `list`? */
static int maps_list(const struct job *j, const struct tw_res *dom, const struct tw_res *list)
{
	for (size_t i = 0; i < dom->nchildren; i++) {
		const struct tw_res *c = dom->children[i];
		if (c->kind == j->k_regmap && c->id && !strcmp(c->id, list->id))
			return 1;
	}
	return 0;
}

static const struct tw_res *declared_domain(const struct job *j, const char *name)
{
	const struct tw_res *r = tw_res_find(&j->m->root, j->k_domains, name);
	return r && !r->absent ? r : NULL;
}

/* The SIP domain a device registers to, or NULL (reported). */
static const struct tw_res *pick_domain(struct job *j, const struct tw_res *list, const struct tw_res *dev)
{
	const struct tw_res *root = &j->m->root, *only = NULL;
	const char *want = fstr(dev, "domain");
	struct tw_buf names = TW_BUF_INIT;
	size_t n = 0;

	if (!want)
		want = j->o->domain;
	if (want) {
		const struct tw_res *dom = declared_domain(j, want);
		if (dom && maps_list(j, dom, list))
			return dom;
		if (dom)
			tw_res_diag(j->d, 0, dev, "domain", "sip domain \"%s\" does not take registrations from "
				    "credential list \"%s\" (add the list to its auth.registrations.credential_lists)",
				    want, list->id);
		else
			tw_res_diag(j->d, 0, dev, "domain", "no sip domain \"%s\" in the file", want);
		return NULL;
	}
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *dom = root->children[i];
		if (dom->kind != j->k_domains || dom->absent || !maps_list(j, dom, list))
			continue;
		tw_buf_addf(&names, "%s%s", n ? ", " : "", dom->id);
		if (!n++)
			only = dom;
	}
	if (n == 0)
		tw_res_diag(j->d, 0, dev, "domain", "no sip domain takes registrations from credential list \"%s\" "
			    "(name it in a domain's auth.registrations.credential_lists)", list->id);
	else if (n > 1)
		tw_res_diag(j->d, 0, dev, "domain", "credential list \"%s\" takes registrations on %zu sip domains "
			    "(%s): choose one with the device's domain or --domain", list->id, n, names.buf);
	tw_buf_release(&names);
	return n == 1 ? only : NULL;
}

static int parse_proxy(struct job *j, struct tw_err *err)
{
	const char *p = j->o->proxy;
	char *colon;

	if (!p)
		return 0;
	j->proxy_buf = tw_xstrdup(p);
	colon = strrchr(j->proxy_buf, ':');
	if (colon) {
		char *end;
		long port;
		*colon = '\0';
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
			return tw_err_setk(err, TW_ERR_USAGE, "--outbound-proxy: not a port: \"%s\"", colon + 1);
		j->proxy_port = (int)port;
	}
	if (!*j->proxy_buf)
		return tw_err_setk(err, TW_ERR_USAGE, "--outbound-proxy: expected HOST[:PORT], got \"%s\"", p);
	for (const char *s = j->proxy_buf; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return tw_err_setk(err, TW_ERR_USAGE, "--outbound-proxy: not a host name or IPv4 address: \"%s\"",
					   j->proxy_buf);
	j->proxy_host = j->proxy_buf;
	return 0;
}

/* A file name stays inside the output directory: at most one '/', no empty, hidden or dot component. */
static int safe_name(const char *name)
{
	size_t slashes = 0;
	for (const char *c = name; ; ) {
		size_t n = strcspn(c, "/");
		if (!n || c[0] == '.')
			return 0;
		if (!c[n])
			break;
		slashes++;
		c += n + 1;
	}
	return slashes <= 1;
}

static void add_file(struct job *j, const struct tw_res *dev, const struct tw_phone_vendor *v, char *name,
		     struct tw_buf *data, const char *account, int encrypted)
{
	if (!safe_name(name)) {
		tw_res_diag(j->d, 0, dev, NULL, "%s: cannot name a file \"%s\" (the username is used as a directory name: "
			"it must not contain '/' nor start with '.')", v->type, name);
		free(name);
		tw_buf_wipe(data);
		return;
	}
	for (size_t i = 0; i < j->out->n; i++)
		if (!strcmp(j->out->v[i].name, name)) {
			tw_res_diag(j->d, 0, dev, NULL, "%s would be written twice (also for %s %s): give each device "
				"its own mac, or each softphone user one device", name, j->out->v[i].type,
				j->out->v[i].account);
			free(name);
			tw_buf_wipe(data);
			return;
		}
	TW_ALLOC_GROW(j->out->v, j->out->n + 1, j->out->alloc);
	struct tw_phone_file *f = &j->out->v[j->out->n++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->data = *data;
	tw_buf_init(data);
	f->type = tw_xstrdup(v->type);
	f->account = tw_xstrdup(account);
	f->encrypted = encrypted;
}

static int render_device(struct job *j, const struct tw_res *cred, const struct tw_res *list,
			 const struct tw_res *dev)
{
	const struct tw_phone_vendor *v = tw_phone_vendor_find(fstr(dev, "type"));
	struct tw_phone_account a;
	const struct tw_res *dom;
	const char *t = fstr(dev, "transport"), *edge = fstr(dev, "edge"), *mac = fstr(dev, "mac");
	const char *key = fstr(dev, "encrypt_key");
	char macbuf[13], *hostbuf = NULL, *name = NULL, *account;
	struct tw_buf data = TW_BUF_INIT, enc = TW_BUF_INIT;
	struct tw_err err = TW_ERR_INIT;
	json_t *expires = tw_res_get(dev, "expires");
	int ret = -1;

	if (!v)
		return -1;   /* the loader reported it */
	if (!(dom = pick_domain(j, list, dev)))
		return -1;
	memset(&a, 0, sizeof(a));
	a.username = cred->id;
	a.password = fstr(cred, "password");
	a.display_name = fstr(cred, "display_name");
	a.label = a.display_name ? a.display_name : a.username;
	a.domain = dom->id;
	a.srtp = json_is_true(tw_res_get(dom, "secure"));
	a.transport = !t ? (a.srtp ? TW_PHONE_TLS : TW_PHONE_UDP) :
		      !strcmp(t, "tcp") ? TW_PHONE_TCP : !strcmp(t, "tls") ? TW_PHONE_TLS : TW_PHONE_UDP;
	a.expires = json_is_integer(expires) ? (int)json_integer_value(expires) : 3600;
	a.proxy_host = j->proxy_host;
	a.proxy_port = j->proxy_port;
	if (!a.password) {
		tw_res_diag(j->d, 0, cred, "password", "no password: phones need it (declare password)");
		return -1;
	}
	if (a.srtp && a.transport != TW_PHONE_TLS) {
		tw_res_diag(j->d, 0, dev, "transport", "sip domain \"%s\" is secure (TLS and SRTP): transport must "
			"be tls, not %s", dom->id, t);
		return -1;
	}
	if (json_is_false(tw_res_get(dom, "sip_registration")))
		tw_diag_add(j->d, 1, tw_res_loc(dom, "sip_registration"), "%s: sip_registration is false: phones "
			    "provisioned for this domain cannot register", dom->id);
	a.port = a.transport == TW_PHONE_TLS ? 5061 : 5060;
	if (edge) {
		size_t dl = strlen(dom->id), sl = strlen(".sip.twilio.com");
		if (dl <= sl || strcmp(dom->id + dl - sl, ".sip.twilio.com")) {
			tw_res_diag(j->d, 0, dev, "edge", "edge needs a domain ending in .sip.twilio.com");
			return -1;
		}
		hostbuf = tw_xasprintf("%.*s.sip.%s.twilio.com", (int)(dl - sl), dom->id, edge);
		a.host = hostbuf;
	} else {
		a.host = dom->id;
	}
	if (mac) {
		if (tw_phone_mac_normalize(mac, macbuf) < 0) {
			tw_res_diag(j->d, 0, dev, "mac", "not a MAC address");   /* the loader checked it */
			goto out;
		}
		a.mac = macbuf;
	} else if (v->needs_mac) {
		tw_res_diag(j->d, 0, dev, NULL, "a %s device needs its mac (the phone asks for a file named after it)",
			v->type);
		goto out;
	}
	if (!key && v->can_encrypt)
		key = j->o->encrypt_key;
	account = tw_xasprintf("%s@%s", a.username, a.host);
	if (v->render(&a, &data, &name, &err) < 0) {
		tw_res_diag(j->d, 0, dev, NULL, "%s", err.msg);
		free(name);
		name = NULL;
	} else if (key && tw_phone_encrypt(key, &data, &enc, &err) < 0) {
		tw_res_diag(j->d, 0, dev, "encrypt_key", "%s", err.msg);
	} else {
		if (key) {
			tw_buf_wipe(&data);
			data = enc;
			tw_buf_init(&enc);
		}
		add_file(j, dev, v, name, &data, account, key != NULL);
		name = NULL;
		ret = 0;
	}
	free(account);
out:
	free(name);
	free(hostbuf);
	tw_buf_wipe(&data);
	tw_buf_wipe(&enc);
	return ret;
}

int tw_phone_render_all(const struct tw_model *m, const struct tw_phone_opts *o, struct tw_phone_files *out,
			struct tw_diags *d, struct tw_err *err)
{
	struct job j = { .m = m, .o = o, .d = d, .out = out };
	size_t before = d->nerrors, matched = 0;
	const struct tw_res *root = &m->root;

	j.k_lists = tw_kind_find("credential_lists");
	j.k_creds = tw_kind_find("credentials");
	j.k_devices = tw_kind_find("devices");
	j.k_domains = tw_kind_find("sip_domains");
	j.k_regmap = tw_kind_find("auth.registrations.credential_lists");
	if (!j.k_lists || !j.k_creds || !j.k_devices || !j.k_domains || !j.k_regmap)
		return tw_err_set(err, "internal error: a kind gen-phone-config needs is not registered");
	if (parse_proxy(&j, err) < 0)
		goto fail;
	if (o->domain && !declared_domain(&j, o->domain)) {
		tw_err_setk(err, TW_ERR_USAGE, "--domain %s: no such sip domain in %s", o->domain, m->file);
		goto fail;
	}
	for (size_t i = 0; i < root->nchildren; i++) {
		const struct tw_res *list = root->children[i];
		if (list->kind != j.k_lists || list->absent)
			continue;
		for (size_t c = 0; c < list->nchildren; c++) {
			const struct tw_res *cred = list->children[c];
			size_t ndev = 0, nfiles = out->n;
			if (cred->kind != j.k_creds || (o->only && strcmp(cred->id, o->only)))
				continue;
			matched++;
			for (size_t k = 0; k < cred->nchildren; k++) {
				if (cred->children[k]->kind != j.k_devices)
					continue;
				ndev++;
				render_device(&j, cred, list, cred->children[k]);
			}
			if (!ndev && o->only)
				tw_res_diag(j.d, 0, cred, NULL, "declares no devices (add devices: [{type: ...}])");
			if (out->n > nfiles)
				out->ncredentials++;
		}
	}
	if (o->only && !matched) {
		tw_err_setk(err, TW_ERR_USAGE, "--only %s: no credential with that username in %s", o->only, m->file);
		goto fail;
	}
	if (d->nerrors > before) {
		size_t n = d->nerrors - before;
		tw_err_setk(err, TW_ERR_INVALID, "%zu error%s in %s: no file written", n, n == 1 ? "" : "s", m->file);
		goto fail;
	}
	free(j.proxy_buf);
	return 0;
fail:
	free(j.proxy_buf);
	tw_phone_files_release(out);
	return -1;
}

/* ---- writing ---- */

int tw_phone_write_all(struct tw_phone_files *f, const char *dir, struct tw_err *err)
{
	struct tw_tree_file *v = tw_xcalloc(f->n ? f->n : 1, sizeof(*v));
	int ret;

	for (size_t i = 0; i < f->n; i++) {
		v[i].name = f->v[i].name;
		v[i].data = f->v[i].data.buf;
		v[i].len = f->v[i].data.len;
	}
	ret = tw_write_tree(v, f->n, dir, 0600, err);   /* they hold passwords */
	for (size_t i = 0; i < f->n; i++)
		f->v[i].written = v[i].written;
	free(v);
	return ret;
}
