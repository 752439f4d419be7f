"""No secret ever leaves twprov: every command, verbose twice, with the auth token
and with an API key, text and JSON, succeeding and failing (401 from wrong
credentials, 400 from Twilio), must not show the auth token, the API secret or
any SIP password -- not in stdout, stderr, the JSON plan, nor in any file it
leaves behind (a log).  The fake runs with distinctive credentials so that a
leak cannot hide in a common word."""

import base64
import json
import os
import tempfile
from urllib.parse import quote, quote_plus

from harness import SECRETS, WRAPPED, TwprovCase, WithEvilServer

AUTH_TOKEN = "AuthTok-5ecret-a1b2c3d4e5"
API_SECRET = "ApiSec-5ecret-f6a7b8c9d0"
WRONG_TOKEN = "WrongTok-5ecret-1357924680"
WRONG_API_SECRET = "WrongApiSec-5ecret-2468013579"
FILE_PW = "FilePw+5ecret &2024=x"          # characters that form encoding changes
LITERAL_PW = "LiteralPw-5ecret-2024"
TRUNK_PW = "TrunkPw-5ecret-2024"
WEAK_ENV_PW = "weak-5ecret-nodigit"          # invalid: the message must not show it
WEAK_LITERAL_PW = "weakliteral5ecret"
VARIABLE_SECRET = "VarSecret-5ecret-2024"     # a Serverless variable's value, from the environment
ENCRYPT_KEY = "EncKey-5ecret-2024"            # a Grandstream file's encryption key

FILE = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: "${env:SIP_PW_ALICE}"
        devices:
          - {type: grandstream, mac: "000b82123456", encrypt_key: "${env:ENCRYPT_KEY}"}
          - {type: baresip}
      - {username: bob, password: "${env:SIP_PW_BOB}", devices: [{type: zoiper}, {type: linphone}]}
      - {username: carol, password: "${file:secrets/carol}", devices: [{type: yealink, mac: "805ec0123456"}]}
      - {username: dave, password: "LiteralPw-5ecret-2024"}
  - name: trunk-auth
    credentials:
      - {username: pbx, password: "${env:TRUNK_PW}"}
ip_access_control_lists:
  - name: pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
sip_domains:
  - domain_name: DOMAIN
    voice_url: https://example.twil.io/sip-outbound
    sip_registration: true
    auth:
      calls:
        credential_lists: [office-phones]
      registrations:
        credential_lists: [office-phones]
sip_trunks:
  - domain_name: secret-test.pstn.twilio.com
    credential_lists: [trunk-auth]
    ip_access_control_lists: [pbx]
services:
  - unique_name: secret-svc
    functions:
      - {path: /x, content: "exports.handler = (c, e, cb) => cb(null, 'ok');"}
    environments:
      - name: production
        variables: {API_KEY: "${env:VARIABLE_SECRET}", PLAIN: "not a secret"}
"""

INVALID = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - {username: erin, password: "${env:WEAK_PW}"}
      - {username: frank, password: "weakliteral5ecret"}
      - {username: grace, password: "${file:secrets/carol}", pasword: "${env:SIP_PW_ALICE}"}
"""

