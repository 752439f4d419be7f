"""Tests of the fake Twilio server itself: python3 -m unittest -v test_fake"""

import base64
import functools
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error

from fakeclient import FakeTwilio, HERE
from fake_twilio import Spec

A = '/2010-04-01/Accounts/{AccountSid}'
SID_RE = r'%s[0-9a-f]{32}'
RFC2822 = r'[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000'
ISO8601 = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'
PASSWORD = 'IWasAtSignal2018'
ENVELOPE_2010 = {'first_page_uri', 'next_page_uri', 'previous_page_uri', 'uri', 'page',
                 'page_size', 'start', 'end'}
META_V1 = {'page', 'page_size', 'key', 'first_page_url', 'previous_page_url', 'next_page_url',
           'url'}
FAKE = None


def setUpModule():
    global FAKE
    FAKE = FakeTwilio(seed=1).start()


def tearDownModule():
    FAKE.stop()


@functools.lru_cache(maxsize=None)
def spec():
    return Spec(os.path.join(HERE, 'spec'))


def spec_fields(template):
    """The response fields that the vendored spec lists for GET on a path."""
    return set(spec().by_template[template].ops['GET'].response['properties'])


class FakeCase(unittest.TestCase):
    violating = False     # tests that send bad requests on purpose set this

    def setUp(self):
        FAKE.reset()

    def tearDown(self):
        if not self.violating:
            self.assertEqual(FAKE.violations(), [])

    def call(self, method, path, params=None, expect=None, **kw):
        status, body = FAKE.api(method, path, params, **kw)
        if expect is not None:
            self.assertEqual(status, expect, body)
        return body

    def create(self, path, params=None):
        return self.call('POST', path, params, 201)

    def assert_error(self, status, code, method, path, params=None, **kw):
        got, body = FAKE.api(method, path, params, **kw)
        self.assertEqual((got, body and body.get('code')), (status, code), body)
        self.assertEqual(body, {'code': code, 'message': body['message'], 'status': status,
                                'more_info': f'https://www.twilio.com/docs/errors/{code}'})
        return body['message']

    # ------------------------------------------------------------------ fixtures

    def domain(self, name='office.sip.twilio.com', **params):
        return self.create(A + '/SIP/Domains.json', dict(DomainName=name, **params))

    def clist(self, name='phones'):
        return self.create(A + '/SIP/CredentialLists.json', {'FriendlyName': name})

    def acl(self, name='pbx'):
        return self.create(A + '/SIP/IpAccessControlLists.json', {'FriendlyName': name})

    def trunk(self, name='asterisk.pstn.twilio.com'):
        return self.create('/v1/Trunks', {'FriendlyName': 't', 'DomainName': name})

    def number(self, number='+16505550100'):
        FAKE.seed_available([number])
        return self.create(A + '/IncomingPhoneNumbers.json', {'PhoneNumber': number})


class EnvelopeTest(FakeCase):
    def test_2010_lists_have_their_key_and_relative_page_uris(self):
        dom = self.domain()
        cl, al = self.clist(), self.acl()
        self.create(A + '/Applications.json', {'FriendlyName': 'app'})
        self.number()
        lists = {'/SIP/Domains.json': 'domains', '/SIP/CredentialLists.json': 'credential_lists',
                 '/SIP/IpAccessControlLists.json': 'ip_access_control_lists',
                 '/Applications.json': 'applications',
                 '/IncomingPhoneNumbers.json': 'incoming_phone_numbers',
                 f'/SIP/CredentialLists/{cl["sid"]}/Credentials.json': 'credentials',
                 f'/SIP/IpAccessControlLists/{al["sid"]}/IpAddresses.json': 'ip_addresses'}
        d = f'/SIP/Domains/{dom["sid"]}'
        lists.update({d + '/Auth/Calls/CredentialListMappings.json': 'contents',
                      d + '/Auth/Calls/IpAccessControlListMappings.json': 'contents',
                      d + '/Auth/Registrations/CredentialListMappings.json': 'contents',
                      d + '/CredentialListMappings.json': 'credential_list_mappings',
                      d + '/IpAccessControlListMappings.json': 'ip_access_control_list_mappings'})
        for path, key in lists.items():
            body = self.call('GET', A + path, expect=200)
            self.assertEqual(set(body), ENVELOPE_2010 | {key}, path)
            full = f'/2010-04-01/Accounts/{FAKE.account_sid}{path}'
            self.assertEqual(body['first_page_uri'], full + '?PageSize=50&Page=0')
            self.assertEqual(body['uri'], full + '?PageSize=50&Page=0')
            self.assertEqual((body['page'], body['page_size'], body['start'], body['end']),
                             (0, 50, 0, max(len(body[key]) - 1, 0)))
            self.assertIsNone(body['next_page_uri'])
            self.assertIsNone(body['previous_page_uri'])

    def test_v1_lists_have_meta_with_absolute_twilio_urls(self):
        trunk, policy = self.trunk(), self.create('/v1/ConnectionPolicies', {'FriendlyName': 'p'})
        lists = {'/v1/ByocTrunks': ('voice', 'byoc_trunks'),
                 '/v1/ConnectionPolicies': ('voice', 'connection_policies'),
                 f'/v1/ConnectionPolicies/{policy["sid"]}/Targets': ('voice', 'targets'),
                 '/v1/Trunks': ('trunking', 'trunks')}
        for sub, key in (('OriginationUrls', 'origination_urls'),
                         ('CredentialLists', 'credential_lists'),
                         ('IpAccessControlLists', 'ip_access_control_lists'),
                         ('PhoneNumbers', 'phone_numbers')):
            lists[f'/v1/Trunks/{trunk["sid"]}/{sub}'] = ('trunking', key)
        for path, (host, key) in lists.items():
            body = self.call('GET', path, expect=200)
            self.assertEqual(set(body), {key, 'meta'})
            self.assertEqual(set(body['meta']), META_V1)
            url = f'https://{host}.twilio.com{path}?PageSize=50&Page=0'
            self.assertEqual(body['meta'], {'page': 0, 'page_size': 50, 'key': key,
                                            'first_page_url': url, 'url': url,
                                            'previous_page_url': None, 'next_page_url': None})

    def test_every_spec_field_is_present_with_formats(self):
        dom, cl, al = self.domain(), self.clist(), self.acl()
        app = self.create(A + '/Applications.json', {})
        policy = self.create('/v1/ConnectionPolicies', {})
        trunk, num = self.trunk(), self.number()
        d, t, c = (f'{A}/SIP/Domains/{dom["sid"]}', f'/v1/Trunks/{trunk["sid"]}',
                   f'/v1/ConnectionPolicies/{policy["sid"]}')
        cases = [
            (dom, A + '/SIP/Domains/{Sid}.json', 'SD'),
            (cl, A + '/SIP/CredentialLists/{Sid}.json', 'CL'),
            (al, A + '/SIP/IpAccessControlLists/{Sid}.json', 'AL'),
            (app, A + '/Applications/{Sid}.json', 'AP'),
            (num, A + '/IncomingPhoneNumbers/{Sid}.json', 'PN'),
            (self.create(f'{A}/SIP/CredentialLists/{cl["sid"]}/Credentials.json',
                         {'Username': 'alice', 'Password': PASSWORD}),
             A + '/SIP/CredentialLists/{CredentialListSid}/Credentials/{Sid}.json', 'CR'),
            (self.create(f'{A}/SIP/IpAccessControlLists/{al["sid"]}/IpAddresses.json',
                         {'FriendlyName': 'pbx', 'IpAddress': '10.0.0.1'}),
             A + '/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses/{Sid}.json', 'IP'),
            (self.create(d + '/Auth/Calls/CredentialListMappings.json',
                         {'CredentialListSid': cl['sid']}),
             A + '/SIP/Domains/{DomainSid}/Auth/Calls/CredentialListMappings/{Sid}.json', 'CL'),
            (self.create(d + '/IpAccessControlListMappings.json',
                         {'IpAccessControlListSid': al['sid']}),
             A + '/SIP/Domains/{DomainSid}/IpAccessControlListMappings/{Sid}.json', 'AL'),
            (self.create('/v1/ByocTrunks', {}), '/v1/ByocTrunks/{Sid}', 'BY'),
            (policy, '/v1/ConnectionPolicies/{Sid}', 'NY'),
            (self.create(c + '/Targets', {'Target': 'sip:sbc.example.com'}),
             '/v1/ConnectionPolicies/{ConnectionPolicySid}/Targets/{Sid}', 'NE'),
            (trunk, '/v1/Trunks/{Sid}', 'TK'),
            (self.create(t + '/OriginationUrls', {'Weight': 10, 'Priority': 10, 'Enabled': True,
                                                  'FriendlyName': 'o', 'SipUrl': 'sip:1.2.3.4'}),
             '/v1/Trunks/{TrunkSid}/OriginationUrls/{Sid}', 'OU'),
            (self.create(t + '/CredentialLists', {'CredentialListSid': cl['sid']}),
             '/v1/Trunks/{TrunkSid}/CredentialLists/{Sid}', 'CL'),
            (self.create(t + '/PhoneNumbers', {'PhoneNumberSid': num['sid']}),
             '/v1/Trunks/{TrunkSid}/PhoneNumbers/{Sid}', 'PN'),
        ]
        parents = {'DomainSid': dom['sid'], 'CredentialListSid': cl['sid'],
                   'IpAccessControlListSid': al['sid'], 'ConnectionPolicySid': policy['sid'],
                   'TrunkSid': trunk['sid']}
        for body, template, prefix in cases:
            self.assertEqual(set(body), spec_fields(template), template)
            self.assertRegex(body['sid'], SID_RE % prefix)
            self.assertEqual(body['account_sid'], FAKE.account_sid)
            if template.startswith('/2010'):
                self.assertRegex(body['date_created'], RFC2822)
                self.assertRegex(body['date_updated'], RFC2822)
                if 'uri' in body:
                    self.assertTrue(body['uri'].startswith(
                        f'/2010-04-01/Accounts/{FAKE.account_sid}/'))
                    self.assertTrue(body['uri'].endswith(f'/{body["sid"]}.json'), body['uri'])
            else:
                self.assertRegex(body['date_created'], ISO8601)
                host = 'trunking' if template.startswith('/v1/Trunks') else 'voice'
                self.assertTrue(body['url'].startswith(f'https://{host}.twilio.com/v1/'),
                                body['url'])
                self.assertTrue(body['url'].endswith(body['sid']))
            sids = dict(parents, AccountSid=FAKE.account_sid, Sid=body['sid'])
            fetched = self.call('GET', re.sub(r'\{(\w+)\}', lambda m: sids[m[1]], template),
                                expect=200)
            if prefix in ('SD', 'TK', 'PN'):      # changed since by the mappings made later
                self.assertEqual((fetched['sid'], set(fetched)), (body['sid'], set(body)))
            else:
                self.assertEqual(fetched, body)
        self.assertNotIn('subresource_uris', num)      # in neither the schema nor the examples
        self.assertEqual(set(dom['subresource_uris']),     # as the spec's examples list them
                         {'credential_list_mappings', 'ip_access_control_list_mappings'})
        self.assertEqual(cl['subresource_uris'],
                         {'credentials': cl['uri'][:-5] + '/Credentials.json'})
        self.assertEqual(policy['links'], {'targets': policy['url'] + '/Targets'})
        self.assertEqual(trunk['recording'], {'mode': 'do-not-record', 'trim': 'do-not-trim'})

    def test_status_codes_and_empty_delete_body(self):
        app = self.create(A + '/Applications.json', {'FriendlyName': 'a'})
        path = f'{A}/Applications/{app["sid"]}.json'
        self.assertEqual(self.call('POST', path, {'FriendlyName': 'b'}, 200)['friendly_name'], 'b')
        status, body, headers = FAKE.api('DELETE', path, headers=True)
        self.assertEqual((status, body, headers.get('Content-Length')), (204, None, None))
        self.call('GET', path, expect=404)


class PaginationTest(FakeCase):
    def test_2010_pages_of_two_follow_next_links_in_creation_order(self):
        names = [f'list-{i}' for i in range(5)]
        for n in names:
            self.clist(n)
        body = self.call('GET', A + '/SIP/CredentialLists.json', {'PageSize': 2}, 200)
        seen, pages = [], []
        while True:
            pages.append(body)
            seen += [c['friendly_name'] for c in body['credential_lists']]
            if body['next_page_uri'] is None:
                break
            self.assertRegex(body['next_page_uri'], r'\?PageSize=2&Page=\d+&PageToken=PA\w+$')
            body = self.call('GET', body['next_page_uri'], expect=200)
        self.assertEqual(seen, names)
        self.assertEqual([(p['page'], p['start'], p['end']) for p in pages],
                         [(0, 0, 1), (1, 2, 3), (2, 4, 4)])
        back = self.call('GET', pages[2]['previous_page_uri'], expect=200)
        self.assertEqual([c['friendly_name'] for c in back['credential_lists']], names[2:4])

    def test_cursor_survives_deletes_and_filters_stay_in_links(self):
        apps = [self.create(A + '/Applications.json', {'FriendlyName': n}) for n in 'xaxbx']
        first = self.call('GET', A + '/Applications.json', {'PageSize': 1, 'FriendlyName': 'x'},
                          200)
        self.assertEqual(first['applications'][0]['sid'], apps[0]['sid'])
        self.assertIn('FriendlyName=x&PageSize=1&Page=1&PageToken=', first['next_page_uri'])
        self.call('DELETE', f'{A}/Applications/{apps[0]["sid"]}.json', expect=204)
        second = self.call('GET', first['next_page_uri'], expect=200)
        self.assertEqual([a['sid'] for a in second['applications']], [apps[2]['sid']])

    def test_v1_pagination_and_bad_page_token(self):
        sids = [self.create('/v1/ConnectionPolicies', {'FriendlyName': str(i)})['sid']
                for i in range(3)]
        body = self.call('GET', '/v1/ConnectionPolicies', {'PageSize': 2}, 200)
        nxt = body['meta']['next_page_url']
        self.assertTrue(nxt.startswith('https://voice.twilio.com/v1/ConnectionPolicies?'))
        rest = self.call('GET', nxt.split('twilio.com', 1)[1], expect=200)
        self.assertEqual([p['sid'] for p in
                          body['connection_policies'] + rest['connection_policies']], sids)
        self.assertIsNone(rest['meta']['next_page_url'])
        self.assert_error(400, 21481, 'GET', '/v1/ConnectionPolicies', {'PageToken': 'garbage'})
        self.assert_error(400, 21481, 'GET', A + '/SIP/Domains.json', {'PageToken': 'PAnope'})


