import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGroupArgs } from './args.ts';

test('defaults: 3 runs, 60 s spans, a 2-party span of half that, both topologies, 900 s limit', () => {
  assert.deepEqual(parseGroupArgs([]), { runs: 3, seconds: 60, twoPartySeconds: 30, timeoutSeconds: 900, topologies: ['mesh', 'janus'], joins: true, hold: true });
});

test('options are read, and wrong values are explained', () => {
  const parsed = parseGroupArgs(['--runs', '5', '--seconds', '20', '--two-party-seconds', '20', '--only', 'janus', '--skip', 'joins']);
  assert.deepEqual(parsed, { runs: 5, seconds: 20, twoPartySeconds: 20, timeoutSeconds: 900, topologies: ['janus'], joins: false, hold: true });
  assert.match((parseGroupArgs(['--runs', '0']) as { problem: string }).problem, /--runs/);
  assert.match((parseGroupArgs(['--only', 'sfu']) as { problem: string }).problem, /mesh or janus/);
  assert.match((parseGroupArgs(['--bogus']) as { problem: string }).problem, /bogus/);
  assert.deepEqual(parseGroupArgs(['--help']), { problem: 'help' });
});
