"""twprov gen-phone-config: the files, their names and modes, the summary,
atomic replacement, errors that write nothing, encryption, and devices
leaving plan and apply alone."""

import json
import os
import stat
import subprocess
import xml.etree.ElementTree as ET

from harness import SECRETS, TwprovCase

FILE = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: ${env:SIP_PW_ALICE}
        display_name: Alice & <Smith>
        devices:
          - {type: grandstream, mac: "00:0B:82:12:34:56"}
          - {type: zoiper}
          - {type: yealink, mac: 805ec0aabbcc}
          - {type: linphone}
          - {type: baresip, edge: dublin}
      - username: bob
        password: ${env:SIP_PW_BOB}
sip_domains:
  - domain_name: office-test.sip.twilio.com
    sip_registration: true
    auth:
      registrations:
        credential_lists: [office-phones]
"""

EXPECTED = ["805ec0aabbcc.cfg", "alice/Config.xml", "alice/accounts", "alice/linphone.xml", "cfg000b82123456.xml"]


def listing(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


class GenPhoneConfig(TwprovCase):

    def gen(self, *args, rc=0, text=FILE, **env):
        path = self.write(text)
        r = self.twprov("gen-phone-config", "-f", path, *args, env=self.env(**env))
        self.assertEqual(r.rc, rc, r)
        self.assertNoSecrets(r.out, r.err)
        return r

    def read(self, *parts):
        with open(os.path.join(self.dir, *parts)) as f:
            return f.read()

    def test_writes_every_file_0600_with_a_summary(self):
        r = self.gen()
        out = os.path.join(self.dir, "phone-config")
        self.assertEqual(listing(out), EXPECTED)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(out, "alice")).st_mode), 0o700)
        for name in EXPECTED:
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(out, name)).st_mode), 0o600, name)
        self.assertEqual(r.out, "")
        for name in EXPECTED:
            self.assertIn(f"wrote phone-config/{name} (", r.err)
        self.assertIn("(grandstream, alice@office-test.sip.twilio.com)", r.err)
        self.assertIn("(baresip, alice@office-test.sip.dublin.twilio.com)", r.err)
        self.assertIn("gen-phone-config: 5 files for 1 credential in phone-config/", r.err)
        self.assertEqual(self.log(), [], "gen-phone-config is offline")

    def test_grandstream_p_values(self):
        self.gen()
        root = ET.parse(os.path.join(self.dir, "phone-config", "cfg000b82123456.xml")).getroot()
        self.assertEqual(root.tag, "gs_provision")
        self.assertEqual(root.findtext("mac"), "000b82123456")
        self.assertEqual(root.find("config").get("version"), "1")
        p = {c.tag: c.text or "" for c in root.find("config")}
        want = {"P271": "1", "P270": "Alice & <Smith>", "P47": "office-test.sip.twilio.com", "P48": "",
                "P35": "alice", "P36": "alice", "P34": SECRETS["SIP_PW_ALICE"], "P3": "Alice & <Smith>",
                "P130": "0", "P32": "60", "P52": "2", "P2397": "1", "P2302": "1", "P2301": "0", "P2303": "0",
                "P79": "101", "P57": "0", "P58": "8", "P183": "0", "P31": "1"}
        for k, v in want.items():
            self.assertEqual(p.get(k), v, k)
        raw = self.read("phone-config", "cfg000b82123456.xml")
        self.assertIn("<P3>Alice &amp; &lt;Smith&gt;</P3>", raw)

    def test_zoiper_yealink_linphone_baresip(self):
        self.gen()
        acct = ET.parse(os.path.join(self.dir, "phone-config", "alice", "Config.xml")).getroot().find("accounts/account")
        z = {c.tag: c.text or "" for c in acct}
        self.assertEqual((z["username"], z["password"], z["SIP_domain"], z["SIP_transport_type"], z["protocol"]),
                         ("alice", SECRETS["SIP_PW_ALICE"], "office-test.sip.twilio.com", "udp", "sip"))
        self.assertEqual((z["SIP_srtp_mode"], z["SIP_dtmf_style"], z["reregistration_time"]), ("none", "rfc_2833", "3600"))
        codecs = [(c.findtext("codec_id"), c.findtext("priority")) for c in acct.find("codecs")]
        self.assertEqual(codecs[:2], [("0", "0"), ("6", "1")])   # PCMU, then PCMA

        y = self.read("phone-config", "805ec0aabbcc.cfg").splitlines()
        self.assertEqual(y[0], "#!version:1.0.0.1")
        for line in ("account.1.user_name = alice", "account.1.auth_name = alice",
                     f"account.1.password = {SECRETS['SIP_PW_ALICE']}",
                     "account.1.sip_server.1.address = office-test.sip.twilio.com", "account.1.sip_server.1.port = 5060",
                     "account.1.sip_server.1.transport_type = 0", "account.1.sip_server.1.expires = 3600",
                     "account.1.dtmf.type = 1", "account.1.codec.pcmu.priority = 1", "account.1.codec.pcma.priority = 2"):
            self.assertIn(line, y)

        lp = ET.parse(os.path.join(self.dir, "phone-config", "alice", "linphone.xml")).getroot()
        ns = "{http://www.linphone.org/xsds/lpconfig.xsd}"
        entries = {(s.get("name"), e.get("name")): e.text or "" for s in lp.iter(ns + "section") for e in s}
        self.assertEqual(entries[("auth_info_0", "passwd")], SECRETS["SIP_PW_ALICE"])
        self.assertNotIn(("auth_info_0", "ha1"), entries)
        self.assertEqual(entries[("proxy_0", "reg_identity")], '"Alice & <Smith>" <sip:alice@office-test.sip.twilio.com>')
        self.assertEqual(entries[("proxy_0", "reg_proxy")], "<sip:office-test.sip.twilio.com;transport=udp>")
        self.assertEqual(entries[("proxy_0", "reg_expires")], "3600")

        b = [l for l in self.read("phone-config", "alice", "accounts").splitlines() if not l.startswith("#")]
        self.assertEqual(b, ['"Alice & <Smith>" <sip:alice@office-test.sip.dublin.twilio.com>;auth_user=alice;'
                             f'auth_pass={SECRETS["SIP_PW_ALICE"]};regint=3600;audio_codecs=pcmu,pcma'])

    def test_secure_domain_means_tls_and_srtp(self):
        text = FILE.replace("    sip_registration: true\n", "    sip_registration: true\n    secure: true\n")
        self.gen(text=text)
        p = {c.tag: c.text or "" for c in
             ET.parse(os.path.join(self.dir, "phone-config", "cfg000b82123456.xml")).getroot().find("config")}
        self.assertEqual((p["P47"], p["P130"], p["P183"], p["P2329"]), ("office-test.sip.twilio.com:5061", "2", "2", "0"))
        y = self.read("phone-config", "805ec0aabbcc.cfg")
        self.assertIn("account.1.sip_server.1.port = 5061", y)
        self.assertIn("account.1.sip_server.1.transport_type = 2", y)
        self.assertIn("account.1.srtp_encryption = 2", y)
        z = self.read("phone-config", "alice", "Config.xml")
        self.assertIn("<SIP_transport_type>tls</SIP_transport_type>", z)
        self.assertIn("<SIP_srtp_mode>sdes</SIP_srtp_mode>", z)
        self.assertIn("<SIP_domain>office-test.sip.twilio.com:5061</SIP_domain>", z)
        self.assertIn(";transport=tls>", self.read("phone-config", "alice", "accounts"))
        self.assertIn(";mediaenc=srtp-mand", self.read("phone-config", "alice", "accounts"))
        lp = self.read("phone-config", "alice", "linphone.xml")
        self.assertIn('name="media_encryption" overwrite="true">srtp<', lp)
        self.assertIn('name="media_encryption_mandatory" overwrite="true">1<', lp)
        # a plain transport to a secure domain is refused, with its place in the file
        bad = text.replace("{type: zoiper}", "{type: zoiper, transport: udp}")
        r = self.gen(rc=3, text=bad)
        self.assertRegex(r.err, r"twprov.yaml:10:\d+: error: .*devices\[1\]: sip domain \"office-test.sip.twilio.com\" "
                                r"is secure \(TLS and SRTP\): transport must be tls, not udp")

    def test_transport_edge_expires(self):
        text = FILE.replace("{type: zoiper}", "{type: zoiper, transport: tcp, edge: us1, expires: 1200}")
        self.gen(text=text)
        z = self.read("phone-config", "alice", "Config.xml")
        self.assertIn("<SIP_domain>office-test.sip.us1.twilio.com</SIP_domain>", z)
        self.assertIn("<SIP_transport_type>tcp</SIP_transport_type>", z)
        self.assertIn("<reregistration_time>1200</reregistration_time>", z)

    def test_replaces_files_atomically(self):
        self.gen()
        target = os.path.join(self.dir, "phone-config", "cfg000b82123456.xml")
        with open(target, "w") as f:
            f.write("stale")
        os.chmod(target, 0o644)
        ino = os.stat(target).st_ino
        self.gen()
        self.assertNotEqual(os.stat(target).st_ino, ino, "replaced by rename, not rewritten in place")
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
        self.assertIn("<gs_provision", self.read("phone-config", "cfg000b82123456.xml"))
        self.assertEqual(listing(os.path.join(self.dir, "phone-config")), EXPECTED, "no temporary file left")

    def test_options_out_only_domain(self):
        two = FILE.replace("      - username: bob\n        password: ${env:SIP_PW_BOB}\n",
                           "      - username: bob\n        password: ${env:SIP_PW_BOB}\n"
                           "        devices: [{type: baresip}]\n") + \
            "  - domain_name: branch-test.sip.twilio.com\n    auth:\n      registrations:\n" \
            "        credential_lists: [office-phones]\n"
        r = self.gen(rc=3, text=two)
        self.assertIn("takes registrations on 2 sip domains (office-test.sip.twilio.com, branch-test.sip.twilio.com): "
                      "choose one with the device's domain or --domain", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "phone-config")))
        r = self.gen("--domain", "branch-test.sip.twilio.com", "--only", "bob", "-o", "out/bob", text=two)
        self.assertEqual(listing(os.path.join(self.dir, "out", "bob")), ["bob/accounts"])
        self.assertIn("sip:bob@branch-test.sip.twilio.com>", self.read("out", "bob", "bob", "accounts"))
        # a device may name its domain
        per = two.replace("{type: baresip}", "{type: baresip, domain: office-test.sip.twilio.com}")
        self.gen("--only", "bob", text=per)
        self.assertIn("sip:bob@office-test.sip.twilio.com>", self.read("phone-config", "bob", "accounts"))
        r = self.gen("--only", "nobody", rc=64)
        self.assertIn("--only nobody: no credential with that username", r.err)
        r = self.gen("--domain", "nosuch.sip.twilio.com", rc=64)
        self.assertIn("--domain nosuch.sip.twilio.com: no such sip domain", r.err)
        r = self.gen("--only", "bob", rc=3)
        self.assertIn("credentials/bob: declares no devices", r.err)
        r = self.gen("--outbound-proxy", "sbc.example.com:99999", rc=64)
        self.assertIn("--outbound-proxy: not a port", r.err)
        self.assertEqual(self.twprov("gen-phone-config", "extra").rc, 64)
        h = self.ok("gen-phone-config", "--help")
        self.assertIn("usage: twprov gen-phone-config", h.out)

    def test_outbound_proxy_keeps_the_domain(self):
        self.gen("--outbound-proxy", "sbc.example.com")
        p = {c.tag: c.text or "" for c in
             ET.parse(os.path.join(self.dir, "phone-config", "cfg000b82123456.xml")).getroot().find("config")}
        self.assertEqual((p["P47"], p["P48"]), ("office-test.sip.twilio.com", "sbc.example.com:5060"))
        z = self.read("phone-config", "alice", "Config.xml")
        self.assertIn("<SIP_use_outbound_proxy>true</SIP_use_outbound_proxy>", z)
        self.assertIn("<SIP_outbound_proxy>sbc.example.com:5060</SIP_outbound_proxy>", z)
        self.assertIn(';outbound="sip:sbc.example.com:5060"', self.read("phone-config", "alice", "accounts"))

    # ---- errors: reported where they are, and nothing written ---------------------

    def assertNothingWritten(self, before):
        self.assertEqual(listing(os.path.join(self.dir, "phone-config")), before)

    def test_errors_write_nothing(self):
        self.gen()
        out = os.path.join(self.dir, "phone-config")
        before = listing(out)
        stamp = {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in before}
        cases = [
            (FILE.replace("{type: yealink, mac: 805ec0aabbcc}", "{type: yealink}"),
             r"twprov.yaml:11:13: error: credential_lists/office-phones/credentials/alice/devices\[2\]: "
             r"a yealink device needs its mac"),
            (FILE.replace("{type: zoiper}", "{type: zoipr}"),
             r"twprov.yaml:10:20: error: .*devices\[1\].type: not one of grandstream, yealink, zoiper, linphone, "
             r"baresip.*did you mean \"zoiper\""),
            (FILE.replace('mac: "00:0B:82:12:34:56"', 'mac: "00:0B:82:12:34"'),
             r"twprov.yaml:9:38: error: .*devices\[0\].mac: not a MAC address"),
            (FILE.replace("{type: zoiper}", "{type: zoiper, encrypt_key: \"${env:GS_KEY}\"}"),
             r"error: .*devices\[1\]: encrypt_key: zoiper phones do not read encrypted files"),
            (FILE.replace("credential_lists: [office-phones]", "credential_lists: []"),
             r"no sip domain takes registrations from credential list \"office-phones\""),
            (FILE.replace("{type: linphone}", "{type: grandstream, mac: 000B82123456}"),
             r"cfg000b82123456.xml would be written twice"),
        ]
        for text, msg in cases:
            with self.subTest(msg=msg):
                r = self.gen(rc=3, text=text, GS_KEY="Key-For-Test-1")
                self.assertRegex(r.err, msg)
                self.assertNothingWritten(before)
        # a missing secret: the file is invalid, nothing written
        r = self.gen(rc=3, SIP_PW_ALICE=None)
        self.assertIn('environment variable "SIP_PW_ALICE" is not set', r.err)
        self.assertNothingWritten(before)
        # a password a format cannot carry
        r = self.gen(rc=3, SIP_PW_ALICE="Semi;colon-Pass-1")
        self.assertIn("baresip: the password holds ';', which a baresip file cannot carry", r.err)
        self.assertNotIn("Semi;colon", r.err)
        self.assertNothingWritten(before)
        self.assertEqual(stamp, {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in before})

    def test_unwritable_output_writes_nothing(self):
        blocker = os.path.join(self.dir, "blocked")
        with open(blocker, "w") as f:
            f.write("a file, not a directory")
        r = self.gen("-o", blocker, rc=1)
        self.assertIn("blocked", r.err)
        self.assertIn("no file was written", r.err)

    # ---- encryption ---------------------------------------------------------------

    def decrypt(self, path, key):
        p = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-md", "md5", "-pass", "env:K", "-in", path],
                           env={"K": key, "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode()

    def test_encrypt_key_option_and_field(self):
        self.gen("-o", "plain")
        plain = self.read("plain", "cfg000b82123456.xml")
        r = self.gen("--encrypt-key", "${env:GS_KEY}", GS_KEY="Grandstream-Key-7")
        self.assertIn("(grandstream, alice@office-test.sip.twilio.com, encrypted)", r.err)
        self.assertNotIn("Grandstream-Key-7", r.err)
        path = os.path.join(self.dir, "phone-config", "cfg000b82123456.xml")
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"Salted__")
        self.assertNotIn(SECRETS["SIP_PW_ALICE"].encode(), data)
        self.assertEqual(self.decrypt(path, "Grandstream-Key-7"), plain)
        # other vendors are not encrypted
        self.assertIn("<options>", self.read("phone-config", "alice", "Config.xml"))
        # a device's own key wins
        text = FILE.replace('{type: grandstream, mac: "00:0B:82:12:34:56"}',
                            '{type: grandstream, mac: "00:0B:82:12:34:56", encrypt_key: "${file:gs.key}"}')
        with open(os.path.join(self.dir, "gs.key"), "w") as f:
            f.write("Device-Key-99\n")
        self.gen("--encrypt-key", "${env:GS_KEY}", text=text, GS_KEY="Grandstream-Key-7")
        self.assertEqual(self.decrypt(path, "Device-Key-99"), plain)
        r = self.gen("--encrypt-key", "${env:NO_SUCH_KEY_VAR}", rc=64)
        self.assertIn("--encrypt-key", r.err)

    # ---- devices are local: validate, plan and apply ignore them -------------------

    def test_devices_leave_plan_and_apply_alone(self):
        without = FILE.replace(FILE[FILE.index("        devices:"):FILE.index("      - username: bob")], "")
        self.assertNotIn("devices", without)
        path = self.write(without, "without.yaml")
        plan_without = self.plan_json(path)
        path = self.write(FILE)
        v = json.loads(self.ok("validate", "-f", path, "--json").out)
        self.assertTrue(v["valid"])
        plan_with = self.plan_json(path)
        self.assertEqual(plan_with["changes"], plan_without["changes"])
        self.assertNotIn("devices", json.dumps(plan_with))
        self.converge(path)
        for e in self.log():
            self.assertNotIn("devices", json.dumps(e))
            self.assertNotIn("000b82", json.dumps(e).lower())
        # adding, changing or removing a device changes nothing at Twilio
        changed = FILE.replace("{type: zoiper}", "{type: zoiper, transport: tcp}") \
            .replace("          - {type: baresip, edge: dublin}\n", "")
        self.ok("plan", "-f", self.write(changed), "--detailed-exitcode")
        self.ok("plan", "-f", self.write(without, "without.yaml"), "--detailed-exitcode")
