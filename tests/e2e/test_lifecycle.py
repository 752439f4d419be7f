"""The main job: empty account -> plan -> apply -> converged; drift; removals."""

import json

from harness import OFFICE, SECRETS, TwprovCase


class Lifecycle(TwprovCase):

    def test_empty_account_plan_apply_converge(self):
        path = self.write(OFFICE)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("+ credential_lists/office-phones\n", r.out)
        self.assertIn("+ sip_domains/office-test.sip.twilio.com/auth.calls.ip_access_control_lists/asterisk-pbx", r.out)
        self.assertIn("password = (sensitive)", r.out)
        self.assertIn("Plan: 10 to add, 0 to change, 0 to destroy.", r.out)
        self.assertEqual(len(self.log("POST")), 0, "plan must not write")

        r = self.ok("apply", "-f", path, "--auto-approve")
        self.assertIn("Apply complete: 10 added, 0 changed, 0 destroyed.", r.out)
        self.assertNoSecrets(r.out, r.err)

        r = self.ok("plan", "-f", path, "--detailed-exitcode")
        self.assertIn("No changes.", r.out)
        self.assertIn("2 existing passwords were not compared", r.out)

        snap = self.snapshot()
        self.assertEqual(snap["credential_lists"], {"office-phones": [["alice", "bob"]]})
        self.assertEqual(snap["ip_access_control_lists"],
                         {"asterisk-pbx": [[("pbx", "138.2.68.107", 32), ("twilio-pops", "54.172.60.0", 24)]]})
        self.assertEqual(snap["sip_domains"], {"office-test.sip.twilio.com": [{
            "voice_url": "https://example.twil.io/sip-outbound", "sip_registration": True,
            "calls.credential_lists": ["office-phones"],
            "calls.ip_access_control_lists": ["asterisk-pbx"],
            "registrations.credential_lists": ["office-phones"]}]})
        # the passwords Twilio stores are the declared ones
        creds = {c["username"]: c["password"] for c in self.credentials()}
        self.assertEqual(creds, {"alice": SECRETS["SIP_PW_ALICE"], "bob": SECRETS["SIP_PW_BOB"]})

    def test_plan_costs_one_round_trip_per_level(self):
        path = self.write(OFFICE)
        self.converge(path)
        self.fake.clear_log()
        self.ok("plan", "-f", path)
        gets = self.log("GET")
        # 3 top-level lists + 1 credentials + 1 addresses + 3 domain mappings
        self.assertEqual(len(gets), 8, [g["path"] for g in gets])
        self.assertTrue(all(g["query"].get("PageSize") == ["1000"] for g in gets))

    def test_drift_shows_as_update_and_is_repaired(self):
        path = self.write(OFFICE)
        self.converge(path)
        dom = self.items("/SIP/Domains.json", "domains")[0]
        self.api("POST", self.acct(f"/SIP/Domains/{dom['sid']}.json"),
                      {"VoiceUrl": "https://attacker.example/x", "SipRegistration": "false"})
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn(f"~ sip_domains/office-test.sip.twilio.com ({dom['sid']})", r.out)
        self.assertIn('voice_url        = "https://attacker.example/x" -> "https://example.twil.io/sip-outbound"', r.out)
        self.assertIn("sip_registration = false -> true", r.out)
        self.assertIn("Plan: 0 to add, 1 to change, 0 to destroy.", r.out)
        self.fake.clear_log()
        self.converge(path)
        posts = self.log("POST")
        self.assertEqual(len(posts), 1)
        self.assertEqual(posts[0]["form"], {"VoiceUrl": ["https://example.twil.io/sip-outbound"],
                                            "SipRegistration": ["true"]})

    def test_removed_credential_is_deleted(self):
        path = self.write(OFFICE)
        self.converge(path)
        path = self.write(OFFICE.replace("      - username: bob\n        password: ${env:SIP_PW_BOB}\n", ""))
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("- credential_lists/office-phones/credentials/bob (CR", r.out)
        self.assertIn("Plan: 0 to add, 0 to change, 1 to destroy.", r.out)
        self.converge(path)
        self.assertEqual(self.snapshot()["credential_lists"], {"office-phones": [["alice"]]})

    def test_mapping_removed_before_list_is_deleted(self):
        path = self.write(OFFICE)
        self.converge(path)
        # drop the IP ACL from the file and from the domain, and prune it
        text = OFFICE.replace("twprov: 1\n", "twprov: 1\nprune: [ip_access_control_lists]\n")
        text = text[:text.index("ip_access_control_lists:\n  - name")] + text[text.index("sip_domains:"):]
        text = text.replace("        ip_access_control_lists: [asterisk-pbx]\n", "")
        path = self.write(text)
        r = self.ok("plan", "-f", path, "--json")
        plan = json.loads(r.out)
        acts = {c["address"]: c for c in plan["changes"]}
        acl = acts["ip_access_control_lists/asterisk-pbx"]
        self.assertEqual(acl["action"], "delete")
        self.assertEqual(acl["depends_on"],
                         ["sip_domains/office-test.sip.twilio.com/auth.calls.ip_access_control_lists/asterisk-pbx"])
        self.converge(path)
        self.assertEqual(self.snapshot()["ip_access_control_lists"], {})

    def test_sync_passwords(self):
        path = self.write(OFFICE)
        self.converge(path)
        env = self.env(SIP_PW_ALICE="Changed-Alice-Pass-99")
        r = self.ok("plan", "-f", path, "--sync-passwords", "--detailed-exitcode", env=env, rc=2)
        self.assertIn("password = (sensitive) -> (sensitive)", r.out)
        self.assertNotIn("Changed-Alice-Pass-99", r.out + r.err)
        self.ok("apply", "-f", path, "--sync-passwords", "--auto-approve", env=env)
        creds = {c["username"]: c["password"] for c in self.credentials()}
        self.assertEqual(creds["alice"], "Changed-Alice-Pass-99")
