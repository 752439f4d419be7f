"""Trust nothing from the wire or the environment (issue 11): hostile servers
(tests/evil/evil_server.py), terminals and inputs.  One test class per case of
the issue; the data-driven corpus of hostile inputs is test_hostile_corpus.py."""

import os
import signal
import subprocess
import time

from harness import BIN, NO_LAG, OFFICE, TwprovCase, WithEvilServer
from evil_server import MISSING  # noqa: E402,I001 (harness puts tests/evil on the path)


class BadOptions(TwprovCase):
    """Case 10: a misspelled command option is named, as global options are."""

    def test_every_command_names_the_option(self):
        for cmd, bad, want in (
                (("apply",), "--auto-aprove", "unknown option: --auto-aprove (did you mean --auto-approve?)"),
                (("plan",), "--detailed-exticode",
                 "unknown option: --detailed-exticode (did you mean --detailed-exitcode?)"),
                (("validate",), "--jsno", "unknown option: --jsno (did you mean --json?)"),
                (("gen-phone-config",), "--encrypt-kye", "unknown option: --encrypt-kye (did you mean --encrypt-key?)"),
                (("remove-credential", "bob"), "--dry-rn", "unknown option: --dry-rn (did you mean --dry-run?)"),
                (("plan",), "-x", "unknown option: -x"),
                (("plan",), "-vx", "unknown option: -x"),
                (("apply",), "--target", "option --target needs a value"),
                (("validate",), "--json=yes", "option --json takes no value"),
                ((), "--bogus", "unknown option: --bogus"),
                ((), "-f", "option -f needs a value")):
            with self.subTest(cmd=cmd, bad=bad):
                r = self.twprov(*cmd, bad)
                self.assertEqual(r.rc, 64, r)
                self.assertIn(f"error: {want}\n", r.err)
                self.assertIn(f"usage: twprov {cmd[0] + ' ' if cmd else ''}", r.err)
        # nothing was read, nothing was sent
        self.assertEqual(self.log(), [])

    def test_options_still_work(self):
        path = self.write(OFFICE)
        self.ok("validate", "-f", path, "--json")
        self.ok("plan", "-vf", path)


class NonRegularFiles(TwprovCase):
    """Case 8: a FIFO (or a device, a socket, a directory) as -f, ${file:...}, --cacert or a
    function's source is refused at once: only regular files are read."""

    def fifo(self, name="fifo"):
        path = os.path.join(self.dir, name)
        os.mkfifo(path)
        return path

    def refused(self, *args, rc=3, want, **kw):
        t = time.monotonic()
        r = self.twprov(*args, timeout=30, **kw)
        self.assertLess(time.monotonic() - t, 20, "twprov waited on a FIFO")
        self.assertEqual(r.rc, rc, r)
        self.assertIn(want, r.err)
        return r

    def test_fifo_as_the_file(self):
        fifo = self.fifo()
        for cmd in (("validate",), ("plan",), ("apply", "--auto-approve"), ("gen-phone-config",),
                    ("remove-credential", "bob", "--auto-approve")):
            with self.subTest(cmd=cmd[0]):
                self.refused(*cmd, "-f", fifo, want=f"error: cannot read {fifo}: not a regular file (a FIFO)")
        self.refused("validate", "-f", "/dev/zero", want="not a regular file (a character device)")
        self.assertEqual(self.log(), [])

    def test_fifo_as_a_secret_file(self):
        self.fifo("pw")
        path = self.write(OFFICE.replace("${env:SIP_PW_ALICE}", "${file:pw}"))
        for cmd in (("validate",), ("apply", "--auto-approve")):
            with self.subTest(cmd=cmd[0]):
                self.refused(*cmd, "-f", path, want='password: cannot read "pw": not a regular file (a FIFO)')
        self.refused("gen-phone-config", "-f", path, "--encrypt-key", "${file:pw}", rc=64,
                     want='--encrypt-key: cannot read "pw": not a regular file (a FIFO)')
        self.assertEqual(self.log(), [])

    def test_fifo_as_a_function_source(self):
        self.fifo("code.js")
        path = self.write("""\
            twprov: 1
            services:
              - unique_name: fifo-svc
                functions:
                  - {path: /x, source: code.js}
                environments:
                  - name: production
            """)
        self.refused("validate", "-f", path, want="not a regular file (a FIFO)")

    def test_fifo_as_the_ca_bundle(self):
        fifo = self.fifo("ca.pem")
        path = self.write(OFFICE)
        self.refused("plan", "-f", path, "--cacert", fifo, rc=64,
                     want=f"error: --cacert {fifo}: not a regular file (a FIFO)")
        self.refused("plan", "-f", path, rc=1, env=self.env(CURL_CA_BUNDLE=fifo),
                     want=f"error: CURL_CA_BUNDLE {fifo}: not a regular file (a FIFO)")
        self.assertEqual(self.log(), [])


