import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '@parley/protocol';
import type { Released, Role, Sent } from './failoverParty.ts';
import { DEAD_NODE_LINE, checkDelivery, clientIdOf, deathNotice, indexOf, spread } from './failoverFigures.ts';

function sent(role: Role, count: number, unacked: number[] = [], sends: Record<number, number> = {}, duplicates: number[] = []): Sent[] {
  return Array.from({ length: count }, (_, index) => ({
    clientId: clientIdOf(role, index),
    index,
    createdAt: index,
    ackedAt: unacked.includes(index) ? null : index + 1,
    sends: sends[index] ?? 1,
    duplicate: duplicates.includes(index),
  }));
}

let seq = 0;
function released(role: Role, indexes: number[], via: Released['via'] = 'live'): Released[] {
  return indexes.map((index) => {
    const message: Message = {
      id: `m${++seq}`,
      seq,
      sessionID: 's',
      from: { id: role, role, name: role },
      kind: 'text',
      text: 'x',
      at: '',
      clientId: clientIdOf(role, index),
    };
    return { message, at: seq, via };
  });
}

test('clientIds carry the role and the index, and nothing else parses as one', () => {
  assert.equal(indexOf(clientIdOf('agent', 17), 'agent'), 17);
  assert.equal(indexOf(clientIdOf('agent', 17), 'visitor'), null);
  assert.equal(indexOf('agent-x', 'agent'), null);
  assert.equal(indexOf(undefined, 'agent'), null);
});

test('everything acknowledged delivered once and in order: nothing to report', () => {
  const check = checkDelivery('visitor', sent('visitor', 4, [], { 2: 2 }, [2]), [...released('agent', [0]), ...released('visitor', [0, 1, 2, 3])]);
  assert.deepEqual(
    { ...check },
    { from: 'visitor', sent: 4, acknowledged: 4, lost: 0, duplicated: 0, reordered: 0, resent: 1, storedBefore: 1, throughSync: 0 },
  );
});

test('an acknowledged message missing is lost; one never acknowledged missing is not', () => {
  const check = checkDelivery('visitor', sent('visitor', 4, [3]), released('visitor', [0, 2]));
  assert.equal(check.acknowledged, 3);
  assert.equal(check.lost, 1); // index 1; index 3 was never acknowledged
});

test('a message stored twice is a duplicate; one released after a later one is out of order; sync deliveries are counted', () => {
  const check = checkDelivery('agent', sent('agent', 4), [...released('agent', [0, 2, 1]), ...released('agent', [2, 3], 'sync')]);
  assert.equal(check.duplicated, 1);
  assert.equal(check.reordered, 1);
  assert.equal(check.throughSync, 1); // 3 (the 2 through sync was a duplicate)
  assert.equal(check.lost, 0);
});

test('spread: nearest-rank p50 and p99 of what was seen, and how many were not', () => {
  const s = spread([30, 10, NaN, 20, 40]);
  assert.deepEqual(s, { n: 4, p50: 20, p99: 40, max: 40, missing: 1 });
  assert.ok(Number.isNaN(spread([]).p50));
});

test("a survivor's notice of a dead node is read from its JSON log line, and nothing else is", () => {
  const line = JSON.stringify({ level: 30, time: 1764670000123, service: 'parley', node: 'failover-1', parties: 2, msg: DEAD_NODE_LINE });
  assert.deepEqual(deathNotice(line), { node: 'failover-1', time: 1764670000123 });
  assert.equal(deathNotice(JSON.stringify({ level: 30, time: 1, node: 'n', msg: 'an earlier run of this node was reaped' })), null);
  assert.equal(deathNotice(`Parley says: ${DEAD_NODE_LINE}`), null);
  assert.equal(deathNotice(JSON.stringify({ time: 1, msg: DEAD_NODE_LINE })), null);
});
