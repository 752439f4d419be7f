"""The hostile-input corpus (issue 11): files, environments and servers that a broken or
hostile world hands twprov, one row each.  Every case must end with its exit code and its
message, within a bounded time, without a crash, a sanitizer or valgrind report (the suite
runs under both), a secret or a byte a terminal would act on in anything twprov prints.

A row: (name, kind, command, exit code, message, setup).  The command's FILE is the case's
file; `setup` keys: file (text or bytes), env (overrides; None unsets), evil (mode, options),
seed (collection, fields...), make (a FIFO, device, socket... at FILE).  Wire cases run
against tests/evil's server, with short timeouts (TWPROV_STALL_MS, TWPROV_DEADLINE_MS) so the
corpus stays affordable under valgrind; test_hostile.py has the default worst case.

TWPROV_CORPUS_TABLE=PATH writes the results as a Markdown table (case, exit code, message)."""

import os
import socket
import time

from harness import SECRETS, TwprovCase, WithEvilServer
from evil_server import AUTH_TOKEN, MISSING  # noqa: E402,I001 (harness puts tests/evil on the path)

ESC_PW = "Esc\x1b[2J-Pass-2024x"         # a valid password holding a terminal control
BIG_PW = "Aa1" + "x" * 100000            # 100 KB in an environment variable (the most one may hold)
LIST = "twprov: 1\ncredential_lists:\n  - name: office-phones\n    credentials:\n" \
       "      - {username: alice, password: \"${env:SIP_PW_ALICE}\"}\n"
ACL = "twprov: 1\nip_access_control_lists:\n  - name: pbx\n    addresses: [{name: pbx, ip: 138.2.68.107}]\n"
DOMAIN = "twprov: 1\nsip_domains:\n  - domain_name: office-test.sip.twilio.com\n" \
         "    voice_url: https://example.twil.io/sip-outbound\n"
SVC = "twprov: 1\nservices:\n  - unique_name: evil-svc\n    functions:\n" \
      "      - {path: /x, content: \"exports.handler = (c, e, cb) => cb(null, 1);\"}\n" \
      "    environments:\n      - name: production\n"
FAST = {"TWPROV_STALL_MS": "1000", "TWPROV_DEADLINE_MS": "2000", "TWPROV_MAX_RETRIES": "1"}
APPLY = ("apply", "-f", "FILE", "--auto-approve", "--verify-timeout", "1")
PLAN = ("plan", "-f", "FILE")
VALIDATE = ("validate", "-f", "FILE")
CL = "/SIP/CredentialLists.json"


def secret(path):
    """LIST with alice's password read from the file at `path`."""
    return LIST.replace("${env:SIP_PW_ALICE}", f"${{file:{path}}}")


