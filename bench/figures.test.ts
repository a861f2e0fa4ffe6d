import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growth, percentile } from './figures.ts';
import { splitLoad } from './loadGenerator.ts';

test('percentile is nearest-rank over ascending samples', () => {
  const samples = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(percentile(samples, 0.5), 50);
  assert.equal(percentile(samples, 0.99), 99);
  assert.equal(percentile(samples, 1), 100);
  assert.equal(percentile(Float64Array.from([7]), 0.99), 7);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 0.5)));
});

test('memory growth is measured from the collected baseline', () => {
  const from = { rss: 200, rssAfterGc: 100, heapUsed: 50 };
  const to = { rss: 400, rssAfterGc: 300, heapUsed: 90 };
  assert.deepEqual(growth(from, to, 10), { rss: 30, rssAfterGc: 20, heapUsed: 4 });
});

test('load splits agents round-robin and keeps every visitor and conversation', () => {
  const agents = Array.from({ length: 5 }, (_, i) => ({ email: `a${i}`, password: '' }));
  const plans = splitLoad({ target: 'relay', baseUrl: 'http://x', agents, visitors: 101, conversations: 77, threads: 2 });
  assert.deepEqual(plans.map((p) => p.agents.map((a) => a.email)), [['a0', 'a2', 'a4'], ['a1', 'a3']]);
  assert.equal(plans.reduce((n, p) => n + p.visitors, 0), 101);
  assert.equal(plans.reduce((n, p) => n + p.conversations, 0), 77);
  for (const plan of plans) assert.ok(plan.conversations <= plan.visitors);
  assert.deepEqual(plans.map((p) => p.thread), [0, 1]);
});

test('never more threads than agents', () => {
  const agents = [{ email: 'a0', password: '' }];
  assert.equal(splitLoad({ target: 'relay', baseUrl: 'http://x', agents, visitors: 3, conversations: 3, threads: 4 }).length, 1);
});