# What each command is run with.  The test fails when `twprov --help` lists a command
# that is not here: a new command must say how it is exercised before it can ship.
def invocations(valid, invalid, broken, out):
    # a saved plan lives beside the file: it is checked for secrets like every file there
    saved = os.path.join(os.path.dirname(valid), "saved-plan.json")
    return {
        "gen-phone-config": [("gen-phone-config", "-f", valid, "-o", out),
                             ("gen-phone-config", "-f", valid, "-o", out, "--encrypt-key", "${env:ENCRYPT_KEY}"),
                             ("gen-phone-config", "-f", invalid, "-o", out)],
        "remove-credential": [("remove-credential", "dave", "-f", valid, "--dry-run"),
                              ("remove-credential", "dave", "-f", valid, "--auto-approve", "--keep-file"),
                              ("remove-credential", "nobody", "-f", valid, "--auto-approve")],
        "validate": [("validate", "-f", valid), ("validate", "-f", valid, "--json"),
                     ("validate", "-f", invalid), ("validate", "-f", invalid, "--json")],
        "plan": [("plan", "-f", valid), ("plan", "-f", valid, "--json"),
                 ("plan", "-f", valid, "--sync-passwords"), ("plan", "-f", valid, "--sync-passwords", "--json"),
                 ("plan", "-f", invalid, "--json"), ("plan", "-f", valid, "--sync-passwords", "--out", saved)],
        "show": [("show", saved), ("show", "--json", saved)],
        # the exported file holds the account's variable values as Twilio returns them: outside the
        # checked directory, as the phone files are
        "export": [("export", "-o", os.path.join(out, "export", "twprov.yaml")),
                   ("export", "-o", os.path.join(out, "export", "services.yaml"), "--kinds", "services")],
        "schema": [("schema", "-f", valid)],
        "apply": [("apply", saved),
                  ("apply", "-f", valid, "--auto-approve"),
                  ("apply", "-f", valid, "--auto-approve", "--sync-passwords"),
                  ("apply", "-f", broken, "--auto-approve", "--sync-passwords"),
                  ("apply", "-f", invalid, "--auto-approve")],
    }