class EvilCase(WithEvilServer, TwprovCase):
    """Tests against the evil server (tests/evil) instead of the fake."""

    def env(self, **extra):
        return super().env(**{**self.evil.env(), **extra})

    def assertShownSafely(self, *texts):
        """No byte a terminal would act on: C0 controls but newline, DEL, C1, bidi overrides."""
        for t in texts:
            for bad in ("\x1b", "\x07", "\r", "\x7f", "\x9b", "\u202e", "\u2066", "\x00"):
                self.assertNotIn(bad, t, f"{bad!r} reached the terminal:\n{t}")


EVIL_NAME = "evil\x1b[2J\nfake: line"
EVIL_URL = "https://example.twil.io/x\x1b]0;pwned\x07"
INJECT = """\
twprov: 1
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
sip_domains:
  - domain_name: office-test.sip.twilio.com
    voice_url: https://example.twil.io/sip-outbound
"""


class TerminalInjection(EvilCase):
    """Case 1: names and values read from the account (or the file) are escaped when printed as
    text, the way git quotes odd paths; --json stays exact."""

    def seed(self):
        self.acl = self.evil.seed(self.evil.acct("/SIP/IpAccessControlLists.json"), friendly_name=EVIL_NAME)
        self.evil.seed(self.evil.acct("/SIP/IpAccessControlLists.json"), friendly_name="rtl\u202eexe.txt\u009b2J")
        self.dom = self.evil.seed(self.evil.acct("/SIP/Domains.json"), domain_name="office-test.sip.twilio.com",
                                  voice_url=EVIL_URL)

    def test_plan_text_escapes_live_names_and_values(self):
        self.seed()
        path = self.write(INJECT)
        r = self.ok("plan", "-f", path)
        self.assertShownSafely(r.out, r.err)
        self.assertIn(f'    "ip_access_control_lists/evil\\033[2J\\nfake: line" ({self.acl["sid"]})\n', r.out)
        self.assertIn('    "ip_access_control_lists/rtl\\342\\200\\256exe.txt\\302\\2332J" (', r.out)
        self.assertIn('~ voice_url = "https://example.twil.io/x\\033]0;pwned\\a" -> '
                      '"https://example.twil.io/sip-outbound"\n', r.out)
        # no forged line: every line of the plan is one twprov wrote
        self.assertFalse([ln for ln in r.out.splitlines() if ln.startswith("fake:")], r.out)

    def test_json_stays_exact(self):
        self.seed()
        plan = self.plan_json(self.write(INJECT))
        names = {u["name"] for u in plan["unmanaged"]}
        self.assertIn(EVIL_NAME, names)
        self.assertIn("rtl\u202eexe.txt\u009b2J", names)
        change = [c for c in plan["changes"] if c["kind"] == "sip_domains"][0]
        self.assertEqual(change["fields"]["voice_url"]["before"], EVIL_URL)

    def test_apply_progress_and_errors_escape(self):
        self.seed()
        path = self.write(INJECT)
        self.evil.mode("fail", message="refused\x1b[2J\nerror: forged \x9b31m", more_info="https://x\x1b[0m")
        r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG)
        self.assertEqual(r.rc, 1, r)
        self.assertShownSafely(r.out, r.err)
        self.assertIn("21999: refused", r.err)
        self.assertNotIn("\nerror: forged", r.err)
        self.assertIn('"ip_access_control_lists/evil\\033[2J\\nfake: line"', r.out)

    def test_remove_credential_escapes_live_lists(self):
        cl = self.evil.seed(self.evil.acct("/SIP/CredentialLists.json"), friendly_name="ops\x1b]8;;https://evil\x07")
        self.evil.seed(self.evil.acct(f"/SIP/CredentialLists/{cl['sid']}/Credentials.json"), username="bob")
        path = self.write(OFFICE)
        r = self.twprov("remove-credential", "bob", "--all-lists", "--dry-run", "-f", path)
        self.assertEqual(r.rc, 0, r)
        self.assertShownSafely(r.out, r.err)
        self.assertIn('"credential_lists/ops\\033]8;;https://evil\\a/credentials/bob"', r.out)


