"""Test helper: run fake_twilio.py in a subprocess and drive it.

    with FakeTwilio(latency_ms=20) as fake:
        env = dict(os.environ, **fake.env())        # for the twprov binary
        fake.seed_available(['+16505550100'])
        status, body = fake.api('POST', '/2010-04-01/Accounts/{AccountSid}/SIP/Domains.json',
                                {'DomainName': 'x.sip.twilio.com'})
        assert fake.violations() == []
"""

import base64
import json
import mimetypes
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fake_twilio import (DEFAULT_ACCOUNT_SID, DEFAULT_API_KEY, DEFAULT_API_SECRET,  # noqa: E402
                         DEFAULT_AUTH_TOKEN)


class FakeTwilio:
    """Options are fake_twilio.py's flags with '_' for '-': seed=1, rate_429=0.2, no_limits=True,
    tls_cert=..., account_sid=...  Flags left out take the server's defaults."""

    def __init__(self, **options):
        self.options = options
        self.account_sid = options.get('account_sid', DEFAULT_ACCOUNT_SID)
        self.auth_token = options.get('auth_token', DEFAULT_AUTH_TOKEN)
        self.api_key = options.get('api_key', DEFAULT_API_KEY)
        self.api_secret = options.get('api_secret', DEFAULT_API_SECRET)
        self.proc = self.url = None
        cert = options.get('tls_cert')
        self._ssl = ssl.create_default_context(cafile=cert) if cert else None

    def start(self):
        self._dir = tempfile.mkdtemp(prefix='fake-twilio-')
        port_file = os.path.join(self._dir, 'port')
        cmd = [sys.executable, os.path.join(HERE, 'fake_twilio.py'), '--port', '0',
               '--port-file', port_file, '--quiet']
        for k, v in self.options.items():
            if v is True:
                cmd.append('--' + k.replace('_', '-'))
            elif v is not None and v is not False:
                cmd += ['--' + k.replace('_', '-'), str(v)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f'fake twilio did not start: {" ".join(cmd)}')
            time.sleep(0.02)
        with open(port_file) as f:
            port = int(f.read())
        self.url = f'{"https" if self._ssl else "http"}://127.0.0.1:{port}'
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(getattr(self, '_dir', ''), ignore_errors=True)

    __enter__ = start

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        return {'TWPROV_API_URL': self.url, 'TWILIO_ACCOUNT_SID': self.account_sid,
                'TWILIO_AUTH_TOKEN': self.auth_token}

    # ------------------------------------------------------------------ HTTP

    def _request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60, context=self._ssl) as r:
                status, data, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, data, hdrs = e.code, e.read(), e.headers
        return status, json.loads(data) if data else None, hdrs

    def _control(self, method, path, data=None):
        body = json.dumps(data).encode() if data is not None else None
        status, out, _ = self._request(method, '/_fake/' + path, body,
                                       {'Content-Type': 'application/json'})
        if status != 200:
            raise RuntimeError(f'{method} /_fake/{path}: {status} {out}')
        return out

    def api(self, method, path, params=None, auth=None, headers=None):
        """An authenticated API call; returns (status, JSON body or None).  path may contain
        {AccountSid}; params values may be str, int, bool or lists (repeated keys); auth is
        (user, password), default account SID and auth token.  With headers=True the response
        headers are returned too."""
        path = path.replace('{AccountSid}', self.account_sid)
        pairs = [(k, str(x).lower() if isinstance(x, bool) else str(x))
                 for k, v in (params or {}).items() for x in (v if isinstance(v, list) else [v])]
        user, secret = auth or (self.account_sid, self.auth_token)
        hdrs = {'Authorization': 'Basic ' + base64.b64encode(f'{user}:{secret}'.encode()).decode()}
        body = None
        if method == 'POST':
            body = urlencode(pairs).encode()
            hdrs['Content-Type'] = 'application/x-www-form-urlencoded'
        elif pairs:
            path += ('&' if '?' in path else '?') + urlencode(pairs)
        status, out, response_headers = self._request(method, path, body, hdrs)
        return (status, out, response_headers) if headers else (status, out)

    def _auth_header(self, auth=None):
        user, secret = auth or (self.account_sid, self.auth_token)
        return 'Basic ' + base64.b64encode(f'{user}:{secret}'.encode()).decode()

    def upload(self, service_sid, parent_sid, path, content, visibility='protected',
               filename=None, content_type=None, auth=None):
        """Create a Function Version (parent ZH... of /Functions) or Asset Version the way
        serverless-upload.twilio.com takes it: multipart/form-data with Path, Visibility and a
        Content file part.  parent_sid is 'Functions/ZH...' or 'Assets/ZH...'; content is str or
        bytes.  Returns (status, JSON body)."""
        data = content.encode() if isinstance(content, str) else content
        filename = filename or path.rsplit('/', 1)[-1] or 'file'
        content_type = (content_type or mimetypes.guess_type(filename)[0]
                        or 'application/octet-stream')
        body, boundary = multipart({'Path': path, 'Visibility': visibility},
                                   ('Content', filename, content_type, data))
        status, out, _ = self._request(
            'POST', f'/v1/Services/{service_sid}/{parent_sid}/Versions', body,
            {'Authorization': self._auth_header(auth),
             'Content-Type': f'multipart/form-data; boundary={boundary}'})
        return status, out

    # ------------------------------------------------------------------ control API

    def log(self):
        return self._control('GET', 'log')

    def clear_log(self):
        self._control('POST', 'log/clear')

    def violations(self):
        return self._control('GET', 'violations')

    def stats(self):
        return self._control('GET', 'stats')

    def state(self):
        return self._control('GET', 'state')

    def faults(self, **changes):
        return self._control(*(('POST', 'faults', changes) if changes else ('GET', 'faults')))

    def reset(self):
        self._control('POST', 'reset')

    def seed_available(self, numbers, country='US', type='Local'):
        self._control('POST', 'available_numbers', {'numbers': list(numbers), 'country': country,
                                                    'type': type})

    def add_owned(self, numbers, type='Local'):
        return self._control('POST', 'owned_numbers', {'numbers': list(numbers), 'type': type})

    def insert(self, path, params=None):
        return self._control('POST', 'insert', {'path': path, 'params': params or {}})

    def emergency_failures(self, numbers=None, status='registration-failure'):
        """The next emergency address registration (status='unregistration-failure': the next
        unregistration) of each number (E.164 or PN SID) ends in that status.  Without numbers,
        lists the armed failures: {"failures": [{"phone_number", "status"}]}."""
        if numbers is None:
            return self._control('GET', 'emergency_failures')
        return self._control('POST', 'emergency_failures', {'numbers': list(numbers),
                                                            'status': status})

    def dialing_permissions(self, countries=None, inheritance=None, defaults=False):
        """The voice dialing permissions: {"countries": {ISO: {low_risk_numbers_enabled,
        high_risk_special_numbers_enabled, high_risk_tollfraud_numbers_enabled}},
        "dialing_permissions_inheritance", "pending": [{"due_in", "countries"}]}.  With
        arguments, sets them first, at once (defaults=True: a new account's permissions first)."""
        if countries is None and inheritance is None and not defaults:
            return self._control('GET', 'dialing_permissions')
        data = {'countries': countries or {}, 'defaults': defaults}
        if inheritance is not None:
            data['dialing_permissions_inheritance'] = inheritance
        return self._control('POST', 'dialing_permissions', data)

    def deployed(self, service, environment):
        """What a Serverless environment serves (unique names or SIDs): {domain_name, build_sid,
        functions: {path: {visibility, sha256, content}}, assets: {path: {visibility, sha256}},
        dependencies, runtime}."""
        query = urlencode({'service': service, 'environment': environment})
        return self._control('GET', 'deployed?' + query)


    def fetch_deployed(self, domain, path, method='GET'):
        """What https://DOMAIN/PATH serves (a public asset of the build the environment with that
        domain_name runs): a request to the fake's port with `Host: DOMAIN`, as twprov sends it
        through TWPROV_API_URL.  Returns (status, bytes, Content-Type)."""
        req = urllib.request.Request(self.url + quote(path), method=method,
                                     headers={'Host': domain})
        try:
            with urllib.request.urlopen(req, timeout=60, context=self._ssl) as r:
                return r.status, r.read(), r.headers.get('Content-Type')
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get('Content-Type')


def multipart(fields, file):
    """A multipart/form-data body: fields {name: str}, file (name, filename, content type,
    bytes).  Returns (body, boundary)."""
    boundary = 'fakeclient' + os.urandom(12).hex()
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f'{value}\r\n'.encode())
    name, filename, content_type, data = file
    out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
               f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
               + data + b'\r\n')
    out.append(f'--{boundary}--\r\n'.encode())
    return b''.join(out), boundary
