import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallParticipation } from './CallParticipation.ts';
import { isEngaged, isMediaFlowing, nextPhase, participationOf, type CallPhase, type PhaseEvent } from './CallPhase.ts';

const participation = {} as CallParticipation;
const run = (phase: CallPhase, ...events: PhaseEvent[]): CallPhase => events.reduce(nextPhase, phase);
const watching: CallPhase = { kind: 'watching' };

test('a page engages, joins, sees media flow, leaves and is torn down', () => {
  const joining = run(watching, { type: 'engage', divID: 'v' }, { type: 'participate', participation });
  assert.deepEqual(joining, { kind: 'joining', divID: 'v', participation });
  const connected = nextPhase(joining, { type: 'mediaFlowing' });
  assert.equal(connected.kind, 'connected');
  assert.ok(isMediaFlowing(connected));
  const leaving = nextPhase(connected, { type: 'leave' });
  assert.deepEqual(leaving, { kind: 'leaving', divID: 'v', participation, connected: true });
  assert.equal(nextPhase(leaving, { type: 'leaveSettled' }).kind, 'connected');
  assert.deepEqual(nextPhase(leaving, { type: 'teardown' }), watching);
});

test('nothing to send while ringing waits for the hang-up, then joins again', () => {
  const denied = run(watching, { type: 'engage', divID: null }, { type: 'participate', participation }, { type: 'nothingToSend' });
  assert.equal(denied.kind, 'mediaDenied');
  assert.equal(nextPhase(denied, { type: 'mediaHangup' }).kind, 'joining');
});

test('while dormant, events move the held phase and activate releases it', () => {
  const dormant = run({ kind: 'dormant', then: watching }, { type: 'engage', divID: 'v' }, { type: 'participate', participation });
  assert.equal(dormant.kind, 'dormant');
  assert.ok(isEngaged(dormant));
  assert.equal(participationOf(dormant), participation);
  assert.equal(nextPhase(dormant, { type: 'activate' }).kind, 'joining');
});

test('events that do not apply leave the phase as it is', () => {
  assert.equal(nextPhase(watching, { type: 'leave' }), watching);
  assert.equal(nextPhase(watching, { type: 'mediaFlowing' }), watching);
  assert.equal(nextPhase(watching, { type: 'teardown' }), watching);
});
