"""Shell completion: twprov's own helper (`twprov __complete`), then the bash and zsh scripts of
completions/ run by the real shells: bash's completion function driven through COMP_WORDS and
COMP_CWORD (and found by bash-completion's loader where it is installed), zsh's completion
system on a pseudo-terminal (tests/e2e/zsh_complete.zsh)."""

import os
import re
import shutil
import subprocess

from harness import BIN, EVERY_KIND, EVERY_KIND_OWNED, HERE, OFFICE, SOURCE_DIR, TwprovCase

COMPLETIONS = os.path.join(SOURCE_DIR, "completions")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


class Helper(TwprovCase):
    """twprov __complete: what the scripts print."""

    def complete(self, *words, path=None):
        args = (["-f", path] if path else []) + list(words)
        r = self.twprov("__complete", *args)
        self.assertEqual(r.rc, 0, r)
        lines = r.out.splitlines()
        self.assertIn(lines[-1], (":words", ":files", ":dirs"), r)
        return [l.split("\t")[0] for l in lines[:-1]], lines[-1]

    def test_commands_are_the_command_table(self):
        r = self.twprov("--help")
        listed = re.findall(r"^  ([a-z][a-z-]+) ", r.out.split("Commands:")[1].split("\n\n")[0], re.M)
        self.assertIn("schema", listed)
        self.assertNotIn("__complete", r.out)
        self.assertEqual(self.complete(""), (listed, ":words"))
        self.assertEqual(self.complete("re"), (["remove-credential"], ":words"))

    def test_options_are_each_commands_usage(self):
        r = self.twprov("--help")
        listed = re.findall(r"^  ([a-z][a-z-]+) ", r.out.split("Commands:")[1].split("\n\n")[0], re.M)
        globals_ = set(re.findall(r"(--[a-z-]+)", r.out.split("Global options")[1])) - {"--version"}
        self.assertIn("--version", self.complete("--")[0])      # before a command only
        for cmd in listed:
            with self.subTest(command=cmd):
                usage = self.twprov(cmd, "--help").out
                options = set(re.findall(r"^ +(?:-\w, )?(--[a-z-]+)", usage, re.M))
                self.assertTrue(options or cmd == "schema", usage)
                got, directive = self.complete(cmd, "--")
                self.assertEqual(set(got), options | globals_)

    def test_targets_are_addresses_plan_accepts(self):
        self.fake.add_owned(EVERY_KIND_OWNED)
        self.fake.seed_available(["+16505550000"])
        path = self.write(EVERY_KIND)
        got, directive = self.complete("plan", "--target", "", path=path)
        self.assertEqual(directive, ":words")
        self.assertIn("credential_lists/office-phones", got)
        self.assertIn("credential_lists/office-phones/credentials/alice", got)
        self.assertIn("sip_trunks/pbx-all.pstn.twilio.com/origination_urls/asterisk", got)
        self.assertGreaterEqual(len(got), 25)
        for target in got:
            with self.subTest(target=target):
                r = self.twprov("plan", "-f", path, "--target", target)
                self.assertEqual(r.rc, 0, r)
        # what is typed narrows them; --target=... keeps its prefix; the file by -f, --file or --file=
        self.assertEqual(self.complete("plan", "--target", "sip_trunks/", path=path)[0],
                         [t for t in got if t.startswith("sip_trunks/")])
        self.assertEqual(self.complete("apply", "--target=ip_access_control_lists/asterisk-pbx", path=path)[0],
                         ["--target=" + t for t in got if t.startswith("ip_access_control_lists/asterisk-pbx")])
        self.assertEqual(self.twprov("__complete", f"--file={path}", "plan", "--target", "applications").out,
                         "applications/inbound\n:words\n")

    def test_names_from_the_file(self):
        path = self.write(OFFICE)
        self.assertEqual(self.complete("remove-credential", "", path=path), (["alice", "bob"], ":words"))
        self.assertEqual(self.complete("remove-credential", "--list", "", path=path), (["office-phones"], ":words"))
        self.assertEqual(self.complete("gen-phone-config", "--only", "b", path=path), (["bob"], ":words"))
        self.assertEqual(self.complete("gen-phone-config", "--domain", "", path=path),
                         (["office-test.sip.twilio.com"], ":words"))

    def test_paths(self):
        self.assertEqual(self.complete("show", ""), ([], ":files"))
        self.assertEqual(self.complete("apply", "--auto-approve", ""), ([], ":files"))
        self.assertEqual(self.complete("validate", "-f", ""), ([], ":files"))
        self.assertEqual(self.complete("--cacert", ""), ([], ":files"))
        self.assertEqual(self.complete("gen-phone-config", "-o", ""), ([], ":dirs"))
        self.assertEqual(self.complete("plan", "--out=x"), ([], ":files"))

    def test_no_file_or_a_broken_one(self):
        self.assertEqual(self.complete("plan", "--target", ""), ([], ":words"))   # no twprov.yaml
        path = self.write("twprov: 1\ncredential_lists:\n  - name: ok\n  - {name: [bad]}\n")
        self.assertEqual(self.complete("plan", "--target", "", path=path), (["credential_lists/ok"], ":words"))
        path = self.write("credential_lists: [\n")
        self.assertEqual(self.complete("plan", "--target", "", path=path), ([], ":words"))
        self.assertEqual(self.complete("nosuch", ""), ([], ":words"))


