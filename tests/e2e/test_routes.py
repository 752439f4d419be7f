"""Call routing from the file: a domain's outbound routes (the PSTN, a PBX over SIP, a
BYOC trunk, an application, a webhook) and a BYOC trunk's inbound routes by called
number, generated, deployed and wired by twprov, and run for real under Node.js with
the twilio package, asserting the TwiML of every target and every edge."""

import json
import os
import subprocess

from harness import SOURCE_DIR, TwprovCase

NODE_DIR = os.path.join(SOURCE_DIR, "tests", "node")
BYOC = os.path.join(SOURCE_DIR, "examples", "byoc.yaml")
PBX = os.path.join(SOURCE_DIR, "examples", "pbx-extensions.yaml")
DESK = "nlpbay-desk.sip.twilio.com"

# every target and edge of outbound routes, on one domain of a UK dialer
ROUTES = """\
twprov: 1
credential_lists:
  - name: staff
    credentials:
      - {username: alice, password: "${env:SIP_PW_ALICE}", caller_id: "+442071838750"}
      - {username: bob, password: "${env:SIP_PW_BOB}"}
services:
  - unique_name: routes
    environments: [{name: production}]
connection_policies:
  - name: carrier
    targets: [{name: sbc, target: "sip:sbc.carrier.example:5060"}]
byoc_trunks:
  - {name: carrier-x, connection_policy: carrier}
applications:
  - {name: voicemail, voice_url: "https://example.com/voicemail"}
sip_domains:
  - domain_name: london.sip.twilio.com
    sip_registration: true
    auth: {calls: {credential_lists: [staff]}, registrations: {credential_lists: [staff]}}
    outbound:
      service: routes
      default_caller_id: "+442071830000"
      country_code: "44"
      allowed_destinations: ["+44"]
      routes:
        - {match: "^9(\\\\d+)$", pstn: "{1}", record: true, status_callback: "https://example.com/events"}
        - {match: "^8(\\\\d{3})(\\\\d{4})$", pstn: "+44{1}0{2}", caller_id: "+442071839999"}
        - {match: "^1\\\\d\\\\d$", sip: "sip:{dialled}@pbx.example.com:5060;transport=tcp", timeout: 20}
        - {prefix: "+1", byoc_trunk: carrier-x, timeout: 45, status_callback: "https://example.com/events"}
        - {prefix: "*86", application: voicemail}
        - {match: "^(0800|0808)\\\\d+$", url: "https://example.com/freephone"}
"""


def setUpModule():
    # the real twilio package (npm registry); CI installs node and npm
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "twilio")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


