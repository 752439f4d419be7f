"""Conformance of the fake's answers to the examples in Twilio's OpenAPI specs (spec/).

python3 -m unittest -v test_conformance

For every operation the fake serves (every path template of Fake.handlers x every method the
spec gives it) whose success response has `examples` in the spec, the test sets up the state
the example needs (a list with one item for `readFull`, an empty list for `readEmpty`, a
created / fetched / updated record for `create` / `fetch` / `update`), makes the real request
to a running fake and compares the answer with the example:

- keys: every key of the example must be in the answer; a key of the answer that the example
  lacks fails, unless it is one the fake adds on purpose, listed in the README and allowed
  below (only under the realistic switches: --extra-fields; --omit-receive-mode is the one
  documented missing key). Nested objects (subresource_uris, links, capabilities, recording,
  meta, the items of arrays such as a Build's function_versions) are compared the same way,
  recursively; an array's items are compared with the example's first item.
- types, with this rule for null: the answer may be null where the example has a value only if
  the spec's schema of that property says `nullable: true` (the example shows one state of
  the record, the schema says which fields may be unset); where the example is null, the
  answer may be null or a value of the schema's `type`; otherwise the answer has the
  example's JSON type (bool, integer, number, string, array, object; bool is not a number).
  The empty string counts as unset like null (the examples show "" for unset strings, e.g. a
  number's `sms_url`), so it too needs `nullable` where the example has a value.
- enum casing: for a property with an `enum` in the schema the answer must be one of its
  values; for a property whose example value is an enum-like word (letters, `_`, `-`, `,`)
  that is not free text (names, paths, keys...), the answer must be in the example's case
  (upper-case example -> upper-case answer, lower-case -> lower-case).
- shapes: a SID in the example (two capitals + 32 hex) needs a SID with the same prefix; an
  RFC 2822 / ISO 8601 date needs the same format; `uri`/`url`, the page links of envelopes and
  meta and the members of `links`/`subresource_uris` need the example's form (relative
  `/2010-04-01/...` or absolute on the same `https://host/`) and at least the example's query
  parameter names.
- coverage: the test fails if an operation the fake serves has an example that no case here
  exercises, and prints how many operations and examples it covered.

It runs on the default profile (ConformanceTest) and again under --realistic
(RealisticConformanceTest, with the lags set to 0 so that reads see the writes at once: the
lags are tested in test_realistic.py).
"""

import json
import os
import re
import sys
import unittest
from urllib.parse import parse_qsl, urlencode, urlsplit

from fakeclient import FakeTwilio, HERE
import fake_twilio as ft

A = '/2010-04-01/Accounts/{AccountSid}'
SID_RE = re.compile(r'([A-Z]{2})[0-9a-fA-F]{32}')
RFC2822_RE = re.compile(r'[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}')
ISO_RE = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
ENUM_WORD_RE = re.compile(r'[A-Za-z]+(?:[_,-][A-Za-z]+)*')
FREE_TEXT = {'friendly_name', 'unique_name', 'key', 'value', 'username', 'path', 'message',
             'content', 'domain_suffix', 'domain_base', 'domain_name', 'name', 'version',
             'locality', 'region', 'rate_center', 'postal_code', 'lata', 'iso_country',
             'phone_number', 'sip_url', 'target', 'ip_address', 'origin', 'country',
             'country_code', 'city', 'customer_name'}
LINK_KEYS = {'url', 'uri', 'first_page_uri', 'next_page_uri', 'previous_page_uri',
             'first_page_url', 'next_page_url', 'previous_page_url'}
PASSWORD = 'IWasAtSignal2018'
SENT = [None]       # the query parameter names of the list request being compared
TYPES = {bool: 'boolean', int: 'integer', float: 'number', str: 'string', list: 'array',
         dict: 'object'}


def jtype(v):
    return TYPES[type(v)]


def load_docs():
    docs = {}
    for name in ft.SPEC_FILES:
        with open(os.path.join(HERE, 'spec', name), encoding='utf-8') as f:
            docs[name] = json.load(f)
    return docs


def resolver(doc):
    def resolve(s):
        while isinstance(s, dict) and '$ref' in s:
            node = doc
            for part in s['$ref'][2:].split('/'):
                node = node[part]
            s = node
        return s if isinstance(s, dict) else {}
    return resolve


