"""TLS: the fake serves HTTPS with a certificate made now by a CA made now.
twprov refuses it until told to trust that CA (--cacert or CURL_CA_BUNDLE),
then works; it never offers to turn verification off."""

import os
import shutil
import subprocess
import tempfile

from harness import OFFICE, TwprovCase  # noqa: I001 (harness puts fakeclient on the path)
from fakeclient import FakeTwilio

# What twprov must never suggest: turning verification off in any spelling.
INSECURE = ("insecure", "--no-verify", "verify=false", "-k ", "skip verification", "disable verification",
            "SSL_VERIFY", "verify_peer")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=twprov test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d)


def make_server_cert(d, name, ca, san):
    """{name}.key and {name}.pem (the certificate followed by its CA's: the chain the server sends)."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.leaf", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    with open(os.path.join(d, f"{name}.pem"), "w") as out:
        for part in (f"{name}.leaf", f"{ca}.pem"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())


class Tls(TwprovCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="twprov-tls-")
        make_ca(cls.certs, "ca")
        make_ca(cls.certs, "otherca")
        make_server_cert(cls.certs, "server", "ca", "IP:127.0.0.1,DNS:localhost")
        make_server_cert(cls.certs, "wrongname", "ca", "DNS:api.example.invalid")
        cls.ca = os.path.join(cls.certs, "ca.pem")
        cls.fake_options = {"tls_cert": os.path.join(cls.certs, "server.pem"),
                            "tls_key": os.path.join(cls.certs, "server.key")}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def assertRefused(self, r, problem):
        self.assertEqual(r.rc, 1, r)
        self.assertIn(problem, r.err)
        for word in INSECURE:
            self.assertNotIn(word.lower(), (r.out + r.err).lower())

    def test_the_fake_speaks_https(self):
        self.assertTrue(self.fake.url.startswith("https://127.0.0.1:"))

    def test_untrusted_certificate_is_refused_with_advice(self):
        path = self.write(OFFICE)
        for cmd in (("plan", "-f", path), ("apply", "-f", path, "--auto-approve")):
            with self.subTest(cmd=cmd[0]):
                r = self.twprov(*cmd)
                self.assertRefused(r, "SSL certificate problem: self-signed certificate in certificate chain")
                self.assertIn("hint: the server's TLS certificate is not trusted", r.err)
                self.assertIn("pass --cacert FILE (or set CURL_CA_BUNDLE)", r.err)
        # no request got through the handshake
        self.assertEqual(self.log(), [])

    def test_cacert_makes_it_work(self):
        path = self.write(OFFICE)
        r = self.ok("--cacert", self.ca, "apply", "-f", path, "--auto-approve")
        self.assertIn("Apply complete: 10 added", r.out)
        self.ok("plan", "--cacert", self.ca, "-f", path, "--detailed-exitcode")   # also after the command
        self.assertNoSecrets(r.out, r.err)

    def test_curl_ca_bundle_makes_it_work(self):
        path = self.write(OFFICE)
        env = self.env(CURL_CA_BUNDLE=self.ca)
        self.ok("apply", "-f", path, "--auto-approve", env=env)
        r = self.ok("plan", "-f", path, "--detailed-exitcode", env=env)
        self.assertIn("No changes.", r.out)
        # --cacert wins over CURL_CA_BUNDLE
        r = self.twprov("plan", "-f", path, "--cacert", os.path.join(self.certs, "otherca.pem"), env=env)
        self.assertRefused(r, "SSL certificate problem")

    def test_another_ca_is_not_enough(self):
        path = self.write(OFFICE)
        r = self.twprov("plan", "-f", path, "--cacert", os.path.join(self.certs, "otherca.pem"))
        self.assertRefused(r, "SSL certificate problem")
        self.assertEqual(self.log(), [])

    def test_certificate_for_another_name_is_refused_even_with_its_ca(self):
        path = self.write(OFFICE)
        with FakeTwilio(tls_cert=os.path.join(self.certs, "wrongname.pem"),
                        tls_key=os.path.join(self.certs, "wrongname.key")) as other:
            r = self.twprov("plan", "-f", path, "--cacert", self.ca, env=self.env(**other.env()))
            self.assertRefused(r, "no alternative certificate subject name matches target host name '127.0.0.1'")
            self.assertNotIn("hint:", r.err)      # --cacert would not help here

    def test_unreadable_ca_file(self):
        path = self.write(OFFICE)
        r = self.twprov("plan", "-f", path, "--cacert", "nope.pem")
        self.assertEqual(r.rc, 64, r)
        self.assertIn("error: --cacert nope.pem: No such file or directory", r.err)
        r = self.twprov("plan", "-f", path, env=self.env(CURL_CA_BUNDLE="/nonexistent/ca.pem"))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: CURL_CA_BUNDLE /nonexistent/ca.pem: No such file or directory", r.err)
        self.assertEqual(self.log(), [])
