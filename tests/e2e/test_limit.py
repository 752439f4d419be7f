"""The limit of requests in flight, found and not configured (issue 16): apply
with no --parallelism against accounts that take a few requests at once (429
beyond, as Twilio's concurrency limit), their 429s with or without Retry-After,
a limit that falls during the apply, --parallelism as a cap, and what -v says."""

import re
import subprocess
import time

from account import Account, differences, view
from harness import NO_LAG, TwprovCase, argv

# -v's line for a host whose limit was found / never reached
FOUND = re.compile(r"^limit of (\S+): (\d+) requests? at once \(found: 429 beyond that; (\d+) of (\d+) requests "
                   r"answered 429; (\d+) in flight at most; cap (\d+)\)$", re.M)
NOT_REACHED = re.compile(r"^limit of (\S+): not reached: (\d+) requests in flight at most, no 429 in (\d+) requests "
                         r"\(cap (\d+)\)$", re.M)


class Limit(TwprovCase):
    fake_options = {"seed": 16}

    def apply(self, acct, *args, env=None):
        path = acct.write(self.dir)
        r = self.twprov("-v", "apply", "-f", path, "--auto-approve", *NO_LAG, *args, env=env)
        self.assertEqual(r.rc, 0, r.err[-3000:])
        self.assertIn(f"Apply complete: {acct.size} added", r.out)
        self.assertNoSecrets(r.out, r.err)
        # exactly the file: nothing missing, nothing twice
        self.assertEqual(differences(acct.expected, view(self.fake.state())), [])
        return r

    def found(self, err):
        """The -v line of the one host (every product on the fake's port)."""
        lines = FOUND.findall(err)
        self.assertEqual(len(lines), 1, err[-3000:])
        host, limit, throttled, requests, peak, cap = lines[0]
        self.assertEqual(host, self.fake.url.split("//", 1)[1])
        return int(limit), int(throttled), int(requests), int(peak), int(cap)

    def test_apply_finds_the_accounts_limit(self):
        acct = Account(lists=3, users=50, acls=2, addresses=10, apps=10, numbers=0)
        self.fake.faults(concurrency=6, latency_ms=30)
        r = self.apply(acct)
        stats = self.fake.stats()
        # twprov started above the limit (32) and came down to it, and used all of it
        self.assertGreater(stats["throttled"], 0)
        self.assertEqual(stats["max_in_flight"], 6)
        # a few 429s, not a storm: far fewer than the requests
        self.assertLess(stats["by_status"]["429"], stats["requests"] / 10, stats)
        # -v: the limit found, and the counts the fake saw
        limit, throttled, requests, peak, cap = self.found(r.err)
        self.assertIn(limit, (5, 6, 7))
        self.assertEqual((throttled, requests), (stats["by_status"]["429"], stats["requests"]))
        # twprov had more in flight than the fake took: it started above the limit
        self.assertGreater(peak, 6)
        self.assertEqual(cap, 256)
        # plan finds it again, on its own
        r = self.twprov("-v", "plan", "-f", acct.write(self.dir), "--detailed-exitcode")
        self.assertEqual(r.rc, 0, r.err[-3000:])
        self.found(r.err)

    def test_storm_of_429s_without_a_larger_retry_budget(self):
        # an account that takes 2 at once: most of the first burst is refused, and again
        # whenever twprov tries one more; the default budget (6 retries) is enough
        acct = Account(lists=2, users=30, acls=2, addresses=5, apps=6, numbers=0)
        self.fake.faults(concurrency=2, latency_ms=20)
        r = self.apply(acct, env=self.env(TWPROV_MAX_RETRIES=None))
        stats = self.fake.stats()
        # the first burst alone is refused but for 2: the account's top-level lists, read
        # at once (about ten); the tries past the limit add more, fewer when twprov runs
        # slowly (under valgrind: 9 in all)
        self.assertGreaterEqual(stats["throttled"], 5)
        self.assertEqual(stats["max_in_flight"], 2)
        limit, throttled, requests, _, _ = self.found(r.err)
        self.assertIn(limit, (1, 2, 3))
        self.assertEqual(throttled, stats["throttled"])
        self.assertNotIn("gave up", r.err)

    def test_429s_that_name_a_delay(self):
        # the same limit, its 429s with Retry-After: 1 (Twilio's name none; RFC 6585 allows it):
        # each such 429 cuts the limit and its request waits the second it was told to
        acct = Account(lists=1, users=20, acls=1, addresses=3, apps=3, domains=1, policies=1, targets=1,
                       byocs=1, trunks=1, urls=1, numbers=0)
        self.fake.faults(concurrency=3, latency_ms=20, concurrency_retry_after=1)
        r = self.apply(acct, env=self.env(TWPROV_MAX_RETRIES=None))
        stats = self.fake.stats()
        self.assertGreater(stats["throttled"], 0)
        self.assertLessEqual(stats["max_in_flight"], 3)
        # the retries after a 429 waited the second they were told to
        self.assertRegex(r.err, r"retry \d+/\d+ \S+ \S+ after 429 in 1\d\d\d ms")
        limit, throttled, _, _, _ = self.found(r.err)
        self.assertLessEqual(limit, 3)
        self.assertEqual(throttled, stats["throttled"])

    def test_limit_falls_during_the_apply(self):
        # another client starts using the account: it takes 8 of ours, then only 2
        acct = Account(lists=3, users=60, acls=2, addresses=5, apps=5, numbers=0)
        path = acct.write(self.dir)
        self.fake.faults(concurrency=8, latency_ms=30)
        proc = subprocess.Popen(argv("-v", "apply", "-f", path, "--auto-approve", *NO_LAG), env=self.env(),
                                cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while self.fake.stats()["requests"] < 60 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        before = self.fake.stats()["throttled"]
        self.fake.faults(concurrency=2)
        out, err = proc.communicate(timeout=600)
        self.assertWrapperClean(proc.returncode, err)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        self.assertIn(f"Apply complete: {acct.size} added", out)
        self.assertEqual(differences(acct.expected, view(self.fake.state())), [])
        # it was refused after the fall, and came down to what is left
        self.assertGreater(self.fake.stats()["throttled"], before)
        limit = self.found(err)[0]
        self.assertIn(limit, (1, 2, 3))

    def test_parallelism_is_a_cap(self):
        # an account without a limit: twprov never has more than N in flight, and uses N
        acct = Account(lists=2, users=30, acls=1, addresses=3, apps=3, numbers=0)
        self.fake.faults(latency_ms=30)
        r = self.apply(acct, "--parallelism", "3")
        self.assertEqual(self.fake.stats()["max_in_flight"], 3)
        self.assertEqual(self.fake.stats()["throttled"], 0)
        lines = NOT_REACHED.findall(r.err)
        self.assertEqual(len(lines), 1, r.err[-3000:])
        host, peak, requests, cap = lines[0]
        self.assertEqual((int(peak), int(requests), int(cap)), (3, self.fake.stats()["requests"], 3))
        self.assertEqual(FOUND.findall(r.err), [])
        # without a cap it doubles past the start (32) when there is that much to do; the
        # answers take long enough for a slow twprov (under valgrind) to have sent more
        self.fake.reset()
        self.fake.faults(latency_ms=300)
        acct = Account(lists=1, users=200, acls=1, addresses=3, apps=3, numbers=0, tag="b")
        r = self.apply(acct)
        self.assertGreater(self.fake.stats()["max_in_flight"], 32)
        self.assertEqual(len(NOT_REACHED.findall(r.err)), 1)