def served_examples():
    """(template, method, example name, example value, response schema, resolve) for every
    operation the fake serves that has examples, and the set of those operations."""
    fake = ft.Fake(ft.parse_args([]))
    docs, out = load_docs(), []
    for template in fake.handlers:
        for doc in docs.values():
            item = doc['paths'].get(template)
            if not item:
                continue
            resolve = resolver(doc)
            for method, op in item.items():
                if method not in ('get', 'post', 'delete'):
                    continue
                for status, resp in op.get('responses', {}).items():
                    content = resp.get('content', {}).get('application/json', {})
                    for name, ex in (content.get('examples') or {}).items():
                        out.append((template, method.upper(), name, ex['value'],
                                    resolve(content['schema']), resolve))
    return out


def compare(ex, got, schema, resolve, where, errors, extras=frozenset(), missing=frozenset(),
            key=None, link=False):
    """Append to errors every way got differs from the example ex (rules: module docstring)."""
    schema = resolve(schema or {})
    nullable = bool(schema.get('nullable'))
    if got is None or got == '' and ex != '' and isinstance(ex, str):
        # null, or "" (the examples themselves show "" for unset strings: sms_url, ...)
        if ex is not None and not nullable:
            errors.append(f'{where}: {got!r}, the example has {ex!r} and the schema is not '
                          f'nullable')
        return
    if ex is None:
        want = schema.get('type')
        if want and jtype(got) != want and not (want == 'number' and isinstance(got, int)
                                                and not isinstance(got, bool)):
            errors.append(f'{where}: {jtype(got)} {got!r}, the schema says {want}')
        return
    if jtype(ex) != jtype(got) and not (jtype(ex) in ('integer', 'number') and
                                        jtype(got) in ('integer', 'number')):
        errors.append(f'{where}: {jtype(got)} {got!r}, the example has {jtype(ex)} {ex!r}')
        return
    if isinstance(ex, dict):
        props = schema.get('properties', {})
        for k in ex:
            if k not in got:
                if k not in missing:
                    errors.append(f'{where}: key {k!r} of the example is missing')
                continue
            compare(ex[k], got[k], props.get(k), resolve, f'{where}.{k}', errors, extras,
                    missing, k, link=k in LINK_KEYS or key in ('links', 'subresource_uris'))
        for k in got:
            if k not in ex and k not in extras:
                errors.append(f'{where}: key {k!r} is not in the example')
    elif isinstance(ex, list):
        if ex and got:
            items = schema.get('items')
            for i, g in enumerate(got):
                compare(ex[0], g, items, resolve, f'{where}[{i}]', errors, extras, missing, key)
    elif isinstance(ex, str):
        enum = schema.get('enum')
        if enum and got not in enum:
            errors.append(f'{where}: {got!r} is not one of the enum {enum}')
        if enum or (ENUM_WORD_RE.fullmatch(ex) and key not in FREE_TEXT):
            if ex.isupper() and got != got.upper():
                errors.append(f'{where}: {got!r} is not upper case as the example {ex!r}')
            elif ex.islower() and got != got.lower():
                errors.append(f'{where}: {got!r} is not lower case as the example {ex!r}')
        m = SID_RE.fullmatch(ex)
        if m and not (SID_RE.fullmatch(got) and got[:2] == m[1]):
            errors.append(f'{where}: {got!r} is not a {m[1]} SID as the example {ex!r}')
        for rx, label in ((RFC2822_RE, 'RFC 2822'), (ISO_RE, 'ISO 8601')):
            if rx.fullmatch(ex) and not rx.fullmatch(got):
                errors.append(f'{where}: {got!r} is not an {label} date as the example {ex!r}')
        if link:
            check_link(ex, got, where, errors, SENT[0])


