#!/usr/bin/env python3
"""Stateful fake of the Twilio REST API used by twprov's tests (Python 3.11 stdlib only).

One port serves every product (2010 API, Voice v1, Trunking v1, Serverless v1 and its upload
host): the paths never collide.  Every API request is checked against the OpenAPI specs in spec/
(twilio/twilio-oai, MIT), plus the documented multipart Function/Asset Version upload.
Resources are rows of the KINDS table below; list/create/fetch/update/delete are generic and
per-kind hooks carry Twilio's real rules.  See README.md for the flags, the control API
(/_fake/...) and the sources of every rule that the specs do not state.
"""

import argparse
import ast
import base64
import bisect
import email.parser
import email.policy
import functools
import hashlib
import http
import ipaddress
import json
import os
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from typing import Callable, Optional
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_FILES = ('twilio_api_v2010.json', 'twilio_voice_v1.json',
              'twilio_trunking_v1.json', 'twilio_serverless_v1.json')
DEFAULT_ACCOUNT_SID = 'AC' + 'a' * 32
DEFAULT_AUTH_TOKEN = 'test-auth-token'
DEFAULT_API_KEY = 'SK' + 'b' * 32
DEFAULT_API_SECRET = 'test-api-secret'
FAULTS = {'latency_ms': int, 'rate_429': float, 'rate_retry_after': float, 'rate_500': float,
          'rate_drop': float, 'rate_drop_after': float, 'concurrency': int,
          'concurrency_retry_after': int, 'fail_all_status': int, 'build_polls': int}


def flag(v):
    return v if isinstance(v, bool) else str(v).strip().lower() in ('1', 'true', 'yes', 'on')


def choice(*values):
    def convert(v):
        if v not in values:
            raise ValueError(f'{v!r} is not one of {"|".join(values)}')
        return v
    return convert


# The realistic switches (README "Realistic behaviour"): flags, and keys of /_fake/faults.
REALISM = {'list_lag': float, 'fetch_lag': float, 'emergency_lag': float, 'permissions_lag': float,
           'build_visibility': choice('upper', 'lower'), 'shuffle_versions': flag,
           'omit_receive_mode': flag, 'purchase_ignores_receive_mode': flag,
           'unset': choice('spec', 'null', 'empty', 'mixed'), 'extra_fields': flag,
           'short_pages': flag, 'newest_first': flag, 'trailing_empty_page': flag}
FAULTS.update(REALISM)
REALISTIC_LAG = 3.0
# The lags of the asynchronous changes (README "Emergency calling", "Voice dialing permissions"):
# name -> (default, with --realistic).  0 applies the change at once.
ASYNC_LAGS = {'emergency_lag': (1.0, 5.0), 'permissions_lag': (0.0, 3.0)}
LAGS = ('list_lag', 'fetch_lag') + tuple(ASYNC_LAGS)
# --realistic turns these on (the lags to REALISTIC_LAG unless given); build_visibility stays.
REALISTIC_PROFILE = {'shuffle_versions': True, 'omit_receive_mode': True,
                     'purchase_ignores_receive_mode': True, 'unset': 'mixed',
                     'extra_fields': True, 'short_pages': True, 'newest_first': True,
                     'trailing_empty_page': True}
# --extra-fields: keys that are in no spec (Twilio adds fields to its answers over time; see
# the README for the fields it did add).  Each is named in the README.
EXTRA_ITEM_FIELDS = {'fake_added_string': 'added later', 'fake_added_null': None,
                     'fake_added_object': {'enabled': False}}
EXTRA_ENVELOPE_FIELDS = {'fake_added_envelope_field': 0}
EXTRA_META_FIELDS = {'fake_added_meta_field': None}
# --newest-first: the lists that Twilio answers latest first (README).
NEWEST_FIRST = ('function_version', 'asset_version', 'deployment')
VIOLATION = 'fake twilio: spec violation: '


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(status, code, message):
    return {'code': code, 'message': message,
            'more_info': f'https://www.twilio.com/docs/errors/{code}', 'status': status}


def snake(name, _cache={}):
    if name not in _cache:
        _cache[name] = re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()
    return _cache[name]


@functools.lru_cache(maxsize=4096)
def date_2010(t):
    return time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(t))


@functools.lru_cache(maxsize=4096)
def date_iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


# --------------------------------------------------------------------------- spec check

@dataclass
class Op:
    status: int                   # the spec's success status (201 create, 200, 204 delete)
    path: dict                    # path parameter -> schema
    query: dict                   # query parameter -> schema
    body: dict                    # form parameter -> schema
    required: frozenset
    response: Optional[dict]      # response schema (items schema for lists)
    multipart: bool = False       # multipart/form-data body (the upload host), not urlencoded


@dataclass
class Route:
    template: str
    host: str                     # https://api.twilio.com, https://voice.twilio.com, ...
    regex: re.Pattern
    ops: dict                     # 'GET' -> Op


class Spec:
    """The four OpenAPI files, compiled once into routes and per-operation checks."""

    def __init__(self, spec_dir):
        self.by_template, self.buckets = {}, {}
        for name in SPEC_FILES:
            with open(os.path.join(spec_dir, name), encoding='utf-8') as f:
                doc = json.load(f)
            for template, item in doc['paths'].items():
                host = item.get('servers', doc['servers'])[0]['url']
                ops = {m.upper(): self._op(doc, op) for m, op in item.items()
                       if m in ('get', 'post', 'delete', 'put', 'patch')}
                rx = ''.join(f'(?P<{p[1:-1]}>[^/]+)' if p.startswith('{') else re.escape(p)
                             for p in re.split(r'(\{\w+\})', template))
                route = Route(template, host, re.compile(rx + '$'), ops)
                self.by_template[template] = route
                self.buckets.setdefault(template.count('/'), []).append(route)
        for routes in self.buckets.values():     # literal segments win over parameters
            routes.sort(key=lambda r: -len(re.sub(r'\{\w+\}', '', r.template)))
        for template, body in UPLOADS.items():   # not in the spec: docs (REFERENCE.md 11)
            route = self.by_template[template]
            get = route.ops['GET']
            route.ops['POST'] = Op(201, get.path, {}, body, frozenset(body), None, True)
        for (template, method, name), enum in EXTRA_ENUMS.items():
            op = self.by_template[template].ops[method]
            op.body[name] = dict(op.body[name], enum=enum)

    @staticmethod
    def _resolve(doc, s):
        while '$ref' in s:
            node = doc
            for part in s['$ref'][2:].split('/'):
                node = node[part]
            s = node
        if s.get('type') == 'array':
            s = dict(s, items=Spec._resolve(doc, s['items']))
        return s

    def _op(self, doc, op):
        params = {'path': {}, 'query': {}}
        for p in op.get('parameters', []):
            params[p['in']][p['name']] = self._resolve(doc, p['schema'])
        body, required = {}, frozenset()
        if 'requestBody' in op:
            schema = self._resolve(doc, op['requestBody']['content']
                                   ['application/x-www-form-urlencoded']['schema'])
            body = {k: self._resolve(doc, v) for k, v in schema.get('properties', {}).items()}
            required = frozenset(schema.get('required', ()))
        status = int(min(op['responses']))
        content = op['responses'][str(status)].get('content', {}).get('application/json')
        response = self._resolve(doc, content['schema']) if content else None
        props = (response or {}).get('properties', {})
        if 'meta' in props or 'first_page_uri' in props:     # a list: keep the items' schema
            response = next(self._resolve(doc, v['items']) for v in props.values()
                            if v.get('type') == 'array')
        return Op(status, params['path'], params['query'], body, required, response)

    def match(self, path):
        for route in self.buckets.get(path.count('/'), ()):
            m = route.regex.match(path)
            if m:
                return route, m.groupdict()
        return None, None

    def check(self, route, method, pparams, query, form, content_type, has_body, files=None):
        """Return the list of violations of the spec by one request (files: the file parts of a
        multipart body, name -> FilePart)."""
        op, v, files = route.ops[method], [], files or {}
        for name, value in pparams.items():
            v += check_value(f'path parameter {name}', value, op.path[name], False)
        for name, values in query.items():
            if name not in op.query:
                v.append(f'unknown query parameter {name}')
            else:
                v += check_values(f'query parameter {name}', values, op.query[name], False)
        if method == 'POST':
            want = 'multipart/form-data' if op.multipart else 'application/x-www-form-urlencoded'
            if content_type.split(';')[0].strip().lower() != want:
                v.append(f'Content-Type must be {want}, not {content_type!r}')
            for name, values in form.items():
                if name not in op.body:
                    v.append(f'unknown parameter {name}')
                elif op.body[name].get('format') == 'binary':
                    v.append(f'parameter {name} must be a file part (with a filename)')
                else:
                    v += check_values(f'parameter {name}', values, op.body[name],
                                      name not in op.required)
            for name, part in files.items():
                if name not in op.body:
                    v.append(f'unknown parameter {name}')
                elif op.body[name].get('format') != 'binary':
                    v.append(f'parameter {name} must not be a file part')
                elif not part.content_type:
                    v.append(f'file part {name} has no Content-Type of its own')
            v += [f'missing required parameter {n}'
                  for n in sorted(op.required - form.keys() - files.keys())]
            one_of = ONE_OF_REQUIRED.get((route.template, method))
            if one_of and not any(form.get(n, [''])[0] for n in one_of):
                v.append(f'one of {", ".join(one_of)} is required')
        elif has_body:
            v.append(f'unexpected request body on {method}')
        return v


# REFERENCE.md section 6: the spec does not mark them, its description requires one of them.
ONE_OF_REQUIRED = {('/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json', 'POST'):
                   ('PhoneNumber', 'AreaCode')}

# REFERENCE.md section 11: Function and Asset Versions are created only on
# https://serverless-upload.twilio.com, which the spec leaves out: POST multipart/form-data with
# the parts Path, Visibility and Content (a file part with a filename and a Content-Type).
S = '/v1/Services/{ServiceSid}'
VISIBILITY = ['public', 'protected', 'private']
UPLOAD_BODY = {'Path': {'type': 'string'}, 'Visibility': {'type': 'string', 'enum': VISIBILITY},
               'Content': {'type': 'string', 'format': 'binary'}}
UPLOADS = {S + '/Functions/{FunctionSid}/Versions': UPLOAD_BODY,
           S + '/Assets/{AssetSid}/Versions': UPLOAD_BODY}
# The request's Runtime is a plain string in the spec; the values are the response's enum
# (build_enum_runtime), as REFERENCE.md section 11 lists them.
RUNTIMES = ['node8', 'node10', 'node12', 'node14', 'node16', 'node18', 'node20', 'node22']
EXTRA_ENUMS = {(S + '/Builds', 'POST', 'Runtime'): RUNTIMES}


@dataclass
class FilePart:
    filename: str
    content_type: Optional[str]
    data: bytes


