import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Changes } from './changes.ts';

test('a waiter resolves at the first change that makes its probe give a value', async () => {
  const changes = new Changes();
  let value: number | null = null;
  const waiting = changes.until(() => value, 5_000);
  changes.notify(); // nothing yet
  value = 7;
  changes.notify();
  assert.equal(await waiting, 7);
});

test('a value already there resolves at once; none within the time gives null; a stop ends the wait', async () => {
  const changes = new Changes();
  assert.equal(await changes.until(() => 'now', 5_000), 'now');
  assert.equal(await changes.until(() => null, 20), null);
  let stopped = false;
  const waiting = changes.until(() => null, 5_000, () => stopped);
  stopped = true;
  changes.notify();
  assert.equal(await waiting, null);
});
