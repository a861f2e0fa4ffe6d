import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../storage.ts';
import { FakeMediaHandler, FakeNetwork } from '../testing/FakeMedia.ts';
import type { CallParticipant, CallSnapshot, Party } from '../wire.ts';
import { Call } from './Call.ts';
import { resolveCallOptions } from './callOptions.ts';

const visitor: Party = { id: 'v', role: 'visitor', name: 'Vera' };
const agent: Party = { id: 'a', role: 'agent', name: 'Ana' };
const colleague: Party = { id: 'c', role: 'agent', name: 'Cy' };

const participant = (party: Party, invitedBy: Party | null = null): CallParticipant => ({
  ...party,
  audio: true,
  video: true,
  joined: true,
  connection: 'connected',
  invitedBy,
  screen: false,
  screenStream: null,
});

const snapshot = (revision: number, parties: CallParticipant[], over: Partial<CallSnapshot> = {}): CallSnapshot => ({
  callId: 'call-1',
  sessionID: 's',
  revision,
  state: 'active',
  initiator: visitor,
  useAudio: true,
  useVideo: true,
  participants: parties,
  topology: 'mesh',
  capacity: 4,
  createdAt: new Date(0).toISOString(),
  expiresAt: null,
  startedAt: new Date(0).toISOString(),
  endedAt: null,
  endReason: null,
  endedBy: null,
  ...over,
});

/** The colleague's call engine, engaged in a running call of three; records its requests and ends. */
function colleagueInCall() {
  const requests: string[] = [];
  const ended: string[] = [];
  const three = snapshot(5, [participant(visitor), participant(agent), participant(colleague, agent)]);
  const call = new Call(
    {
      sessionID: 's',
      self: colleague,
      request: ((type: string) => {
        requests.push(type);
        return new Promise(() => undefined); // never answered: only what is asked counts here
      }) as never,
      send: () => true,
      storage: new MemoryStorage(),
      storagePrefix: 'test:',
      options: resolveCallOptions({ media: new FakeMediaHandler(new FakeNetwork()) }),
      emit: (name, ...args) => {
        if (name === 'videoEnded') ended.push((args[0] as { reason: string }).reason);
      },
    },
    null,
  );
  call.activate();
  call.apply(snapshot(4, [participant(visitor), participant(agent), { ...participant(colleague, agent), joined: false, connection: 'absent' }]));
  call.joinNow('stage');
  call.apply(three);
  return { call, requests, ended };
}

const withoutColleague = (revision: number, over: Partial<CallSnapshot> = {}) =>
  snapshot(revision, [participant(visitor), participant(agent)], { dropped: [colleague.id], ...over });

test('dropped past the grace period: told (videoEnded dropped, canRejoin), never joined again silently', () => {
  const { call, requests, ended } = colleagueInCall();
  const joinsBefore = requests.filter((r) => r === 'call.join').length;
  call.connectionRestored(withoutColleague(9));
  assert.deepEqual(ended, ['dropped']);
  assert.equal(call.snapshot.canRejoin, true);
  assert.equal(call.snapshot.state, 'active');
  assert.equal(requests.filter((r) => r === 'call.join').length, joinsBefore, 'no call.join by itself');
});

test('rejoin() joins again; it is refused once the call is over', async () => {
  const { call, requests } = colleagueInCall();
  call.apply(withoutColleague(9));
  const joinsBefore = requests.filter((r) => r === 'call.join').length;
  await call.rejoin();
  assert.equal(requests.filter((r) => r === 'call.join').length, joinsBefore + 1);
  assert.equal(call.snapshot.canRejoin, false, 'engaged again');

  const other = colleagueInCall();
  other.call.apply(withoutColleague(9));
  other.call.apply(withoutColleague(10, { state: 'ended', endReason: 'hangup', endedAt: new Date(1).toISOString() }));
  assert.equal(other.call.snapshot.canRejoin, false);
  await assert.rejects(other.call.rejoin(), (err: Error & { code?: string }) => err.code === 'conflict');
});

test('taken out by an agent is a removal, with nothing to rejoin', () => {
  const { call, ended } = colleagueInCall();
  call.apply(snapshot(9, [participant(visitor), participant(agent)]));
  assert.deepEqual(ended, ['removed']);
  assert.equal(call.snapshot.canRejoin, false);
});