class CleartextCredentials(EvilCase):
    """Case 2: plain http only to loopback addresses; a user name or password in TWPROV_API_URL is
    refused and never printed."""

    def test_plain_http_elsewhere_is_refused_before_anything_is_sent(self):
        path = self.write(OFFICE)
        for url, host in (("http://192.0.2.1:8080", "192.0.2.1"), ("http://api.example.invalid", "api.example.invalid"),
                          ("http://127.0.0.1.nip.io:8080", "127.0.0.1.nip.io"), ("http://10.1.2.3", "10.1.2.3")):
            with self.subTest(url=url):
                t = time.monotonic()
                r = self.twprov("-v", "plan", "-f", path, env=self.env(TWPROV_API_URL=url))
                self.assertLess(time.monotonic() - t, 8, "twprov tried to connect")
                self.assertEqual(r.rc, 1, r)
                self.assertIn(f"error: TWPROV_API_URL: plain http is only allowed to a loopback address "
                              f"(127.0.0.1, ::1, localhost), not {host}: the credentials would cross the network "
                              f"in clear text; use https\n", r.err)
                self.assertNotIn("> GET", r.err)

    def test_loopback_http_works(self):
        path = self.write(OFFICE)
        port = self.evil.url.rsplit(":", 1)[1]
        for url in (self.evil.url, f"http://localhost:{port}/", f"http://2130706433:{port}"):
            with self.subTest(url=url):
                self.ok("plan", "-f", path, env=self.env(TWPROV_API_URL=url))

    def test_userinfo_is_refused_and_never_printed(self):
        path = self.write(OFFICE)
        host = self.evil.url.split("//", 1)[1]
        for url in (f"http://gw-user:UserInfo-5ecret-77@{host}", f"https://gw-user:UserInfo-5ecret-77@{host}/base",
                    f"http://UserInfo-5ecret-77@{host}"):
            with self.subTest(url=url):
                r = self.twprov("-v", "-v", "apply", "-f", path, "--auto-approve", env=self.env(TWPROV_API_URL=url))
                self.assertEqual(r.rc, 1, r)
                self.assertIn("error: TWPROV_API_URL: a user name or password in the URL is not allowed (not shown "
                              "here)", r.err)
                self.assertNotIn("UserInfo-5ecret-77", r.out + r.err)
                self.assertNotIn("gw-user", r.out + r.err)
        self.assertEqual(self.evil.requests(), [])

    def test_other_bad_urls(self):
        path = self.write(OFFICE)
        for url, want in (("ftp://127.0.0.1/", "expected an http or https URL, not ftp"),
                          (f"{self.evil.url}/?x=1", "a base URL has no query or fragment"),
                          ("not a url", 'not a URL: "not a url"')):
            with self.subTest(url=url):
                r = self.twprov("plan", "-f", path, env=self.env(TWPROV_API_URL=url))
                self.assertEqual(r.rc, 1, r)
                self.assertIn(f"error: TWPROV_API_URL: {want}", r.err)
        self.assertEqual(self.evil.requests(), [])


