"""Smoke test of the benchmark harness (tests/bench/run) on a tiny account, so that
it cannot rot.  It checks what the harness reports is right (twprov converged, the
request counts add up), never how fast anything was: speed is for the benchmark's
own table."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("TWPROV_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TWPROV_BIN") or os.path.join(SOURCE_DIR, "build", "twprov")


class BenchSmoke(unittest.TestCase):
    def test_tiny_account(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bench.json")
            proc = subprocess.run([sys.executable, os.path.join(HERE, "run"), "--bin", BIN,
                                   "--scale", "0.02", "--latency-ms", "5", "--plan-runs", "2",
                                   "--limits", "3:5,12:10", "--baseline-bin", BIN, "--json", out],
                                  capture_output=True, text=True, timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            with open(out) as f:
                res = json.load(f)

        # the table is printed, with a verdict per target row
        self.assertIn("| converged plan: wall time |", proc.stdout)
        self.assertIn("| apply from empty (no --parallelism): failures | 0 (exit 0) | 0 | PASS |", proc.stdout)

        a, p, o, n = res["apply"], res["plan"], res["plan_over"], res["naive"]
        declared = res["declared"]
        self.assertGreater(declared, 20)
        # apply created (or, for the seeded numbers, updated) everything, once
        self.assertEqual(a["rc"], 0)
        self.assertEqual(a["failures"], 0)
        self.assertEqual(a["added"] + a["changed"], a["methods"]["POST"] - a["r429"])
        # and verified them: at least one read of the account after the writes
        self.assertGreaterEqual(a["verify_reads"], 1)
        self.assertIn("| apply from empty: verification (reading the account again", proc.stdout)
        self.assertEqual(a["added"], declared - res["numbers"])   # the numbers were owned: updated
        self.assertEqual(a["answered"] + a["r429"], a["requests"])
        self.assertGreater(a["bound_s"], 0)
        # the bound: requests x the fake's answer time (at least its latency) / the limit + 3 round trips
        self.assertEqual(a["at_once"], 32)
        self.assertGreaterEqual(a["answer_s"], 0.005)
        self.assertAlmostEqual(a["bound_s"], a["answered"] * a["answer_s"] / 32 + 3 * a["answer_s"])
        # the plan after apply has nothing to do and reads each collection once
        for run in p["runs"]:
            self.assertEqual(run["rc"], 0)
            self.assertEqual(run["requests"] - run["r429"], p["minimum"])
        self.assertEqual(p["minimum"], p["collections"])   # every collection fits in one page
        for extra in (o, res["plan_low"]):
            self.assertEqual(extra["rc"], 0)
            self.assertEqual(extra["requests"] - extra["r429"], p["minimum"])
        # export read what the plan reads and the kinds the file does not declare (the lists of
        # services and addresses, empty, the Settings and the countries of voice_permissions),
        # wrote every resource, and the file it wrote plans no changes
        x = res["export"]
        for run in x["runs"]:
            self.assertEqual(run["rc"], 0)
            # and the account's voice_permissions with its US low-risk numbers open (as a new
            # account's are): two settings, written
            self.assertEqual(run["resources"], declared + 2)
            self.assertEqual(run["requests"] - run["r429"], p["minimum"] + 4)
        self.assertEqual(x["plan_rc"], 0)
        self.assertIn("| export of the converged account: wall time (median) vs the converged plan's |", proc.stdout)
        # the naive refresh read every declared resource once
        self.assertEqual(n["resources"], declared)
        self.assertEqual(n["requests"] - n["r429"], declared)
        self.assertEqual(n["errors"], 0)
        self.assertGreater(p["cpu_s"], 0)
        self.assertGreater(p["rss_mb"], 0)
        # a section per --limits entry: apply with no --parallelism against a fake of that
        # limit, the same account created once, and converged plans by both binaries
        self.assertEqual([(s["limit"], s["latency_ms"]) for s in res["limits"]], [(3, 5), (12, 10)])
        for sec in res["limits"]:
            sa = sec["apply"]
            self.assertEqual((sa["rc"], sa["failures"]), (0, 0))
            self.assertEqual(sa["added"], declared - res["numbers"])
            self.assertEqual(sa["answered"] + sa["r429"], sa["requests"])
            self.assertEqual(sa["at_once"], sec["limit"])
            self.assertLessEqual(sa["max_in_flight"], sec["limit"])
            for run in sec["plan"]["runs"] + sec["baseline"]["runs"]:
                self.assertEqual(run["rc"], 0)
                self.assertEqual(run["requests"] - run["r429"], p["minimum"])
            self.assertIn(f"| limit {sec['limit']}, {sec['latency_ms']} ms: apply from empty (no --parallelism): "
                          f"failures | 0 (exit 0) | 0 | PASS |", proc.stdout)


if __name__ == "__main__":
    unittest.main()
