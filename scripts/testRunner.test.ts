import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dropRunDatabases } from '../packages/server/test/support/postgres.ts';
import { runFile, runSuite } from './testRunner.mjs';

// Limits far below the suites' own, so each case ends quickly; none of them is a measurement.
const limits = { testTimeoutMs: 1_000, fileTimeoutMs: 15_000 };
const fixture = (name: string) => `scripts/fixtures/${name}.fixture.ts`;

/** Running, not a zombie (a killed orphan may wait for init to reap it). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

test('a test that never finishes and a teardown that never finishes each fail on their timeout; the file ends', async () => {
  const result = await runFile(fixture('hang'), limits);
  assert.equal(result.ok, false);
  assert.equal(result.overran, false, 'ended by the test and hook timeouts, not by the file limit');
  assert.match(result.out, /✖ waits forever[^\n]*\n\s*'test timed out after 1000ms'/);
  assert.match(result.out, /✔ runs after the one that hung/);
  assert.match(result.out, /✖ scripts\/fixtures\/hang\.fixture\.ts[^\n]*\n\s*'test timed out after 1000ms'/, 'the hung teardown, named by its file');
  assert.doesNotMatch(result.out, /testDefaults\.mjs/, 'failures name the test file, not the preload');
});

test('a file that blocks its event loop is killed at its limit and named', async () => {
  const result = await runFile(fixture('spin'), { testTimeoutMs: 1_000, fileTimeoutMs: 3_000 });
  assert.equal(result.ok, false);
  assert.equal(result.overran, true);
  assert.match(result.out, /scripts\/fixtures\/spin\.fixture\.ts ran past 3 s: killed/);
});

test('a failed assert.ok without a message says what it got, without quoting the source', async () => {
  const result = await runFile(fixture('assertOk'), limits);
  assert.equal(result.ok, false);
  assert.equal(result.overran, false);
  assert.match(result.out, /AssertionError \[ERR_ASSERTION\]: expected a truthy value, got false/);
});

test('a process a test left running is killed when its file ends, and named', async () => {
  const result = await runFile(fixture('leak'), limits);
  assert.equal(result.ok, true, result.out);
  const pid = Number(/leaked pid (\d+)/.exec(result.out)?.[1]);
  assert.ok(pid > 0, `the fixture printed its child's pid: ${result.out}`);
  assert.match(result.out, new RegExp(`left 1 process\\(es\\) running; killed: sleep\\[${pid}\\]`));
  assert.equal(alive(pid), false, 'the leaked process is gone');
});

test('a suite runs one file several times, each with its label and environment, and names each run', async () => {
  const entries = ['sqlite', 'postgres'].map((store) => ({ file: fixture('env'), label: `[${store}] env`, env: { PARLEY_TEST_STORE: store } }));
  const results = await runSuite('self-test', { ...limits, concurrency: 2 }, entries);
  assert.deepEqual(results.map((r) => r.label).sort(), ['[postgres] env', '[sqlite] env']);
  for (const result of results) {
    assert.equal(result.ok, true, result.out);
    const store = /^\[(\w+)\]/.exec(result.label)?.[1];
    assert.match(result.out, new RegExp(`store=${store} run=${result.mark}\\n`), 'its own environment, and its own mark');
  }
  assert.notEqual(results[0]?.mark, results[1]?.mark);
});

test('a database a file left behind is found by the run that made it, with the mark of that file', async () => {
  const result = await runFile(fixture('leftoverDatabase'), limits);
  assert.equal(result.ok, true, result.out);
  const name = /left database (\w+)/.exec(result.out)?.[1];
  const [runner, file] = result.mark.split('-');
  assert.ok(name?.startsWith(`parley_test_r${runner}_${file}_`), `named after the run and the file: ${name}`);
  assert.deepEqual(await dropRunDatabases(process.pid), [name]);
  assert.deepEqual(await dropRunDatabases(process.pid), [], 'and dropped');
});
