import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairRates, summarizeRates } from './mediaRates.ts';

const row = (participantId: string, videoFramesDecoded: number, audioPacketsReceived: number) => ({ participantId, videoFramesDecoded, audioPacketsReceived });

test('rates per pair over the span; a sender never received counts as zero', () => {
  const rates = pairRates(
    [
      { receiver: 'a', from: { at: 0, rows: [row('b', 100, 500), row('c', 0, 0)] }, to: { at: 2_000, rows: [row('b', 160, 600), row('c', 0, 0)] } },
      { receiver: 'b', from: { at: 0, rows: [row('a', 10, 10)] }, to: { at: 1_000, rows: [row('a', 40, 60)] } },
    ],
    ['a', 'b', 'c'],
  );
  assert.deepEqual(rates, [
    { receiver: 'a', sender: 'b', framesPerSecond: 30, audioPacketsPerSecond: 50 },
    { receiver: 'a', sender: 'c', framesPerSecond: 0, audioPacketsPerSecond: 0 },
    { receiver: 'b', sender: 'a', framesPerSecond: 30, audioPacketsPerSecond: 50 },
    { receiver: 'b', sender: 'c', framesPerSecond: 0, audioPacketsPerSecond: 0 },
  ]);
  const summary = summarizeRates(rates);
  assert.deepEqual(summary.framesPerSecond, { min: 0, median: 15, max: 30 });
  assert.deepEqual(summary.silentVideo, ['a ← c', 'b ← c']);
  assert.equal(summary.pairs, 4);
  assert.equal(summary.totalFramesPerSecond, 60);
});

test('a sender that appears during the span counts from zero; counters never go backwards', () => {
  const [rate] = pairRates([{ receiver: 'a', from: { at: 0, rows: [] }, to: { at: 1_000, rows: [row('b', 25, 50)] } }], ['a', 'b']);
  assert.equal(rate?.framesPerSecond, 25);
  const [reset] = pairRates([{ receiver: 'a', from: { at: 0, rows: [row('b', 90, 90)] }, to: { at: 1_000, rows: [row('b', 5, 5)] } }], ['a', 'b']);
  assert.equal(reset?.framesPerSecond, 0);
});
