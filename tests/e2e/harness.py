"""Shared plumbing for the end-to-end tests: run the real twprov binary
against the fake Twilio (tests/fake_twilio) and inspect both."""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TWPROV_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TWPROV_BIN") or os.path.join(SOURCE_DIR, "build", "twprov")
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fake_twilio"))

# A command that runs twprov, e.g. TWPROV_WRAPPER="valgrind --error-exitcode=99 ...":
# every run of the binary goes through it (scripts/test runs the e2e suite
# under valgrind this way).  VALGRIND_RC is the exit code that wrapper uses
# for its own findings; a run that ends with it fails the test whatever the
# test expected.
WRAPPER = shlex.split(os.environ.get("TWPROV_WRAPPER", ""))
WRAPPED = bool(WRAPPER)
VALGRIND_RC = 99


# For tests whose fake drops answers but never lags: a create whose answer was
# lost is listed at once if it happened, so looking for it (and verifying the
# apply) need not wait apply's default 30 s before sending it again.
NO_LAG = ("--verify-timeout", "2")


def argv(*args):
    """The command line that runs twprov with these arguments (through TWPROV_WRAPPER)."""
    return [*WRAPPER, BIN, *args]

from fakeclient import FakeTwilio  # noqa: E402

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "evil"))
from evil_server import EvilServer  # noqa: E402

# Passwords the tests declare through ${env:...}; they must never be printed.
SECRETS = {
    "SIP_PW_ALICE": "Alice-Desk-Phone-2024",
    "SIP_PW_BOB": "Bob-Soft-Phone-2024",
    "SIP_PW_CAROL": "Carol-Mobile-2024x",
    "ASTERISK_TRUNK_PW": "Asterisk-Trunk-2024",
    "SIP_PW_HOME": "Home-Phone-Pass-2024",
    "SIP_PW_XLITE": "Xlite-Soft-Pass-2024",
    "SIP_PW_AGENT1": "Agent-One-Phone-2024",
    "SIP_PW_AGENT2": "Agent-Two-Phone-2024",
    "SIP_PW_FRONTDESK": "Front-Desk-Phone-2024",
    "SIP_PW_WAREHOUSE": "Warehouse-Phone-2024",
}


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"<rc={self.rc}\n--- stdout\n{self.out}\n--- stderr\n{self.err}>"


OFFICE = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: ${env:SIP_PW_ALICE}
      - username: bob
        password: ${env:SIP_PW_BOB}
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
      - {name: twilio-pops, ip: 54.172.60.0, cidr: 24}
sip_domains:
  - domain_name: office-test.sip.twilio.com
    friendly_name: Office
    voice_url: https://example.twil.io/sip-outbound
    voice_method: POST
    sip_registration: true
    auth:
      calls:
        credential_lists: [office-phones]
        ip_access_control_lists: [asterisk-pbx]
      registrations:
        credential_lists: [office-phones]
