"""Throttling, server errors, dropped connections, interrupted and partial applies."""

import os
import random
import signal
import subprocess
import time

from harness import BIN, OFFICE, SECRETS, TwprovCase


def many_users(n):
    """OFFICE plus a list "staff" of n users (their password from SIP_PW_ALICE)."""
    users = "".join(f"      - {{username: user{i:03d}, password: \"${{env:SIP_PW_ALICE}}\"}}\n" for i in range(n))
    return OFFICE.replace("ip_access_control_lists:\n",
                          "  - name: staff\n    credentials:\n" + users + "ip_access_control_lists:\n", 1)


class Faults(TwprovCase):
    fake_options = {"seed": 7}

    def assertConvergedNoDuplicates(self, path, users=0):
        self.ok("plan", "-f", path, "--detailed-exitcode")
        snap = self.snapshot()
        for kind in snap:
            for name, copies in snap[kind].items():
                self.assertEqual(len(copies), 1, f"duplicate {kind} {name}")
        creds = self.credentials()
        names = [(c["parent_sid"], c["username"]) for c in creds]
        self.assertEqual(len(names), len(set(names)), "duplicate credentials")
        self.assertEqual(len(creds), 2 + users)
        for c in creds:
            want = SECRETS["SIP_PW_BOB"] if c["username"] == "bob" else SECRETS["SIP_PW_ALICE"]
            self.assertEqual(c["password"], want)

    def test_429_and_500_storm_converges(self):
        path = self.write(many_users(40))
        self.fake.faults(rate_429=0.3, rate_retry_after=0.05, rate_500=0.1)
        r = self.ok("apply", "-f", path, "--auto-approve", env=self.env(TWPROV_MAX_RETRIES="12"))
        self.assertIn("Apply complete: 51 added", r.out)
        stats = self.fake.stats()
        self.assertGreater(stats["by_status"].get("429", 0), 5)
        self.assertGreater(stats["by_status"].get("500", 0), 0)
        self.fake.faults(rate_429=0, rate_500=0)
        self.assertConvergedNoDuplicates(path, 40)

    def test_concurrency_limit_converges(self):
        path = self.write(many_users(40))
        self.fake.faults(concurrency=2, latency_ms=20)
        self.ok("apply", "-f", path, "--auto-approve", "--parallelism", "8",
                env=self.env(TWPROV_MAX_RETRIES="20"))
        self.assertGreater(self.fake.stats()["throttled"], 0)
        self.assertLessEqual(self.fake.stats()["max_in_flight"], 8)
        self.fake.faults(concurrency=0, latency_ms=0)
        self.assertConvergedNoDuplicates(path, 40)

    def test_dropped_connections_and_lost_responses_make_no_duplicates(self):
        path = self.write(many_users(40))
        self.fake.faults(rate_drop=0.1, rate_drop_after=0.15)
        r = self.ok("apply", "-f", path, "--auto-approve", "-v", env=self.env(TWPROV_MAX_RETRIES="12"))
        self.assertGreater(self.fake.stats()["by_status"].get("dropped", 0), 0)
        # at least one create lost its response and was found again instead of re-sent
        self.assertIn("re-reading before sending it again", r.err)
        self.assertNoSecrets(r.out, r.err)
        self.fake.faults(rate_drop=0, rate_drop_after=0)
        self.assertConvergedNoDuplicates(path, 40)

    def test_twilio_down_gives_up_in_bounded_time(self):
        path = self.write(OFFICE)
        self.fake.faults(fail_all_status=503)
        t = time.monotonic()
        r = self.twprov("apply", "-f", path, "--auto-approve",
                        env=self.env(TWPROV_MAX_RETRIES="3", TWPROV_RETRY_BASE_MS="50"))
        elapsed = time.monotonic() - t
        self.assertEqual(r.rc, 1, r)
        self.assertIn("gave up after 4 attempts", r.err)
        self.assertIn("20503", r.err)
        self.assertLess(elapsed, 20)
        self.fake.faults(fail_all_status=0)

    def test_partial_apply_reports_and_rerun_completes(self):
        # a subdomain of a domain the account does not own: Twilio refuses it (21232)
        bad = OFFICE.replace("office-test.sip.twilio.com", "x.notours.sip.twilio.com")
        path = self.write(bad)
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("- sip_domains/x.notours.sip.twilio.com", r.out.replace("+ sip", "- sip"))
        self.assertIn("Failed:\n  + sip_domains/x.notours.sip.twilio.com: 21232:", r.err)
        self.assertIn("Applied:\n", r.err)
        self.assertIn("Not applied:\n", r.err)
        self.assertIn("auth.calls.credential_lists/office-phones", r.err.split("Not applied:")[1])
        self.assertIn("Run twprov apply again", r.err)
        applied = [l for l in r.err.split("Applied:\n")[1].split("Failed:")[0].splitlines() if l.startswith("  ")]
        self.assertIn("  + credential_lists/office-phones", applied)
        self.assertEqual(self.snapshot()["sip_domains"], {})
        # fix the file; the second apply does exactly what is left, without duplicates
        path = self.write(OFFICE)
        r = self.ok("apply", "-f", path, "--auto-approve")
        self.assertIn(f"Apply complete: {10 - len(applied)} added", r.out)
        self.assertConvergedNoDuplicates(path)

    def test_killed_apply_converges_on_rerun(self):
        path = self.write(many_users(60))
        rng = random.Random(11)
        for round_ in range(5):
            with self.subTest(round=round_):
                self.fake.reset()
                self.fake.faults(latency_ms=15)
                proc = subprocess.Popen([BIN, "apply", "-f", path, "--auto-approve", "--parallelism", "4"],
                                        env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=self.dir)
                time.sleep(rng.uniform(0.1, 0.6))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                self.fake.faults(latency_ms=0)
                self.ok("apply", "-f", path, "--auto-approve")
                self.assertConvergedNoDuplicates(path, 60)

    def test_sigint_stops_cleanly(self):
        path = self.write(many_users(60))
        self.fake.faults(latency_ms=30)
        proc = subprocess.Popen([BIN, "apply", "-f", path, "--auto-approve", "--parallelism", "2"],
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=self.dir)
        time.sleep(0.8)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        self.assertIn("Not applied:", err)
        self.fake.faults(latency_ms=0)
        self.ok("apply", "-f", path, "--auto-approve")
        self.assertConvergedNoDuplicates(path, 60)
