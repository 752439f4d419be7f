"""gen-phone-config, proven with real SIP software: Kamailio stands in for
Twilio (digest realm sip.twilio.com, users loaded from the test's file);
baresip registers from the generated accounts file, linphonec from the
generated Linphone XML, and SIPp from exactly the server, user and password
parsed back out of the Grandstream, Zoiper and Yealink files.  A wrong
password in the file makes every one of them fail: Kamailio rejects it."""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

from harness import BIN, SECRETS
from sip import Registrar, run_baresip, run_linphonec, run_sipp, tool

DOMAIN = "office-test.sip.twilio.com"
EDGE_HOST = "office-test.sip.ashburn.twilio.com"
USERS = {"alice": SECRETS["SIP_PW_ALICE"], "bob": SECRETS["SIP_PW_BOB"]}
WRONG = "Not-Alice-Pass-2024"

FILE = f"""\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: ${{env:SIP_PW_ALICE}}
        display_name: Alice Smith
        devices:
          - {{type: grandstream, mac: "00:0B:82:12:34:56"}}
          - {{type: zoiper}}
          - {{type: yealink, mac: 80-5e-c0-aa-bb-cc, transport: tcp}}
          - {{type: linphone}}
          - {{type: baresip}}
          - {{type: grandstream, mac: 000b82abcdef, encrypt_key: "${{env:GS_KEY}}"}}
      - username: bob
        password: ${{env:SIP_PW_BOB}}
        display_name: Bob & Co <Sales>
        devices:
          - {{type: baresip, transport: tcp, edge: ashburn}}
          - {{type: linphone, transport: tcp}}
          - {{type: zoiper, transport: tcp, edge: ashburn}}
          - {{type: grandstream}}
          - {{type: yealink, mac: 805ec0000001, expires: 1800}}
sip_domains:
  - domain_name: {DOMAIN}
    sip_registration: true
    auth:
      registrations:
        credential_lists: [office-phones]
"""

GS_KEY = "Provisioning-Key-42"
TRANSPORTS = {"0": "udp", "1": "tcp", "2": "tls"}


def split_hostport(s):
    host, _, port = s.partition(":")
    return host, int(port) if port else 5060


def parse_grandstream(path):
    root = ET.parse(path).getroot()
    assert root.tag == "gs_provision" and root.get("version") == "1", root.tag
    cfg = root.find("config")
    p = {c.tag: c.text or "" for c in cfg}
    assert p["P35"] == p["P36"], "user id and auth id differ"
    return {"server": p["P47"], "proxy": p["P48"], "user": p["P35"], "password": p["P34"],
            "transport": TRANSPORTS[p["P130"]], "expires": int(p["P32"]) * 60}


def parse_zoiper(path):
    acct = ET.parse(path).getroot().find("accounts/account")
    g = {c.tag: c.text or "" for c in acct}
    assert g["protocol"] == "sip"
    return {"server": g["SIP_domain"], "proxy": g["SIP_outbound_proxy"] if g["SIP_use_outbound_proxy"] == "true" else "",
            "user": g["username"], "password": g["password"], "transport": g["SIP_transport_type"],
            "expires": int(g["reregistration_time"])}


