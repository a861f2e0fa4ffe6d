import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iceServersFor, turnCredentials } from './turn.ts';

describe('TURN credentials', () => {
  it('follow the TURN REST scheme coturn expects', () => {
    // Reference value computed independently: printf '1700003600:alice' | openssl dgst -sha1 -hmac s3cret -binary | base64
    const creds = turnCredentials('s3cret', 'alice', 3600, 1_700_000_000_000);
    assert.equal(creds.username, '1700003600:alice');
    assert.equal(creds.credential, 'YAFdW/YDZewZsR1QSgUk2IrfbRI=');
  });

  it('are added to the configured ICE servers, per participant', () => {
    const config = {
      iceServers: [{ urls: 'stun:stun.example.com:3478' }],
      turn: { secret: 's3cret', urls: ['turn:turn.example.com:3478'], ttlSeconds: 600 },
    };
    const a = iceServersFor(config, 'a', 0);
    assert.equal(a.length, 2);
    assert.deepEqual(a[1]?.urls, ['turn:turn.example.com:3478']);
    assert.equal(a[1]?.username, '600:a');
    assert.notEqual(iceServersFor(config, 'b', 0)[1]?.credential, a[1]?.credential);
    assert.deepEqual(iceServersFor({ iceServers: [], turn: null }, 'a'), []);
  });
});