class RulesTest(FakeCase):
    def test_credential_rules(self):
        cl = self.clist()
        path = f'{A}/SIP/CredentialLists/{cl["sid"]}/Credentials.json'
        for weak in ('Short1A', 'nodigitsHereAtAll', 'alllowercase123', 'ALLUPPERCASE123'):
            self.assert_error(400, 21243, 'POST', path, {'Username': 'bob', 'Password': weak})
        self.assert_error(400, 21243, 'POST', path, {'Username': 'u' * 33, 'Password': PASSWORD})
        cred = self.create(path, {'Username': 'u' * 32, 'Password': PASSWORD})
        self.assertNotIn('password', cred)
        self.assert_error(400, 21243, 'POST', path, {'Username': 'u' * 32, 'Password': PASSWORD})
        inst = f'{A}/SIP/CredentialLists/{cl["sid"]}/Credentials/{cred["sid"]}.json'
        self.assert_error(400, 21243, 'POST', inst, {'Password': 'weak'})
        self.call('POST', inst, {'Password': 'NewPassword2024'}, 200)
        [row] = FAKE.state()['credential']
        self.assertEqual((row['password'], row['parent_sid']), ('NewPassword2024', cl['sid']))
        other = self.clist('other')      # usernames are unique per list only
        self.create(f'{A}/SIP/CredentialLists/{other["sid"]}/Credentials.json',
                    {'Username': 'u' * 32, 'Password': PASSWORD})

    def test_sip_domain_names(self):
        for name in ('office.example.com', 'bad_name.sip.twilio.com', 'sip.twilio.com',
                     'x.sip.us1.twilio.com'):
            self.assert_error(400, 21232, 'POST', A + '/SIP/Domains.json', {'DomainName': name})
        parent = self.domain('acme.sip.twilio.com')
        self.assert_error(400, 21232, 'POST', A + '/SIP/Domains.json',
                          {'DomainName': 'ACME.sip.twilio.com'})
        self.assert_error(400, 21232, 'POST', A + '/SIP/Domains.json',
                          {'DomainName': 'a.other.sip.twilio.com'})
        self.domain('branch.acme.sip.twilio.com')
        self.assert_error(400, 21233, 'DELETE', f'{A}/SIP/Domains/{parent["sid"]}.json')
        other = self.domain('second.sip.twilio.com')
        self.assert_error(400, 21232, 'POST', f'{A}/SIP/Domains/{other["sid"]}.json',
                          {'DomainName': 'acme.sip.twilio.com'})
        self.assert_error(400, 21300, 'POST', f'{A}/SIP/Domains/{other["sid"]}.json',
                          {'ByocTrunkSid': 'BY' + '0' * 32})

    def test_friendly_name_uniqueness(self):
        self.clist('dup')
        self.assert_error(400, 21240, 'POST', A + '/SIP/CredentialLists.json',
                          {'FriendlyName': 'dup'})
        FAKE.insert(A + '/SIP/CredentialLists.json', {'FriendlyName': 'dup'})
        names = [c['friendly_name'] for c in
                 self.call('GET', A + '/SIP/CredentialLists.json', expect=200)['credential_lists']]
        self.assertEqual(names, ['dup', 'dup'])
        for path in (A + '/SIP/IpAccessControlLists.json', A + '/Applications.json',
                     '/v1/ByocTrunks', '/v1/ConnectionPolicies'):
            self.create(path, {'FriendlyName': 'same'})
            self.create(path, {'FriendlyName': 'same'})

    def test_lists_in_use_cannot_be_deleted(self):
        cl, al, dom, trunk = self.clist(), self.acl(), self.domain(), self.trunk()
        d, t = f'{A}/SIP/Domains/{dom["sid"]}', f'/v1/Trunks/{trunk["sid"]}'
        cl_path, al_path = (f'{A}/SIP/CredentialLists/{cl["sid"]}.json',
                            f'{A}/SIP/IpAccessControlLists/{al["sid"]}.json')
        for coll, item in ((d + '/Auth/Calls/CredentialListMappings.json', '.json'),
                           (d + '/Auth/Registrations/CredentialListMappings.json', '.json'),
                           (d + '/CredentialListMappings.json', '.json'),
                           (t + '/CredentialLists', '')):
            self.create(coll, {'CredentialListSid': cl['sid']})
            msg = self.assert_error(400, 21241, 'DELETE', cl_path)
            self.assertIn('Credential List Dependencies Violation', msg)
            self.call('DELETE', coll.replace('.json', '') + '/' + cl['sid'] + item, expect=204)
        for coll, item in ((d + '/Auth/Calls/IpAccessControlListMappings.json', '.json'),
                           (d + '/IpAccessControlListMappings.json', '.json'),
                           (t + '/IpAccessControlLists', '')):
            self.create(coll, {'IpAccessControlListSid': al['sid']})
            self.assert_error(400, 21236, 'DELETE', al_path)
            self.call('DELETE', coll.replace('.json', '') + '/' + al['sid'] + item, expect=204)
        self.call('DELETE', cl_path, expect=204)
        self.call('DELETE', al_path, expect=204)

    def test_mappings_duplicate_or_dangling(self):
        cl, al, dom, trunk = self.clist(), self.acl(), self.domain(), self.trunk()
        d, t = f'{A}/SIP/Domains/{dom["sid"]}', f'/v1/Trunks/{trunk["sid"]}'
        self.create(d + '/Auth/Calls/CredentialListMappings.json', {'CredentialListSid': cl['sid']})
        # the legacy list is the same set as the Calls list
        self.assert_error(400, 21231, 'POST', d + '/CredentialListMappings.json',
                          {'CredentialListSid': cl['sid']})
        self.assert_error(400, 21231, 'POST', d + '/Auth/Calls/IpAccessControlListMappings.json',
                          {'IpAccessControlListSid': 'AL' + '0' * 32})
        self.create(t + '/IpAccessControlLists', {'IpAccessControlListSid': al['sid']})
        self.assert_error(400, 21245, 'POST', t + '/IpAccessControlLists',
                          {'IpAccessControlListSid': al['sid']})
        self.assert_error(400, 21245, 'POST', t + '/CredentialLists',
                          {'CredentialListSid': 'CL' + '0' * 32})
        self.assert_error(400, 21245, 'POST', t + '/PhoneNumbers',
                          {'PhoneNumberSid': 'PN' + '0' * 32})
        [legacy] = self.call('GET', d + '/CredentialListMappings.json',
                             expect=200)['credential_list_mappings']
        self.assertEqual((legacy['sid'], legacy['domain_sid'], legacy['friendly_name']),
                         (cl['sid'], dom['sid'], 'phones'))

    def test_auth_type_is_derived_from_mappings(self):
        cl, al, dom, trunk = self.clist(), self.acl(), self.domain(), self.trunk()
        d, t = f'{A}/SIP/Domains/{dom["sid"]}', f'/v1/Trunks/{trunk["sid"]}'
        self.assertEqual(dom['auth_type'], '')
        self.create(d + '/Auth/Registrations/CredentialListMappings.json',
                    {'CredentialListSid': cl['sid']})
        self.create(d + '/Auth/Calls/IpAccessControlListMappings.json',
                    {'IpAccessControlListSid': al['sid']})
        self.assertEqual(self.call('GET', d + '.json', expect=200)['auth_type'], 'IP_ACL')
        self.create(d + '/Auth/Calls/CredentialListMappings.json', {'CredentialListSid': cl['sid']})
        self.assertEqual(self.call('GET', d + '.json', expect=200)['auth_type'],
                         'IP_ACL,CREDENTIAL_LIST')
        self.create(t + '/CredentialLists', {'CredentialListSid': cl['sid']})
        got = self.call('GET', t, expect=200)
        self.assertEqual((got['auth_type'], got['auth_type_set']),
                         ('CREDENTIAL_LIST', ['CREDENTIAL_LIST']))

    def test_trunk_rules_and_recording(self):
        trunk = self.trunk('nlpbay.pstn.twilio.com')
        self.assert_error(400, 21248, 'POST', '/v1/Trunks',
                          {'DomainName': 'NLPBAY.pstn.twilio.com'})
        self.assert_error(400, 21245, 'POST', '/v1/Trunks', {'DomainName': 'x.sip.twilio.com'})
        self.create('/v1/Trunks', {})            # a trunk needs no termination URI
        t = f'/v1/Trunks/{trunk["sid"]}'
        self.assertEqual(self.call('GET', t + '/Recording', expect=200),
                         {'mode': 'do-not-record', 'trim': 'do-not-trim'})
        self.call('POST', t + '/Recording', {'Mode': 'record-from-answer'}, 200)
        self.assertEqual(self.call('GET', t, expect=200)['recording'],
                         {'mode': 'record-from-answer', 'trim': 'do-not-trim'})
        self.assert_error(400, 20001, 'POST', t + '/OriginationUrls',
                          {'Weight': 0, 'Priority': 1, 'Enabled': True, 'FriendlyName': 'o',
                           'SipUrl': 'sip:1.2.3.4'})
        self.assert_error(400, 20001, 'POST', t + '/OriginationUrls',
                          {'Weight': 1, 'Priority': 1, 'Enabled': True, 'FriendlyName': 'o',
                           'SipUrl': 'sips:1.2.3.4'})

    def test_ip_addresses_and_limits(self):
        al = self.acl()
        path = f'{A}/SIP/IpAccessControlLists/{al["sid"]}/IpAddresses.json'
        for ip, cidr in (('10.0.0.256', 32), ('10.0.0', 32), ('::1', 32), ('10.0.0.0', 33)):
            self.assert_error(400, 21238, 'POST', path,
                              {'FriendlyName': 'x', 'IpAddress': ip, 'CidrPrefixLength': cidr})
        ip = self.create(path, {'FriendlyName': 'pops', 'IpAddress': '54.172.60.0',
                                'CidrPrefixLength': 24})
        self.assertEqual(ip['cidr_prefix_length'], 24)
        self.assertEqual(self.create(path, {'FriendlyName': 'pbx', 'IpAddress': '1.2.3.4'})
                         ['cidr_prefix_length'], 32)
        for i in range(98):
            self.create(path, {'FriendlyName': str(i), 'IpAddress': f'10.1.0.{i}'})
        self.assert_error(400, 21237, 'POST', path, {'FriendlyName': 'x', 'IpAddress': '10.2.0.1'})

    def test_friendly_name_length_and_account_limits(self):
        self.assert_error(400, 20002, 'POST', A + '/SIP/CredentialLists.json',
                          {'FriendlyName': 'x' * 65})
        self.acl('y' * 255)
        for i in range(100):
            self.clist(f'list-{i}')
        self.assert_error(400, 21239, 'POST', A + '/SIP/CredentialLists.json',
                          {'FriendlyName': 'one too many'})

    def test_update_changes_only_sent_params_and_empty_clears(self):
        dom = self.domain(VoiceUrl='https://a.example/v', FriendlyName='f', SipRegistration=True)
        path = f'{A}/SIP/Domains/{dom["sid"]}.json'
        got = self.call('POST', path, {'VoiceUrl': ''}, 200)
        self.assertEqual((got['voice_url'], got['friendly_name'], got['sip_registration']),
                         ('', 'f', True))
        self.assertEqual({k: v for k, v in got.items() if k not in ('voice_url', 'date_updated')},
                         {k: v for k, v in dom.items() if k not in ('voice_url', 'date_updated')})


class AuthAndNotFoundTest(FakeCase):
    def test_authentication(self):
        path = A + '/SIP/Domains.json'
        for auth in ((FAKE.account_sid, 'wrong'), ('nobody', FAKE.auth_token)):
            status, body, headers = FAKE.api('GET', path, auth=auth, headers=True)
            self.assertEqual((status, body['code'], body['message']), (401, 20003, 'Authenticate'))
            self.assertIn('Basic', headers['WWW-Authenticate'])
        self.call('GET', path, auth=(FAKE.api_key, FAKE.api_secret), expect=200)
        self.call('GET', '/v1/Trunks', auth=(FAKE.api_key, FAKE.api_secret), expect=200)
        self.assert_error(401, 20003, 'GET', path.replace('{AccountSid}', 'AC' + '1' * 32))
        self.assertEqual(FAKE._request('GET', '/v1/Trunks')[0], 401)     # no Authorization

    def test_unknown_sid_is_404(self):
        msg = self.assert_error(404, 20404, 'GET', A + '/SIP/Domains/SD' + '0' * 32 + '.json')
        self.assertEqual(msg, f'The requested resource /2010-04-01/Accounts/{FAKE.account_sid}'
                              f'/SIP/Domains/SD{"0" * 32}.json was not found')
        self.assert_error(404, 20404, 'DELETE', '/v1/Trunks/TK' + '0' * 32)
        self.assert_error(404, 20404, 'GET', A + '/SIP/CredentialLists/CL' + '0' * 32
                          + '/Credentials.json')

    def test_unknown_path_and_method(self):
        self.violating = True
        self.assert_error(404, 20404, 'GET', A + '/SIP/Domains')
        self.assert_error(404, 20404, 'GET', '/v2/Nothing')
        self.assert_error(405, 20004, 'POST', A + '/SIP/Domains/SD' + '0' * 32
                          + '/CredentialListMappings/CL' + '0' * 32 + '.json')
        self.assertEqual(len(FAKE.violations()), 3)


class CascadeTest(FakeCase):
    def test_deleting_parents_deletes_children(self):
        cl, al, dom = self.clist(), self.acl(), self.domain()
        d = f'{A}/SIP/Domains/{dom["sid"]}'
        self.create(f'{A}/SIP/CredentialLists/{cl["sid"]}/Credentials.json',
                    {'Username': 'a', 'Password': PASSWORD})
        self.create(f'{A}/SIP/IpAccessControlLists/{al["sid"]}/IpAddresses.json',
                    {'FriendlyName': 'a', 'IpAddress': '1.2.3.4'})
        for m in ('/Auth/Calls/CredentialListMappings.json',
                  '/Auth/Registrations/CredentialListMappings.json'):
            self.create(d + m, {'CredentialListSid': cl['sid']})
        self.create(d + '/IpAccessControlListMappings.json', {'IpAccessControlListSid': al['sid']})
        self.call('DELETE', d + '.json', expect=204)
        state = FAKE.state()
        self.assertEqual([state[k] for k in ('calls_cl', 'calls_al', 'registrations_cl')],
                         [[], [], []])
        self.call('DELETE', f'{A}/SIP/CredentialLists/{cl["sid"]}.json', expect=204)
        self.call('DELETE', f'{A}/SIP/IpAccessControlLists/{al["sid"]}.json', expect=204)
        state = FAKE.state()
        self.assertEqual((state['credential'], state['ip_address']), ([], []))
        policy = self.create('/v1/ConnectionPolicies', {})
        self.create(f'/v1/ConnectionPolicies/{policy["sid"]}/Targets', {'Target': 'sip:a.example'})
        self.call('DELETE', f'/v1/ConnectionPolicies/{policy["sid"]}', expect=204)
        self.assertEqual(FAKE.state()['target'], [])

    def test_deleting_a_trunk_detaches_its_numbers(self):
        trunk, num, cl = self.trunk(), self.number(), self.clist()
        t = f'/v1/Trunks/{trunk["sid"]}'
        self.create(t + '/OriginationUrls', {'Weight': 1, 'Priority': 1, 'Enabled': True,
                                             'FriendlyName': 'o', 'SipUrl': 'sip:1.2.3.4'})
        self.create(t + '/CredentialLists', {'CredentialListSid': cl['sid']})
        self.create(t + '/PhoneNumbers', {'PhoneNumberSid': num['sid']})
        self.call('DELETE', t, expect=204)
        state = FAKE.state()
        self.assertEqual([state[k] for k in ('origination_url', 'trunk_cl', 'trunk_pn')],
                         [[], [], []])
        self.assertIsNone(state['incoming_number'][0]['trunk_sid'])
        self.call('DELETE', f'{A}/SIP/CredentialLists/{cl["sid"]}.json', expect=204)


