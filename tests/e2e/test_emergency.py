"""Emergency calling and voice dialing permissions against the fake: addresses, a
number's emergency address in Twilio's documented order (link, wait until registered;
to change it, unlink and wait until unregistered first), a domain's emergency caller,
and dialing permissions written in batches."""

import json
import math
import re

from harness import NO_LAG, TwprovCase

NUMBER = "+19863334949"
OTHER = "+19863335050"

OFFICE = """\
twprov: 1
addresses:
  - name: hq
    customer_name: Move Wheels
    street: 1 Main St
    city: Springfield
    region: IL
    postal_code: "62701"
    iso_country: US
    emergency_enabled: true
phone_numbers:
  - number: "+19863334949"
    friendly_name: Front desk
    emergency_address: hq
sip_domains:
  - domain_name: desk.sip.twilio.com
    sip_registration: true
    emergency_calling_enabled: true
    emergency_caller: "+19863334949"
voice_permissions:
  inherit: false
  countries:
    US: {low_risk_numbers: true, high_risk_special_numbers: false, high_risk_tollfraud_numbers: false}
    GB: {low_risk_numbers: true}
    CU: {low_risk_numbers: false, high_risk_special_numbers: false, high_risk_tollfraud_numbers: false}
"""

ANNEX = """\
  - name: annex
    customer_name: Move Wheels
    street: 9 Elm Ave
    city: Springfield
    region: IL
    postal_code: "62701"
    iso_country: US
    emergency_enabled: true
"""


