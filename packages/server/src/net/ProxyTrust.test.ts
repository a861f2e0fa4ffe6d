import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrustProxy, ProxyTrust } from './ProxyTrust.ts';

describe('ProxyTrust', () => {
  const trust = new ProxyTrust(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

  it('believes X-Forwarded-For only from a trusted peer, IPv4-mapped and IPv6 included', () => {
    assert.equal(trust.clientAddress('::ffff:127.0.0.1', '203.0.113.7'), '203.0.113.7');
    assert.equal(trust.clientAddress('fd00::1', '2001:db8::5'), '2001:db8::5');
    assert.equal(trust.clientAddress('192.0.2.1', '203.0.113.7'), '192.0.2.1');
  });

  it('takes the right-most hop that is not a proxy, never a malformed one', () => {
    assert.equal(trust.clientAddress('127.0.0.1', 'spoofed, 203.0.113.7, 10.1.2.3'), '203.0.113.7');
    assert.equal(trust.clientAddress('127.0.0.1', '203.0.113.7:5555'), '203.0.113.7');
    assert.equal(trust.clientAddress('127.0.0.1', 'not-an-ip'), '127.0.0.1');
    assert.equal(trust.clientAddress('127.0.0.1', undefined), '127.0.0.1');
  });

  it('parses addresses and CIDRs, and names the bad entries', () => {
    assert.deepEqual(parseTrustProxy(' 127.0.0.1 , ::1, 10.0.0.0/8,proxy, 1.2.3.4/40, ::/129'), {
      entries: ['127.0.0.1', '::1', '10.0.0.0/8'],
      invalid: ['proxy', '1.2.3.4/40', '::/129'],
    });
    assert.equal(new ProxyTrust([]).isTrusted('127.0.0.1'), false);
  });
});
