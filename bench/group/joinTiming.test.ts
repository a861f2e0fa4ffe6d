import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinTiming, missingPairs, spread, summarizeJoins, type JoinObservation } from './joinTiming.ts';

const T0 = 1_700_000_000_000;

test('a join lasts until the newcomer decodes everyone and everyone decodes the newcomer', () => {
  const seen: JoinObservation = {
    startedAt: T0,
    newcomerFirstFrames: { visitor: T0 + 800, agent: T0 + 950 },
    others: [
      { id: 'visitor', firstFrameOfNewcomer: T0 + 1_100 },
      { id: 'agent', firstFrameOfNewcomer: T0 + 900 },
    ],
  };
  assert.deepEqual(joinTiming(seen, 'guest'), { newcomerReceivesAllMs: 950, allReceiveNewcomerMs: 1_100, everyoneMs: 1_100 });
});

test('first frames from people who are not in the join (earlier calls) do not count', () => {
  const seen: JoinObservation = {
    startedAt: T0,
    newcomerFirstFrames: { visitor: T0 + 500, 'someone-gone': T0 + 9_000 },
    others: [{ id: 'visitor', firstFrameOfNewcomer: T0 + 400 }],
  };
  assert.equal(joinTiming(seen, 'guest').everyoneMs, 500);
});

test('a pair without a first frame is named, and the join has no time', () => {
  const seen: JoinObservation = {
    startedAt: T0,
    newcomerFirstFrames: { visitor: T0 + 500 },
    others: [
      { id: 'visitor', firstFrameOfNewcomer: undefined },
      { id: 'agent', firstFrameOfNewcomer: T0 + 700 },
    ],
  };
  assert.deepEqual(missingPairs(seen, 'guest'), ['visitor ← guest', 'guest ← agent']);
  assert.throws(() => joinTiming(seen, 'guest'), /visitor ← guest, guest ← agent/);
  assert.throws(() => joinTiming({ startedAt: T0, newcomerFirstFrames: {}, others: [] }, 'guest'), /at least one other/);
});

test('spreads give the median and the maximum; failed joins are counted apart', () => {
  assert.deepEqual(spread([300, 100, 200]), { runs: 3, median: 200, max: 300 });
  const empty = spread([]);
  assert.equal(empty.runs, 0);
  assert.ok(Number.isNaN(empty.median) && Number.isNaN(empty.max));
  const summary = summarizeJoins(
    [
      { newcomerReceivesAllMs: 10, allReceiveNewcomerMs: 30, everyoneMs: 30 },
      { newcomerReceivesAllMs: 50, allReceiveNewcomerMs: 20, everyoneMs: 50 },
    ],
    1,
  );
  assert.deepEqual(summary.everyone, { runs: 2, median: 40, max: 50 });
  assert.equal(summary.failed, 1);
});
