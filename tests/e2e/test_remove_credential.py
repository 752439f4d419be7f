"""remove-credential: revoke a SIP user at Twilio and drop it from the file, byte for byte."""

import os
import signal
import stat
import subprocess
import time

from harness import BIN, SECRETS, WRAPPER, TwprovCase

# Several lists and users; bob is in three of them.
TEAM = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: ${env:SIP_PW_ALICE}
        display_name: Alice Smith
      - username: bob
        password: ${env:SIP_PW_BOB}
        display_name: Bob Jones
      - username: carol
        password: ${env:SIP_PW_CAROL}
  - name: lobby
    credentials:
      - {username: bob, password: "${env:SIP_PW_BOB}"}
      - {username: dave, password: "${env:SIP_PW_ALICE}"}
  - name: trunk-auth
    credentials:
      - username: bob
        password: ${env:SIP_PW_BOB}
  - name: managers
    credentials:
      - username: carol
        password: ${env:SIP_PW_CAROL}
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
"""

TEAM_WITHOUT_BOB = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - username: alice
        password: ${env:SIP_PW_ALICE}
        display_name: Alice Smith
      - username: carol
        password: ${env:SIP_PW_CAROL}
  - name: lobby
    credentials:
      - {username: dave, password: "${env:SIP_PW_ALICE}"}
  - name: trunk-auth
    credentials:
  - name: managers
    credentials:
      - username: carol
        password: ${env:SIP_PW_CAROL}
ip_access_control_lists:
  - name: asterisk-pbx
    addresses:
      - {name: pbx, ip: 138.2.68.107}
"""

# Comments everywhere, odd indentation, tabs, block and flow styles, an
# indentless sequence, the list's name after its credentials.
MESSY = """\
# twprov file for the office   -- comments everywhere
twprov: 1   # schema

credential_lists:   # SIP users
# a comment at column 0
  - name: "office-phones"       # the desk phones
    credentials:
        # Alice first
        -   username: alice     # room 1
            password: ${env:SIP_PW_ALICE}
            display_name: 'Alice A.'   # shown on the phone

        -   username: bob       # room 2, leaving
            # rotated in 2024
            password:\t${env:SIP_PW_BOB}
            display_name: "Bob B."
              # a trailing note about bob

        -   {username: carol, password: "${env:SIP_PW_CAROL}"}   # flow item
  - credentials: [ {username: bob, password: "${env:SIP_PW_BOB}"},   # bob in the lobby
                   {username: dave,
                    password: "${env:SIP_PW_ALICE}"} ]
    name:\tlobby
  - name: trunk-auth
    credentials:
    - username: bob
      password: ${env:SIP_PW_BOB}
    # end of trunk-auth
  - {name: managers, credentials: [{username: carol, password: "${env:SIP_PW_CAROL}"}, {username: bob, password: "${env:SIP_PW_BOB}"}]}

ip_access_control_lists:
  - name: asterisk-pbx
    addresses: [{name: pbx, ip: 138.2.68.107}]   # the PBX
"""

MESSY_WITHOUT_BOB = """\
# twprov file for the office   -- comments everywhere
twprov: 1   # schema

credential_lists:   # SIP users
# a comment at column 0
  - name: "office-phones"       # the desk phones
    credentials:
        # Alice first
        -   username: alice     # room 1
            password: ${env:SIP_PW_ALICE}
            display_name: 'Alice A.'   # shown on the phone

        -   {username: carol, password: "${env:SIP_PW_CAROL}"}   # flow item
  - credentials: [
                   {username: dave,
                    password: "${env:SIP_PW_ALICE}"} ]
    name:\tlobby
  - name: trunk-auth
    credentials:
    # end of trunk-auth
  - {name: managers, credentials: [{username: carol, password: "${env:SIP_PW_CAROL}"}]}

ip_access_control_lists:
  - name: asterisk-pbx
    addresses: [{name: pbx, ip: 138.2.68.107}]   # the PBX
"""


