"""Saved plans: `plan --out FILE` in the pull request, `apply FILE` after the merge.
apply carries out exactly the saved actions, and refuses (exit 1, no write) when
the file or the account would now give another plan, or when the credentials are
another account's."""

import json
import os
import stat

from harness import EVERY_KIND, EVERY_KIND_OWNED, OFFICE, SECRETS, TwprovCase

# OFFICE, with a new address in the ACL and another voice_url: a plan of two actions
CHANGED = OFFICE.replace("      - {name: twilio-pops, ip: 54.172.60.0, cidr: 24}\n",
                         "      - {name: twilio-pops, ip: 54.172.60.0, cidr: 24}\n"
                         "      - {name: backup, ip: 10.0.0.9}\n").replace(
    "https://example.twil.io/sip-outbound", "https://example.twil.io/sip-outbound-v2")
PRUNED = CHANGED.replace("twprov: 1\n", "twprov: 1\nprune: [ip_access_control_lists]\n", 1)


class SavedPlan(TwprovCase):

    def setUp(self):
        super().setUp()
        self.converge(self.write(OFFICE))
        self.path = self.write(CHANGED)
        self.planfile = os.path.join(self.dir, "plan.json")

    def writes(self):
        return [e for e in self.fake.log() if e["method"] in ("POST", "DELETE")]

    def save(self, path=None, *extra):
        r = self.ok("plan", "-f", path or self.path, "--out", self.planfile, *extra)
        self.assertIn("Saved the plan to", r.err)
        return r

    def assertStale(self, *extra, env=None, want="saved plan is stale"):
        self.fake.clear_log()
        r = self.twprov("apply", self.planfile, *extra, env=env)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(want, r.err)
        self.assertIn("nothing was applied", r.err)
        self.assertEqual(self.writes(), [])
        return r

    def test_apply_performs_exactly_the_saved_actions(self):
        r = self.save()
        self.assertIn("Plan: 1 to add, 1 to change, 0 to destroy.", r.out)
        self.assertEqual(stat.S_IMODE(os.stat(self.planfile).st_mode), 0o600)
        with open(self.planfile) as f:
            saved = json.load(f)
        self.assertEqual(saved["saved_plan_format"], 1)
        self.assertEqual(saved["account_sid"], self.fake.account_sid)
        self.assertEqual(saved["file"]["path"], self.path)
        self.assertEqual(len(saved["file"]["sha256"]), 64)
        self.assertEqual([(c["action"], c["address"]) for c in saved["plan"]["changes"]],
                         [("create", "ip_access_control_lists/asterisk-pbx/addresses/backup"),
                          ("update", "sip_domains/office-test.sip.twilio.com")])
        # show prints the plan as plan printed it
        shown = self.ok("show", self.planfile)
        self.assertIn(r.out, shown.out)
        self.assertIn(f"Saved plan for account {self.fake.account_sid}", shown.out)
        self.assertEqual(json.loads(self.ok("show", "--json", self.planfile).out), saved)
        # apply FILE asks nothing (the saved plan was reviewed) and does just that
        self.fake.clear_log()
        r = self.ok("apply", self.planfile)
        self.assertIn("Apply complete: 1 added, 1 changed, 0 destroyed.", r.out)
        writes = sorted((w["method"], w["path"].split("/SIP/")[1].split("/")[0], w["path"].endswith("IpAddresses.json"))
                        for w in self.writes())
        self.assertEqual(writes, [("POST", "Domains", False), ("POST", "IpAccessControlLists", True)])
        self.ok("plan", "-f", self.path, "--detailed-exitcode")
        # a saved plan, applied, is applied once: the account has moved on
        self.assertStale()

    def test_a_drifted_field_makes_it_stale(self):
        self.save()
        dom = self.items("/SIP/Domains.json", "domains")[0]
        self.api("POST", self.acct(f"/SIP/Domains/{dom['sid']}.json"), {"VoiceUrl": "https://example.com/drift"})
        r = self.assertStale()
        self.assertIn("sip_domains/office-test.sip.twilio.com", r.err)
        self.assertIn('\n    fields.voice_url.before: "https://example.twil.io/sip-outbound" (saved), '
                      '"https://example.com/drift" (now)\n', r.err)

    def test_a_resource_deleted_in_the_account_makes_it_stale(self):
        self.save()
        acl = self.items("/SIP/IpAccessControlLists.json", "ip_access_control_lists")[0]
        ips = self.items(f"/SIP/IpAccessControlLists/{acl['sid']}/IpAddresses.json", "ip_addresses")
        self.api("DELETE", self.acct(f"/SIP/IpAccessControlLists/{acl['sid']}/IpAddresses/{ips[0]['sid']}.json"))
        r = self.assertStale()
        self.assertIn("planned now, not in the saved plan", r.err)

    def test_a_new_unmanaged_resource_in_a_pruned_kind_makes_it_stale(self):
        path = self.write(PRUNED)
        self.save(path)
        self.fake.insert("/2010-04-01/Accounts/{AccountSid}/SIP/IpAccessControlLists.json",
                         {"FriendlyName": "made-by-hand"})
        r = self.assertStale()
        self.assertIn("  delete ip_access_control_lists/made-by-hand: planned now, not in the saved plan\n", r.err)

    def test_an_edited_file_makes_it_stale(self):
        self.save()
        with open(self.path, "a") as f:
            f.write("# reviewed\n")
        r = self.assertStale()
        self.assertIn("changed since the plan was made", r.err)
        self.assertEqual(self.fake.log(), [], "the account was not even read")

    def test_another_accounts_credentials_are_refused(self):
        self.save()
        other = "AC" + "c" * 32
        r = self.assertStale(env=self.env(TWILIO_ACCOUNT_SID=other), want=f"made for account {self.fake.account_sid}")
        self.assertIn(other, r.err)
        self.assertEqual(self.fake.log(), [], "the account was not even read")

    def test_targets_travel_with_the_plan(self):
        self.save(None, "--target", "ip_access_control_lists/asterisk-pbx")
        r = self.ok("apply", self.planfile)
        self.assertIn("Apply complete: 1 added, 0 changed, 0 destroyed.", r.out)
        r = self.twprov("apply", "--target", "sip_domains/office-test.sip.twilio.com", self.planfile)
        self.assertEqual(r.rc, 64, r)
        self.assertIn("a saved plan carries its own --target", r.err)

    def test_bad_saved_plans_are_refused(self):
        bad = os.path.join(self.dir, "bad.json")
        self.fake.clear_log()
        for text, why in (("not json", "not a saved plan"), ('{"plan": {}}', "not a saved plan of format 1"),
                          ('{"saved_plan_format": 1, "twprov_version": "0.0.1", "account_sid": "AC", '
                           '"file": {"path": "x", "sha256": "y"}, "targets": [], "sync_passwords": false, '
                           '"plan": {"changes": []}}', "was made by twprov 0.0.1, this is twprov")):
            with self.subTest(text=text):
                with open(bad, "w") as f:
                    f.write(text)
                for cmd in (("apply", bad), ("show", bad)):
                    r = self.twprov(*cmd)
                    self.assertEqual(r.rc, 1, r)
                    self.assertIn(why, r.err)
        self.assertEqual(self.writes(), [])

    def test_no_secret_in_a_plan_file_of_every_kind(self):
        self.fake.reset()
        self.fake.add_owned(EVERY_KIND_OWNED)
        self.fake.seed_available(["+16505550000"])
        path = self.write(EVERY_KIND)
        r = self.ok("-v", "plan", "-f", path, "--out", self.planfile, "--sync-passwords")
        with open(self.planfile) as f:
            text = f.read()
        self.assertIn("(sensitive)", text)
        self.assertNoSecrets(text, r.out, r.err)
        r = self.ok("-v", "show", self.planfile)
        self.assertNoSecrets(r.out, r.err)
        for value in SECRETS.values():
            self.assertNotIn(value, text)