class NumberTest(FakeCase):
    def test_search_purchase_and_release(self):
        FAKE.seed_available(['+16505550100', '+16505550111', '+14155550100'])
        FAKE.seed_available(['+18005550100'], type='TollFree')
        found = self.call('GET', A + '/AvailablePhoneNumbers/US/Local.json', {'AreaCode': 650}, 200)
        self.assertEqual(set(found), {'available_phone_numbers', 'uri'})
        self.assertEqual([n['phone_number'] for n in found['available_phone_numbers']],
                         ['+16505550100', '+16505550111'])
        self.assertEqual(found['available_phone_numbers'][0]['friendly_name'], '(650) 555-0100')
        self.assertEqual(set(found['available_phone_numbers'][0]),
                         spec_fields(A + '/AvailablePhoneNumbers/{CountryCode}/Local.json'))
        found = self.call('GET', A + '/AvailablePhoneNumbers/US/Local.json',
                          {'Contains': '*111'}, 200)
        self.assertEqual([n['phone_number'] for n in found['available_phone_numbers']],
                         ['+16505550111'])
        self.assertEqual([n['phone_number'] for n in self.call(
            'GET', A + '/AvailablePhoneNumbers/US/TollFree.json', expect=200)
            ['available_phone_numbers']], ['+18005550100'])
        country = self.call('GET', A + '/AvailablePhoneNumbers/US.json', expect=200)
        self.assertEqual(set(country['subresource_uris']), {'local', 'toll_free'})

        num = self.create(A + '/IncomingPhoneNumbers.json', {'PhoneNumber': '+16505550100',
                                                             'FriendlyName': 'Main line'})
        self.assertEqual((num['phone_number'], num['friendly_name'], num['type'], num['origin']),
                         ('+16505550100', 'Main line', 'local', 'twilio'))
        self.assert_error(400, 21422, 'POST', A + '/IncomingPhoneNumbers.json',
                          {'PhoneNumber': '+16505550100'})
        self.assert_error(400, 21422, 'POST', A + '/IncomingPhoneNumbers.json',
                          {'PhoneNumber': '+16505559999'})
        self.assert_error(400, 21421, 'POST', A + '/IncomingPhoneNumbers.json',
                          {'PhoneNumber': '6505559999'})
        self.assert_error(400, 21422, 'POST', A + '/IncomingPhoneNumbers/Local.json',
                          {'PhoneNumber': '+18005550100'})
        self.create(A + '/IncomingPhoneNumbers/TollFree.json', {'PhoneNumber': '+18005550100'})
        by_area = self.create(A + '/IncomingPhoneNumbers.json', {'AreaCode': '415'})
        self.assertEqual(by_area['phone_number'], '+14155550100')
        self.assert_error(400, 21452, 'POST', A + '/IncomingPhoneNumbers.json', {'AreaCode': '212'})
        self.assertEqual(self.call('GET', A + '/AvailablePhoneNumbers/US/Local.json', expect=200)
                         ['available_phone_numbers'][0]['phone_number'], '+16505550111')

        listed = self.call('GET', A + '/IncomingPhoneNumbers.json',
                           {'PhoneNumber': '+16505550100'}, 200)['incoming_phone_numbers']
        self.assertEqual([n['sid'] for n in listed], [num['sid']])
        named = self.call('GET', A + '/IncomingPhoneNumbers.json', {'FriendlyName': 'Main line'},
                          200)['incoming_phone_numbers']
        self.assertEqual([n['sid'] for n in named], [num['sid']])
        self.assertEqual(len(self.call('GET', A + '/IncomingPhoneNumbers/TollFree.json', expect=200)
                             ['incoming_phone_numbers']), 1)
        self.call('DELETE', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json', expect=204)
        listed = self.call('GET', A + '/IncomingPhoneNumbers.json',
                           {'PhoneNumber': '+16505550100'}, 200)['incoming_phone_numbers']
        self.assertEqual(listed, [])

    def test_trunk_and_application_are_exclusive(self):
        app = self.create(A + '/Applications.json', {'FriendlyName': 'inbound'})
        trunk, num = self.trunk(), self.number()
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        got = self.call('POST', path, {'VoiceApplicationSid': app['sid']}, 200)
        self.assertEqual((got['voice_application_sid'], got['trunk_sid']), (app['sid'], None))
        got = self.call('POST', path, {'TrunkSid': trunk['sid']}, 200)
        self.assertEqual((got['voice_application_sid'], got['trunk_sid']), ('', trunk['sid']))
        [assoc] = self.call('GET', f'/v1/Trunks/{trunk["sid"]}/PhoneNumbers',
                            expect=200)['phone_numbers']
        self.assertEqual((assoc['sid'], assoc['phone_number'], assoc['trunk_sid']),
                         (num['sid'], '+16505550100', trunk['sid']))
        self.assertEqual(assoc['links']['phone_number'],
                         'https://api.twilio.com' + num['uri'][:-5])
        got = self.call('POST', path, {'VoiceApplicationSid': app['sid']}, 200)
        self.assertEqual((got['voice_application_sid'], got['trunk_sid']), (app['sid'], None))
        self.assertEqual(self.call('GET', f'/v1/Trunks/{trunk["sid"]}/PhoneNumbers',
                                   expect=200)['phone_numbers'], [])
        self.create(f'/v1/Trunks/{trunk["sid"]}/PhoneNumbers', {'PhoneNumberSid': num['sid']})
        got = self.call('GET', path, expect=200)
        self.assertEqual((got['voice_application_sid'], got['trunk_sid']), ('', trunk['sid']))
        self.call('DELETE', f'/v1/Trunks/{trunk["sid"]}/PhoneNumbers/{num["sid"]}', expect=204)
        self.assertIsNone(self.call('GET', path, expect=200)['trunk_sid'])
        self.assert_error(400, 21420, 'POST', path, {'VoiceApplicationSid': 'AP' + '0' * 32})
        self.assert_error(400, 21245, 'POST', path, {'TrunkSid': 'TK' + '0' * 32})

    def test_owned_numbers_are_in_the_account(self):
        [num] = FAKE.add_owned(['+442071838750'])
        self.assertEqual((num['phone_number'], num['friendly_name']),
                         ('+442071838750', '+442071838750'))
        listed = self.call('GET', A + '/IncomingPhoneNumbers.json', expect=200)
        self.assertEqual([n['sid'] for n in listed['incoming_phone_numbers']], [num['sid']])


class SpecCheckTest(FakeCase):
    violating = True

    def assert_violation(self, method, path, params, detail, **kw):
        message = self.assert_error(400, 20001, method, path, params, **kw)
        self.assertTrue(message.startswith('fake twilio: spec violation: '), message)
        self.assertIn(detail, message)
        self.assertIn(detail, FAKE.violations()[-1])

    def test_violations_are_answered_400_and_recorded(self):
        dom = self.domain()
        path = A + '/SIP/Domains.json'
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com', 'Bogus': 1},
                              'unknown parameter Bogus')
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com',
                                             'VoiceMethod': 'PUT'},
                              "parameter VoiceMethod: 'PUT' not one of GET|POST")
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com', 'Secure': 'yes'},
                              "parameter Secure: 'yes' not a boolean")
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com', 'Secure': 'True'},
                              "parameter Secure: 'True' not a boolean")
        self.assert_violation('POST', path, {'FriendlyName': 'x'},
                              'missing required parameter DomainName')
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com', 'VoiceUrl': 'nope'},
                              'not an absolute URI')
        self.assert_violation('POST', path, {'DomainName': 'a.sip.twilio.com',
                                             'ByocTrunkSid': 'TK' + '0' * 32}, 'does not match')
        self.assert_violation('POST', path,
                              {'DomainName': ['a.sip.twilio.com', 'b.sip.twilio.com']},
                              'given 2 times')
        self.assert_violation('GET', path, {'PageSize': 0}, 'out of range')
        self.assert_violation('GET', path, {'PageSize': 1001}, 'out of range')
        self.assert_violation('GET', path, {'Foo': 1}, 'unknown query parameter Foo')
        self.assert_violation('GET', A + '/SIP/Domains/XX123.json', None, 'path parameter Sid')
        self.assert_violation('POST', A + '/IncomingPhoneNumbers.json', {'FriendlyName': 'x'},
                              'one of PhoneNumber, AreaCode is required')
        self.assert_violation('POST', '/v1/Trunks/' + dom['sid'], {}, 'path parameter Sid')
        self.assertEqual(len(FAKE.violations()), 14)
        self.assertEqual(FAKE.state()['sip_domain'][0]['sid'], dom['sid'])   # nothing created

    def test_content_type_and_body_on_get(self):
        auth = {'Authorization': 'Basic ' + base64.b64encode(
            f'{FAKE.account_sid}:{FAKE.auth_token}'.encode()).decode()}
        status, body, _ = FAKE._request('POST', '/v1/Trunks', b'{"FriendlyName": "x"}',
                                        dict(auth, **{'Content-Type': 'application/json'}))
        self.assertEqual(status, 400)
        self.assertIn('Content-Type must be application/x-www-form-urlencoded', body['message'])
        status, body, _ = FAKE._request('GET', '/v1/Trunks', b'FriendlyName=x', auth)
        self.assertEqual(status, 400)
        self.assertIn('unexpected request body on GET', body['message'])
        self.assertEqual(len(FAKE.violations()), 2)

    def test_empty_values_clear_urls_and_sids_only(self):
        self.violating = False
        self.domain(VoiceUrl='', ByocTrunkSid='')
        self.violating = True
        self.assert_violation('POST', '/v1/ConnectionPolicies/NY' + '0' * 32 + '/Targets',
                              {'Target': ''}, "parameter Target: '' not an absolute URI")


class FaultTest(FakeCase):
    def test_latency(self):
        FAKE.faults(latency_ms=300)
        t0 = time.time()
        self.call('GET', '/v1/Trunks', expect=200)
        self.assertGreaterEqual(time.time() - t0, 0.3)
        t0 = time.time()
        FAKE.stats()                      # control endpoints are never delayed
        self.assertLess(time.time() - t0, 0.25)

    def test_latency_includes_the_processing(self):
        # the state changes when the request comes in; the answer leaves latency_ms later
        FAKE.faults(latency_ms=1500)
        answered = []
        t = threading.Thread(target=lambda: answered.append(
            FAKE.api('POST', '/v1/ConnectionPolicies', {'FriendlyName': 'early'})[0]))
        t0 = time.time()
        t.start()
        while not FAKE.state()['connection_policy'] and time.time() - t0 < 1.2:
            time.sleep(0.01)
        seen = time.time() - t0
        self.assertEqual([p['friendly_name'] for p in FAKE.state()['connection_policy']], ['early'])
        self.assertLess(seen, 1.2)
        self.assertEqual(answered, [])
        t.join()
        self.assertEqual(answered, [201])
        self.assertGreaterEqual(time.time() - t0, 1.5)

    def test_429_and_500_are_not_processed(self):
        FAKE.faults(rate_429=1.0, rate_retry_after=1.0)
        status, body, headers = FAKE.api('POST', '/v1/ConnectionPolicies', {}, headers=True)
        self.assertEqual((status, body['code'], headers.get('Retry-After')), (429, 20429, '1'))
        FAKE.faults(rate_429=1.0, rate_retry_after=0.0)
        status, body, headers = FAKE.api('POST', '/v1/ConnectionPolicies', {}, headers=True)
        self.assertEqual((status, headers.get('Retry-After')), (429, None))
        FAKE.faults(rate_429=0.0, rate_500=1.0)
        self.assert_error(500, 20500, 'POST', '/v1/ConnectionPolicies', {})
        self.assertEqual(FAKE.state()['connection_policy'], [])
        self.assertEqual(FAKE.stats()['by_status'], {'429': 2, '500': 1})

    def test_drop_before_and_after_processing(self):
        FAKE.faults(rate_drop=1.0)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                urllib.error.URLError)):
            FAKE.api('POST', '/v1/ConnectionPolicies', {'FriendlyName': 'lost'})
        self.assertEqual(FAKE.state()['connection_policy'], [])
        FAKE.faults(rate_drop=0.0, rate_drop_after=1.0)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                urllib.error.URLError)):
            FAKE.api('POST', '/v1/ConnectionPolicies', {'FriendlyName': 'lost'})
        self.assertEqual([p['friendly_name'] for p in FAKE.state()['connection_policy']], ['lost'])
        log = FAKE.log()
        self.assertEqual([(e['status'], e['dropped']) for e in log], [(None, True), (201, True)])

    def test_concurrency_limit_under_parallel_load(self):
        FAKE.faults(concurrency=2, latency_ms=1000)
        results, start = [], threading.Barrier(6)

        def worker():
            start.wait()
            results.append(FAKE.api('GET', '/v1/Trunks')[0])
        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = FAKE.stats()
        self.assertEqual(sorted(results), [200, 200, 429, 429, 429, 429])
        self.assertEqual((stats['max_in_flight'], stats['throttled'], stats['requests']), (2, 4, 6))

    def test_concurrency_429_is_twilios_and_names_no_delay_unless_asked(self):
        FAKE.faults(concurrency=1, latency_ms=1000)
        answers, start = [], threading.Barrier(2)

        def worker(path):
            start.wait()
            answers.append(FAKE.api('GET', path, headers=True))
        threads = [threading.Thread(target=worker, args=(p,)) for p in ('/v1/Trunks', '/v1/ByocTrunks')]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # one account, one limit: the second product's request is refused too
        refused = [a for a in answers if a[0] == 429]
        self.assertEqual(len(refused), 1)
        status, body, headers = refused[0]
        self.assertEqual((body['code'], body['status'], body['message']), (20429, 429, 'Too Many Requests'))
        self.assertIsNone(headers.get('Retry-After'))
        # the option: a delay named on those 429s (and on those only)
        FAKE.faults(concurrency=1, latency_ms=300, concurrency_retry_after=2)
        answers.clear()
        start.reset()
        threads = [threading.Thread(target=worker, args=(p,)) for p in ('/v1/Trunks', '/v1/Trunks')]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(a[0] for a in answers), [200, 429])
        for status, _, headers in answers:
            self.assertEqual(headers.get('Retry-After'), '2' if status == 429 else None)

    def test_fail_all_status_spares_control_endpoints(self):
        FAKE.faults(fail_all_status=503)
        self.assert_error(503, 20503, 'GET', '/v1/Trunks')
        self.assertEqual(FAKE.faults()['fail_all_status'], 503)
        FAKE.reset()
        self.assertEqual(FAKE.faults()['fail_all_status'], 0)
        self.call('GET', '/v1/Trunks', expect=200)

    def test_seeded_faults_are_reproducible(self):
        runs = []
        for _ in range(2):
            with FakeTwilio(seed=7, rate_429=0.5) as fake:
                runs.append([fake.api('GET', '/v1/Trunks')[0] for _ in range(20)])
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(set(runs[0]), {200, 429})


