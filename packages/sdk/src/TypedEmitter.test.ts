import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedEmitter } from './TypedEmitter.ts';

interface Events {
  tick: [n: number];
  done: [];
}

class Clock extends TypedEmitter<Events> {
  tick(n: number): boolean {
    return this.emit('tick', n);
  }
}

test('on returns an unsubscribe; off removes; once fires once', () => {
  const clock = new Clock();
  const seen: string[] = [];
  const stop = clock.on('tick', (n) => seen.push(`a${n}`));
  const b = (n: number) => seen.push(`b${n}`);
  clock.on('tick', b);
  clock.once('tick', (n) => seen.push(`once${n}`));
  clock.tick(1);
  stop();
  clock.tick(2);
  clock.off('tick', b);
  assert.equal(clock.tick(3), false);
  assert.deepEqual(seen, ['a1', 'b1', 'once1', 'b2']);
  assert.equal(clock.listenerCount('tick'), 0);
});

test('a throwing listener is reported and the others still run', (t) => {
  const errors: unknown[][] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => errors.push(args));
  const clock = new Clock();
  const seen: number[] = [];
  clock.on('tick', () => {
    throw new Error('boom');
  });
  clock.on('tick', (n) => seen.push(n));
  assert.doesNotThrow(() => clock.tick(7));
  clock.tick(8);
  assert.deepEqual(seen, [7, 8]);
  assert.equal(errors.length, 2);
  assert.match(String(errors[0]![0]), /"tick" listener threw/);
});

test('a once listener removed before the event never fires', () => {
  const clock = new Clock();
  let calls = 0;
  const listener = () => calls++;
  clock.once('tick', listener);
  clock.off('tick', listener);
  clock.tick(1);
  assert.equal(calls, 0);
});
