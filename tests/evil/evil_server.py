"""An evil Twilio: a small stand-in for the API that turns hostile on demand
(issue 11, "trust nothing from the wire").  Python standard library only.

It keeps a tiny account (lists, creates, updates, deletes of the 2010 and v1
paths twprov uses, one store for every product as TWPROV_API_URL gives it)
and, per mode, misbehaves:

  account      a well-behaved account (the test seeds it: seed()), e.g. with names and values
               that carry terminal controls
  fail         every write is answered `status` (400) with `message`
  reflect      every error echoes the request: its form body and its Authorization header
               (`plain`: as a non-JSON body; `only`: just the writes whose body holds
               that text, the others succeed); with `names`, lists also hold an item named
               with the decoded Authorization header (user:token)
  bad_sid      answers carry a malformed SID (`sid`: a value, or MISSING; `where`: "list",
               "create" or "both"; `collection`: only answers about paths ending so)
  page_cycle   a list's next-page links go round between two pages
  page_endless a list's pages never end (each links to one more)
  silent       accepts the connection, reads the request and never answers (`methods`: only
               requests of these methods; the others are answered)
  drip         answers one byte every `drip_s` seconds (never finishes in time)
  redirect     answers 301 with a Location elsewhere
  status       answers every request `status` with the raw `body` (and `headers`)

In every mode, `page` (a dict) is merged into the list pages the account serves and
`drop_key` removes their list key.

Run in a thread of the test process:

    with EvilServer() as evil:
        evil.mode("page_cycle")
        env.update(evil.env())
        ... run twprov ...
        evil.requests()          # what twprov sent

or alone for a manual try: python3 evil_server.py --mode silent --port 8080.
"""

import argparse
import base64
import json
import re
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

ACCOUNT_SID = "AC" + "e" * 32
AUTH_TOKEN = "Evil-AuthTok-5ecret-9f8e7d6c"
MISSING = object()      # bad_sid: leave the key out

# The last path segment of a collection -> (list key, SID prefix).
COLLECTIONS = {
    "CredentialLists": ("credential_lists", "CL"),
    "Credentials": ("credentials", "CR"),
    "IpAccessControlLists": ("ip_access_control_lists", "AL"),
    "IpAddresses": ("ip_addresses", "IP"),
    "Domains": ("domains", "SD"),
    "CredentialListMappings": ("contents", None),        # the item's sid is the list's
    "IpAccessControlListMappings": ("contents", None),
    "Applications": ("applications", "AP"),
    "IncomingPhoneNumbers": ("incoming_phone_numbers", "PN"),
    "ByocTrunks": ("byoc_trunks", "BY"),
    "ConnectionPolicies": ("connection_policies", "NY"),
    "Targets": ("targets", "NE"),
    "Trunks": ("trunks", "TK"),
    "OriginationUrls": ("origination_urls", "OU"),
    "Services": ("services", "ZS"),
    "Environments": ("environments", "ZE"),
    "Variables": ("variables", "ZV"),
    "Functions": ("functions", "ZH"),
    "Assets": ("assets", "ZH"),
    "Versions": ("versions", "ZN"),
    "Builds": ("builds", "ZB"),
    "Deployments": ("deployments", "ZD"),
}
SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def last_segment(path):
    return path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")


def new_sid(prefix):
    return prefix + secrets.token_hex(16)


def snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EvilTwilio/1.0"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this, Nagle and delayed ACKs make
        # every answer wait 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- plumbing -----------------------------------------------------------------------

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8", "replace") if n else ""

    def send(self, status, obj=None, raw=None, headers=()):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        ev = self.server.evil
        url = urlsplit(self.path)
        body = self.body() if method == "POST" else ""
        entry = {"method": method, "path": url.path, "query": url.query, "body": body,
                 "authorization": self.headers.get("Authorization", "")}
        with ev.lock:
            ev.log.append(entry)
            mode, opts = ev.current, dict(ev.opts)
        if mode == "silent" and method in opts.get("methods", (method,)):
            ev.stop_event.wait()        # the connection stays open, nothing comes back
            return
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not ev.stop_event.wait(opts.get("drip_s", 2)):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
            return
        if mode == "status":
            self.send(opts.get("status", 500), raw=opts.get("body", b""), headers=opts.get("headers", ()))
            return
        if mode == "redirect":
            self.send(301, raw=b"moved", headers=[("Location", opts.get("location", "https://evil.example/steal"))])
            return
        if mode == "fail" and method != "GET":
            self.send(opts.get("status", 400), {"code": opts.get("code", 21999), "message": opts.get("message", ""),
                                                "more_info": opts.get("more_info", ""), "status": 400})
            return
        auth = entry["authorization"]
        try:
            decoded = base64.b64decode(auth.split(" ", 1)[1]).decode()
        except Exception:
            decoded = ""
        if mode == "reflect" and method != "GET" and opts.get("only", "") in body:
            # the body raw (as a form carries it) and decoded, the header raw and decoded
            msg = f"invalid request: {body} / {dict(parse_qsl(body))} / {auth} / {decoded}"
            if opts.get("plain"):
                self.send(400, raw=msg.encode())
            else:
                self.send(400, {"code": 21999, "message": msg, "more_info": "https://evil.example/" + body,
                                "status": 400})
            return
        ev.serve(self, method, url.path, url.query, body, mode, opts, decoded)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


