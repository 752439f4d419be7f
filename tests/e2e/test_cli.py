"""Command line behaviour: options, exit codes, credentials, confirmation, JSON, targets."""

import json
import os
import re
import subprocess

from harness import OFFICE, SECRETS, TwprovCase, argv


class Cli(TwprovCase):

    def test_help_and_version(self):
        top = self.ok("--help")
        self.assertIn("usage: twprov", top.out)
        for cmd in ("validate", "plan", "apply"):
            self.assertIn(f"  {cmd} ", top.out)
            r = self.ok(cmd, "--help")
            self.assertIn(f"usage: twprov {cmd}", r.out)
        r = self.ok("--version")
        self.assertRegex(r.out, r"^twprov \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_64(self):
        self.assertEqual(self.twprov().rc, 64)
        r = self.twprov("frobnicate")
        self.assertEqual(r.rc, 64)
        self.assertIn("unknown command: frobnicate", r.err)
        self.assertEqual(self.twprov("plan", "--no-such-option").rc, 64)
        r = self.twprov("apply", "--parallelism", "zero")
        self.assertEqual(r.rc, 64)
        self.assertIn("--parallelism", r.err)
        self.assertEqual(self.twprov("plan", "extra-arg").rc, 64)

    def test_global_options_before_or_after_command(self):
        path = self.write(OFFICE)
        self.ok("-f", path, "validate")
        self.ok("validate", "-f", path)
        self.ok("--file", path, "--no-color", "validate")

    def test_missing_file(self):
        r = self.twprov("validate", "-f", "nope.yaml")
        self.assertEqual(r.rc, 3)
        self.assertIn("nope.yaml", r.err)
        self.assertIn("No such file", r.err)

    def test_missing_credentials(self):
        path = self.write(OFFICE)
        r = self.twprov("plan", "-f", path, env=self.env(TWILIO_ACCOUNT_SID=None))
        self.assertEqual(r.rc, 1)
        self.assertIn("TWILIO_ACCOUNT_SID is not set", r.err)
        r = self.twprov("plan", "-f", path, env=self.env(TWILIO_AUTH_TOKEN=None))
        self.assertEqual(r.rc, 1)
        self.assertIn("TWILIO_AUTH_TOKEN", r.err)
        r = self.twprov("plan", "-f", path, env=self.env(TWILIO_ACCOUNT_SID="AC123"))
        self.assertEqual(r.rc, 1)
        self.assertIn("not an account SID", r.err)
        r = self.twprov("plan", "-f", path, env=self.env(TWILIO_API_KEY=self.fake.api_key))
        self.assertEqual(r.rc, 1)
        self.assertIn("TWILIO_API_SECRET", r.err)
        self.assertEqual(self.log(), [])

    def test_wrong_token_is_explained(self):
        path = self.write(OFFICE)
        r = self.twprov("plan", "-f", path, env=self.env(TWILIO_AUTH_TOKEN="wrong-token-123"))
        self.assertEqual(r.rc, 1)
        self.assertIn("20003", r.err)
        self.assertIn("hint: Twilio rejected the credentials", r.err)
        self.assertNotIn("wrong-token-123", r.out + r.err)

    def test_api_key_credentials(self):
        path = self.write(OFFICE)
        env = self.env(TWILIO_AUTH_TOKEN=None, TWILIO_API_KEY=self.fake.api_key,
                       TWILIO_API_SECRET=self.fake.api_secret)
        self.ok("apply", "-f", path, "--auto-approve", env=env)
        self.ok("plan", "-f", path, "--detailed-exitcode", env=env)

    def test_apply_refuses_without_approval_when_not_a_tty(self):
        path = self.write(OFFICE)
        r = self.twprov("apply", "-f", path)
        self.assertEqual(r.rc, 64)
        self.assertIn("--auto-approve", r.err)
        self.assertEqual(self.log("POST"), [])

    def test_apply_with_nothing_to_do(self):
        path = self.write(OFFICE)
        self.converge(path)
        self.fake.clear_log()
        r = self.ok("apply", "-f", path)  # no approval needed: nothing to change
        self.assertIn("No changes.", r.out)
        self.assertEqual(self.log("POST"), [])

    def test_plan_json_schema(self):
        path = self.write(OFFICE)
        plan = self.plan_json(path)
        self.assertEqual(plan["format_version"], 1)
        self.assertEqual(set(plan), {"format_version", "twprov_version", "changes", "unmanaged", "notes", "summary"})
        self.assertEqual(plan["summary"], {"add": 10, "change": 0, "destroy": 0})
        by = {c["address"]: c for c in plan["changes"]}
        alice = by["credential_lists/office-phones/credentials/alice"]
        self.assertEqual(alice, {
            "address": "credential_lists/office-phones/credentials/alice", "action": "create", "type": "create",
            "kind": "credentials", "name": "alice", "parent": "credential_lists/office-phones", "sid": None,
            "guarded_by": None, "guard": None,
            "fields": {"username": {"before": None, "after": "alice", "sensitive": False},
                       "password": {"before": None, "after": "(sensitive)", "sensitive": True}},
            "depends_on": ["credential_lists/office-phones"]})
        m = by["sip_domains/office-test.sip.twilio.com/auth.calls.credential_lists/office-phones"]
        self.assertEqual(sorted(m["depends_on"]), ["credential_lists/office-phones",
                                                   "sip_domains/office-test.sip.twilio.com"])
        self.assertNoSecrets(json.dumps(plan))

    def test_target(self):
        path = self.write(OFFICE)
        plan = self.plan_json(path, "--target", "ip_access_control_lists/asterisk-pbx")
        self.assertEqual([c["address"] for c in plan["changes"]], [
            "ip_access_control_lists/asterisk-pbx",
            "ip_access_control_lists/asterisk-pbx/addresses/pbx",
            "ip_access_control_lists/asterisk-pbx/addresses/twilio-pops"])
        self.ok("apply", "-f", path, "--auto-approve", "--target", "credential_lists/office-phones/credentials/alice")
        snap = self.snapshot()
        self.assertEqual(snap["credential_lists"], {"office-phones": [["alice"]]})
        self.assertEqual(snap["sip_domains"], {})
        r = self.twprov("plan", "-f", path, "--target", "sip_domains/typo.sip.twilio.com")
        self.assertEqual(r.rc, 64)
        self.assertIn("no such resource", r.err)

    def test_duplicate_live_identity_is_an_error(self):
        path = self.write(OFFICE)
        self.converge(path)
        self.fake.insert(self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "office-phones"})
        r = self.twprov("plan", "-f", path)
        self.assertEqual(r.rc, 1)
        self.assertIn("credential_lists/office-phones: 2 resources with this identity exist at Twilio (CL", r.err)
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1)
        self.assertEqual(len(self.by_name("/SIP/CredentialLists.json", "credential_lists")["office-phones"]), 2)

    def test_verbose_trace_redacts_secrets(self):
        path = self.write(OFFICE)
        r = self.ok("-v", "-v", "apply", "-f", path, "--auto-approve", "--sync-passwords")
        self.assertIn("> POST ", r.err)
        self.assertIn("Password=(redacted)", r.err)
        self.assertNoSecrets(r.out, r.err)
        self.assertNotIn("Authorization", r.err)
        r = self.ok("-v", "plan", "-f", path, "--sync-passwords", "--json")
        self.assertNoSecrets(r.out, r.err)

    def test_verbose_plan_says_where_the_time_went(self):
        path = self.write(OFFICE)
        self.converge(path)
        self.fake.clear_log()
        r = self.ok("-v", "plan", "-f", path)
        sent = len(self.fake.log())
        self.assertRegex(r.err, r"(?m)^loaded .*twprov\.yaml in \d+ ms$")
        m = re.search(r"(?m)^read the account in \d+ ms: (\d+) requests, (\d+) answered 429$", r.err)
        self.assertIsNotNone(m, r.err)
        self.assertEqual((int(m[1]), int(m[2])), (sent, 0))
        self.assertRegex(r.err, r"(?m)^planned in \d+ ms$")

    def test_colour_only_on_a_tty(self):
        path = self.write(OFFICE)
        r = self.ok("plan", "-f", path)
        self.assertNotIn("\033[", r.out + r.err)

    def test_examples_are_valid(self):
        examples = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "examples")
        files = sorted(f for f in os.listdir(examples) if f.endswith(".yaml"))
        self.assertIn("office.yaml", files)
        for f in files:
            r = self.twprov("validate", "-f", os.path.join(examples, f))
            self.assertEqual(r.rc, 0, f"{f}: {r}")
            self.assertIn("is valid", r.out)