class Secrets(TwprovCase):
    fake_options = {"auth_token": AUTH_TOKEN, "api_secret": API_SECRET}

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.dir, "secrets"))
        with open(os.path.join(self.dir, "secrets", "carol"), "w") as f:
            f.write(FILE_PW + "\n")
        self.valid = self.write(FILE.replace("DOMAIN", "secret-test.sip.twilio.com"), "valid.yaml")
        self.invalid = self.write(INVALID, "invalid.yaml")
        # Twilio refuses the domain (21232: a subdomain of a domain the account does not
        # own) after the credentials were sent: a 400 whose message is printed
        self.broken = self.write(FILE.replace("DOMAIN", "x.notours.sip.twilio.com"), "broken.yaml")
        self.ours = {os.path.join(self.dir, p) for p in ("valid.yaml", "invalid.yaml", "broken.yaml",
                                                         "secrets/carol")}

    def secrets(self):
        """name -> every spelling of each secret that would betray it."""
        sid, key = self.fake.account_sid, self.fake.api_key
        raw = {"auth token": AUTH_TOKEN, "API secret": API_SECRET, "wrong token": WRONG_TOKEN,
               "wrong API secret": WRONG_API_SECRET, "file password": FILE_PW, "literal password": LITERAL_PW,
               "trunk password": TRUNK_PW, "weak env password": WEAK_ENV_PW,
               "weak literal password": WEAK_LITERAL_PW, "variable value": VARIABLE_SECRET,
               "encryption key": ENCRYPT_KEY, **SECRETS}
        out = {}
        for name, v in raw.items():
            out[name] = {v, quote(v, safe=""), quote_plus(v), json.dumps(v)[1:-1]}
        for user, pw in ((sid, AUTH_TOKEN), (key, API_SECRET), (sid, WRONG_TOKEN), (key, WRONG_API_SECRET)):
            out[f"basic auth {user}"] = {base64.b64encode(f"{user}:{pw}".encode()).decode()}
        return out

    def assertNothingLeaks(self, what, *texts):
        for name, spellings in self.secrets().items():
            for s in spellings:
                for t in texts:
                    self.assertNotIn(s, t, f"{what}: {name} leaked")

    def assertNoFileLeaks(self):
        """Files twprov may have written (a log, a cache) hold no secret."""
        for root, _, files in os.walk(self.dir):
            for f in files:
                path = os.path.join(root, f)
                if path in self.ours:
                    continue
                with open(path, "rb") as fh:
                    self.assertNothingLeaks(path, fh.read().decode("utf-8", "replace"))

    def credential_sets(self):
        return {name: dict(env, VARIABLE_SECRET=VARIABLE_SECRET, ENCRYPT_KEY=ENCRYPT_KEY, TWPROV_BUILD_POLL_MS="10")
                for name, env in self._credential_sets().items()}

    def _credential_sets(self):
        return {
            "auth token": self.env(TWILIO_AUTH_TOKEN=AUTH_TOKEN, TRUNK_PW=TRUNK_PW, WEAK_PW=WEAK_ENV_PW),
            "api key": self.env(TWILIO_AUTH_TOKEN=None, TWILIO_API_KEY=self.fake.api_key,
                                TWILIO_API_SECRET=API_SECRET, TRUNK_PW=TRUNK_PW, WEAK_PW=WEAK_ENV_PW),
            "wrong token": self.env(TWILIO_AUTH_TOKEN=WRONG_TOKEN, TRUNK_PW=TRUNK_PW, WEAK_PW=WEAK_ENV_PW),
            "wrong api secret": self.env(TWILIO_AUTH_TOKEN=None, TWILIO_API_KEY=self.fake.api_key,
                                         TWILIO_API_SECRET=WRONG_API_SECRET, TRUNK_PW=TRUNK_PW,
                                         WEAK_PW=WEAK_ENV_PW),
        }

    def commands(self):
        r = self.ok("--help")
        listed = r.out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        return [line.split()[0] for line in listed.splitlines() if line.strip()]

    def test_every_command_verbose_keeps_every_secret(self):
        # the phone files hold passwords by design: they go outside the checked directory
        out = tempfile.mkdtemp(prefix="twprov-phones-")
        self.addCleanup(lambda: __import__("shutil").rmtree(out, ignore_errors=True))
        runs = invocations(self.valid, self.invalid, self.broken, out)
        commands = self.commands()
        self.assertTrue({"validate", "plan", "apply"} <= set(commands), commands)
        self.assertEqual(sorted(set(commands) - set(runs)), [], "commands this test does not exercise")
        seen = set()
        variables = []
        for creds, env in self.credential_sets().items():
            variables += [v["value"] for v in self.fake.state()["variable"]]   # the last set's
            self.fake.reset()
            for cmd in commands:
                for args in runs[cmd]:
                    # under valgrind only the verbose runs: they take every path the quiet ones do
                    for verbosity in ((("-v", "-v"),) if WRAPPED else ((), ("-v", "-v"))):
                        r = self.twprov(*verbosity, *args, env=env)
                        what = f"{creds}: twprov {' '.join(verbosity + args)}"
                        self.assertNotIn(r.rc, (-6, -11), what)      # no crash
                        self.assertNothingLeaks(what, r.out, r.err)
                        if "--json" in args and r.out:
                            self.assertNothingLeaks(what, json.dumps(json.loads(r.out)))
                        seen.add((creds, cmd, r.rc))
                        # it did talk to the fake (gen-phone-config, show and schema are offline; an unknown
                        # user is found out first)
                        if verbosity and r.rc != 3 and cmd not in ("validate", "gen-phone-config", "show", "schema") and \
                                "nobody" not in args:
                            self.assertIn("> GET ", r.err, what)
        self.assertNoFileLeaks()
        # the matrix did reach what it means to: successes, invalid files, Twilio's 400,
        # rejected credentials, for every credential set
        for creds in ("auth token", "api key"):
            self.assertIn((creds, "apply", 0), seen)
            self.assertIn((creds, "apply", 1), seen)        # the 400
            self.assertIn((creds, "validate", 3), seen)
        for creds in ("wrong token", "wrong api secret"):
            self.assertIn((creds, "plan", 1), seen)
        self.assertIn(("auth token", "gen-phone-config", 0), seen)
        self.assertIn(("auth token", "remove-credential", 0), seen)
        self.assertIn(("auth token", "remove-credential", 1), seen)     # nobody to remove
        self.assertIn(("api key", "export", 0), seen)
        # the variable reached Twilio intact
        self.assertIn(VARIABLE_SECRET, variables)

    def test_what_the_failures_said(self):
        # the failing runs above printed Twilio's messages; these are the texts checked
        env = self.credential_sets()["auth token"]
        self.ok("apply", "-f", self.valid, "--auto-approve", env=env)
        # the five password updates start with the domain's create, which Twilio refuses
        r = self.twprov("-v", "-v", "apply", "-f", self.broken, "--auto-approve", "--sync-passwords", env=env)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("21232:", r.err)
        self.assertEqual(r.err.count("Password=(redacted)"), 5, r.err)
        r = self.twprov("-v", "-v", "plan", "-f", self.valid, env=self.credential_sets()["wrong token"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("20003", r.err)
        self.assertIn("hint: Twilio rejected the credentials", r.err)
        r = self.twprov("validate", "-f", self.invalid, env=env)
        self.assertEqual(r.rc, 3, r)
        self.assertIn("credentials[0].password:", r.err)
        self.assertIn("credentials[1].password:", r.err)
        self.assertIn('unknown key "pasword"', r.err)
        self.assertNothingLeaks("validate", r.out, r.err)
        # passwords reached Twilio intact all the same
        stored = {c["username"]: c["password"] for c in self.credentials()}
        self.assertEqual(stored, {"alice": SECRETS["SIP_PW_ALICE"], "bob": SECRETS["SIP_PW_BOB"], "carol": FILE_PW,
                                  "dave": LITERAL_PW, "pbx": TRUNK_PW})


class ReflectedSecrets(WithEvilServer, Secrets):
    """The same secrets against a server that echoes what it receives (tests/evil, mode
    reflect): its error messages quote the form body (passwords percent-encoded and decoded)
    and the Authorization header (raw and decoded), and its lists name resources after the
    decoded header.  twprov prints those messages and names with every secret it holds
    redacted."""

    test_what_the_failures_said = None      # Secrets' own (against the fake) runs once, there

    def test_every_command_verbose_keeps_every_secret(self):
        runs = invocations(self.valid, self.invalid, self.broken, tempfile.mkdtemp(prefix="twprov-phones-"))
        sets = self.credential_sets()
        modes = ({"only": "Password"}, {"only": "Password", "plain": True}, {"names": True})
        reflected = 0
        for creds in (("auth token",) if WRAPPED else ("auth token", "api key")):
            env = dict(sets[creds], TWPROV_API_URL=self.evil.url)
            for opts in (modes[::2] if WRAPPED else modes):
                for cmd in ("plan", "apply", "remove-credential"):
                    for args in runs[cmd]:
                        self.evil.reset()
                        self.evil.mode("reflect", **opts)
                        r = self.twprov("-v", "-v", *args, env=env)
                        what = f"{creds}, reflect {opts}: twprov {' '.join(args)}"
                        self.assertNotIn(r.rc, (-6, -11), what)
                        self.assertNothingLeaks(what, r.out, r.err)
                        if "--json" in args and r.out:
                            self.assertNothingLeaks(what, json.dumps(json.loads(r.out)))
                        reflected += "(redacted)" in r.out + r.err
        self.assertNoFileLeaks()
        # the server did echo secrets, and twprov redacted them: passwords in the create
        # messages, the token in every write's message and in the reflected names
        self.assertGreater(reflected, 6)

    def test_what_the_reflection_said(self):
        env = dict(self.credential_sets()["auth token"], TWPROV_API_URL=self.evil.url)
        self.evil.mode("reflect", only="Password")
        r = self.twprov("apply", "-f", self.valid, "--auto-approve", env=env)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("create failed: 21999: invalid request: Username=alice&Password=(redacted) / ", r.err)
        self.assertIn("Password=(redacted)", r.err)
        self.assertIn("'Password': '(redacted)'", r.err)
        self.assertIn(f"Basic (redacted) / {self.fake.account_sid}:(redacted)", r.err)
        self.assertNothingLeaks("apply", r.out, r.err)
        self.evil.reset()
        self.evil.mode("reflect", names=True)
        r = self.twprov("plan", "-f", self.valid, env=env)
        self.assertIn(f"credential_lists/{self.fake.account_sid}:(redacted)", r.out)
        self.assertNothingLeaks("plan", r.out, r.err)
        plan = json.loads(self.twprov("plan", "-f", self.valid, "--json", env=env).out)
        self.assertIn(f"{self.fake.account_sid}:(redacted)", {u["name"] for u in plan["unmanaged"]})
