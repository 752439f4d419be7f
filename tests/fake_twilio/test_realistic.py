"""Tests of the fake's realistic switches, each on and off: python3 -m unittest -v test_realistic

The switches are keys of /_fake/faults too, so one fake serves most tests; the last test
starts fakes with the command-line flags."""

import json
import time
import unittest

from fakeclient import FakeTwilio

A = '/2010-04-01/Accounts/{AccountSid}'
DOMAINS = A + '/SIP/Domains.json'
SV = '/v1/Services'
LAG = 0.5
FAKE = None
OFF = {'list_lag': 0, 'fetch_lag': 0, 'emergency_lag': 1, 'permissions_lag': 0,
       'build_visibility': 'upper', 'shuffle_versions': False,
       'omit_receive_mode': False, 'purchase_ignores_receive_mode': False, 'unset': 'spec',
       'extra_fields': False, 'short_pages': False, 'newest_first': False,
       'trailing_empty_page': False}


def setUpModule():
    global FAKE
    FAKE = FakeTwilio(seed=5).start()


def tearDownModule():
    FAKE.stop()


class Case(unittest.TestCase):
    def setUp(self):
        FAKE.reset()

    def tearDown(self):
        self.assertEqual(FAKE.violations(), [])

    def call(self, method, path, params=None, expect=None):
        status, body = FAKE.api(method, path, params)
        if expect is not None:
            self.assertEqual(status, expect, body)
        return body

    def domain(self, name='office.sip.twilio.com', **params):
        return self.call('POST', DOMAINS, dict(DomainName=name, **params), 201)

    def listed(self, path=DOMAINS, key='domains'):
        return [d['sid'] for d in self.call('GET', path, expect=200)[key]]

    def number(self, number='+16505550100', **params):
        FAKE.seed_available([number])
        return self.call('POST', A + '/IncomingPhoneNumbers.json',
                         dict(PhoneNumber=number, **params), 201)

    def service(self):
        svc = self.call('POST', SV, {'UniqueName': 'svc', 'FriendlyName': 'svc'}, 201)
        fn = self.call('POST', f'{SV}/{svc["sid"]}/Functions', {'FriendlyName': 'f'}, 201)
        return svc, fn

    def version(self, svc, fn, path):
        status, body = FAKE.upload(svc['sid'], 'Functions/' + fn['sid'], path, 'x', 'public')
        self.assertEqual(status, 201, body)
        return body