class RegionAndEdge(EvilCase):
    """Case 7: TWILIO_REGION and TWILIO_EDGE are host name labels, checked as account.region and
    account.edge are; the error names the variable."""

    def test_bad_values_are_refused(self):
        path = self.write(OFFICE)
        port = self.evil.url.rsplit(":", 1)[1]
        for var, value, what in (("TWILIO_REGION", f"x@127.0.0.1:{port}/y", "a region"),
                                 ("TWILIO_EDGE", f"x@127.0.0.1:{port}/y", "an edge"),
                                 ("TWILIO_REGION", "US1", "a region"),
                                 ("TWILIO_EDGE", "sydney\n", "an edge"),
                                 ("TWILIO_EDGE", "a.b", "an edge")):
            with self.subTest(var=var, value=value):
                # without TWPROV_API_URL: the value would pick the host
                r = self.twprov("-v", "plan", "-f", path, env=self.env(TWPROV_API_URL=None, **{var: value}))
                self.assertEqual(r.rc, 1, r)
                shown = value.replace("\n", "\\n")
                self.assertIn(f'error: {var}: not {what} name: "{shown}" (lower-case letters, digits and \'-\')\n',
                              r.err)
                self.assertNotIn("> GET", r.err)
        self.assertEqual(self.evil.requests(), [])

    def test_good_values_and_the_file_wins(self):
        path = self.write(OFFICE)
        self.ok("plan", "-f", path, env=self.env(TWILIO_REGION="au1", TWILIO_EDGE="sydney"))
        # the file's account.region is used (and was checked when loaded): the variable is not
        path = self.write("twprov: 1\naccount: {region: ie1, edge: dublin}\n" + OFFICE.split("\n", 1)[1])
        self.ok("plan", "-f", path, env=self.env(TWILIO_REGION="x@y", TWILIO_EDGE="x/y"))


# SIDs a hostile or broken server may answer, and how the message shows them
BAD_SIDS = (
    (MISSING, "nothing"),
    (None, "null"),
    ("", '""'),
    (42, "42"),
    ({"x": 1}, "an object"),
    ("CL123", '"CL123"'),
    ("XX" + "0" * 32, '"XX00000000000000000000000000000000"'),
    ("CL" + "0" * 30 + "/..", '"CL000000000000000000000000000000/.."'),
    ("CL" + "g" * 32, '"CLgggggggggggggggggggggggggggggggg"'),
    ("CL" + "0" * 32 + "\x1b[2J", '"CL00000000000000000000000000000000\\033[2J"'),
)

SVC = """\
twprov: 1
services:
  - unique_name: evil-svc
    functions:
      - {path: /x, content: "exports.handler = (c, e, cb) => cb(null, 'ok');"}
    environments:
      - name: production
"""