class RemoveCredentialCase(TwprovCase):

    def users(self):
        """Live credential list name -> sorted usernames (every list, from the fake's state)."""
        st = self.fake.state()
        names = {cl["sid"]: cl["friendly_name"] for cl in st["credential_list"]}
        out = {n: [] for n in names.values()}
        for c in st["credential"]:
            out[names[c["parent_sid"]]].append(c["username"])
        return {k: sorted(v) for k, v in out.items()}

    def passwords(self):
        """(list name, username) -> password stored at the fake."""
        st = self.fake.state()
        names = {cl["sid"]: cl["friendly_name"] for cl in st["credential_list"]}
        return {(names[c["parent_sid"]], c["username"]): c["password"] for c in st["credential"]}

    def write_bytes(self, data, name="twprov.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def read_bytes(self, path):
        with open(path, "rb") as f:
            return f.read()

    def setup_team(self, text=TEAM):
        path = self.write(text)
        self.converge(path)
        self.fake.clear_log()
        return path

    def assertNothingSent(self):
        bad = [e for e in self.log() if e["method"] != "GET"]
        self.assertEqual(bad, [], "requests other than GET")


class RemoveCredential(RemoveCredentialCase):

    def test_removes_everywhere_and_keeps_every_other_byte(self):
        path = self.setup_team()
        before = self.passwords()
        r = self.ok("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertNoSecrets(r.out, r.err)
        self.assertIn("- credential_lists/office-phones/credentials/bob (CR", r.out)
        self.assertIn("- credential_lists/lobby/credentials/bob (CR", r.out)
        self.assertIn("- credential_lists/trunk-auth/credentials/bob (CR", r.out)
        self.assertIn("Removed bob: 3 credentials revoked at Twilio, 3 entries removed from", r.out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM_WITHOUT_BOB)
        self.assertEqual(self.users(), {"office-phones": ["alice", "carol"], "lobby": ["dave"],
                                        "trunk-auth": [], "managers": ["carol"]})
        # only the three DELETEs changed anything, and the others kept their passwords
        self.assertEqual(sorted(e["path"].split("/")[-2] for e in self.log("DELETE")), ["Credentials"] * 3)
        self.assertEqual([e for e in self.log() if e["method"] not in ("GET", "DELETE")], [])
        after = self.passwords()
        self.assertEqual(after, {k: v for k, v in before.items() if k[1] != "bob"})
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_messy_file(self):
        path = self.setup_team(MESSY)
        r = self.ok("remove-credential", "-f", path, "bob", "--auto-approve")
        self.assertNoSecrets(r.out, r.err)
        self.assertEqual(self.read_bytes(path).decode(), MESSY_WITHOUT_BOB)
        self.assertEqual(self.users(), {"office-phones": ["alice", "carol"], "lobby": ["dave"],
                                        "trunk-auth": [], "managers": ["carol"]})
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_messy_file_with_crlf(self):
        crlf = MESSY.replace("\n", "\r\n").encode()
        path = self.write_bytes(crlf)
        self.converge(path)
        self.ok("remove-credential", "-f", path, "bob", "--auto-approve")
        self.assertEqual(self.read_bytes(path), MESSY_WITHOUT_BOB.replace("\n", "\r\n").encode())
        self.assertEqual(self.users()["lobby"], ["dave"])
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_utf8_and_bom(self):
        text = ("\ufefftwprov: 1\n"
                "credential_lists:\n"
                "  - name: Łódź office   # ✓\n"
                "    credentials:\n"
                "      - {username: zoe, password: \"${env:SIP_PW_ALICE}\", display_name: Zoë 🎉}\n"
                "      - {username: bob, password: \"${env:SIP_PW_BOB}\", display_name: Bób}\n"
                "      - {username: carol, password: \"${env:SIP_PW_CAROL}\", display_name: Çarol}\n")
        path = self.write_bytes(text.encode())
        self.converge(path)
        self.ok("remove-credential", "-f", path, "bob", "--auto-approve")
        self.assertEqual(self.read_bytes(path).decode(),
                         text.replace("      - {username: bob, password: \"${env:SIP_PW_BOB}\", display_name: Bób}\n", ""))
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_list_narrows(self):
        path = self.setup_team()
        r = self.ok("remove-credential", "bob", "-f", path, "--list", "lobby", "--auto-approve")
        self.assertIn("Removed bob: 1 credential revoked at Twilio, 1 entry removed from", r.out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM.replace(
            '      - {username: bob, password: "${env:SIP_PW_BOB}"}\n', ""))
        users = self.users()
        self.assertEqual(users["lobby"], ["dave"])
        self.assertEqual(users["office-phones"], ["alice", "bob", "carol"])
        self.assertEqual(users["trunk-auth"], ["bob"])
        self.assertEqual(len(self.log("DELETE")), 1)
        self.ok("plan", "-f", path, "--detailed-exitcode")
        # two lists
        self.ok("remove-credential", "bob", "-f", path, "--list", "trunk-auth", "--list", "office-phones",
                "--auto-approve")
        self.assertEqual(self.read_bytes(path).decode(), TEAM_WITHOUT_BOB)
        self.ok("plan", "-f", path, "--detailed-exitcode")
        # a list that does not hold the user, or that the file does not declare
        r = self.twprov("remove-credential", "carol", "-f", path, "--list", "lobby", "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn('credential list "lobby" of', r.err)
        self.assertIn("does not declare the user carol", r.err)
        r = self.twprov("remove-credential", "carol", "-f", path, "--list", "nosuch", "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn('credential list "nosuch" is not declared in', r.err)

    def test_all_lists(self):
        path = self.setup_team()
        # a list only Twilio has, a declared list that has bob only at Twilio, and an ignored list
        cl = self.api("POST", self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "old-desk"})
        self.api("POST", self.acct(f"/SIP/CredentialLists/{cl['sid']}/Credentials.json"),
                 {"Username": "bob", "Password": SECRETS["SIP_PW_BOB"]})
        managers = [c for c in self.fake.state()["credential_list"] if c["friendly_name"] == "managers"][0]
        self.api("POST", self.acct(f"/SIP/CredentialLists/{managers['sid']}/Credentials.json"),
                 {"Username": "bob", "Password": SECRETS["SIP_PW_BOB"]})
        legacy = self.api("POST", self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "legacy-fax"})
        self.api("POST", self.acct(f"/SIP/CredentialLists/{legacy['sid']}/Credentials.json"),
                 {"Username": "bob", "Password": SECRETS["SIP_PW_BOB"]})
        ignoring = self.write(TEAM.replace("twprov: 1\n", 'twprov: 1\nignore: ["legacy-*"]\n'))

        # without --all-lists: the declared lists only, and a note about managers
        r = self.ok("remove-credential", "bob", "-f", ignoring, "--dry-run")
        self.assertIn("Note: Twilio also has credential_lists/managers/credentials/bob, which the file declares "
                      "without bob: twprov apply removes it, or run again with --all-lists.", r.out)
        self.assertNotIn("old-desk", r.out)

        self.fake.clear_log()
        r = self.ok("remove-credential", "bob", "-f", ignoring, "--all-lists", "--auto-approve")
        self.assertIn("- credential_lists/old-desk/credentials/bob (CR", r.out)
        self.assertIn("# not in", r.out)
        self.assertIn("Note: credential_lists/legacy-fax/credentials/bob is left alone: its list matches "
                      'ignore "legacy-*".', r.out)
        self.assertIn("Removed bob: 5 credentials revoked at Twilio, 3 entries removed from", r.out)
        self.assertEqual(len(self.log("DELETE")), 5)
        users = self.users()
        self.assertEqual(users["old-desk"], [])
        self.assertEqual(users["managers"], ["carol"])
        self.assertEqual(users["legacy-fax"], ["bob"])
        self.assertEqual(self.read_bytes(ignoring).decode(),
                         TEAM_WITHOUT_BOB.replace("twprov: 1\n", 'twprov: 1\nignore: ["legacy-*"]\n'))
        self.ok("plan", "-f", ignoring, "--detailed-exitcode")

    def test_all_lists_user_only_at_twilio(self):
        path = self.setup_team()
        cl = self.api("POST", self.acct("/SIP/CredentialLists.json"), {"FriendlyName": "old-desk"})
        self.api("POST", self.acct(f"/SIP/CredentialLists/{cl['sid']}/Credentials.json"),
                 {"Username": "mallory", "Password": SECRETS["SIP_PW_BOB"]})
        self.fake.clear_log()
        r = self.twprov("remove-credential", "mallory", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("no credential list of", r.err)
        self.assertIn("--all-lists looks for it at Twilio too", r.err)
        self.assertEqual(self.log(), [])
        before = self.read_bytes(path)
        r = self.ok("remove-credential", "mallory", "-f", path, "--all-lists", "--list", "old-desk",
                    "--auto-approve")
        self.assertIn("Removed mallory: 1 credential revoked at Twilio.", r.out)
        self.assertEqual(self.users()["old-desk"], [])
        self.assertEqual(self.read_bytes(path), before)

    def test_dry_run_changes_nothing(self):
        text = TEAM.replace("${env:SIP_PW_CAROL}", "Carol-Literal-Pw-2024", 1)
        path = self.setup_team(text)
        mtime = os.stat(path).st_mtime_ns
        r = self.ok("remove-credential", "bob", "-f", path, "--dry-run")
        self.assertNothingSent()
        self.assertGreater(len(self.log("GET")), 0)
        self.assertEqual(self.read_bytes(path).decode(), text)
        self.assertEqual(os.stat(path).st_mtime_ns, mtime)
        self.assertEqual(self.users()["lobby"], ["bob", "dave"])
        # what it would do: the deletions and the file's diff, the literal password hidden
        self.assertIn("twprov will revoke the SIP user bob at Twilio:", r.out)
        self.assertEqual(r.out.count(" - credential_lists/"), 3)
        self.assertIn("--- " + path + "\n+++ " + path + "\n@@ -5,19 +5,13 @@\n", r.out)
        self.assertIn("-      - username: bob\n-        password: ${env:SIP_PW_BOB}\n-        display_name: Bob Jones\n",
                      r.out)
        self.assertIn("         password: (sensitive)\n", r.out)
        self.assertNotIn("Carol-Literal-Pw-2024", r.out + r.err)
        self.assertIn("-      - {username: bob, password: \"${env:SIP_PW_BOB}\"}\n", r.out)
        self.assertIn("Dry run: nothing was changed.", r.out)
        self.assertNoSecrets(r.out, r.err)
        # no temporary file left behind
        self.assertEqual(sorted(os.listdir(self.dir)), ["twprov.yaml"])

    def test_keep_file(self):
        path = self.setup_team()
        r = self.ok("remove-credential", "bob", "-f", path, "--keep-file", "--auto-approve")
        self.assertIn("is left as it is (--keep-file)", r.out)
        self.assertIn("Removed bob: 3 credentials revoked at Twilio.", r.out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM)
        self.assertEqual(self.users()["lobby"], ["dave"])
        # the file still declares bob: the next plan creates him again
        r = self.twprov("plan", "-f", path, "--detailed-exitcode")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("+ credential_lists/lobby/credentials/bob", r.out)
        # nothing left at Twilio: no changes, exit 0
        r = self.ok("remove-credential", "bob", "-f", path, "--keep-file", "--auto-approve")
        self.assertIn("No changes", r.out)

    def test_unknown_user_changes_nothing(self):
        path = self.setup_team()
        r = self.twprov("remove-credential", "mallory", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: no credential list of " + path + " declares the user mallory (nothing was changed", r.err)
        self.assertEqual(self.log(), [])
        r = self.twprov("remove-credential", "mallory", "-f", path, "--all-lists", "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("the user mallory is neither in " + path + " nor in any credential list at Twilio", r.err)
        self.assertNothingSent()
        self.assertEqual(self.read_bytes(path).decode(), TEAM)

    def test_needs_approval(self):
        path = self.setup_team()
        r = self.twprov("remove-credential", "bob", "-f", path)
        self.assertEqual(r.rc, 64, r)
        self.assertIn("refusing to revoke the credential: stdin is not a terminal and --auto-approve was not given",
                      r.err)
        self.assertNothingSent()
        self.assertEqual(self.read_bytes(path).decode(), TEAM)

    def test_terminal_yes_and_no(self):
        path = self.setup_team()
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "no")
        self.assertEqual(rc, 1, out)
        self.assertIn("Removal cancelled.", out)
        self.assertNothingSent()
        self.assertEqual(self.read_bytes(path).decode(), TEAM)
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "yes")
        self.assertEqual(rc, 0, out)
        self.assertNoSecrets(out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM_WITHOUT_BOB)

    def test_other_users_secrets_not_needed(self):
        path = self.setup_team()
        env = self.env(SIP_PW_ALICE=None, SIP_PW_CAROL=None, SIP_PW_BOB=None)
        self.ok("remove-credential", "bob", "-f", path, "--auto-approve", env=env)
        self.assertEqual(self.read_bytes(path).decode(), TEAM_WITHOUT_BOB)
        self.ok("plan", "-f", path, "--detailed-exitcode")

    def test_mode_and_symlink_kept(self):
        real_dir = os.path.join(self.dir, "conf")
        os.mkdir(real_dir)
        real = os.path.join(real_dir, "office.yaml")
        with open(real, "w") as f:
            f.write(TEAM)
        os.chmod(real, 0o640)
        link = os.path.join(self.dir, "twprov.yaml")
        os.symlink("conf/office.yaml", link)
        self.converge(link)
        self.ok("remove-credential", "bob", "-f", link, "--auto-approve")
        self.assertTrue(os.path.islink(link))
        self.assertEqual(self.read_bytes(real).decode(), TEAM_WITHOUT_BOB)
        self.assertEqual(stat.S_IMODE(os.stat(real).st_mode), 0o640)
        self.assertEqual(sorted(os.listdir(real_dir)), ["office.yaml"])

    def test_user_only_in_the_file(self):
        path = self.write(TEAM)
        # apply without bob in lobby: the file's entry has nothing at Twilio
        self.converge(path)
        lobby = [c for c in self.fake.state()["credential_list"] if c["friendly_name"] == "lobby"][0]
        bob = [c for c in self.fake.state()["credential"]
               if c["parent_sid"] == lobby["sid"] and c["username"] == "bob"][0]
        self.api("DELETE", self.acct(f"/SIP/CredentialLists/{lobby['sid']}/Credentials/{bob['sid']}.json"))
        r = self.ok("remove-credential", "bob", "-f", path, "--list", "lobby", "--auto-approve")
        self.assertIn("Not at Twilio, nothing to revoke: credential_lists/lobby/credentials/bob", r.out)
        self.assertIn("Removed bob: 0 credentials revoked at Twilio, 1 entry removed from", r.out)
        self.assertEqual(self.log("DELETE")[1:], [])

    def test_invalid_file(self):
        path = self.write(TEAM.replace("twprov: 1", "twprov: 2"))
        r = self.twprov("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 3, r)
        self.assertIn("unsupported schema version 2", r.err)
        self.assertEqual(self.log(), [])
        r = self.twprov("remove-credential", "bob", "-f", "nope.yaml")
        self.assertEqual(r.rc, 3, r)
        self.assertIn("No such file", r.err)

    def test_usage(self):
        r = self.ok("remove-credential", "--help")
        self.assertIn("usage: twprov remove-credential", r.out)
        self.assertIn("  remove-credential ", self.ok("--help").out)
        for args in ([], ["a", "b"], [""], ["--bogus", "bob"]):
            r = self.twprov("remove-credential", *args)
            self.assertEqual(r.rc, 64, f"{args}: {r}")
        self.assertEqual(self.log(), [])


class RefusedEdits(RemoveCredentialCase):

    ANCHORED = """\
twprov: 1
credential_lists:
  - name: office-phones
    credentials:
      - {username: alice, password: "${env:SIP_PW_ALICE}"}
      - &bob {username: bob, password: "${env:SIP_PW_BOB}"}
  - name: lobby
    credentials:
      - *bob
      - {username: dave, password: "${env:SIP_PW_ALICE}"}
"""

    def test_anchor_and_alias_refused_with_instructions(self):
        path = self.setup_team(self.ANCHORED)
        r = self.ok("remove-credential", "bob", "-f", path, "--dry-run")
        self.assertIn("cannot be edited safely: credential_lists/office-phones/credentials/bob: the entry defines "
                      "the anchor &bob (line 6)", r.err)
        self.assertNothingSent()

        r = self.twprov("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        # the revocation stands; the file is untouched and the message says what to remove
        self.assertEqual(self.users(), {"office-phones": ["alice"], "lobby": ["dave"]})
        self.assertEqual(self.read_bytes(path).decode(), self.ANCHORED)
        self.assertIn("error: bob was revoked at Twilio, but " + path + " was not edited: ", r.err)
        self.assertIn(f"Remove these entries by hand from {path}:\n"
                      f"  {path}:6:9: credential_lists/office-phones/credentials/bob (line 6)\n"
                      f"  {path}:9:9: credential_lists/lobby/credentials/bob (line 9)\n", r.err)
        self.assertEqual(sorted(os.listdir(self.dir)), ["twprov.yaml"])

    def test_file_changed_while_waiting(self):
        path = self.setup_team()

        def edit():
            with open(path, "a") as f:
                f.write("# edited meanwhile\n")
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "yes", at_prompt=edit)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"was not edited: {path} changed while twprov was running", out)
        self.assertIn(f"  {path}:8:9: credential_lists/office-phones/credentials/bob (lines 8-10)", out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM + "# edited meanwhile\n")
        self.assertEqual(self.users()["lobby"], ["dave"])

    def test_only_file_entries_and_refused(self):
        text = self.ANCHORED
        path = self.setup_team(text)
        self.ok("remove-credential", "bob", "-f", path, "--keep-file", "--auto-approve")
        self.fake.clear_log()
        r = self.twprov("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("cannot be edited safely", r.err)
        self.assertIn("(nothing was changed)", r.err)
        self.assertNothingSent()
        self.assertEqual(self.read_bytes(path).decode(), text)


class TwilioFails(RemoveCredentialCase):
    """Failures at Twilio leave the file as it was; running again finishes the job."""

    def test_twilio_down_at_the_prompt(self):
        path = self.setup_team()
        env = self.env(TWPROV_MAX_RETRIES="1")
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "yes",
                                  at_prompt=lambda: self.fake.faults(fail_all_status=503), env=env)
        self.fake.faults(fail_all_status=0)
        self.assertEqual(rc, 1, out)
        self.assertIn("error: revoking bob stopped: not every credential was deleted at Twilio", out)
        self.assertIn("Not revoked:\n  - credential_lists/office-phones/credentials/bob: gave up after 2 attempts", out)
        self.assertIn(" was not edited. Run the same command again to finish", out)
        self.assertEqual(self.read_bytes(path).decode(), TEAM)
        self.assertEqual(self.users()["lobby"], ["bob", "dave"])
        self.ok("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertEqual(self.read_bytes(path).decode(), TEAM_WITHOUT_BOB)
        self.ok("plan", "-f", path, "--detailed-exitcode")


class TwilioFailsMidway(RemoveCredentialCase):
    """Half the deletions fail (seeded dice): the report matches the account, the file is untouched."""

    fake_options = {"seed": 3}

    def test_some_revoked_some_not(self):
        extras = "".join(f"  - name: extra-{i}\n    credentials:\n      - username: bob\n"
                         f"        password: ${{env:SIP_PW_BOB}}\n" for i in range(5))
        many = TEAM.replace("ip_access_control_lists:\n", extras + "ip_access_control_lists:\n")
        path = self.setup_team(many)
        env = self.env(TWPROV_MAX_RETRIES="0")
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "yes",
                                  at_prompt=lambda: self.fake.faults(rate_500=0.5), env=env)
        self.fake.faults(rate_500=0)
        self.assertEqual(rc, 1, out)
        self.assertNoSecrets(out)
        users = self.users()
        still = sorted(n for n, u in users.items() if "bob" in u)
        gone = sorted(n for n in ["office-phones", "lobby", "trunk-auth"] + [f"extra-{i}" for i in range(5)]
                      if n not in still)
        self.assertTrue(still and gone, f"the dice gave no partial failure: {users}")
        revoked = out.split("Revoked:\n")[1].split("Not revoked:")[0]
        failed = out.split("Not revoked:\n")[1].split(f"{path} was not edited.")[0]
        for n in gone:
            self.assertIn(f"  - credential_lists/{n}/credentials/bob\n", revoked)
        lines = failed.splitlines()
        self.assertEqual(len(lines), len(still), failed)
        for n in still:
            line = [x for x in lines if x.startswith(f"  - credential_lists/{n}/credentials/bob: ")]
            self.assertEqual(len(line), 1, failed)
            self.assertIn("20500: Internal Server Error", line[0])
        self.assertEqual(self.read_bytes(path).decode(), many)
        # running again revokes what is left and edits the file
        self.fake.clear_log()
        r = self.ok("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertEqual(len(self.log("DELETE")), len(still))
        self.assertIn(f"Removed bob: {len(still)} credential", r.out)
        self.assertIn("entries removed from", r.out)
        self.assertNotIn("bob", self.read_bytes(path).decode())
        self.ok("plan", "-f", path, "--detailed-exitcode")


def extra_lists(n):
    return "".join(f"  - name: extra-{i}\n    credentials:\n      - username: bob\n"
                   f"        password: ${{env:SIP_PW_BOB}}\n" for i in range(n))


class OnTheEngine(RemoveCredentialCase):
    """The revocations are a plan run by apply's engine: keep-going, the same report, SIGINT."""

    fake_options = {"seed": 5}

    def test_keep_going_tries_every_list(self):
        # a failure does not stop the others: every list gets its DELETE, once
        path = self.setup_team(TEAM.replace("ip_access_control_lists:\n", extra_lists(9) + "ip_access_control_lists:\n"))
        # the account is read first; the failures start at the prompt
        rc, out = self.run_on_tty(["remove-credential", "bob", "-f", path], "yes",
                                  at_prompt=lambda: self.fake.faults(rate_500=0.5),
                                  env=self.env(TWPROV_MAX_RETRIES="0"))
        self.fake.faults(rate_500=0)
        self.assertEqual(rc, 1, out)
        deletes = self.log("DELETE")
        self.assertEqual(len(deletes), 12, "one DELETE per list, failed or not")
        self.assertEqual(len({e["path"] for e in deletes}), 12)
        failed = [e for e in deletes if e["status"] == 500]
        self.assertTrue(0 < len(failed) < 12, "the dice gave no partial failure")
        self.assertIn("Revoked:\n", out)
        self.assertIn("Not revoked:\n", out)
        self.assertNotIn("Not started:", out)
        self.assertEqual(out.count(": 20500: Internal Server Error"), 2 * len(failed), out)   # progress, report

    def test_sigint_stops_starting_revocations(self):
        path = self.setup_team(TEAM.replace("ip_access_control_lists:\n", extra_lists(30) + "ip_access_control_lists:\n"))
        # an account that takes 4 requests at once: twprov finds that and the other
        # revocations wait for room (without a limit all 33 would start together)
        self.fake.faults(latency_ms=400, concurrency=4)
        proc = subprocess.Popen([*WRAPPER, BIN, "remove-credential", "bob", "-f", path, "--auto-approve"],
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=self.dir)
        deadline = time.monotonic() + 120
        while not self.log("DELETE"):
            self.assertIsNone(proc.poll(), "remove-credential ended before it could be interrupted")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
        self.fake.faults(latency_ms=0, concurrency=0)
        self.assertWrapperClean(proc.returncode, err)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("revoking bob stopped", err)
        self.assertIn("interrupted", err)
        self.assertIn("Not started:\n", err)
        started = len(self.log("DELETE"))
        self.assertLess(started, 33, "the revocations not yet started were not sent")
        self.assertEqual(err.count("\n  - credential_lists/"), 33, err)     # every one is reported
        self.assertEqual(self.read_bytes(path).decode().count("username: bob"), 33, "the file is untouched")
        # again, to the end
        self.ok("remove-credential", "bob", "-f", path, "--auto-approve")
        self.assertNotIn("bob", self.read_bytes(path).decode())
        self.ok("plan", "-f", path, "--detailed-exitcode")