class Routes(TwprovCase):
    fake_options = {"build_polls": 0}

    def env(self, **extra):
        return super().env(TWPROV_BUILD_POLL_MS="20", **extra)

    def deployed(self, service, path):
        d = self.fake.deployed(service, "production")
        fn = os.path.join(self.dir, path.strip("/").replace("/", "_") + ".js")
        with open(fn, "w") as f:
            f.write(d["functions"][path]["content"])
        return fn

    def variables(self):
        return {v["key"]: v["value"] for v in self.fake.state()["variable"]}

    def run_fn(self, fn, context=None, **event):
        r = subprocess.run(["node", os.path.join(NODE_DIR, "run-function.js"), fn, json.dumps(event),
                            json.dumps(context if context is not None else self.variables())],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.replace('<?xml version="1.0" encoding="UTF-8"?>', "")

    def sids(self, kind):
        return {r["friendly_name"]: r["sid"] for r in self.fake.state()[kind]}

    def test_regex_cases_give_the_same_groups_in_javascript(self):
        # the patterns validate checks with PCRE2 (test_regex.c) run in Node as the Function runs them
        r = subprocess.run(["node", os.path.join(NODE_DIR, "regex-cases.js")], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^(\d+)/\1 patterns give the same groups")

    def test_pbx_extensions_example(self):
        self.fake.add_owned(["+19863334949"])   # the example's front desk
        self.converge(PBX)
        out = self.deployed("pbx-dialer", "/_twprov/outbound")
        fd, wh = f"sip:frontdesk@{DESK}", f"sip:warehouse@{DESK}"
        # 9 + number: the PSTN, as E.164, with the user's caller ID or the default
        self.assertEqual(self.run_fn(out, From=fd, To=f"sip:96505550123@{DESK}"),
                         '<Response><Dial callerId="+19863334949"><Number>+16505550123</Number></Dial></Response>')
        self.assertIn('<Number>+16505550123</Number>', self.run_fn(out, From=wh, To="916505550123"))
        # 1xx: the extension on the PBX, the dialled number in the URI
        self.assertEqual(self.run_fn(out, From=wh, To=f"sip:101@{DESK}"),
                         '<Response><Dial callerId="+19863334949" timeout="30"><Sip>sip:101@138.2.68.107:5060</Sip>'
                         '</Dial></Response>')
        # no route: the PSTN as before, allowed destinations enforced
        self.assertIn("<Number>+16505550123</Number>", self.run_fn(out, From=fd, To="6505550123"))
        self.assertNotIn("<Dial", self.run_fn(out, From=fd, To="+442071838750"))
        self.assertNotIn("<Dial", self.run_fn(out, From=fd, To="9442071838750"))
        # emergency: 911 and 9 + 911 go to Twilio as dialled, whatever the routes and the prefixes
        for to in ("911", f"sip:911@{DESK}", "9911", "933", "112"):
            with self.subTest(to=to):
                twiml = self.run_fn(out, From=fd, To=to)
                self.assertRegex(twiml, r'<Dial callerId="\+19863334949"><Number>(911|933|112)</Number></Dial>')

    def test_every_outbound_target(self):
        self.fake.add_owned([])
        path = self.write(ROUTES)
        self.converge(path)
        out = self.deployed("routes", "/_twprov/outbound")
        alice, bob = "sip:alice@london.sip.twilio.com", "sip:bob@london.sip.twilio.com"
        by, ap = self.sids("byoc_trunk")["carrier-x"], self.sids("application")["voicemail"]
        # the SIDs reach the function as environment variables twprov set
        self.assertEqual(self.variables(), {"TWPROV_BY_CARRIER_X": by, "TWPROV_AP_VOICEMAIL": ap})
        events = ' statusCallback="https://example.com/events" statusCallbackEvent="initiated ringing answered completed"'
        # pstn with a national number: E.164 for country 44, recorded, status callback
        self.assertEqual(self.run_fn(out, From=alice, To="902071838751"),
                         '<Response><Dial callerId="+442071838750" record="record-from-answer">'
                         f'<Number{events}>+442071838751</Number></Dial></Response>')
        # groups: strip the 8, prepend +44, put a 0 between; the route's caller ID wins
        self.assertEqual(self.run_fn(out, From=bob, To="81234567"),
                         '<Response><Dial callerId="+442071839999"><Number>+4412304567</Number></Dial></Response>')
        # sip: the dialled number substituted, the route's timeout
        self.assertEqual(self.run_fn(out, From=bob, To="105"),
                         '<Response><Dial callerId="+442071830000" timeout="20">'
                         '<Sip>sip:105@pbx.example.com:5060;transport=tcp</Sip></Dial></Response>')
        # byoc: allowed destinations hold for every call to the PSTN, over a BYOC trunk too
        self.assertNotIn("<Dial", self.run_fn(out, From=alice, To="+16505550123"))
        # application and url: the call is handed over
        self.assertEqual(self.run_fn(out, From=alice, To="*86"),
                         '<Response><Dial callerId="+442071838750"><Application>'
                         f'<ApplicationSid>{ap}</ApplicationSid></Application></Dial></Response>')
        self.assertEqual(self.run_fn(out, From=alice, To="08001234567"),
                         "<Response><Redirect>https://example.com/freephone</Redirect></Response>")
        # no SID in the environment yet: a spoken refusal, no dial with an empty SID
        self.assertNotIn("<Dial", self.run_fn(out, context={}, From=alice, To="*86"))
        # emergency numbers of the country, and 112/911 everywhere: as dialled
        for to in ("999", "112", "911", "9999"):
            with self.subTest(to=to):
                self.assertRegex(self.run_fn(out, From=alice, To=to),
                                 r'^<Response><Dial callerId="\+442071838750"><Number>(999|112|911)</Number>'
                                 r'</Dial></Response>$')

    def test_byoc_route_dials_over_the_trunk(self):
        path = self.write(ROUTES.replace('allowed_destinations: ["+44"]', 'allowed_destinations: ["+44", "+1"]'))
        self.converge(path)
        out = self.deployed("routes", "/_twprov/outbound")
        by = self.sids("byoc_trunk")["carrier-x"]
        self.assertEqual(self.run_fn(out, From="sip:bob@london.sip.twilio.com", To="+16505550123"),
                         '<Response><Dial callerId="+442071830000" timeout="45"><Number statusCallback='
                         '"https://example.com/events" statusCallbackEvent="initiated ringing answered completed"'
                         f' byoc="{by}">+16505550123</Number></Dial></Response>')

    def test_byoc_example_inbound_and_outbound(self):
        self.converge(BYOC)
        inbound = self.deployed("byoc-voice", "/_twprov/inbound")
        out = self.deployed("byoc-voice", "/_twprov/outbound")
        st = self.fake.state()
        trunk = st["byoc_trunk"][0]
        base = "https://" + self.fake.deployed("byoc-voice", "production")["domain_name"]
        self.assertEqual(trunk["voice_url"], base + "/_twprov/inbound")
        ap = self.sids("application")["support-ivr"]
        # each called number to its own place, in each form the carrier may send it
        for to in ("+13172222222", "sip:+13172222222@carrier-x.sip.twilio.com", "13172222222"):
            with self.subTest(to=to):
                self.assertIn("<Redirect>https://webhooks.twilio.com/v1/Accounts/", self.run_fn(inbound, To=to))
        self.assertEqual(self.run_fn(inbound, To="+13172222223"),
                         f"<Response><Dial><Application><ApplicationSid>{ap}</ApplicationSid></Application></Dial>"
                         "</Response>")
        self.assertEqual(self.run_fn(inbound, To="+13172222224"),
                         '<Response><Dial timeout="25"><Sip>sip:agent1@carrier-x.sip.twilio.com</Sip>'
                         "<Sip>sip:agent2@carrier-x.sip.twilio.com</Sip></Dial></Response>")
        # every other number: the default
        self.assertEqual(self.run_fn(inbound, To="+13175550000"),
                         "<Response><Dial><Sip>sip:reception@pbx.carrier-x.example:5060</Sip></Dial></Response>")
        # the agents call out over the carrier
        self.assertEqual(self.run_fn(out, From="sip:agent1@carrier-x.sip.twilio.com", To="+13175551234"),
                         f'<Response><Dial callerId="+13172222222"><Number byoc="{trunk["sid"]}">+13175551234'
                         "</Number></Dial></Response>")

    def test_no_default_is_not_in_service(self):
        with open(BYOC) as f:
            text = f.read()
        path = self.write(text.replace('      default: {sip: "sip:reception@pbx.carrier-x.example:5060"}\n', ""))
        self.converge(path)
        inbound = self.deployed("byoc-voice", "/_twprov/inbound")
        self.assertEqual(self.run_fn(inbound, To="+13175550000"),
                         "<Response><Say>This number is not in service.</Say></Response>")

    def test_changing_one_route_is_one_build_and_deployment(self):
        self.fake.add_owned(["+19863334949"])   # the example's front desk
        self.converge(PBX)
        builds = len(self.fake.state()["build"])
        with open(PBX) as f:
            text = f.read().replace("sip:{dialled}@138.2.68.107:5060", "sip:{dialled}@138.2.68.108:5060")
        path = self.write(text)
        plan = self.plan_json(path)
        # one new version of the dialer (and of twprov's manifest, which records its SHA-256)
        self.assertEqual(sorted((c["address"], c["action"]) for c in plan["changes"]), [
            ("services/pbx-dialer", "build"),
            ("services/pbx-dialer/environments/production", "deploy"),
            ("services/pbx-dialer/functions/_twprov/manifest", "upload"),
            ("services/pbx-dialer/functions/_twprov/outbound", "upload")])
        self.fake.clear_log()
        self.converge(path)
        self.assertEqual(len(self.fake.state()["build"]), builds + 1)
        self.assertEqual(len([e for e in self.log("POST") if e["path"].endswith("/Deployments")]), 1)
        out = self.deployed("pbx-dialer", "/_twprov/outbound")
        self.assertIn("<Sip>sip:101@138.2.68.108:5060</Sip>",
                      self.run_fn(out, From=f"sip:frontdesk@{DESK}", To="101"))

    def test_validation(self):
        with open(PBX) as f:
            pbx = f.read()
        with open(BYOC) as f:
            byoc = f.read()
        cases = [
            (pbx.replace('pstn: "{1}"}', 'pstn: "{2}"}'), "{2}: the route's match gives {1} to {1} only"),
            (pbx.replace('"^9(\\\\d+)$"', '"^9(\\\\d+$"'), "not a valid regular expression: missing closing parenthesis"),
            (pbx.replace('"^9(\\\\d+)$"', '"^9(?<n>\\\\d+)$"'), "not in the regular expressions routes take"),
            (pbx.replace('{match: "^1\\\\d\\\\d$", sip:', '{prefix: "1", match: "^1\\\\d\\\\d$", sip:'),
             "match and prefix: a route has one matcher"),
            (pbx.replace('pstn: "{1}"}', 'pstn: "{1}", url: "https://x.example/"}'),
             "pstn and url: a route has one target"),
            (pbx.replace('{match: "^9(\\\\d+)$", pstn: "{1}"}', '{match: "^9(\\\\d+)$"}'),
             "no target: give pstn, sip, byoc_trunk, application or url"),
            (pbx.replace('pstn: "{1}"}', 'pstn: "{1}{x}"}'), '"{x}" is not a placeholder'),
            (byoc.replace("{application: support-ivr}", "{application: nosuch}"), 'unknown applications "nosuch"'),
            (byoc.replace("{ring: [agent1, agent2], timeout: 25}", "{ring: [agent1, nobody]}"),
             'no declared credential list holds "nobody"'),
            (byoc.replace('{url: "https://webhooks', '{timeout: 10, url: "https://webhooks'),
             "timeout applies to ring and sip targets"),
            (byoc.replace('"+13172222223": {application', '"3172222223": {application'), "not an E.164"),
        ]
        for text, message in cases:
            with self.subTest(message=message):
                r = self.twprov("validate", "-f", self.write(text))
                self.assertEqual(r.rc, 3, r)
                self.assertIn(message, r.err)
                self.assertRegex(r.err, r"twprov\.yaml:\d+:\d+: error: ")