class Scripts(TwprovCase):
    """The scripts in the shells they are for."""

    def setUp(self):
        super().setUp()
        self.bindir = os.path.dirname(os.path.abspath(BIN))
        with open(os.path.join(self.dir, "twprov.yaml"), "w") as f:
            f.write(OFFICE)
        os.mkdir(os.path.join(self.dir, "phones"))
        open(os.path.join(self.dir, "saved.plan"), "w").close()

    def shell_env(self):
        return {"PATH": self.bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir,
                "LC_ALL": "C.UTF-8"}

    def bash(self, script):
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=self.dir, env=self.shell_env(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def bash_complete(self, *words, cword=None):
        """COMPREPLY of _twprov for COMP_WORDS=words, the last one (or cword) being completed,
        as bash splits a line (--target=x is three words: --target, =, x)."""
        cword = len(words) - 1 if cword is None else cword
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        out = self.bash(f"source {COMPLETIONS}/twprov.bash\n"
                        f"COMP_WORDS=({quoted}); COMP_CWORD={cword}\n"
                        "_twprov; printf '%s\\n' \"${COMPREPLY[@]}\"")
        return sorted(l for l in out.splitlines() if l)

    def test_bash_registers_the_function(self):
        self.assertEqual(self.bash(f"source {COMPLETIONS}/twprov.bash; complete -p twprov").strip(),
                         "complete -F _twprov twprov")

    def test_bash(self):
        self.assertEqual(self.bash_complete("twprov", "pl"), ["plan"])
        self.assertIn("--target", self.bash_complete("twprov", "plan", "--t"))
        self.assertEqual(self.bash_complete("twprov", "plan", "--target", "sip"), [
            "sip_domains/office-test.sip.twilio.com",
            "sip_domains/office-test.sip.twilio.com/auth.calls.credential_lists/office-phones",
            "sip_domains/office-test.sip.twilio.com/auth.calls.ip_access_control_lists/asterisk-pbx",
            "sip_domains/office-test.sip.twilio.com/auth.registrations.credential_lists/office-phones"])
        # bash splits at '=': the value alone replaces what follows it
        self.assertEqual(self.bash_complete("twprov", "plan", "--target", "=", "credential_lists/office-phones/"),
                         ["credential_lists/office-phones/credentials/alice",
                          "credential_lists/office-phones/credentials/bob"])
        self.assertEqual(len(self.bash_complete("twprov", "plan", "--target", "=")), 10)
        self.assertEqual(self.bash_complete("twprov", "remove-credential", ""), ["alice", "bob"])
        self.assertEqual(self.bash_complete("twprov", "show", "sa"), ["saved.plan"])
        self.assertEqual(self.bash_complete("twprov", "gen-phone-config", "-o", ""), ["phones"])
        self.assertEqual(self.bash_complete("twprov", "nosuch", ""), [])

    def test_bash_completion_finds_it_where_it_is_installed(self):
        # bash-completion (scripts/deps installs it) loads completions/NAME from
        # $XDG_DATA_DIRS/bash-completion/completions when NAME is first completed
        self.assertTrue(os.path.exists(BASH_COMPLETION), "bash-completion is not installed (scripts/deps)")
        share = os.path.join(self.dir, "share")
        os.makedirs(os.path.join(share, "bash-completion", "completions"))
        shutil.copy(os.path.join(COMPLETIONS, "twprov.bash"), os.path.join(share, "bash-completion", "completions", "twprov"))
        out = self.bash(f"export XDG_DATA_DIRS={share}; source {BASH_COMPLETION}\n"
                        "_completion_loader twprov; complete -p twprov")
        self.assertEqual(out.strip(), "complete -F _twprov twprov")

    def zsh_complete(self, line):
        r = subprocess.run(["zsh", "-f", os.path.join(HERE, "zsh_complete.zsh"), COMPLETIONS, line], cwd=self.dir,
                           env=self.shell_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.splitlines()

    def test_zsh(self):
        self.assertEqual(subprocess.run(["zsh", "-n", os.path.join(COMPLETIONS, "_twprov")]).returncode, 0)
        self.assertEqual(self.zsh_complete("twprov pl"), ["plan"])
        self.assertIn("--detailed-exitcode", self.zsh_complete("twprov plan --"))
        self.assertEqual(self.zsh_complete("twprov plan --target=credential_lists/"), [
            "credential_lists/office-phones", "credential_lists/office-phones/credentials/alice",
            "credential_lists/office-phones/credentials/bob"])
        self.assertEqual(self.zsh_complete("twprov -f twprov.yaml remove-credential "), ["alice", "bob"])
        self.assertEqual(self.zsh_complete("twprov gen-phone-config -o "), ["phones"])
        self.assertIn("saved.plan", self.zsh_complete("twprov show "))