CASES = [
    # ---- files -------------------------------------------------------------------------------
    ("fifo as -f", "file", VALIDATE, 3, "not a regular file (a FIFO)", {"make": "fifo"}),
    ("fifo as -f, apply", "file", APPLY, 3, "not a regular file (a FIFO)", {"make": "fifo"}),
    ("symlink to a fifo as -f", "file", VALIDATE, 3, "not a regular file (a FIFO)", {"make": "fifo-link"}),
    ("character device as -f", "file", ("validate", "-f", "/dev/zero"), 3,
     "cannot read /dev/zero: not a regular file (a character device)", {}),
    ("directory as -f", "file", VALIDATE, 3, "Is a directory", {"make": "dir"}),
    ("unix socket as -f", "file", VALIDATE, 3, "not a regular file (a socket)", {"make": "socket"}),
    ("missing file", "file", VALIDATE, 3, "No such file or directory", {"make": "nothing"}),
    ("fifo as ${file:}", "file", VALIDATE, 3, 'cannot read "pw": not a regular file (a FIFO)',
     {"file": secret("pw"), "make": "fifo:pw"}),
    ("directory as ${file:}", "file", VALIDATE, 3, 'cannot read ".": Is a directory', {"file": secret(".")}),
    ("device as ${file:}", "file", VALIDATE, 3, "not a regular file (a character device)",
     {"file": secret("/dev/urandom")}),
    ("huge ${file:}", "file", VALIDATE, 3, "larger than 64 KiB", {"file": secret("pw"), "make": "big:pw"}),
    ("NUL in ${file:}", "file", VALIDATE, 3, "it holds a NUL byte", {"file": secret("pw"), "make": "nul:pw"}),
    ("fifo as a function's source", "file", VALIDATE, 3, "not a regular file (a FIFO)",
     {"file": SVC.replace('content: "exports.handler = (c, e, cb) => cb(null, 1);"', "source: code.js"),
      "make": "fifo:code.js"}),
    ("fifo as --encrypt-key ${file:}", "file",
     ("gen-phone-config", "-f", "FILE", "--encrypt-key", "${file:DIR/pw}"), 64,
     'pw": not a regular file (a FIFO)', {"file": LIST, "make": "fifo:pw"}),
    ("fifo as remove-credential's file", "file", ("remove-credential", "alice", "-f", "FILE", "--auto-approve"), 3,
     "not a regular file (a FIFO)", {"make": "fifo"}),
    ("terminal escape in a name", "file", VALIDATE, 3, 'contains a control character: "evil\\033[2J"',
     {"file": LIST.replace("office-phones", '"evil\\e[2J"')}),
    ("bidi override in a name", "file", PLAN, 0, '+ "credential_lists/abc\\342\\200\\256gnp"',
     {"file": LIST.replace("office-phones", "abc\u202egnp")}),
    ("invalid UTF-8", "file", VALIDATE, 3, "invalid YAML input: invalid leading UTF-8 octet (#FF)",
     {"file": LIST.encode().replace(b"office", b"off\xffce")}),
    ("NUL byte in the YAML", "file", VALIDATE, 3, "invalid YAML input: control characters are not allowed (#0)",
     {"file": b"twprov: 1\n\0\n"}),
    ("byte order mark", "file", VALIDATE, 0, "is valid", {"file": b"\xef\xbb\xbf" + LIST.encode()}),
    ("CRLF line ends", "file", VALIDATE, 0, "is valid", {"file": LIST.replace("\n", "\r\n")}),
    ("deep flow nesting", "file", VALIDATE, 3, "nesting too deep", {"file": "twprov: 1\nx: " + "[" * 5000}),
    ("merge key", "file", VALIDATE, 3, "merge keys (<<) are not supported",
     {"file": "twprov: 1\nbase: &b {name: x}\ncredential_lists:\n  - <<: *b\n"}),
    ("escape in a secret reference", "file", VALIDATE, 3, 'invalid secret reference: "A\\033" is not an environment',
     {"file": LIST.replace("${env:SIP_PW_ALICE}", "${env:A\\e}")}),
    ("python tag", "file", VALIDATE, 3, "credential_lists",
     {"file": "twprov: 1\ncredential_lists: !!python/object/apply:os.system [\"id\"]\n"}),
    ("escape in a password from the environment", "file", VALIDATE, 0, "is valid",
     {"file": LIST.replace("SIP_PW_ALICE", "ESC_PW"), "env": {"ESC_PW": ESC_PW}}),
    ("a 100 KB password from the environment", "file", VALIDATE, 0, "is valid",
     {"file": LIST.replace("SIP_PW_ALICE", "BIG_PW"), "env": {"BIG_PW": BIG_PW}}),

    # ---- environment -----------------------------------------------------------------------------
    ("TWPROV_API_URL plain http to another host", "env", PLAN, 1,
     "plain http is only allowed to a loopback address", {"env": {"TWPROV_API_URL": "http://192.0.2.1:8080"}}),
    ("TWPROV_API_URL http to a loopback-looking name", "env", PLAN, 1,
     "not 127.0.0.1.evil.example: the credentials would cross the network in clear text",
     {"env": {"TWPROV_API_URL": "http://127.0.0.1.evil.example"}}),
    ("TWPROV_API_URL http to an IPv6 host", "env", PLAN, 1, "plain http is only allowed to a loopback address",
     {"env": {"TWPROV_API_URL": "http://[2001:db8::1]:80"}}),
    ("TWPROV_API_URL with a password", "env", ("-v", "-v", "plan", "-f", "FILE"), 1,
     "a user name or password in the URL is not allowed",
     {"env": {"TWPROV_API_URL": "http://admin:Url-5ecret-Pw@127.0.0.1:1"}}),
    ("TWPROV_API_URL ftp", "env", PLAN, 1, "expected an http or https URL, not ftp",
     {"env": {"TWPROV_API_URL": "ftp://127.0.0.1/"}}),
    ("TWPROV_API_URL with a query", "env", PLAN, 1, "a base URL has no query or fragment",
     {"env": {"TWPROV_API_URL": "http://127.0.0.1:1/?x=1"}}),
    ("TWPROV_API_URL terminal escape", "env", PLAN, 1, 'TWPROV_API_URL: not a URL: "\\033[2J"',
     {"env": {"TWPROV_API_URL": "\x1b[2J"}}),
    ("TWILIO_REGION with a host", "env", PLAN, 1, "TWILIO_REGION: not a region name: \"x@127.0.0.1:1/y\"",
     {"env": {"TWPROV_API_URL": None, "TWILIO_REGION": "x@127.0.0.1:1/y"}}),
    ("TWILIO_EDGE with a path", "env", PLAN, 1, 'TWILIO_EDGE: not an edge name: "a/b"',
     {"env": {"TWPROV_API_URL": None, "TWILIO_EDGE": "a/b"}}),
    ("TWILIO_REGION with a header", "env", PLAN, 1, 'not a region name: "us1\\nHost: evil"',
     {"env": {"TWPROV_API_URL": None, "TWILIO_REGION": "us1\nHost: evil"}}),
    ("TWILIO_EDGE upper case", "env", PLAN, 1, 'TWILIO_EDGE: not an edge name: "Sydney"',
     {"env": {"TWPROV_API_URL": None, "TWILIO_EDGE": "Sydney"}}),
    ("TWILIO_ACCOUNT_SID short", "env", PLAN, 1, "TWILIO_ACCOUNT_SID is not an account SID",
     {"env": {"TWILIO_ACCOUNT_SID": "AC123"}}),
    ("TWILIO_ACCOUNT_SID with an escape", "env", PLAN, 1, "TWILIO_ACCOUNT_SID is not an account SID",
     {"env": {"TWILIO_ACCOUNT_SID": "AC" + "0" * 30 + "\x1b[2J"}}),
    ("no credentials", "env", PLAN, 1, "no credentials", {"env": {"TWILIO_AUTH_TOKEN": None}}),
    ("API key without its secret", "env", PLAN, 1, "TWILIO_API_KEY is set but TWILIO_API_SECRET is not",
     {"env": {"TWILIO_API_KEY": "SK" + "1" * 32}}),
    ("CURL_CA_BUNDLE a FIFO", "env", PLAN, 1, "not a regular file (a FIFO)",
     {"env": {"CURL_CA_BUNDLE": "@fifo"}, "make": "fifo:fifo"}),
    ("CURL_CA_BUNDLE a directory", "env", PLAN, 1, "Is a directory", {"env": {"CURL_CA_BUNDLE": "/"}}),
    ("TWPROV_TIMEOUT_MS not a number (ignored)", "env", PLAN, 0, "Plan: 2 to add",
     {"env": {"TWPROV_TIMEOUT_MS": "abc"}}),
    ("TWPROV_MAX_RETRIES out of range (ignored)", "env", PLAN, 0, "Plan: 2 to add",
     {"env": {"TWPROV_MAX_RETRIES": "99999999999"}}),
    ("escape in a password, plan", "env", ("plan", "-f", "FILE", "--sync-passwords"), 0, "password = (sensitive)",
     {"file": LIST.replace("SIP_PW_ALICE", "ESC_PW"), "env": {"ESC_PW": ESC_PW}}),
    ("TERM with an escape", "env", PLAN, 0, "Plan: 2 to add", {"env": {"TERM": "\x1b[2J"}}),
    ("NO_COLOR set", "env", PLAN, 0, "Plan: 2 to add", {"env": {"NO_COLOR": "1"}}),

    # ---- the wire ----------------------------------------------------------------------------
    ("name with a terminal escape", "wire", PLAN, 0, '"ip_access_control_lists/evil\\033[2J\\nfake: line" (',
     {"file": ACL, "seed": ("/SIP/IpAccessControlLists.json", {"friendly_name": "evil\x1b[2J\nfake: line"})}),
    ("name with C1 and bidi controls", "wire", PLAN, 0, '"ip_access_control_lists/a\\302\\233b\\342\\200\\256c" (',
     {"file": ACL, "seed": ("/SIP/IpAccessControlLists.json", {"friendly_name": "a\u009bb\u202ec"})}),
    ("value with an OSC title", "wire", PLAN, 0, '~ voice_url = "https://x\\033]0;pwned\\a" -> ',
     {"file": DOMAIN, "seed": ("/SIP/Domains.json", {"domain_name": "office-test.sip.twilio.com",
                                                     "voice_url": "https://x\x1b]0;pwned\x07"})}),
    ("error message with escapes", "wire", APPLY, 1, "21999: refused [2J error: forged",
     {"file": LIST, "evil": ("fail", {"message": "refused\x1b[2J\nerror: forged"})}),
    ("reflected form body and auth, JSON", "wire", APPLY, 1, "Password=(redacted)",
     {"file": LIST, "evil": ("reflect", {"only": "Password"})}),
    ("reflected form body and auth, plain", "wire", APPLY, 1,
     "HTTP 400: invalid request: Username=alice&Password=(redacted)",
     {"file": LIST, "evil": ("reflect", {"only": "Password", "plain": True})}),
    ("reflected auth in names", "wire", PLAN, 0, ":(redacted)", {"file": LIST, "evil": ("reflect", {"names": True})}),
    ("list item sid null", "wire", PLAN, 1, 'item "office-phones": no valid SID: got null (expected CL',
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": None})}),
    ("list item sid missing", "wire", PLAN, 1, "no valid SID: got nothing (expected CL",
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": MISSING})}),
    ("list item sid a number", "wire", PLAN, 1, "no valid SID: got 7 (expected CL",
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": 7})}),
    ("list item sid empty", "wire", PLAN, 1, 'no valid SID: got "" (expected CL',
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": ""})}),
    ("list item sid of another kind", "wire", PLAN, 1, "(expected CL and 32 hex digits)",
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": "AL" + "a" * 32})}),
    ("list item sid with a path", "wire", PLAN, 1, 'got "../../Calls" (expected CL',
     {"file": LIST, "seed": (CL, {"friendly_name": "office-phones"}), "evil": ("bad_sid", {"sid": "../../Calls"})}),
    ("create answer sid null", "wire", APPLY, 1, "create failed: Twilio's answer to the create: no valid SID: got null",
     {"file": LIST, "evil": ("bad_sid", {"sid": None, "where": "create"})}),
    ("create answer sid with a path", "wire", APPLY, 1, 'no valid SID: got "CL/../x"',
     {"file": LIST, "evil": ("bad_sid", {"sid": "CL/../x", "where": "create"})}),
    ("build answer sid", "wire", APPLY, 1, 'build failed: Twilio\'s answer: no valid SID: got "ZB"',
     {"file": SVC, "evil": ("bad_sid", {"sid": "ZB", "where": "create", "collection": "Builds"}),
      "env": {"TWPROV_BUILD_POLL_MS": "10"}}),
    ("cycle of next-page links", "wire", PLAN, 1, "the server's next-page links go round in a circle",
     {"file": LIST, "evil": ("page_cycle", {})}),
    ("cycle of next-page links, v1", "wire", PLAN, 1, "list /v1/ByocTrunks: page 3 links back to page 2",
     {"file": "twprov: 1\nbyoc_trunks: []\n", "evil": ("page_cycle", {"collection": "ByocTrunks"})}),
    ("next-page link to a script", "wire", PLAN, 1, 'bad next page link "javascript:alert(1)"',
     {"file": LIST, "evil": ("account", {"page": {"next_page_uri": "javascript:alert(1)"}})}),
    ("page without its list", "wire", PLAN, 1, 'no "credential_lists" array',
     {"file": LIST, "evil": ("account", {"drop_key": True})}),
    ("accepts and never answers", "wire", PLAN, 1, "s (the request was sent; twprov waited for the response)",
     {"file": LIST, "evil": ("silent", {})}),
    ("answers a byte at a time", "wire", PLAN, 1, "did not finish within",
     {"file": LIST, "evil": ("drip", {"drip_s": 3})}),
    ("redirect elsewhere", "wire", PLAN, 1,
     'the server redirects to "https://evil.example/x"; twprov follows no redirect',
     {"file": LIST, "evil": ("redirect", {"location": "https://user:Redir-5ecret@evil.example/x"})}),
    ("HTML error page", "wire", PLAN, 1, "HTTP 502: <html><title>Bad [31mgateway</title>",
     {"file": LIST, "evil": ("status", {"status": 502, "body": b"<html><title>Bad \x1b[31mgateway</title>\n"})}),
    ("200 that is not JSON", "wire", PLAN, 1, "the response is not a JSON object",
     {"file": LIST, "evil": ("status", {"status": 200, "body": b"\x1b]0;owned\x07 not json"})}),
    ("200 with a JSON array", "wire", PLAN, 1, "the response is not a JSON object",
     {"file": LIST, "evil": ("status", {"status": 200, "body": b"[1, 2, 3]"})}),
    ("JSON with invalid UTF-8", "wire", PLAN, 1, "the response is not a JSON object",
     {"file": LIST, "evil": ("status", {"status": 200, "body": b'{"credential_lists": ["\xff"]}'})}),
    ("429 with a Retry-After of an hour", "wire", PLAN, 1,
     "(the server asks to wait 3600 s, past the deadline of a request, TWPROV_DEADLINE_MS): 20429: Too Many Requests",
     {"file": LIST, "evil": ("status", {"status": 429, "body": b'{"code": 20429, "message": "Too Many Requests"}',
                                        "headers": [("Retry-After", "3600")]})}),
    ("a 64 KB error message", "wire", APPLY, 1, "21999: " + "A" * 200,
     {"file": LIST, "evil": ("fail", {"message": "A" * 65536})}),
]


def check_corpus_size():
    kinds = {c[1] for c in CASES}
    assert kinds == {"file", "env", "wire"}, kinds
    return len(CASES)


class HostileCorpus(WithEvilServer, TwprovCase):

    def test_corpus_is_large_enough(self):
        self.assertGreaterEqual(check_corpus_size(), 60)
        self.assertEqual(len({c[0] for c in CASES}), len(CASES), "case names are unique")

    def prepare(self, name, setup):
        """The case's file (at FILE) and whatever it needs; returns FILE's path."""
        d = os.path.join(self.dir, f"case{abs(hash(name))}")
        os.makedirs(d)
        path = os.path.join(d, "twprov.yaml")
        data = setup.get("file", LIST)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        make = setup.get("make", "")
        what, _, where = make.partition(":")
        target = os.path.join(d, where) if where else path
        if what in ("fifo", "dir", "socket", "nothing", "fifo-link") and not where:
            os.unlink(path)
        if what == "fifo":
            os.mkfifo(target)
        elif what == "fifo-link":
            os.mkfifo(path + ".fifo")
            os.symlink(path + ".fifo", path)
        elif what == "dir":
            os.makedirs(target)
        elif what == "socket":
            s = socket.socket(socket.AF_UNIX)
            s.bind(target)
            self.addCleanup(s.close)
        elif what == "big":
            with open(target, "w") as f:
                f.write("Aa1" * 30000)
        elif what == "nul":
            with open(target, "wb") as f:
                f.write(b"Secret\0Pass-2024x")
        return path

    def shown_line(self, shown, want, path):
        """The line that holds the message, shortened for the table: FILE for the case's file,
        PORT for the server's, no more than 100 characters around the message."""
        line = next((ln for ln in shown.splitlines() if want in ln), want).strip()
        line = line.replace(os.path.dirname(path), "DIR").replace(self.evil.url, "http://127.0.0.1:PORT")
        line = line.replace("/2010-04-01/Accounts/" + self.evil.env()["TWILIO_ACCOUNT_SID"], "/2010-04-01/…")
        at = line.find(want[:20])
        return ("…" if at > 60 else "") + line[max(0, at - 60):at + 100] + ("…" if len(line) > at + 100 else "")

    def test_each_case(self):
        rows = []
        for name, kind, args, rc, want, setup in CASES:
            with self.subTest(case=name):
                self.evil.reset()
                path = self.prepare(name, setup)
                for coll, fields in [setup["seed"]] if "seed" in setup else []:
                    self.evil.seed(self.evil.acct(coll) if coll.startswith("/SIP") else coll, **fields)
                mode, opts = setup.get("evil", ("account", {}))
                self.evil.mode(mode, **opts)
                env = {**self.evil.env(), **(FAST if kind == "wire" else {}), **setup.get("env", {})}
                env = {k: (os.path.join(os.path.dirname(path), v[1:]) if isinstance(v, str) and v.startswith("@")
                           else v) for k, v in env.items()}
                argv = [a.replace("FILE", path).replace("DIR", os.path.dirname(path)) for a in args]
                t = time.monotonic()
                r = self.twprov(*argv, env=self.env(**env), timeout=120)
                took = time.monotonic() - t
                shown = r.out + r.err
                self.assertGreaterEqual(r.rc, 0, f"{name}: crashed\n{r}")
                self.assertEqual(r.rc, rc, f"{name}\n{r}")
                self.assertIn(want, shown, name)
                self.assertLess(took, 60, f"{name}: took {took:.0f} s")
                for bad in ("\x1b", "\x07", "\r", "\x7f", "\x9b", "\u202e", "\x00"):
                    self.assertNotIn(bad, shown, f"{name}: {bad!r} reached the terminal")
                for v in (*SECRETS.values(), AUTH_TOKEN, ESC_PW, BIG_PW[:64], "Url-5ecret-Pw", "Redir-5ecret",
                          "Secret\0Pass"):
                    self.assertNotIn(v, shown, f"{name}: a secret was printed")
                rows.append((name, kind, r.rc, self.shown_line(shown, want, path)))
        table = os.environ.get("TWPROV_CORPUS_TABLE")
        if table:
            with open(table, "w") as f:
                f.write("| case | input | exit | message |\n|---|---|---|---|\n")
                for name, kind, code, line in rows:
                    line = line.replace("|", "\\|")
                    f.write(f"| {name} | {kind} | {code} | `{line[:160]}` |\n")
