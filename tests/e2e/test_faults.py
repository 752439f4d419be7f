"""Throttling, server errors, dropped connections, interrupted and partial applies,
lost create responses on kinds whose names Twilio does not keep unique, and
Twilio down.  (The storm at scale is test_storm.py.)"""

import random
import re
import signal
import subprocess
import time

from account import NON_UNIQUE, Account, differences, view
from harness import NO_LAG, OFFICE, SECRETS, TwprovCase, argv


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
        r = self.ok("apply", "-f", path, "--auto-approve", *NO_LAG, env=self.env(TWPROV_MAX_RETRIES="12"))
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
        r = self.ok("apply", "-f", path, "--auto-approve", "-v", *NO_LAG, env=self.env(TWPROV_MAX_RETRIES="12"))
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

    def test_twilio_down_with_the_default_budget(self):
        # the budget a user gets: 7 attempts, backoff from 250 ms doubling to at most 8 s
        # with jitter, so at most 15.75 s of waiting per request
        path = self.write(OFFICE)
        self.fake.faults(fail_all_status=503)
        t = time.monotonic()
        r = self.twprov("apply", "-f", path, "--auto-approve",
                        env=self.env(TWPROV_RETRY_BASE_MS=None, TWPROV_RETRY_CAP_MS=None))
        elapsed = time.monotonic() - t
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"error: reading \w+: gave up after 7 attempts: 20503: Service Unavailable")
        self.assertEqual(r.out, "")
        self.assertLess(elapsed, 120)
        self.assertEqual(self.log("POST"), [])
        # every read was retried to the end of its budget, none beyond
        attempts = {}
        for e in self.log("GET"):
            attempts[e["path"]] = attempts.get(e["path"], 0) + 1
        self.assertTrue(attempts and max(attempts.values()) == 7, attempts)

    def test_twilio_goes_down_during_apply(self):
        # the account was read; Twilio fails while creates run: the create in doubt is
        # re-read before any resend, the re-read gives up after its budget, apply stops
        # and reports; once Twilio is back, apply finishes without duplicates
        path = self.write(many_users(150))
        self.fake.faults(latency_ms=20)
        proc = subprocess.Popen(argv("apply", "-f", path, "--auto-approve", "--parallelism", "2"),
                                env=self.env(TWPROV_MAX_RETRIES="3"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.dir)
        deadline = time.monotonic() + 120
        while len(self.log("POST")) < 10:
            self.assertIsNone(proc.poll(), "apply ended before Twilio went down")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.fake.faults(fail_all_status=503)
        out, err = proc.communicate(timeout=300)
        self.assertWrapperClean(proc.returncode, err)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("re-reading after an uncertain create: gave up after 4 attempts: 20503: Service Unavailable",
                      err)
        self.assertIn("Applied:\n", err)
        self.assertIn("Failed:\n", err)
        self.assertIn("Run twprov apply again", err)
        self.fake.faults(fail_all_status=0, latency_ms=0)
        self.ok("apply", "-f", path, "--auto-approve")
        self.assertConvergedNoDuplicates(path, 150)

    def test_partial_apply_reports_and_rerun_completes(self):
        # a subdomain of a domain the account does not own: Twilio refuses it (21232)
        bad = OFFICE.replace("office-test.sip.twilio.com", "x.notours.sip.twilio.com")
        path = self.write(bad)
        r = self.twprov("apply", "-f", path, "--auto-approve")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("- sip_domains/x.notours.sip.twilio.com", r.out.replace("+ sip", "- sip"))
        # the refused resource is shown where the file declares it
        line = bad.splitlines().index(next(l for l in bad.splitlines() if "x.notours" in l)) + 1
        self.assertRegex(r.err, r"Failed:\n  \+ sip_domains/x\.notours\.sip\.twilio\.com \(" +
                         re.escape(path) + f":{line}:\\d+\\): 21232:")
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

    def assertExactly(self, acct, path):
        """The account is exactly the file (no duplicate, nothing missing) and twprov agrees."""
        self.assertEqual(differences(acct.expected, view(self.fake.state())), [])
        r = self.ok("plan", "-f", path, "--detailed-exitcode")
        self.assertIn("No changes.", r.out)

    def test_killed_apply_converges_on_rerun(self):
        # ten SIGKILLs at random moments (reading, creating, updating, near the end) of an
        # apply of every kind, the four kinds with non-unique names included; each followed
        # by a clean apply that must converge with nothing twice
        acct = Account(lists=2, users=40, acls=4, addresses=5, domains=4, apps=12, policies=4, targets=3,
                       byocs=6, trunks=3, urls=2, numbers=6)
        path = acct.write(self.dir)
        rng = random.Random(11)
        killed_mid_apply = 0
        for round_ in range(10):
            with self.subTest(round=round_):
                self.fake.reset()
                self.fake.seed_available(acct.available)
                self.fake.faults(latency_ms=10)
                # a random moment, measured in requests answered so that it means the same
                # on a slow machine or under valgrind: anywhere from the first read to the end
                moment = rng.randint(1, acct.size)
                proc = subprocess.Popen(argv("apply", "-f", path, "--auto-approve", "--allow-purchase",
                                             "--parallelism", "4"),
                                        env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=self.dir)
                while self.fake.stats()["requests"] < moment and proc.poll() is None:
                    time.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                # requests the dead process had sent still land (as they would at Twilio)
                self.wait_idle()
                done = sum(len(v) for k, v in view(self.fake.state()).items() if k != "trunk_pn")
                killed_mid_apply += 0 < done < acct.size
                self.fake.faults(latency_ms=0)
                self.ok("apply", "-f", path, "--auto-approve", "--allow-purchase")
                self.assertExactly(acct, path)
        # most moments fall inside the creates (the first few requests are reads)
        self.assertGreaterEqual(killed_mid_apply, 8)

    def test_lost_create_responses_make_no_duplicates_of_non_unique_names(self):
        # Twilio takes the create, the answer is lost: twprov re-reads the collection by
        # name, finds the resource and adopts it instead of sending the create again.  30 of
        # each kind: with 10, all ten answers of a kind arrived 0.7^10 = 3% of the time
        acct = Account(lists=0, users=0, acls=30, addresses=2, domains=0, apps=30, policies=30, targets=2,
                       byocs=30, trunks=0, urls=0, numbers=0, tag="nu")
        path = acct.write(self.dir)
        self.fake.faults(rate_drop_after=0.3)
        r = self.ok("apply", "-f", path, "--auto-approve", "-v", *NO_LAG, env=self.env(TWPROV_MAX_RETRIES="20"))
        adopted = set(re.findall(r"^(\w+)/\S+: the uncertain create did happen", r.err, re.M))
        self.assertEqual(adopted, set(NON_UNIQUE), "every non-unique kind lost some create answers")
        self.assertNotIn("the uncertain create did not happen", r.err)
        self.fake.faults(rate_drop_after=0)
        self.assertExactly(acct, path)

    def test_kill_after_twilio_took_the_creates_makes_no_duplicate(self):
        # SIGKILL between Twilio processing creates and twprov reading the answers: the
        # resources exist, twprov never learnt their SIDs.  The next apply reads them by
        # name and creates nothing.
        path = self.write("""\
            twprov: 1
            applications: [{name: k-app-0}, {name: k-app-1}]
            ip_access_control_lists: [{name: k-pbx-0}, {name: k-pbx-1}]
            connection_policies: [{name: k-carrier-0}, {name: k-carrier-1}]
            byoc_trunks: [{name: k-byoc-0}, {name: k-byoc-1}]
        """)
        self.fake.faults(latency_ms=3000)
        proc = subprocess.Popen(argv("apply", "-f", path, "--auto-approve", "--parallelism", "8"),
                                env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=self.dir)
        deadline = time.monotonic() + 120
        # the four collections were read, and the eight creates are at the fake
        while not (len(self.log("GET")) == 4 and self.fake.stats()["in_flight"] == 8):
            self.assertIsNone(proc.poll(), "apply ended before it could be killed")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.fake.faults(latency_ms=0)
        self.wait_idle()
        st = self.fake.state()
        self.assertEqual(sorted(r["friendly_name"] for k in ("application", "ip_acl", "connection_policy",
                                                             "byoc_trunk") for r in st[k]),
                         ["k-app-0", "k-app-1", "k-byoc-0", "k-byoc-1", "k-carrier-0", "k-carrier-1",
                          "k-pbx-0", "k-pbx-1"])
        self.fake.clear_log()
        r = self.ok("apply", "-f", path, "--auto-approve")
        self.assertIn("No changes.", r.out)
        self.assertEqual(self.log("POST"), [])

    def test_duplicate_names_are_reported_not_guessed(self):
        # When a duplicate exists anyway (made by hand, by another tool, or by a request of a
        # killed apply landing after the next apply read the account), plan names both SIDs
        # and refuses; apply changes nothing; deleting the extra one repairs it.
        acct = Account(lists=0, users=0, acls=1, addresses=1, domains=0, apps=1, policies=1, targets=1,
                       byocs=1, trunks=0, urls=0, numbers=0, tag="d")
        path = acct.write(self.dir)
        self.converge(path)
        collections = {
            "applications": (self.acct("/Applications.json"), "d-app-0"),
            "ip_access_control_lists": (self.acct("/SIP/IpAccessControlLists.json"), "d-pbx-0"),
            "connection_policies": ("/v1/ConnectionPolicies", "d-carrier-0"),
            "byoc_trunks": ("/v1/ByocTrunks", "d-byoc-0"),
        }
        self.assertEqual(set(collections), set(NON_UNIQUE))
        for kind, (coll, name) in collections.items():
            with self.subTest(kind=kind):
                extra = self.fake.insert(coll, {"FriendlyName": name})["sid"]
                self.fake.clear_log()
                r = self.twprov("plan", "-f", path)
                self.assertEqual(r.rc, 1, r)
                self.assertRegex(r.err, rf"{kind}/{name}: 2 resources with this identity exist at Twilio "
                                        rf"\(\w+, \w+\); twprov will not guess")
                self.assertIn(extra, r.err)
                r = self.twprov("apply", "-f", path, "--auto-approve")
                self.assertEqual(r.rc, 1, r)
                self.assertEqual([e for e in self.log() if e["method"] != "GET"], [])
                self.api("DELETE", f"{coll.rsplit('.json', 1)[0]}/{extra}" + (".json" if coll.endswith(".json") else ""))
                self.assertExactly(acct, path)

    def test_create_resends_follow_the_retry_budget(self):
        # half of all requests fail 500: a create then needs several re-reads and resends;
        # it gives up only when the retry budget (TWPROV_MAX_RETRIES) is spent
        path = self.write(many_users(60))
        self.fake.faults(rate_500=0.5)
        r = self.ok("apply", "-f", path, "--auto-approve", "-v", *NO_LAG, env=self.env(TWPROV_MAX_RETRIES="40"))
        self.assertIn("the uncertain create did not happen; sending it again", r.err)
        self.fake.faults(rate_500=0)
        self.assertConvergedNoDuplicates(path, 60)

    def test_sigint_stops_cleanly(self):
        path = self.write(many_users(60))
        self.fake.faults(latency_ms=30)
        proc = subprocess.Popen(argv("apply", "-f", path, "--auto-approve", "--parallelism", "2"),
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=self.dir)
        # once creates are under way (before, while it reads, SIGINT simply ends twprov)
        deadline = time.monotonic() + 120
        while len(self.log("POST")) < 3:
            self.assertIsNone(proc.poll(), "apply ended before it could be interrupted")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
        self.assertWrapperClean(proc.returncode, err)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        self.assertIn("Not applied:", err)
        self.fake.faults(latency_ms=0)
        self.ok("apply", "-f", path, "--auto-approve")
        self.assertConvergedNoDuplicates(path, 60)
