import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickAgent, type RoutingCandidate } from './pickAgent.ts';

const agent = (id: string, over: Partial<RoutingCandidate> = {}): RoutingCandidate => ({
  id,
  presence: 'online',
  active: 0,
  lastAssignedAt: 0,
  ...over,
});

describe('pickAgent', () => {
  it('offers to the least busy online agent', () => {
    const picked = pickAgent([agent('a', { active: 2 }), agent('b', { active: 1 }), agent('c', { active: 3 })], 5);
    assert.equal(picked?.id, 'b');
  });

  it('never offers to agents who are away or offline', () => {
    const picked = pickAgent([agent('a', { presence: 'away' }), agent('b', { presence: 'offline' }), agent('c', { active: 4 })], 5);
    assert.equal(picked?.id, 'c');
    assert.equal(pickAgent([agent('a', { presence: 'away' })], 5), null);
  });

  it('respects the per-agent maximum', () => {
    assert.equal(pickAgent([agent('a', { active: 5 }), agent('b', { active: 7 })], 5), null);
  });

  it('breaks ties by longest wait since the last assignment, then by id', () => {
    assert.equal(pickAgent([agent('a', { lastAssignedAt: 20 }), agent('b', { lastAssignedAt: 10 })], 5)?.id, 'b');
    assert.equal(pickAgent([agent('b'), agent('a')], 5)?.id, 'a');
  });
});