def check_link(ex, got, where, errors, sent=None):
    if ex.startswith('/'):
        if not got.startswith('/' + ex.split('/')[1] + '/'):
            errors.append(f'{where}: {got!r} is not relative as the example {ex!r}')
    else:
        m = re.match(r'https?://[^/]+/', ex)
        if m and not got.startswith(m[0]):
            errors.append(f'{where}: {got!r} is not on {m[0]} as the example {ex!r}')
    want = {p.split('=')[0] for p in ex.partition('?')[2].split('&') if p}
    if sent is not None:      # the filters the example's request had and this one did not
        want &= sent | {'PageSize', 'Page'}
    have = {p.split('=')[0] for p in got.partition('?')[2].split('&') if p}
    if want - have:
        errors.append(f'{where}: {got!r} lacks the query parameters {sorted(want - have)} of '
                      f'the example {ex!r}')


# --------------------------------------------------------------------------- state set-up

class Setup:
    """Builds, on a freshly reset fake, the records an example needs."""

    def __init__(self, fake, case):
        self.fake, self.case, self.made, self.n = fake, case, {}, 0

    def post(self, path, params, status=201):
        got, body = self.fake.api('POST', path, params)
        self.case.assertEqual(got, status, (path, params, body))
        return body

    def uniq(self):
        self.n += 1
        return self.n

    def number(self, type='Local'):
        n = self.uniq()
        start = {'Local': '+1650555', 'Mobile': '+1650666', 'TollFree': '+1800555'}[type]
        number = f'{start}{n:04d}'
        self.fake.seed_available([number], type=type)
        return number

    def pp(self, kind_name):
        """Path parameters of an instance of the kind (its Sid and its ancestors'), made on
        first use with every optional field that the fake can fill set."""
        if kind_name in self.made:
            return self.made[kind_name]
        kind = ft.KIND[kind_name]
        parent = {}
        if kind.parent:
            ppp = self.pp(kind.parent)
            parent = {k: v for k, v in ppp.items() if k != 'Sid'}
            parent[kind.parent_param] = ppp['Sid']
        rec = self.create(kind_name, parent)
        self.made[kind_name] = dict(parent, Sid=rec['sid'])
        return self.made[kind_name]

    def coll_path(self, kind_name, template=None):
        kind = ft.KIND[kind_name]
        parent = {}
        if kind.parent:
            ppp = self.pp(kind.parent)
            parent = {k: v for k, v in ppp.items() if k != 'Sid'}
            parent[kind.parent_param] = ppp['Sid']
        return (template or kind.coll).replace('{AccountSid}', self.fake.account_sid) \
            .format(**parent), parent

    def params(self, kind_name):
        n = self.uniq()
        url = f'https://example.com/{kind_name}/{n}'
        p = {
            'sip_domain': lambda: dict(
                DomainName=f'office{n}.sip.twilio.com', FriendlyName='Scranton Office',
                VoiceUrl=url, VoiceMethod='POST', VoiceFallbackUrl=url + '/fb',
                VoiceFallbackMethod='GET', VoiceStatusCallbackUrl=url + '/st',
                VoiceStatusCallbackMethod='POST', SipRegistration=True,
                EmergencyCallingEnabled=True, Secure=True,
                ByocTrunkSid=self.pp('byoc_trunk')['Sid'],
                EmergencyCallerSid=self.pp('incoming_number')['Sid']),
            'credential_list': lambda: dict(FriendlyName=f'list{n}'),
            'address': lambda: dict(
                CustomerName='name', FriendlyName='Main Office', Street='4th St',
                StreetSecondary='Suite 300', City='San Francisco', Region='CA',
                PostalCode='94019', IsoCountry='US', EmergencyEnabled=True,
                AutoCorrectAddress=False),
            'credential': lambda: dict(Username=f'user{n}', Password=PASSWORD),
            'ip_acl': lambda: dict(FriendlyName=f'acl{n}'),
            'ip_address': lambda: dict(FriendlyName=f'ip{n}', IpAddress='192.0.2.10',
                                       CidrPrefixLength=32),
            'calls_cl': lambda: dict(CredentialListSid=self.pp('credential_list')['Sid']),
            'legacy_cl': lambda: dict(CredentialListSid=self.pp('credential_list')['Sid']),
            'registrations_cl': lambda: dict(
                CredentialListSid=self.pp('credential_list')['Sid']),
            'calls_al': lambda: dict(IpAccessControlListSid=self.pp('ip_acl')['Sid']),
            'legacy_al': lambda: dict(IpAccessControlListSid=self.pp('ip_acl')['Sid']),
            'incoming_number': lambda: dict(
                PhoneNumber=self.number(), FriendlyName=f'number {n}', VoiceUrl=url,
                VoiceMethod='POST', VoiceFallbackUrl=url + '/fb', VoiceFallbackMethod='POST',
                StatusCallback=url + '/st', StatusCallbackMethod='POST', SmsUrl=url + '/sms',
                SmsMethod='POST', SmsFallbackUrl=url + '/smsfb', SmsFallbackMethod='POST',
                VoiceCallerIdLookup=False, VoiceReceiveMode='voice'),
            'application': lambda: dict(
                FriendlyName=f'app{n}', VoiceUrl=url, VoiceMethod='POST',
                VoiceFallbackUrl=url + '/fb', VoiceFallbackMethod='POST',
                StatusCallback=url + '/st', StatusCallbackMethod='POST', SmsUrl=url + '/sms',
                SmsMethod='POST', SmsFallbackUrl=url + '/smsfb', SmsFallbackMethod='POST',
                SmsStatusCallback=url + '/smsst', MessageStatusCallback=url + '/msgst',
                VoiceCallerIdLookup=False, PublicApplicationConnectEnabled=True),
            'byoc_trunk': lambda: dict(
                FriendlyName=f'byoc{n}', VoiceUrl=url, VoiceMethod='POST',
                VoiceFallbackUrl=url + '/fb', VoiceFallbackMethod='POST',
                StatusCallbackUrl=url + '/st', StatusCallbackMethod='POST',
                CnamLookupEnabled=True, ConnectionPolicySid=self.pp('connection_policy')['Sid']),
            'connection_policy': lambda: dict(FriendlyName=f'policy{n}'),
            'target': lambda: dict(Target=f'sip:pbx{n}@example.com', FriendlyName=f't{n}',
                                   Priority=1, Weight=2, Enabled=True),
            'trunk': lambda: dict(FriendlyName=f'trunk{n}', DomainName=f'trunk{n}.pstn.twilio.com',
                                  DisasterRecoveryUrl=url, DisasterRecoveryMethod='POST',
                                  TransferMode='enable-all', Secure=True,
                                  CnamLookupEnabled=True, TransferCallerId='from-transferor'),
            'origination_url': lambda: dict(SipUrl=f'sip:pbx{n}@example.com', FriendlyName=f'o{n}',
                                            Priority=1, Weight=2, Enabled=True),
            'trunk_cl': lambda: dict(CredentialListSid=self.pp('credential_list')['Sid']),
            'trunk_al': lambda: dict(IpAccessControlListSid=self.pp('ip_acl')['Sid']),
            'trunk_pn': lambda: dict(PhoneNumberSid=self.pp('incoming_number')['Sid']),
            'service': lambda: dict(UniqueName=f'svc{n}', FriendlyName=f'service {n}',
                                    IncludeCredentials=True, UiEditable=False),
            'environment': lambda: dict(UniqueName=f'env{n}', DomainSuffix=f'e{n}'),
            'variable': lambda: dict(Key=f'KEY{n}', Value='value'),
            'function': lambda: dict(FriendlyName=f'function {n}'),
            'asset': lambda: dict(FriendlyName=f'asset {n}'),
            'build': lambda: dict(FunctionVersions=[self.pp('function_version')['Sid']],
                                  AssetVersions=[self.pp('asset_version')['Sid']],
                                  Dependencies='[{"name": "twilio", "version": "3.29.2"}]',
                                  Runtime='node22'),
            'deployment': lambda: dict(BuildSid=self.completed_build()),
        }[kind_name]
        return p()

    def completed_build(self):
        pp = self.pp('build')
        path = f'/v1/Services/{pp["ServiceSid"]}/Builds/{pp["Sid"]}/Status'
        for _ in range(20):
            got, body = self.fake.api('GET', path)
            if body['status'] == 'completed':
                return pp['Sid']
        self.case.fail(f'build {pp["Sid"]} never completed')

    def create(self, kind_name, parent, template=None, params=None):
        kind = ft.KIND[kind_name]
        if kind_name in ('function_version', 'asset_version'):
            owner = 'Functions/' + parent['FunctionSid'] if kind_name == 'function_version' \
                else 'Assets/' + parent['AssetSid']
            n = self.uniq()
            got, body = self.fake.upload(parent['ServiceSid'], owner, f'/path{n}',
                                         'exports.handler = (c, e, cb) => cb(null, "hi");\n',
                                         visibility='public', filename=f'f{n}.js')
            self.case.assertEqual(got, 201, body)
            return body
        if kind_name == 'log':
            return self.fake.insert(kind.coll.format(**parent), {
                'FunctionSid': self.pp('function')['Sid'], 'Message': 'hello',
                'Level': 'info', 'RequestSid': 'RQ' + 'c' * 32})
        path = (template or kind.coll).replace('{AccountSid}', self.fake.account_sid) \
            .format(**parent)
        return self.post(path, params if params is not None else self.params(kind_name))


