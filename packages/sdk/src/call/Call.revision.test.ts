import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../storage.ts';
import { FakeMediaHandler, FakeNetwork } from '../testing/FakeMedia.ts';
import type { CallParticipant, CallSnapshot, Party } from '../wire.ts';
import { Call } from './Call.ts';
import { resolveCallOptions } from './callOptions.ts';

const visitor: Party = { id: 'v', role: 'visitor', name: 'Vera' };
const agent: Party = { id: 'a', role: 'agent', name: 'Ana' };

const participant = (party: Party, joined: boolean): CallParticipant => ({
  ...party,
  audio: true,
  video: true,
  joined,
  connection: joined ? 'connecting' : 'absent',
  invitedBy: null,
  screen: false,
  screenStream: null,
});

const snapshot = (revision: number, agentJoined: boolean): CallSnapshot => ({
  callId: 'call-1',
  sessionID: 's',
  revision,
  state: 'connecting',
  initiator: visitor,
  useAudio: true,
  useVideo: true,
  participants: [participant(visitor, true), participant(agent, agentJoined)],
  topology: 'mesh',
  capacity: 4,
  createdAt: new Date(0).toISOString(),
  expiresAt: null,
  startedAt: null,
  endedAt: null,
  endReason: null,
  endedBy: null,
});

/** The visitor's call engine with everything outside it faked; records the participant events it emits. */
function visitorCall(initial: CallSnapshot | null = null, activate = true) {
  const events: string[] = [];
  const call = new Call(
    {
      sessionID: 's',
      self: visitor,
      request: () => Promise.reject(new Error('no server here')),
      send: () => true,
      storage: new MemoryStorage(),
      storagePrefix: 'test:',
      options: resolveCallOptions({ media: new FakeMediaHandler(new FakeNetwork()) }),
      emit: (name, ...args) => {
        if (name === 'videoParticipant') events.push(`${(args[0] as { participant: Party }).participant.id} ${String(args[1])}`);
      },
    },
    initial,
  );
  if (activate) call.activate();
  return { call, events };
}

test('a snapshot older than the one applied (a join result handled after a later call.updated) changes nothing', () => {
  const { call, events } = visitorCall();
  call.apply(snapshot(7, true)); // the agent's join, sent after the visitor's own join result
  call.apply(snapshot(6, false)); // the visitor's join result, handled last
  assert.deepEqual(events, ['a participantJoined'], 'the agent never left');
  assert.equal(call.snapshot.participants.find((p) => p.id === agent.id)?.joined, true);
  call.apply(snapshot(8, false)); // a newer one is the truth
  assert.deepEqual(events, ['a participantJoined', 'a participantLeft']);
});

test('before the Contact is handed out, the newest snapshot is the one kept', () => {
  const { call } = visitorCall(snapshot(7, true), false);
  call.apply(snapshot(6, false));
  call.activate();
  assert.equal(call.snapshot.participants.find((p) => p.id === agent.id)?.joined, true);
});
