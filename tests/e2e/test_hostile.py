"""Trust nothing from the wire or the environment (issue 11): hostile servers
(tests/evil/evil_server.py), terminals and inputs.  One test class per case of
the issue; the data-driven corpus of hostile inputs is test_hostile_corpus.py."""

from harness import OFFICE, TwprovCase


class BadOptions(TwprovCase):
    """Case 10: a misspelled command option is named, as global options are."""

    def test_every_command_names_the_option(self):
        for cmd, bad, want in (
                (("apply",), "--auto-aprove", "unknown option: --auto-aprove (did you mean --auto-approve?)"),
                (("plan",), "--detailed-exticode", "unknown option: --detailed-exticode (did you mean --detailed-exitcode?)"),
                (("validate",), "--jsno", "unknown option: --jsno (did you mean --json?)"),
                (("gen-phone-config",), "--encrypt-kye", "unknown option: --encrypt-kye (did you mean --encrypt-key?)"),
                (("remove-credential", "bob"), "--dry-rn", "unknown option: --dry-rn (did you mean --dry-run?)"),
                (("plan",), "-x", "unknown option: -x"),
                (("plan",), "-vx", "unknown option: -x"),
                (("apply",), "--target", "option --target needs a value"),
                (("validate",), "--json=yes", "option --json takes no value"),
                ((), "--bogus", "unknown option: --bogus"),
                ((), "-f", "option -f needs a value")):
            with self.subTest(cmd=cmd, bad=bad):
                r = self.twprov(*cmd, bad)
                self.assertEqual(r.rc, 64, r)
                self.assertIn(f"error: {want}\n", r.err)
                self.assertIn(f"usage: twprov {cmd[0] + ' ' if cmd else ''}", r.err)
        # nothing was read, nothing was sent
        self.assertEqual(self.log(), [])

    def test_options_still_work(self):
        path = self.write(OFFICE)
        self.ok("validate", "-f", path, "--json")
        self.ok("plan", "-vf", path)
