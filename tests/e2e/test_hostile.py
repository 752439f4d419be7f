"""Trust nothing from the wire or the environment (issue 11): hostile servers
(tests/evil/evil_server.py), terminals and inputs.  One test class per case of
the issue; the data-driven corpus of hostile inputs is test_hostile_corpus.py."""

import os
import sys
import time

from harness import NO_LAG, OFFICE, SOURCE_DIR, TwprovCase

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "evil"))
from evil_server import EvilServer  # noqa: E402


class BadOptions(TwprovCase):
    """Case 10: a misspelled command option is named, as global options are."""

    def test_every_command_names_the_option(self):
        for cmd, bad, want in (
                (("apply",), "--auto-aprove", "unknown option: --auto-aprove (did you mean --auto-approve?)"),
                (("plan",), "--detailed-exticode", "unknown option: --detailed-exticode (did you mean --detailed-exitcode?)"),
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


class EvilCase(TwprovCase):
    """Tests against the evil server (tests/evil), one per class, reset before each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.evil = EvilServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.evil.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.evil.reset()

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
