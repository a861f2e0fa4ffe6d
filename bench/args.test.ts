import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchOptions } from './args.ts';
import { BenchUsageError, TIMEOUT_SECONDS_PER_TARGET, protocolOf, readBenchArgs } from './args.ts';

function read(...argv: string[]): BenchOptions {
  const options = readBenchArgs(argv);
  assert.notEqual(options, 'help');
  return options as BenchOptions;
}

test('by default both stores and the relay are measured, in that order, with time for each', () => {
  const options = read();
  assert.deepEqual(options.targets, ['sqlite', 'postgres', 'relay']);
  assert.equal(options.timeoutSeconds, 3 * TIMEOUT_SECONDS_PER_TARGET);
});

test('--store picks the stores Parley is measured on, beside the relay', () => {
  assert.deepEqual(read('--store', 'postgres').targets, ['postgres', 'relay']);
  assert.deepEqual(read('--store', 'sqlite').targets, ['sqlite', 'relay']);
  assert.deepEqual(read('--store', 'all').targets, ['sqlite', 'postgres', 'relay']);
});

test('--only narrows to Parley (on the chosen stores) or to the relay', () => {
  assert.deepEqual(read('--store', 'postgres', '--only', 'parley').targets, ['postgres']);
  assert.deepEqual(read('--only', 'parley').targets, ['sqlite', 'postgres']);
  assert.deepEqual(read('--only', 'relay').targets, ['relay']);
  assert.equal(read('--only', 'relay').timeoutSeconds, TIMEOUT_SECONDS_PER_TARGET);
});

test('--node-flag starts every measured server with the flags given, none by default', () => {
  assert.deepEqual(read().nodeFlags, []);
  assert.deepEqual(read('--node-flag=--max-semi-space-size=1', '--node-flag=--max-old-space-size=512').nodeFlags, [
    '--max-semi-space-size=1',
    '--max-old-space-size=512',
  ]);
  assert.throws(() => readBenchArgs(['--node-flag', 'max-semi-space-size=1']), (error: Error) => error instanceof BenchUsageError && /--node-flag/.test(error.message));
  assert.throws(() => readBenchArgs(['--node-flag=--a --b']), (error: Error) => error instanceof BenchUsageError && /--node-flag/.test(error.message));
});

test('an explicit --timeout wins', () => {
  assert.equal(read('--timeout', '90').timeoutSeconds, 90);
});

test('bad values are usage errors naming the flag', () => {
  assert.throws(() => readBenchArgs(['--store', 'mysql']), (error: Error) => error instanceof BenchUsageError && /--store/.test(error.message));
  assert.throws(() => readBenchArgs(['--only', 'postgres']), (error: Error) => error instanceof BenchUsageError && /--only/.test(error.message));
  assert.throws(() => readBenchArgs(['--rate', '0']), (error: Error) => error instanceof BenchUsageError && /--rate/.test(error.message));
  assert.throws(() => readBenchArgs(['--bogus']));
});

test('--help is asked for, not parsed', () => {
  assert.equal(readBenchArgs(['--help']), 'help');
});

test('a larger --conversations raises --visitors', () => {
  const options = read('--visitors', '10', '--conversations', '1000');
  assert.equal(options.visitors, 1000);
  assert.equal(options.conversations, 1000);
});

test('both stores speak Parley; the relay its own', () => {
  assert.equal(protocolOf('sqlite'), 'parley');
  assert.equal(protocolOf('postgres'), 'parley');
  assert.equal(protocolOf('relay'), 'relay');
});