def parse_multipart(content_type, body):
    """A multipart/form-data body -> (form: name -> [str], files: name -> FilePart), parsed with
    the email package.  A part with a filename is a file part.  ValueError when malformed."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\nMIME-Version: 1.0\r\n\r\n'
        + body)
    if not msg.is_multipart() or not msg.get_boundary():
        raise ValueError('not a multipart body (no boundary, or no parts)')
    if msg.defects:
        raise ValueError(f'malformed multipart body: {msg.defects[0].__class__.__name__}')
    form, files = {}, {}
    for part in msg.iter_parts():
        disposition = part.get('Content-Disposition', '')
        name = part.get_param('name', header='content-disposition')
        if not disposition.lower().startswith('form-data') or not name:
            raise ValueError('a part without Content-Disposition: form-data; name=...')
        data = part.get_payload(decode=True) or b''
        filename = part.get_filename()
        if filename is not None:
            content_type = part.get('Content-Type')
            files[name] = FilePart(str(filename), content_type and str(content_type), data)
        else:
            form.setdefault(name, []).append(data.decode('utf-8', 'replace'))
    return form, files


def check_values(label, values, schema, clearable):
    if schema.get('type') == 'array':
        return [x for value in values for x in check_value(label, value, schema['items'], False)]
    if len(values) > 1:
        return [f'{label} given {len(values)} times but is not an array']
    return check_value(label, values[0], schema, clearable)


def check_value(label, value, s, clearable):
    """clearable: an optional form parameter, where Twilio takes an empty URL or SID as 'clear'."""
    t, bad = s.get('type'), None
    if 'enum' in s and value not in s['enum']:
        bad = f'not one of {"|".join(s["enum"])}'
    elif t == 'boolean' and value not in ('true', 'false'):
        bad = 'not a boolean (true or false)'
    elif t == 'integer':
        if not re.fullmatch(r'-?\d+', value):
            bad = 'not an integer'
        elif not s.get('minimum', -1e99) <= int(value) <= s.get('maximum', 1e99):
            bad = f'out of range {s.get("minimum", "")}..{s.get("maximum", "")}'
    elif t == 'number' and not re.fullmatch(r'-?\d+(\.\d+)?', value):
        bad = 'not a number'
    elif t == 'string' and not (value == '' and clearable and
                                (s.get('format') == 'uri' or 'pattern' in s)):
        if len(value) < s.get('minLength', 0) or len(value) > s.get('maxLength', 1 << 30):
            bad = f'length not in {s.get("minLength", 0)}..{s.get("maxLength", "")}'
        elif 'pattern' in s and not re.search(s['pattern'], value):
            bad = f'does not match {s["pattern"]}'
        elif s.get('format') == 'uri' and not re.fullmatch(r'[A-Za-z][A-Za-z0-9+.-]*:\S+', value):
            bad = 'not an absolute URI'
        elif s.get('format') == 'iso-country-code' and not re.fullmatch(r'[A-Z]{2}', value):
            bad = 'not an ISO 3166 alpha-2 country code'
    return [f'{label}: {value!r} {bad}'] if bad else []


def convert(op, form):
    """Form values (lists of strings) to Python values as typed by the spec."""
    out = {}
    for name, values in form.items():
        s = op.body[name]
        t = s.get('type')
        out[name] = (values if t == 'array' else values[0] == 'true' if t == 'boolean'
                     else int(values[0]) if t == 'integer' else values[0])
    return out


# --------------------------------------------------------------------------- resource kinds

@dataclass
class Kind:
    """One Twilio resource: paths as spelled in the spec, SID prefix, list key, rules."""
    name: str
    prefix: Optional[str]         # SID prefix; None when the SID is the mapped target's
    key: str                      # items key of list responses
    coll: str                     # collection path template (list, create)
    inst: str                     # instance path template (fetch, update, delete)
    parent: Optional[str] = None  # parent kind: deleting it deletes this one
    store: Optional[str] = None   # storage shared with another view (legacy mappings)
    target: Optional[tuple] = None  # (param, kind, code): the record maps that resource
    defaults: dict = field(default_factory=dict)
    unique: tuple = ()            # (field, 'account'|'parent', case-insensitive, code, message);
    #                               code may be (HTTP status, code), else the status is 400
    limit: Optional[tuple] = None  # (max per parent, code, message)
    name_max: Optional[int] = None  # longest FriendlyName Twilio takes (REFERENCE.md)
    refs: dict = field(default_factory=dict)  # param -> (kind, code): must exist
    links: dict = field(default_factory=dict)  # subresource_uris / links: name -> suffix
    filters: dict = field(default_factory=dict)  # list query param -> field or predicate
    colls: dict = field(default_factory=dict)  # more collection paths -> number type
    check: Optional[Callable] = None    # (state, rec, params, ctx): validate, derive
    after: Optional[Callable] = None    # (state, rec, old): side effects once stored
    on_delete: Optional[Callable] = None  # (state, rec): refuse, or side effects
    render: Optional[Callable] = None   # (state, rec, out): derived fields
    on_fetch: Optional[Callable] = None  # (state, rec): a fetch of the instance (build polls)
    # filled in from the spec at start
    fields: list = field(default_factory=list)
    host: str = ''
    parent_param: Optional[str] = None

    @property
    def api2010(self):
        return self.coll.startswith('/2010-04-01/')


def bad(code, message, status=400):
    return ApiError(status, code, message)


SIP_DOMAIN_RE = re.compile(r'([A-Za-z0-9-]+\.)+sip\.twilio\.com')
TRUNK_DOMAIN_RE = re.compile(r'([A-Za-z0-9-]+\.)+pstn\.twilio\.com')
E164_RE = re.compile(r'\+[1-9]\d{1,14}')
NUMBER_TYPES = {'Local': 'local', 'Mobile': 'mobile', 'TollFree': 'toll-free',
                'National': 'national', 'Voip': 'voip', 'SharedCost': 'shared-cost',
                'MachineToMachine': 'machine-to-machine'}
COUNTRY_NAMES = {'US': 'United States', 'CA': 'Canada', 'GB': 'United Kingdom',
                 'DE': 'Germany', 'FR': 'France', 'AU': 'Australia'}


def check_sip_domain(st, rec, p, ctx):
    check_sip_domain_emergency(rec, p)
    name = rec['domain_name']
    if 'DomainName' not in p:
        return
    if not SIP_DOMAIN_RE.fullmatch(name):
        raise bad(21232, f'Invalid Domain: {name!r} must contain only letters, digits and "-" '
                         f'and end with .sip.twilio.com')
    parent = name.split('.', 1)[1]
    owned = st.uniq.get(('sip_domain', None, 'domain_name', parent.lower()))
    if parent != 'sip.twilio.com' and not owned:
        raise bad(21232, f'Invalid Domain: {name} is a subdomain of {parent}, '
                         f'which does not exist or which this account does not control')


def delete_sip_domain(st, rec):
    suffix = '.' + rec['domain_name'].lower()
    if any(d['domain_name'].lower().endswith(suffix) for d in st.live('sip_domain', None)):
        raise bad(21233, f'Domain {rec["domain_name"]} still has subdomains')


def render_auth_type(calls_al, calls_cl):
    def render(st, rec, out):
        types = [t for t, store in (('IP_ACL', calls_al), ('CREDENTIAL_LIST', calls_cl))
                 if st.count(store, rec['sid'])]
        out['auth_type'] = ','.join(types)
        if 'auth_type_set' in out:
            out['auth_type_set'] = types
    return render


def refuse_if_mapped(code, what):
    def on_delete(st, rec):
        if st.refs.get(rec['sid']):
            raise bad(code, f'{what} Dependencies Violation: {rec["sid"]} is still mapped to '
                            f'a SIP domain or associated with a trunk; remove those first')
    return on_delete


def check_credential(st, rec, p, ctx):
    if ctx['new'] and len(rec['username']) > 32:
        raise bad(21243, 'Credential Validation Error: Username must be 32 characters or fewer')
    pw = p.get('Password')
    if pw is not None and (len(pw) < 12 or not re.search(r'\d', pw) or
                           not re.search(r'[a-z]', pw) or not re.search(r'[A-Z]', pw)):
        raise bad(21243, 'Credential Validation Error: Password must be at least 12 characters '
                         'long and contain a digit, an upper case and a lower case letter')


def check_ip_address(st, rec, p, ctx):
    try:
        ipaddress.IPv4Address(rec['ip_address'])
    except ValueError:
        raise bad(21238, f'Address Validation Error: {rec["ip_address"]!r} is not a dotted '
                         f'decimal IPv4 address') from None
    if not 0 <= rec['cidr_prefix_length'] <= 32:
        raise bad(21238, 'Address Validation Error: CidrPrefixLength must be within 0..32')


def check_route_entry(url_field):
    """Connection policy targets and origination URLs: sip: URI, Priority, Weight."""
    def check(st, rec, p, ctx):
        if not rec[url_field].startswith('sip:'):
            raise bad(20001, f'{rec[url_field]!r} is not a sip: URI (sips: is not supported)')
        if not 0 <= rec['priority'] <= 65535 or not 1 <= rec['weight'] <= 65535:
            raise bad(20001, 'Priority must be within 0..65535 and Weight within 1..65535')
    return check


def check_trunk(st, rec, p, ctx):
    name = rec.get('domain_name')
    if p.get('DomainName') and not TRUNK_DOMAIN_RE.fullmatch(name):
        raise bad(21245, f'Trunk Validation Error: {name!r} must contain only letters, digits '
                         f'and "-" and end with .pstn.twilio.com')


def national(number):
    m = re.fullmatch(r'\+1(\d{3})(\d{3})(\d{4})', number)
    return f'({m[1]}) {m[2]}-{m[3]}' if m else number


def check_number(st, rec, p, ctx):
    if ctx['new']:
        number, want = p.get('PhoneNumber'), ctx.get('type')
        if number is not None:
            if not E164_RE.fullmatch(number):
                raise bad(21421, f'PhoneNumber {number!r} is not a valid E.164 phone number')
            entry = st.available.get(number)
            if not ctx['force'] and (entry is None or want and entry['type'] != want):
                raise bad(21422, f'PhoneNumber {number} is not available')
        else:
            area = p['AreaCode']
            if not re.fullmatch(r'[2-9]\d\d', area):
                raise bad(21451, f'AreaCode {area!r} is not a valid area code')
            number = next((n for n, e in st.available.items() if n.startswith('+1' + area)
                           and e['country'] in ('US', 'CA') and (not want or e['type'] == want)),
                          None)
            if number is None:
                raise bad(21452, f'No phone numbers found in area code {area}')
        entry = st.available.get(number, {'type': want or 'Local'})
        rec.update(phone_number=number, type=NUMBER_TYPES[entry['type']])
        if st.faults.get('purchase_ignores_receive_mode'):
            rec['voice_receive_mode'] = 'voice'     # twilio-php#462, #478
        rec.setdefault('friendly_name', national(number))
    if p.get('AccountSid', st.account) != st.account:
        raise bad(20404, f'The requested resource /2010-04-01/Accounts/{p["AccountSid"]}.json '
                         f'was not found', 404)
    check_emergency(st, rec, p, ctx)
    # REFERENCE.md section 6: a trunk takes precedence over an application, and setting
    # one clears the other.
    if p.get('VoiceApplicationSid'):
        rec['trunk_sid'] = None
    if p.get('TrunkSid'):
        rec['voice_application_sid'] = ''


def after_number(st, rec, old):
    if old is None:
        st.available.pop(rec['phone_number'], None)
    if rec.get('_em_due') is not None:
        st.em_pending.add(rec['sid'])
    old_trunk = old and old.get('trunk_sid')
    if old_trunk != rec.get('trunk_sid'):
        st.set_trunk(rec, rec.get('trunk_sid'), old_trunk)


def delete_number(st, rec):
    # Releasing a number with an emergency address: twilio/terraform-provider-twilio#149 (the
    # destroy is blocked until the address is removed in the Console); the code is a guess.
    status = rec['emergency_address_status']
    if rec.get('emergency_address_sid') or status != 'unregistered':
        raise bad(20001, f'Phone number {rec["phone_number"]} has an emergency address '
                         f'(emergency_address_sid {rec.get("emergency_address_sid")}, '
                         f'emergency_address_status {status}): set EmergencyAddressSid to "" and '
                         f'wait until it is unregistered before releasing the number')
    for dom in st.live('sip_domain', None):      # the fake's choice: the caller is cleared
        if dom.get('emergency_caller_sid') == rec['sid']:
            dom.update(emergency_caller_sid=None, _updated=time.time())
            st.save(dom)
    if rec.get('trunk_sid'):
        st.set_trunk(rec, None, rec['trunk_sid'])


def after_trunk_number(st, rec, old):
    number = st.recs[('incoming_number', None, rec['sid'])]
    st.set_trunk(number, rec['_parent'], number.get('trunk_sid'))


def delete_trunk_number(st, rec):
    number = st.recs.get(('incoming_number', None, rec['sid']))
    if number:
        number.update(trunk_sid=None, _updated=time.time())
        st.save(number)


def no_fax(out):
    """Capabilities without `fax`: the examples of the typed number paths, the trunk's
    PhoneNumbers and AvailablePhoneNumbers leave it out (their schemas list it, marked
    @JsonInclude(NON_NULL)); the IncomingPhoneNumbers.json examples show `fax: false`."""
    if isinstance(out.get('capabilities'), dict):
        out['capabilities'] = {k: v for k, v in out['capabilities'].items() if k != 'fax'}
    return out


def render_trunk_number(st, rec, out):
    key = ('incoming_number', None, rec['sid'])
    number = st.recs.get(key) or st.dead.get(key)
    if number is None:
        return
    out.update([(k, number[k]) for k in out if k in number and not k.startswith('date_')])
    out.update(date_created=date_iso(int(number['_created'])),
               date_updated=date_iso(int(number['_updated'])),
               links={'phone_number': 'https://api.twilio.com' +
                      KIND['incoming_number'].inst.format(**number['_path'])[:-5]})
    no_fax(out)


# --------------------------------------------------------------------------- addresses, emergency

# Address validation (README "Addresses"): the countries the fake validates, their postal code
# and region formats; everywhere else an address is taken as sent, with validated false.
US_REGIONS = frozenset(
    'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH '
    'NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM'.split())
CA_REGIONS = frozenset('AB BC MB NB NL NS NT NU ON PE QC SK YT'.split())
VALIDATION = {'US': (re.compile(r'\d{5}(-\d{4})?'), US_REGIONS, 'a 5-digit ZIP code or ZIP+4'),
              'CA': (re.compile(r'[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d'), CA_REGIONS,
                     'a postal code like K1A 0B1')}
# Street words and their abbreviations (USPS style; the support article asks for "St", "Ave",
# no punctuation).  The fake's list.
STREET_WORDS = {'street': 'St', 'avenue': 'Ave', 'road': 'Rd', 'boulevard': 'Blvd',
                'drive': 'Dr', 'lane': 'Ln', 'court': 'Ct', 'place': 'Pl', 'highway': 'Hwy',
                'parkway': 'Pkwy', 'square': 'Sq', 'terrace': 'Ter', 'circle': 'Cir',
                'suite': 'Ste', 'apartment': 'Apt', 'floor': 'Fl', 'building': 'Bldg'}
ABBREVIATIONS = {v.lower(): v for v in STREET_WORDS.values()}
ADDRESS_FIELDS = ('Street', 'StreetSecondary', 'City', 'Region', 'PostalCode')
IN_USE = 21625          # "If this address is required for any active IncomingPhoneNumbers"


def capitalise(word):
    """A word all in lower case gets a capital first letter; any other word is left alone."""
    return word[:1].upper() + word[1:] if word.islower() else word


def normal_street(street):
    words = []
    for i, word in enumerate(street.split()):
        bare = word.rstrip('.,')
        key = bare.lower()
        abbr = STREET_WORDS.get(key) or ABBREVIATIONS.get(key) if i else None
        if abbr:
            words.append(abbr.upper() if bare.isupper() and len(bare) > 1 else abbr)
        else:
            words.append(capitalise(word))
    return ' '.join(words)


def normal_address(rec):
    """The address as the fake's validator would store it: street words abbreviated and
    capitalised, the city capitalised, spaces collapsed, region and a Canadian postal code in
    capitals."""
    out = {'street': normal_street(rec['street']),
           'street_secondary': rec.get('street_secondary') and normal_street(
               rec['street_secondary']),
           'city': ' '.join(capitalise(w) for w in rec['city'].split()),
           'region': rec['region'].strip().upper(), 'postal_code': rec['postal_code'].strip()}
    if rec['iso_country'] == 'CA':
        pc = out['postal_code'].replace(' ', '').upper()
        out['postal_code'] = pc[:3] + ' ' + pc[3:]
    return out


def suggested(rec, fixed):
    """The 21629 message, in the form of the example on twilio.com/docs/voice/sip/api/
    emergency-calling-api."""
    parts = [('FriendlyName', rec.get('friendly_name')), ('CustomerName', rec['customer_name']),
             ('Street', fixed['street']), ('StreetSecondary', fixed['street_secondary']),
             ('Locality', fixed['city']), ('Region', fixed['region']),
             ('PostalCode', fixed['postal_code']), ('IsoCountry', rec['iso_country'])]
    return ('Failed to validate address. Check the suggested address. | ' +
            ', '.join(f'{k}: {v}' for k, v in parts if v))


def check_address(st, rec, p, ctx):
    auto_correct = rec.pop('auto_correct_address', True)
    if ctx['new'] or 'FriendlyName' in p or 'EmergencyEnabled' in p:
        most = 32 if rec['emergency_enabled'] else 64
        if len(rec.get('friendly_name') or '') > most:
            raise bad(20002, f'Invalid FriendlyName: longer than {most} characters (the most '
                             f'for {"an emergency" if most == 32 else "a regulatory"} address)')
    if not ctx['new'] and p.get('EmergencyEnabled') is False:
        users = [n['phone_number'] for n in st.live('incoming_number', None)
                 if n.get('emergency_address_sid') == rec['sid']]
        if users:
            raise bad(IN_USE, f'Address {rec["sid"]} is the emergency address of '
                              f'{", ".join(users)}: EmergencyEnabled cannot be turned off')
    rule = VALIDATION.get(rec['iso_country'])
    if rule is None:
        rec['validated'] = False
        return
    if not ctx['new'] and not any(k in p for k in ADDRESS_FIELDS):
        return
    postal, regions, postal_form = rule
    fixed = normal_address(rec)
    why = (not fixed['street'] and 'Street is empty' or not fixed['city'] and 'City is empty'
           or fixed['region'] not in regions and f'Region {rec["region"]!r} is not a '
           f'{rec["iso_country"]} state or province code (two letters)'
           or not postal.fullmatch(fixed['postal_code']) and
           f'PostalCode {rec["postal_code"]!r} is not {postal_form}')
    if why:
        raise bad(21628, f'The address you have provided cannot be validated: {why}')
    if any(fixed[k] != rec.get(k) for k in fixed if fixed[k] or rec.get(k)):
        if not auto_correct:
            raise bad(21629, suggested(rec, fixed))
        rec.update(fixed)
    rec['validated'] = True


def delete_address(st, rec):
    users = [n['phone_number'] for n in st.live('incoming_number', None)
             if rec['sid'] in (n.get('address_sid'), n.get('emergency_address_sid'),
                               n.get('_em_releasing'))]
    if users:
        raise bad(IN_USE, f'Address {rec["sid"]} is required by the phone number(s) '
                          f'{", ".join(users)} and cannot be deleted')


def check_emergency(st, rec, p, ctx):
    """EmergencyAddressSid and the emergency_address_status it sets off (README "Emergency
    calling").  A purchase ignores it (twilio/twilio-node#706); EmergencyStatus is ignored
    always (twilio.com/changelog/changes-to-the-emergency-calling-api)."""
    rec['emergency_status'] = 'Active'
    sid = p.get('EmergencyAddressSid') or None
    if ctx['new']:
        rec.update(emergency_address_sid=None, emergency_address_status='unregistered')
        if ctx['force'] and sid:          # /_fake/insert: a number linked and registered
            rec.update(emergency_address_sid=sid, emergency_address_status='registered')
        return
    if 'EmergencyAddressSid' not in p:
        return
    old = st.by_sid[rec['sid']]
    old_sid, status = old.get('emergency_address_sid'), old['emergency_address_status']
    rec['emergency_address_sid'] = old_sid
    lag = st.faults.get('emergency_lag', 0)
    number = rec['phone_number']
    if sid is None:
        if old_sid is None and status != 'unregistration-failure':
            return                        # nothing linked: nothing to do
        releasing = old_sid or old.get('_em_releasing')
        rec['emergency_address_sid'] = None
        if status == 'registration-failure':
            rec.update(emergency_address_status='unregistered', _em_releasing=None,
                       _em_due=None)
            return
        target = st.em_failures.pop((number, 'unregistration'), None) or 'unregistered'
        st.em_transition(rec, 'pending-unregistration', target, lag, releasing=releasing)
        return
    if sid == old_sid:
        return                            # the same address again: no change
    address = st.recs.get(('address', None, sid))
    if address is None:
        raise bad(20001, f'EmergencyAddressSid {sid} is not an Address of this account')
    if not address['emergency_enabled']:
        raise bad(20001, f'EmergencyAddressSid {sid} is not an emergency address '
                         f'(its EmergencyEnabled is false)')
    if old_sid is not None or status != 'unregistered':
        raise bad(20001, f'Phone number {number} has emergency_address_status {status}'
                         f'{f" with address {old_sid}" if old_sid else ""}: to change its '
                         f'emergency address, set EmergencyAddressSid to "", wait until the '
                         f'status is unregistered, then associate the new address')
    rec['emergency_address_sid'] = sid
    target = st.em_failures.pop((number, 'registration'), None) or 'registered'
    st.em_transition(rec, 'pending-registration', target, lag)


def check_sip_domain_emergency(rec, p):
    if 'EmergencyCallerSid' in p and not p['EmergencyCallerSid']:
        rec['emergency_caller_sid'] = None


# --------------------------------------------------------------------------- Serverless rules

CONFLICT = (409, 20409)
ENV_TAKEN = 'Environment with this UniqueName or DomainSuffix already exists.'
MAX_UPLOAD = 25 * 1024 * 1024          # per file: the documented Asset maximum (README)
BUILD_LIMITS = (50, 1000, 50)          # function, public/protected asset, private asset versions
BUILD_FAIL_MARKER = b'FAKE_BUILD_FAIL'
DEFAULT_RUNTIME = 'node22'
NPM_NAME_RE = re.compile(r'(@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*')
SEMVER = r'v?(?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?'
COMPARATOR_RE = re.compile(r'(?:\^|~|>=|<=|>|<|=)?' + SEMVER)
HYPHEN_RANGE_RE = re.compile(rf'{SEMVER}\s+-\s+{SEMVER}')


def valid_npm_version(version):
    """An npm semver range: 1.2.3, ^1.2, ~1.0.0, >=1 <2, 1.x, *, a || b, a - b; or 'latest'."""
    if version == 'latest':
        return True
    for alt in version.split('||'):
        alt = alt.strip()
        if not alt or not (HYPHEN_RANGE_RE.fullmatch(alt) or
                           all(COMPARATOR_RE.fullmatch(t) for t in alt.split())):
            return False
    return True


def parse_dependencies(raw):
    """Dependencies: a JSON array of {"name", "version"}.  Also taken: the array wrapped in a
    pair of double quotes, as the Serverless Toolkit sends it, and a JSON-encoded string."""
    if raw is None or not raw.strip():
        return []
    text = raw.strip()
    try:
        deps = json.loads(text)
    except ValueError:
        deps = None
        if len(text) > 1 and text[0] == text[-1] == '"':
            try:
                deps = json.loads(text[1:-1])
            except ValueError:
                pass
    if isinstance(deps, str):
        try:
            deps = json.loads(deps)
        except ValueError:
            deps = None
    if not isinstance(deps, list) or not all(
            isinstance(d, dict) and isinstance(d.get('name'), str) and
            isinstance(d.get('version'), str) for d in deps):
        raise bad(20001, 'Invalid Dependencies: must be a JSON array of {"name": ..., '
                         '"version": ...} objects')
    return [{'name': d['name'], 'version': d['version']} for d in deps]


def build_failure(deps, function_versions):
    """Why the build fails (the fake's reason, never shown by the API), or None."""
    for d in deps:
        if len(d['name']) > 214 or not NPM_NAME_RE.fullmatch(d['name']):
            return f'dependency name {d["name"]!r} is not a valid npm package name'
        if not valid_npm_version(d['version']):
            return f'dependency {d["name"]}: version {d["version"]!r} is not a semver range'
    for v in function_versions:
        if BUILD_FAIL_MARKER in v['_data']:
            return f'function {v["path"]} ({v["sid"]}) contains {BUILD_FAIL_MARKER.decode()}'
    return None


def check_service(st, rec, p, ctx):
    if ctx['new']:
        name = rec['unique_name']
        if len(name) > 50 or not re.fullmatch(r'[A-Za-z0-9-]+', name):
            raise bad(20001, f'Invalid UniqueName {name!r}: it must be 50 characters or fewer, '
                             f'letters, digits and "-"')
        rec['domain_base'] = f'{name}-{st.sid_rng.randrange(10000):04d}'


def check_environment(st, rec, p, ctx):
    if len(rec['unique_name']) > 100:
        raise bad(20001, 'Invalid UniqueName: it must be 100 characters or fewer')
    suffix = rec.get('domain_suffix') or None
    if suffix is not None and (len(suffix) > 16 or not re.fullmatch(r'[A-Za-z0-9-]+', suffix)):
        raise bad(20001, f'Invalid DomainSuffix {suffix!r}: it must be 16 characters or fewer, '
                         f'letters, digits and "-"')
    rec['domain_suffix'] = suffix
    if suffix is None and not ctx['force'] and any(
            e['domain_suffix'] is None for e in st.live('environment', rec['_parent'])):
        raise ApiError(*CONFLICT, ENV_TAKEN)
    base = st.recs[('service', None, rec['_parent'])]['domain_base']
    rec['domain_name'] = f'{base}-{suffix}.twil.io' if suffix else f'{base}.twil.io'


def refuse_if_deployed(what):
    """Twilio only deletes a Function (Asset) none of whose Versions is in a Build deployed in an
    Environment (twilio-labs/serverless-toolkit#148, a maintainer's answer)."""
    def on_delete(st, rec):
        for env in st.live('environment', rec['_parent']):
            build = env['build_sid'] and st.recs.get(('build', rec['_parent'], env['build_sid']))
            if build and rec['sid'] in build['_owners']:
                raise ApiError(*CONFLICT, f'Cannot delete {what} {rec["sid"]}: a Version of it '
                                          f'is part of Build {build["sid"]}, deployed in '
                                          f'Environment {env["sid"]}')
    return on_delete


def check_version(st, rec, p, ctx):
    part = rec.pop('content')
    path = rec['path'] if rec['path'].startswith('/') else '/' + rec['path']
    if len(path) > 255:
        raise bad(20001, 'Invalid Path: it must be 255 characters or fewer')
    if st.limits and len(part.data) > MAX_UPLOAD:
        raise bad(20001, f'Content is {len(part.data)} bytes; the most Twilio takes is '
                         f'{MAX_UPLOAD} (25 MB)')
    rec.update(path=path, _data=part.data, _sha256=hashlib.sha256(part.data).hexdigest(),
               _size=len(part.data), _content_type=part.content_type, _filename=part.filename)


def version_summary(st, v, owner):
    """A version as a build embeds it (the fields of twilio-python's build fixtures)."""
    return {'sid': v['sid'], 'account_sid': st.account, 'service_sid': v['service_sid'],
            owner: v[owner], 'date_created': date_iso(int(v['_created'])), 'path': v['path'],
            'visibility': v['visibility']}


def check_build(st, rec, p, ctx):
    service, found = rec['_parent'], {}
    for param, owner, label in (('FunctionVersions', 'function_sid', 'Function Version'),
                                ('AssetVersions', 'asset_sid', 'Asset Version')):
        found[param] = []
        for sid in p.get(param, []):
            v = st.by_sid.get(sid)
            if v is None or owner not in v or v['service_sid'] != service:
                raise bad(20001, f'{param}: {sid} is not a {label} of Service {service}')
            found[param].append(v)
    fvs, avs = found['FunctionVersions'], found['AssetVersions']
    if not fvs and not avs:
        raise bad(20001, 'At least one Function Version or Asset Version is required for Build')
    seen = set()
    for v in fvs + avs:
        if v['path'] in seen:
            raise bad(20001, f'Path {v["path"]} is used by more than one Version in this Build')
        seen.add(v['path'])
    private = sum(v['visibility'] == 'private' for v in avs)
    counts = (len(fvs), len(avs) - private, private)
    if st.limits and any(n > most for n, most in zip(counts, BUILD_LIMITS)):
        raise bad(20001, 'A Build can contain up to 50 Function Versions, 1000 public or '
                         'protected Asset Versions and 50 private Asset Versions')
    deps = parse_dependencies(p.get('Dependencies'))
    reason = build_failure(deps, fvs)
    rec.update(function_versions=[version_summary(st, v, 'function_sid') for v in fvs],
               asset_versions=[version_summary(st, v, 'asset_sid') for v in avs],
               dependencies=deps, runtime=p.get('Runtime', DEFAULT_RUNTIME), status='building',
               _outcome='failed' if reason else 'completed', _fail_reason=reason,
               _polls=st.faults.get('build_polls', 0), _functions=fvs, _assets=avs,
               _owners={v['function_sid'] for v in fvs} | {v['asset_sid'] for v in avs})


def render_build(st, rec, out):
    """The case of visibility in a Build's version arrays: upper (the spec's Build examples)
    or lower (--build-visibility lower, as the Function/Asset Version resources spell it)."""
    case = str.upper if st.faults.get('build_visibility', 'upper') == 'upper' else str.lower
    for name in ('function_versions', 'asset_versions'):
        if out.get(name):
            out[name] = [dict(v, visibility=case(v['visibility'])) for v in out[name]]


def poll_build(st, rec):
    """A read of a building build: the first build_polls reads answer building."""
    if rec['status'] == 'building':
        if rec['_polls'] > 0:
            rec['_polls'] -= 1
        else:
            rec.update(status=rec['_outcome'], _updated=time.time())
            st.save(rec)


def delete_build(st, rec):
    for env in st.live('environment', rec['_parent']):
        if env['build_sid'] == rec['sid']:
            raise ApiError(*CONFLICT, f'Cannot delete Build {rec["sid"]}: it is deployed in '
                                      f'Environment {env["sid"]}')


def check_deployment(st, rec, p, ctx):
    service, sid = rec['service_sid'], p.get('BuildSid') or None
    rec['build_sid'] = sid
    if sid:
        build = st.recs.get(('build', service, sid))
        if build is None:
            raise bad(20404, f'The requested resource /Services/{service}/Builds/{sid} was not '
                             f'found', 404)
        if build['status'] != 'completed':
            raise bad(20001, f'Build {sid} cannot be deployed: its status is '
                             f'{build["status"]}, not completed')
    last = next(st.colls.get(('deployment', rec['_parent']), EMPTY).before(1 << 62), None)
    if last is not None and last['build_sid'] == sid and not ctx['force']:
        raise ApiError(*CONFLICT, 'Environment already has requested deployment.')


def after_deployment(st, rec, old):
    env = st.recs[('environment', rec['service_sid'], rec['_parent'])]
    env.update(build_sid=rec['build_sid'], _updated=time.time())
    st.save(env)


def check_variable(st, rec, p, ctx):
    if len(rec['key']) > 128:
        raise bad(20001, 'Invalid Key: it must be 128 characters or fewer')
    size = len(rec['value'].encode('utf-8'))
    if size > 450:
        raise bad(20001, f'Invalid Value: {size} bytes; it must be 450 bytes or fewer')


A = '/2010-04-01/Accounts/{AccountSid}'
D = A + '/SIP/Domains/{DomainSid}'
METHODS_POST = dict(voice_method='POST', voice_fallback_method='POST')
NUMBER_DEFAULTS = dict(
    METHODS_POST, origin='twilio', beta=False, api_version='2010-04-01',
    capabilities={'voice': True, 'sms': True, 'mms': True, 'fax': False},
    status_callback='', status_callback_method='POST', sms_url='', sms_method='POST',
    sms_fallback_url='', sms_fallback_method='POST', sms_application_sid='',
    voice_application_sid='', voice_caller_id_lookup=False, voice_receive_mode='voice',
    address_requirements='none', emergency_status='Active',
    emergency_address_status='unregistered', status='in-use')

MAPPING = dict(prefix=None, parent='sip_domain')
CL_MAP = dict(MAPPING, target=('CredentialListSid', 'credential_list', 21231))
AL_MAP = dict(MAPPING, target=('IpAccessControlListSid', 'ip_acl', 21231))
TRUNK_ASSOC = dict(prefix=None, parent='trunk')

KINDS = [
    Kind('sip_domain', 'SD', 'domains', A + '/SIP/Domains.json', A + '/SIP/Domains/{Sid}.json',
         defaults=dict(METHODS_POST, api_version='2010-04-01', voice_status_callback_method='POST',
                       sip_registration=False, emergency_calling_enabled=False, secure=False),
         unique=(('domain_name', 'account', True, 21232, 'Invalid Domain: {} is already in use'),),
         limit=(100, 21230, 'Maximum Domains Reached'), name_max=64,
         refs={'ByocTrunkSid': ('byoc_trunk', 21300),
               'EmergencyCallerSid': ('incoming_number', 20001)},
         links={'credential_list_mappings': '/CredentialListMappings.json',
                'ip_access_control_list_mappings': '/IpAccessControlListMappings.json'},
         check=check_sip_domain, on_delete=delete_sip_domain,
         render=render_auth_type('calls_al', 'calls_cl')),
    Kind('credential_list', 'CL', 'credential_lists', A + '/SIP/CredentialLists.json',
         A + '/SIP/CredentialLists/{Sid}.json',
         unique=(('friendly_name', 'account', False, 21240, 'Credential List Validation Error: '
                  'a Credential List named {!r} already exists'),),
         limit=(100, 21239, 'Maximum Credential Lists Reached'), name_max=64,
         links={'credentials': '/Credentials.json'},
         on_delete=refuse_if_mapped(21241, 'Credential List')),
    Kind('credential', 'CR', 'credentials',
         A + '/SIP/CredentialLists/{CredentialListSid}/Credentials.json',
         A + '/SIP/CredentialLists/{CredentialListSid}/Credentials/{Sid}.json',
         parent='credential_list',
         unique=(('username', 'parent', False, 21243,
                  'Credential Validation Error: Username {!r} already exists in this list'),),
         limit=(1000, 21242, 'Maximum Credentials Reached for List'),
         check=check_credential),
    Kind('ip_acl', 'AL', 'ip_access_control_lists', A + '/SIP/IpAccessControlLists.json',
         A + '/SIP/IpAccessControlLists/{Sid}.json',
         limit=(1000, 21255, 'Maximum IP Access Control Lists reached'), name_max=255,
         links={'ip_addresses': '/IpAddresses.json'},
         on_delete=refuse_if_mapped(21236, 'IP Access Control List')),
    Kind('ip_address', 'IP', 'ip_addresses',
         A + '/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses.json',
         A + '/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses/{Sid}.json',
         parent='ip_acl', defaults=dict(cidr_prefix_length=32),
         limit=(100, 21237, 'Maximum IPs per Access Control List reached'), name_max=255,
         check=check_ip_address),
    Kind('calls_cl', key='contents', coll=D + '/Auth/Calls/CredentialListMappings.json',
         inst=D + '/Auth/Calls/CredentialListMappings/{Sid}.json', **CL_MAP),
    Kind('calls_al', key='contents', coll=D + '/Auth/Calls/IpAccessControlListMappings.json',
         inst=D + '/Auth/Calls/IpAccessControlListMappings/{Sid}.json', **AL_MAP),
    Kind('registrations_cl', key='contents',
         coll=D + '/Auth/Registrations/CredentialListMappings.json',
         inst=D + '/Auth/Registrations/CredentialListMappings/{Sid}.json', **CL_MAP),
    # The legacy mappings are the older view of the Calls mappings: same records.
    Kind('legacy_cl', key='credential_list_mappings', coll=D + '/CredentialListMappings.json',
         inst=D + '/CredentialListMappings/{Sid}.json', store='calls_cl', **CL_MAP),
    Kind('legacy_al', key='ip_access_control_list_mappings',
         coll=D + '/IpAccessControlListMappings.json',
         inst=D + '/IpAccessControlListMappings/{Sid}.json', store='calls_al', **AL_MAP),
    Kind('incoming_number', 'PN', 'incoming_phone_numbers', A + '/IncomingPhoneNumbers.json',
         A + '/IncomingPhoneNumbers/{Sid}.json', defaults=NUMBER_DEFAULTS, name_max=64,
         unique=(('phone_number', 'account', False, 21422, 'PhoneNumber {} is not available'),),
         refs={'VoiceApplicationSid': ('application', 21420),
               'SmsApplicationSid': ('application', 21420), 'TrunkSid': ('trunk', 21245),
               'AddressSid': ('address', 21631)},
         filters={'FriendlyName': 'friendly_name', 'Origin': 'origin',
                  'Beta': lambda rec, v: rec['beta'] == (v == 'true'),
                  'PhoneNumber': lambda rec, v: re.search(
                      re.escape(v).replace(r'\*', r'\d'), rec['phone_number'])},
         colls={A + f'/IncomingPhoneNumbers/{t}.json': t for t in ('Local', 'Mobile', 'TollFree')},
         check=check_number, after=after_number, on_delete=delete_number),
    Kind('application', 'AP', 'applications', A + '/Applications.json',
         A + '/Applications/{Sid}.json', name_max=64,
         defaults=dict(METHODS_POST, api_version='2010-04-01', status_callback_method='POST',
                       sms_method='POST', sms_fallback_method='POST', voice_caller_id_lookup=False,
                       public_application_connect_enabled=False),
         filters={'FriendlyName': 'friendly_name'}),
    Kind('address', 'AD', 'addresses', A + '/Addresses.json', A + '/Addresses/{Sid}.json',
         defaults=dict(emergency_enabled=False, validated=False, verified=False),
         filters={'CustomerName': 'customer_name', 'FriendlyName': 'friendly_name',
                  'IsoCountry': 'iso_country',
                  'EmergencyEnabled': lambda rec, v: rec['emergency_enabled'] == (v == 'true')},
         check=check_address, on_delete=delete_address),
    Kind('byoc_trunk', 'BY', 'byoc_trunks', '/v1/ByocTrunks', '/v1/ByocTrunks/{Sid}',
         name_max=255,
         defaults=dict(METHODS_POST, status_callback_method='POST', cnam_lookup_enabled=False),
         refs={'ConnectionPolicySid': ('connection_policy', 20001),
               'FromDomainSid': ('sip_domain', 20001)}),
    Kind('connection_policy', 'NY', 'connection_policies', '/v1/ConnectionPolicies',
         '/v1/ConnectionPolicies/{Sid}', links={'targets': '/Targets'}),
    Kind('target', 'NE', 'targets', '/v1/ConnectionPolicies/{ConnectionPolicySid}/Targets',
         '/v1/ConnectionPolicies/{ConnectionPolicySid}/Targets/{Sid}', parent='connection_policy',
         defaults=dict(priority=10, weight=10, enabled=True), check=check_route_entry('target')),
    Kind('trunk', 'TK', 'trunks', '/v1/Trunks', '/v1/Trunks/{Sid}', name_max=64,
         defaults=dict(recording={'mode': 'do-not-record', 'trim': 'do-not-trim'},
                       transfer_mode='disable-all', transfer_caller_id='from-transferee',
                       secure=False, cnam_lookup_enabled=False, symmetric_rtp_enabled=False,
                       disaster_recovery_method='POST'),
         unique=(('domain_name', 'account', True, 21248, 'Trunk domain name {} is already taken'),),
         links={'origination_urls': '/OriginationUrls', 'credential_lists': '/CredentialLists',
                'ip_access_control_lists': '/IpAccessControlLists',
                'phone_numbers': '/PhoneNumbers'},
         check=check_trunk, render=render_auth_type('trunk_al', 'trunk_cl')),
    Kind('origination_url', 'OU', 'origination_urls', '/v1/Trunks/{TrunkSid}/OriginationUrls',
         '/v1/Trunks/{TrunkSid}/OriginationUrls/{Sid}', parent='trunk',
         check=check_route_entry('sip_url')),
    Kind('trunk_cl', key='credential_lists', coll='/v1/Trunks/{TrunkSid}/CredentialLists',
         inst='/v1/Trunks/{TrunkSid}/CredentialLists/{Sid}',
         target=('CredentialListSid', 'credential_list', 21245), **TRUNK_ASSOC),
    Kind('trunk_al', key='ip_access_control_lists',
         coll='/v1/Trunks/{TrunkSid}/IpAccessControlLists',
         inst='/v1/Trunks/{TrunkSid}/IpAccessControlLists/{Sid}',
         target=('IpAccessControlListSid', 'ip_acl', 21245), **TRUNK_ASSOC),
    Kind('trunk_pn', key='phone_numbers', coll='/v1/Trunks/{TrunkSid}/PhoneNumbers',
         inst='/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}',
         target=('PhoneNumberSid', 'incoming_number', 21245),
         after=after_trunk_number, on_delete=delete_trunk_number, render=render_trunk_number,
         **TRUNK_ASSOC),
    # Serverless v1.  Children of a service are listed environment first, so that deleting a
    # service undeploys before it deletes the functions, assets and builds.
    Kind('service', 'ZS', 'services', '/v1/Services', '/v1/Services/{Sid}', name_max=255,
         defaults=dict(include_credentials=True, ui_editable=False),
         unique=(('unique_name', 'account', True, CONFLICT,
                  'Service with UniqueName {!r} already exists'),),
         links={'environments': '/Environments', 'functions': '/Functions',
                'assets': '/Assets', 'builds': '/Builds'},
         check=check_service),
    Kind('environment', 'ZE', 'environments', S + '/Environments', S + '/Environments/{Sid}',
         parent='service', defaults=dict(build_sid=None, domain_suffix=None),
         unique=(('unique_name', 'parent', False, CONFLICT, ENV_TAKEN),
                 ('domain_suffix', 'parent', True, CONFLICT, ENV_TAKEN)),
         links={'variables': '/Variables', 'deployments': '/Deployments', 'logs': '/Logs'},
         check=check_environment),
    Kind('variable', 'ZV', 'variables', S + '/Environments/{EnvironmentSid}/Variables',
         S + '/Environments/{EnvironmentSid}/Variables/{Sid}', parent='environment',
         unique=(('key', 'parent', False, CONFLICT,
                  'Variable with Key {!r} already exists in this Environment'),),
         check=check_variable),
    Kind('deployment', 'ZD', 'deployments', S + '/Environments/{EnvironmentSid}/Deployments',
         S + '/Environments/{EnvironmentSid}/Deployments/{Sid}', parent='environment',
         check=check_deployment, after=after_deployment),
    Kind('log', 'NO', 'logs', S + '/Environments/{EnvironmentSid}/Logs',
         S + '/Environments/{EnvironmentSid}/Logs/{Sid}', parent='environment'),
    Kind('function', 'ZH', 'functions', S + '/Functions', S + '/Functions/{Sid}',
         parent='service', name_max=255, links={'function_versions': '/Versions'},
         on_delete=refuse_if_deployed('Function')),
    Kind('function_version', 'ZN', 'function_versions', S + '/Functions/{FunctionSid}/Versions',
         S + '/Functions/{FunctionSid}/Versions/{Sid}', parent='function',
         links={'function_version_content': '/Content'}, check=check_version),
    Kind('asset', 'ZH', 'assets', S + '/Assets', S + '/Assets/{Sid}', parent='service',
         name_max=255, links={'asset_versions': '/Versions'},
         on_delete=refuse_if_deployed('Asset')),
    Kind('asset_version', 'ZN', 'asset_versions', S + '/Assets/{AssetSid}/Versions',
         S + '/Assets/{AssetSid}/Versions/{Sid}', parent='asset', check=check_version),
    Kind('build', 'ZB', 'builds', S + '/Builds', S + '/Builds/{Sid}', parent='service',
         links={'build_status': '/Status'}, check=check_build, on_fetch=poll_build,
         on_delete=delete_build, render=render_build),
]
KIND = {k.name: k for k in KINDS}
DEPENDENT = A + '/Addresses/{AddressSid}/DependentPhoneNumbers.json'
DP = '/v1/DialingPermissions'
# The three permissions of a country, as the Country resource names them.
PERMISSION_FLAGS = ('low_risk_numbers_enabled', 'high_risk_special_numbers_enabled',
                    'high_risk_tollfraud_numbers_enabled')
# BulkCountryUpdates: the spec's request example spells them otherwise (README).
PERMISSION_ALIASES = {'low_risk_numbers': 'low_risk_numbers_enabled',
                      'high_risk_special_numbers': 'high_risk_special_numbers_enabled',
                      'high_risk_irsf_numbers': 'high_risk_tollfraud_numbers_enabled'}
# A new account: low-risk numbers of its own country enabled, nothing else (README).
DEFAULT_PERMISSIONS = {'US': (True, False, False)}
with open(os.path.join(HERE, 'dialing_countries.json'), encoding='utf-8') as _f:
    DIALING_COUNTRIES = json.load(_f)
DIALING = {c['iso_code']: c for c in DIALING_COUNTRIES}
PERMISSION_VALUES = {'true': True, 'false': False, 'enabled': True, 'disabled': False}


def parse_update_request(raw):
    """BulkCountryUpdates' UpdateRequest -> {ISO code: {flag: bool}} (README "Voice dialing
    permissions"): a JSON array of objects, each with iso_code and any of the three flags,
    named as the Country resource names them or as the spec's request example does; values
    "true"/"false", JSON booleans or "Enabled"/"Disabled".  Also taken: the array written with
    single quotes, as twilio/sample-code's Ruby and C# samples send it."""
    def invalid(why):
        return bad(20001, f'Invalid UpdateRequest: {why}')
    try:
        items = json.loads(raw)
    except ValueError:
        try:
            items = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise invalid('not a JSON array of update objects') from None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise invalid('it must be a non-empty JSON array of objects like {"iso_code": "GB", '
                      '"low_risk_numbers_enabled": "true"}')
    out = {}
    for item in items:
        iso = item.get('iso_code')
        if not isinstance(iso, str) or iso.upper() not in DIALING:
            raise invalid(f'unknown iso_code {iso!r}')
        iso = iso.upper()
        if iso in out:
            raise invalid(f'iso_code {iso} is given more than once')
        flags = {}
        for key, value in item.items():
            if key == 'iso_code':
                continue
            name = PERMISSION_ALIASES.get(key, key)
            if name not in PERMISSION_FLAGS:
                raise invalid(f'unknown key {key!r} for {iso}')
            v = value if isinstance(value, bool) else (
                PERMISSION_VALUES.get(value.lower()) if isinstance(value, str) else None)
            if v is None:
                raise invalid(f'{key} of {iso}: {value!r} is not "true" or "false"')
            if flags.get(name, v) != v:
                raise invalid(f'{iso}: {name} is given twice with different values')
            flags[name] = v
        out[iso] = flags
    return out


AVAILABLE = A + '/AvailablePhoneNumbers/{CountryCode}/%s.json'
RECORDING = '/v1/Trunks/{TrunkSid}/Recording'


# --------------------------------------------------------------------------- storage

SEQ = (lambda rec: rec['_seq'])


class Collection:
    """The records of one kind under one parent, in creation order (deletions are lazy)."""
    __slots__ = ('recs', 'dead')

    def __init__(self):
        self.recs, self.dead = [], 0

    def __len__(self):
        return len(self.recs) - self.dead

    def remove(self, rec):
        rec['_dead'] = True
        self.dead += 1
        if self.dead > 64 and self.dead * 2 > len(self.recs):
            self.recs, self.dead = [r for r in self.recs if not r['_dead']], 0

    def after(self, seq):
        recs, i = self.recs, bisect.bisect_right(self.recs, seq, key=SEQ)
        for i in range(i, len(recs)):
            if not recs[i]['_dead']:
                yield recs[i]

    def before(self, seq):
        recs = self.recs
        for i in range(bisect.bisect_left(recs, seq, key=SEQ) - 1, -1, -1):
            if not recs[i]['_dead']:
                yield recs[i]


EMPTY = Collection()


class State:
    """Every resource of the one fake account.  Callers hold Fake.lock."""

    def __init__(self, account, sid_rng, limits):
        self.account, self.sid_rng, self.limits = account, sid_rng, limits
        self.recs = {}        # (store, parent sid, sid) -> record
        self.colls = {}       # (store, parent sid) -> Collection
        self.uniq = {}        # (store, scope, field, value) -> set of sids
        self.refs = {}        # mapped SID -> number of mappings/associations
        self.available = {}   # phone number -> {'country', 'type'}
        self.by_sid = {}      # SID -> record, for kinds with a SID prefix of their own
        self.faults = {}      # the fake's current faults (build_polls)
        self.seq = 0
        self.graveyard = {}   # (store, parent sid) -> records deleted less than the lag ago
        self.dead = {}        # (store, parent sid, sid) -> the same records
        self.backdating = False   # control API writes: visible at once under the lags
        self._pruned = 0.0
        self.em_pending = set()   # numbers whose emergency address status will change
        self.em_failures = {}     # (phone number, 'registration'|'unregistration') -> status
        # ISO code -> [low risk, high risk special, toll fraud]
        self.permissions = {iso: list(DEFAULT_PERMISSIONS.get(iso, (False, False, False)))
                            for iso in DIALING}
        self.permissions_pending = []   # (due time, {ISO code: {flag: bool}}), in due order
        self.voice_settings = {'dialing_permissions_inheritance': True}

    # Asynchronous changes: each API request and each read of the control API first applies
    # the changes that are due (tick).

    def em_transition(self, rec, pending, target, lag, releasing=None):
        """A number's emergency address status goes to `pending` now and to `target` lag
        seconds later (at once with lag 0)."""
        if lag <= 0:
            rec.update(emergency_address_status=target, _em_due=None, _em_next=None,
                       _em_releasing=releasing if target == 'unregistration-failure' else None)
        else:
            rec.update(emergency_address_status=pending, _em_due=time.time() + lag,
                       _em_next=target, _em_releasing=releasing)

    def tick(self):
        now = time.time()
        for sid in list(self.em_pending):
            rec = self.by_sid.get(sid)
            if rec is None or rec.get('_em_due') is None:
                self.em_pending.discard(sid)
            elif rec['_em_due'] <= now:
                target = rec['_em_next']
                rec.update(emergency_address_status=target, _em_due=None, _em_next=None)
                if target != 'unregistration-failure':
                    rec['_em_releasing'] = None
                self.em_pending.discard(sid)
                self.save(rec)
        while self.permissions_pending and self.permissions_pending[0][0] <= now:
            self.set_permissions(self.permissions_pending.pop(0)[1])

    def set_permissions(self, changes):
        for iso, flags in changes.items():
            row = self.permissions[iso]
            for name, value in flags.items():
                row[PERMISSION_FLAGS.index(name)] = value

    # History for --list-lag / --fetch-lag: while a lag is set, every write appends a copy of
    # the record to its _hist ((time, copy), oldest first, pruned to what the lag can still
    # show) and a deleted record stays in the graveyard until the lag has passed.

    def keep(self):
        return max(self.faults.get('list_lag', 0), self.faults.get('fetch_lag', 0))

    def save(self, rec):
        keep = self.keep()
        if keep <= 0:
            rec.pop('_hist', None)
            return
        now = time.time()
        snap = {k: dict(v) if isinstance(v, dict) else v for k, v in rec.items()
                if k != '_hist'}
        hist = rec.setdefault('_hist', [])
        hist.append((0.0 if self.backdating else now, snap))
        while len(hist) > 1 and hist[1][0] <= now - keep:
            del hist[0]

    def as_of(self, rec, t):
        """A copy of the record as it was at time t, None if it did not exist then."""
        if rec.get('_deleted') is not None and rec['_deleted'] <= t:
            return None
        hist = rec.get('_hist')
        if not hist:
            return dict(rec)
        for when, snap in reversed(hist):
            if when <= t:
                return dict(snap, _dead=False)
        return None

    def prune(self):
        now = time.time()
        if now - self._pruned < 1:
            return
        self._pruned, cutoff = now, now - self.keep()
        for key in list(self.graveyard):
            self.graveyard[key] = [r for r in self.graveyard[key] if r['_deleted'] > cutoff]
            if not self.graveyard[key]:
                del self.graveyard[key]
        self.dead = {k: r for k, r in self.dead.items() if r['_deleted'] > cutoff}

    def lagged(self, store, parent, coll, lag):
        """The records of a collection as they were lag seconds ago, by _seq."""
        t = time.time() - lag
        self.prune()
        recs = list(coll.after(-1)) + [r for r in self.graveyard.get((store, parent), ())
                                       if r['_deleted'] > t]
        views = [v for v in (self.as_of(r, t) for r in recs) if v is not None]
        views.sort(key=SEQ)
        return views

    def read(self, kind, parent, sid, path, pparams, lag):
        """The record for a GET of one instance: as get(), but as it was lag seconds ago (a
        record younger than that is not found; one deleted less than that ago still is)."""
        if lag <= 0:
            return self.get(kind, parent, sid, path, pparams)
        t = time.time() - lag
        key = (kind.store, parent, sid)
        for rec in (self.recs.get(key), self.dead.get(key)):
            if rec is None or pparams and any(
                    k != 'Sid' and pparams.get(k, v) != v for k, v in rec['_path'].items()):
                continue
            view = self.as_of(rec, t)
            if view is not None:
                return view
        raise bad(20404, f'The requested resource {path} was not found', 404)

    def live(self, store, parent):
        return self.colls.get((store, parent), EMPTY).after(-1)

    def count(self, store, parent):
        return len(self.colls.get((store, parent), EMPTY))

    def get(self, kind, parent, sid, path, pparams=None):
        """The record, 404 unless it exists and every SID of the path is its ancestors'."""
        rec = self.recs.get((kind.store, parent, sid))
        if rec is None or pparams and any(
                k != 'Sid' and pparams.get(k, v) != v for k, v in rec['_path'].items()):
            raise bad(20404, f'The requested resource {path} was not found', 404)
        return rec

    def _unique_keys(self, kind, rec):
        for fld, scope, ci, code, msg in kind.unique:
            value = rec.get(fld)
            if value:
                yield (kind.store, rec['_parent'] if scope == 'parent' else None, fld,
                       value.lower() if ci else value), code, msg.format(value)

    def _index(self, kind, rec, add):
        for key, _, _ in self._unique_keys(kind, rec):
            sids = self.uniq.setdefault(key, set())
            sids.add(rec['sid']) if add else sids.discard(rec['sid'])

    def _insert(self, kind, rec):
        self.seq += 1
        rec['_seq'], rec['_dead'] = self.seq, False
        self.recs[(kind.store, rec['_parent'], rec['sid'])] = rec
        if kind.prefix:
            self.by_sid[rec['sid']] = rec
        self.colls.setdefault((kind.store, rec['_parent']), Collection()).recs.append(rec)
        self._index(kind, rec, True)
        if kind.target:
            self.refs[rec['sid']] = self.refs.get(rec['sid'], 0) + 1
        self.save(rec)

    def _remove(self, kind, rec):
        del self.recs[(kind.store, rec['_parent'], rec['sid'])]
        if kind.prefix:
            del self.by_sid[rec['sid']]
        self.colls[(kind.store, rec['_parent'])].remove(rec)
        self._index(kind, rec, False)
        if kind.target:
            self.refs[rec['sid']] -= 1
        if self.keep() > 0:
            rec['_deleted'] = time.time()
            self.graveyard.setdefault((kind.store, rec['_parent']), []).append(rec)
            self.dead[(kind.store, rec['_parent'], rec['sid'])] = rec

    def _validate(self, kind, rec, p, ctx):
        for param, (ref, code) in kind.refs.items():
            if p.get(param) and (KIND[ref].store, None, p[param]) not in self.recs:
                raise bad(code, f'{param} {p[param]} does not exist in this account')
        if kind.name_max and len(p.get('FriendlyName', '')) > kind.name_max:
            raise bad(20002, f'Invalid FriendlyName: longer than {kind.name_max} characters')
        if kind.check:
            kind.check(self, rec, p, ctx)
        if not ctx['force']:
            for key, code, msg in self._unique_keys(kind, rec):
                if self.uniq.get(key, set()) - {rec['sid']}:
                    status, code = code if isinstance(code, tuple) else (400, code)
                    raise bad(code, msg, status)

    def parent(self, kind, pparams):
        """The parent SID in the path of a collection; 404 when there is no such parent."""
        sid = pparams.get(kind.parent_param)
        if kind.parent:
            pk = KIND[kind.parent]
            self.get(pk, pparams.get(pk.parent_param), sid, pk.inst.format(**pparams, Sid=sid),
                     pparams)
        return sid

    def create(self, kind, pparams, p, force=False, number_type=None, backdate=False):
        self.backdating = backdate
        try:
            return self._create(kind, pparams, p, force, number_type)
        finally:
            self.backdating = False

    def _create(self, kind, pparams, p, force, number_type):
        parent = self.parent(kind, pparams)
        if kind.target:
            param, tkind, code = kind.target
            sid = p[param]
            if (KIND[tkind].store, None, sid) not in self.recs:
                raise bad(code, f'{param} {sid} does not exist in this account')
            if (kind.store, parent, sid) in self.recs:
                raise bad(code, f'{sid} is already mapped here')
        else:
            sid = kind.prefix + f'{self.sid_rng.getrandbits(128):032x}'
        now = time.time()
        rec = {k: dict(v) if isinstance(v, dict) else v for k, v in kind.defaults.items()}
        rec.update(sid=sid, _parent=parent, _path=dict(pparams, Sid=sid), _created=now,
                   _updated=now)
        rec.update((snake(k), v) for k, v in pparams.items() if k not in ('Sid', 'AccountSid'))
        rec.update((snake(k), v) for k, v in p.items())
        self._validate(kind, rec, p, {'new': True, 'force': force, 'type': number_type})
        if kind.limit and self.limits and not force:
            most, code, message = kind.limit
            if self.count(kind.store, parent) >= most:
                raise bad(code, message)
        self._insert(kind, rec)
        if kind.after:
            kind.after(self, rec, None)
        self.save(rec)
        return rec

    def update(self, kind, rec, p):
        new = dict(rec)
        new.update((snake(k), v) for k, v in p.items())
        self._validate(kind, new, p, {'new': False, 'force': False})
        old = dict(rec)
        self._index(kind, rec, False)
        rec.update(new, _updated=time.time())
        self._index(kind, rec, True)
        if kind.after:
            kind.after(self, rec, old)
        self.save(rec)

    def delete(self, kind, rec):
        if kind.on_delete:
            kind.on_delete(self, rec)
        for child in KINDS:
            if child.parent == kind.name and child.store == child.name:
                for c in list(self.live(child.store, rec['sid'])):
                    self.delete(child, c)
        self._remove(kind, rec)

    def set_trunk(self, number, trunk, old_trunk):
        """Move a phone number between Elastic SIP trunks (both APIs reach this)."""
        assoc = KIND['trunk_pn']
        if old_trunk and (assoc.store, old_trunk, number['sid']) in self.recs:
            self._remove(assoc, self.recs[(assoc.store, old_trunk, number['sid'])])
        number.update(trunk_sid=trunk or None, _updated=time.time())
        if trunk:
            number['voice_application_sid'] = ''
            if (assoc.store, trunk, number['sid']) not in self.recs:
                self._insert(assoc, {'sid': number['sid'], '_parent': trunk, 'trunk_sid': trunk,
                                     '_path': {'TrunkSid': trunk, 'Sid': number['sid']},
                                     '_created': time.time(), '_updated': time.time()})
        self.save(number)

    def render(self, kind, rec):
        # every field of the response schema, null when unset (a list page renders
        # thousands of records: this is the fake's hot loop)
        out = dict(zip(kind.fields, map(rec.get, kind.fields)))
        api2010 = kind.api2010
        fmt = date_2010 if api2010 else date_iso
        out.update(account_sid=self.account, date_created=fmt(int(rec['_created'])))
        if 'date_updated' in out:     # versions have none
            out['date_updated'] = fmt(int(rec['_updated']))
        path = kind.inst.format_map(rec['_path'])
        if api2010:
            if 'uri' in out:
                out['uri'] = path
            if kind.links:
                out['subresource_uris'] = {k: path[:-5] + v for k, v in kind.links.items()}
        else:
            out['url'] = kind.host + path
            if kind.links:
                out['links'] = {k: out['url'] + v for k, v in kind.links.items()}
        if kind.target and 'friendly_name' in out:
            mapped = self.recs.get((KIND[kind.target[1]].store, None, rec['sid']))
            out['friendly_name'] = mapped and mapped.get('friendly_name')
        if kind.render:
            kind.render(self, rec, out)
        return out


# --------------------------------------------------------------------------- the fake

class Fake:
    def __init__(self, args):
        self.args = args
        self.spec = Spec(os.path.join(HERE, 'spec'))
        for kind in KINDS:
            self._bind(kind)
        self.handlers, self.typed_fields = {}, {}
        for kind in KINDS:
            self.handlers[kind.coll] = (self.h_collection, kind, None)
            self.handlers[kind.inst] = (self.h_instance, kind, None)
            for template, number_type in kind.colls.items():
                self.handlers[template] = (self.h_collection, kind, number_type)
        for number_type in NUMBER_TYPES:
            self.handlers[AVAILABLE % number_type] = (self.h_available, None, number_type)
        self.handlers[A + '/AvailablePhoneNumbers.json'] = (self.h_countries, None, None)
        self.handlers[A + '/AvailablePhoneNumbers/{CountryCode}.json'] = (self.h_country, None,
                                                                          None)
        self.handlers[RECORDING] = (self.h_recording, None, None)
        self.handlers[DEPENDENT] = (self.h_dependent, KIND['incoming_number'], None)
        self.handlers[DP + '/Countries'] = (self.h_dp_countries, None, None)
        self.handlers[DP + '/Countries/{IsoCode}'] = (self.h_dp_country, None, None)
        self.handlers[DP + '/Countries/{IsoCode}/HighRiskSpecialPrefixes'] = (
            self.h_dp_prefixes, None, None)
        self.handlers[DP + '/BulkCountryUpdates'] = (self.h_dp_bulk, None, None)
        self.handlers['/v1/Settings'] = (self.h_voice_settings, None, None)
        self.handlers[S + '/Functions/{FunctionSid}/Versions/{Sid}/Content'] = (
            self.h_content, KIND['function_version'], None)
        self.handlers[S + '/Builds/{Sid}/Status'] = (self.h_build_status, KIND['build'], None)
        missing = [t for t in self.handlers if t not in self.spec.by_template]
        assert not missing, f'paths not in the spec: {missing}'
        route = self.spec.by_template[AVAILABLE % 'Local']
        self.available_fields = list(route.ops['GET'].response['properties'])
        self.dependent_fields = list(
            self.spec.by_template[DEPENDENT].ops['GET'].response['properties'])
        self.country_fields = list(
            self.spec.by_template[DP + '/Countries/{IsoCode}'].ops['GET'].response['properties'])
        self.start_faults = dict({k: getattr(args, k) for k in FAULTS},
                                 realistic=args.realistic)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.country_coll = None
        self.rng = random.Random(args.seed)
        self.sid_rng = random.Random(args.seed)
        self.reset()

    def reset(self):
        """Back to the start: no resources, log, violations or stats; start faults."""
        self.state = State(self.args.account_sid, self.sid_rng, not self.args.no_limits)
        self.log, self.violations = [], []
        self.faults = dict(self.start_faults)
        self.state.faults = self.faults
        self.stats = {'requests': 0, 'by_status': {}, 'max_in_flight': 0, 'throttled': 0}

    def _bind(self, kind):
        kind.store = kind.store or kind.name
        route = self.spec.by_template[kind.inst]
        kind.host = route.host
        props = (route.ops['GET'].response or {}).get('properties', {})
        kind.fields = list(props)
        # optional strings that can be unset: what --unset renders as null or ""
        kind.unset_fields = [f for f, s in props.items() if s.get('type') == 'string'
                             and s.get('nullable') and 'enum' not in s
                             and s.get('format') != 'date-time' and f not in ('sid', 'url')]
        link_field = 'subresource_uris' if kind.api2010 else 'links'
        if kind.links and link_field not in kind.fields:
            kind.fields.append(link_field)
        params = [p for p in re.findall(r'\{(\w+)\}', kind.coll) if p != 'AccountSid']
        kind.parent_param = params[-1] if kind.parent else None

    # ----------------------------------------------------------------- API requests

    def serve_api(self, h, method, path, query, body):
        content_type = h.headers.get('Content-Type', '')
        files, bad_body = {}, None
        if content_type.split(';')[0].strip().lower() == 'multipart/form-data':
            try:
                form, files = parse_multipart(content_type, body)
            except ValueError as e:
                form, bad_body = {}, str(e)
        else:
            form = parse_qs(body.decode('utf-8', 'replace'), keep_blank_values=True)
        # file parts are logged by size and digest, never their bytes
        entry = {'method': method, 'path': path, 'query': query, 'form': form,
                 'files': {name: {'filename': f.filename, 'content_type': f.content_type,
                                  'size': len(f.data), 'sha256': hashlib.sha256(f.data).hexdigest()}
                           for name, f in files.items()},
                 'status': None, 't_start': time.time(), 't_end': None, 'dropped': False}
        with self.lock:
            f = dict(self.faults)
            admitted = not f['concurrency'] or self.in_flight < f['concurrency']
            if admitted:
                self.in_flight += 1
                self.stats['max_in_flight'] = max(self.stats['max_in_flight'], self.in_flight)
            else:
                self.stats['throttled'] += 1
        status, payload, headers, drop = 429, error_body(429, 20429, 'Too Many Requests'), {}, False
        if not admitted and f['concurrency_retry_after']:
            headers = {'Retry-After': str(f['concurrency_retry_after'])}
        if admitted:
            try:
                status, payload, headers, drop = self._faulted_api(
                    h, f, method, path, query, form, body, files, bad_body)
            finally:
                with self.lock:
                    self.in_flight -= 1
        # logged before the answer is sent: a client that reads /_fake/log or
        # /_fake/stats once it has its answer finds the request there
        with self.lock:
            entry.update(status=None if drop == 'before' else status, dropped=bool(drop),
                         t_end=time.time())
            self.log.append(entry)
            self.stats['requests'] += 1
            key = 'dropped' if drop else str(status)
            self.stats['by_status'][key] = self.stats['by_status'].get(key, 0) + 1
        if drop:
            h.close_connection = True
        else:
            try:
                h.reply(status, payload, headers)
            except (BrokenPipeError, ConnectionResetError):
                h.close_connection = True   # the client is gone; the request was processed all the same

    def _roll(self, rate):
        if not rate:
            return False
        with self.lock:
            return self.rng.random() < rate

    def _faulted_api(self, h, f, method, path, query, form, body, files, bad_body):
        """The answer (or the drop) leaves latency_ms after the request came in: the
        fake's own work, the JSON text of the answer included, counts toward the
        latency as a real server's does.  (Requests come in waves: handled one at a
        time under the GIL after the wait, 32 pages of 200 credentials were answered
        up to 40 ms late, and a benchmark measured the fake as much as the client.)"""
        due = time.monotonic() + f['latency_ms'] / 1000
        status, payload, headers, drop = self._outcome(h, f, method, path, query, form, body, files,
                                                       bad_body)
        if status is not None and status != 204:
            payload = json.dumps(payload).encode()
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return status, payload, headers, drop

    def _outcome(self, h, f, method, path, query, form, body, files, bad_body):
        if f['fail_all_status']:
            s = f['fail_all_status']
            return s, error_body(s, 20000 + s, http.HTTPStatus(s).phrase), {}, False
        if self._roll(f['rate_drop']):
            return None, None, {}, 'before'
        if self._roll(f['rate_429']):
            headers = {'Retry-After': '1'} if self._roll(f['rate_retry_after']) else {}
            return 429, error_body(429, 20429, 'Too Many Requests'), headers, False
        if self._roll(f['rate_500']):
            return 500, error_body(500, 20500, 'Internal Server Error'), {}, False
        try:
            status, payload = self.api(h, method, path, query, form, body, files, bad_body)
            headers = {}
        except ApiError as e:
            status, payload, headers = e.status, error_body(e.status, e.code, e.message), e.headers
        return status, payload, headers, self._roll(f['rate_drop_after']) and 'after'

    def _auth(self, header):
        a = self.args
        try:
            scheme, token = header.split(None, 1)
            user, _, secret = base64.b64decode(token).decode().partition(':')
        except (ValueError, UnicodeDecodeError):
            user = secret = scheme = None
        ok = scheme == 'Basic' and ((user, secret) == (a.account_sid, a.auth_token) or
                                    a.api_key and (user, secret) == (a.api_key, a.api_secret))
        if not ok:
            raise ApiError(401, 20003, 'Authenticate',
                           {'WWW-Authenticate': 'Basic realm="Twilio API"'})

    def violation(self, method, path, detail, status=400, code=20001):
        message = VIOLATION + detail
        with self.lock:
            self.violations.append(f'{method} {path}: {detail}')
        print(f'{method} {path}: {message}', file=sys.stderr, flush=True)
        return ApiError(status, code, message)

    def api(self, h, method, path, query, form, body, files=None, bad_body=None):
        self._auth(h.headers.get('Authorization', ''))
        route, pparams = self.spec.match(path)
        if route is None:
            raise self.violation(method, path, 'no such path in the Twilio API', 404, 20404)
        if method not in route.ops:
            raise self.violation(method, path, f'method {method} not allowed on {route.template}',
                                 405, 20004)
        if 'AccountSid' in pparams and pparams['AccountSid'] != self.args.account_sid:
            raise ApiError(401, 20003, 'Authenticate')
        v = self.spec.check(route, method, pparams, query, form,
                            h.headers.get('Content-Type', ''), bool(body), files)
        if bad_body:
            v.append(bad_body)
        if v:
            raise self.violation(method, path, '; '.join(v))
        op = route.ops[method]
        if route.template not in self.handlers:
            raise bad(20404, f'fake twilio: {route.template} is not modelled', 404)
        fn, kind, extra = self.handlers[route.template]
        p = convert(op, form)
        p.update(files or {})
        with self.lock:
            self.state.tick()
            self._resolve_service(route, pparams)
            payload = fn(method, route, pparams, query, p, path, kind, extra)
        return op.status, payload

    def _resolve_service(self, route, pparams):
        """Serverless paths take a Service's unique_name for its SID (the docs type ServiceSid
        sid_like<ZS>; /v1/Services/{Sid} says "the sid or unique_name")."""
        if not route.template.startswith('/v1/Services'):
            return
        key = 'Sid' if route.template == '/v1/Services/{Sid}' else 'ServiceSid'
        name = pparams.get(key)
        if name is not None and not re.fullmatch(r'ZS[0-9a-fA-F]{32}', name):
            sids = self.state.uniq.get(('service', None, 'unique_name', name.lower()))
            if sids:
                pparams[key] = min(sids)

    # ----------------------------------------------------------------- handlers (under lock)

    def present(self, kind, out):
        """An API answer for one record, with the realistic switches applied (the control API
        shows records without them)."""
        f = self.faults
        if f['omit_receive_mode'] and kind.name in ('incoming_number', 'trunk_pn'):
            out.pop('voice_receive_mode', None)
        if f['shuffle_versions'] and kind.name == 'build':
            for name in ('function_versions', 'asset_versions'):
                if out.get(name):
                    out[name] = self.rng.sample(out[name], len(out[name]))
        if f['unset'] != 'spec':
            for name in kind.unset_fields:
                if out.get(name, 0) in (None, ''):
                    mode = f['unset'] if f['unset'] != 'mixed' else self.rng.choice(
                        ('null', 'empty'))
                    out[name] = None if mode == 'null' else ''
        return self.extras(out, EXTRA_ITEM_FIELDS)

    def extras(self, out, fields):
        if self.faults['extra_fields']:
            out.update(json.loads(json.dumps(fields)))
        return out

    def h_collection(self, method, route, pparams, query, p, path, kind, number_type):
        st = self.state
        if method == 'POST':
            out = self.present(kind, st.render(kind, st.create(kind, pparams, p,
                                                               number_type=number_type)))
            return self.typed(route, out, fax=True) if number_type else out
        parent = st.parent(kind, pparams)
        preds = [(kind.filters[k], v[0]) for k, v in query.items() if k in kind.filters]
        if number_type:
            preds.append(('type', NUMBER_TYPES[number_type]))
        match = (lambda r: all(f(r, v) if callable(f) else r.get(f) == v for f, v in preds))
        coll = st.colls.get((kind.store, parent), EMPTY)
        lag = self.faults['list_lag']
        newest_first = self.faults['newest_first'] and kind.name in NEWEST_FIRST
        if lag > 0 or newest_first:
            views = (st.lagged(kind.store, parent, coll, lag) if lag > 0
                     else [dict(r) for r in coll.after(-1)])
            if newest_first:     # cursor tokens on reversed sequence numbers
                views = [dict(v, _seq=(1 << 40) - v['_seq']) for v in reversed(views)]
            coll = Collection()
            coll.recs = views
        render = (lambda r: self.present(kind, st.render(kind, r)))
        if number_type:
            render = (lambda r: self.typed(route, self.present(kind, st.render(kind, r))))
        return self.page(kind.key, coll, match, query, path, route.host, render)

    def typed(self, route, out, fax=False):
        """A number as the typed paths (IncomingPhoneNumbers/Local.json ...) answer it: the
        fields of their own schema (no `type`); their list examples leave `fax` out of the
        capabilities, their create examples have it (the schema marks capabilities
        @JsonInclude(NON_NULL))."""
        fields = self.typed_fields.setdefault(route.template, list(
            route.ops['GET'].response['properties']))
        out = {k: out[k] for k in fields if k in out} | {
            k: v for k, v in out.items() if k in EXTRA_ITEM_FIELDS}
        return out if fax else no_fax(out)

    def h_instance(self, method, route, pparams, query, p, path, kind, _):
        st = self.state
        parent, sid = pparams.get(kind.parent_param), pparams['Sid']
        if method == 'GET':
            view = st.read(kind, parent, sid, path, pparams, self.faults['fetch_lag'])
            rec = st.recs.get((kind.store, parent, sid))
            if kind.on_fetch and rec is not None:
                kind.on_fetch(st, rec)
                if self.faults['fetch_lag'] <= 0:
                    view = rec
            return self.present(kind, st.render(kind, view))
        rec = st.get(kind, parent, sid, path, pparams)
        if method == 'DELETE':
            st.delete(kind, rec)
            return None
        st.update(kind, rec, p)
        return self.present(kind, st.render(kind, rec))

    def h_content(self, method, route, pparams, query, p, path, kind, _):
        """A Function Version's code (Asset Versions have no such endpoint)."""
        v = self.state.read(kind, pparams['FunctionSid'], pparams['Sid'], path, pparams,
                            self.faults['fetch_lag'])
        return self.extras({'sid': v['sid'], 'account_sid': self.state.account,
                            'service_sid': v['service_sid'], 'function_sid': v['function_sid'],
                            'content': v['_data'].decode('utf-8', 'replace'),
                            'url': route.host + kind.inst.format(**v['_path']) + '/Content'},
                           EXTRA_ITEM_FIELDS)

    def h_build_status(self, method, route, pparams, query, p, path, kind, _):
        st = self.state
        lag = self.faults['fetch_lag']
        b = st.read(kind, pparams['ServiceSid'], pparams['Sid'], path, pparams, lag)
        current = st.recs.get((kind.store, pparams['ServiceSid'], pparams['Sid']))
        if current is not None:
            poll_build(st, current)
            if lag <= 0:
                b = current
        return self.extras({'sid': b['sid'], 'account_sid': st.account,
                            'service_sid': b['service_sid'], 'status': b['status'],
                            'url': route.host + kind.inst.format(**b['_path']) + '/Status'},
                           EXTRA_ITEM_FIELDS)

    def h_recording(self, method, route, pparams, query, p, path, kind, _):
        st = self.state
        if method == 'GET':
            trunk = st.read(KIND['trunk'], None, pparams['TrunkSid'], path, None,
                            self.faults['fetch_lag'])
        else:
            trunk = st.get(KIND['trunk'], None, pparams['TrunkSid'], path)
            trunk['recording'].update((snake(k), v) for k, v in p.items())
            st.save(trunk)
        return self.extras(dict(trunk['recording']), EXTRA_ITEM_FIELDS)

    def render_available(self, number, entry):
        out = dict.fromkeys(self.available_fields)
        out.update(friendly_name=national(number), phone_number=number,
                   iso_country=entry['country'], address_requirements='none', beta=False,
                   capabilities={'voice': True, 'sms': True, 'mms': True})
        return out

    def h_available(self, method, route, pparams, query, p, path, kind, number_type):
        area, contains = query.get('AreaCode', [''])[0], query.get('Contains', [''])[0]
        keypad = str.maketrans('ABCDEFGHIJKLMNOPQRSTUVWXYZ', '22233344455566677778889999')
        rx = re.escape(contains.upper().translate(keypad)).replace(r'\*', r'\d')
        found = (self.render_available(n, e) for n, e in self.state.available.items()
                 if e['country'] == pparams['CountryCode'] and e['type'] == number_type
                 and n.startswith('+1' + area if area else '+') and re.search(rx, n))
        return {'available_phone_numbers': list(islice(found, int(query.get('PageSize', [50])[0]))),
                'uri': path}

    def _country(self, code):
        types = sorted({e['type'] for e in self.state.available.values() if e['country'] == code})
        if not types:
            raise bad(20404, f'The requested resource {A}/AvailablePhoneNumbers/{code}.json '
                             f'was not found', 404)
        base = f'/2010-04-01/Accounts/{self.args.account_sid}/AvailablePhoneNumbers/{code}'
        return {'country_code': code, 'country': COUNTRY_NAMES.get(code, code),
                'uri': base + '.json', 'beta': False,
                'subresource_uris': {snake(t): f'{base}/{t}.json' for t in types}}

    def h_countries(self, method, route, pparams, query, p, path, kind, _):
        codes = dict.fromkeys(e['country'] for e in self.state.available.values())
        return {'countries': [self._country(c) for c in codes], 'uri': path}

    def h_country(self, method, route, pparams, query, p, path, kind, _):
        return self._country(pparams['CountryCode'])

    def h_dependent(self, method, route, pparams, query, p, path, kind, _):
        """The numbers that use an address, as their address_sid or emergency_address_sid."""
        st, sid = self.state, pparams['AddressSid']
        st.get(KIND['address'], None, sid, path)
        coll = st.colls.get((kind.store, None), EMPTY)
        lag = self.faults['list_lag']
        if lag > 0:
            coll, views = Collection(), st.lagged(kind.store, None, coll, lag)
            coll.recs = views
        return self.page('dependent_phone_numbers', coll,
                         lambda r: sid in (r.get('address_sid'), r.get('emergency_address_sid')),
                         query, path, route.host, self.render_dependent)

    def render_dependent(self, rec):
        """A number as DependentPhoneNumbers lists it: its schema's fields; `capabilities` with
        the keys of the spec's example (Voice, SMS, MMS)."""
        full = self.state.render(KIND['incoming_number'], rec)
        out = {k: full.get(k) for k in self.dependent_fields}
        caps = rec.get('capabilities') or {}
        out['capabilities'] = {'Voice': caps.get('voice', False), 'SMS': caps.get('sms', False),
                               'MMS': caps.get('mms', False)}
        return self.extras(out, EXTRA_ITEM_FIELDS)

    # Voice dialing permissions: account settings, not records (README).

    def dialing_country(self, iso, host):
        c, url = DIALING[iso], f'{host}{DP}/Countries/{iso}'
        out = dict(zip(PERMISSION_FLAGS, self.state.permissions[iso]), iso_code=iso,
                   name=c['name'], continent=c['continent'], country_codes=list(c['country_codes']),
                   url=url, links={'highrisk_special_prefixes': url + '/HighRiskSpecialPrefixes'})
        return self.extras({k: out[k] for k in self.country_fields}, EXTRA_ITEM_FIELDS)

    def _dialing_iso(self, pparams, path):
        iso = pparams['IsoCode']
        if iso not in DIALING:
            raise bad(20404, f'The requested resource {path} was not found', 404)
        return iso

    @staticmethod
    def _listing(rows):
        coll = Collection()
        coll.recs = [dict(r, _seq=i + 1, _dead=False) for i, r in enumerate(rows)]
        return coll

    def h_dp_countries(self, method, route, pparams, query, p, path, kind, _):
        perms = self.state.permissions
        tests = {'IsoCode': lambda r, v: r['iso_code'] == v.upper(),
                 'Continent': lambda r, v: r['continent'] == v.strip().upper().replace(' ', '_'),
                 'CountryCode': lambda r, v: '+' + v.strip().lstrip('+') in r['country_codes']}
        for i, name in enumerate(PERMISSION_FLAGS):
            param = ''.join(w.capitalize() for w in name.split('_'))
            tests[param] = (lambda i: lambda r, v: perms[r['iso_code']][i] == (v == 'true'))(i)
        preds = [(tests[k], v[0]) for k, v in query.items() if k in tests]
        if self.country_coll is None:
            self.country_coll = self._listing(DIALING_COUNTRIES)
        return self.page('content', self.country_coll,
                         lambda r: all(f(r, v) for f, v in preds), query, path, route.host,
                         lambda r: self.dialing_country(r['iso_code'], route.host))

    def h_dp_country(self, method, route, pparams, query, p, path, kind, _):
        return self.dialing_country(self._dialing_iso(pparams, path), route.host)

    def h_dp_prefixes(self, method, route, pparams, query, p, path, kind, _):
        iso = self._dialing_iso(pparams, path)
        rows = [{'prefix': x} for x in DIALING[iso]['high_risk_special_prefixes']]
        return self.page('content', self._listing(rows), lambda r: True, query, path,
                         route.host, lambda r: self.extras({'prefix': r['prefix']},
                                                           EXTRA_ITEM_FIELDS))

    def h_dp_bulk(self, method, route, pparams, query, p, path, kind, _):
        changes = parse_update_request(p['UpdateRequest'])
        st, lag = self.state, self.faults['permissions_lag']
        if lag <= 0:
            st.set_permissions(changes)
        else:
            st.permissions_pending.append((time.time() + lag, changes))
            st.permissions_pending.sort(key=lambda x: x[0])
        return self.extras({'update_count': len(changes), 'update_request': 'accepted'},
                           EXTRA_ITEM_FIELDS)

    def h_voice_settings(self, method, route, pparams, query, p, path, kind, _):
        settings = self.state.voice_settings
        if 'DialingPermissionsInheritance' in p:
            settings['dialing_permissions_inheritance'] = p['DialingPermissionsInheritance']
        return self.extras(dict(settings, url=route.host + path), EXTRA_ITEM_FIELDS)

    def page(self, key, coll, match, query, path, host, render):
        """One page of a list, cursor-paged as Twilio does (PageToken PA<seq> / PB<seq>)."""
        size = int(query.get('PageSize', [50])[0])
        page = int(query.get('Page', [0])[0])
        token = query.get('PageToken', [None])[0]
        found = (r for r in coll.after(-1) if match(r))
        if token is None:
            items = list(islice(found, page * size, page * size + size))
        else:
            m = re.fullmatch(r'P([AB])(-?\d+)', token)
            if not m:
                raise bad(21481, f'Invalid PageToken {token!r}')
            seq = int(m[2])
            if m[1] == 'A':
                items = list(islice((r for r in coll.after(seq) if match(r)), size))
            else:
                items = list(islice((r for r in coll.before(seq) if match(r)), size))[::-1]
        if self.faults['short_pages'] and len(items) > 1:
            items = items[:self.rng.randint(1, len(items) - 1)]
        more = bool(items) and any(match(r) for r in coll.after(items[-1]['_seq']))
        filters = [(k, v) for k, vs in query.items() if k not in ('PageSize', 'Page', 'PageToken')
                   for v in vs]

        def link(pg, tok=None):
            q = filters + [('PageSize', size), ('Page', pg)] + ([('PageToken', tok)] if tok else [])
            return (path if path.startswith('/2010-04-01/') else host + path) + '?' + urlencode(q)

        first, current = link(0), link(page, token)
        trailing = self.faults['trailing_empty_page'] and items
        nxt = link(page + 1, f'PA{items[-1]["_seq"]}') if more or trailing else None
        prev = link(page - 1, f'PB{items[0]["_seq"]}') if page > 0 and items else None
        rows = [render(r) for r in items]
        if path.startswith('/2010-04-01/'):
            start = page * size
            return self.extras({key: rows, 'start': start,
                                'end': start + max(len(rows) - 1, 0), 'first_page_uri': first,
                                'next_page_uri': nxt, 'page': page, 'page_size': size,
                                'previous_page_uri': prev, 'uri': current},
                               EXTRA_ENVELOPE_FIELDS)
        meta = self.extras({'page': page, 'page_size': size, 'first_page_url': first,
                            'previous_page_url': prev, 'url': current, 'next_page_url': nxt,
                            'key': key}, EXTRA_META_FIELDS)
        return self.extras({key: rows, 'meta': meta}, EXTRA_ENVELOPE_FIELDS)

    # ----------------------------------------------------------------- control API (/_fake/)

    def control(self, method, path, body, query=None):
        fn = {('GET', '/_fake/log'): lambda d: self.log,
              ('POST', '/_fake/log/clear'): lambda d: self.log.clear(),
              ('GET', '/_fake/violations'): lambda d: self.violations,
              ('GET', '/_fake/stats'): lambda d: dict(self.stats, in_flight=self.in_flight),
              ('GET', '/_fake/faults'): lambda d: self.faults,
              ('POST', '/_fake/faults'): self.c_faults,
              ('GET', '/_fake/state'): self.c_state,
              ('POST', '/_fake/reset'): lambda d: self.reset(),
              ('POST', '/_fake/available_numbers'): self.c_available,
              ('POST', '/_fake/owned_numbers'): self.c_owned,
              ('POST', '/_fake/insert'): self.c_insert,
              ('GET', '/_fake/deployed'): self.c_deployed,
              ('GET', '/_fake/emergency_failures'): self.c_emergency_failures,
              ('POST', '/_fake/emergency_failures'): self.c_emergency_failures,
              ('GET', '/_fake/dialing_permissions'): self.c_dialing_permissions,
              ('POST', '/_fake/dialing_permissions'): self.c_set_dialing_permissions}.get(
                  (method, path))
        if fn is None:
            return 404, {'error': f'no control endpoint {method} {path}'}
        try:
            data = json.loads(body or b'{}')
        except ValueError as e:
            return 400, {'error': f'bad JSON: {e}'}
        if query:
            data = dict(data, **{k: v[-1] for k, v in query.items()})
        try:
            with self.lock:
                out = fn(data)
                return 200, json.loads(json.dumps({} if out is None else out))
        except ApiError as e:
            return e.status, error_body(e.status, e.code, e.message)
        except (KeyError, TypeError, ValueError) as e:
            return 400, {'error': f'bad request: {e!r}'}

    def c_faults(self, data):
        unknown = set(data) - FAULTS.keys() - {'realistic'}
        if unknown:
            raise ValueError(f'unknown fault keys {sorted(unknown)}')
        changes = {k: FAULTS[k](v) for k, v in data.items() if k != 'realistic'}
        if 'realistic' in data:
            on = flag(data['realistic'])
            profile = {k: (v if on else type(v)() if isinstance(v, bool) else 'spec')
                       for k, v in REALISTIC_PROFILE.items()}
            profile.update(list_lag=REALISTIC_LAG if on else 0.0,
                           fetch_lag=REALISTIC_LAG if on else 0.0, realistic=on,
                           **{k: v[on] for k, v in ASYNC_LAGS.items()})
            changes = dict(profile, **changes)
        if any(v < 0 for k, v in changes.items() if k in LAGS):
            raise ValueError('a lag must be >= 0')
        self.faults.update(changes)
        return self.faults

    def c_state(self, data):
        st = self.state
        st.tick()
        out = {k.name: [] for k in KINDS if k.store == k.name}
        for (store, parent, _), rec in st.recs.items():      # in creation order
            row = dict(st.render(KIND[store], rec), parent_sid=parent)
            if rec.get('_em_due') is not None:    # numbers: the status to come, and when
                row.update(emergency_next_status=rec['_em_next'],
                           emergency_due_in=round(rec['_em_due'] - time.time(), 3))
            if 'password' in rec:
                row['password'] = rec['password']
            if '_sha256' in rec:          # versions: the content's digest, never its bytes
                row.update(sha256=rec['_sha256'], size=rec['_size'],
                           content_type=rec['_content_type'], filename=rec['_filename'])
            if '_outcome' in rec:         # builds: why they fail (the API never says)
                row.update(fail_reason=rec['_fail_reason'], polls_left=rec['_polls'])
            out[store].append(row)
        out['available_numbers'] = [dict(e, phone_number=n) for n, e in st.available.items()]
        out['dialing_permissions'] = self.dialing_permissions(enabled_only=True)
        return out

    def dialing_permissions(self, enabled_only=False):
        st, now = self.state, time.time()
        return {'countries': {iso: dict(zip(PERMISSION_FLAGS, flags))
                              for iso, flags in st.permissions.items()
                              if any(flags) or not enabled_only},
                'dialing_permissions_inheritance':
                    st.voice_settings['dialing_permissions_inheritance'],
                'pending': [{'due_in': round(due - now, 3), 'countries': changes}
                            for due, changes in st.permissions_pending]}

    def c_dialing_permissions(self, data):
        """GET /_fake/dialing_permissions: every country's permissions, the inheritance
        setting and the bulk updates not yet applied."""
        self.state.tick()
        return self.dialing_permissions()

    def c_set_dialing_permissions(self, data):
        """POST /_fake/dialing_permissions {"defaults": true, "countries": {"GB":
        {"low_risk_numbers_enabled": true, ...}}, "dialing_permissions_inheritance": false}:
        set at once (no lag); "defaults" first puts every country back to a new account's."""
        st = self.state
        unknown = set(data) - {'defaults', 'countries', 'dialing_permissions_inheritance'}
        if unknown:
            raise ValueError(f'unknown keys {sorted(unknown)}')
        changes = {}
        for iso, flags in data.get('countries', {}).items():
            if iso not in DIALING:
                raise ValueError(f'unknown country {iso!r}')
            if set(flags) - set(PERMISSION_FLAGS) or not all(
                    isinstance(v, bool) for v in flags.values()):
                raise ValueError(f'{iso}: flags are {", ".join(PERMISSION_FLAGS)}, booleans')
            changes[iso] = flags
        inherit = data.get('dialing_permissions_inheritance')
        if inherit is not None and not isinstance(inherit, bool):
            raise ValueError('dialing_permissions_inheritance must be a boolean')
        st.tick()
        if data.get('defaults'):
            st.permissions = {iso: list(DEFAULT_PERMISSIONS.get(iso, (False, False, False)))
                              for iso in DIALING}
            st.permissions_pending.clear()
        st.set_permissions(changes)
        if inherit is not None:
            st.voice_settings['dialing_permissions_inheritance'] = inherit
        return self.dialing_permissions()

    def c_emergency_failures(self, data):
        """POST /_fake/emergency_failures {"numbers": ["+1...", "PN..."], "status":
        "registration-failure" | "unregistration-failure"}: the next emergency address
        registration (unregistration) of each number ends in that status.  GET lists them."""
        st = self.state
        if 'numbers' in data:
            status = data.get('status', 'registration-failure')
            if status not in ('registration-failure', 'unregistration-failure'):
                raise ValueError('status must be registration-failure or unregistration-failure')
            for n in data['numbers']:
                rec = st.by_sid.get(n) if not n.startswith('+') else None
                if not E164_RE.fullmatch(n) and (rec is None or 'phone_number' not in rec):
                    raise ValueError(f'{n!r} is neither an E.164 number nor a number SID of '
                                     f'this account')
                st.em_failures[(rec['phone_number'] if rec else n, status.split('-')[0])] = status
        return {'failures': [{'phone_number': n, 'status': s}
                             for (n, _), s in sorted(st.em_failures.items())]}

    def c_deployed(self, data):
        """What an environment serves: GET /_fake/deployed?service=NAME&environment=NAME (unique
        names or SIDs)."""
        st = self.state
        service = next((s for s in st.live('service', None)
                        if data['service'] in (s['sid'], s['unique_name'])), None)
        env = service and next((e for e in st.live('environment', service['sid'])
                                if data['environment'] in (e['sid'], e['unique_name'])), None)
        if env is None:
            raise bad(20404, f'no environment {data["environment"]!r} in service '
                             f'{data["service"]!r}', 404)
        build = env['build_sid'] and st.recs.get(('build', service['sid'], env['build_sid']))
        return {'domain_name': env['domain_name'], 'build_sid': env['build_sid'],
                'functions': {v['path']: {'visibility': v['visibility'], 'sha256': v['_sha256'],
                                          'content': v['_data'].decode('utf-8', 'replace')}
                              for v in (build['_functions'] if build else ())},
                'assets': {v['path']: {'visibility': v['visibility'], 'sha256': v['_sha256']}
                           for v in (build['_assets'] if build else ())},
                'dependencies': build['dependencies'] if build else [],
                'runtime': build['runtime'] if build else None}

    def serve_deployed(self, h, method, host, path):
        """GET https://<an environment's domain_name><path>: the bytes of a public Asset of the build
        the environment runs (twilio.com/docs/serverless/functions-assets/visibility: "a public
        Asset called ahoy.mp3 ... would be accessible by anyone from
        https://example-1234.twil.io/ahoy.mp3").  Anything else answers 404: running a Function,
        and protected (X-Twilio-Signature) or private Assets, are not modelled."""
        entry = {'method': method, 'host': host, 'path': path, 'query': {}, 'form': {}, 'files': {},
                 'status': 404, 't_start': time.time(), 't_end': None, 'dropped': False}
        data, ctype = None, None
        with self.lock:
            st = self.state
            env = next((e for (store, _, _), e in st.recs.items()
                        if store == 'environment' and not e.get('_dead')
                        and e['domain_name'].lower() == host), None)
            build = env and env['build_sid'] and st.recs.get(('build', env['_parent'], env['build_sid']))
            asset = build and next((v for v in build['_assets'] if v['path'] == path), None)
            if method == 'GET' and asset and asset['visibility'] == 'public':
                data, ctype = asset['_data'], asset['_content_type'] or 'application/octet-stream'
                entry['status'] = 200
            entry['t_end'] = time.time()
            self.log.append(entry)
        if data is None:
            h.send_response(404)
            h.send_header('Content-Type', 'text/plain')
            h.send_header('Content-Length', '10')
            h.end_headers()
            h.wfile.write(b'Not found\n')
            return
        h.send_response(200)
        h.send_header('Content-Type', ctype)
        h.send_header('Content-Length', str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def c_available(self, data):
        country, number_type = data.get('country', 'US'), data.get('type', 'Local')
        if number_type not in NUMBER_TYPES:
            raise ValueError(f'type must be one of {sorted(NUMBER_TYPES)}')
        for n in data['numbers']:
            if not E164_RE.fullmatch(n):
                raise ValueError(f'{n!r} is not an E.164 number')
            self.state.available[n] = {'country': country, 'type': number_type}
        return {'available': len(self.state.available)}

    def c_owned(self, data):
        kind = KIND['incoming_number']
        path = {'AccountSid': self.args.account_sid}
        return [self.state.render(kind, self.state.create(
            kind, path, {'PhoneNumber': n}, force=True, number_type=data.get('type', 'Local'),
            backdate=True)) for n in data['numbers']]

    def c_insert(self, data):
        path = data['path'].replace('{AccountSid}', self.args.account_sid)
        route, pparams = self.spec.match(path)
        handler = route and self.handlers.get(route.template)
        if not handler or handler[0] != self.h_collection:
            raise ValueError(f'{path} is not a collection of a modelled resource')
        form = {k: [str(x).lower() if isinstance(x, bool) else str(x)
                    for x in (v if isinstance(v, list) else [v])]
                for k, v in data.get('params', {}).items()}
        if 'POST' not in route.ops:      # Logs: written by running functions, not the API
            return self._insert_log(route, pparams, form, handler[1])
        v = self.spec.check(route, 'POST', pparams, {}, form,
                            'application/x-www-form-urlencoded', False)
        if v:
            raise bad(20001, VIOLATION + '; '.join(v))
        kind = handler[1]
        return self.state.render(kind, self.state.create(
            kind, pparams, convert(route.ops['POST'], form), force=True, number_type=handler[2],
            backdate=True))


    def _insert_log(self, route, pparams, form, kind):
        """A Serverless Log record (what a running function would write): params FunctionSid,
        Message, Level (info|warn|error), RequestSid; the environment's build and deployment."""
        if kind.name != 'log':
            raise ValueError(f'{route.template} takes no POST')
        allowed = {'FunctionSid', 'Message', 'Level', 'RequestSid'}
        if set(form) - allowed:
            raise ValueError(f'a log takes only {sorted(allowed)}')
        p = {k: v[0] for k, v in form.items()}
        if p.get('Level', 'info') not in ('info', 'warn', 'error'):
            raise ValueError('Level must be info, warn or error')
        st = self.state
        env = st.get(KIND['environment'], pparams['ServiceSid'], pparams['EnvironmentSid'],
                     route.template)
        last = next(st.colls.get(('deployment', env['sid']), EMPTY).before(1 << 62), None)
        p.setdefault('Level', 'info')
        p.update(BuildSid=env['build_sid'], DeploymentSid=last and last['sid'])
        return st.render(kind, st.create(kind, pparams, p, force=True, backdate=True))


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'fake-twilio/1'

    def setup(self):
        super().setup()      # small writes must not wait for delayed ACKs (Nagle)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass    # a client that went away (killed, its connection dropped, our certificate refused)

    def do_GET(self):
        fake = self.server.fake
        url = urlsplit(self.path)
        try:
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        except ValueError:
            self.reply(400, {'error': 'bad Content-Length'})
            return
        host = (self.headers.get('Host') or '').rsplit(':', 1)[0].lower()
        if host.endswith('.twil.io'):
            fake.serve_deployed(self, self.command, host, unquote(url.path))
        elif url.path.startswith('/_fake/'):
            self.reply(*fake.control(self.command, url.path, body, parse_qs(url.query)))
        else:
            fake.serve_api(self, self.command, url.path,
                           parse_qs(url.query, keep_blank_values=True), body)

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def reply(self, status, payload, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        data = b''
        if status != 204:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_header('Content-Type', 'application/json; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
        # end_headers() and then the body, in one write: one send, one packet
        self._headers_buffer.append(b'\r\n' + data)
        self.flush_headers()

    def log_message(self, fmt, *args):
        if not self.server.fake.args.quiet:
            sys.stderr.write('fake twilio: %s %s\n' % (self.address_string(), fmt % args))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description='Stateful fake of the Twilio REST API.')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0, help='0 picks a free port')
    ap.add_argument('--port-file', help='write the port here once listening')
    ap.add_argument('--account-sid', default=DEFAULT_ACCOUNT_SID)
    ap.add_argument('--auth-token', default=DEFAULT_AUTH_TOKEN)
    ap.add_argument('--api-key', default=DEFAULT_API_KEY, help='empty string: no API key')
    ap.add_argument('--api-secret', default=DEFAULT_API_SECRET)
    ap.add_argument('--latency-ms', type=int, default=0,
                    help='answer N ms after a request came in (the processing counts toward it)')
    ap.add_argument('--rate-429', type=float, default=0.0)
    ap.add_argument('--rate-retry-after', type=float, default=0.0)
    ap.add_argument('--rate-500', type=float, default=0.0)
    ap.add_argument('--rate-drop', type=float, default=0.0)
    ap.add_argument('--rate-drop-after', type=float, default=0.0)
    ap.add_argument('--concurrency', type=int, default=0, help='0: unlimited')
    ap.add_argument('--concurrency-retry-after', type=int, default=0, metavar='SECONDS',
                    help="the concurrency limit's 429s carry Retry-After: SECONDS (0: none, as Twilio's)")
    ap.add_argument('--fail-all-status', type=int, default=0)
    ap.add_argument('--build-polls', type=int, default=2,
                    help='reads of a new Serverless build that still answer "building"')
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--no-limits', action='store_true',
                    help="don't enforce Twilio's per-account and per-list maximums")
    ap.add_argument('--tls-cert')
    ap.add_argument('--tls-key')
    ap.add_argument('--quiet', action='store_true', help='no per-request log on stderr')
    # realistic behaviour (README "Realistic behaviour")
    ap.add_argument('--list-lag', type=float, default=None, metavar='SECONDS',
                    help='lists show the account as it was SECONDS ago (default 0; 3 with '
                         '--realistic)')
    ap.add_argument('--fetch-lag', type=float, default=None, metavar='SECONDS',
                    help='GET of one record shows it as it was SECONDS ago (default 0; 3 with '
                         '--realistic)')
    ap.add_argument('--emergency-lag', type=float, default=None, metavar='SECONDS',
                    help="a number's emergency address (un)registration completes SECONDS after "
                         'the update (default 1; 5 with --realistic; 0: at once)')
    ap.add_argument('--permissions-lag', type=float, default=None, metavar='SECONDS',
                    help='a BulkCountryUpdates request applies SECONDS after it was accepted '
                         '(default 0; 3 with --realistic)')
    ap.add_argument('--build-visibility', choices=('upper', 'lower'), default='upper',
                    help="case of visibility in a Build's version arrays (default: the spec's)")
    ap.add_argument('--shuffle-versions', action='store_true',
                    help="a Build's version arrays in random order on every read")
    ap.add_argument('--omit-receive-mode', action='store_true',
                    help='IncomingPhoneNumbers answers leave out voice_receive_mode')
    ap.add_argument('--purchase-ignores-receive-mode', action='store_true',
                    help='a purchase ignores VoiceReceiveMode (an update honours it)')
    ap.add_argument('--unset', choices=('spec', 'null', 'empty', 'mixed'), default='spec',
                    help='unset optional strings: as the spec examples (default), null, "" or '
                         'either at random')
    ap.add_argument('--extra-fields', action='store_true',
                    help='answers carry keys that are in no spec')
    ap.add_argument('--short-pages', action='store_true',
                    help='list pages hold fewer items than PageSize, the next link leads on')
    ap.add_argument('--newest-first', action='store_true',
                    help='Function Versions, Asset Versions and Deployments listed latest first')
    ap.add_argument('--trailing-empty-page', action='store_true',
                    help="a list's last page links to one more, empty page")
    ap.add_argument('--realistic', action='store_true',
                    help='all of the above (lags 3 s unless given; build visibility as given)')
    args = ap.parse_args(argv)
    for name in LAGS:
        if getattr(args, name) is None:
            setattr(args, name, ASYNC_LAGS[name][args.realistic] if name in ASYNC_LAGS
                    else REALISTIC_LAG if args.realistic else 0.0)
        if getattr(args, name) < 0:
            ap.error(f'--{name.replace("_", "-")} must be >= 0')
    if args.realistic:
        for name, value in REALISTIC_PROFILE.items():
            if getattr(args, name) in (False, 'spec'):
                setattr(args, name, value)
    if not re.fullmatch(r'AC[0-9a-fA-F]{32}', args.account_sid):
        ap.error('--account-sid must be AC followed by 32 hex digits')
    return args


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # socketserver's default listen backlog is 5: more simultaneous connects
    # than that get their SYN dropped and retried by the client a second later
    ThreadingHTTPServer.request_queue_size = 1024
    # one thread per connection, under one GIL: a thread rendering a long list
    # page would hold the others (accepting a connection, starting a thread) for
    # the default 5 ms slices; short slices keep new connections flowing
    sys.setswitchinterval(0.0005)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.fake = Fake(args)
    scheme = 'http'
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        scheme = 'https'
    host, port = server.server_address[:2]
    print(f'listening on {scheme}://{host}:{port}', flush=True)
    if args.port_file:
        with open(args.port_file + '.tmp', 'w') as f:
            f.write(f'{port}\n')
        os.replace(args.port_file + '.tmp', args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
