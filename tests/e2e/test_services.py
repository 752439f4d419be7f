"""Serverless services: deploy without clicking; upload only what changed; one
build, deployed to each environment; deployed paths in other kinds' URLs."""

import hashlib
import json
import os

from harness import SECRETS, TwprovCase

HELLO = """exports.handler = function (context, event, callback) {
  const twiml = new Twilio.twiml.VoiceResponse();
  twiml.say('hello');
  callback(null, twiml);
};
"""

SERVICE = """\
twprov: 1
services:
  - unique_name: office-voice
    friendly_name: Office voice
    runtime: node22
    dependencies: {twilio: "5.3.0"}
    functions:
      - {path: /hello, source: functions/hello.js, visibility: protected}
      - {path: /inline, content: "exports.handler = (c, e, cb) => cb(null, 'ok');\\n", visibility: public}
    assets:
      - {path: /hold.mp3, source: assets/hold.mp3, visibility: public}
    environments:
      - name: production
        domain_suffix: prod
        variables:
          DEFAULT_CALLER_ID: "+16505550000"
          API_SECRET: "${env:SIP_PW_CAROL}"
"""

MP3 = b"ID3\x03\x00fake mp3 bytes \x00\xff\xfe"


def sha(b):
    return hashlib.sha256(b if isinstance(b, bytes) else b.encode()).hexdigest()


