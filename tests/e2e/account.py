"""A generated account of every voice kind, of any size, for the fault tests:
its twprov file, and the fake's state seen in the file's terms so that the two
can be compared exactly (every resource once, every field as declared, every
stored password the declared one)."""

import os
from collections import Counter

from harness import SECRETS

# Kinds whose names Twilio does not keep unique: a create sent twice makes two.
NON_UNIQUE = ("applications", "ip_access_control_lists", "connection_policies", "byoc_trunks")


class Account:
    """counts: how many of each; the total number of resources is `size`."""

    def __init__(self, lists=2, users=5, acls=2, addresses=3, domains=2, apps=3, policies=2,
                 targets=2, byocs=2, trunks=2, urls=2, numbers=3, tag="a"):
        self.tag = tag
        self.files = {}                 # relative path -> content (${file:...} secrets)
        self.available = []             # numbers the fake must offer for purchase
        self.expected = {}              # fake store -> sorted list of tuples
        y = ["twprov: 1", "credential_lists:"]
        exp = {k: [] for k in ("credential_list", "credential", "ip_acl", "ip_address", "sip_domain",
                               "calls_cl", "calls_al", "registrations_cl", "application",
                               "connection_policy", "target", "byoc_trunk", "trunk", "origination_url",
                               "trunk_cl", "trunk_al", "trunk_pn", "incoming_number")}
        cl = [f"{tag}-phones-{i}" for i in range(lists)]
        for name in cl:
            y += [f"  - name: {name}", "    credentials:"]
            exp["credential_list"].append((name,))
            for u in range(users):
                user = f"u{u:04d}"
                pw, ref = self.password(name, u)
                y.append(f"      - {{username: {user}, password: \"{ref}\"}}")
                exp["credential"].append((name, user, pw))
        al = [f"{tag}-pbx-{i}" for i in range(acls)]
        y.append("ip_access_control_lists:")
        for i, name in enumerate(al):
            y += [f"  - name: {name}", "    addresses:"]
            exp["ip_acl"].append((name,))
            for a in range(addresses):
                ip, cidr = f"10.{i % 250}.{a // 250}.{a % 250}", 32 - a % 3 * 4
                y.append(f"      - {{name: host{a}, ip: {ip}, cidr: {cidr}}}")
                exp["ip_address"].append((name, f"host{a}", ip, cidr))
        pols = [f"{tag}-carrier-{i}" for i in range(policies)]
        y.append("connection_policies:")
        for name in pols:
            y += [f"  - name: {name}", "    targets:"]
            exp["connection_policy"].append((name,))
            for t in range(targets):
                tgt = f"sip:sbc{t}.{name}.example:5060"
                y.append(f"      - {{name: sbc{t}, target: \"{tgt}\", priority: {t * 10}, weight: {t + 1}}}")
                exp["target"].append((name, f"sbc{t}", tgt, t * 10, t + 1))
        doms = [f"{tag}-office-{i}.sip.twilio.com" for i in range(domains)]
        byo = [f"{tag}-byoc-{i}" for i in range(byocs)]
        y.append("byoc_trunks:")
        for i, name in enumerate(byo):
            url = f"https://example.twil.io/{name}"
            pol = pols[i % len(pols)] if pols else None
            dom = doms[i % len(doms)] if doms and i % 2 == 0 else None
            y += [f"  - name: {name}", f"    voice_url: {url}"]
            if pol:
                y.append(f"    connection_policy: {pol}")
            if dom:
                y.append(f"    from_domain: {dom}")
            exp["byoc_trunk"].append((name, url, pol, dom))
        y.append("sip_domains:")
        for i, name in enumerate(doms):
            url = f"https://example.twil.io/{name}"
            byoc = byo[i % len(byo)] if byo and i % 3 == 0 else None
            y += [f"  - domain_name: {name}", f"    voice_url: {url}", "    sip_registration: true"]
            if byoc:
                y.append(f"    byoc_trunk: {byoc}")
            exp["sip_domain"].append((name, url, byoc))
            if cl and al:
                c, a = cl[i % len(cl)], al[i % len(al)]
                y += ["    auth:", "      calls:", f"        credential_lists: [{c}]",
                      f"        ip_access_control_lists: [{a}]",
                      "      registrations:", f"        credential_lists: [{c}]"]
                exp["calls_cl"].append((name, c))
                exp["calls_al"].append((name, a))
                exp["registrations_cl"].append((name, c))
        aps = [f"{tag}-app-{i}" for i in range(apps)]
        y.append("applications:")
        for name in aps:
            url = f"https://example.twil.io/{name}"
            y += [f"  - name: {name}", f"    voice_url: {url}", "    voice_method: POST"]
            exp["application"].append((name, url, "POST"))
        tks = [f"{tag}-pbx-{i}.pstn.twilio.com" for i in range(trunks)]
        y.append("sip_trunks:")
        for i, name in enumerate(tks):
            y += [f"  - domain_name: {name}", f"    name: trunk{i}", "    recording_mode: record-from-answer",
                  "    origination_urls:"]
            exp["trunk"].append((name, f"trunk{i}", "record-from-answer"))
            for u in range(urls):
                sip = f"sip:10.9.{i % 250}.{u}:5060"
                y.append(f"      - {{name: o{u}, sip_url: \"{sip}\", priority: {u}, weight: 10}}")
                exp["origination_url"].append((name, f"o{u}", sip, u, 10))
            if cl and al:
                c, a = cl[i % len(cl)], al[i % len(al)]
                y += [f"    credential_lists: [{c}]", f"    ip_access_control_lists: [{a}]"]
                exp["trunk_cl"].append((name, c))
                exp["trunk_al"].append((name, a))
        y.append("phone_numbers:")
        for i in range(numbers):
            num = f"+1650{555 + i // 10000:03d}{i % 10000:04d}"
            self.available.append(num)
            y += [f"  - number: \"{num}\"", "    purchase: true", f"    friendly_name: line {i}"]
            app = trunk = None
            url = ""
            if i % 3 == 0 and aps:
                app = aps[i % len(aps)]
                y.append(f"    voice_application: {app}")
            elif i % 3 == 1 and tks:
                trunk = tks[i % len(tks)]
                y.append(f"    sip_trunk: {trunk}")
                exp["trunk_pn"].append((trunk, num))
            else:
                url = f"https://example.twil.io/line{i}"
                y.append(f"    voice_url: {url}")
            exp["incoming_number"].append((num, f"line {i}", app, trunk, url))
        self.yaml = "\n".join(y) + "\n"
        self.expected = {k: sorted(v, key=repr) for k, v in exp.items()}
        self.size = sum(len(v) for k, v in exp.items() if k != "trunk_pn")   # trunk_pn: a number's sip_trunk

    def password(self, listname, u):
        """(the password, how the file gives it): ${file:...} mostly, some ${env:...}, some literal."""
        if u % 10 == 0:
            return SECRETS["SIP_PW_BOB"], "${env:SIP_PW_BOB}"
        pw = f"Pw-{self.tag}{listname[-1]}-{u:04d}-Xy9"
        if u % 10 == 1:
            return pw, pw
        path = f"pw/{listname}-{u:04d}"
        self.files[path] = pw + "\n"
        return pw, "${file:" + path + "}"

    def write(self, directory, name="account.yaml"):
        for rel, content in self.files.items():
            full = os.path.join(directory, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(self.yaml)
        return path


def view(state):
    """The fake's state in the terms of Account.expected (references by name, sorted)."""
    names = {}
    for store, field in (("credential_list", "friendly_name"), ("ip_acl", "friendly_name"),
                         ("sip_domain", "domain_name"), ("application", "friendly_name"),
                         ("connection_policy", "friendly_name"), ("byoc_trunk", "friendly_name"),
                         ("trunk", "domain_name")):
        for r in state[store]:
            names[r["sid"]] = r[field]
    n = names.get
    out = {
        "credential_list": [(r["friendly_name"],) for r in state["credential_list"]],
        "credential": [(n(r["parent_sid"]), r["username"], r["password"]) for r in state["credential"]],
        "ip_acl": [(r["friendly_name"],) for r in state["ip_acl"]],
        "ip_address": [(n(r["parent_sid"]), r["friendly_name"], r["ip_address"], int(r["cidr_prefix_length"]))
                       for r in state["ip_address"]],
        "sip_domain": [(r["domain_name"], r["voice_url"], n(r["byoc_trunk_sid"])) for r in state["sip_domain"]],
        "application": [(r["friendly_name"], r["voice_url"], r["voice_method"]) for r in state["application"]],
        "connection_policy": [(r["friendly_name"],) for r in state["connection_policy"]],
        "target": [(n(r["parent_sid"]), r["friendly_name"], r["target"], r["priority"], r["weight"])
                   for r in state["target"]],
        "byoc_trunk": [(r["friendly_name"], r["voice_url"], n(r["connection_policy_sid"]), n(r["from_domain_sid"]))
                       for r in state["byoc_trunk"]],
        "trunk": [(r["domain_name"], r["friendly_name"], r["recording"]["mode"]) for r in state["trunk"]],
        "origination_url": [(n(r["parent_sid"]), r["friendly_name"], r["sip_url"], r["priority"], r["weight"])
                            for r in state["origination_url"]],
        "incoming_number": [(r["phone_number"], r["friendly_name"], n(r["voice_application_sid"]),
                             n(r["trunk_sid"]), r["voice_url"] or "") for r in state["incoming_number"]],
    }
    for store in ("calls_cl", "calls_al", "registrations_cl", "trunk_cl", "trunk_al"):
        out[store] = [(n(r["parent_sid"]), n(r["sid"])) for r in state[store]]
    out["trunk_pn"] = [(n(r["parent_sid"]), r["phone_number"]) for r in state["trunk_pn"]]
    return {k: sorted(v, key=repr) for k, v in out.items()}


def differences(expected, actual):
    """Human-readable differences, [] when the account is exactly the file."""
    out = []
    for store in expected:
        want, have = Counter(expected[store]), Counter(actual.get(store, []))
        for item, count in (have - want).items():
            out.append(f"{store}: unexpected {item}" + (f" x{count}" if count > 1 else ""))
        for item, count in (want - have).items():
            out.append(f"{store}: missing {item}" + (f" x{count}" if count > 1 else ""))
    return out
