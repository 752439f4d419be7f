"""twprov export: a file from an existing account that the next plan adopts as it is.

The property test makes random accounts directly through the fake's API (as the
Console would: never through twprov), with every kind, unusual names, unset
fields and fields set to Twilio's defaults, and holds export to its contract on
each: the file validates, plan --detailed-exitcode exits 0, a second export is
the same bytes, and applying the file to an empty account (owning the same
numbers) makes the same account."""

import hashlib
import json
import os
import random
import re
import shutil
import unicodedata

from harness import EVERY_KIND, EVERY_KIND_OWNED, SOURCE_DIR, WRAPPED, TwprovCase

STRONG = "Export-Adopted-2024x"     # the passwords the exported file's variables are set to

# Names a YAML writer gets wrong: indicators, quotes, spaces at either end, words YAML reads
# as booleans or nulls, numbers, dates, unicode.  All are valid names for twprov.
TRICKY = ["a: b", "x #y", "#hash", "say \"hi\"", "it's", "  leading", "trailing ", "yes", "No", "ON", "null",
          "~", "123", "0x1F", "1e3", "+1", "-dash", "- item", "[brackets]", "{braces}", "a, b", "ünïcødé",
          "日本語", "phone 📞", "@at", "`tick`", "*star", "&anchor", "!tag", "%pct", "| pipe", "> gt", "?q",
          "2024-01-01", "12:30", ".5", "true", "False", "<<", "back\\slash", "a\u00a0b"]
USER_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+!#$%&*=?^~|"