class Services(TwprovCase):
    fake_options = {"build_polls": 2}

    def env(self, **extra):
        return super().env(TWPROV_BUILD_POLL_MS="20", **extra)

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.dir, "functions"))
        os.makedirs(os.path.join(self.dir, "assets"))
        self.put("functions/hello.js", HELLO)
        self.put("assets/hold.mp3", MP3)

    def put(self, name, data):
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)

    def uploads(self):
        return [e for e in self.log("POST") if e["path"].endswith("/Versions")]

    def builds(self):
        return [e for e in self.log("POST") if e["path"].endswith("/Builds")]

    def deployments(self):
        return [e for e in self.log("POST") if e["path"].endswith("/Deployments")]

    def deployed(self, env="production"):
        return self.fake.deployed("office-voice", env)

    def test_deploy_from_empty_and_converge(self):
        path = self.write(SERVICE)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("~ services/office-voice # build: 2 functions, 1 asset, node22", r.out)
        self.assertIn("~ services/office-voice/environments/production # deploy: nothing -> the new build", r.out)
        self.assertIn("value = (sensitive)", r.out)
        r = self.ok("apply", "-f", path, "--auto-approve")
        self.assertNoSecrets(r.out, r.err)
        self.assertEqual(len(self.builds()), 1)
        self.assertEqual(len(self.deployments()), 1)
        d = self.deployed()
        self.assertEqual(d["functions"]["/hello"]["sha256"], sha(HELLO))
        self.assertEqual(d["functions"]["/hello"]["visibility"], "protected")
        self.assertEqual(d["functions"]["/inline"]["visibility"], "public")
        self.assertEqual(d["assets"]["/hold.mp3"], {"sha256": sha(MP3), "visibility": "public"})
        self.assertEqual(d["runtime"], "node22")
        self.assertEqual(d["dependencies"], [{"name": "twilio", "version": "5.3.0"}])
        self.assertIn("/_twprov/manifest", d["functions"])
        st = self.fake.state()
        self.assertEqual({v["key"]: v["value"] for v in st["variable"]},
                         {"DEFAULT_CALLER_ID": "+16505550000", "API_SECRET": SECRETS["SIP_PW_CAROL"]})
        # converged: nothing is uploaded, built or deployed again
        self.fake.clear_log()
        self.ok("plan", "-f", path, "--detailed-exitcode")
        r = self.ok("apply", "-f", path, "--auto-approve")
        self.assertIn("No changes.", r.out)
        self.assertEqual(self.log("POST"), [])

    def test_changed_function_uploads_only_it(self):
        path = self.write(SERVICE)
        self.converge(path)
        self.put("functions/hello.js", HELLO.replace("hello", "hello again"))
        self.fake.clear_log()
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("~ services/office-voice/functions/hello # upload: protected, function", r.out)
        self.assertNotIn("assets/hold.mp3 # upload", r.out)
        self.converge(path)
        ups = sorted(e["form"]["Path"][0] for e in self.uploads())
        self.assertEqual(ups, ["/_twprov/manifest", "/hello"])   # not the asset, not /inline
        self.assertEqual(len(self.builds()), 1)
        self.assertEqual(len(self.deployments()), 1)
        build = self.builds()[0]["form"]
        self.assertEqual(len(build["FunctionVersions"]), 3)
        self.assertEqual(len(build["AssetVersions"]), 1)
        self.assertEqual(self.deployed()["functions"]["/hello"]["sha256"], sha(HELLO.replace("hello", "hello again")))

    def test_changed_asset_is_uploaded(self):
        path = self.write(SERVICE)
        self.converge(path)
        self.put("assets/hold.mp3", MP3 + b"more")
        self.fake.clear_log()
        self.converge(path)
        self.assertEqual(sorted(e["form"]["Path"][0] for e in self.uploads()), ["/_twprov/manifest", "/hold.mp3"])
        self.assertEqual(self.deployed()["assets"]["/hold.mp3"]["sha256"], sha(MP3 + b"more"))

    def test_runtime_and_dependencies_make_a_new_build(self):
        path = self.write(SERVICE)
        self.converge(path)
        self.fake.clear_log()
        self.converge(self.write(SERVICE.replace('twilio: "5.3.0"', 'twilio: "5.4.0", axios: "1.7.2"')))
        self.assertEqual([e["form"]["Path"][0] for e in self.uploads()], ["/_twprov/manifest"])
        self.assertEqual(sorted(d["name"] for d in self.deployed()["dependencies"]), ["axios", "twilio"])

    def test_removed_function_goes_after_the_new_deployment(self):
        path = self.write(SERVICE)
        self.converge(path)
        text = SERVICE.replace("      - {path: /inline, content: \"exports.handler = (c, e, cb) => cb(null, 'ok');\\n\", "
                               "visibility: public}\n", "")
        self.assertNotEqual(text, SERVICE)
        path = self.write(text)
        plan = self.plan_json(path)
        acts = {c["address"]: c for c in plan["changes"]}
        self.assertEqual(acts["services/office-voice/functions/inline"]["action"], "delete")
        self.assertIn("services/office-voice/environments/production",
                      acts["services/office-voice/functions/inline"]["depends_on"])
        self.converge(path)
        self.assertNotIn("/inline", self.deployed()["functions"])
        self.assertNotIn("/inline", [f["friendly_name"] for f in self.fake.state()["function"]])

    def test_variables_change_and_removal(self):
        path = self.write(SERVICE)
        self.converge(path)
        env = self.env(SIP_PW_CAROL="Another-Secret-Value-1")
        text = SERVICE.replace('          DEFAULT_CALLER_ID: "+16505550000"\n', "")
        path = self.write(text)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", env=env, rc=2)
        self.assertIn("- services/office-voice/environments/production/variables/DEFAULT_CALLER_ID (ZV", r.out)
        self.assertIn("value = (sensitive) -> (sensitive)", r.out)
        self.assertNotIn("Another-Secret-Value-1", r.out + r.err)
        self.assertNotIn(SECRETS["SIP_PW_CAROL"], r.out + r.err)
        self.fake.clear_log()
        self.ok("apply", "-f", path, "--auto-approve", env=env)
        self.assertEqual(self.builds(), [])   # variables are not part of a build
        self.assertEqual({v["key"]: v["value"] for v in self.fake.state()["variable"]},
                         {"API_SECRET": "Another-Secret-Value-1"})

    def test_one_build_for_every_environment_and_reuse(self):
        two = SERVICE.replace("    environments:\n", "    environments:\n      - name: staging\n        domain_suffix: stage\n")
        path = self.write(two)
        self.converge(path)
        self.assertEqual(len(self.builds()), 1)
        self.assertEqual(len(self.deployments()), 2)
        self.assertEqual(self.deployed("staging")["build_sid"], self.deployed("production")["build_sid"])
        # a third environment gets the build that already runs: no upload, no build
        three = two.replace("    environments:\n", "    environments:\n      - name: qa\n        domain_suffix: qa\n")
        self.fake.clear_log()
        r = self.ok("plan", "-f", self.write(three), "--detailed-exitcode", rc=2)
        self.assertIn("# deploy: nothing -> ZB", r.out)
        self.converge(self.write(three))
        self.assertEqual((self.uploads(), self.builds(), len(self.deployments())), ([], [], 1))

    def test_failed_build_is_reported_and_nothing_deployed(self):
        path = self.write(SERVICE)
        self.converge(path)
        before = self.deployed()["build_sid"]
        self.put("functions/hello.js", HELLO + "// FAKE_BUILD_FAIL\n")
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"services/office-voice: build failed: build ZB[0-9a-f]{32} failed")
        self.assertIn("Not applied:\n  ~ services/office-voice/environments/production", r.err)
        self.assertEqual(self.deployed()["build_sid"], before)
        self.put("functions/hello.js", HELLO)
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_build_timeout(self):
        path = self.write(SERVICE)
        self.fake.faults(build_polls=1000)
        r = self.twprov("apply", "-f", path, "--auto-approve", env=self.env(TWPROV_BUILD_TIMEOUT_MS="300"))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("still building after", r.err)
        self.fake.faults(build_polls=2)

    def test_deployed_path_in_a_url(self):
        text = SERVICE + """\
sip_domains:
  - domain_name: office-svc.sip.twilio.com
    voice_url: {service: office-voice, path: /hello}
    voice_method: POST
"""
        path = self.write(text)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertRegex(r.out, r"\+ voice_url +\= \(known after apply\)")
        plan = self.plan_json(path)
        dom = [c for c in plan["changes"] if c["address"] == "sip_domains/office-svc.sip.twilio.com"][0]
        self.assertTrue(dom["fields"]["voice_url"]["known_after_apply"])
        self.assertIn("services/office-voice/environments/production", dom["depends_on"])
        self.converge(path)
        url = self.fake.state()["sip_domain"][0]["voice_url"]
        self.assertEqual(url, f"https://{self.deployed()['domain_name']}/hello")
        # validation of the reference
        bad = text.replace("path: /hello}", "path: /nope}")
        r = self.twprov("validate", "-f", self.write(bad, "bad.yaml"))
        self.assertEqual(r.rc, 3)
        self.assertIn('service "office-voice" declares no function or asset at "/nope"', r.err)

    def test_source_errors(self):
        r = self.twprov("validate", "-f", self.write(SERVICE.replace("functions/hello.js", "functions/missing.js")))
        self.assertEqual(r.rc, 3)
        self.assertIn("services/office-voice/functions/hello: cannot read", r.err)
        self.assertIn("missing.js: No such file or directory", r.err)
        r = self.twprov("validate", "-f", self.write(SERVICE.replace("path: /hello,", "path: hello,")))
        self.assertEqual(r.rc, 3)
        self.assertIn('not a path: "hello"', r.err)