"""


# Every kind twprov manages, with every optional field a user would set.
EVERY_KIND = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - {username: alice, password: "${env:SIP_PW_ALICE}", caller_id: "+16505551111"}
      - {username: bob, password: "${env:SIP_PW_BOB}"}
  - name: asterisk-auth
    credentials:
      - {username: Admin, password: "${env:ASTERISK_TRUNK_PW}"}
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
      - {name: pops, ip: 54.172.60.0, cidr: 24}
applications:
  - name: inbound
    voice_url: https://example.twil.io/inbound
    voice_method: POST
    status_callback: https://example.twil.io/status
connection_policies:
  - name: carrier-x
    targets:
      - {name: sbc1, target: "sip:sbc1.carrier.example:5060", priority: 10, weight: 60}
      - {name: sbc2, target: "sip:sbc2.carrier.example:5060", priority: 20, weight: 40, enabled: false}
byoc_trunks:
  - name: carrier-x
    voice_url: {service: office-voice, path: /byoc-in}
    connection_policy: carrier-x
    from_domain: office-all.sip.twilio.com
sip_domains:
  - domain_name: office-all.sip.twilio.com
    friendly_name: Office
    sip_registration: true
    emergency_calling_enabled: false
    byoc_trunk: carrier-x
    auth:
      calls:
        credential_lists: [office-phones]
        ip_access_control_lists: [asterisk-pbx]
      registrations:
        credential_lists: [office-phones]
    outbound:
      service: office-voice
      default_caller_id: "+16505550000"
      allowed_destinations: ["+1"]
      country_code: "1"
sip_trunks:
  - domain_name: pbx-all.pstn.twilio.com
    name: asterisk
    recording_mode: record-from-ringing
    origination_urls:
      - {name: asterisk, sip_url: "sip:138.2.68.107:5060", priority: 10, weight: 10}
    credential_lists: [asterisk-auth]
    ip_access_control_lists: [asterisk-pbx]
phone_numbers:
  - number: "+16505550000"
    purchase: true
    friendly_name: Fax line
    voice_receive_mode: fax
    voice_url: {service: office-voice, path: /hello}
  - number: "+16505551111"
    friendly_name: Main line
    ring: [alice, bob]
  - number: "+19863334949"
    sip_trunk: pbx-all.pstn.twilio.com
  - number: "+16505552222"
    voice_application: inbound
    voice_receive_mode: voice
services:
  - unique_name: office-voice
    runtime: node22
    dependencies: {twilio: "5.3.0"}
    functions:
      - {path: /hello, content: "exports.handler = (c, e, cb) => cb(null, 'hello');\\n", visibility: public}
      - {path: /byoc-in, content: "exports.handler = (c, e, cb) => cb(null, 'in');\\n"}
    assets:
      - {path: /hold.mp3, content: "ID3 not really an mp3", visibility: public}
      - {path: /private.txt, content: "private", visibility: private}
    environments:
      - name: production
        domain_suffix: prod
        variables:
          GREETING: hello
          API_SECRET: "${env:SIP_PW_CAROL}"
"""
EVERY_KIND_OWNED = ["+16505551111", "+19863334949", "+16505552222"]