class LagTest(Case):
    def test_list_lag_hides_new_keeps_deleted_and_shows_old_values(self):
        FAKE.faults(list_lag=LAG)
        dom = self.domain(FriendlyName='before')
        self.assertEqual(self.listed(), [])                        # not listed yet
        self.call('GET', f'{A}/SIP/Domains/{dom["sid"]}.json', expect=200)   # fetch: no lag
        # writes see the current state: the name is taken at once
        status, body = FAKE.api('POST', DOMAINS, {'DomainName': 'office.sip.twilio.com'})
        self.assertEqual((status, body['code']), (400, 21232))
        time.sleep(LAG + 0.1)
        self.assertEqual(self.listed(), [dom['sid']])
        self.call('POST', f'{A}/SIP/Domains/{dom["sid"]}.json', {'FriendlyName': 'after'}, 200)
        self.call('DELETE', f'{A}/SIP/Domains/{dom["sid"]}.json', expect=204)
        page = self.call('GET', DOMAINS, expect=200)['domains']      # deleted, still listed,
        self.assertEqual([(d['sid'], d['friendly_name']) for d in page],  # with old values
                         [(dom['sid'], 'before')])
        self.assertEqual(FAKE.state()['sip_domain'], [])           # the true state
        self.domain()                                              # the name is free again
        time.sleep(LAG + 0.1)
        page = self.call('GET', DOMAINS, expect=200)['domains']
        self.assertEqual(len(page), 1)
        self.assertNotEqual(page[0]['sid'], dom['sid'])

    def test_list_lag_off_and_control_api_records_are_back_dated(self):
        dom = self.domain()
        self.assertEqual(self.listed(), [dom['sid']])              # off: at once
        FAKE.faults(list_lag=30, fetch_lag=30)
        made = FAKE.insert(DOMAINS, {'DomainName': 'inserted.sip.twilio.com'})
        owned = FAKE.add_owned(['+16505550111'])[0]
        self.assertIn(made['sid'], self.listed())
        self.call('GET', f'{A}/SIP/Domains/{made["sid"]}.json', expect=200)
        self.assertEqual(self.listed(A + '/IncomingPhoneNumbers.json', 'incoming_phone_numbers'),
                         [owned['sid']])

    def test_fetch_lag(self):
        FAKE.faults(fetch_lag=LAG)
        dom = self.domain(FriendlyName='before')
        path = f'{A}/SIP/Domains/{dom["sid"]}.json'
        status, body = FAKE.api('GET', path)
        self.assertEqual((status, body['code'], body['status']), (404, 20404, 404))
        # an update of a record too young to fetch works: writes see the current state
        self.call('POST', path, {'FriendlyName': 'after'}, 200)
        self.assertIn(dom['sid'], self.listed())                   # lists: no lag
        time.sleep(LAG + 0.1)
        self.assertEqual(self.call('GET', path, expect=200)['friendly_name'], 'after')
        self.call('POST', path, {'FriendlyName': 'later'}, 200)
        self.assertEqual(self.call('GET', path, expect=200)['friendly_name'], 'after')
        self.call('DELETE', path, expect=204)                      # still fetched, as it was
        self.assertEqual(self.call('GET', path, expect=200)['friendly_name'], 'after')
        status, _ = FAKE.api('POST', path, {'FriendlyName': 'x'})  # but it is gone for writes
        self.assertEqual(status, 404)
        time.sleep(LAG + 0.1)
        self.assertEqual(FAKE.api('GET', path)[0], 404)

    def test_fetch_lag_on_build_status_and_content(self):
        svc, fn = self.service()
        FAKE.faults(fetch_lag=LAG, build_polls=0)
        v = self.version(svc, fn, '/a')
        content = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions/{v["sid"]}/Content'
        self.assertEqual(FAKE.api('GET', content)[0], 404)
        build = self.call('POST', f'{SV}/{svc["sid"]}/Builds',
                          {'FunctionVersions': v['sid']}, 201)
        status_path = f'{SV}/{svc["sid"]}/Builds/{build["sid"]}/Status'
        self.assertEqual(FAKE.api('GET', status_path)[0], 404)
        time.sleep(LAG + 0.1)
        self.assertEqual(self.call('GET', content, expect=200)['content'], 'x')
        # the build completed at the first read; the answer shows it LAG seconds later
        self.assertEqual(self.call('GET', status_path, expect=200)['status'], 'building')
        time.sleep(LAG + 0.1)
        self.assertEqual(self.call('GET', status_path, expect=200)['status'], 'completed')


class BuildTest(Case):
    def build(self, n=1):
        svc, fn = self.service()
        versions = [self.version(svc, fn, f'/f{i}')['sid'] for i in range(n)]
        build = self.call('POST', f'{SV}/{svc["sid"]}/Builds', {'FunctionVersions': versions},
                          201)
        return f'{SV}/{svc["sid"]}/Builds/{build["sid"]}', build, versions

    def test_build_visibility(self):
        path, build, _ = self.build()
        self.assertEqual(build['function_versions'][0]['visibility'], 'PUBLIC')
        FAKE.faults(build_visibility='lower')
        self.assertEqual(self.call('GET', path, expect=200)['function_versions'][0]['visibility'],
                         'public')

    def test_shuffle_versions(self):
        path, build, versions = self.build(6)
        self.assertEqual([v['sid'] for v in build['function_versions']], versions)
        self.assertEqual([v['sid'] for v in self.call('GET', path, expect=200)
                          ['function_versions']], versions)
        FAKE.faults(shuffle_versions=True)
        orders = {tuple(v['sid'] for v in self.call('GET', path, expect=200)
                        ['function_versions']) for _ in range(8)}
        self.assertGreater(len(orders), 1)
        self.assertEqual({frozenset(o) for o in orders}, {frozenset(versions)})