class Emergency(TwprovCase):
    def setUp(self):
        super().setUp()
        self.fake.add_owned([NUMBER, OTHER])

    def numbers(self):
        return {n["phone_number"]: n for n in self.fake.state()["incoming_number"]}

    def addresses(self):
        return {a["friendly_name"]: a for a in self.fake.state()["address"]}

    def number_log(self, sid):
        """The requests on one number, as (method, EmergencyAddressSid or None)."""
        return [(e["method"], e["form"].get("EmergencyAddressSid", [None])[0])
                for e in self.log() if e["path"].endswith(f"/IncomingPhoneNumbers/{sid}.json")]

    def assert_documented_order(self, steps, old, new):
        """Unlink, look until unregistered, link, look until registered (GETs in between)."""
        posts = [s for s in steps if s[0] == "POST"]
        self.assertEqual(posts, [("POST", "")] * bool(old) + [("POST", new)], steps)
        link = steps.index(("POST", new))
        self.assertEqual(steps[link - 1][0], "GET", "the link waits for a look at the status")
        self.assertEqual(steps[-1][0], "GET", "apply waits until the registration is in force")

    def test_office_applies_from_empty_and_converges(self):
        path = self.write(OFFICE)
        r = self.ok("plan", "-f", path)
        self.assertIn("apply waits until its emergency_address_status is registered", r.out)
        self.converge(path, *NO_LAG)
        n = self.numbers()[NUMBER]
        hq = self.addresses()["hq"]
        self.assertEqual(n["emergency_address_sid"], hq["sid"])
        self.assertEqual(n["emergency_address_status"], "registered")
        dom = self.fake.state()["sip_domain"][0]
        self.assertEqual(dom["emergency_caller_sid"], n["sid"])
        self.assertTrue(dom["emergency_calling_enabled"])
        perms = self.fake.dialing_permissions()
        self.assertFalse(perms["dialing_permissions_inheritance"])
        self.assertTrue(perms["countries"]["GB"]["low_risk_numbers_enabled"])
        self.assertFalse(perms["countries"]["CU"]["low_risk_numbers_enabled"])
        # a new account's US and CU are as the file says: GB alone is sent, and nothing for the
        # 241 countries the file leaves alone
        bulk = [e for e in self.log("POST") if e["path"].endswith("/BulkCountryUpdates")]
        self.assertEqual(len(bulk), 1)
        self.assertEqual(json.loads(bulk[0]["form"]["UpdateRequest"][0]), [
            {"iso_code": "GB", "low_risk_numbers_enabled": "true"}])
        # Twilio corrects addresses unless told not to: twprov tells it not to
        create = next(e for e in self.log("POST") if e["path"].endswith("/Addresses.json"))
        self.assertEqual(create["form"]["AutoCorrectAddress"], ["false"])
        self.assert_documented_order(self.number_log(n["sid"]), None, hq["sid"])

    def test_moving_the_number_to_a_new_address_follows_the_documented_order(self):
        path = self.write(OFFICE)
        self.converge(path, *NO_LAG)
        sid = self.numbers()[NUMBER]["sid"]
        old = self.addresses()["hq"]["sid"]
        self.fake.clear_log()
        moved = OFFICE.replace("phone_numbers:", ANNEX + "phone_numbers:").replace(
            "emergency_address: hq", "emergency_address: annex")
        path = self.write(moved)
        r = self.ok("plan", "-f", path)
        self.assertIn("unlinked first, as Twilio documents", r.out)
        self.converge(path, *NO_LAG)
        new = self.addresses()["annex"]["sid"]
        self.assertNotEqual(old, new)
        self.assert_documented_order(self.number_log(sid), old, new)
        self.assertEqual(self.numbers()[NUMBER]["emergency_address_status"], "registered")

    def test_removing_the_address_unlinks_then_deletes(self):
        path = self.write(OFFICE)
        self.converge(path, *NO_LAG)
        sid = self.numbers()[NUMBER]["sid"]
        hq = self.addresses()["hq"]["sid"]
        self.fake.clear_log()
        gone = OFFICE.replace("    emergency_enabled: true\n", "    emergency_enabled: true\n    state: absent\n", 1)
        gone = gone.replace("emergency_address: hq", 'emergency_address: ""')
        gone = gone.replace('    emergency_caller: "+19863334949"\n', "")
        path = self.write(gone)
        self.converge(path, *NO_LAG)
        log = self.log()
        unlink = next(i for i, e in enumerate(log) if e["method"] == "POST" and
                      e["form"].get("EmergencyAddressSid") == [""])
        unregistered = max(i for i, e in enumerate(log) if e["method"] == "GET" and e["path"].endswith(f"/{sid}.json"))
        delete = next(i for i, e in enumerate(log) if e["method"] == "DELETE" and e["path"].endswith(f"/{hq}.json"))
        self.assertLess(unlink, unregistered)
        self.assertLess(unregistered, delete)
        self.assertNotIn("hq", self.addresses())
        self.assertEqual(self.numbers()[NUMBER]["emergency_address_status"], "unregistered")

    def test_a_new_country_replaces_the_address_after_moving_its_numbers(self):
        path = self.write(OFFICE)
        self.converge(path, *NO_LAG)
        old = self.addresses()["hq"]["sid"]
        canada = OFFICE.replace("region: IL", "region: ON").replace('postal_code: "62701"', 'postal_code: "K1A 0B1"')
        canada = canada.replace("iso_country: US", "iso_country: CA").replace("city: Springfield", "city: Ottawa")
        path = self.write(canada)
        r = self.ok("plan", "-f", path)
        self.assertIn("Plan: 1 to add, 1 to change, 1 to destroy.", r.out)
        self.assertIn("the replaced one, once what used it has moved to the new one", r.out)
        self.converge(path, *NO_LAG)
        addresses = self.fake.state()["address"]
        self.assertEqual([a["iso_country"] for a in addresses], ["CA"])
        self.assertNotEqual(addresses[0]["sid"], old)
        self.assertEqual(self.numbers()[NUMBER]["emergency_address_sid"], addresses[0]["sid"])

    def test_an_address_an_undeclared_number_uses_is_not_deleted(self):
        path = self.write(OFFICE)
        self.converge(path, *NO_LAG)
        hq = self.addresses()["hq"]["sid"]
        # the file no longer declares the number nor the domain, and drops the address
        only = "twprov: 1\naddresses:\n  - {name: hq, state: absent}\n"
        path = self.write(only)
        r = self.twprov("plan", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(f"addresses/hq: cannot be deleted while phone_numbers/{NUMBER} uses it as its "
                      "emergency_address", r.err + r.out)
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertFalse([e for e in self.log("DELETE") if hq in e["path"]], "nothing was deleted")

    def test_release_unlinks_the_address_first(self):
        path = self.write(OFFICE)
        self.converge(path, *NO_LAG)
        sid = self.numbers()[NUMBER]["sid"]
        self.fake.clear_log()
        released = OFFICE.replace("    friendly_name: Front desk\n", "    state: absent\n").replace(
            '    emergency_caller: "+19863334949"\n', "")
        path = self.write(released)
        r = self.ok("plan", "-f", path)
        self.assertIn("emergency_address hq is cleared first", r.out)
        self.converge(path, "--allow-release", *NO_LAG)
        steps = self.number_log(sid)
        self.assertEqual(steps[0], ("POST", ""))
        self.assertEqual(steps[-1], ("DELETE", None))
        self.assertEqual(steps[-2][0], "GET")
        self.assertNotIn(NUMBER, self.numbers())

    def test_a_failed_registration_fails_the_apply_naming_it(self):
        self.fake.emergency_failures([NUMBER])
        path = self.write(OFFICE)
        r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG)
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, rf"phone_numbers/\{NUMBER} \({re.escape(path)}:\d+:\d+\): Twilio did not complete "
                                r"setting emergency_address: its emergency_address_status is \"?registration-failure")

    def test_twilio_suggestion_is_shown_where_the_file_has_the_address(self):
        path = self.write(OFFICE.replace("street: 1 Main St", "street: 1 main street"))
        r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG)
        self.assertEqual(r.rc, 1, r)
        line = OFFICE.splitlines().index("  - name: hq") + 1
        self.assertRegex(r.err, rf"addresses/hq \({re.escape(path)}:{line}:\d+\): .*21629.*Street: 1 Main St")
        self.assertEqual(self.addresses(), {}, "nothing was created")
        # with auto_correct_address Twilio stores its correction, which then differs from the
        # file: the reason twprov asks for the suggestion instead
        path = self.write(OFFICE.replace("street: 1 Main St", "street: 1 main street").replace(
            "    emergency_enabled: true\n", "    emergency_enabled: true\n    auto_correct_address: true\n", 1))
        r = self.twprov("apply", "-f", path, "--auto-approve", *NO_LAG)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("Not visible yet (what a plan would still do):\n  ~ addresses/hq: street", r.err)
        self.assertEqual(self.addresses()["hq"]["street"], "1 Main St")

    def test_permission_changes_cost_one_request_per_batch(self):
        countries = sorted(self.fake.dialing_permissions()["countries"])
        self.assertGreater(len(countries), 200)
        wanted = countries[:150]
        lines = "".join(f"    {c}: {{low_risk_numbers: true, high_risk_special_numbers: true}}\n" for c in wanted)
        path = self.write("twprov: 1\nvoice_permissions:\n  countries:\n" + lines)
        r = self.ok("plan", "-f", path)
        self.assertIn("Plan: 0 to add, 150 to change, 0 to destroy.", r.out)
        self.converge(path, *NO_LAG)
        bulk = [e for e in self.log("POST") if e["path"].endswith("/BulkCountryUpdates")]
        self.assertEqual(len(bulk), math.ceil(150 / 100))
        self.assertEqual(sorted(c["iso_code"] for e in bulk for c in json.loads(e["form"]["UpdateRequest"][0])),
                         wanted)
        perms = self.fake.dialing_permissions()["countries"]
        self.assertTrue(all(perms[c]["high_risk_special_numbers_enabled"] for c in wanted))
        self.assertFalse(any(perms[c]["high_risk_special_numbers_enabled"] for c in countries[150:]))

    def test_settings_the_account_lacks_are_problems(self):
        path = self.write("twprov: 1\nvoice_permissions:\n  countries:\n    XQ: {low_risk_numbers: true}\n")
        r = self.twprov("plan", "-f", path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("voice_permissions/countries/XQ: Twilio has no such voice_permissions.countries", r.err + r.out)

    def test_validate_warns_of_phones_that_cannot_reach_emergency_services(self):
        path = self.write("""\
            twprov: 1
            credential_lists:
              - name: desk
                credentials: [{username: frontdesk, password: "${env:SIP_PW_ALICE}"}]
            services:
              - unique_name: dialer
                environments: [{name: production}]
            phone_numbers:
              - {number: "+19863334949"}
            sip_domains:
              - domain_name: desk.sip.twilio.com
                emergency_caller: "+19863334949"
                auth: {calls: {credential_lists: [desk]}}
                outbound:
                  service: dialer
                  default_caller_id: "+19863334949"
                  allowed_destinations: ["+1", "+53"]
            voice_permissions:
              countries:
                CU: {low_risk_numbers: false}
                JM: {low_risk_numbers: false}
        """)
        r = self.ok("validate", "-f", path)
        self.assertIn("its phones call out (outbound) but emergency_calling_enabled is not true", r.err)
        self.assertIn("+19863334949 declares no emergency_address", r.err)
        self.assertIn("+53 reaches CU, which voice_permissions closes to ordinary numbers", r.err)
        # +1 takes in Jamaica (1876, 1658): the NANP's islands have their own permissions
        self.assertIn("+1 reaches JM", r.err)