class BadSids(EvilCase):
    """Case 4: every SID read from an answer matches its kind's prefix and Twilio's pattern, or
    the operation fails with a message naming the resource and what came back; nothing is ever
    sent with an empty or malformed SID."""

    def assertNothingSentWrong(self):
        self.assertEqual(self.evil.bad_paths(), [], "a request was sent with a malformed SID")

    def seed_office(self):
        cl = self.evil.seed(self.evil.acct("/SIP/CredentialLists.json"), friendly_name="office-phones")
        creds = self.evil.acct(f"/SIP/CredentialLists/{cl['sid']}/Credentials.json")
        self.evil.seed(creds, username="alice")
        self.evil.seed(creds, username="mallory")      # undeclared: apply would delete it
        return creds

    def test_live_items(self):
        creds = self.seed_office()
        path = self.write(OFFICE)
        for sid, shown in BAD_SIDS:
            with self.subTest(sid=sid):
                self.evil.log.clear()
                self.evil.mode("bad_sid", sid=sid, where="list", collection="Credentials.json")
                r = self.twprov("apply", "-f", path, "--auto-approve", "--sync-passwords", *NO_LAG)
                self.assertEqual(r.rc, 1, r)
                self.assertIn("error: reading credentials of credential_lists/office-phones: item ", r.err)
                self.assertIn(f": no valid SID: got {shown} (expected CR and 32 hex digits)\n", r.err)
                self.assertNotIn("Apply complete", r.out)
                self.assertEqual(self.evil.requests("POST") + self.evil.requests("DELETE"), [])
                self.assertNothingSentWrong()
        self.assertEqual(len(self.evil.store[creds]), 2)

    def test_top_level_items_and_remove_credential(self):
        self.seed_office()
        path = self.write(OFFICE)
        self.evil.mode("bad_sid", sid=None, where="list", collection="CredentialLists.json")
        r = self.twprov("plan", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn('error: reading credential_lists: item "office-phones": no valid SID: got null '
                      '(expected CL and 32 hex digits)\n', r.err)
        self.evil.mode("bad_sid", sid="", where="list", collection="Credentials.json")
        r = self.twprov("remove-credential", "alice", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn('no valid SID: got "" (expected CR and 32 hex digits)', r.err)
        self.assertEqual(self.evil.requests("DELETE"), [])
        self.assertNothingSentWrong()

    def test_create_answers(self):
        path = self.write(OFFICE)
        for sid, shown in BAD_SIDS:
            with self.subTest(sid=sid):
                self.evil.reset()
                self.evil.mode("bad_sid", sid=sid, where="create", collection="CredentialLists.json")
                r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG)
                self.assertEqual(r.rc, 1, r)
                self.assertIn(f"+ credential_lists/office-phones: create failed: Twilio's answer to the create: "
                              f"no valid SID: got {shown} (expected CL and 32 hex digits)\n", r.err)
                self.assertNotIn("Apply complete", r.out)
                # nothing under the list (its credentials, the domain's mappings) was sent
                self.assertFalse([e for e in self.evil.requests("POST") if "/CredentialLists/" in e["path"] or
                                  "CredentialListMappings" in e["path"]])
                self.assertNothingSentWrong()

    def test_serverless_answers(self):
        path = self.write(SVC)
        env = self.env(TWPROV_BUILD_POLL_MS="10")
        for coll, prefix, verb in (("Versions", "ZN", "upload"), ("Builds", "ZB", "build"),
                                   ("Deployments", "ZD", "deploy")):
            with self.subTest(coll=coll):
                self.evil.reset()
                self.evil.mode("bad_sid", sid="../../Environments", where="create", collection=coll)
                r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG, env=env)
                self.assertEqual(r.rc, 1, r)
                self.assertIn(f"{verb} failed: Twilio's answer: no valid SID: got \"../../Environments\" "
                              f"(expected {prefix} and 32 hex digits)\n", r.err)
                self.assertNothingSentWrong()

    def test_serverless_live_build(self):
        svc = self.evil.seed("/v1/Services", unique_name="evil-svc")
        self.evil.seed(f"/v1/Services/{svc['sid']}/Environments", unique_name="production",
                       build_sid="ZB/../../../Services")
        r = self.twprov("plan", "-f", self.write(SVC))
        self.assertEqual(r.rc, 1, r)
        self.assertIn('error: reading details of services/evil-svc/environments/production: build_sid: no valid SID: '
                      'got "ZB/../../../Services" (expected ZB and 32 hex digits)\n', r.err)
        self.assertNothingSentWrong()


class EndlessPagination(EvilCase):
    """Case 5: a cycle of next-page links, or pages that never end, stop the read with a message
    naming the collection; the requests are bounded."""

    def run_plan(self, text):
        t = time.monotonic()
        r = self.twprov("plan", "-f", self.write(text), timeout=120)
        self.assertLess(time.monotonic() - t, 60)
        self.assertEqual(r.rc, 1, r)
        return r

    def test_cycle_between_two_pages(self):
        coll = self.evil.acct("/SIP/CredentialLists.json")
        self.evil.mode("page_cycle", collection="CredentialLists.json")
        r = self.run_plan(OFFICE)
        # the first page (PageSize=1000), then Page=1 and Page=0, which links to Page=1 again
        self.assertIn(f"error: reading credential_lists: list {coll}: page 3 links back to page 2: the server's "
                      "next-page links go round in a circle\n", r.err)
        self.assertEqual(len([e for e in self.evil.requests() if e["path"] == coll]), 3)

    def test_cycle_in_a_v1_list(self):
        self.evil.mode("page_cycle", collection="ByocTrunks")
        r = self.run_plan("twprov: 1\nbyoc_trunks: []\n")
        self.assertIn("error: reading byoc_trunks: list /v1/ByocTrunks: page 3 links back to page 2: the server's "
                      "next-page links go round in a circle\n", r.err)

    def test_pages_that_never_end(self):
        coll = self.evil.acct("/SIP/CredentialLists.json")
        self.evil.mode("page_endless", collection="CredentialLists.json")
        r = self.run_plan(OFFICE)
        self.assertIn(f"error: reading credential_lists: list {coll}: more than 1000 pages (0 items so far): the "
                      "server's pages do not end\n", r.err)
        self.assertEqual(len([e for e in self.evil.requests() if e["path"] == coll]), 1000)