class NumberTest(Case):
    def test_omit_receive_mode(self):
        num = self.number()
        self.assertEqual(num['voice_receive_mode'], 'voice')
        FAKE.faults(omit_receive_mode=True)
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        answers = [self.call('GET', path, expect=200),
                   self.call('POST', path, {'FriendlyName': 'x'}, 200),
                   self.listed_numbers()[0], self.number('+16505550101')]
        for body in answers:
            self.assertNotIn('voice_receive_mode', body)

    def listed_numbers(self):
        return self.call('GET', A + '/IncomingPhoneNumbers.json', expect=200)[
            'incoming_phone_numbers']

    def test_purchase_ignores_receive_mode(self):
        self.assertEqual(self.number(VoiceReceiveMode='fax')['voice_receive_mode'], 'fax')
        FAKE.faults(purchase_ignores_receive_mode=True)
        num = self.number('+16505550101', VoiceReceiveMode='fax')
        self.assertEqual(num['voice_receive_mode'], 'voice')
        FAKE.seed_available(['+16505550102'])
        typed = self.call('POST', A + '/IncomingPhoneNumbers/Local.json',
                          {'PhoneNumber': '+16505550102', 'VoiceReceiveMode': 'fax'}, 201)
        self.assertEqual(typed['voice_receive_mode'], 'voice')
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        self.assertEqual(self.call('POST', path, {'VoiceReceiveMode': 'fax'}, 200)
                         ['voice_receive_mode'], 'fax')

    def test_unset(self):
        num = self.number()
        path = f'{A}/IncomingPhoneNumbers/{num["sid"]}.json'
        # the default is the spec examples' mix: voice_url null, sms_url ""
        self.assertEqual((num['voice_url'], num['sms_url']), (None, ''))
        FAKE.faults(unset='null')
        body = self.call('GET', path, expect=200)
        self.assertEqual((body['voice_url'], body['sms_url'], body['trunk_sid']),
                         (None, None, None))
        self.assertEqual(body['voice_method'], 'POST')            # enums are never unset
        FAKE.faults(unset='empty')
        body = self.call('GET', path, expect=200)
        self.assertEqual((body['voice_url'], body['sms_url'], body['trunk_sid']), ('', '', ''))
        FAKE.faults(unset='mixed')
        seen = {self.call('GET', path, expect=200)['voice_url'] for _ in range(12)}
        self.assertEqual(seen, {None, ''})
        self.assertEqual(FAKE.state()['incoming_number'][0]['voice_url'], None)


