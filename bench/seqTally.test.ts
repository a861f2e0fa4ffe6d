import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeqTally } from './seqTally.ts';

test('seqs heard once and in order count nothing, from whatever seq a conversation starts at', () => {
  const tally = new SeqTally();
  for (const seq of [5, 6, 7, 8]) tally.see('a', seq);
  for (const seq of [1, 2]) tally.see('b', seq);
  assert.deepEqual(tally.take(), { duplicated: 0, reordered: 0 });
  assert.equal(tally.missing, 0);
});

test('a seq heard again is a duplicate; one that comes after a later one is out of order', () => {
  const tally = new SeqTally();
  tally.see('a', 1);
  tally.see('a', 2);
  tally.see('a', 2); // again
  tally.see('a', 4); // 3 jumped over
  assert.equal(tally.missing, 1);
  tally.see('a', 3); // late
  tally.see('a', 3); // and again
  assert.deepEqual(tally.take(), { duplicated: 2, reordered: 1 });
  assert.equal(tally.missing, 0);
});

test('a seq before the first one heard came late; heard twice, the second is a duplicate', () => {
  const tally = new SeqTally();
  tally.see('a', 10);
  tally.see('a', 9);
  tally.see('a', 9);
  assert.deepEqual(tally.take(), { duplicated: 1, reordered: 1 });
});

test('take counts since the previous take; conversations are apart', () => {
  const tally = new SeqTally();
  tally.see('a', 1);
  tally.see('a', 1);
  assert.deepEqual(tally.take(), { duplicated: 1, reordered: 0 });
  assert.deepEqual(tally.take(), { duplicated: 0, reordered: 0 });
  tally.see('b', 1); // another conversation's seq 1 is no duplicate
  tally.see('a', 2);
  assert.deepEqual(tally.take(), { duplicated: 0, reordered: 0 });
});
