import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BenchUsageError } from './args.ts';
import type { ClusterOptions } from './clusterArgs.ts';
import { CLUSTER_TARGETS, TIMEOUT_SECONDS_PER_KILL, TIMEOUT_SECONDS_PER_TARGET, readClusterArgs } from './clusterArgs.ts';

function read(...argv: string[]): ClusterOptions {
  const options = readClusterArgs(argv);
  assert.notEqual(options, 'help');
  return options as ClusterOptions;
}

test('by default every set-up is measured, fastest first, then 20 kills, with time for each', () => {
  const options = read();
  assert.deepEqual(options.targets, ['relay', 'sqlite', 'postgres', 'single', 'split']);
  assert.equal(options.kills, 20);
  assert.equal(options.rate, 2000);
  assert.equal(options.conversations, 1000);
  assert.ok(options.timeoutSeconds >= CLUSTER_TARGETS.length * TIMEOUT_SECONDS_PER_TARGET + 20 * TIMEOUT_SECONDS_PER_KILL);
});

test('--targets picks set-ups and keeps the measuring order', () => {
  assert.deepEqual(read('--targets', 'split,relay').targets, ['relay', 'split']);
  assert.throws(() => read('--targets', 'relay,three-nodes'), BenchUsageError);
  assert.throws(() => read('--targets', ','), BenchUsageError);
});

test('--only leaves out the other part; --kills 0 leaves out the failover', () => {
  const load = read('--only', 'load');
  assert.equal(load.kills, 0);
  assert.equal(load.timeoutSeconds, CLUSTER_TARGETS.length * TIMEOUT_SECONDS_PER_TARGET);
  const failover = read('--only', 'failover', '--kills', '3');
  assert.deepEqual(failover.targets, []);
  assert.equal(failover.kills, 3);
  assert.ok(failover.timeoutSeconds > 3 * TIMEOUT_SECONDS_PER_KILL && failover.timeoutSeconds < read().timeoutSeconds);
  assert.equal(read('--kills', '0').kills, 0);
  assert.throws(() => read('--only', 'both'), BenchUsageError);
});

test('bad numbers name their flag; --timeout wins', () => {
  assert.throws(() => read('--kills', '2.5'), /--kills/);
  assert.throws(() => read('--kills', '-1'), /--kills/);
  assert.throws(() => read('--rate', '0'), /--rate/);
  assert.equal(read('--timeout', '60').timeoutSeconds, 60);
  assert.equal(read('--conversations', '1500').visitors, 1500);
  assert.equal(readClusterArgs(['--help']), 'help');
});
