"""Every voice kind: a full account from empty, one action per field change,
purchase and release guards, routing, references, targets and the examples."""

import json
import os

from harness import SOURCE_DIR, WRAPPED, TwprovCase

FULL = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - {username: alice, password: "${env:SIP_PW_ALICE}"}
  - name: asterisk-auth
    credentials:
      - {username: Admin, password: "${env:ASTERISK_TRUNK_PW}"}
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107, cidr: 32}
connection_policies:
  - name: carrier-x
    targets:
      - {name: sbc1, target: "sip:sbc1.carrier.example:5060", priority: 10, weight: 60, enabled: true}
      - {name: sbc2, target: "sip:sbc2.carrier.example:5060", priority: 20, weight: 40, enabled: true}
  - name: carrier-y
byoc_trunks:
  - name: carrier-x
    voice_url: https://example.twil.io/byoc-in
    voice_method: POST
    voice_fallback_url: https://example.twil.io/byoc-fallback
    voice_fallback_method: GET
    status_callback_url: https://example.twil.io/byoc-status
    status_callback_method: POST
    cnam_lookup_enabled: false
    connection_policy: carrier-x
    from_domain: office-full.sip.twilio.com
sip_domains:
  - domain_name: office-full.sip.twilio.com
    friendly_name: Office
    voice_url: https://example.twil.io/sip-out
    voice_method: POST
    voice_fallback_url: https://example.twil.io/sip-fallback
    voice_fallback_method: POST
    voice_status_callback_url: https://example.twil.io/sip-status
    voice_status_callback_method: POST
    sip_registration: true
    emergency_calling_enabled: false
    secure: false
    byoc_trunk: carrier-x
    auth:
      calls:
        credential_lists: [office-phones]
        ip_access_control_lists: [asterisk-pbx]
      registrations:
        credential_lists: [office-phones]
applications:
  - name: inbound
    voice_url: https://example.twil.io/inbound
    voice_method: POST
    voice_fallback_url: https://example.twil.io/inbound-fallback
    voice_fallback_method: POST
    status_callback: https://example.twil.io/inbound-status
    status_callback_method: POST
    voice_caller_id_lookup: false
  - name: after-hours
    voice_url: https://example.twil.io/after-hours
sip_trunks:
  - domain_name: pbx-full.pstn.twilio.com
    name: asterisk
    secure: false
    cnam_lookup_enabled: false
    transfer_mode: disable-all
    transfer_caller_id: from-transferee
    disaster_recovery_url: https://example.twil.io/dr
    disaster_recovery_method: POST
    recording_mode: do-not-record
    recording_trim: do-not-trim
    origination_urls:
      - {name: asterisk, sip_url: "sip:138.2.68.107:5060", priority: 10, weight: 10, enabled: true}
    credential_lists: [asterisk-auth]
    ip_access_control_lists: [asterisk-pbx]
  - domain_name: pbx-backup.pstn.twilio.com
    name: backup
phone_numbers:
  - number: "+19863334949"
    friendly_name: Call center
    sip_trunk: pbx-full.pstn.twilio.com
  - number: "+16505551111"
    friendly_name: Main line
    voice_application: inbound
    voice_receive_mode: voice
    voice_caller_id_lookup: false
  - number: "+16505552222"
    voice_url: https://example.twil.io/direct
    voice_method: POST
    voice_fallback_url: https://example.twil.io/direct-fallback
    voice_fallback_method: POST
    status_callback: https://example.twil.io/direct-status
    status_callback_method: POST
  - number: "+16505550000"
    purchase: true
    voice_application: inbound
