"""The built-in outbound dialer and ring TwiML: generated, deployed, wired, and
run for real under Node.js with the twilio npm package."""

import json
import os
import re
import subprocess

from harness import SOURCE_DIR, TwprovCase

NODE_DIR = os.path.join(SOURCE_DIR, "tests", "node")
EXAMPLE = os.path.join(SOURCE_DIR, "examples", "dialer.yaml")
DOMAIN = "abouttime2357.sip.twilio.com"


def setUpModule():
    # the real twilio package (npm registry); CI installs node and npm
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "twilio")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


class Dialer(TwprovCase):

    def env(self, **extra):
        return super().env(TWPROV_BUILD_POLL_MS="20", **extra)

    def setUp(self):
        super().setUp()
        self.fake.add_owned(["+12223331234"])

    def function(self, path):
        d = self.fake.deployed("direct-outgoing", "production")
        src = d["functions"][path]["content"]
        fn = os.path.join(self.dir, path.strip("/").replace("/", "_") + ".js")
        with open(fn, "w") as f:
            f.write(src)
        return fn

    def run_fn(self, fn, **event):
        r = subprocess.run(["node", os.path.join(NODE_DIR, "run-function.js"), fn, json.dumps(event)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def dial(self, fn, frm, to):
        return self.run_fn(fn, From=frm, To=to, CallSid="CA" + "0" * 32)

    def test_generated_dialer_and_ring(self):
        self.converge(EXAMPLE)
        st = self.fake.state()
        domain_url = st["sip_domain"][0]["voice_url"]
        number = st["incoming_number"][0]
        base = "https://" + self.fake.deployed("direct-outgoing", "production")["domain_name"]
        self.assertEqual(domain_url, base + "/_twprov/outbound")
        self.assertEqual((number["voice_url"], number["voice_method"]), (base + "/_twprov/ring", "POST"))

        out = self.function("/_twprov/outbound")
        home, xlite = f"sip:home@{DOMAIN}", f"sip:xlite@{DOMAIN}"
        want = '<Dial callerId="{}"><Number>{}</Number></Dial>'
        # the user's own caller ID; national dialling becomes E.164
        self.assertIn(want.format("+16508663333", "+16505550123"), self.dial(out, home, "6505550123"))
        self.assertIn(want.format("+16508663333", "+16505550123"),
                      self.dial(out, home, f"sip:16505550123@{DOMAIN}"))
        self.assertIn(want.format("+16508663333", "+16505550123"),
                      self.dial(out, "sip:home@abouttime2357.sip.us1.twilio.com", "(650) 555-0123"))
        # the default caller ID for the rest
        self.assertIn(want.format("+12223331234", "+14155550000"), self.dial(out, xlite, f"sip:+14155550000@{DOMAIN}"))
        # outside the allowed prefixes, garbage, or an unknown domain: a spoken refusal, no dial
        for frm, to in ((home, "011442071838750"), (home, "+442071838750"), (home, "12"),
                        ("sip:home@other.sip.twilio.com", "6505550123"), ("+16505551212", "6505550123")):
            twiml = self.dial(out, frm, to)
            self.assertIn("<Say>", twiml)
            self.assertNotIn("<Dial", twiml)

        ring = self.function("/_twprov/ring")
        twiml = self.run_fn(ring, To="+12223331234", From="+14155550000")
        self.assertIn(f'<Dial timeout="25"><Sip>sip:xlite@{DOMAIN}</Sip><Sip>sip:home@{DOMAIN}</Sip></Dial>', twiml)
        self.assertIn("<Say>", self.run_fn(ring, To="+19999999999"))

    def test_generated_code_is_deterministic(self):
        self.converge(EXAMPLE)
        first = self.fake.deployed("direct-outgoing", "production")["functions"]
        self.fake.clear_log()
        self.ok("plan", "-f", EXAMPLE, "--detailed-exitcode")
        self.ok("apply", "-f", EXAMPLE, "--auto-approve")
        self.assertEqual(self.log("POST"), [])
        self.assertEqual(first, self.fake.deployed("direct-outgoing", "production")["functions"])

    def test_changed_caller_id_is_one_build_and_deployment(self):
        self.converge(EXAMPLE)
        builds = len(self.fake.state()["build"])
        with open(EXAMPLE) as f:
            text = f.read().replace('caller_id: "+16508663333"', 'caller_id: "+16508664444"')
        path = self.write(text)
        plan = self.plan_json(path)
        self.assertEqual(sorted((c["address"], c["action"]) for c in plan["changes"]), [
            ("services/direct-outgoing", "build"),
            ("services/direct-outgoing/environments/production", "deploy"),
            ("services/direct-outgoing/functions/_twprov/manifest", "upload"),
            ("services/direct-outgoing/functions/_twprov/outbound", "upload")])
        self.fake.clear_log()
        self.converge(path)
        self.assertEqual(len(self.fake.state()["build"]), builds + 1)
        self.assertEqual(len([e for e in self.log("POST") if e["path"].endswith("/Deployments")]), 1)
        out = self.function("/_twprov/outbound")
        self.assertIn('callerId="+16508664444"', self.dial(out, f"sip:home@{DOMAIN}", "6505550123"))

    def test_wiring_errors(self):
        with open(EXAMPLE) as f:
            text = f.read()
        r = self.twprov("validate", "-f", self.write(text.replace(
            "    outbound:", "    voice_url: https://x.example/\n    outbound:")))
        self.assertEqual(r.rc, 3)
        self.assertIn("voice_url and outbound both route its calls: remove voice_url", r.err)
        r = self.twprov("validate", "-f", self.write(text.replace("ring: [xlite, home]", "ring: [xlite, nobody]")))
        self.assertEqual(r.rc, 3)
        self.assertIn('ring: no declared credential list holds "nobody"', r.err)
        r = self.twprov("validate", "-f", self.write(text.replace(
            'default_caller_id: "+12223331234"', 'default_caller_id: "12223331234"')))
        self.assertEqual(r.rc, 3)
        self.assertRegex(r.err, r"default_caller_id: not an E\.164")
        r = self.twprov("validate", "-f", self.write(text.replace('["+1"]', '["1"]')))
        self.assertEqual(r.rc, 3)
        self.assertIn('not an E.164 prefix: "1"', r.err)