UPDATES = {'credential': {'Password': 'IWasAtSignal2019'}, 'variable': {'Value': 'other'},
           'service': {'FriendlyName': 'renamed'}}


class ConformanceTest(unittest.TestCase):
    options = {'seed': 3}
    extras = frozenset()
    missing = frozenset()

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeTwilio(**cls.options).start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def run_example(self, template, method, name, kind_name, extra, value):
        """Set up, request; returns the answer."""
        fake, st = self.fake, Setup(self.fake, self)
        fake.reset()
        acct = fake.account_sid
        if extra == 'available':
            kind_type = template.rsplit('/', 1)[1][:-5]
            if name == 'readFull':
                fake.seed_available(['+16505550199'], country='US', type=kind_type)
            return fake.api('GET', template.replace('{AccountSid}', acct)
                            .replace('{CountryCode}', 'US'))
        if extra == 'countries':      # the example's country has local and toll-free numbers
            if name != 'readEmpty':
                fake.seed_available(['+16505550199'], country='US', type='Local')
                fake.seed_available(['+18005550199'], country='US', type='TollFree')
            return fake.api('GET', template.replace('{AccountSid}', acct)
                            .replace('{CountryCode}', 'US'))
        if extra == 'recording':
            pp = st.pp('trunk')
            path = template.format(TrunkSid=pp['Sid'])
            if method == 'POST':
                return fake.api('POST', path, {'Mode': 'record-from-answer', 'Trim': 'trim-silence'})
            return fake.api('GET', path)
        if extra in ('content', 'status'):
            pp = st.pp('function_version' if extra == 'content' else 'build')
            return fake.api('GET', template.format(**pp))
        if extra == 'dependent':      # a number linked to the address by both SIDs
            ad = st.pp('address')['Sid']
            if name == 'readFull':
                num = st.pp('incoming_number')['Sid']
                st.post(f'{A}/IncomingPhoneNumbers/{num}.json'.replace('{AccountSid}', acct),
                        {'AddressSid': ad, 'EmergencyAddressSid': ad}, 200)
            return fake.api('GET', template.replace('{AccountSid}', acct)
                            .format(AddressSid=ad))
        if extra == 'dialing':        # US (the examples' country), LV for its prefixes
            query = self.example_query(value) if 'meta' in value else []
            SENT[0] = {k for k, v in query}
            path = template.replace('{IsoCode}', 'LV' if 'Prefixes' in template else 'US')
            return fake.api('GET', path + ('?' + urlencode(query) if query else ''))
        if extra == 'bulk':           # the spec's request example, in its own spelling
            return fake.api('POST', template, {'UpdateRequest': (
                '[ { "iso_code": "GB", "low_risk_numbers": "Enabled", "high_risk_special_numbers"'
                ':"Enabled", "high_risk_irsf_numbers": "Enabled" } ]')})
        if extra == 'settings':
            return fake.api(method, template, {'DialingPermissionsInheritance': True}
                            if method == 'POST' else None)
        kind = ft.KIND[kind_name]
        number_type = extra
        if template == kind.inst:
            pp = st.pp(kind_name)
            path = template.replace('{AccountSid}', acct).format(**pp)
            if method == 'POST':
                params = UPDATES.get(kind_name, {'FriendlyName': 'renamed'})
                return fake.api('POST', path, params)
            return fake.api('GET', path)
        # a collection: list or create
        path, parent = st.coll_path(kind_name, template)
        query = self.example_query(value) if method == 'GET' else []
        if name == 'readFull':    # only filters that a record made here can match
            query = [(k, v) for k, v in query if k in ('PageSize', 'FriendlyName', 'PhoneNumber',
                                                       'CustomerName', 'IsoCountry')]
        SENT[0] = {k for k, v in query}
        filters = dict(query)
        if method == 'POST':
            params = None
            if number_type:
                params = dict(st.params(kind_name), PhoneNumber=st.number(number_type))
            if kind_name in ('function_version', 'asset_version', 'log'):
                self.fail(f'{template}: create of {kind_name} has no example case')
            return (201, st.create(kind_name, parent, template, params))
        if name == 'readFull':
            params = st.params(kind_name)
            if number_type or kind_name == 'incoming_number':
                number = filters.get('PhoneNumber')
                if number:
                    fake.seed_available([number], type=number_type or 'Local')
                params['PhoneNumber'] = number or st.number(number_type or 'Local')
            for k in ('FriendlyName', 'CustomerName', 'IsoCountry'):
                if k in filters:
                    params[k] = filters[k]
            st.create(kind_name, parent, template, params)
        return fake.api('GET', path + ('?' + urlencode(query) if query else ''))

    @staticmethod
    def example_query(value):
        link = value.get('uri') or value.get('meta', {}).get('url') or ''
        return [(k, v) for k, v in parse_qsl(urlsplit(link).query)
                if k not in ('Page', 'PageToken')]

    def test_examples(self):
        fake_handlers = ft.Fake(ft.parse_args([])).handlers
        examples = served_examples()
        ops, done, failures = set(), 0, []
        for template, method, name, value, schema, resolve in examples:
            fn, kind, extra = fake_handlers[template]
            kind_name = kind and kind.name
            tag = {'h_available': 'available', 'h_countries': 'countries',
                   'h_country': 'countries', 'h_recording': 'recording',
                   'h_content': 'content', 'h_build_status': 'status',
                   'h_dependent': 'dependent', 'h_dp_countries': 'dialing',
                   'h_dp_country': 'dialing', 'h_dp_prefixes': 'dialing', 'h_dp_bulk': 'bulk',
                   'h_voice_settings': 'settings'}.get(fn.__name__, extra)
            SENT[0] = None
            status, body = self.run_example(template, method, name, kind_name, tag, value)
            where = f'{method} {template} [{name}]'
            errors = []
            if status >= 300:
                errors.append(f'{where}: status {status} {body}')
            else:
                items_key = next((k for k, v in value.items() if isinstance(v, list)
                                  and (k in ('available_phone_numbers', 'countries')
                                       or 'meta' in value or 'first_page_uri' in value)), None)
                if name == 'readFull' and items_key and not body.get(items_key):
                    errors.append(f'{where}: the set-up made an empty list')
                compare(value, body, schema, resolve, where, errors, self.extras, self.missing)
            failures += errors
            ops.add((template, method))
            done += 1
        print(f'\n{type(self).__name__}: {len(ops)} operations, {done} examples compared',
              file=sys.stderr)
        self.assertEqual(failures, [], '\n' + '\n'.join(failures))
        # coverage: every served operation with an example was exercised
        self.assertEqual(done, len(examples))
        self.assertGreaterEqual(len(ops), 133)
        self.assertGreaterEqual(done, 166)
        self.assertEqual(fake_violations(self.fake), [])


def fake_violations(fake):
    return fake.violations()


class RealisticConformanceTest(ConformanceTest):
    """The same comparison under --realistic (lags 0): the keys that --extra-fields adds and
    the voice_receive_mode that --omit-receive-mode leaves out are the only documented
    differences; each must be named in the README."""
    options = {'seed': 3, 'realistic': True, 'list_lag': 0, 'fetch_lag': 0}
    extras = frozenset(ft.EXTRA_ITEM_FIELDS) | frozenset(ft.EXTRA_ENVELOPE_FIELDS) \
        | frozenset(ft.EXTRA_META_FIELDS)
    missing = frozenset({'voice_receive_mode'})

    def test_extras_are_documented(self):
        with open(os.path.join(HERE, 'README.md'), encoding='utf-8') as f:
            readme = f.read()
        for name in self.extras | self.missing:
            self.assertIn(f'`{name}`', readme)


if __name__ == '__main__':
    unittest.main()