"""

OWNED = ["+19863334949", "+16505551111", "+16505552222"]
AVAILABLE = ["+16505550000", "+16505550001"]

D = "sip_domains/office-full.sip.twilio.com"
T = "sip_trunks/pbx-full.pstn.twilio.com"

# (old text, new text, address of the one action, its type, the fields it changes)
CHANGES = [
    ("- {name: pbx, ip: 138.2.68.107, cidr: 32}", "- {name: pbx, ip: 138.2.68.108, cidr: 32}",
     "ip_access_control_lists/asterisk-pbx/addresses/pbx", "update", ["ip"]),
    ("ip: 138.2.68.107, cidr: 32", "ip: 138.2.68.107, cidr: 30",
     "ip_access_control_lists/asterisk-pbx/addresses/pbx", "update", ["cidr"]),
    ("priority: 10, weight: 60", "priority: 15, weight: 60", "connection_policies/carrier-x/targets/sbc1", "update", ["priority"]),
    ("priority: 10, weight: 60", "priority: 10, weight: 70", "connection_policies/carrier-x/targets/sbc1", "update", ["weight"]),
    ("weight: 60, enabled: true", "weight: 60, enabled: false", "connection_policies/carrier-x/targets/sbc1", "update", ["enabled"]),
    ("sip:sbc1.carrier.example:5060", "sip:sbc9.carrier.example:5060", "connection_policies/carrier-x/targets/sbc1", "update", ["target"]),
    ("      - {name: sbc2, target: \"sip:sbc2.carrier.example:5060\", priority: 20, weight: 40, enabled: true}\n", "",
     "connection_policies/carrier-x/targets/sbc2", "delete", []),
    ("voice_url: https://example.twil.io/byoc-in", "voice_url: https://example.twil.io/byoc-in2", "byoc_trunks/carrier-x", "update", ["voice_url"]),
    ("voice_fallback_method: GET", "voice_fallback_method: POST", "byoc_trunks/carrier-x", "update", ["voice_fallback_method"]),
    ("byoc-fallback", "byoc-fallback2", "byoc_trunks/carrier-x", "update", ["voice_fallback_url"]),
    ("byoc-status", "byoc-status2", "byoc_trunks/carrier-x", "update", ["status_callback_url"]),
    ("    cnam_lookup_enabled: false\n    connection_policy", "    cnam_lookup_enabled: true\n    connection_policy",
     "byoc_trunks/carrier-x", "update", ["cnam_lookup_enabled"]),
    ("connection_policy: carrier-x", "connection_policy: carrier-y", "byoc_trunks/carrier-x", "update", ["connection_policy"]),
    ("friendly_name: Office", "friendly_name: Head office", D, "update", ["friendly_name"]),
    ("sip-out", "sip-out2", D, "update", ["voice_url"]),
    ("sip-fallback", "sip-fallback2", D, "update", ["voice_fallback_url"]),
    ("sip-status", "sip-status2", D, "update", ["voice_status_callback_url"]),
    ("voice_status_callback_method: POST", "voice_status_callback_method: GET", D, "update", ["voice_status_callback_method"]),
    ("sip_registration: true", "sip_registration: false", D, "update", ["sip_registration"]),
    ("emergency_calling_enabled: false", "emergency_calling_enabled: true", D, "update", ["emergency_calling_enabled"]),
    ("    secure: false\n    byoc_trunk", "    secure: true\n    byoc_trunk", D, "update", ["secure"]),
    ("    byoc_trunk: carrier-x\n", "    byoc_trunk: \"\"\n", D, "update", ["byoc_trunk"]),
    ("        ip_access_control_lists: [asterisk-pbx]\n      registrations", "      registrations",
     D + "/auth.calls.ip_access_control_lists/asterisk-pbx", "delete", []),
    ("      registrations:\n        credential_lists: [office-phones]\n", "",
     D + "/auth.registrations.credential_lists/office-phones", "delete", []),
    ("calls:\n        credential_lists: [office-phones]", "calls:\n        credential_lists: [office-phones, asterisk-auth]",
     D + "/auth.calls.credential_lists/asterisk-auth", "create", []),
    ("voice_url: https://example.twil.io/inbound\n", "voice_url: https://example.twil.io/inbound2\n",
     "applications/inbound", "update", ["voice_url"]),
    ("inbound-fallback", "inbound-fallback2", "applications/inbound", "update", ["voice_fallback_url"]),
    ("inbound-status", "inbound-status2", "applications/inbound", "update", ["status_callback"]),
    ("    voice_caller_id_lookup: false\n  - name: after-hours", "    voice_caller_id_lookup: true\n  - name: after-hours",
     "applications/inbound", "update", ["voice_caller_id_lookup"]),
    ("    name: asterisk\n", "    name: asterisk-main\n", T, "update", ["name"]),
    ("    secure: false\n    cnam_lookup_enabled: false\n    transfer_mode", "    secure: true\n    cnam_lookup_enabled: false\n    transfer_mode",
     T, "update", ["secure"]),
    ("transfer_mode: disable-all", "transfer_mode: sip-only", T, "update", ["transfer_mode"]),
    ("transfer_caller_id: from-transferee", "transfer_caller_id: from-transferor", T, "update", ["transfer_caller_id"]),
    ("disaster_recovery_url: https://example.twil.io/dr", "disaster_recovery_url: https://example.twil.io/dr2", T, "update",
     ["disaster_recovery_url"]),
    ("recording_mode: do-not-record", "recording_mode: record-from-answer", T, "update", ["recording_mode"]),
    ("recording_trim: do-not-trim", "recording_trim: trim-silence", T, "update", ["recording_trim"]),
    ("sip:138.2.68.107:5060\", priority: 10", "sip:138.2.68.107:5080\", priority: 10", T + "/origination_urls/asterisk", "update",
     ["sip_url"]),
    ("5060\", priority: 10, weight: 10, enabled: true", "5060\", priority: 10, weight: 10, enabled: false",
     T + "/origination_urls/asterisk", "update", ["enabled"]),
    ("    credential_lists: [asterisk-auth]\n", "", T + "/credential_lists/asterisk-auth", "delete", []),
    ("    ip_access_control_lists: [asterisk-pbx]\n  - domain_name: pbx-backup", "  - domain_name: pbx-backup",
     T + "/ip_access_control_lists/asterisk-pbx", "delete", []),
    ("friendly_name: Call center", "friendly_name: Call centre", "phone_numbers/+19863334949", "update", ["friendly_name"]),
    # a reference moved from one trunk (or application) to another: one update
    ("sip_trunk: pbx-full.pstn.twilio.com", "sip_trunk: pbx-backup.pstn.twilio.com", "phone_numbers/+19863334949", "update",
     ["sip_trunk"]),
    ("    voice_application: inbound\n    voice_receive_mode", "    voice_application: after-hours\n    voice_receive_mode",
     "phone_numbers/+16505551111", "update", ["voice_application"]),
    # a routing switched: the new one set, the old one cleared, in one update
    ("    voice_application: inbound\n    voice_receive_mode", "    sip_trunk: pbx-full.pstn.twilio.com\n    voice_receive_mode",
     "phone_numbers/+16505551111", "update", ["voice_application", "sip_trunk"]),
    ("voice_receive_mode: voice", "voice_receive_mode: fax", "phone_numbers/+16505551111", "update", ["voice_receive_mode"]),
    ("    voice_caller_id_lookup: false\n  - number: \"+16505552222\"", "    voice_caller_id_lookup: true\n  - number: \"+16505552222\"",
     "phone_numbers/+16505551111", "update", ["voice_caller_id_lookup"]),
    ("https://example.twil.io/direct\n", "https://example.twil.io/direct2\n", "phone_numbers/+16505552222", "update", ["voice_url"]),
    ("direct-fallback", "direct-fallback2", "phone_numbers/+16505552222", "update", ["voice_fallback_url"]),
    ("direct-status", "direct-status2", "phone_numbers/+16505552222", "update", ["status_callback"]),
]


class VoiceKinds(TwprovCase):

    def setUp(self):
        super().setUp()
        self.fake.add_owned(OWNED)
        self.fake.seed_available(AVAILABLE)

    def apply_full(self):
        path = self.write(FULL)
        self.ok("apply", "-f", path, "--auto-approve", "--allow-purchase")
        return path

    def test_full_account_from_empty_converges(self):
        path = self.write(FULL)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("+ phone_numbers/+16505550000 # purchase: apply needs --allow-purchase", r.out)
        self.assertIn("~ byoc_trunks/carrier-x # after the create above", r.out)
        # without the flag nothing at all is applied
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 64, r)
        self.assertIn("phone_numbers/+16505550000: apply would purchase it; pass --allow-purchase", r.err)
        self.assertEqual(self.log("POST"), [])
        r = self.ok("apply", "-f", path, "--auto-approve", "--allow-purchase")
        self.assertIn("Apply complete:", r.out)
        self.ok("plan", "-f", path, "--detailed-exitcode")
        st = self.fake.state()
        nums = {n["phone_number"]: n for n in st["incoming_number"]}
        trunks = {t["domain_name"]: t for t in st["trunk"]}
        apps = {a["friendly_name"]: a for a in st["application"]}
        self.assertEqual(nums["+19863334949"]["trunk_sid"], trunks["pbx-full.pstn.twilio.com"]["sid"])
        self.assertEqual(nums["+16505550000"]["voice_application_sid"], apps["inbound"]["sid"])
        self.assertEqual(trunks["pbx-full.pstn.twilio.com"]["recording"], {"mode": "do-not-record", "trim": "do-not-trim"})
        byoc = st["byoc_trunk"][0]
        dom = st["sip_domain"][0]
        self.assertEqual(byoc["from_domain_sid"], dom["sid"])
        self.assertEqual(dom["byoc_trunk_sid"], byoc["sid"])
        self.assertEqual(len(st["origination_url"]), 1)
        self.assertEqual(len(st["trunk_cl"]) + len(st["trunk_al"]), 2)

    def test_every_change_plans_exactly_one_action(self):
        base = self.apply_full()
        changes = CHANGES
        if WRAPPED:
            # under valgrind (~20x slower), the first change of each resource: every kind's
            # update, delete and create path with its forms; all of them run in the other passes
            firsts = {}
            for c in CHANGES:
                firsts.setdefault(c[2], c)
            changes = list(firsts.values())
        for old, new, address, action, fields in changes:
            with self.subTest(change=f"{old!r} -> {new!r}"):
                self.assertIn(old, FULL)
                path = self.write(FULL.replace(old, new, 1), "changed.yaml")
                plan = self.plan_json(path)
                self.assertEqual([(c["address"], c["action"]) for c in plan["changes"]], [(address, action)])
                self.assertEqual(sorted(plan["changes"][0]["fields"]), sorted(fields))
                # applying it converges, and going back is one action again
                self.converge(path, "--allow-purchase")
                back = self.plan_json(base)
                self.assertEqual(len(back["changes"]), 1, back["changes"])
                self.converge(base, "--allow-purchase")

    def test_release_needs_its_flag(self):
        self.apply_full()
        path = self.write(FULL.replace('  - number: "+16505552222"\n', '  - number: "+16505552222"\n    state: absent\n'))
        r = self.ok("plan", "-f", path, "--detailed-exitcode", rc=2)
        self.assertIn("- phone_numbers/+16505552222 (PN", r.out)
        self.assertIn("# release: apply needs --allow-release", r.out)
        self.assertEqual(self.plan_json(path)["changes"][0]["guarded_by"], "--allow-release")
        self.fake.clear_log()
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 64, r)
        self.assertIn("apply would release it; pass --allow-release", r.err)
        self.assertEqual(self.log("DELETE"), [])
        self.converge(path, "--allow-release")
        self.assertNotIn("+16505552222", [n["phone_number"] for n in self.fake.state()["incoming_number"]])

    def test_missing_number_without_purchase_is_an_error(self):
        path = self.write('twprov: 1\nphone_numbers:\n  - number: "+16505557777"\n    friendly_name: x\n')
        r = self.twprov("plan", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("phone_numbers/+16505557777: not in the account; set purchase: true to purchase it "
                      "(apply then needs --allow-purchase)", r.err)

    def test_undeclared_numbers_are_never_released(self):
        path = self.write("twprov: 1\nprune: [applications, sip_trunks]\nphone_numbers: []\n")
        r = self.ok("plan", "-f", path, "--detailed-exitcode")
        for n in OWNED:
            self.assertIn(f"phone_numbers/{n} (PN", r.out)
        path = self.write("twprov: 1\nprune: [phone_numbers]\n")
        r = self.twprov("validate", "-f", path)
        self.assertEqual(r.rc, 3)
        self.assertIn("phone_numbers cannot be pruned", r.err)

    def test_two_routings_are_rejected(self):
        path = self.write('twprov: 1\napplications:\n  - name: a\nphone_numbers:\n  - number: "+16505551111"\n'
                          '    voice_application: a\n    voice_url: https://x.example/\n')
        r = self.twprov("validate", "-f", path)
        self.assertEqual(r.rc, 3, r)
        self.assertIn(":7:16: error: phone_numbers/+16505551111: voice_application and voice_url are two voice "
                      "routings: choose one", r.err)

    def test_target_works_for_every_kind(self):
        path = self.write(FULL)
        full = self.plan_json(path)
        addresses = [c["address"] for c in full["changes"]]
        for addr in dict.fromkeys(addresses):
            with self.subTest(target=addr):
                plan = self.plan_json(path, "--target", addr)
                got = [c["address"] for c in plan["changes"]]
                self.assertIn(addr, got)
                # everything planned is the target, under it, or something it depends on
                by = {c["address"]: c for c in plan["changes"]}
                needed = set()
                todo = [a for a in got if a == addr or a.startswith(addr + "/")]
                while todo:
                    a = todo.pop()
                    if a in needed:
                        continue
                    needed.add(a)
                    todo.extend(by[a]["depends_on"])
                self.assertEqual(set(got), needed)

    def test_examples_apply_end_to_end(self):
        for name in ("asterisk-trunk.yaml", "byoc.yaml", "office.yaml"):
            with self.subTest(example=name):
                self.fake.reset()
                self.fake.add_owned(["+19863334949", "+13172222222", "+13172222223"])
                path = os.path.join(SOURCE_DIR, "examples", name)
                self.converge(path)
                self.assertEqual(self.fake.violations(), [])