class Gen:
    """One random account, made through the fake's API; `owned` are its numbers."""

    def __init__(self, case, seed):
        self.t, self.rnd, self.seed = case, random.Random(seed), seed
        self.used = set()
        self.owned = []

    def api(self, method, path, params=None):
        status, body = self.t.fake.api(method, path, params)
        self.t.assertLess(status, 300, f"seed {self.seed}: {method} {path} {params}: {status} {body}")
        return body

    def name(self, maxlen=64):
        r = self.rnd
        while True:
            kind = r.random()
            if kind < 0.45:
                n = r.choice(TRICKY)
            elif kind < 0.6:
                n = r.choice(TRICKY) + " " + r.choice(TRICKY)
            else:
                n = "".join(r.choice("abcdefghij-_ .") for _ in range(r.randint(1, 12))).strip(" ") or "n"
            if n not in self.used and len(n) <= maxlen:
                self.used.add(n)
                return n

    def maybe(self, p=0.5):
        return self.rnd.random() < p

    def url(self):
        return self.rnd.choice(["https://example.com/voice", "https://h.example.org/a?b=c&d=e",
                                "http://10.0.0.1:8080/x", "https://example.twil.io/in"])

    def some(self, params, name, *values):
        """Leave the parameter out (unset, or Twilio's default), or send one of the values (a
        default among them: the file leaves it out all the same)."""
        if self.maybe(0.6):
            params[name] = self.rnd.choice(values)

    def make(self):
        r, A = self.rnd, "/2010-04-01/Accounts/{AccountSid}"
        cls = []
        for _ in range(r.randint(1, 2)):
            cl = self.api("POST", A + "/SIP/CredentialLists.json", {"FriendlyName": self.name()})
            cls.append(cl["sid"])
            users = set()
            for _ in range(r.randint(0, 3)):
                u = r.choice(["yes", "123", "a#b", "No", "user.name", "null"]) if self.maybe(0.3) else \
                    "".join(r.choice(USER_CHARS) for _ in range(r.randint(1, 32)))
                if u in users:
                    continue
                users.add(u)
                self.api("POST", A + f"/SIP/CredentialLists/{cl['sid']}/Credentials.json",
                         {"Username": u, "Password": f"Pw-{r.randrange(10**9)}-Xy"})
        als = []
        for _ in range(r.randint(1, 2)):
            al = self.api("POST", A + "/SIP/IpAccessControlLists.json", {"FriendlyName": self.name(255)})
            als.append(al["sid"])
            for _ in range(r.randint(0, 3)):
                p = {"FriendlyName": self.name(255), "IpAddress": ".".join(str(r.randrange(256)) for _ in range(4))}
                self.some(p, "CidrPrefixLength", 32, 24, 0, 16)
                self.api("POST", A + f"/SIP/IpAccessControlLists/{al['sid']}/IpAddresses.json", p)
        apps = []
        for _ in range(r.randint(0, 2)):
            p = {"FriendlyName": self.name()}
            for k in ("VoiceUrl", "VoiceFallbackUrl", "StatusCallback"):
                self.some(p, k, self.url())
            for k in ("VoiceMethod", "VoiceFallbackMethod", "StatusCallbackMethod"):
                self.some(p, k, "GET", "POST")
            self.some(p, "VoiceCallerIdLookup", True, False)
            apps.append(self.api("POST", A + "/Applications.json", p)["sid"])
        policies = []
        for _ in range(r.randint(0, 2)):
            ny = self.api("POST", "/v1/ConnectionPolicies", {"FriendlyName": self.name(255)})
            policies.append(ny["sid"])
            for _ in range(r.randint(0, 3)):
                p = {"FriendlyName": self.name(255), "Target": f"sip:sbc{r.randrange(99)}.example.com:5060"}
                self.some(p, "Priority", 10, 0, 20, 65535)
                self.some(p, "Weight", 10, 1, 60)
                self.some(p, "Enabled", True, False)
                self.api("POST", f"/v1/ConnectionPolicies/{ny['sid']}/Targets", p)
        domains = []
        for i in range(r.randint(1, 2)):
            p = {"DomainName": f"s{self.seed}-{i}-{r.randrange(10**6)}.sip.twilio.com"}
            if self.maybe():
                p["FriendlyName"] = self.name()
            for k in ("VoiceUrl", "VoiceFallbackUrl", "VoiceStatusCallbackUrl"):
                self.some(p, k, self.url())
            for k in ("VoiceMethod", "VoiceFallbackMethod", "VoiceStatusCallbackMethod"):
                self.some(p, k, "GET", "POST")
            for k in ("SipRegistration", "Secure", "EmergencyCallingEnabled"):
                self.some(p, k, True, False)
            d = self.api("POST", A + "/SIP/Domains.json", p)
            domains.append(d["sid"])
            base = A + f"/SIP/Domains/{d['sid']}/Auth"
            for cl in r.sample(cls, r.randint(0, len(cls))):
                self.api("POST", base + "/Calls/CredentialListMappings.json", {"CredentialListSid": cl})
            for cl in r.sample(cls, r.randint(0, len(cls))):
                self.api("POST", base + "/Registrations/CredentialListMappings.json", {"CredentialListSid": cl})
            for al in r.sample(als, r.randint(0, len(als))):
                self.api("POST", base + "/Calls/IpAccessControlListMappings.json", {"IpAccessControlListSid": al})
        for _ in range(r.randint(0, 2)):
            p = {"FriendlyName": self.name(255)}
            for k in ("VoiceUrl", "VoiceFallbackUrl", "StatusCallbackUrl"):
                self.some(p, k, self.url())
            for k in ("VoiceMethod", "VoiceFallbackMethod", "StatusCallbackMethod"):
                self.some(p, k, "GET", "POST")
            self.some(p, "CnamLookupEnabled", True, False)
            if policies and self.maybe():
                p["ConnectionPolicySid"] = r.choice(policies)
            if self.maybe():
                p["FromDomainSid"] = r.choice(domains)
            by = self.api("POST", "/v1/ByocTrunks", p)
            if self.maybe(0.3):
                self.api("POST", A + f"/SIP/Domains/{r.choice(domains)}.json", {"ByocTrunkSid": by["sid"]})
        trunks = []
        for i in range(r.randint(0, 2)):
            p = {"DomainName": f"t{self.seed}-{i}-{r.randrange(10**6)}.pstn.twilio.com"}
            if self.maybe():
                p["FriendlyName"] = self.name()
            self.some(p, "DisasterRecoveryUrl", self.url())
            self.some(p, "DisasterRecoveryMethod", "GET", "POST")
            self.some(p, "TransferMode", "disable-all", "enable-all", "sip-only")
            self.some(p, "TransferCallerId", "from-transferee", "from-transferor")
            self.some(p, "Secure", True, False)
            self.some(p, "CnamLookupEnabled", True, False)
            tk = self.api("POST", "/v1/Trunks", p)
            trunks.append(tk["sid"])
            rec = {}
            self.some(rec, "Mode", "do-not-record", "record-from-answer", "record-from-ringing-dual")
            self.some(rec, "Trim", "trim-silence", "do-not-trim")
            if rec:
                self.api("POST", f"/v1/Trunks/{tk['sid']}/Recording", rec)
            for _ in range(r.randint(0, 2)):
                self.api("POST", f"/v1/Trunks/{tk['sid']}/OriginationUrls",
                         {"FriendlyName": self.name(255), "SipUrl": f"sip:10.0.{r.randrange(256)}.1:5060",
                          "Priority": r.choice([10, 0, 5]), "Weight": r.choice([10, 1, 50]),
                          "Enabled": r.choice([True, False])})
            for cl in r.sample(cls, r.randint(0, len(cls))):
                self.api("POST", f"/v1/Trunks/{tk['sid']}/CredentialLists", {"CredentialListSid": cl})
            for al in r.sample(als, r.randint(0, len(als))):
                self.api("POST", f"/v1/Trunks/{tk['sid']}/IpAccessControlLists", {"IpAccessControlListSid": al})
        svc = self.service() if self.maybe(0.7) else None
        addresses = self.addresses()
        self.owned = [f"+1650{self.seed % 1000:03d}{i:04d}" for i in range(r.randint(1, 3))]
        numbers = self.t.fake.add_owned(self.owned)
        for pn in numbers:
            p = {}
            if self.maybe():
                p["FriendlyName"] = self.name()
            route = r.random()
            if route < 0.25 and trunks:
                p["TrunkSid"] = r.choice(trunks)
            elif route < 0.5 and apps:
                p["VoiceApplicationSid"] = r.choice(apps)
            elif route < 0.65 and svc:
                p["VoiceUrl"] = f"https://{svc}"
            if self.maybe(0.3):     # a URL left over under another routing: Twilio keeps it, unused
                p.setdefault("VoiceUrl", self.url())
            self.some(p, "VoiceMethod", "GET", "POST")
            self.some(p, "VoiceFallbackUrl", self.url())
            self.some(p, "StatusCallback", self.url())
            self.some(p, "StatusCallbackMethod", "GET", "POST")
            self.some(p, "VoiceReceiveMode", "voice", "fax")
            self.some(p, "VoiceCallerIdLookup", True, False)
            if addresses and self.maybe(0.4):
                p["EmergencyAddressSid"] = r.choice(addresses)
            if p:
                self.api("POST", A + f"/IncomingPhoneNumbers/{pn['sid']}.json", p)
        if self.maybe(0.3):
            self.api("POST", A + f"/SIP/Domains/{r.choice(domains)}.json",
                     {"EmergencyCallerSid": r.choice(numbers)["sid"]})
        self.permissions()

    def addresses(self):
        """Addresses as a user types them: Twilio stores US ones corrected ("1 main street" is
        "1 Main St"); the emergency ones the numbers may use.  Returns those."""
        r, A, emergency = self.rnd, "/2010-04-01/Accounts/{AccountSid}", []
        for _ in range(r.randint(0, 2)):
            us = self.maybe()
            p = {"FriendlyName": self.name(32), "CustomerName": self.name(),
                 "Street": r.choice(["1 main street", "20 Elm Ave", "5 oak road"]) if us else "10 Downing Street",
                 "City": "springfield" if us else "London", "Region": "il" if us else "Greater London",
                 "PostalCode": r.choice(["62701", "62701-1234"]) if us else "SW1A 2AA", "IsoCountry": "US" if us else "GB"}
            self.some(p, "StreetSecondary", "apt 4", "Floor 2")
            self.some(p, "EmergencyEnabled", True, False)
            ad = self.api("POST", A + "/Addresses.json", p)
            if p.get("EmergencyEnabled") is True:
                emergency.append(ad["sid"])
        return emergency

    def permissions(self):
        """Dialing permissions.  US (a new account's home: its low-risk numbers open) keeps them
        open: a file leaves out a country at the default of every other one, so an export cannot
        tell a closed home country from a foreign one (twprov-export(1), DEFAULTS)."""
        r = self.rnd
        if self.maybe():
            upd = []
            for c in r.sample(["GB", "FR", "DE", "MX", "JP", "BS", "US"], r.randint(1, 3)):
                o = {"iso_code": c}
                for flag in ("low_risk_numbers_enabled", "high_risk_special_numbers_enabled",
                             "high_risk_tollfraud_numbers_enabled"):
                    if self.maybe():
                        o[flag] = r.choice(["true", "false"])
                if c == "US":
                    o["low_risk_numbers_enabled"] = "true"
                upd.append(o)
            self.api("POST", "/v1/DialingPermissions/BulkCountryUpdates", {"UpdateRequest": json.dumps(upd)})
        if self.maybe(0.3):
            self.api("POST", "/v1/Settings", {"DialingPermissionsInheritance": r.choice([True, False])})

    def service(self):
        """A service built and deployed as the Console does: no twprov manifest; public assets
        only (Twilio serves no other kind back).  Returns a deployed function's domain/path."""
        r = self.rnd
        p = {"UniqueName": f"svc-{self.seed}-{r.randrange(10**4)}", "FriendlyName": self.name(255)}
        if self.maybe(0.3):
            p["FriendlyName"] = p["UniqueName"]
        self.some(p, "IncludeCredentials", True, False)
        self.some(p, "UiEditable", True, False)
        zs = self.api("POST", "/v1/Services", p)["sid"]
        envs = []
        for i in range(r.randint(1, 2)):
            e = {"UniqueName": self.name(100)}
            if i or self.maybe():
                e["DomainSuffix"] = f"e{i}{r.randrange(99)}"
            env = self.api("POST", f"/v1/Services/{zs}/Environments", e)
            envs.append(env)
            for _ in range(r.randint(0, 3)):
                self.api("POST", f"/v1/Services/{zs}/Environments/{env['sid']}/Variables",
                         {"Key": r.choice(["API_KEY", "yes", "123", "a b", "x:y", "日本"]) + str(r.randrange(99)),
                          "Value": r.choice(["", "v", "null", "line\nbreak", "  padded ", "ünï", "true"])})
        fvs, avs, paths = [], [], set()
        for _ in range(r.randint(1, 2)):
            path = r.choice(["/hello", "/a/b", "/x.js", "/日本", "/q-1"])
            if path in paths:
                continue
            paths.add(path)
            zh = self.api("POST", f"/v1/Services/{zs}/Functions", {"FriendlyName": path})["sid"]
            code = f"exports.handler = (c, e, cb) => cb(null, {json.dumps(self.name())});\n"
            status, v = self.t.fake.upload(zs, f"Functions/{zh}", path, code, r.choice(["public", "protected"]))
            self.t.assertEqual(status, 201, v)
            fvs.append(v["sid"])
        for _ in range(r.randint(0, 2)):
            path = r.choice(["/hold.mp3", "/img/logo.png", "/data.json", "/ünï.txt"])
            if path in paths:
                continue
            paths.add(path)
            zh = self.api("POST", f"/v1/Services/{zs}/Assets", {"FriendlyName": path})["sid"]
            status, v = self.t.fake.upload(zs, f"Assets/{zh}", path, bytes(r.randrange(256) for _ in range(64)), "public")
            self.t.assertEqual(status, 201, v)
            avs.append(v["sid"])
        b = {"FunctionVersions": fvs, "AssetVersions": avs}
        if self.maybe():
            b["Dependencies"] = json.dumps([{"name": "twilio", "version": "5.3.0"}])
        self.some(b, "Runtime", "node18", "node20", "node22")
        zb = self.api("POST", f"/v1/Services/{zs}/Builds", b)["sid"]
        self.api("GET", f"/v1/Services/{zs}/Builds/{zb}/Status")   # the fake's build_polls is 0
        for env in envs:
            self.api("POST", f"/v1/Services/{zs}/Environments/{env['sid']}/Deployments", {"BuildSid": zb})
        fn = sorted(paths & {"/hello", "/a/b", "/x.js", "/q-1"})
        return envs[0]["domain_name"] + fn[0] if fn else None