class ControlTest(FakeCase):
    def test_log_stats_and_reset(self):
        self.trunk()
        self.call('GET', '/v1/Trunks', {'PageSize': 5}, 200)
        log = FAKE.log()
        self.assertEqual([(e['method'], e['path'], e['status']) for e in log],
                         [('POST', '/v1/Trunks', 201), ('GET', '/v1/Trunks', 200)])
        self.assertEqual(log[0]['form'], {'FriendlyName': ['t'],
                                          'DomainName': ['asterisk.pstn.twilio.com']})
        self.assertEqual(log[1]['query'], {'PageSize': ['5']})
        self.assertLessEqual(log[0]['t_start'], log[0]['t_end'])
        self.assertEqual(FAKE.stats(), {'requests': 2, 'by_status': {'201': 1, '200': 1},
                                        'max_in_flight': 1, 'throttled': 0, 'in_flight': 0})
        FAKE.clear_log()
        self.assertEqual(FAKE.log(), [])
        FAKE.reset()
        self.assertEqual((FAKE.state()['trunk'], FAKE.stats()['requests']), ([], 0))

    def test_faults_endpoint(self):
        self.assertEqual(FAKE.faults(), {'latency_ms': 0, 'rate_429': 0.0, 'rate_retry_after': 0.0,
                                         'rate_500': 0.0, 'rate_drop': 0.0, 'rate_drop_after': 0.0,
                                         'concurrency': 0, 'concurrency_retry_after': 0,
                                         'fail_all_status': 0,
                                         'build_polls': 2, 'list_lag': 0.0, 'fetch_lag': 0.0,
                                         'emergency_lag': 1.0, 'permissions_lag': 0.0,
                                         'build_visibility': 'upper', 'shuffle_versions': False,
                                         'omit_receive_mode': False,
                                         'purchase_ignores_receive_mode': False,
                                         'unset': 'spec', 'extra_fields': False,
                                         'short_pages': False, 'newest_first': False,
                                         'trailing_empty_page': False, 'realistic': False})
        self.assertEqual(FAKE.faults(rate_500=0.25)['rate_500'], 0.25)
        self.assertEqual(FAKE.faults()['latency_ms'], 0)
        with self.assertRaises(RuntimeError):
            FAKE.faults(nonsense=1)

    def test_insert_bypasses_uniqueness_but_not_the_spec(self):
        self.domain('dup.sip.twilio.com')
        made = FAKE.insert(A + '/SIP/Domains.json', {'DomainName': 'dup.sip.twilio.com',
                                                     'SipRegistration': True})
        self.assertTrue(made['sip_registration'])
        self.assertEqual(len(FAKE.state()['sip_domain']), 2)
        with self.assertRaises(RuntimeError):
            FAKE.insert(A + '/SIP/Domains.json', {'Nope': 1})
        self.assertEqual(FAKE.violations(), [])


# ------------------------------------------------------------------ addresses, emergency calling

ADDRESSES = A + '/Addresses.json'
HQ = dict(CustomerName='Move Wheels', FriendlyName='hq', Street='1 Main St', City='Springfield',
          Region='IL', PostalCode='62701', IsoCountry='US', EmergencyEnabled=True)