def parse_yealink(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "#!version:1.0.0.1", lines[0]
    kv = {}
    for line in lines[1:]:
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.partition(" = ")
        kv[k] = v
    a = "account.1."
    assert kv[a + "user_name"] == kv[a + "auth_name"]
    proxy = ""
    if kv[a + "outbound_proxy_enable"] == "1":
        proxy = f"{kv[a + 'outbound_proxy.1.address']}:{kv[a + 'outbound_proxy.1.port']}"
    return {"server": f"{kv[a + 'sip_server.1.address']}:{kv[a + 'sip_server.1.port']}", "proxy": proxy,
            "user": kv[a + "user_name"], "password": kv[a + "password"],
            "transport": TRANSPORTS[kv[a + "sip_server.1.transport_type"]],
            "expires": int(kv[a + "sip_server.1.expires"])}


class SipRegistration(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        for t in ("kamailio", "baresip", "linphonec", "sipp", "openssl"):
            tool(t)   # fails (never skips) when scripts/deps did not install it
        cls.kam = Registrar(USERS, [DOMAIN, EDGE_HOST])
        cls.kam.__enter__()
        cls._tmp = tempfile.TemporaryDirectory(prefix="twprov-sip-")
        cls.dir = cls._tmp.name
        cls.good = cls.generate("good")

    @classmethod
    def tearDownClass(cls):
        # the registrar's record of every attempt, for the test log
        for ev in cls.kam.events():
            print("kamailio:", *ev, file=sys.stderr)
        cls.kam.__exit__(None, None, None)
        cls._tmp.cleanup()

    @classmethod
    def env(cls, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cls.dir, "LC_ALL": "C", "GS_KEY": GS_KEY}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(SECRETS)
        env.update(extra)
        return env

    @classmethod
    def generate(cls, name, **env):
        """Write the file and run gen-phone-config into DIR/name; the output directory."""
        path = os.path.join(cls.dir, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(textwrap.dedent(FILE))
        out = os.path.join(cls.dir, name)
        p = subprocess.run([BIN, "gen-phone-config", "-f", path, "-o", out, "--outbound-proxy", cls.kam.address],
                           env=cls.env(**env), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        for v in list(SECRETS.values()) + [WRONG, GS_KEY]:
            assert v not in p.stdout + p.stderr, "a secret was printed"
        return out

    def assertRegistered(self, mark, user, domain, proto):
        ev = self.kam.since(mark)
        self.assertIn(("REGISTERED", user, domain, proto), ev, f"kamailio saw: {ev}\n{self.kam.log()[-3000:]}")
        self.assertFalse([e for e in ev if e[0] == "REJECTED"], ev)

    def assertRejected(self, mark, user, domain):
        ev = self.kam.since(mark)
        self.assertTrue([e for e in ev if e[:3] == ("REJECTED", user, domain)], f"kamailio saw: {ev}")
        self.assertFalse([e for e in ev if e[0] == "REGISTERED"], f"registered with a wrong password: {ev}")

    # ---- clients reading the generated files themselves --------------------------

    def test_baresip_registers_from_generated_accounts(self):
        for user, host, proto in (("alice", DOMAIN, "udp"), ("bob", EDGE_HOST, "tcp")):
            with self.subTest(user=user):
                path = os.path.join(self.good, user, "accounts")
                mark = self.kam.mark()
                out = run_baresip(path)
                self.assertRegex(out, rf"{user}@{re.escape(host)}: \{{0/{proto.upper()}/v4\}} 200 OK", out)
                self.assertRegistered(mark, user, host, proto)

    def test_linphonec_registers_from_generated_xml(self):
        for user, proto in (("alice", "udp"), ("bob", "tcp")):
            with self.subTest(user=user):
                mark = self.kam.mark()
                out = run_linphonec(os.path.join(self.good, user, "linphone.xml"))
                self.assertIn(f"registered, identity=", out, out[-3000:])
                self.assertIn(f"<sip:{user}@{DOMAIN}>", out)
                self.assertRegistered(mark, user, DOMAIN, proto)

    # ---- files of phones we cannot run: parse back, register with SIPp -----------

    def files_to_parse(self, root):
        return [
            ("grandstream", parse_grandstream, os.path.join(root, "cfg000b82123456.xml"), "alice", DOMAIN, "udp"),
            ("grandstream", parse_grandstream, os.path.join(root, "cfg.xml"), "bob", DOMAIN, "udp"),
            ("zoiper", parse_zoiper, os.path.join(root, "alice", "Config.xml"), "alice", DOMAIN, "udp"),
            ("zoiper", parse_zoiper, os.path.join(root, "bob", "Config.xml"), "bob", EDGE_HOST, "tcp"),
            ("yealink", parse_yealink, os.path.join(root, "805ec0aabbcc.cfg"), "alice", DOMAIN, "tcp"),
            ("yealink", parse_yealink, os.path.join(root, "805ec0000001.cfg"), "bob", DOMAIN, "udp"),
        ]

    def register_parsed(self, acct):
        host, port = split_hostport(acct["server"])
        self.assertEqual(port, 5060)
        self.assertEqual(acct["proxy"], self.kam.address, "the outbound proxy is not the one asked for")
        return run_sipp(host, acct["proxy"], acct["user"], acct["password"], acct["transport"], acct["expires"])

    def test_parsed_files_register_with_sipp(self):
        for vendor, parse, path, user, host, proto in self.files_to_parse(self.good):
            with self.subTest(vendor=vendor, user=user):
                acct = parse(path)
                self.assertEqual((acct["user"], acct["transport"]), (user, proto))
                self.assertEqual(split_hostport(acct["server"])[0], host)
                mark = self.kam.mark()
                rc, out = self.register_parsed(acct)
                self.assertEqual(rc, 0, out[-3000:])
                self.assertRegistered(mark, user, host, proto)
        self.assertEqual(parse_yealink(os.path.join(self.good, "805ec0000001.cfg"))["expires"], 1800)
        self.assertEqual(parse_grandstream(os.path.join(self.good, "cfg.xml"))["expires"], 3600)

    def test_encrypted_grandstream_file_decrypts_with_openssl_and_registers(self):
        enc = os.path.join(self.good, "cfg000b82abcdef.xml")
        with open(enc, "rb") as f:
            self.assertEqual(f.read(8), b"Salted__")
        dec = os.path.join(self.dir, "decrypted.xml")
        p = subprocess.run([tool("openssl"), "enc", "-d", "-aes-256-cbc", "-md", "md5", "-pass", "env:GS_KEY",
                            "-in", enc, "-out", dec], env={"GS_KEY": GS_KEY, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        acct = parse_grandstream(dec)
        self.assertEqual(acct["user"], "alice")
        mark = self.kam.mark()
        rc, out = self.register_parsed(acct)
        self.assertEqual(rc, 0, out[-3000:])
        self.assertRegistered(mark, "alice", DOMAIN, "udp")
        # the wrong key does not open it
        p = subprocess.run([tool("openssl"), "enc", "-d", "-aes-256-cbc", "-md", "md5", "-pass", "pass:Wrong-Key-1",
                            "-in", enc], capture_output=True, timeout=30)
        self.assertFalse(p.returncode == 0 and b"<gs_provision" in p.stdout)

    # ---- a wrong password in the file: every client is rejected ------------------

    def test_wrong_password_in_the_file_is_rejected_by_kamailio(self):
        bad = self.generate("wrong", SIP_PW_ALICE=WRONG)
        checks = 0
        with self.subTest(client="baresip"):
            mark = self.kam.mark()
            out = run_baresip(os.path.join(bad, "alice", "accounts"))
            self.assertNotIn("200 OK", out)
            self.assertRegex(out, r"401 Unauthorized")
            self.assertRejected(mark, "alice", DOMAIN)
            checks += 1
        with self.subTest(client="linphonec"):
            mark = self.kam.mark()
            out = run_linphonec(os.path.join(bad, "alice", "linphone.xml"))
            self.assertNotIn("registered, identity=", out)
            self.assertRejected(mark, "alice", DOMAIN)
            checks += 1
        for vendor, parse, path, user, host, proto in self.files_to_parse(bad):
            if user != "alice":
                continue
            with self.subTest(client="sipp", vendor=vendor):
                acct = parse(path)
                self.assertEqual(acct["password"], WRONG)
                mark = self.kam.mark()
                rc, out = self.register_parsed(acct)
                self.assertNotEqual(rc, 0, out[-3000:])
                self.assertRejected(mark, "alice", host)
                checks += 1
        self.assertEqual(checks, 5)
        # and bob, whose password is right in the same file, still registers
        mark = self.kam.mark()
        rc, out = self.register_parsed(parse_grandstream(os.path.join(bad, "cfg.xml")))
        self.assertEqual(rc, 0, out[-3000:])
        self.assertRegistered(mark, "bob", DOMAIN, "udp")


if __name__ == "__main__":
    unittest.main()
