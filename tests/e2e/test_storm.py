"""A fault storm at scale: 2,000 resources of every voice kind applied from empty
while the fake answers 20% of requests 429 (half of them with Retry-After), 5%
500 and drops 2% of connections.  The account must end up exactly as the file
says: nothing missing, nothing twice, every password the declared one."""

from account import Account, differences, view
from harness import NO_LAG, TwprovCase

# The figures (the same under valgrind: the fake sets the pace there too)
SCALE = dict(lists=8, users=166, acls=10, addresses=30, domains=10, apps=64, policies=20, targets=5,
             byocs=20, trunks=10, urls=4, numbers=40)
STORM = dict(rate_429=0.2, rate_retry_after=0.5, rate_500=0.05, rate_drop=0.02)


class Storm(TwprovCase):
    fake_options = {"seed": 2000}

    def test_2000_resources_through_a_storm(self):
        acct = Account(**SCALE)
        self.assertEqual(acct.size, 2000)
        path = acct.write(self.dir)
        self.fake.seed_available(acct.available)
        self.fake.faults(**STORM)
        # Each attempt fails with probability ~0.26 here; 16 attempts make giving
        # up on any one of ~3,000 requests a 1-in-10^6 event (the default 7, 1 in 50).
        env = self.env(TWPROV_MAX_RETRIES="15")
        r = self.twprov("apply", "-f", path, "--auto-approve", "--allow-purchase", *NO_LAG, env=env)
        self.assertEqual(r.rc, 0, r.err[-3000:])
        self.assertIn(f"Apply complete: {acct.size} added", r.out)
        stats = self.fake.stats()["by_status"]
        for status in ("429", "500", "dropped"):
            self.assertGreater(stats.get(status, 0), 0, stats)
        self.assertNoSecrets(r.out, r.err)
        # exactly the file: nothing missing, no duplicate, the declared passwords
        self.assertEqual(differences(acct.expected, view(self.fake.state())), [])
        # and twprov agrees, reading through the same storm
        r = self.twprov("plan", "-f", path, "--detailed-exitcode", env=env)
        self.assertEqual(r.rc, 0, r.err[-3000:])
        self.assertIn("No changes.", r.out)