class AddressCase(FakeCase):
    def address(self, **params):
        return self.create(ADDRESSES, dict(HQ, **params))

    def link(self, num, sid, expect=200):
        return self.call('POST', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                         {'EmergencyAddressSid': sid}, expect)

    def fetch(self, num):
        return self.call('GET', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json', expect=200)

    def wait_status(self, num, status, timeout=5):
        deadline = time.time() + timeout
        while True:
            got = self.fetch(num)['emergency_address_status']
            if got == status or time.time() > deadline:
                self.assertEqual(got, status)
                return
            time.sleep(0.05)


class AddressTest(AddressCase):
    def test_create_fetch_list_filters_update_delete(self):
        hq = self.address(StreetSecondary='Suite 300')
        self.assertEqual(set(hq), spec_fields(A + '/Addresses/{Sid}.json'))
        self.assertRegex(hq['sid'], SID_RE % 'AD')
        self.assertEqual(hq['uri'], f'/2010-04-01/Accounts/{FAKE.account_sid}/Addresses/'
                                    f'{hq["sid"]}.json')
        self.assertEqual({k: hq[k] for k in ('customer_name', 'friendly_name', 'street',
                                             'street_secondary', 'city', 'region', 'postal_code',
                                             'iso_country', 'emergency_enabled', 'validated',
                                             'verified')},
                         {'customer_name': 'Move Wheels', 'friendly_name': 'hq',
                          'street': '1 Main St', 'street_secondary': 'Suite 300',
                          'city': 'Springfield', 'region': 'IL', 'postal_code': '62701',
                          'iso_country': 'US', 'emergency_enabled': True, 'validated': True,
                          'verified': False})
        self.assertRegex(hq['date_created'], RFC2822)
        uk = self.address(FriendlyName='london', CustomerName='Other', Street='1 high street',
                          City='London', Region='Greater London', PostalCode='SW1A 1AA',
                          IsoCountry='GB', EmergencyEnabled=False)
        self.assertEqual((uk['street'], uk['validated']), ('1 high street', False))  # as sent
        path = f'{A}/Addresses/{hq["sid"]}.json'
        self.assertEqual(self.call('GET', path, expect=200), hq)

        def listed(**q):
            return [a['sid'] for a in self.call('GET', ADDRESSES, q, 200)['addresses']]
        self.assertEqual(listed(), [hq['sid'], uk['sid']])
        self.assertEqual(listed(CustomerName='Other'), [uk['sid']])
        self.assertEqual(listed(FriendlyName='hq'), [hq['sid']])
        self.assertEqual(listed(EmergencyEnabled='true'), [hq['sid']])
        self.assertEqual(listed(EmergencyEnabled='false'), [uk['sid']])
        self.assertEqual(listed(IsoCountry='GB'), [uk['sid']])
        page = self.call('GET', ADDRESSES, {'PageSize': 1}, 200)
        self.assertEqual(set(page), ENVELOPE_2010 | {'addresses'})
        self.assertIsNotNone(page['next_page_uri'])
        got = self.call('POST', path, {'CustomerName': 'Renamed', 'StreetSecondary': ''}, 200)
        self.assertEqual((got['customer_name'], got['street'], got['street_secondary']),
                         ('Renamed', '1 Main St', ''))
        self.call('DELETE', path, expect=204)
        self.call('GET', path, expect=404)
        self.assertEqual(listed(), [uk['sid']])

    def test_required_parameters_and_iso_country_on_update(self):
        self.violating = True
        params = dict(HQ)
        del params['Street']
        message = self.assert_error(400, 20001, 'POST', ADDRESSES, params)
        self.assertIn('missing required parameter Street', message)
        hq = self.address()
        message = self.assert_error(400, 20001, 'POST', f'{A}/Addresses/{hq["sid"]}.json',
                                    {'IsoCountry': 'CA'})
        self.assertIn('unknown parameter IsoCountry', message)

    def test_friendly_name_length_depends_on_emergency(self):
        self.assert_error(400, 20002, 'POST', ADDRESSES, dict(HQ, FriendlyName='x' * 33))
        self.address(FriendlyName='x' * 32)
        reg = self.address(FriendlyName='y' * 64, EmergencyEnabled=False)
        self.assert_error(400, 20002, 'POST', ADDRESSES,
                          dict(HQ, FriendlyName='z' * 65, EmergencyEnabled=False))
        self.assert_error(400, 20002, 'POST', f'{A}/Addresses/{reg["sid"]}.json',
                          {'EmergencyEnabled': True})

    def test_validation_near_matches_and_auto_correct(self):
        for bad_params in ({'PostalCode': '6270'}, {'PostalCode': 'ABCDE'},
                           {'Region': 'Illinois'}, {'Region': 'XX'}, {'City': ' '}):
            message = self.assert_error(400, 21628, 'POST', ADDRESSES, dict(HQ, **bad_params))
            self.assertTrue(message.startswith('The address you have provided cannot be '
                                               'validated'), message)
        self.address(PostalCode='62701-1234')
        fixed = self.address(Street='1  main   street.', City='springfield', Region='il')
        self.assertEqual((fixed['street'], fixed['city'], fixed['region'], fixed['validated']),
                         ('1 Main St', 'Springfield', 'IL', True))
        self.assertEqual(self.address(Street='1 MAIN STREET')['street'], '1 MAIN ST')
        self.assertEqual(self.address(Street='645 Harrison St.', AutoCorrectAddress=True)
                         ['street'], '645 Harrison St')
        message = self.assert_error(400, 21629, 'POST', ADDRESSES,
                                    dict(HQ, Street='1 main street', AutoCorrectAddress=False))
        self.assertEqual(message, 'Failed to validate address. Check the suggested address. | '
                                  'FriendlyName: hq, CustomerName: Move Wheels, Street: 1 Main '
                                  'St, Locality: Springfield, Region: IL, PostalCode: 62701, '
                                  'IsoCountry: US')
        exact = self.address(AutoCorrectAddress=False)
        path = f'{A}/Addresses/{exact["sid"]}.json'
        self.assert_error(400, 21629, 'POST', path, {'Street': '2 Elm Avenue',
                                                     'AutoCorrectAddress': False})
        self.assertEqual(self.call('POST', path, {'Street': '2 Elm Avenue'}, 200)['street'],
                         '2 Elm Ave')
        self.assert_error(400, 21628, 'POST', path, {'PostalCode': '1'})
        self.assertEqual(self.call('GET', path, expect=200)['street'], '2 Elm Ave')
        ca = self.address(Street='1 Sussex Drive', City='Ottawa', Region='ON',
                          PostalCode='k1a0a9', IsoCountry='CA')
        self.assertEqual((ca['street'], ca['postal_code']), ('1 Sussex Dr', 'K1A 0A9'))
        self.assert_error(400, 21628, 'POST', ADDRESSES, dict(HQ, IsoCountry='CA'))

    def test_delete_refused_while_a_number_uses_it_and_dependent_numbers(self):
        hq, other = self.address(), self.address(FriendlyName='other')
        FAKE.faults(emergency_lag=0.2)
        a, b = self.number('+16505550100'), self.number('+16505550101')
        self.number('+16505550102')
        self.call('POST', f'{A}/IncomingPhoneNumbers/{a["sid"]}.json', {'AddressSid': hq['sid']},
                  200)
        self.link(b, hq['sid'])
        dep = A + f'/Addresses/{hq["sid"]}/DependentPhoneNumbers.json'
        body = self.call('GET', dep, expect=200)
        self.assertEqual(set(body), ENVELOPE_2010 | {'dependent_phone_numbers'})
        rows = body['dependent_phone_numbers']
        self.assertEqual([r['phone_number'] for r in rows], ['+16505550100', '+16505550101'])
        self.assertEqual(set(rows[0]), spec_fields(DEPENDENT_TEMPLATE))
        self.assertEqual(rows[0]['capabilities'], {'Voice': True, 'SMS': True, 'MMS': True})
        self.assertEqual(rows[1]['emergency_address_sid'], hq['sid'])
        self.assertEqual(self.call('GET', A + f'/Addresses/{other["sid"]}/DependentPhoneNumbers'
                                              '.json', expect=200)['dependent_phone_numbers'], [])
        self.call('GET', A + '/Addresses/AD' + '0' * 32 + '/DependentPhoneNumbers.json',
                  expect=404)
        path = f'{A}/Addresses/{hq["sid"]}.json'
        message = self.assert_error(400, 21625, 'DELETE', path)
        self.assertIn('+16505550100, +16505550101', message)
        self.call('POST', f'{A}/IncomingPhoneNumbers/{a["sid"]}.json', {'AddressSid': ''}, 200)
        self.assert_error(400, 21625, 'DELETE', path)            # b: emergency address
        self.link(b, '')
        self.assert_error(400, 21625, 'DELETE', path)            # b: pending-unregistration
        self.assertEqual(self.call('GET', dep, expect=200)['dependent_phone_numbers'], [])
        self.wait_status(b, 'unregistered')
        self.call('DELETE', path, expect=204)
        self.assert_error(400, 21631, 'POST', f'{A}/IncomingPhoneNumbers/{a["sid"]}.json',
                          {'AddressSid': hq['sid']})


DEPENDENT_TEMPLATE = A + '/Addresses/{AddressSid}/DependentPhoneNumbers.json'


class EmergencyTest(AddressCase):
    def setUp(self):
        super().setUp()
        FAKE.faults(emergency_lag=0.3)

    def test_link_registers_after_the_lag_and_unlink_unregisters(self):
        hq, num = self.address(), self.number()
        self.assertEqual((num['emergency_address_sid'], num['emergency_address_status'],
                          num['emergency_status']), (None, 'unregistered', 'Active'))
        got = self.link(num, hq['sid'])
        self.assertEqual((got['emergency_address_sid'], got['emergency_address_status']),
                         (hq['sid'], 'pending-registration'))
        self.assertEqual(self.fetch(num)['emergency_address_status'], 'pending-registration')
        [row] = FAKE.state()['incoming_number']
        self.assertEqual(row['emergency_next_status'], 'registered')
        self.assertLessEqual(row['emergency_due_in'], 0.3)
        time.sleep(0.35)
        self.assertEqual(self.fetch(num)['emergency_address_status'], 'registered')
        self.assertNotIn('emergency_next_status', FAKE.state()['incoming_number'][0])
        same = self.link(num, hq['sid'])                      # the same address: no change
        self.assertEqual(same['emergency_address_status'], 'registered')
        got = self.link(num, '')
        self.assertEqual((got['emergency_address_sid'], got['emergency_address_status']),
                         (None, 'pending-unregistration'))
        time.sleep(0.35)
        self.assertEqual(self.fetch(num)['emergency_address_status'], 'unregistered')
        self.assertEqual(self.link(num, '')['emergency_address_status'], 'unregistered')
        FAKE.faults(emergency_lag=0)
        self.assertEqual(self.link(num, hq['sid'])['emergency_address_status'], 'registered')
        self.assertEqual(self.link(num, '')['emergency_address_status'], 'unregistered')

    def test_documented_order_is_enforced(self):
        hq, new = self.address(), self.address(FriendlyName='new office')
        num = self.number()
        self.link(num, hq['sid'])
        for status in ('pending-registration', 'registered'):
            message = self.assert_error(400, 20001, 'POST',
                                        f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                                        {'EmergencyAddressSid': new['sid']})
            self.assertIn(f'emergency_address_status {status}', message)
            time.sleep(0.35)
        self.link(num, '')
        self.assert_error(400, 20001, 'POST', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                          {'EmergencyAddressSid': new['sid']})      # pending-unregistration
        self.wait_status(num, 'unregistered')
        self.link(num, new['sid'])
        self.wait_status(num, 'registered')
        self.assertEqual(self.fetch(num)['emergency_address_sid'], new['sid'])

    def test_address_must_be_an_emergency_address_of_the_account(self):
        plain, num = self.address(EmergencyEnabled=False), self.number()
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        self.assertIn('not an emergency address', self.assert_error(
            400, 20001, 'POST', path, {'EmergencyAddressSid': plain['sid']}))
        self.assertIn('not an Address of this account', self.assert_error(
            400, 20001, 'POST', path, {'EmergencyAddressSid': 'AD' + '0' * 32}))
        self.assertEqual(self.fetch(num)['emergency_address_status'], 'unregistered')
        hq = self.address()
        self.link(num, hq['sid'])
        self.assert_error(400, 21625, 'POST', f'{A}/Addresses/{hq["sid"]}.json',
                          {'EmergencyEnabled': False})

    def test_purchase_ignores_emergency_address_and_status_is_ignored(self):
        hq = self.address()
        FAKE.seed_available(['+16505550100'])
        num = self.create(A + '/IncomingPhoneNumbers.json',
                          {'PhoneNumber': '+16505550100', 'EmergencyAddressSid': hq['sid'],
                           'EmergencyStatus': 'Inactive'})
        self.assertEqual((num['emergency_address_sid'], num['emergency_address_status'],
                          num['emergency_status']), (None, 'unregistered', 'Active'))
        got = self.call('POST', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                        {'EmergencyStatus': 'Inactive'}, 200)
        self.assertEqual(got['emergency_status'], 'Active')
        made = FAKE.insert(A + '/IncomingPhoneNumbers.json',
                           {'PhoneNumber': '+16505550199', 'EmergencyAddressSid': hq['sid']})
        self.assertEqual((made['emergency_address_sid'], made['emergency_address_status']),
                         (hq['sid'], 'registered'))

    def test_release_refused_while_an_emergency_address_is_linked(self):
        hq, num = self.address(), self.number()
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        self.link(num, hq['sid'])
        for _ in ('pending-registration', 'registered', 'pending-unregistration'):
            self.assertIn('emergency address', self.assert_error(400, 20001, 'DELETE', path))
            if self.fetch(num)['emergency_address_status'] == 'registered':
                self.link(num, '')
            else:
                time.sleep(0.35)
        self.wait_status(num, 'unregistered')
        self.call('DELETE', path, expect=204)

    def test_registration_and_unregistration_failures(self):
        hq, other = self.address(), self.address(FriendlyName='other')
        num = self.number()
        self.assertEqual(FAKE.emergency_failures([num['phone_number']]),
                         {'failures': [{'phone_number': '+16505550100',
                                        'status': 'registration-failure'}]})
        self.link(num, hq['sid'])
        self.assertEqual(FAKE.emergency_failures(), {'failures': []})   # used up
        self.wait_status(num, 'registration-failure')
        self.assertEqual(self.fetch(num)['emergency_address_sid'], hq['sid'])
        self.assert_error(400, 20001, 'POST', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                          {'EmergencyAddressSid': other['sid']})
        self.assertEqual(self.link(num, '')['emergency_address_status'], 'unregistered')
        self.link(num, hq['sid'])
        self.wait_status(num, 'registered')                         # one failure only
        FAKE.emergency_failures([num['sid']], 'unregistration-failure')
        self.link(num, '')
        self.wait_status(num, 'unregistration-failure')
        self.assertIsNone(self.fetch(num)['emergency_address_sid'])
        self.assert_error(400, 21625, 'DELETE', f'{A}/Addresses/{hq["sid"]}.json')
        self.assert_error(400, 20001, 'DELETE', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json')
        self.assert_error(400, 20001, 'POST', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json',
                          {'EmergencyAddressSid': other['sid']})
        self.assertEqual(self.link(num, '')['emergency_address_status'], 'pending-unregistration')
        self.wait_status(num, 'unregistered')
        self.call('DELETE', f'{A}/Addresses/{hq["sid"]}.json', expect=204)
        with self.assertRaises(RuntimeError):
            FAKE.emergency_failures(['650'])
        with self.assertRaises(RuntimeError):
            FAKE.emergency_failures([num['phone_number']], 'registered')

    def test_sip_domain_emergency_caller(self):
        num = self.number()
        self.assert_error(400, 20001, 'POST', A + '/SIP/Domains.json',
                          {'DomainName': 'office.sip.twilio.com',
                           'EmergencyCallerSid': 'PN' + '0' * 32})
        dom = self.domain(EmergencyCallingEnabled=True, EmergencyCallerSid=num['sid'])
        self.assertEqual((dom['emergency_calling_enabled'], dom['emergency_caller_sid']),
                         (True, num['sid']))
        path = f'{A}/SIP/Domains/{dom["sid"]}.json'
        self.assertIsNone(self.call('POST', path, {'EmergencyCallerSid': ''}, 200)
                          ['emergency_caller_sid'])
        self.call('POST', path, {'EmergencyCallerSid': num['sid']}, 200)
        self.call('DELETE', f'{A}/IncomingPhoneNumbers/{num["sid"]}.json', expect=204)
        self.assertIsNone(self.call('GET', path, expect=200)['emergency_caller_sid'])


# ------------------------------------------------------------------ voice dialing permissions

DP = '/v1/DialingPermissions'
DP_FLAGS = ('low_risk_numbers_enabled', 'high_risk_special_numbers_enabled',
            'high_risk_tollfraud_numbers_enabled')


class DialingPermissionsTest(FakeCase):
    def countries(self, **query):
        out, link = [], DP + '/Countries'
        body = self.call('GET', link, dict(query), 200)
        while True:
            self.assertEqual(set(body), {'content', 'meta'})
            self.assertEqual(body['meta']['key'], 'content')
            out += body['content']
            link = body['meta']['next_page_url']
            if not link:
                return out
            self.assertTrue(link.startswith('https://voice.twilio.com/v1/DialingPermissions/'
                                            'Countries?'), link)
            body = self.call('GET', link.split('twilio.com', 1)[1], expect=200)

    def bulk(self, request, status=201):
        return self.call('POST', DP + '/BulkCountryUpdates', {'UpdateRequest': request}, status)

    def country(self, iso):
        got = self.call('GET', f'{DP}/Countries/{iso}', expect=200)
        return tuple(got[f] for f in DP_FLAGS)

    def test_countries_pages_fields_and_defaults(self):
        everything = self.countries(PageSize=100)
        isos = [c['iso_code'] for c in everything]
        self.assertEqual(len(isos), 244)
        self.assertEqual(isos, sorted(set(isos)))
        self.assertNotIn('CA', isos)           # in "United States/Canada"
        self.assertEqual(len(self.call('GET', DP + '/Countries', expect=200)['content']), 50)
        self.assertEqual(len(self.call('GET', DP + '/Countries', {'PageSize': 1000},
                                       200)['content']), 244)
        by = {c['iso_code']: c for c in everything}
        fields = spec_fields(DP + '/Countries/{IsoCode}')
        self.assertTrue(all(set(c) == fields for c in everything))
        url = 'https://voice.twilio.com/v1/DialingPermissions/Countries/US'
        self.assertEqual(by['US'], {'iso_code': 'US', 'name': 'United States/Canada',
                                    'country_codes': ['+1'], 'continent': 'NORTH_AMERICA',
                                    'low_risk_numbers_enabled': True,
                                    'high_risk_special_numbers_enabled': False,
                                    'high_risk_tollfraud_numbers_enabled': False, 'url': url,
                                    'links': {'highrisk_special_prefixes':
                                              url + '/HighRiskSpecialPrefixes'}})
        self.assertEqual(by['BS']['country_codes'], ['+1242'])
        self.assertEqual(by['DO']['country_codes'], ['+1809', '+1829', '+1849'])
        self.assertEqual((by['GB']['name'], by['GB']['continent'], by['GB']['country_codes']),
                         ('United Kingdom', 'EUROPE', ['+44']))
        self.assertEqual([c for c in everything if any(c[f] for f in DP_FLAGS)], [by['US']])
        self.assertEqual(self.call('GET', f'{DP}/Countries/GB', expect=200), by['GB'])
        self.call('GET', f'{DP}/Countries/ZZ', expect=404)
        self.assertEqual(self.call('GET', '/v1/Settings', expect=200),
                         {'dialing_permissions_inheritance': True,
                          'url': 'https://voice.twilio.com/v1/Settings'})

    def test_country_filters(self):
        def isos(**q):
            return [c['iso_code'] for c in self.countries(**q)]
        self.assertEqual(isos(IsoCode='GB'), ['GB'])
        europe = isos(Continent='EUROPE')
        self.assertIn('FR', europe)
        self.assertNotIn('US', europe)
        self.assertEqual(isos(Continent='north america'), isos(Continent='NORTH_AMERICA'))
        self.assertEqual(isos(CountryCode='+44'), ['GB', 'GG', 'IM', 'JE'])   # +44 shared
        self.assertEqual(isos(CountryCode='44'), isos(CountryCode='+44'))
        self.assertEqual(isos(CountryCode='+1242'), ['BS'])
        self.assertEqual(isos(LowRiskNumbersEnabled='true'), ['US'])
        self.assertEqual(len(isos(LowRiskNumbersEnabled='false')), 243)
        self.assertEqual(isos(HighRiskSpecialNumbersEnabled='true'), [])
        self.assertEqual(isos(Continent='EUROPE', HighRiskTollfraudNumbersEnabled='false'),
                         europe)
        page = self.call('GET', DP + '/Countries', {'Continent': 'EUROPE', 'PageSize': 5}, 200)
        self.assertIn('Continent=EUROPE&PageSize=5&Page=1&PageToken=',
                      page['meta']['next_page_url'])

    def test_high_risk_special_prefixes(self):
        body = self.call('GET', f'{DP}/Countries/LV/HighRiskSpecialPrefixes', expect=200)
        self.assertEqual(body['content'], [{'prefix': '+37181'}, {'prefix': '+37190'}])
        self.assertEqual(body['meta']['key'], 'content')
        empty = next(c['iso_code'] for c in self.countries(PageSize=1000)
                     if not self.call('GET', f'{DP}/Countries/{c["iso_code"]}/'
                                      'HighRiskSpecialPrefixes', expect=200)['content'])
        self.assertTrue(empty)
        self.call('GET', f'{DP}/Countries/ZZ/HighRiskSpecialPrefixes', expect=404)

    def test_bulk_updates_in_both_forms(self):
        got = self.bulk('[ { "iso_code": "GB", "low_risk_numbers_enabled": "true", '
                        '"high_risk_special_numbers_enabled":"true", '
                        '"high_risk_tollfraud_numbers_enabled": "false" } ]')
        self.assertEqual(got, {'update_count': 1, 'update_request': 'accepted'})
        self.assertEqual(self.country('GB'), (True, True, False))
        self.bulk('[{"iso_code": "GB", "low_risk_numbers": "Enabled", "high_risk_special_numbers":'
                  '"Disabled", "high_risk_irsf_numbers": "Enabled"}]')        # the spec's form
        self.assertEqual(self.country('GB'), (True, False, True))
        self.bulk("[{'iso_code': 'US', 'low_risk_numbers_enabled': 'false'}]")  # sample-code's
        self.assertEqual(self.country('US'), (False, False, False))
        got = self.bulk(json.dumps([{'iso_code': iso, 'low_risk_numbers_enabled': True,
                                     'high_risk_special_numbers_enabled': False,
                                     'high_risk_tollfraud_numbers_enabled': False}
                                    for iso in ('FR', 'DE', 'lv')]))
        self.assertEqual(got['update_count'], 3)
        self.assertEqual([self.country(i) for i in ('FR', 'DE', 'LV')], [(True, False, False)] * 3)
        self.bulk('[{"iso_code": "FR", "high_risk_special_numbers_enabled": "true"}]')
        self.assertEqual(self.country('FR'), (True, True, False))          # others unchanged
        for bad_request in ('not json', '{[{"iso_code": "GB"}]}', '{"iso_code": "GB"}', '[]',
                            '["GB"]', '[{"iso_code": "ZZ", "low_risk_numbers_enabled": "true"}]',
                            '[{"low_risk_numbers_enabled": "true"}]',
                            '[{"iso_code": "GB", "low_risk": "true"}]',
                            '[{"iso_code": "GB", "low_risk_numbers_enabled": "yes"}]',
                            '[{"iso_code": "GB"}, {"iso_code": "GB"}]',
                            '[{"iso_code": "GB", "low_risk_numbers": "Enabled", '
                            '"low_risk_numbers_enabled": "false"}]',
                            '[{"iso_code": "DE", "low_risk_numbers_enabled": "false"}, '
                            '{"iso_code": "XX"}]'):
            message = self.assert_error(400, 20001, 'POST', DP + '/BulkCountryUpdates',
                                        {'UpdateRequest': bad_request})
            self.assertTrue(message.startswith('Invalid UpdateRequest: '), message)
        self.assertEqual(self.country('DE'), (True, False, False))         # nothing applied

    def test_permissions_lag(self):
        FAKE.faults(permissions_lag=0.3)
        self.assertEqual(self.bulk('[{"iso_code": "GB", "low_risk_numbers_enabled": "true"}]'),
                         {'update_count': 1, 'update_request': 'accepted'})
        self.assertEqual(self.country('GB'), (False, False, False))
        [pending] = FAKE.dialing_permissions()['pending']
        self.assertEqual(pending['countries'], {'GB': {'low_risk_numbers_enabled': True}})
        self.assertLessEqual(pending['due_in'], 0.3)
        time.sleep(0.35)
        self.assertEqual(self.country('GB'), (True, False, False))
        self.assertEqual(FAKE.dialing_permissions()['pending'], [])

    def test_settings(self):
        got = self.call('POST', '/v1/Settings', {'DialingPermissionsInheritance': False}, 202)
        self.assertEqual(got, {'dialing_permissions_inheritance': False,
                               'url': 'https://voice.twilio.com/v1/Settings'})
        self.assertFalse(self.call('GET', '/v1/Settings', expect=200)
                         ['dialing_permissions_inheritance'])
        self.assertTrue(self.call('POST', '/v1/Settings', {}, 202)
                        ['dialing_permissions_inheritance'] is False)

    def test_control_endpoint_state_and_reset(self):
        perms = FAKE.dialing_permissions()
        self.assertEqual(len(perms['countries']), 244)
        self.assertEqual(perms['countries']['US'], dict(zip(DP_FLAGS, (True, False, False))))
        self.assertEqual((perms['dialing_permissions_inheritance'], perms['pending']), (True, []))
        got = FAKE.dialing_permissions({'GB': {'high_risk_tollfraud_numbers_enabled': True}},
                                       inheritance=False)
        self.assertEqual(got['countries']['GB'], dict(zip(DP_FLAGS, (False, False, True))))
        self.assertEqual(self.country('GB'), (False, False, True))
        state = FAKE.state()['dialing_permissions']
        self.assertEqual(sorted(state['countries']), ['GB', 'US'])
        self.assertFalse(state['dialing_permissions_inheritance'])
        got = FAKE.dialing_permissions(defaults=True)
        self.assertEqual(sorted(c for c, f in got['countries'].items() if any(f.values())),
                         ['US'])
        self.assertFalse(got['dialing_permissions_inheritance'])          # not a permission
        for bad_data in ({'ZZ': {'low_risk_numbers_enabled': True}},
                         {'GB': {'low_risk': True}}, {'GB': {'low_risk_numbers_enabled': 1}}):
            with self.assertRaises(RuntimeError):
                FAKE.dialing_permissions(bad_data)
        FAKE.dialing_permissions({'GB': {'low_risk_numbers_enabled': True}}, inheritance=False)
        FAKE.reset()
        self.assertEqual(sorted(FAKE.state()['dialing_permissions']['countries']), ['US'])
        self.assertTrue(self.call('GET', '/v1/Settings', expect=200)
                        ['dialing_permissions_inheritance'])

    def test_spec_checks(self):
        self.violating = True
        self.assert_error(400, 20001, 'GET', DP + '/Countries', {'PageSize': 1001})
        self.assert_error(400, 20001, 'GET', DP + '/Countries/gb')
        self.assert_error(400, 20001, 'POST', DP + '/BulkCountryUpdates', {})
        self.assert_error(400, 20001, 'GET', DP + '/Countries', {'Nope': 1})


# ---------------------------------------------------------------------------------- Serverless

SV = '/v1/Services'
CODE = 'exports.handler = (context, event, callback) => callback(null, "hello");\n'
BOUNDARY = '----twprovFormBoundary7MA4YWxkTrZu0gW'


def multipart_body(parts, boundary=BOUNDARY):
    """A multipart/form-data body built by hand: (name, value) is a field, (name, filename,
    content type or None, bytes) a file part."""
    out = []
    for part in parts:
        out.append(f'--{boundary}\r\n'.encode())
        if len(part) == 2:
            out.append(f'Content-Disposition: form-data; name="{part[0]}"\r\n\r\n'.encode()
                       + part[1].encode() + b'\r\n')
        else:
            name, filename, content_type, data = part
            head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            if content_type:
                head += f'Content-Type: {content_type}\r\n'
            out.append(head.encode() + b'\r\n' + data + b'\r\n')
    out.append(f'--{boundary}--\r\n'.encode())
    return b''.join(out)


def raw(method, path, body=None, content_type=None):
    """An authenticated request with a body sent as is: (status, JSON body or None)."""
    headers = {'Authorization': FAKE._auth_header()}
    if content_type:
        headers['Content-Type'] = content_type
    status, out, _ = FAKE._request(method, path, body, headers)
    return status, out


def upload(path, parts, boundary=BOUNDARY):
    return raw('POST', path, multipart_body(parts, boundary),
               f'multipart/form-data; boundary={boundary}')


def version_parts(path, data, visibility='protected', filename='hello.js',
                  content_type='application/javascript'):
    return [('Path', path), ('Visibility', visibility), ('Content', filename, content_type, data)]


class ServerlessCase(FakeCase):
    def service(self, name='office-voice', friendly='Office voice', **params):
        return self.create(SV, dict(UniqueName=name, FriendlyName=friendly, **params))

    def environment(self, svc, name='production', **params):
        return self.create(f'{SV}/{svc["sid"]}/Environments', dict(UniqueName=name, **params))

    def function(self, svc, name='hello'):
        return self.create(f'{SV}/{svc["sid"]}/Functions', {'FriendlyName': name})

    def asset(self, svc, name='logo'):
        return self.create(f'{SV}/{svc["sid"]}/Assets', {'FriendlyName': name})

    def fversion(self, svc, fn, path='/hello', code=CODE, visibility='protected'):
        status, body = upload(f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions',
                              version_parts(path, code.encode(), visibility))
        self.assertEqual(status, 201, body)
        return body

    def aversion(self, svc, asset, path='/logo.png', data=bytes(range(256)), visibility='public'):
        status, body = upload(f'{SV}/{svc["sid"]}/Assets/{asset["sid"]}/Versions',
                              version_parts(path, data, visibility, 'logo.png', 'image/png'))
        self.assertEqual(status, 201, body)
        return body

    def build(self, svc, fvs=(), avs=(), **params):
        return self.create(f'{SV}/{svc["sid"]}/Builds',
                           dict(params, FunctionVersions=[v['sid'] for v in fvs],
                                AssetVersions=[v['sid'] for v in avs]))

    def finish(self, svc, build):
        """Poll the build's Status until it is no longer building; the statuses seen."""
        seen = []
        while not seen or seen[-1] == 'building':
            self.assertLess(len(seen), 20)
            seen.append(self.call('GET', f'{SV}/{svc["sid"]}/Builds/{build["sid"]}/Status',
                                  expect=200)['status'])
        return seen

    def deploy(self, svc, env, build):
        return self.create(f'{SV}/{svc["sid"]}/Environments/{env["sid"]}/Deployments',
                           {'BuildSid': build['sid']})

    def deployed_service(self):
        """A service with a production environment serving one function and one asset."""
        svc = self.service()
        env, fn, asset = self.environment(svc), self.function(svc), self.asset(svc)
        fv, av = self.fversion(svc, fn), self.aversion(svc, asset)
        build = self.build(svc, [fv], [av])
        self.finish(svc, build)
        self.deploy(svc, env, build)
        return dict(svc=svc, env=env, fn=fn, asset=asset, fv=fv, av=av, build=build,
                    s=f'{SV}/{svc["sid"]}')


class ServerlessEnvelopeTest(ServerlessCase):
    def test_lists_have_their_key_and_absolute_serverless_urls(self):
        d = self.deployed_service()
        s, e = d['s'], f'{d["s"]}/Environments/{d["env"]["sid"]}'
        self.create(e + '/Variables', {'Key': 'GREETING', 'Value': 'hi'})
        lists = {SV: 'services', s + '/Environments': 'environments',
                 s + '/Functions': 'functions', s + '/Assets': 'assets', s + '/Builds': 'builds',
                 f'{s}/Functions/{d["fn"]["sid"]}/Versions': 'function_versions',
                 f'{s}/Assets/{d["asset"]["sid"]}/Versions': 'asset_versions',
                 e + '/Deployments': 'deployments', e + '/Variables': 'variables',
                 e + '/Logs': 'logs'}
        for path, key in lists.items():
            body = self.call('GET', path, expect=200)
            self.assertEqual(set(body), {key, 'meta'}, path)
            url = f'https://serverless.twilio.com{path}?PageSize=50&Page=0'
            self.assertEqual(body['meta'], {'page': 0, 'page_size': 50, 'key': key,
                                            'first_page_url': url, 'url': url,
                                            'previous_page_url': None, 'next_page_url': None})
            self.assertEqual(len(body[key]), 0 if key == 'logs' else 1, path)
        self.assert_error(404, 20404, 'GET', e + '/Logs/NO' + '0' * 32)

    def test_every_spec_field_is_present_with_sids_dates_and_urls(self):
        d = self.deployed_service()
        s, svc = d['s'], d['svc']
        env_path = f'{s}/Environments/{d["env"]["sid"]}'
        var = self.create(env_path + '/Variables', {'Key': 'K', 'Value': 'v'})
        [dep] = self.call('GET', env_path + '/Deployments', expect=200)['deployments']
        e = '/v1/Services/{ServiceSid}/Environments/{EnvironmentSid}'
        cases = [
            (svc, '/v1/Services/{Sid}', 'ZS', {}),
            (d['env'], '/v1/Services/{ServiceSid}/Environments/{Sid}', 'ZE', {}),
            (d['fn'], '/v1/Services/{ServiceSid}/Functions/{Sid}', 'ZH', {}),
            (d['asset'], '/v1/Services/{ServiceSid}/Assets/{Sid}', 'ZH', {}),
            (d['fv'], '/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}', 'ZN',
             {'FunctionSid': d['fn']['sid']}),
            (d['av'], '/v1/Services/{ServiceSid}/Assets/{AssetSid}/Versions/{Sid}', 'ZN',
             {'AssetSid': d['asset']['sid']}),
            (d['build'], '/v1/Services/{ServiceSid}/Builds/{Sid}', 'ZB', {}),
            (dep, e + '/Deployments/{Sid}', 'ZD', {'EnvironmentSid': d['env']['sid']}),
            (var, e + '/Variables/{Sid}', 'ZV', {'EnvironmentSid': d['env']['sid']}),
        ]
        for body, template, prefix, parents in cases:
            self.assertEqual(set(body), spec_fields(template), template)
            self.assertRegex(body['sid'], SID_RE % prefix)
            self.assertEqual(body['account_sid'], FAKE.account_sid)
            self.assertRegex(body['date_created'], ISO8601)
            if prefix != 'ZS':
                self.assertEqual(body['service_sid'], svc['sid'])
            sids = dict(parents, ServiceSid=svc['sid'], Sid=body['sid'])
            path = re.sub(r'\{(\w+)\}', lambda m: sids[m[1]], template)
            self.assertEqual(body['url'], 'https://serverless.twilio.com' + path)
            fetched = self.call('GET', path, expect=200)
            if prefix in ('ZE', 'ZB'):      # deployed since / polled since
                self.assertEqual(fetched['sid'], body['sid'])
            else:
                self.assertEqual(fetched, body)
        self.assertEqual(svc['links'], {k: svc['url'] + '/' + k.capitalize()
                                        for k in ('environments', 'functions', 'assets',
                                                  'builds')})
        self.assertEqual(d['env']['links'], {k: d['env']['url'] + '/' + k.capitalize()
                                             for k in ('variables', 'deployments', 'logs')})
        self.assertEqual(d['fn']['links'], {'function_versions': d['fn']['url'] + '/Versions'})
        self.assertEqual(d['asset']['links'], {'asset_versions': d['asset']['url'] + '/Versions'})
        self.assertEqual(d['fv']['links'],
                         {'function_version_content': d['fv']['url'] + '/Content'})
        self.assertEqual(d['build']['links'], {'build_status': d['build']['url'] + '/Status'})
        content = self.call('GET', d['fv']['url'][len('https://serverless.twilio.com'):]
                            + '/Content', expect=200)
        self.assertEqual(set(content), spec_fields(
            '/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}/Content'))
        status = self.call('GET', f'{s}/Builds/{d["build"]["sid"]}/Status', expect=200)
        self.assertEqual(status, {'sid': d['build']['sid'], 'account_sid': FAKE.account_sid,
                                  'service_sid': svc['sid'], 'status': 'completed',
                                  'url': d['build']['url'] + '/Status'})

    def test_pages_link_to_serverless(self):
        svc = self.service()
        sids = [self.function(svc, f'f{i}')['sid'] for i in range(3)]
        body = self.call('GET', f'{SV}/{svc["sid"]}/Functions', {'PageSize': 2}, 200)
        nxt = body['meta']['next_page_url']
        self.assertTrue(nxt.startswith(f'https://serverless.twilio.com/v1/Services/{svc["sid"]}'
                                       f'/Functions?PageSize=2&Page=1&PageToken=PA'), nxt)
        rest = self.call('GET', nxt[len('https://serverless.twilio.com'):], expect=200)
        self.assertEqual([f['sid'] for f in body['functions'] + rest['functions']], sids)


class ServerlessRulesTest(ServerlessCase):
    def test_services_unique_name_domain_base_and_update(self):
        svc = self.service('office-voice')
        self.assertRegex(svc['domain_base'], r'^office-voice-\d{4}$')
        self.assertEqual((svc['include_credentials'], svc['ui_editable']), (True, False))
        msg = self.assert_error(409, 20409, 'POST', SV, {'UniqueName': 'Office-Voice',
                                                         'FriendlyName': 'again'})
        self.assertIn('already exists', msg)
        for name in ('x' * 51, 'has space', 'under_score'):
            self.assert_error(400, 20001, 'POST', SV, {'UniqueName': name, 'FriendlyName': 'f'})
        self.assert_error(400, 20002, 'POST', SV, {'UniqueName': 'long-name',
                                                   'FriendlyName': 'f' * 256})
        self.service('y' * 50, friendly='f' * 255)
        got = self.call('POST', f'{SV}/office-voice', {'FriendlyName': 'Renamed',
                                                       'UiEditable': True}, 200)
        self.assertEqual((got['sid'], got['friendly_name'], got['ui_editable'], got['unique_name'],
                          got['domain_base']),
                         (svc['sid'], 'Renamed', True, 'office-voice', svc['domain_base']))
        # the unique name stands for the SID, in nested paths too; URLs name the SID
        self.assertEqual(self.call('GET', f'{SV}/office-voice', expect=200)['sid'], svc['sid'])
        fn = self.create(f'{SV}/office-voice/Functions', {'FriendlyName': 'f'})
        self.assertEqual(fn['url'], f'{svc["url"]}/Functions/{fn["sid"]}')
        self.call('GET', f'{SV}/office-voice/Functions/{fn["sid"]}', expect=200)
        self.assert_error(404, 20404, 'GET', f'{SV}/nobody/Functions')
        self.call('DELETE', f'{SV}/office-voice', expect=204)
        self.assert_error(404, 20404, 'GET', f'{SV}/{svc["sid"]}')
        self.service('office-voice')            # the name is free again

    def test_environment_domains_and_uniqueness(self):
        svc = self.service()
        base = svc['domain_base']
        prod = self.environment(svc)
        self.assertEqual((prod['domain_suffix'], prod['domain_name'], prod['build_sid']),
                         (None, f'{base}.twil.io', None))
        stage = self.environment(svc, 'staging', DomainSuffix='stage')
        self.assertEqual((stage['domain_suffix'], stage['domain_name']),
                         ('stage', f'{base}-stage.twil.io'))
        envs = f'{SV}/{svc["sid"]}/Environments'
        for params in ({'UniqueName': 'production', 'DomainSuffix': 'other'},
                       {'UniqueName': 'other', 'DomainSuffix': 'STAGE'},
                       {'UniqueName': 'other'}):           # a second domain without suffix
            msg = self.assert_error(409, 20409, 'POST', envs, params)
            self.assertEqual(msg, 'Environment with this UniqueName or DomainSuffix already '
                                  'exists.')
        for params in ({'UniqueName': 'u' * 101, 'DomainSuffix': 'a'},
                       {'UniqueName': 'x', 'DomainSuffix': 's' * 17},
                       {'UniqueName': 'x', 'DomainSuffix': 'no_good'}):
            self.assert_error(400, 20001, 'POST', envs, params)
        other = self.service('other-service')       # names are unique per service only
        self.assertEqual(self.environment(other)['domain_name'],
                         f'{other["domain_base"]}.twil.io')

    def test_function_and_asset_names(self):
        svc = self.service()
        for coll in ('Functions', 'Assets'):
            path = f'{SV}/{svc["sid"]}/{coll}'
            self.assert_error(400, 20002, 'POST', path, {'FriendlyName': 'n' * 256})
            made = self.create(path, {'FriendlyName': 'n' * 255})
            self.create(path, {'FriendlyName': 'n' * 255})        # not unique
            got = self.call('POST', f'{path}/{made["sid"]}', {'FriendlyName': 'renamed'}, 200)
            self.assertEqual(got['friendly_name'], 'renamed')
        self.assert_error(404, 20404, 'GET', f'{SV}/{svc["sid"]}/Functions/ZH' + '0' * 32)
        other = self.service('other')
        fn = self.function(svc)
        self.assert_error(404, 20404, 'GET', f'{SV}/{other["sid"]}/Functions/{fn["sid"]}')

    def test_variables(self):
        svc = self.service()
        env = self.environment(svc)
        path = f'{SV}/{svc["sid"]}/Environments/{env["sid"]}/Variables'
        var = self.create(path, {'Key': 'API_TOKEN', 'Value': 's3cr3t value'})
        self.assertEqual((var['key'], var['value'], var['environment_sid']),
                         ('API_TOKEN', 's3cr3t value', env['sid']))
        self.assert_error(409, 20409, 'POST', path, {'Key': 'API_TOKEN', 'Value': 'x'})
        self.create(path, {'Key': 'api_token', 'Value': 'x'})       # keys are case-sensitive
        self.assert_error(400, 20001, 'POST', path, {'Key': 'K' * 129, 'Value': 'x'})
        self.create(path, {'Key': 'K' * 128, 'Value': 'v' * 450})
        self.assert_error(400, 20001, 'POST', path, {'Key': 'WIDE', 'Value': 'é' * 226})
        self.create(path, {'Key': 'WIDE', 'Value': 'é' * 225})       # 450 bytes
        inst = f'{path}/{var["sid"]}'
        got = self.call('POST', inst, {'Value': 'rotated'}, 200)
        self.assertEqual((got['key'], got['value']), ('API_TOKEN', 'rotated'))
        self.assert_error(409, 20409, 'POST', inst, {'Key': 'WIDE'})
        self.assert_error(400, 20001, 'POST', inst, {'Value': 'x' * 451})
        self.call('DELETE', inst, expect=204)
        self.assert_error(404, 20404, 'GET', inst)
        stage = self.environment(svc, 'stage', DomainSuffix='stage')  # per environment
        self.create(f'{SV}/{svc["sid"]}/Environments/{stage["sid"]}/Variables',
                    {'Key': 'WIDE', 'Value': 'x'})


class ServerlessUploadTest(ServerlessCase):
    def test_function_upload_content_readback_and_log(self):
        svc = self.service()
        fn = self.function(svc)
        versions = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'
        code = 'exports.handler = function(c, e, cb) {\r\n  cb(null, "é");\n};\n\n'
        FAKE.clear_log()
        status, fv = upload(versions, version_parts('hello/world', code.encode(), 'public'))
        self.assertEqual(status, 201, fv)
        self.assertEqual((fv['path'], fv['visibility'], fv['function_sid'], fv['service_sid']),
                         ('/hello/world', 'public', fn['sid'], svc['sid']))
        self.assertEqual(fv['url'], f'https://serverless.twilio.com{versions}/{fv["sid"]}')
        content = self.call('GET', f'{versions}/{fv["sid"]}/Content', expect=200)
        self.assertEqual(content, {'sid': fv['sid'], 'account_sid': FAKE.account_sid,
                                   'service_sid': svc['sid'], 'function_sid': fn['sid'],
                                   'content': code, 'url': fv['url'] + '/Content'})
        [entry] = [e for e in FAKE.log() if e['method'] == 'POST']
        digest = hashlib.sha256(code.encode()).hexdigest()
        self.assertEqual((entry['path'], entry['status'], entry['form']),
                         (versions, 201, {'Path': ['hello/world'], 'Visibility': ['public']}))
        self.assertEqual(entry['files'], {'Content': {
            'filename': 'hello.js', 'content_type': 'application/javascript',
            'size': len(code.encode()), 'sha256': digest}})
        [row] = FAKE.state()['function_version']
        self.assertEqual((row['sha256'], row['size'], row['parent_sid']),
                         (digest, len(code.encode()), fn['sid']))
        self.assertNotIn('content', row)
        listed = self.call('GET', versions, expect=200)['function_versions']
        self.assertEqual(listed, [fv])
        second = self.fversion(svc, fn, '/hello/world', 'exports.handler = () => {};')
        self.assertEqual([v['sid'] for v in self.call('GET', versions, expect=200)
                          ['function_versions']], [fv['sid'], second['sid']])
        self.assertEqual(self.call('GET', f'{versions}/{fv["sid"]}/Content', expect=200)
                         ['content'], code)          # versions are immutable

    def test_asset_upload_binary_and_no_content_endpoint(self):
        svc = self.service()
        asset = self.asset(svc)
        data = bytes(range(256)) * 3 + b'\r\n--' + BOUNDARY.encode() + b'x\r\n'
        av = self.aversion(svc, asset, 'audio/greeting.mp3', data, 'private')
        self.assertEqual((av['path'], av['visibility'], av['asset_sid']),
                         ('/audio/greeting.mp3', 'private', asset['sid']))
        [row] = FAKE.state()['asset_version']
        self.assertEqual((row['sha256'], row['size'], row['content_type']),
                         (hashlib.sha256(data).hexdigest(), len(data), 'image/png'))
        self.violating = True          # Twilio has no way to read an asset's content back
        self.assert_error(404, 20404, 'GET', f'{SV}/{svc["sid"]}/Assets/{asset["sid"]}/Versions/'
                          f'{av["sid"]}/Content')

    def test_quoted_boundary_preamble_and_fakeclient_helper(self):
        svc = self.service()
        fn = self.function(svc)
        versions = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'
        body = (b'this preamble is ignored\r\n' +
                multipart_body(version_parts('/q', b'// quoted'), 'q b') + b'epilogue\r\n')
        status, fv = raw('POST', versions, body, 'multipart/form-data; boundary="q b"')
        self.assertEqual((status, fv['path']), (201, '/q'))
        status, fv2 = FAKE.upload(svc['sid'], f'Functions/{fn["sid"]}', '/helper', b'// h\n',
                                  content_type='application/javascript')
        self.assertEqual((status, fv2['path'], fv2['visibility']), (201, '/helper', 'protected'))
        self.assertEqual(self.call('GET', f'{versions}/{fv2["sid"]}/Content', expect=200)
                         ['content'], '// h\n')

    def test_path_and_size_limits_and_missing_parents(self):
        svc = self.service()
        fn, asset = self.function(svc), self.asset(svc)
        versions = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'
        self.fversion(svc, fn, 'p' * 254)                         # 255 with its slash
        for path in ('p' * 255, '/' + 'p' * 255):
            status, body = upload(versions, version_parts(path, b'x'))
            self.assertEqual((status, body['code']), (400, 20001), body)
        big = b'\0' * (25 * 1024 * 1024 + 1)
        status, body = upload(f'{SV}/{svc["sid"]}/Assets/{asset["sid"]}/Versions',
                              version_parts('/big.bin', big, 'public'))
        self.assertEqual((status, body['code']), (400, 20001), body)
        self.assertIn('25 MB', body['message'])
        self.assertEqual(FAKE.state()['asset_version'], [])
        for path in (f'{SV}/{svc["sid"]}/Functions/ZH{"0" * 32}/Versions',
                     f'{SV}/ZS{"0" * 32}/Functions/{fn["sid"]}/Versions',
                     f'{SV}/{self.service("other")["sid"]}/Functions/{fn["sid"]}/Versions'):
            status, body = upload(path, version_parts('/x', b'x'))
            self.assertEqual((status, body['code']), (404, 20404), path)


class ServerlessBuildTest(ServerlessCase):
    def test_build_progression_and_response(self):
        svc = self.service()
        fv = self.fversion(svc, self.function(svc))
        av = self.aversion(svc, self.asset(svc))
        deps = [{'name': 'twilio', 'version': '^5.3.0'}, {'name': '@twilio/runtime-handler',
                                                          'version': '2.0.1'}]
        build = self.build(svc, [fv], [av], Dependencies=json.dumps(deps), Runtime='node20')
        self.assertEqual((build['status'], build['runtime'], build['dependencies']),
                         ('building', 'node20', deps))
        self.assertEqual(build['function_versions'], [{
            'sid': fv['sid'], 'account_sid': FAKE.account_sid, 'service_sid': svc['sid'],
            'function_sid': fv['function_sid'], 'date_created': fv['date_created'],
            'path': '/hello', 'visibility': 'PROTECTED'}])     # upper case: the spec's examples
        self.assertEqual(build['asset_versions'], [{
            'sid': av['sid'], 'account_sid': FAKE.account_sid, 'service_sid': svc['sid'],
            'asset_sid': av['asset_sid'], 'date_created': av['date_created'],
            'path': '/logo.png', 'visibility': 'PUBLIC'}])
        # listing does not advance a build; reads of the build and of its Status do
        builds = f'{SV}/{svc["sid"]}/Builds'
        self.assertEqual(self.call('GET', builds, expect=200)['builds'][0]['status'], 'building')
        self.assertEqual(self.call('GET', f'{builds}/{build["sid"]}', expect=200)['status'],
                         'building')
        self.assertEqual(self.finish(svc, build), ['building', 'completed'])
        self.assertEqual(self.call('GET', builds, expect=200)['builds'][0]['status'], 'completed')
        FAKE.faults(build_polls=0)
        quick = self.build(svc, [fv])
        self.assertEqual((quick['status'], quick['runtime'], quick['dependencies'],
                          quick['asset_versions']), ('building', 'node22', [], []))
        self.assertEqual(self.finish(svc, quick), ['completed'])
        FAKE.faults(build_polls=5)
        self.assertEqual(self.finish(svc, self.build(svc, avs=[av])),
                         ['building'] * 5 + ['completed'])

    def test_dependency_spellings(self):
        svc = self.service()
        fv = self.fversion(svc, self.function(svc))
        deps = [{'name': 'lodash', 'version': '4.17.21'}]
        for spelling in ('"' + json.dumps(deps) + '"',           # as the Serverless Toolkit
                         json.dumps(json.dumps(deps)), '  ' + json.dumps(deps)):
            self.assertEqual(self.build(svc, [fv], Dependencies=spelling)['dependencies'], deps)
        for bad in ('not json', '{"name": "x"}', '[{"name": "x"}]', '[1]'):
            self.assert_error(400, 20001, 'POST', f'{SV}/{svc["sid"]}/Builds',
                              {'FunctionVersions': fv['sid'], 'Dependencies': bad})

    def test_failed_builds(self):
        svc = self.service()
        fn = self.function(svc)
        good = self.fversion(svc, fn)
        marked = self.fversion(svc, fn, code='// FAKE_BUILD_FAIL\n')
        cases = [([good], [{'name': 'Not A Name', 'version': '1.0.0'}], 'not a valid npm'),
                 ([good], [{'name': 'twilio', 'version': 'banana'}], 'not a semver range'),
                 ([marked], [], 'contains FAKE_BUILD_FAIL')]
        for fvs, deps, reason in cases:
            build = self.build(svc, fvs, Dependencies=json.dumps(deps))
            self.assertEqual(self.finish(svc, build), ['building', 'building', 'failed'])
            self.assertEqual(self.call('GET', f'{SV}/{svc["sid"]}/Builds/{build["sid"]}',
                                       expect=200)['status'], 'failed')
            row = [b for b in FAKE.state()['build'] if b['sid'] == build['sid']][0]
            self.assertIn(reason, row['fail_reason'])
        fine = ['1.2.3', '^1.2.3', '~1.2', '>=1.0.0 <2.0.0', '1.x', '*', 'latest',
                '1.0.0 - 2.0.0', '^1 || ^2', '2.0.0-beta.1']
        build = self.build(svc, [good], Dependencies=json.dumps(
            [{'name': f'pkg{i}', 'version': v} for i, v in enumerate(fine)] +
            [{'name': '@scope/pkg', 'version': '1.0.0'}]))
        self.assertEqual(self.finish(svc, build)[-1], 'completed')
        self.assertIsNone([b for b in FAKE.state()['build']
                           if b['sid'] == build['sid']][0]['fail_reason'])

    def test_build_validation(self):
        svc, other = self.service(), self.service('other')
        fn, asset = self.function(svc), self.asset(svc)
        fv, av = self.fversion(svc, fn), self.aversion(svc, asset)
        foreign = self.fversion(other, self.function(other))
        builds = f'{SV}/{svc["sid"]}/Builds'
        msg = self.assert_error(400, 20001, 'POST', builds, {'Runtime': 'node22'})
        self.assertEqual(msg, 'At least one Function Version or Asset Version is required for '
                              'Build')
        for params in ({'FunctionVersions': foreign['sid']},    # of another service
                       {'FunctionVersions': av['sid']},         # an asset version
                       {'AssetVersions': fv['sid']},
                       {'FunctionVersions': 'ZN' + '0' * 32},
                       # two versions on one path
                       {'FunctionVersions': [fv['sid'], self.fversion(svc, fn)['sid']]}):
            self.assert_error(400, 20001, 'POST', builds, params)
        self.assertEqual(FAKE.state()['build'], [])


class ServerlessDeploymentTest(ServerlessCase):
    def test_deploy_sets_the_environment_build(self):
        svc = self.service()
        env = self.environment(svc)
        fn = self.function(svc)
        fv = self.fversion(svc, fn)
        deps = f'{SV}/{svc["sid"]}/Environments/{env["sid"]}/Deployments'
        build = self.build(svc, [fv], Dependencies='[{"name": "twilio", "version": "5.0.0"}]')
        self.assert_error(400, 20001, 'POST', deps, {'BuildSid': build['sid']})  # building
        self.finish(svc, build)
        self.assert_error(404, 20404, 'POST', deps, {'BuildSid': 'ZB' + '0' * 32})
        other = self.service('other')
        foreign = self.build(other, [self.fversion(other, self.function(other))])
        self.finish(other, foreign)
        self.assert_error(404, 20404, 'POST', deps, {'BuildSid': foreign['sid']})
        dep = self.deploy(svc, env, build)
        self.assertEqual((dep['build_sid'], dep['environment_sid']), (build['sid'], env['sid']))
        got = self.call('GET', f'{SV}/{svc["sid"]}/Environments/{env["sid"]}', expect=200)
        self.assertEqual(got['build_sid'], build['sid'])
        msg = self.assert_error(409, 20409, 'POST', deps, {'BuildSid': build['sid']})
        self.assertEqual(msg, 'Environment already has requested deployment.')
        self.assertEqual(FAKE.deployed('office-voice', 'production'), {
            'domain_name': env['domain_name'], 'build_sid': build['sid'],
            'functions': {'/hello': {'visibility': 'protected', 'content': CODE,
                                     'sha256': hashlib.sha256(CODE.encode()).hexdigest()}},
            'assets': {}, 'dependencies': [{'name': 'twilio', 'version': '5.0.0'}],
            'runtime': 'node22'})
        # a second build replaces the first; the deployments are listed in order
        av = self.aversion(svc, self.asset(svc), '/a.txt', b'text', 'protected')
        code = '// v2\n'
        second = self.build(svc, [self.fversion(svc, fn, '/hello', code)], [av])
        self.finish(svc, second)
        self.deploy(svc, env, second)
        now = FAKE.deployed(svc['sid'], env['sid'])
        self.assertEqual((now['build_sid'], now['functions']['/hello']['content'], now['assets']),
                         (second['sid'], code, {'/a.txt': {
                             'visibility': 'protected',
                             'sha256': hashlib.sha256(b'text').hexdigest()}}))
        self.assertEqual([d['build_sid'] for d in self.call('GET', deps, expect=200)
                          ['deployments']], [build['sid'], second['sid']])
        self.deploy(svc, env, build)                     # back again: a new deployment
        stage = self.environment(svc, 'stage', DomainSuffix='stage')
        self.assertEqual(FAKE.deployed('office-voice', 'stage'), {
            'domain_name': stage['domain_name'], 'build_sid': None, 'functions': {},
            'assets': {}, 'dependencies': [], 'runtime': None})
        self.deploy(svc, stage, build)                   # one build, two environments
        with self.assertRaises(RuntimeError):
            FAKE.deployed('office-voice', 'nowhere')

    def test_public_assets_are_served_at_their_environments_domain(self):
        d = self.deployed_service()                      # /logo.png public, /hello protected
        svc, domain = d['svc'], d['env']['domain_name']
        secret = self.aversion(svc, self.asset(svc, 'secret'), '/secret.txt', b'no', 'protected')
        private = self.aversion(svc, self.asset(svc, 'private'), '/private.txt', b'no', 'private')
        uni = self.aversion(svc, self.asset(svc, 'uni'), '/ünï/a b.txt', b'unicode path', 'public')
        pub_fn = self.fversion(svc, self.function(svc, 'pub'), '/pub', CODE, 'public')
        build = self.build(svc, [d['fv'], pub_fn], [d['av'], secret, private, uni])
        self.finish(svc, build)
        self.deploy(svc, d['env'], build)
        FAKE.clear_log()
        self.assertEqual(FAKE.fetch_deployed(domain, '/logo.png'), (200, bytes(range(256)), 'image/png'))
        self.assertEqual(FAKE.fetch_deployed(domain.upper(), '/ünï/a b.txt')[:2], (200, b'unicode path'))
        # protected and private assets, functions (not run by the fake), other paths and domains
        for host, path in ((domain, '/secret.txt'), (domain, '/private.txt'), (domain, '/hello'), (domain, '/pub'),
                           (domain, '/nothing'), ('nosuch-1234.twil.io', '/logo.png')):
            self.assertEqual(FAKE.fetch_deployed(host, path)[0], 404, (host, path))
        self.assertEqual(FAKE.fetch_deployed(domain, '/logo.png', 'POST')[0], 404)
        # no credentials needed, none asked for; logged with the host
        self.assertEqual([(e['method'], e['host'], e['path'], e['status']) for e in FAKE.log()][:2],
                         [('GET', domain, '/logo.png', 200), ('GET', domain, '/ünï/a b.txt', 200)])

    def test_deployed_functions_assets_and_builds_cannot_be_deleted(self):
        d = self.deployed_service()
        s = d['s']
        fn_path, asset_path = f'{s}/Functions/{d["fn"]["sid"]}', f'{s}/Assets/{d["asset"]["sid"]}'
        build_path = f'{s}/Builds/{d["build"]["sid"]}'
        for path in (fn_path, asset_path, build_path):
            msg = self.assert_error(409, 20409, 'DELETE', path)
            self.assertIn(d['env']['sid'], msg)
        # deploy a build without them: now they can go, with their versions
        other = self.function(d['svc'], 'other')
        build = self.build(d['svc'], [self.fversion(d['svc'], other, '/other')])
        self.finish(d['svc'], build)
        self.deploy(d['svc'], d['env'], build)
        for path in (build_path, fn_path, asset_path):
            self.call('DELETE', path, expect=204)
        state = FAKE.state()
        self.assertEqual([v['sid'] for v in state['function_version']],
                         [build['function_versions'][0]['sid']])
        self.assertEqual((state['asset'], state['asset_version']), ([], []))
        self.assert_error(404, 20404, 'GET', f'{fn_path}/Versions/{d["fv"]["sid"]}/Content')


class ServerlessCascadeTest(ServerlessCase):
    def test_deleting_environment_and_service(self):
        d = self.deployed_service()
        env_path = f'{d["s"]}/Environments/{d["env"]["sid"]}'
        self.create(env_path + '/Variables', {'Key': 'K', 'Value': 'v'})
        stage = self.environment(d['svc'], 'stage', DomainSuffix='stage')
        self.create(f'{d["s"]}/Environments/{stage["sid"]}/Variables', {'Key': 'K', 'Value': 'v'})
        self.call('DELETE', env_path, expect=204)
        state = FAKE.state()
        self.assertEqual([v['environment_sid'] for v in state['variable']], [stage['sid']])
        self.assertEqual(state['deployment'], [])
        self.assertEqual(len(state['build']), 1)       # builds belong to the service
        self.call('DELETE', f'{d["fn"]["url"][len("https://serverless.twilio.com"):]}',
                  expect=204)                          # no longer deployed anywhere
        self.deploy(d['svc'], stage, d['build'])
        self.call('DELETE', d['s'], expect=204)        # deployed or not, everything goes
        state = FAKE.state()
        for kind in ('service', 'environment', 'variable', 'deployment', 'log', 'function',
                     'function_version', 'asset', 'asset_version', 'build'):
            self.assertEqual(state[kind], [], kind)
        self.assertEqual(self.call('GET', SV, expect=200)['services'], [])


class ServerlessSpecTest(ServerlessCase):
    violating = True

    def assert_violation(self, status_body, detail):
        status, body = status_body
        self.assertEqual((status, body['code']), (400, 20001), body)
        self.assertTrue(body['message'].startswith('fake twilio: spec violation: '), body)
        self.assertIn(detail, body['message'])
        self.assertIn(detail, FAKE.violations()[-1])

    def test_upload_violations(self):
        svc = self.service()
        fn = self.function(svc)
        versions = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'
        self.assert_violation(FAKE.api('POST', versions, {'Path': '/x', 'Visibility': 'public',
                                                          'Content': 'code'}),
                              'Content-Type must be multipart/form-data')
        self.assert_violation(upload(versions, version_parts('/x', b'x', 'secret')),
                              "parameter Visibility: 'secret' not one of public|protected|private")
        self.assert_violation(upload(versions, version_parts('/x', b'x')[:2]),
                              'missing required parameter Content')
        self.assert_violation(upload(versions, [('Visibility', 'public'),
                                                ('Content', 'a.js', 'text/plain', b'x')]),
                              'missing required parameter Path')
        self.assert_violation(upload(versions, version_parts('/x', b'x')[:2] +
                                     [('Content', 'code')]),
                              'parameter Content must be a file part')
        self.assert_violation(upload(versions, version_parts('/x', b'x', content_type=None)),
                              'file part Content has no Content-Type')
        self.assert_violation(upload(versions, version_parts('/x', b'x') + [('Extra', '1')]),
                              'unknown parameter Extra')
        self.assert_violation(upload(versions, [('Path', 'a.js', 'text/plain', b'/x')] +
                                     version_parts('/x', b'x')[1:]),
                              'parameter Path must not be a file part')
        body = multipart_body(version_parts('/x', b'x'))
        self.assert_violation(raw('POST', versions, body[:-30],
                                  f'multipart/form-data; boundary={BOUNDARY}'),
                              'malformed multipart body')
        self.assert_violation(raw('POST', versions, body, 'multipart/form-data'),
                              'not a multipart body')
        # multipart is for the upload paths only
        self.assert_violation(upload(f'{SV}/{svc["sid"]}/Functions', [('FriendlyName', 'f')]),
                              'Content-Type must be application/x-www-form-urlencoded')
        self.assertEqual(FAKE.state()['function_version'], [])
        self.assertEqual(len(FAKE.violations()), 11)

    def test_request_violations(self):
        svc = self.service()
        fv = self.fversion(svc, self.function(svc))
        builds = f'{SV}/{svc["sid"]}/Builds'
        self.assert_violation(FAKE.api('POST', builds, {'FunctionVersions': fv['sid'],
                                                        'Runtime': 'node99'}),
                              "parameter Runtime: 'node99' not one of node8|")
        self.assert_violation(FAKE.api('POST', builds, {'FunctionVersions': 'ZH' + '0' * 32}),
                              'does not match ^ZN')
        self.assert_violation(FAKE.api('POST', f'{SV}/{svc["sid"]}', {'UniqueName': 'renamed'}),
                              'unknown parameter UniqueName')
        self.assert_violation(FAKE.api('POST', SV, {'UniqueName': 'x'}),
                              'missing required parameter FriendlyName')
        self.assert_violation(FAKE.api('POST', f'{SV}/{svc["sid"]}/Environments', {}),
                              'missing required parameter UniqueName')
        env = self.environment(svc)
        env_path = f'{SV}/{svc["sid"]}/Environments/{env["sid"]}'
        status, body = FAKE.api('POST', env_path, {'DomainSuffix': 'x'})   # no update
        self.assertEqual((status, body['code']), (405, 20004))
        status, body = FAKE.api('DELETE', f'{env_path}/Deployments/ZD' + '0' * 32)
        self.assertEqual((status, body['code']), (405, 20004))
        self.assert_violation(FAKE.api('POST', env_path + '/Variables', {'Key': 'K'}),
                              'missing required parameter Value')
        self.assertEqual(len(FAKE.violations()), 8)
        self.assertEqual(FAKE.state()['build'], [])


class ServerlessFaultTest(ServerlessCase):
    def test_faults_apply_to_serverless_and_uploads(self):
        svc = self.service()
        fn = self.function(svc)
        versions = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'
        FAKE.faults(rate_429=1.0)
        self.assertEqual(upload(versions, version_parts('/x', b'x'))[0], 429)
        self.assertEqual(FAKE.api('POST', SV, {'UniqueName': 'n', 'FriendlyName': 'f'})[0], 429)
        FAKE.faults(rate_429=0.0, rate_500=1.0)
        self.assertEqual(upload(versions, version_parts('/x', b'x'))[0], 500)
        FAKE.faults(rate_500=0.0, fail_all_status=503)
        self.assertEqual(FAKE.api('GET', f'{SV}/{svc["sid"]}/Builds')[0], 503)
        FAKE.faults(fail_all_status=0, rate_drop=1.0)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                urllib.error.URLError)):
            upload(versions, version_parts('/x', b'x'))
        self.assertEqual(FAKE.state()['function_version'], [])
        FAKE.faults(rate_drop=0.0, rate_drop_after=1.0)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError,
                                urllib.error.URLError)):
            upload(versions, version_parts('/lost', b'lost response'))
        self.assertEqual([v['path'] for v in FAKE.state()['function_version']], ['/lost'])
        entry = FAKE.log()[-1]
        self.assertEqual((entry['status'], entry['dropped'], entry['files']['Content']['size']),
                         (201, True, len(b'lost response')))
        FAKE.faults(rate_drop_after=0.0, latency_ms=200)
        t0 = time.time()
        self.fversion(svc, fn, '/slow')
        self.assertGreaterEqual(time.time() - t0, 0.2)

    def test_build_polls_flag(self):
        with FakeTwilio(build_polls=0) as fake:
            self.assertEqual(fake.faults()['build_polls'], 0)
            _, svc = fake.api('POST', SV, {'UniqueName': 's', 'FriendlyName': 'f'})
            _, fn = fake.api('POST', f'{SV}/s/Functions', {'FriendlyName': 'f'})
            status, fv = fake.upload('s', f'Functions/{fn["sid"]}', '/f', 'x')
            self.assertEqual(status, 201, fv)
            _, build = fake.api('POST', f'{SV}/s/Builds', {'FunctionVersions': fv['sid']})
            self.assertEqual(fake.api('GET', f'{SV}/s/Builds/{build["sid"]}/Status')[1]['status'],
                             'completed')
            fake.faults(build_polls=3)
            fake.reset()
            self.assertEqual(fake.faults()['build_polls'], 0)


