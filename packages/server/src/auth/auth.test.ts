import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from './password.ts';
import { TokenService } from './tokens.ts';

describe('passwords', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('correct horse', a), true);
    assert.equal(await verifyPassword('wrong horse', a), false);
    assert.equal(await verifyPassword('correct horse', 'garbage'), false);
  });
});

describe('tokens', () => {
  const tokens = new TokenService('s'.repeat(40));

  it('round-trips the party', async () => {
    const { token, expiresAt } = await tokens.issue({ id: 'v1', role: 'visitor', name: 'Vee' });
    const result = await tokens.verify(token);
    assert.deepEqual(result, { ok: true, claims: { sub: 'v1', role: 'visitor', name: 'Vee' } });
    assert.ok(Date.parse(expiresAt) > Date.now() + 29 * 24 * 3600 * 1000);
  });

  it('refuses missing, expired, tampered and foreign tokens with the reason', async () => {
    assert.deepEqual(await tokens.verify(undefined), { ok: false, problem: 'missing' });
    const expired = await tokens.issue({ id: 'v1', role: 'visitor', name: 'Vee' }, -10);
    assert.deepEqual(await tokens.verify(expired.token), { ok: false, problem: 'expired' });
    const { token } = await tokens.issue({ id: 'v1', role: 'visitor', name: 'Vee' });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'v1', role: 'agent', name: 'Vee', iss: 'parley' })).toString('base64url')}.${s}`;
    assert.deepEqual(await tokens.verify(forged), { ok: false, problem: 'invalid' });
    const other = await new TokenService('o'.repeat(40)).issue({ id: 'a', role: 'agent', name: 'A' });
    assert.deepEqual(await tokens.verify(other.token), { ok: false, problem: 'invalid' });
  });
});
