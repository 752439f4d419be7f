"""Real SIP software for the gen-phone-config tests: a Kamailio registrar
standing in for Twilio (digest realm sip.twilio.com), and drivers for
baresip, linphonec and SIPp that register with what a generated file holds.

Every tool is required: a missing one fails the test (CI installs them with
scripts/deps), it never skips.  Everything binds to 127.0.0.1 on ports the
kernel hands out, and every process started here is stopped by its id."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from xml.sax.saxutils import escape

from harness import SOURCE_DIR

SIP_DIR = os.path.join(SOURCE_DIR, "tests", "sip")
KAMAILIO_DBTEXT = "/usr/share/kamailio/dbtext/kamailio"


def tool(name):
    """The path of a required program; AssertionError (a failure, not a skip) if missing."""
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if not p:
        raise AssertionError(f"{name} is not installed: run scripts/deps (the SIP tests need it)")
    return p


def _free(port):
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(count=1):
    """A port P such that P .. P+count-1 are free for both UDP and TCP on 127.0.0.1
    (baresip listens for TLS on the port after its SIP port)."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        t.close()
        if port + count <= 65535 and all(_free(port + i) for i in range(count)):
            return port
    raise AssertionError("no free port on 127.0.0.1")


def stop(proc, timeout=10):
    """Stop a process this module started, with its process group (its own
    children: it was started in a new session).  The group is signalled only
    while its leader is not yet reaped, so the group id is still ours."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


class Registrar:
    """Kamailio on 127.0.0.1:PORT (UDP and TCP), users {name: password},
    REGISTERs accepted only for To domains in `domains`."""

    def __init__(self, users, domains):
        self.users = users
        self.domains = domains
        self.port = None
        self.proc = None

    def __enter__(self):
        kamailio = tool("kamailio")
        self._tmp = tempfile.TemporaryDirectory(prefix="twprov-kam-")
        d = self._tmp.name
        db = os.path.join(d, "db")
        os.mkdir(db)
        shutil.copy(os.path.join(KAMAILIO_DBTEXT, "version"), os.path.join(db, "version"))
        with open(os.path.join(KAMAILIO_DBTEXT, "subscriber")) as f:
            header = f.readline()
        with open(os.path.join(db, "subscriber"), "w") as f:
            f.write(header)
            for i, (user, pw) in enumerate(sorted(self.users.items()), 1):
                # db_text: ':' separates columns; every column must be non-empty
                assert ":" not in pw and "\\" not in pw, "test passwords must suit db_text"
                f.write(f"{i}:{user}:sip.twilio.com:{pw}:x:x\n")
        self.port = free_port()
        domain_re = "^(" + "|".join(re.escape(h).replace("\\", "\\\\") for h in self.domains) + ")$"
        with open(os.path.join(SIP_DIR, "kamailio.cfg")) as f:
            cfg = f.read()
        cfg = cfg.replace("@PORT@", str(self.port)).replace("@DBDIR@", db).replace("@DOMAIN_RE@", domain_re)
        self.cfg = os.path.join(d, "kamailio.cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg)
        check = subprocess.run([kamailio, "-c", "-f", self.cfg], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"kamailio rejected its config:\n{check.stderr}"
        self.logpath = os.path.join(d, "kamailio.log")
        self._log = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [kamailio, "-f", self.cfg, "-P", os.path.join(d, "kamailio.pid"), "-DD", "-E", "-Y", d,
             "-m", "32", "-M", "4"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            assert self.proc.poll() is None, f"kamailio exited:\n{self.log()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            stop(self.proc)
            raise AssertionError(f"kamailio did not start:\n{self.log()}")
        return self

    def __exit__(self, *exc):
        if self.proc:
            stop(self.proc)
        self._log.close()
        self._tmp.cleanup()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def events(self):
        """(event, user, domain, proto) from the config's xlog lines, in order."""
        return re.findall(r"twprov-sip: (\w[\w-]*) user=(\S+) domain=(\S+) proto=(\w+)", self.log())

    def mark(self):
        return len(self.events())

    def since(self, mark):
        return self.events()[mark:]


# ---- clients ---------------------------------------------------------------------------


def run_baresip(accounts_file, seconds=5):
    """baresip with its own config dir holding the generated accounts file;
    returns its output (baresip always exits 0: the log tells)."""
    baresip = tool("baresip")
    with tempfile.TemporaryDirectory(prefix="twprov-baresip-") as d:
        shutil.copy(accounts_file, os.path.join(d, "accounts"))
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"sip_listen 127.0.0.1:{free_port(2)}\n"
                    "module_path /usr/lib/baresip/modules\n"
                    "module g711.so\n"
                    "module_app account.so\n")
        p = subprocess.Popen([baresip, "-f", d, "-t", str(seconds)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True, env={"PATH": "/usr/bin:/bin", "HOME": d})
        try:
            out, _ = p.communicate(timeout=seconds + 20)
        finally:
            stop(p)
        return out


def run_linphonec(xml_file, seconds=5):
    """linphonec applying the generated remote-provisioning XML through
    [misc] config-uri; returns the answer of `status register`."""
    linphonec = tool("linphonec")
    with tempfile.TemporaryDirectory(prefix="twprov-linphone-") as home:
        # without this directory linphone never starts registering
        os.makedirs(os.path.join(home, ".local", "share", "linphone"))
        # linphone rewrites the files it reads: work on a copy
        prov = os.path.join(home, "prov.xml")
        shutil.copy(xml_file, prov)
        rc = os.path.join(home, "linphonerc")
        with open(rc, "w") as f:
            f.write(f"[misc]\nconfig-uri=file://{prov}\n"
                    f"[sip]\nsip_port={free_port()}\nsip_tcp_port=-1\n"
                    f"[rtp]\naudio_rtp_port={free_port()}\n")
        p = subprocess.Popen([linphonec, "-c", rc], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True,
                             env={"PATH": "/usr/bin:/bin", "HOME": home})
        try:
            time.sleep(seconds)
            p.stdin.write("status register\n")
            p.stdin.flush()
            time.sleep(1)
            p.stdin.write("quit\n")
            p.stdin.flush()
            out, _ = p.communicate(timeout=20)
        finally:
            stop(p)
        return out


def run_sipp(registrar_host, proxy, user, password, transport, expires=3600):
    """SIPp REGISTERs user@registrar_host with digest auth, sending to `proxy`
    (host:port) over udp or tcp; returns (exit code, output)."""
    sipp = tool("sipp")
    with open(os.path.join(SIP_DIR, "register.xml")) as f:
        scenario = f.read()
    for k, v in (("@USER@", user), ("@PASSWORD@", password), ("@HOST@", registrar_host),
                 ("@EXPIRES@", str(expires))):
        assert "]" not in v and "[" not in v, "SIPp keywords cannot hold brackets"
        scenario = scenario.replace(k, escape(v))
    with tempfile.TemporaryDirectory(prefix="twprov-sipp-") as d:
        path = os.path.join(d, "register.xml")
        with open(path, "w") as f:
            f.write(scenario)
        t = {"udp": "u1", "tcp": "t1"}[transport]
        p = subprocess.run([sipp, proxy, "-sf", path, "-m", "1", "-nostdin", "-timeout", "15", "-timeout_error",
                            "-t", t, "-i", "127.0.0.1", "-p", str(free_port()), "-nd"],
                           capture_output=True, text=True, timeout=60, cwd=d, start_new_session=True)
        return p.returncode, p.stdout + p.stderr
