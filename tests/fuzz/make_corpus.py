#!/usr/bin/env python3
"""Regenerate the fuzzers' seed corpora and dictionaries (tests/fuzz/corpus/,
tests/fuzz/*.dict).  Run from anywhere with a built twprov:

    python3 tests/fuzz/make_corpus.py build/twprov

config/: the e2e tests' files and a few YAML shapes the loader must survive
(anchors, merge keys, tags, documents, secret references that try to leave
the sandbox).  The examples and the bad-file corpus (tests/e2e/badfiles) are
seeds too, read where they are (scripts/fuzz, tests/fuzz/CMakeLists.txt).
page/: real list pages of every kind from the fake Twilio after an apply of
every kind (2010 and v1 envelopes, first and middle pages with next links),
and one page holding every kind's list key, which the page harness reads as
a whole account.
Files already in the corpus that this script does not make (crash
reproducers added by hand, crash-*/timeout-* names) are kept."""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fake_twilio"))

from fakeclient import FakeTwilio  # noqa: E402

SHAPES = {
    "anchors.yaml": "twprov: 1\ncredential_lists:\n  - &cl\n    name: a\n    credentials:\n"
                    "      - &u {username: alice, password: \"${env:SIP_PW_ALICE}\"}\n"
                    "  - <<: *cl\n    name: b\n    credentials: [*u]\n",
    "tags.yaml": "twprov: !!int 1\nsip_domains:\n  - domain_name: !!str a.sip.twilio.com\n"
                 "    sip_registration: !!bool true\n    secure: !!bool \"false\"\n",
    "documents.yaml": "twprov: 1\n---\ntwprov: 2\n...\n",
    "flow.yaml": "{twprov: 1, ip_access_control_lists: [{name: p, addresses: [{name: a, ip: 1.2.3.4, cidr: 8}]}]}\n",
    "secret-refs.yaml": "twprov: 1\ncredential_lists:\n  - name: l\n    credentials:\n"
                        "      - {username: a, password: \"${file:secrets/alice}\"}\n"
                        "      - {username: b, password: \"${file:secrets/weak}\"}\n"
                        "      - {username: c, password: \"${file:secrets/empty}\"}\n"
                        "      - {username: d, password: \"${file:secrets/big}\"}\n"
                        "      - {username: e, password: \"${file:secrets/dir}\"}\n"
                        "      - {username: f, password: \"${file:/etc/passwd}\"}\n"
                        "      - {username: g, password: \"${file:../../etc/passwd}\"}\n"
                        "      - {username: h, password: \"${env:WEAK_PW}\"}\n"
                        "      - {username: i, password: \"${env:EMPTY_PW}\"}\n"
                        "      - {username: j, password: \"${env:NOT_SET}\"}\n"
                        "      - {username: k, password: \"${env:}\"}\n",
    "absent.yaml": "twprov: 1\ncredential_lists:\n  - name: gone\n    state: absent\n    credentials:\n"
                   "      - {username: x, password: \"${env:NOT_SET}\"}\n"
                   "phone_numbers:\n  - {number: \"+16505559999\", state: absent}\n",
    "account.yaml": "twprov: 1\naccount: {region: ie1, edge: dublin}\nprune: [credential_lists, applications]\n"
                    "ignore: [\"legacy-*\", \"*\"]\n",
}


def config_corpus(out):
    from harness import OFFICE
    from test_secrets import FILE, INVALID
    from test_voice import FULL
    from account import Account
    files = dict(SHAPES)
    files["e2e-office.yaml"] = OFFICE
    files["e2e-full.yaml"] = FULL
    files["e2e-secrets.yaml"] = FILE.replace("DOMAIN", "s.sip.twilio.com")
    files["e2e-secrets-invalid.yaml"] = INVALID
    files["e2e-account.yaml"] = Account().yaml
    write(out, files)


