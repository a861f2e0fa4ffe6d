import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterOptions, ClusterTarget } from './clusterArgs.ts';
import { REDIS, SECOND_NODE, sumOrder, type ClusterFigures, type ClusterPhase } from './clusterFigures.ts';
import { deploymentCpuPerMessage, integrityChecks, renderFailover, renderLoadTable } from './clusterReport.ts';
import type { FailoverFigures } from './failover.ts';
import { spread } from './failoverFigures.ts';
import { fakePhase } from './testFixtures.ts';

const options: ClusterOptions = { visitors: 1000, agents: 20, conversations: 1000, seconds: 10, rate: 2000, window: 2, workers: 2, targets: [], kills: 20, timeoutSeconds: 600 };

function phase(messagesPerSecond: number, p99Ms: number, cpu: { server: number; node2?: number; database?: number; redis?: number }, order = true): ClusterPhase {
  const also: Record<string, number> = {};
  if (cpu.node2 !== undefined) also[SECOND_NODE] = cpu.node2;
  if (cpu.redis !== undefined) also[REDIS] = cpu.redis;
  const base = fakePhase(messagesPerSecond, p99Ms, { server: cpu.server, ...(cpu.database === undefined ? {} : { database: cpu.database }), ...(Object.keys(also).length > 0 ? { also } : {}) });
  return { ...base, order: order ? { duplicated: 0, reordered: 0 } : null };
}

function figures(target: ClusterTarget, throughput: ClusterPhase, latency: ClusterPhase): ClusterFigures {
  return { target, connections: 1020, processes: { server: 'node 1', also: Object.keys(throughput.cpu.also ?? {}) }, databaseSettings: null, throughput, latency };
}

const results = {
  relay: figures('relay', phase(60000, 2, { server: 0.6 }, false), phase(2000, 1, { server: 0.1 }, false)),
  single: figures('single', phase(4000, 40, { server: 0.8, database: 0.4, redis: 0.2 }), phase(2000, 20, { server: 0.5, database: 0.5, redis: 0.1 })),
  split: figures('split', phase(3000, 60, { server: 0.6, node2: 0.3, database: 0.3, redis: 0.15 }), phase(2000, 30, { server: 0.4, node2: 0.2, database: 0.5, redis: 0.1 })),
};

test('the CPU per message of a set-up adds up its servers, PostgreSQL and Redis', () => {
  // (0.6 + 0.3 + 0.3 + 0.15) cores / 3,000 msg/s = 450 µs
  assert.ok(Math.abs(deploymentCpuPerMessage(results.split.throughput) - 450e-6) < 1e-12);
  assert.ok(Math.abs(deploymentCpuPerMessage(results.relay.throughput) - 10e-6) < 1e-12);
});

test('the load table puts the set-ups side by side with what two nodes cost over one', () => {
  const table = renderLoadTable(results, options);
  const throughput = table.split('\n').find((line) => line.startsWith('throughput'));
  assert.ok(throughput, table);
  assert.match(throughput, /60,000/);
  assert.match(throughput, /0\.75×/); // 3,000 ÷ 4,000
  const perMessage = table.split('\n').find((line) => line.includes('all of these'));
  assert.match(perMessage ?? '', /450\.0 \//);
  assert.match(perMessage ?? '', /1\.29×/); // 450 ÷ 350 µs (1.4 cores / 4,000 msg/s)
  const node2 = table.split('\n').find((line) => line.includes(`µs, ${SECOND_NODE}`));
  assert.match(node2 ?? '', /n\/a .*100\.0 \/ 100\.0/);
  assert.match(table, /0 \/ n\/a \/ n\/a/); // the relay has no seq
});

test('sumOrder adds up the threads, and is null where no thread counts (the relay)', () => {
  assert.deepEqual(sumOrder([{ order: { duplicated: 1, reordered: 0 } }, { order: { duplicated: 2, reordered: 3 } }]), { duplicated: 3, reordered: 3 });
  assert.equal(sumOrder([{}, {}]), null);
});

function failover(overrides: Partial<FailoverFigures> = {}): FailoverFigures {
  const sample = { victim: 'visitor' as const, node: 'failover-1', reconnectedMs: 50, deliveredMs: 60, receivedMs: 70, noticedMs: 2100 };
  return {
    kills: 1,
    heartbeatMs: 500,
    deadAfterMs: 2000,
    sendIntervalMs: 20,
    samples: [sample],
    reconnected: spread([50]),
    delivered: spread([60]),
    received: spread([70]),
    noticed: spread([2100]),
    delivery: [
      { from: 'visitor', sent: 10, acknowledged: 10, lost: 0, duplicated: 0, reordered: 0, resent: 1, storedBefore: 1, throughSync: 0 },
      { from: 'agent', sent: 10, acknowledged: 10, lost: 0, duplicated: 0, reordered: 0, resent: 0, storedBefore: 0, throughSync: 2 },
    ],
    liveOrder: { visitor: { duplicated: 0, reordered: 0 }, agent: { duplicated: 0, reordered: 0 } },
    unacknowledged: 0,
    errors: [],
    ...overrides,
  };
}

test('every count that must be zero is checked, and one that is not shows', () => {
  const clean = integrityChecks(results, failover());
  assert.ok(clean.length > 10);
  assert.ok(clean.every((c) => c.value === 0));
  assert.ok(!clean.some((c) => c.what.startsWith('bare ws relay: messages duplicated')), 'the relay has no seq to count by');

  const broken = { ...results, split: figures('split', { ...results.split.throughput, order: { duplicated: 2, reordered: 0 } }, { ...results.split.latency, lost: 1 }) };
  const lostOne = failover({ delivery: [{ ...failover().delivery[0]!, lost: 1 }, failover().delivery[1]!], noticed: spread([NaN]) });
  const failing = integrityChecks(broken, lostOne).filter((c) => c.value !== 0);
  assert.deepEqual(
    failing.map((c) => [c.what, c.value]),
    [
      ['2 nodes, split: messages lost', 1],
      ['2 nodes, split: messages duplicated', 2],
      ["failover, visitor's messages: acknowledged and lost", 1],
      ['failover: steps not seen within their bound', 1],
    ],
  );
});

test('the failover table gives each step over the kills', () => {
  const text = renderFailover(failover());
  assert.match(text, /reconnected .*\| 1 +\| 50\.0 +\| 50\.0/);
  assert.match(text, /noticed .*\| 2100\.0/);
  assert.match(text, /agent → visitor \| 10 /);
});