class SilentServer(EvilCase):
    """Case 6: a server that accepts and never answers (or answers too slowly) holds twprov less
    than a minute with the defaults; the message names the host and what was awaited; a 3xx
    answer says where it pointed.  TWPROV_TIMEOUT_MS (per attempt) still works."""

    def host(self):
        return self.evil.url.split("//", 1)[1]

    def fails(self, *args, within, said, env=None):
        """twprov ARGS exits 1 within `within` seconds, its errors matching `said`."""
        t = time.monotonic()
        r = self.twprov(*args, env=env, timeout=300)
        self.assertLess(time.monotonic() - t, within, r)
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, said)
        return r

    def test_default_worst_case_is_under_a_minute(self):
        self.evil.mode("silent")
        r = self.fails("plan", "-f", self.write(OFFICE), within=60,
                       said=r"error: reading \w+: gave up after 3 attempts in 4\d\.\d s \(the deadline of a request, "
                            r"TWPROV_DEADLINE_MS\): GET http://")
        # each attempt stalls 15 s, the last one less (the deadline cuts it)
        self.assertRegex(r.err, rf": no answer from {self.host()} within 1\d\.\d s \(the request was sent; twprov "
                                r"waited for the response\)\n")

    def test_deadline_and_stall_can_be_set(self):
        self.evil.mode("silent")
        self.fails("apply", "-f", self.write(OFFICE), "--auto-approve", within=10,
                   env=self.env(TWPROV_STALL_MS="1000", TWPROV_DEADLINE_MS="3000"),
                   said=rf": no answer from {self.host()} within [01]\.\d s \(the request was sent; twprov waited "
                        r"for the response\)\n")

    def test_an_answer_that_stalls(self):
        self.evil.mode("drip", drip_s=3)
        self.fails("plan", "-f", self.write(OFFICE), within=10,
                   env=self.env(TWPROV_STALL_MS="1000", TWPROV_DEADLINE_MS="3000"),
                   said=rf": the answer from {self.host()} did not finish within [01]\.\d s \(HTTP 200, 0 bytes of "
                        r"its body came\)\n")

    def test_timeout_per_attempt_still_works(self):
        # a byte every 0.2 s never stalls, but the attempt is over after TWPROV_TIMEOUT_MS
        self.evil.mode("drip", drip_s=0.2)
        self.fails("plan", "-f", self.write(OFFICE), within=10,
                   env=self.env(TWPROV_TIMEOUT_MS="1500", TWPROV_MAX_RETRIES="1"),
                   said=rf"gave up after 2 attempts: GET http://[^ ]+: the answer from {self.host()} did not finish "
                        r"within 1\.5 s \(HTTP 200, \d+ bytes of its body came\)\n")

    def test_a_silent_create(self):
        self.evil.mode("silent", methods=("POST",))
        self.fails("apply", "-f", self.write(OFFICE), "--auto-approve", *NO_LAG, within=30,
                   env=self.env(TWPROV_STALL_MS="1000", TWPROV_DEADLINE_MS="2000", TWPROV_MAX_RETRIES="1"),
                   said=rf"\+ \w+/[\w.-]+: create failed: (create did not complete after 2 attempts|the create may or "
                        r"may not have happened \(the next apply looks for it before creating it\)): "
                        r"POST http://[^ ]+: "
                        rf"no answer from {self.host()} within \d\.\d s \(the request was sent; twprov waited for the "
                        r"response\) \(the request may have been processed\)\n")

    def test_redirect_says_where_and_is_not_followed(self):
        self.evil.mode("redirect", location="https://user:Redirect-5ecret@evil.example/steal?x=1")
        r = self.twprov("plan", "-f", self.write(OFFICE))
        self.assertEqual(r.rc, 1, r)
        self.assertIn('HTTP 301: the server redirects to "https://evil.example/steal?x=1"; twprov follows no '
                      'redirect (is TWPROV_API_URL, TWILIO_REGION or TWILIO_EDGE right?)\n', r.err)
        self.assertNotIn("Redirect-5ecret", r.err)
        self.evil.mode("redirect", location="\x1b[2Jnot a url")
        r = self.twprov("plan", "-f", self.write(OFFICE))
        self.assertIn("HTTP 301: the server redirects to an address that is not a URL;", r.err)