class Confirmation(TwprovCase):
    """On a terminal apply asks, and only "yes" goes ahead."""

    def test_no_means_no(self):
        path = self.write(OFFICE)
        rc, out = self.run_on_tty(["apply", "-f", path], "no")
        self.assertEqual(rc, 1, out)
        self.assertIn("Apply cancelled.", out)
        self.assertEqual(self.log("POST"), [])

    def test_colour_on_a_terminal(self):
        path = self.write(OFFICE)
        rc, out = self.run_on_tty(["plan", "-f", path], color=True)
        self.assertEqual(rc, 0, out)
        self.assertIn("\033[32m+\033[0m credential_lists/office-phones", out)
        rc, out = self.run_on_tty(["plan", "-f", path])
        self.assertNotIn("\033[", out)

    def test_yes_applies(self):
        path = self.write(OFFICE)
        rc, out = self.run_on_tty(["apply", "-f", path], "yes")
        self.assertEqual(rc, 0, out)
        self.assertIn("Apply complete: 10 added", out)
        self.assertNoSecrets(out)
        self.ok("plan", "-f", path, "--detailed-exitcode")


class Proxy(TwprovCase):
    """Proxies come from curl's variables, read once: http_proxy for the fake's
    http URL, and no_proxy exempts hosts."""

    def test_proxy_variables(self):
        path = self.write(OFFICE)
        env = self.env(http_proxy="http://127.0.0.1:1", TWPROV_MAX_RETRIES="0")
        r = self.twprov("plan", "-f", path, env=env)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("127.0.0.1 port 1", r.err)          # it went to the proxy
        self.assertEqual(self.log(), [])
        self.ok("plan", "-f", path, env=dict(env, no_proxy="127.0.0.1"))
        # as curl, HTTP_PROXY (upper case) is not read for http: (CGI programs get it from requests)
        self.ok("plan", "-f", path, env=self.env(HTTP_PROXY="http://127.0.0.1:1"))
