import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallStatsRow } from '../events.ts';
import { SpeakerWatch } from './SpeakerWatch.ts';

const row = (participantId: string, audioLevel: number): CallStatsRow => ({ participantId, audioPacketsReceived: 1, videoFramesDecoded: 1, audioLevel });

test('marks the loudest participant that sends audio, keeps it through short pauses, and nobody after about two seconds of quiet', async () => {
  let rows: CallStatsRow[] = [];
  const muted = new Set<string>();
  const marks: Array<string | null> = [];
  const watch = new SpeakerWatch({ stats: async () => rows, sendsAudio: (id) => !muted.has(id), onSpeaker: (id) => marks.push(id) });
  watch.watch(true);
  rows = [row('a', 0.1), row('b', 0.3)];
  await watch.sample();
  assert.deepEqual(marks, ['b'], 'the loudest one');
  muted.add('b');
  await watch.sample();
  assert.deepEqual(marks, ['b', 'a'], 'a muted participant is not taken as speaking (its level is stale)');
  rows = [row('a', 0.001), row('b', 0.001)];
  for (let i = 0; i < 3; i++) await watch.sample();
  assert.deepEqual(marks, ['b', 'a'], 'three quiet samples keep the mark');
  await watch.sample();
  assert.deepEqual(marks, ['b', 'a', null], 'the fourth clears it');
  rows = [row('a', 0.5)];
  await watch.sample();
  watch.watch(false);
  assert.deepEqual(marks, ['b', 'a', null, 'a', null], 'stopping marks nobody');
  await watch.sample();
  assert.equal(marks.length, 5, 'a sample after stopping marks nothing');
});
