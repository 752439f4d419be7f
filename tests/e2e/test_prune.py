"""Unmanaged resources, prune, ignore and state: absent."""

from harness import OFFICE, TwprovCase


class Prune(TwprovCase):

    def seed_unmanaged(self):
        self.api("POST", self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "old-list"})
        self.api("POST", self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "legacy-lobby"})
        self.api("POST", self.acct("/SIP/IpAccessControlLists.json"), {"FriendlyName": "hand-made"})

    def test_unmanaged_listed_not_touched(self):
        self.seed_unmanaged()
        path = self.write(OFFICE)
        self.ok("apply", "-f", path, "--auto-approve")
        r = self.ok("plan", "-f", path, "--detailed-exitcode")
        self.assertIn("Unmanaged at Twilio (not in the file, left alone):", r.out)
        for name in ("credential_lists/old-list (CL", "credential_lists/legacy-lobby (CL",
                     "ip_access_control_lists/hand-made (AL"):
            self.assertIn(name, r.out)
        self.assertEqual(sorted(self.by_name("/SIP/CredentialLists.json", "credential_lists")),
                         ["legacy-lobby", "office-phones", "old-list"])

    def test_prune_removes_all_but_ignored(self):
        self.seed_unmanaged()
        path = self.write(OFFICE.replace("twprov: 1\n", "twprov: 1\nprune: [credential_lists]\nignore: [\"legacy-*\"]\n"))
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("- credential_lists/old-list (CL", r.out)
        self.assertNotIn("- credential_lists/legacy-lobby", r.out)
        self.assertIn("credential_lists/legacy-lobby (CL", r.out)
        self.assertIn("[ignored]", r.out)
        self.assertIn("ip_access_control_lists/hand-made (AL", r.out)   # not pruned: listed
        self.converge(path)
        self.assertEqual(sorted(self.by_name("/SIP/CredentialLists.json", "credential_lists")),
                         ["legacy-lobby", "office-phones"])
        self.assertEqual(sorted(self.by_name("/SIP/IpAccessControlLists.json", "ip_access_control_lists")),
                         ["asterisk-pbx", "hand-made"])

    def test_prune_a_domain_and_the_list_it_maps(self):
        """A pruned domain is deleted before the pruned list it maps (Twilio refuses the reverse)."""
        path = self.write(OFFICE)
        self.converge(path)
        path = self.write("twprov: 1\nprune: [credential_lists, ip_access_control_lists, sip_domains]\n"
                          "credential_lists: []\n")
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("Plan: 0 to add, 0 to change, 3 to destroy.", r.out)
        self.converge(path)
        self.assertEqual(self.snapshot(), {"credential_lists": {}, "ip_access_control_lists": {}, "sip_domains": {}})

    def test_state_absent(self):
        path = self.write(OFFICE)
        self.converge(path)
        text = OFFICE[:OFFICE.index("sip_domains:")] + \
            "sip_domains:\n  - domain_name: office-test.sip.twilio.com\n    state: absent\n"
        text = text.replace("  - name: asterisk-pbx\n", "  - name: asterisk-pbx\n    state: absent\n")
        path = self.write(text)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("- sip_domains/office-test.sip.twilio.com (SD", r.out)
        self.assertIn("- ip_access_control_lists/asterisk-pbx (AL", r.out)
        self.assertIn("Plan: 0 to add, 0 to change, 2 to destroy.", r.out)
        self.converge(path)
        snap = self.snapshot()
        self.assertEqual(snap["sip_domains"], {})
        self.assertEqual(snap["ip_access_control_lists"], {})
        self.assertEqual(snap["credential_lists"], {"office-phones": [["alice", "bob"]]})
        # absent and already gone: nothing to do
        self.ok("plan", "-f", path, "--detailed-exitcode")