class TwprovCase(unittest.TestCase):
    """One fake Twilio per test class, reset before each test."""

    fake_options = {}
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeTwilio(**cls.fake_options)
        cls.fake.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.fake.__exit__(None, None, None)

    def setUp(self):
        self.fake.reset()
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def tearDown(self):
        self.assertEqual(self.fake.violations(), [], "twprov sent a request the OpenAPI spec forbids")

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "LC_ALL": "C"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "VALGRIND_OPTS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(self.fake.env())
        env.update(SECRETS)
        env["TWPROV_RETRY_BASE_MS"] = "20"
        env["TWPROV_RETRY_CAP_MS"] = "200"
        env.update({k: v for k, v in extra.items() if v is not None})
        for k in [k for k, v in extra.items() if v is None]:
            env.pop(k, None)
        return env

    def write(self, text, name="twprov.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def twprov(self, *args, env=None, input="", timeout=600):
        proc = subprocess.run(argv(*args), env=env or self.env(), input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.dir)
        r = Result(proc)
        self.assertWrapperClean(r.rc, r.err)
        return r

    def assertWrapperClean(self, rc, err=""):
        """Under TWPROV_WRAPPER (valgrind), its exit code means it found errors or leaks."""
        if WRAPPED:
            self.assertNotEqual(rc, VALGRIND_RC, f"{WRAPPER[0]} found errors or leaks:\n{err}")

    def wait_idle(self, timeout=60):
        """Wait until the fake has no API request in progress (for a while): requests a
        killed twprov had sent have then landed."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 5:
            self.assertLess(time.monotonic(), deadline, "the fake stayed busy")
            quiet = quiet + 1 if self.fake.stats()["in_flight"] == 0 else 0
            time.sleep(0.05)

    def run_on_tty(self, args, answer="", at_prompt=None, env=None, color=False):
        """Run twprov on a terminal (a pty); at the confirmation prompt call
        at_prompt(), then type `answer`.  Returns (exit code, everything shown)."""
        import pty
        import select
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.dir)
            cmd = argv(*([] if color else ["--no-color"]), *args)
            os.execvpe(cmd[0], cmd, env or self.env())
        out = b""
        sent = False
        while True:
            r, _, _ = select.select([fd], [], [], 60)
            if not r:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"Only 'yes' will be accepted:" in out:
                if at_prompt:
                    at_prompt()
                os.write(fd, answer.encode() + b"\n")
                sent = True
        _, status = os.waitpid(pid, 0)
        rc, text = os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r\n", "\n")
        self.assertWrapperClean(rc, text)
        return rc, text

    def ok(self, *args, rc=0, **kw):
        r = self.twprov(*args, **kw)
        self.assertEqual(r.rc, rc, r)
        return r

    def plan_json(self, path, *extra):
        r = self.twprov("plan", "-f", path, "--json", *extra)
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)

    def converge(self, path, *extra):
        """apply, then a plan with --detailed-exitcode must exit 0."""
        self.ok("apply", "-f", path, "--auto-approve", *extra)
        return self.ok("plan", "-f", path, "--detailed-exitcode")

    def assertNoSecrets(self, *texts):
        for t in texts:
            for name, value in SECRETS.items():
                self.assertNotIn(value, t, f"secret {name} leaked")
            self.assertNotIn(self.fake.auth_token, t, "auth token leaked")

    # --- views of the fake's state -------------------------------------------------

    def log(self, method=None):
        """API requests the fake received (optionally of one method)."""
        return [e for e in self.fake.log() if method is None or e["method"] == method]

    def credentials(self):
        """Every stored SIP credential with its password (the fake keeps them for tests)."""
        return self.fake.state()["credential"]

    # --- views of the account through the (fake) API itself ---------------------------

    def api(self, method, path, params=None):
        """An authenticated call to the fake's API; fails the test unless it succeeds."""
        status, body = self.fake.api(method, path, params)
        self.assertLess(status, 300, f"{method} {path}: {status} {body}")
        return body

    def acct(self, path):
        return f"/2010-04-01/Accounts/{self.fake.account_sid}{path}"

    def items(self, path, key):
        """Every item of a 2010 list, following next_page_uri."""
        out = []
        page = self.api("GET", self.acct(path), {"PageSize": "1000"})
        while True:
            out.extend(page[key])
            nxt = page.get("next_page_uri")
            if not nxt:
                return out
            page = self.api("GET", nxt)

    def by_name(self, path, key, name_field="friendly_name"):
        found = {}
        for it in self.items(path, key):
            found.setdefault(it[name_field], []).append(it)
        return found

    def snapshot(self):
        """The SIP core of the account as plain data, for comparisons."""
        snap = {"credential_lists": {}, "ip_access_control_lists": {}, "sip_domains": {}}
        for cl in self.items("/SIP/CredentialLists.json", "credential_lists"):
            creds = self.items(f"/SIP/CredentialLists/{cl['sid']}/Credentials.json", "credentials")
            snap["credential_lists"].setdefault(cl["friendly_name"], []).append(
                sorted(c["username"] for c in creds))
        for al in self.items("/SIP/IpAccessControlLists.json", "ip_access_control_lists"):
            ips = self.items(f"/SIP/IpAccessControlLists/{al['sid']}/IpAddresses.json", "ip_addresses")
            snap["ip_access_control_lists"].setdefault(al["friendly_name"], []).append(
                sorted((i["friendly_name"], i["ip_address"], int(i["cidr_prefix_length"])) for i in ips))
        names = {cl["sid"]: cl["friendly_name"] for cl in self.items("/SIP/CredentialLists.json", "credential_lists")}
        names.update({al["sid"]: al["friendly_name"]
                      for al in self.items("/SIP/IpAccessControlLists.json", "ip_access_control_lists")})
        for d in self.items("/SIP/Domains.json", "domains"):
            base = f"/SIP/Domains/{d['sid']}/Auth"
            maps = {
                "calls.credential_lists": self.items(f"{base}/Calls/CredentialListMappings.json", "contents"),
                "calls.ip_access_control_lists": self.items(f"{base}/Calls/IpAccessControlListMappings.json", "contents"),
                "registrations.credential_lists": self.items(f"{base}/Registrations/CredentialListMappings.json", "contents"),
            }
            snap["sip_domains"].setdefault(d["domain_name"], []).append({
                "voice_url": d["voice_url"], "sip_registration": d["sip_registration"],
                **{k: sorted(names.get(m["sid"], m["sid"]) for m in v) for k, v in maps.items()},
            })
        return snap


class WithEvilServer:
    """For a TwprovCase: tests/evil's hostile server too (self.evil), one per class, reset
    before each test."""

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