def normal(fake):
    """The account as plain data that two accounts made alike share: names for SIDs, no dates, no
    passwords; Serverless as what each environment serves (without twprov's manifest), domains as
    SERVICE/ENVIRONMENT."""
    st = fake.state()
    name = {}
    for kind, key in (("credential_list", "friendly_name"), ("ip_acl", "friendly_name"), ("application", "friendly_name"),
                      ("address", "friendly_name"),
                      ("connection_policy", "friendly_name"), ("byoc_trunk", "friendly_name"), ("sip_domain", "domain_name"),
                      ("trunk", "domain_name"), ("incoming_number", "phone_number"), ("service", "unique_name"),
                      ("environment", "unique_name")):
        for rec in st[kind]:
            name[rec["sid"]] = rec[key]
    domains = {}
    for e in st["environment"]:
        domains[e["domain_name"]] = f"{name[e['service_sid']]}/{e['unique_name']}"
    drop = {"sid", "account_sid", "date_created", "date_updated", "uri", "url", "links", "subresource_uris",
            "parent_sid", "password", "domain_base", "domain_name", "build_sid", "auth_type", "auth_type_set"}

    def clean(v):
        if isinstance(v, str):
            if v in name:
                return name[v]
            for d, n in domains.items():
                v = v.replace(d, n)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if k not in drop}
        return v

    out = {}
    for kind in ("credential_list", "credential", "ip_acl", "ip_address", "calls_cl", "calls_al", "registrations_cl",
                 "application", "connection_policy", "target", "byoc_trunk", "sip_domain", "trunk", "origination_url",
                 "trunk_cl", "trunk_al", "incoming_number", "service", "environment", "variable", "address"):
        rows = []
        for rec in st[kind]:
            row = clean(rec)
            row["parent"] = name.get(rec["parent_sid"], rec["parent_sid"] and "?")
            if kind in ("calls_cl", "calls_al", "registrations_cl", "trunk_cl", "trunk_al"):
                row["target"] = name[rec["sid"]]
            if kind == "incoming_number" and (rec["trunk_sid"] or rec["voice_application_sid"]):
                # a voice_url unused under a trunk or an application is not managed: export leaves it out
                row.pop("voice_url", None)
            if kind == "environment":
                d = fake.deployed(rec["service_sid"], rec["sid"])
                row["serves"] = {"functions": {p: [f["sha256"], f["visibility"]] for p, f in d["functions"].items()
                                               if p != "/_twprov/manifest"},
                                 "assets": {p: [a["sha256"], a["visibility"]] for p, a in d["assets"].items()},
                                 "dependencies": d["dependencies"], "runtime": d["runtime"]}
                row["domain_suffix"] = rec["domain_suffix"]
            rows.append(json.dumps(row, sort_keys=True, ensure_ascii=False))
        out[kind] = sorted(rows)
    out["dialing_permissions"] = st["dialing_permissions"]
    return out


