import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HoldResult } from './hold.ts';
import { summarizeJoins } from './joinTiming.ts';
import { summarizeRates } from './mediaRates.ts';
import { jsonRecord, renderHoldTable, renderJoinTable, renderProblems, type GroupResults } from './report.ts';

const phase = { seconds: 60, serverCpu: 0.004, serverRss: { start: 100 * 2 ** 20, end: 101 * 2 ** 20, peak: 102 * 2 ** 20 }, janusCpu: null, janusRss: null, chromiumCpu: 1.5, chromiumProcesses: 12, benchCpu: 0.01, machineCpu: 1.9, othersCpu: 0.39, loadAverage: 7 };
const silent = summarizeRates([{ receiver: 'a', sender: 'b', framesPerSecond: 0, audioPacketsPerSecond: 0 }]);
const hold: HoldResult = { topology: 'mesh', idle: phase, twoParty: phase, sixParty: phase, proofAtStart: 'ok', proofAtEnd: 'timed out', pairs: [], rates: silent, twoPartyRates: null, failure: null };

const results: GroupResults = {
  startedAt: new Date('2026-11-22T07:00:00Z'),
  node: 'v20.20.2',
  cores: 2,
  loadAtStart: [3, 2, 1],
  loadAtEnd: [4, 3, 2],
  topologies: ['mesh', 'janus'],
  runs: 1,
  joins: { mesh: { third: summarizeJoins([{ newcomerReceivesAllMs: 700, allReceiveNewcomerMs: 900, everyoneMs: 900 }], 0), fourth: summarizeJoins([], 1), failures: ['mesh run 1: 4th: timed out'] } },
  holds: { mesh: hold },
};

test('the tables show what was measured and dashes for what was not', () => {
  const joins = renderJoinTable(results);
  assert.match(joins, /\| 3rd participant .* \| 900 \/ 900 \|$/m);
  assert.match(joins, /\| 4th participant .* \| — \|$/m);
  assert.doesNotMatch(joins, /janus/, 'a topology without joins has no column');
  const held = renderHoldTable(results);
  assert.match(held, /Parley server CPU, % of a core: idle \/ 2-party \/ 6-party \| 0\.40% \/ 0\.40% \/ 0\.40% \|/);
  assert.match(held, /RSS .* \| 100 \/ 101 \/ 102 \|/);
  assert.match(held, /start \/ end of the span \| ok \/ FAILED \|/);
});

test('a call that carried nothing at all is said plainly', () => {
  const problems = renderProblems(results);
  assert.ok(problems.some((p) => /mesh: NO MEDIA FLOWED/.test(p)));
  assert.ok(problems.some((p) => /4th: timed out/.test(p)));
  assert.ok(problems.some((p) => /proof at the end .* timed out/.test(p)));
});

test('the JSON line is valid JSON, with nulls for figures that do not exist', () => {
  const record = JSON.parse(jsonRecord(results)) as { bench: string; joinsMs: Record<string, { fourth: { everyone: { median: unknown } } } | null>; hold: Record<string, unknown> };
  assert.equal(record.bench, 'group');
  assert.equal(record.joinsMs.mesh?.fourth.everyone.median, null);
  assert.equal(record.joinsMs.janus, null);
  assert.equal(record.hold.janus, null);
});