def page_corpus(out, binary):
    from harness import SECRETS
    from test_voice import AVAILABLE, FULL, OWNED
    files = {}
    with FakeTwilio(seed=1) as fake, tempfile.TemporaryDirectory() as d:
        fake.add_owned(OWNED)
        fake.seed_available(AVAILABLE)
        path = os.path.join(d, "full.yaml")
        with open(path, "w") as f:
            f.write(FULL)
        env = dict(os.environ, **fake.env(), **SECRETS)
        subprocess.run([binary, "apply", "-f", path, "--auto-approve", "--allow-purchase"], env=env,
                       check=True, capture_output=True)
        st = fake.state()
        a = "/2010-04-01/Accounts/" + fake.account_sid
        dom, cl, al = st["sip_domain"][0]["sid"], st["credential_list"][0]["sid"], st["ip_acl"][0]["sid"]
        pol, trunk = st["connection_policy"][0]["sid"], st["trunk"][0]["sid"]
        paths = {
            "credential_lists": a + "/SIP/CredentialLists.json",
            "credentials": f"{a}/SIP/CredentialLists/{cl}/Credentials.json",
            "ip_acls": a + "/SIP/IpAccessControlLists.json",
            "ip_addresses": f"{a}/SIP/IpAccessControlLists/{al}/IpAddresses.json",
            "domains": a + "/SIP/Domains.json",
            "calls_cl": f"{a}/SIP/Domains/{dom}/Auth/Calls/CredentialListMappings.json",
            "calls_al": f"{a}/SIP/Domains/{dom}/Auth/Calls/IpAccessControlListMappings.json",
            "registrations_cl": f"{a}/SIP/Domains/{dom}/Auth/Registrations/CredentialListMappings.json",
            "numbers": a + "/IncomingPhoneNumbers.json",
            "applications": a + "/Applications.json",
            "byoc_trunks": "/v1/ByocTrunks",
            "connection_policies": "/v1/ConnectionPolicies",
            "targets": f"/v1/ConnectionPolicies/{pol}/Targets",
            "trunks": "/v1/Trunks",
            "origination_urls": f"/v1/Trunks/{trunk}/OriginationUrls",
            "trunk_credential_lists": f"/v1/Trunks/{trunk}/CredentialLists",
            "trunk_ip_acls": f"/v1/Trunks/{trunk}/IpAccessControlLists",
        }
        merged = {}
        for name, p in paths.items():
            status, page = fake.api("GET", p, {"PageSize": "1000"})
            assert status == 200, (p, status, page)
            files[f"page-{name}.json"] = json.dumps(page, indent=1)
            for k, v in page.items():
                if isinstance(v, list):
                    merged.setdefault(k, []).extend(v)
            status, first = fake.api("GET", p, {"PageSize": "1"})
            if first.get("next_page_uri") or (first.get("meta") or {}).get("next_page_url"):
                files[f"page-{name}-paged.json"] = json.dumps(first, indent=1)
        merged["meta"] = {"key": "credential_lists", "next_page_url": "https://api.twilio.com/v1/X?PageToken=PA1"}
        files["account-merged.json"] = json.dumps(merged, indent=1)
        # the same account twice: every identity duplicated
        twice = {k: (v + v if isinstance(v, list) else v) for k, v in merged.items()}
        files["account-duplicates.json"] = json.dumps(twice, indent=1)
        status, err = fake.api("GET", a + "/SIP/Domains/SD" + "0" * 32 + ".json")
        files["error-404.json"] = json.dumps(err)
    write(out, files)


def dictionaries():
    """Keys, names and values the harnesses' parsers look for, from the kind descriptors."""
    src = "".join(open(p).read() for p in sorted(glob.glob(os.path.join(SOURCE_DIR, "src", "kinds", "*.c"))))
    names = set(re.findall(r'\.(?:name|yaml_key) = "([^"]+)"', src))
    jsonkeys = set(re.findall(r'\.(?:json|list_key) = "([^"]+)"', src))
    prefixes = set(re.findall(r'\.sid_prefix = "([^"]+)"', src))
    enums = set(re.findall(r'"([a-z-]+)"', " ".join(re.findall(r"\{ (\"[a-z-]+\"(?:, \"[a-z-]+\")*), NULL \}", src))))
    yaml = sorted(names | enums) + ["twprov", "prune", "ignore", "account", "region", "edge", "state", "absent",
                                    "auth", "calls", "registrations", "${env:", "${file:", "}", "&a", "*a", "<<",
                                    "!!bool", "!!str", "!!int", "---", "...", "true", "false", "null", "~",
                                    "GET", "POST", "https://", "sip:", ".sip.twilio.com", ".pstn.twilio.com", "+1"]
    page = sorted(jsonkeys | {p + "0123456789abcdef0123456789abcdef" for p in prefixes}) + [
        "sid", "meta", "key", "next_page_uri", "next_page_url", "page", "page_size", "recording", "mode", "trim",
        "https://voice.twilio.com/v1/", "/2010-04-01/Accounts/", "PageToken=PA1", "true", "false", "null"]
    for name, words in (("config.dict", yaml), ("page.dict", page)):
        with open(os.path.join(HERE, name), "w") as f:
            f.write(f"# {name}: generated by make_corpus.py from src/kinds\n")
            for w in dict.fromkeys(words):
                f.write(json.dumps(w) + "\n")


def write(out, files):
    os.makedirs(out, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE_DIR, "build", "twprov")
    config_corpus(os.path.join(HERE, "corpus", "config"))
    page_corpus(os.path.join(HERE, "corpus", "page"), os.path.abspath(binary))
    dictionaries()


if __name__ == "__main__":
    main()
