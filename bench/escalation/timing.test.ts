import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, runTiming, stepName, summarize, type RunTiming } from './timing.ts';

const at = (ms: number, what: string) => ({ at: 1_000_000 + ms, what });

test('median of odd and even lists', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('a run is measured from the accept mark to each side\'s first frame; earlier entries are ignored', () => {
  const agent = [at(-50, 'frame:first'), at(0, 'accept'), at(3, 'gum:start'), at(9, 'gum:start'), at(120, 'frame:first')];
  const visitor = [at(-10, 'pc:created'), at(40, 'pc:created'), at(150, 'frame:first')];
  const run = runTiming(agent, visitor);
  assert.deepEqual(run.firstFrameMs, { agent: 120, visitor: 150 });
  assert.deepEqual(run.steps.agent, { 'gum:start': 3, 'frame:first': 120 }, 'first occurrence after the accept only');
  assert.deepEqual(run.steps.visitor, { 'pc:created': 40, 'frame:first': 150 });
});

test('a run without an accept mark or without a first frame is an error, not a zero', () => {
  assert.throws(() => runTiming([at(5, 'frame:first')], [at(6, 'frame:first')]), /no accept mark/);
  assert.throws(() => runTiming([at(0, 'accept'), at(5, 'frame:first')], []), /visitor page decoded no remote frame/);
});

test('call ids are dropped from step names so runs line up', () => {
  assert.equal(stepName('ws:recv call.updated connecting 0193abc'), 'ws:recv call.updated connecting');
  assert.equal(stepName('ws:send signal offer'), 'ws:send signal offer');
});

test('the summary takes medians per side and of the later side per run', () => {
  const runs: RunTiming[] = [
    { firstFrameMs: { agent: 100, visitor: 300 }, steps: { agent: { x: 1 }, visitor: {} } },
    { firstFrameMs: { agent: 200, visitor: 100 }, steps: { agent: { x: 3 }, visitor: {} } },
    { firstFrameMs: { agent: 300, visitor: 200 }, steps: { agent: {}, visitor: {} } },
  ];
  const summary = summarize(runs);
  assert.deepEqual(summary.medianMs, { agent: 200, visitor: 200, both: 300 });
  assert.deepEqual(summary.steps.agent, [{ step: 'x', medianMs: 2, runs: 2 }]);
});