class EvilServer:
    def __init__(self, port=0):
        self.port = port
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.reset()

    # ---- life cycle ---------------------------------------------------------------------

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.evil = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    __enter__ = start

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        return {"TWPROV_API_URL": self.url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}

    def reset(self):
        with self.lock:
            self.store = {}         # collection path -> [items]
            self.log = []
            self.current = "account"
            self.opts = {}

    def mode(self, name, **opts):
        with self.lock:
            self.current = name
            self.opts = opts

    def requests(self, method=None):
        with self.lock:
            return [e for e in self.log if method is None or e["method"] == method]

    # ---- the account --------------------------------------------------------------------

    def acct(self, path):
        return f"/2010-04-01/Accounts/{ACCOUNT_SID}{path}"

    def seed(self, collection, **fields):
        """Add an item to a collection (a path, 2010 ones with .json); returns it."""
        key, prefix = self.kind(collection)
        item = {"sid": new_sid(prefix or "XX"), **fields}
        with self.lock:
            self.store.setdefault(collection, []).append(item)
        return item

    @staticmethod
    def kind(collection):
        last = last_segment(collection)
        return COLLECTIONS.get(last, (snake(last), "XX"))

    def find(self, path):
        """The collection and item of an item path, or (collection path, None)."""
        with self.lock:
            for coll, items in self.store.items():
                base = coll.removesuffix(".json")
                for it in items:
                    if path in (f"{base}/{it.get('sid')}.json", f"{base}/{it.get('sid')}"):
                        return coll, it
        return None, None

    def page(self, collection, query, items, mode, opts):
        key, _ = self.kind(collection)
        q = dict(parse_qsl(query))
        n = int(q.get("Page", "0"))
        nxt = None
        if mode == "page_cycle" and collection.endswith(opts.get("collection", "CredentialLists.json")):
            nxt = f"{collection}?PageSize=1000&Page={1 - n}&PageToken=PT{1 - n}"
        elif mode == "page_endless" and collection.endswith(opts.get("collection", "CredentialLists.json")):
            nxt = f"{collection}?PageSize=1000&Page={n + 1}&PageToken=PT{n + 1}"
        page_items = items if n == 0 else []
        if collection.startswith("/2010-04-01/"):
            out = {key: page_items, "next_page_uri": nxt, "page": n, "page_size": 1000}
        else:
            out = {key: page_items, "meta": {"key": key, "next_page_url": (self.url + nxt) if nxt else None,
                                             "page": n, "page_size": 1000}}
        out.update(opts.get("page", {}))
        if opts.get("drop_key"):
            out.pop(key, None)
        return out

    def answer_sid(self, item, mode, opts, where, path):
        out = dict(item)
        if mode == "bad_sid" and opts.get("where", "both") in (where, "both") and \
                path.endswith(opts.get("collection", "")):
            if opts.get("sid", MISSING) is MISSING:
                out.pop("sid", None)
            else:
                out["sid"] = opts["sid"]
        return out

    def serve(self, h, method, path, query, body, mode, opts, auth):
        coll = path if self.is_collection(path) else None
        if coll is not None and method == "GET":
            with self.lock:
                items = [self.answer_sid(i, mode, opts, "list", path) for i in self.store.get(coll, [])]
            if mode == "reflect" and opts.get("names"):
                _, prefix = self.kind(coll)
                if prefix:
                    items.append({"sid": new_sid(prefix), "friendly_name": auth, "username": auth,
                                  "unique_name": auth, "domain_name": auth, "phone_number": auth})
            h.send(200, self.page(coll, query, items, mode, opts))
            return
        if coll is not None and method == "POST":
            _, prefix = self.kind(coll)
            form = dict(parse_qsl(body))
            item = {snake(k): v for k, v in form.items()}
            mapped = form.get("CredentialListSid") or form.get("IpAccessControlListSid")
            item["sid"] = mapped if prefix is None and mapped else new_sid(prefix or "XX")
            with self.lock:
                self.store.setdefault(coll, []).append(item)
            if last_segment(coll) == "Builds":
                item["status"] = "completed"
            h.send(201, self.answer_sid(item, mode, opts, "create", path))
            return
        if last_segment(path) == "Status":      # a build's status
            coll, item = self.find(path.rsplit("/", 1)[0])
            if item is not None:
                h.send(200, {"sid": item["sid"], "status": item.get("status", "completed")})
                return
        coll, item = self.find(path)
        if item is None:
            h.send(404, {"code": 20404, "message": f"The requested resource {path} was not found", "status": 404})
            return
        if method == "DELETE":
            with self.lock:
                self.store[coll].remove(item)
            h.send(204)
            return
        if method == "POST":
            with self.lock:
                item.update({snake(k): v for k, v in parse_qsl(body)})
        h.send(200, self.answer_sid(item, mode, opts, "create", path))

    @staticmethod
    def is_collection(path):
        return last_segment(path) in COLLECTIONS

    # ---- checks -------------------------------------------------------------------------

    def bad_paths(self):
        """Requests whose path has an empty segment or a segment where a SID belongs that is not one."""
        bad = []
        for e in self.requests():
            segs = e["path"].removesuffix(".json").split("/")[1:]
            if "" in segs:
                bad.append(e)
                continue
            for i, s in enumerate(segs):
                prev = segs[i - 1] if i else ""
                if (prev in COLLECTIONS or prev == "Accounts") and not SID.match(s):
                    bad.append(e)
                    break
        return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--mode", default="account")
    args = ap.parse_args()
    with EvilServer(args.port) as evil:
        evil.mode(args.mode)
        print(f"evil Twilio ({args.mode}) at {evil.url}; TWILIO_ACCOUNT_SID={ACCOUNT_SID} "
              f"TWILIO_AUTH_TOKEN={AUTH_TOKEN}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