class Export(TwprovCase):
    # emergency registrations complete at once: apply waits for them otherwise
    fake_options = {"build_polls": 0, "emergency_lag": 0}

    def env(self, **extra):
        return super().env(TWPROV_BUILD_POLL_MS="10", **extra)

    def export(self, *args, rc=0, out="out/twprov.yaml"):
        r = self.twprov("export", "-o", out, *args) if out else self.twprov("export", *args)
        self.assertEqual(r.rc, rc, r)
        self.assertNoSecrets(r.out, r.err)
        return r

    def tree(self, top="out"):
        """Every file export wrote: relative name -> bytes."""
        files = {}
        root = os.path.join(self.dir, top)
        for d, _, names in os.walk(root):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    files[os.path.relpath(os.path.join(d, n), root)] = f.read()
        return files

    def variables(self, path="out/twprov.yaml"):
        with open(os.path.join(self.dir, path)) as f:
            return {v: STRONG for v in re.findall(r"\$\{env:(\w+)\}", f.read())}

    def adopted(self, path="out/twprov.yaml"):
        """validate and plan --detailed-exitcode pass on the exported file; returns its env."""
        env = self.env(**self.variables(path))
        r = self.twprov("validate", "-f", path, env=env)
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("literal secret", r.err)
        r = self.twprov("plan", "-f", path, "--detailed-exitcode", env=env)
        self.assertEqual(r.rc, 0, r)
        return env

    def adopted_but_for(self, address):
        """plan shows the removal of `address` (left out), then a new build and its deployment."""
        r = self.twprov("plan", "-f", "out/twprov.yaml", "--json", env=self.env(**self.variables()))
        self.assertEqual(r.rc, 0, r)
        changes = [(c["address"], c["action"]) for c in json.loads(r.out)["changes"]]
        self.assertIn((address, "delete"), changes)
        self.assertEqual({a for a, _ in changes if a != address and "/_twprov/" not in a},
                         {address.split("/assets/")[0]} | {a for a, c in changes if c == "deploy"}, changes)
        return changes

    # --- the property ---------------------------------------------------------------

    def test_random_accounts_are_adopted_as_they_are(self):
        # 200 accounts in CI; under valgrind (every run ~1 s of its start-up) 6 of them
        n = int(os.environ.get("TWPROV_EXPORT_ACCOUNTS", 6 if WRAPPED else 200))
        base = int(os.environ.get("TWPROV_EXPORT_SEED", 1000))
        for seed in range(base, base + n):
            with self.subTest(seed=seed):
                self.fake.reset()
                shutil.rmtree(os.path.join(self.dir, "out"), ignore_errors=True)
                g = Gen(self, seed)
                g.make()
                before = normal(self.fake)
                self.export()
                first = self.tree()
                env = self.adopted()
                self.export()
                self.assertEqual(self.tree(), first, f"seed {seed}: a second export differs")
                # the same file applied to an empty account (that owns the same numbers)
                self.fake.reset()
                self.fake.add_owned(g.owned)
                r = self.twprov("apply", "-f", "out/twprov.yaml", "--auto-approve", env=env)
                self.assertEqual(r.rc, 0, f"seed {seed}: {r}")
                self.assertEqual(normal(self.fake), before, f"seed {seed}: the account made from the file differs")
                for c in self.fake.state()["credential"]:
                    self.assertEqual(c["password"], STRONG)
                self.assertEqual(self.fake.violations(), [], f"seed {seed}")

    # --- what only the kinds know ------------------------------------------------------

    def every_kind(self, private_asset=True):
        text = EVERY_KIND if private_asset else EVERY_KIND.replace(
            '      - {path: /private.txt, content: "private", visibility: private}\n', "")
        self.assertEqual(private_asset, "/private.txt" in text)
        self.fake.add_owned(EVERY_KIND_OWNED)
        self.fake.seed_available(["+16505550000"])
        path = self.write(text, "every.yaml")
        self.ok("apply", "-f", path, "--auto-approve", "--allow-purchase")
        return path

    def test_generated_functions_come_back_as_their_configuration(self):
        self.every_kind(private_asset=False)
        r = self.export()
        self.assertIn("Exported ", r.err)
        files = self.tree()
        text = files.pop("twprov.yaml").decode()
        self.assertNotIn("_twprov", text + "".join(files))
        self.assertIn("  outbound:\n    service: office-voice\n    default_caller_id: \"+16505550000\"\n"
                      "    allowed_destinations: [\"+1\"]\n", text)
        self.assertIn("  ring: [alice, bob]\n", text)
        self.assertIn("    caller_id: \"+16505551111\"\n", text)
        self.assertIn("  voice_url: {service: office-voice, path: /byoc-in}\n", text)
        self.assertEqual(files["office-voice/assets/hold.mp3"], b"ID3 not really an mp3")
        self.assertEqual(files["office-voice/functions/hello.js"], b"exports.handler = (c, e, cb) => cb(null, 'hello');\n")
        self.assertIn("# Planned against that account it shows no changes.\n", text)
        for name in ("SIP_PW_OFFICE_PHONES__ALICE", "SIP_PW_OFFICE_PHONES__BOB", "SIP_PW_ASTERISK_AUTH__ADMIN"):
            self.assertIn(f"password: ${{env:{name}}}\n", text)
            self.assertRegex(r.err, rf"\n  {name}  credential_lists/")
        self.adopted()
        self.export()
        self.assertEqual(self.tree()["twprov.yaml"].decode(), text)

    def test_an_asset_that_cannot_be_downloaded_is_left_out_saying_why(self):
        self.every_kind(private_asset=True)
        r = self.export()
        why = "services/office-voice/assets/private.txt: a private asset cannot be downloaded: Twilio serves it " \
              "to no one but functions"
        self.assertIn(f"warning: {why}\n", r.err)
        self.assertIn("warning: plan will not be empty", r.err)
        text = self.tree()["twprov.yaml"].decode()
        self.assertIn(f"# Left out:\n#   {why}\n", text)
        self.assertIn("# Planned against that account it shows 4 changes (export listed them).\n", text)
        self.assertNotIn("private.txt", text.split("twprov: 1\n", 1)[1])
        # plan says the same: the asset is not in the file, so the next apply redeploys without it
        self.assertEqual(len(self.adopted_but_for("services/office-voice/assets/private.txt")), 4)

    def test_a_protected_asset_of_a_console_build_is_left_out(self):
        zs = self.api("POST", "/v1/Services", {"UniqueName": "console", "FriendlyName": "console"})["sid"]
        env = self.api("POST", f"/v1/Services/{zs}/Environments", {"UniqueName": "prod"})
        vs = []
        for path, vis, data in (("/hello", "public", "exports.handler = (c, e, cb) => cb(null, 1);\n"),
                                ("/hold.mp3", "public", b"\x00\xffID3"), ("/secret.txt", "protected", b"s")):
            kind = "Functions" if path == "/hello" else "Assets"
            zh = self.api("POST", f"/v1/Services/{zs}/{kind}", {"FriendlyName": path})["sid"]
            status, v = self.fake.upload(zs, f"{kind}/{zh}", path, data, vis)
            vs.append((kind, v["sid"]))
        zb = self.api("POST", f"/v1/Services/{zs}/Builds", {
            "FunctionVersions": [s for k, s in vs if k == "Functions"],
            "AssetVersions": [s for k, s in vs if k == "Assets"]})["sid"]
        self.api("GET", f"/v1/Services/{zs}/Builds/{zb}/Status")   # the fake's build_polls is 0
        self.api("POST", f"/v1/Services/{zs}/Environments/{env['sid']}/Deployments", {"BuildSid": zb})
        r = self.export()
        self.assertIn("warning: services/console/assets/secret.txt: a protected asset cannot be downloaded: Twilio "
                      "serves it only to requests Twilio signed\n", r.err)
        self.assertEqual(self.tree()["console/assets/hold.mp3"], b"\x00\xffID3")
        # the public asset came from its deployed URL (read as plan reads it, to compare, and for the
        # file); the protected one was never asked for
        got = [e for e in self.fake.log() if e.get("host") == env["domain_name"]]
        self.assertEqual({(e["path"], e["status"]) for e in got}, {("/hold.mp3", 200)})
        self.adopted_but_for("services/console/assets/secret.txt")

    def test_every_example_and_every_route_comes_back_as_written(self):
        """The examples (a BYOC trunk's inbound routes by number, a dialer with PBX-style routes,
        ring lists) and test_routes' file (every target of an outbound route) are applied, then
        exported: the file plans no changes, has no generated function, and exports again the same."""
        routes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_routes.py")
        with open(routes) as f:
            routes_file = re.search(r'^ROUTES = """\\\n(.*?)^"""', f.read(), re.M | re.S)[1]
        files = {}
        for name in sorted(os.listdir(os.path.join(SOURCE_DIR, "examples"))):
            with open(os.path.join(SOURCE_DIR, "examples", name)) as f:
                files[name] = f.read()
        files["routes.yaml"] = routes_file.replace("\\\\", "\\")
        for name, text in files.items():
            with self.subTest(example=name):
                self.fake.reset()
                shutil.rmtree(os.path.join(self.dir, "out"), ignore_errors=True)
                self.fake.add_owned(re.findall(r'number: "(\+\d+)"', text))
                path = self.write(text, name)
                env = self.env(**{v: STRONG for v in re.findall(r"\$\{env:(\w+)\}", text)})
                r = self.twprov("apply", "-f", path, "--auto-approve", env=env)
                self.assertEqual(r.rc, 0, r)
                r = self.export()
                self.assertNotIn("warning: plan will not be empty", r.err)
                first = self.tree()
                self.assertNotIn("_twprov", first["twprov.yaml"].decode())
                self.adopted()
                self.export()
                self.assertEqual(self.tree(), first)
                if "inbound:" in text:
                    self.assertIn("  inbound:\n", first["twprov.yaml"].decode())
                if "routes:" in text:
                    self.assertIn("    routes:\n", first["twprov.yaml"].decode())

    def test_generated_functions_whose_configuration_is_not_exported(self):
        self.every_kind(private_asset=False)
        r = self.export("--kinds", "services")
        for path in ("outbound", "ring"):
            self.assertIn(f"warning: services/office-voice/functions/_twprov/{path}: twprov generated it from "
                          "configuration that names what the file does not hold, or that cannot be read back\n", r.err)
        self.assertIn("warning: plan will not be empty", r.err)

    def test_a_function_named_otherwise_than_its_path_is_left_out(self):
        zs = self.api("POST", "/v1/Services", {"UniqueName": "console", "FriendlyName": "console"})["sid"]
        env = self.api("POST", f"/v1/Services/{zs}/Environments", {"UniqueName": "prod"})
        zh = self.api("POST", f"/v1/Services/{zs}/Functions", {"FriendlyName": "/greeting"})["sid"]
        status, v = self.fake.upload(zs, f"Functions/{zh}", "/hello", "exports.handler = 1;\n", "public")
        zb = self.api("POST", f"/v1/Services/{zs}/Builds", {"FunctionVersions": [v["sid"]]})["sid"]
        self.api("GET", f"/v1/Services/{zs}/Builds/{zb}/Status")
        self.api("POST", f"/v1/Services/{zs}/Environments/{env['sid']}/Deployments", {"BuildSid": zb})
        r = self.export()
        self.assertIn("warning: services/console/functions/greeting: served at /hello: twprov names a function by its "
                      "path (its FriendlyName): rename it to its path\n", r.err)
        # a name that is no path at all: the service is not written (declared without the
        # function, it would lose it)
        self.api("POST", f"/v1/Services/{zs}/Functions/{zh}", {"FriendlyName": "hello"})
        r = self.export()
        self.assertIn(f'warning: services/console: services/console/functions/hello ({zh}): its path cannot be written '
                      f'in a twprov file: not a path: "hello" (it must start with /); declared without it, '
                      f'services/console would lose it at the next apply\n', r.err)
        self.assertNotIn("services:", self.tree()["twprov.yaml"].decode())
        # renamed, it is adopted as it is: the build stays, nothing is uploaded
        self.api("POST", f"/v1/Services/{zs}/Functions/{zh}", {"FriendlyName": "/hello"})
        shutil.rmtree(os.path.join(self.dir, "out"))
        self.export()
        self.assertEqual(self.tree()["console/functions/hello.js"], b"exports.handler = 1;\n")
        self.adopted()

    # --- what cannot be written ------------------------------------------------------

    def test_two_live_resources_with_one_identity_write_nothing(self):
        A = "/2010-04-01/Accounts/{AccountSid}"
        a = self.fake.insert(A + "/SIP/IpAccessControlLists.json", {"FriendlyName": "pbx"})
        b = self.fake.insert(A + "/SIP/IpAccessControlLists.json", {"FriendlyName": "pbx"})
        ny = self.api("POST", "/v1/ConnectionPolicies", {"FriendlyName": "carrier"})["sid"]
        t = [self.api("POST", f"/v1/ConnectionPolicies/{ny}/Targets", {"FriendlyName": "sbc", "Target": "sip:a.example"})
             for _ in range(2)]
        r = self.export(rc=1)
        self.assertIn(f"error: ip_access_control_lists/pbx: 2 resources with this identity exist at Twilio ({a['sid']}, "
                      f"{b['sid']}); a file can declare only one: delete or rename the extra ones\n", r.err)
        self.assertIn(f"error: connection_policies/carrier/targets/sbc: 2 resources with this identity exist at Twilio "
                      f"({t[0]['sid']}, {t[1]['sid']})", r.err)
        self.assertIn("error: the account cannot be exported: 2 problems (nothing was written)\n", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out")))
        r = self.twprov("export")
        self.assertEqual((r.rc, r.out), (1, ""))

    def test_names_a_file_cannot_hold(self):
        A = "/2010-04-01/Accounts/{AccountSid}"
        app = self.api("POST", A + "/Applications.json", {"FriendlyName": "${env:HOME}"})
        self.api("POST", A + "/Applications.json", {})    # no name at all
        r = self.export()
        self.assertIn(f"warning: applications/${{env:HOME}}: its name cannot be written in a twprov file: reads as a "
                      f"secret reference (${{env:...}} or ${{file:...}}) ({app['sid']}); plan lists it as not managed\n",
                      r.err)
        self.assertIn("warning: applications/?: it has no name (twprov names it by its name)", r.err)
        self.adopted()
        # a child that cannot be written would be deleted by the first apply: its top-level resource
        # is left out, and what maps it too, so the file stays valid
        al = self.api("POST", A + "/SIP/IpAccessControlLists.json", {"FriendlyName": "pbx"})["sid"]
        ip = self.api("POST", A + f"/SIP/IpAccessControlLists/{al}/IpAddresses.json",
                      {"FriendlyName": "bell\u0007", "IpAddress": "10.0.0.1"})
        self.api("POST", A + "/SIP/IpAccessControlLists.json", {"FriendlyName": "other"})
        tk = self.api("POST", "/v1/Trunks", {"DomainName": "pbx.pstn.twilio.com"})["sid"]
        shutil.rmtree(os.path.join(self.dir, "out"))
        r = self.export()
        self.assertIn(f'warning: ip_access_control_lists/pbx: ip_access_control_lists/pbx/addresses/bell\\a ({ip["sid"]}): '
                      f'its name cannot be written in a twprov file: contains a control character: "bell\\a"; '
                      f'declared without it, ip_access_control_lists/pbx would lose it at the next apply\n', r.err)
        self.assertIn("- name: other\n", self.tree()["twprov.yaml"].decode())
        self.adopted()
        # ... unless something the file declares maps it: then nothing is written
        self.api("POST", f"/v1/Trunks/{tk}/IpAccessControlLists", {"IpAccessControlListSid": al})
        shutil.rmtree(os.path.join(self.dir, "out"))
        r = self.export(rc=1)
        self.assertIn('error: sip_trunks/pbx.pstn.twilio.com/ip_access_control_lists/pbx: names ip_access_control_lists '
                      '"pbx", which is left out\n', r.err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out")))

    def test_password_variables_are_named_after_the_list_and_user(self):
        A = "/2010-04-01/Accounts/{AccountSid}"
        for name in ("office-phones", "office_phones", "lab"):
            cl = self.api("POST", A + "/SIP/CredentialLists.json", {"FriendlyName": name})["sid"]
            for user in ("alice", "Alice.Smith"):
                self.api("POST", A + f"/SIP/CredentialLists/{cl}/Credentials.json",
                         {"Username": user, "Password": "Some-Password-2024"})
        r = self.export()
        names = re.findall(r"\n  (SIP_PW_\w+)  (\S+)", r.err)
        self.assertEqual(len(names), 6, r.err)
        self.assertIn(("SIP_PW_LAB__ALICE", "credential_lists/lab/credentials/alice"), names)
        self.assertIn(("SIP_PW_LAB__ALICE_SMITH", "credential_lists/lab/credentials/Alice.Smith"), names)
        # office-phones and office_phones would both be SIP_PW_OFFICE_PHONES__ALICE: each gets the
        # start of its address's SHA-256
        for addr in ("credential_lists/office-phones/credentials/alice", "credential_lists/office_phones/credentials/alice"):
            want = "SIP_PW_OFFICE_PHONES__ALICE_" + hashlib.sha256(addr.encode()).hexdigest()[:8]
            self.assertIn((want, addr), names)
        self.adopted()

    # --- options ------------------------------------------------------------------

    def test_kinds_limit_what_is_written(self):
        A = "/2010-04-01/Accounts/{AccountSid}"
        cl = self.api("POST", A + "/SIP/CredentialLists.json", {"FriendlyName": "office"})["sid"]
        self.api("POST", A + f"/SIP/CredentialLists/{cl}/Credentials.json", {"Username": "alice", "Password": "Some-Password-2024"})
        self.api("POST", A + "/SIP/CredentialLists.json", {"FriendlyName": "unmapped"})
        d = self.api("POST", A + "/SIP/Domains.json", {"DomainName": "kinds.sip.twilio.com", "SipRegistration": True})["sid"]
        self.api("POST", A + f"/SIP/Domains/{d}/Auth/Calls/CredentialListMappings.json", {"CredentialListSid": cl})
        by = self.api("POST", "/v1/ByocTrunks", {"FriendlyName": "carrier", "FromDomainSid": d})["sid"]
        self.api("POST", A + f"/SIP/Domains/{d}.json", {"ByocTrunkSid": by})
        self.api("POST", A + "/Applications.json", {"FriendlyName": "app"})
        r = self.export("--kinds", "sip_domains")
        text = self.tree()["twprov.yaml"].decode()
        self.assertIn("warning: sip_domains/kinds.sip.twilio.com: byoc_trunk left out: it names byoc_trunks/carrier, and "
                      "byoc_trunks are not exported (--kinds)\n", r.err)
        self.assertIn("warning: credential_lists/office: written although its kind is not in --kinds: "
                      "sip_domains/kinds.sip.twilio.com/auth.calls.credential_lists/office\n", r.err)
        body = text.split("twprov: 1\n", 1)[1]
        self.assertEqual(re.findall(r"^(\w+):", body, re.M), ["credential_lists", "sip_domains"])
        self.assertNotIn("unmapped", body)
        self.assertNotIn("byoc_trunk", body)
        self.adopted()
        r = self.export("--kinds", "byoc_trunks,applications", out="out/b.yaml")
        body = self.tree()["b.yaml"].decode().split("twprov: 1\n", 1)[1]
        self.assertEqual(re.findall(r"^(\w+):", body, re.M), ["byoc_trunks", "applications"])
        self.assertIn("from_domain left out: it names sip_domains/kinds.sip.twilio.com, and sip_domains are not exported",
                      r.err)
        self.adopted("out/b.yaml")
        for bad, msg in (("nosuch", '--kinds: "nosuch" is not a kind of resource'),
                         ("credentials", '--kinds: "credentials" is not a kind of resource'),
                         ("devices", '--kinds: "devices" is not a kind of resource'), (",", "--kinds: no kind named")):
            r = self.twprov("export", "--kinds", bad)
            self.assertEqual(r.rc, 64, r)
            self.assertIn(f"error: {msg}", r.err)

    def test_standard_output_and_source_dir(self):
        self.every_kind(private_asset=False)
        r = self.twprov("export")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("twprov: 1\n", r.out)
        self.assertIn("source: office-voice/functions/hello.js\n", r.out)
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "office-voice", "functions", "hello.js")))
        self.assertIn("Exported 3", r.err)
        self.assertIn("to standard output, with function and asset files in .", r.err)
        r = self.export("--source-dir", "code", out="conf/twprov.yaml")
        text = self.tree("conf")["twprov.yaml"].decode()
        self.assertIn("source: \"../code/office-voice/functions/hello.js\"\n", text)
        self.assertEqual(sorted(self.tree("code")), ["office-voice/assets/hold.mp3", "office-voice/functions/byoc-in.js",
                                                      "office-voice/functions/hello.js"])
        self.adopted("conf/twprov.yaml")
        absolute = os.path.join(self.dir, "abs")
        self.export("--source-dir", absolute, out="conf/abs.yaml")
        self.assertIn(f"source: {absolute}/office-voice/functions/hello.js\n", self.tree("conf")["abs.yaml"].decode())
        for args in (("export", "extra"), ("export", "--parallelism", "0"), ("export", "--nosuch")):
            self.assertEqual(self.twprov(*args).rc, 64)

    def test_verbose_traces_and_no_secret(self):
        self.every_kind(private_asset=False)
        r = self.twprov("-v", "export", "-o", "out/twprov.yaml")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("> GET http", r.err)
        self.assertIn("/Versions/", r.err)
        self.assertNoSecrets(r.out, r.err)
        self.assertNotIn(self.fake.auth_token, r.err)
