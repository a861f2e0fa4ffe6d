import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../wire.ts';
import { MessageLog } from './MessageLog.ts';

const msg = (seq: number): Message => ({
  id: `m${seq}`,
  seq,
  sessionID: 's',
  from: { id: 'v', role: 'visitor', name: 'V' },
  kind: 'text',
  text: `text ${seq}`,
  at: '2025-01-01T00:00:00Z',
});
const seqs = (list: Message[]) => list.map((m) => m.seq);

test('releases in order, once, whatever the arrival order', () => {
  const log = new MessageLog();
  log.seed([msg(1), msg(2)]);
  const released: number[] = [];
  for (const seq of [3, 3, 5, 2, 4, 6, 4, 1, 8, 7]) released.push(...seqs(log.accept(msg(seq))));
  assert.deepEqual(released, [3, 4, 5, 6, 7, 8]);
  assert.deepEqual(seqs(log.messages), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(log.lastSeq, 8);
  assert.equal(log.hasGap, false);
});

test('a gap holds later messages until it is filled', () => {
  const log = new MessageLog();
  log.seed([]);
  assert.deepEqual(seqs(log.accept(msg(1))), [1]);
  assert.deepEqual(seqs(log.accept(msg(3))), []);
  assert.equal(log.hasGap, true);
  assert.deepEqual(seqs(log.accept(msg(2))), [2, 3]);
  assert.equal(log.hasGap, false);
});

test('live messages before the history seed are buffered; those covered by history are dropped', () => {
  const log = new MessageLog();
  assert.deepEqual(seqs(log.accept(msg(4))), []);
  assert.deepEqual(seqs(log.accept(msg(5))), []);
  const released = log.seed([msg(2), msg(3), msg(4)]);
  assert.deepEqual(seqs(released), [5]);
  assert.deepEqual(seqs(log.messages), [2, 3, 4, 5]);
  assert.equal(log.firstSeq, 2);
});

test('prepend adds only older messages, without duplicates', () => {
  const log = new MessageLog();
  log.seed([msg(5), msg(6)]);
  assert.deepEqual(seqs(log.prepend([msg(3), msg(4), msg(5), msg(4)])), [3, 4]);
  assert.deepEqual(seqs(log.messages), [3, 4, 5, 6]);
  assert.equal(log.lastSeq, 6);
});
