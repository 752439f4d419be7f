"""The Debian package (cpack -G DEB in the build directory) and `cmake --install`: the
binary, the man pages, the shell completions and the schema at their standard paths, the
package's metadata and dependencies, and the same files either way."""

import glob
import gzip
import os
import subprocess
import tempfile
import unittest

from harness import BIN, SOURCE_DIR

BUILD = os.environ.get("TWPROV_BUILD_DIR") or os.path.dirname(os.path.abspath(BIN))
CMAKE = os.environ.get("TWPROV_CMAKE") or "cmake"
CPACK = os.environ.get("TWPROV_CPACK") or "cpack"

INSTALLED = {
    "usr/bin/twprov",
    "usr/share/man/man1/twprov.1.gz",
    "usr/share/man/man1/twprov-export.1.gz",
    "usr/share/man/man1/twprov-gen-phone-config.1.gz",
    "usr/share/man/man1/twprov-remove-credential.1.gz",
    "usr/share/man/man5/twprov.yaml.5.gz",
    "usr/share/bash-completion/completions/twprov",
    "usr/share/zsh/vendor-completions/_twprov",
    "usr/share/twprov/twprov.schema.json",
}
# the runtime libraries of the four libraries twprov is built on (dpkg-shlibdeps finds them)
RUNTIME = {"libc6", "libcurl4", "libjansson4", "libyaml-0-2", "libssl3"}


def run(*args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode:
        raise AssertionError(f"{' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def files_under(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


class Package(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        run(CPACK, "-G", "DEB", "-B", cls.tmp.name, cwd=BUILD)
        debs = glob.glob(os.path.join(cls.tmp.name, "*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def field(self, name):
        return run("dpkg-deb", "-f", self.deb, name).strip()

    def test_contents(self):
        listing = run("dpkg-deb", "-c", self.deb).splitlines()
        files = {l.split()[-1][2:]: l.split()[0] for l in listing if not l.startswith("d")}
        self.assertEqual(set(files), INSTALLED)
        self.assertEqual(files["usr/bin/twprov"], "-rwxr-xr-x")
        self.assertTrue(all(mode == "-rw-r--r--" for f, mode in files.items() if f != "usr/bin/twprov"), files)

    def test_metadata(self):
        version = run(BIN, "--version").split()[-1]
        self.assertEqual(self.field("Package"), "twprov")
        self.assertEqual(self.field("Version"), version)
        self.assertEqual(os.path.basename(self.deb), f"twprov_{version}_{self.field('Architecture')}.deb")
        self.assertEqual(self.field("Architecture"), run("dpkg", "--print-architecture").strip())
        self.assertRegex(self.field("Maintainer"), r"^.+ <[^@ ]+@[^@ ]+>$")
        description = self.field("Description").splitlines()
        self.assertEqual(description[0], "declarative provisioning for Twilio voice")
        self.assertGreater(len(description), 2)
        depends = {d.strip().split()[0] for d in self.field("Depends").split(",")}
        self.assertTrue(RUNTIME <= depends, depends)

    def test_installed_files_are_the_built_ones(self):
        with tempfile.TemporaryDirectory() as root:
            run("dpkg-deb", "-x", self.deb, root)
            usr = os.path.join(root, "usr")
            self.assertIn("twprov", run(os.path.join(usr, "bin", "twprov"), "--version"))
            schema = run(os.path.join(usr, "bin", "twprov"), "schema")
            with open(os.path.join(usr, "share", "twprov", "twprov.schema.json")) as f:
                self.assertEqual(f.read(), schema)
            with gzip.open(os.path.join(usr, "share", "man", "man5", "twprov.yaml.5.gz"), "rt") as f:
                page = f.read()
            with open(os.path.join(SOURCE_DIR, "man", "twprov.yaml.5")) as f:
                self.assertEqual(page, f.read())   # the committed page is the generated one (man/fields)
            self.assertIn(".SS credential_lists", page)
            for installed, source in (("bash-completion/completions/twprov", "twprov.bash"),
                                      ("zsh/vendor-completions/_twprov", "_twprov")):
                with open(os.path.join(usr, "share", installed)) as a, \
                        open(os.path.join(SOURCE_DIR, "completions", source)) as b:
                    self.assertEqual(a.read(), b.read())

    def test_cmake_install_installs_the_same_files(self):
        with tempfile.TemporaryDirectory() as root:
            run(CMAKE, "--install", BUILD, "--prefix", "/usr", env={**os.environ, "DESTDIR": root})
            self.assertEqual(files_under(root), INSTALLED)