class EnvelopeTest(Case):
    def test_extra_fields(self):
        self.domain()
        body = self.call('GET', DOMAINS, expect=200)
        self.assertNotIn('fake_added_string', body['domains'][0])
        FAKE.faults(extra_fields=True)
        body = self.call('GET', DOMAINS, expect=200)
        self.assertEqual(body['domains'][0]['fake_added_object'], {'enabled': False})
        self.assertIn('fake_added_null', body['domains'][0])
        self.assertEqual(body['fake_added_envelope_field'], 0)
        body = self.call('GET', '/v1/Trunks', expect=200)
        self.assertIn('fake_added_envelope_field', body)
        self.assertIn('fake_added_meta_field', body['meta'])
        self.assertIn('fake_added_string', self.domain('b.sip.twilio.com'))

    def walk(self, path, key='domains'):
        pages, link = [], path
        while link:
            body = self.call('GET', link, expect=200)
            pages.append([d['sid'] for d in body[key]])
            link = body.get('next_page_uri') or body.get('meta', {}).get('next_page_url')
            link = link and link.replace('https://trunking.twilio.com', '')
            self.assertLess(len(pages), 40)
        return pages

    def test_short_pages(self):
        sids = [self.domain(f'd{i}.sip.twilio.com')['sid'] for i in range(12)]
        self.assertEqual([len(p) for p in self.walk(DOMAINS + '?PageSize=5')], [5, 5, 2])
        FAKE.faults(short_pages=True)
        pages = self.walk(DOMAINS + '?PageSize=5')
        self.assertEqual(sum(pages, []), sids)
        self.assertTrue(all(1 <= len(p) <= 5 for p in pages))
        self.assertGreater(len(pages), 3)

    def test_trailing_empty_page(self):
        self.domain('a.sip.twilio.com')
        self.domain('b.sip.twilio.com')
        self.assertEqual([len(p) for p in self.walk(DOMAINS + '?PageSize=2')], [2])
        FAKE.faults(trailing_empty_page=True)
        self.assertEqual([len(p) for p in self.walk(DOMAINS + '?PageSize=2')], [2, 0])
        self.assertEqual([len(p) for p in self.walk(DOMAINS + '?PageSize=5')], [2, 0])
        for i in range(3):
            self.call('POST', '/v1/Trunks', {'FriendlyName': f't{i}'}, 201)
        self.assertEqual([len(p) for p in self.walk('/v1/Trunks?PageSize=2', 'trunks')],
                         [2, 1, 0])

    def test_newest_first(self):
        svc, fn = self.service()
        sids = [self.version(svc, fn, f'/v{i}')['sid'] for i in range(5)]
        path = f'{SV}/{svc["sid"]}/Functions/{fn["sid"]}/Versions'

        def walk():
            out, link = [], path + '?PageSize=2'
            while link:
                body = self.call('GET', link, expect=200)
                out += [v['sid'] for v in body['function_versions']]
                link = body['meta']['next_page_url']
                link = link and link.replace('https://serverless.twilio.com', '')
            return out
        self.assertEqual(walk(), sids)
        FAKE.faults(newest_first=True)
        self.assertEqual(walk(), sids[::-1])
        FAKE.faults(list_lag=0.01)
        time.sleep(0.05)
        self.assertEqual(walk(), sids[::-1])


class ProfileTest(unittest.TestCase):
    def test_realistic_flag_and_faults(self):
        with FakeTwilio(realistic=True) as fake:
            f = fake.faults()
            self.assertEqual((f['list_lag'], f['fetch_lag'], f['build_visibility'], f['unset']),
                             (3.0, 3.0, 'upper', 'mixed'))
            self.assertEqual((f['emergency_lag'], f['permissions_lag']), (5.0, 3.0))
            for name in ('shuffle_versions', 'omit_receive_mode', 'extra_fields', 'short_pages',
                         'purchase_ignores_receive_mode', 'newest_first',
                         'trailing_empty_page', 'realistic'):
                self.assertIs(f[name], True, name)
            off = fake.faults(realistic=False)
            self.assertEqual({k: off[k] for k in OFF}, OFF)
            on = fake.faults(realistic=True, list_lag=1)
            self.assertEqual((on['list_lag'], on['fetch_lag'], on['short_pages']),
                             (1.0, 3.0, True))
            self.assertEqual(fake.faults(realistic=True, emergency_lag=0)['emergency_lag'], 0)
            with self.assertRaises(RuntimeError):
                fake.faults(permissions_lag=-1)
            with self.assertRaises(RuntimeError):
                fake.faults(unset='sometimes')
            with self.assertRaises(RuntimeError):
                fake.faults(list_lag=-1)
        with FakeTwilio(realistic=True, list_lag=3, fetch_lag=0, emergency_lag=0,
                        build_visibility='lower') as fake:
            f = fake.faults()
            self.assertEqual((f['list_lag'], f['fetch_lag'], f['build_visibility']),
                             (3.0, 0.0, 'lower'))
            self.assertEqual((f['emergency_lag'], f['permissions_lag']), (0.0, 3.0))
        with FakeTwilio(emergency_lag=2.5, permissions_lag=0.5) as fake:
            f = fake.faults()
            self.assertEqual((f['emergency_lag'], f['permissions_lag']), (2.5, 0.5))
        with FakeTwilio(unset='empty', short_pages=True) as fake:
            f = fake.faults()
            self.assertEqual((f['unset'], f['short_pages'], f['extra_fields']),
                             ('empty', True, False))


if __name__ == '__main__':
    unittest.main()