PHONES = """\
twprov: 1
credential_lists:
  - name: office
    credentials:
      - username: alice
        password: ${env:SIP_PW_ALICE}
        devices:
          - {type: grandstream, mac: "000b82123456"}
          - {type: zoiper}
          - {type: baresip}
      - username: bob
        password: ${env:SIP_PW_BOB}
        devices: [{type: linphone}, {type: yealink, mac: "805ec0123456"}]
sip_domains:
  - domain_name: office.sip.twilio.com
    auth:
      registrations:
        credential_lists: [office]
"""
PHONE_FILES = ["cfg000b82123456.xml", "alice/Config.xml", "alice/accounts", "bob/linphone.xml", "805ec0123456.cfg"]


def strace(*inject):
    """twprov under strace, with faults injected into its renames (rename, renameat): the one
    way to fail the third of five renames, or to signal twprov at the moment a temporary file
    exists.  Not through TWPROV_WRAPPER: strace and valgrind do not nest."""
    return ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
            *(a for i in inject for a in ("-e", f"inject=rename,renameat,renameat2:{i}")), BIN]


class OutputFiles(TwprovCase):
    """Case 9: gen-phone-config says exactly which files it replaced when a rename fails, never
    writes through a symbolic link under the output directory; remove-credential's and
    gen-phone-config's temporary files are 0600 and removed when a signal ends twprov."""

    def run_traced(self, inject, *args, background=False):
        cmd = [*strace(*inject), *args]
        # LeakSanitizer cannot run under ptrace (an ASan build): its leak check is off for these
        asan = ":".join(o for o in (os.environ.get("ASAN_OPTIONS"), "detect_leaks=0") if o)
        env = self.env(ASAN_OPTIONS=asan)
        if background:
            return subprocess.Popen(cmd, env=env, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        return subprocess.run(cmd, env=env, cwd=self.dir, capture_output=True, text=True, timeout=120)

    def leftovers(self):
        return [os.path.join(r, f) for r, _, fs in os.walk(self.dir) for f in fs if ".twprov-" in f]

    def test_a_failed_rename_says_which_files_were_replaced(self):
        path = self.write(PHONES)
        r = self.run_traced(["error=EIO:when=3"], "gen-phone-config", "-f", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("error: cannot replace phone-config/alice/accounts: Input/output error\n"
                      "error: 2 of 5 files were replaced, the other 3 were not written:\n"
                      "  wrote phone-config/cfg000b82123456.xml (grandstream, alice@office.sip.twilio.com)\n"
                      "  wrote phone-config/alice/Config.xml (zoiper, alice@office.sip.twilio.com)\n"
                      "  not written: phone-config/alice/accounts (baresip, alice@office.sip.twilio.com)\n"
                      "  not written: phone-config/bob/linphone.xml (linphone, bob@office.sip.twilio.com)\n"
                      "  not written: phone-config/805ec0123456.cfg (yealink, bob@office.sip.twilio.com)\n",
                      r.stderr)
        self.assertNotIn("no file was written", r.stderr)
        out = os.path.join(self.dir, "phone-config")
        self.assertEqual([f for f in PHONE_FILES if os.path.exists(os.path.join(out, f))], PHONE_FILES[:2])
        self.assertEqual(self.leftovers(), [])

    def test_a_directory_in_the_way_writes_nothing(self):
        path = self.write(PHONES)
        os.makedirs(os.path.join(self.dir, "phone-config", "bob", "linphone.xml", "x"))
        r = self.twprov("gen-phone-config", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: cannot replace phone-config/bob/linphone.xml: it is a directory\n"
                      "error: no file was written\n", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "phone-config", "alice", "Config.xml")))
        self.assertEqual(self.leftovers(), [])

    def test_a_planted_symlink_is_not_followed(self):
        path = self.write(PHONES)
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.makedirs(elsewhere)
        os.makedirs(os.path.join(self.dir, "phone-config"))
        os.symlink(elsewhere, os.path.join(self.dir, "phone-config", "alice"))
        r = self.twprov("gen-phone-config", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: phone-config/alice is a symbolic link: twprov does not write through one (it could "
                      "lead out of phone-config)\nerror: no file was written\n", r.err)
        self.assertEqual(os.listdir(elsewhere), [])
        self.assertEqual(self.leftovers(), [])
        # a link as a target file is replaced, not written through
        os.unlink(os.path.join(self.dir, "phone-config", "alice"))
        victim = os.path.join(self.dir, "victim")
        with open(victim, "w") as f:
            f.write("untouched\n")
        os.symlink(victim, os.path.join(self.dir, "phone-config", "805ec0123456.cfg"))
        self.ok("gen-phone-config", "-f", path)
        with open(victim) as f:
            self.assertEqual(f.read(), "untouched\n")
        self.assertFalse(os.path.islink(os.path.join(self.dir, "phone-config", "805ec0123456.cfg")))

    def test_phone_temporary_files_are_0600_and_removed_on_signals(self):
        path = self.write(PHONES)
        os.umask(0o022)
        p = self.run_traced(["delay_enter=2000000:when=1"], "gen-phone-config", "-f", path, background=True)
        try:
            modes = {oct(os.stat(t).st_mode & 0o777) for t in self.wait_for_temporary(5)}
        finally:
            p.communicate(timeout=60)
        self.assertEqual(modes, {"0o600"})
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.leftovers(), [])
        for sig in ("SIGTERM", "SIGINT", "SIGHUP"):
            with self.subTest(sig=sig):
                r = self.run_traced([f"error=EIO:signal={sig}:when=1"], "gen-phone-config", "-f", path)
                self.assertEqual(r.returncode, -getattr(signal, sig), r.stderr)
                self.assertEqual(self.leftovers(), [])

    def wait_for_temporary(self, n):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = self.leftovers()
            if len(seen) >= n:
                return seen
            time.sleep(0.02)
        self.fail(f"no {n} temporary files appeared")

    def test_remove_credential_temporary_file(self):
        path = self.write(OFFICE.replace("${env:SIP_PW_BOB}", "Literal-Bob-Pass-2024"))
        os.chmod(path, 0o644)
        with open(path) as f:
            before = f.read()
        # while it exists it is 0600, though the file it replaces is 0644; then the file is 0644
        p = self.run_traced(["delay_enter=2000000:when=1"], "remove-credential", "bob", "-f", path,
                            "--auto-approve", background=True)
        try:
            seen = self.wait_for_temporary(1)
            self.assertEqual(oct(os.stat(seen[0]).st_mode & 0o777), "0o600")
        finally:
            p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o644")
        self.assertEqual(self.leftovers(), [])
        # a signal while it exists: removed; the file is as it was
        self.fake.reset()
        with open(path, "w") as f:
            f.write(before)
        for sig in ("SIGTERM", "SIGINT"):
            with self.subTest(sig=sig):
                self.ok("apply", "-f", path, "--auto-approve")
                r = self.run_traced([f"error=EIO:signal={sig}:when=1"], "remove-credential", "bob", "-f", path,
                                    "--auto-approve")
                self.assertEqual(r.returncode, -getattr(signal, sig), r.stderr)
                self.assertEqual(self.leftovers(), [])
                with open(path) as f:
                    self.assertEqual(f.read(), before)
