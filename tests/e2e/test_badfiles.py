"""Every malformed or hostile file exits 3 with its message and sends nothing to Twilio."""

import glob
import os

from harness import HERE, WRAPPED, TwprovCase

BAD = os.path.join(HERE, "badfiles")


class BadFiles(TwprovCase):

    def test_corpus_is_large_enough(self):
        self.assertGreaterEqual(len(glob.glob(os.path.join(BAD, "*.yaml"))), 85)

    def test_each_bad_file(self):
        env = self.env(TWPROV_TEST_UNSET_VAR=None)
        for i, path in enumerate(sorted(glob.glob(os.path.join(BAD, "*.yaml")))):
            name = os.path.basename(path)
            with open(path[:-5] + ".expect") as f:
                expect = f.read().rstrip("\n")
            with self.subTest(file=name):
                r = self.twprov("validate", "-f", path, env=env)
                self.assertEqual(r.rc, 3, r)
                if expect[0].isdigit():      # "LINE:COL: message": FILE:LINE:COL: error: message
                    line, col, msg = expect.split(":", 2)
                    self.assertIn(f"{path}:{line}:{col}: error:{msg}", r.err)
                else:
                    self.assertIn(expect, r.err)
                self.assertRegex(r.err, r"error: \d+ errors? in |error: ")
                # plan and apply load the file as validate does; under valgrind every file is
                # loaded by validate and one in eight by plan and apply too
                if WRAPPED and i % 8:
                    continue
                r = self.twprov("plan", "-f", path, env=env)
                self.assertEqual(r.rc, 3, r)
                r = self.twprov("apply", "-f", path, "--auto-approve", env=env)
                self.assertEqual(r.rc, 3, r)
        self.assertEqual(self.log(), [], "an invalid file must send nothing to Twilio")

    def test_all_errors_reported_in_one_run(self):
        path = self.write("""\
            twprov: 1
            credential_lists:
              - name: office
                credentials:
                  - {username: alice, pasword: x}
            sip_domains:
              - domain_name: a.sip.twilio.com
                voice_url: htp://x
                voice_method: PUT
        """)
        r = self.twprov("validate", "-f", path)
        self.assertEqual(r.rc, 3)
        lines = [l for l in r.err.splitlines() if ": error: " in l]
        self.assertEqual(len(lines), 4, r.err)
        positions = [tuple(int(x) for x in l.split(":")[1:3]) for l in lines]
        self.assertEqual(positions, sorted(positions))
        self.assertIn("error: 4 errors in", r.err)

    def test_validate_json(self):
        import json
        path = self.write("twprov: 1\nsip_domains:\n  - domain_name: a.sip.twilio.com\n    voice_url: htp://x\n")
        r = self.twprov("validate", "-f", path, "--json")
        self.assertEqual(r.rc, 3)
        doc = json.loads(r.out)
        self.assertFalse(doc["valid"])
        self.assertEqual(doc["errors"], [{"file": path, "line": 4, "column": 16,
                                          "message": 'sip_domains[0].voice_url: not a URL: "htp://x"'}])