class CommandLineTest(unittest.TestCase):
    def test_flags_set_credentials_and_start_faults(self):
        account = 'AC' + '1' * 32
        with FakeTwilio(account_sid=account, auth_token='tok', api_key='',
                        fail_all_status=500) as fake:
            self.assertEqual(fake.env(), {'TWPROV_API_URL': fake.url, 'TWILIO_ACCOUNT_SID': account,
                                          'TWILIO_AUTH_TOKEN': 'tok'})
            self.assertEqual(fake.api('GET', A + '/SIP/Domains.json')[0], 500)
            fake.faults(fail_all_status=0)
            self.assertEqual(fake.api('GET', A + '/SIP/Domains.json')[0], 200)
            self.assertEqual(fake.api('GET', '/v1/Trunks', auth=(fake.api_key, fake.api_secret))[0],
                             401)
            fake.reset()
            self.assertEqual(fake.faults()['fail_all_status'], 500)

    def test_no_limits(self):
        with FakeTwilio(no_limits=True) as fake:
            for i in range(101):
                status, body = fake.api('POST', A + '/SIP/CredentialLists.json',
                                        {'FriendlyName': f'list-{i}'})
                self.assertEqual(status, 201, body)

    def test_listening_line_and_clean_sigterm(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'fake_twilio.py'), '--quiet'],
                                stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        self.assertRegex(line, r'^listening on http://127\.0\.0\.1:\d+$')
        proc.terminate()
        self.assertEqual(proc.wait(10), 0)
        proc.stdout.close()

    def test_tls(self):    # openssl is installed by scripts/deps: missing, this fails
        d = tempfile.mkdtemp()
        cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                        '-keyout', key, '-out', cert], check=True, capture_output=True)
        try:
            with FakeTwilio(tls_cert=cert, tls_key=key) as fake:
                self.assertTrue(fake.url.startswith('https://'))
                self.assertEqual(fake.api('GET', '/v1/Trunks')[0], 200)
        finally:
            shutil.rmtree(d)


if __name__ == '__main__':
    unittest.main()
