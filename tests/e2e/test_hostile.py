"""Trust nothing from the wire or the environment (issue 11): hostile servers
(tests/evil/evil_server.py), terminals and inputs.  One test class per case of
the issue; the data-driven corpus of hostile inputs is test_hostile_corpus.py."""

import os
import time

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


class NonRegularFiles(TwprovCase):
    """Case 8: a FIFO (or a device, a socket, a directory) as -f, ${file:...}, --cacert or a
    function's source is refused at once: only regular files are read."""

    def fifo(self, name="fifo"):
        path = os.path.join(self.dir, name)
        os.mkfifo(path)
        return path

    def refused(self, *args, rc=3, want, **kw):
        t = time.monotonic()
        r = self.twprov(*args, timeout=30, **kw)
        self.assertLess(time.monotonic() - t, 20, "twprov waited on a FIFO")
        self.assertEqual(r.rc, rc, r)
        self.assertIn(want, r.err)
        return r

    def test_fifo_as_the_file(self):
        fifo = self.fifo()
        for cmd in (("validate",), ("plan",), ("apply", "--auto-approve"), ("gen-phone-config",),
                    ("remove-credential", "bob", "--auto-approve")):
            with self.subTest(cmd=cmd[0]):
                self.refused(*cmd, "-f", fifo, want=f"error: cannot read {fifo}: not a regular file (a FIFO)")
        self.refused("validate", "-f", "/dev/zero", want="not a regular file (a character device)")
        self.assertEqual(self.log(), [])

    def test_fifo_as_a_secret_file(self):
        self.fifo("pw")
        path = self.write(OFFICE.replace("${env:SIP_PW_ALICE}", "${file:pw}"))
        for cmd in (("validate",), ("apply", "--auto-approve")):
            with self.subTest(cmd=cmd[0]):
                self.refused(*cmd, "-f", path, want='password: cannot read "pw": not a regular file (a FIFO)')
        self.refused("gen-phone-config", "-f", path, "--encrypt-key", "${file:pw}", rc=64,
                     want='--encrypt-key: cannot read "pw": not a regular file (a FIFO)')
        self.assertEqual(self.log(), [])

    def test_fifo_as_a_function_source(self):
        self.fifo("code.js")
        path = self.write("""\
            twprov: 1
            services:
              - unique_name: fifo-svc
                functions:
                  - {path: /x, source: code.js}
                environments:
                  - name: production
            """)
        self.refused("validate", "-f", path, want="not a regular file (a FIFO)")

    def test_fifo_as_the_ca_bundle(self):
        fifo = self.fifo("ca.pem")
        path = self.write(OFFICE)
        self.refused("plan", "-f", path, "--cacert", fifo, rc=64,
                     want=f"error: --cacert {fifo}: not a regular file (a FIFO)")
        self.refused("plan", "-f", path, rc=1, env=self.env(CURL_CA_BUNDLE=fifo),
                     want=f"error: CURL_CA_BUNDLE {fifo}: not a regular file (a FIFO)")
        self.assertEqual(self.log(), [])
