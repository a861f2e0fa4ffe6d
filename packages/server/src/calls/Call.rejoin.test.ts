import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Party } from '@parley/protocol';
import { ParleyServerError } from '../errors.ts';
import { Call } from './Call.ts';

const visitor: Party = { id: 'v', role: 'visitor', name: 'Vera' };
const agent: Party = { id: 'a', role: 'agent', name: 'Ada' };
const guest: Party = { id: 'g', role: 'guest', name: 'Gil' };
const stranger: Party = { id: 'x', role: 'guest', name: 'Xan' };
const media = { topology: 'mesh' as const, capacity: 3, capacityHint: 'use an SFU' };

const code = (expected: string) => (err: unknown) => err instanceof ParleyServerError && err.code === expected;

/** A call of three (visitor, agent, guest), all joined, the guest's grace period run out at 10 s. */
function groupWithGuestDropped(): Call {
  const { call } = Call.begin(
    { id: 'call', sessionID: 's', action: { type: 'request', by: visitor, useAudio: true, useVideo: true }, visitor, agent, media, timing: { ringMs: 1000, graceMs: 5000 } },
    undefined,
  );
  call.apply({ type: 'accept', by: agent });
  call.invite(guest, agent);
  for (const p of [visitor, agent, guest]) call.join(p.id);
  call.disconnected(guest.id, new Date(5000));
  const change = call.deadlineReached(`grace:${guest.id}`, new Date(10_000));
  assert.equal(change?.events[0]?.type, 'participantLeft');
  return call;
}

describe('Call: rejoining after the grace period', () => {
  it('a group call goes on, and the dropped party is named in the snapshot', () => {
    const call = groupWithGuestDropped();
    assert.equal(call.inProgress, true);
    assert.equal(call.participant(guest.id), undefined);
    assert.deepEqual(call.snapshot().dropped, [guest.id]);
  });

  it('the dropped party may join again while the call lasts, as the participant it was', () => {
    const call = groupWithGuestDropped();
    call.requireJoinable(guest);
    const change = call.rejoin(guest);
    assert.deepEqual(change.events, [{ type: 'participantRejoined', participant: guest }]);
    const back = call.participant(guest.id);
    assert.equal(back?.joined, true);
    assert.equal(back?.invitedBy?.id, agent.id, 'still a guest brought in by the agent: hanging up only leaves');
    assert.equal(call.snapshot().dropped, undefined);
    assert.throws(() => call.rejoin(guest), code('forbidden'), 'a second rejoin is no rejoin: it is a participant again');
  });

  it('survives being stored and read back (another node, a restart)', () => {
    const call = Call.fromRecord(groupWithGuestDropped().toRecord());
    assert.deepEqual(call.snapshot().dropped, [guest.id]);
    assert.equal(call.rejoin(guest).events[0]?.type, 'participantRejoined');
  });

  it('refuses a party that was never dropped from this call', () => {
    const call = groupWithGuestDropped();
    assert.throws(() => call.requireJoinable(stranger), code('forbidden'));
    assert.throws(() => call.rejoin(stranger), code('forbidden'));
  });

  it('refuses once the call is over', () => {
    const call = groupWithGuestDropped();
    call.hangup(visitor, false);
    assert.equal(call.ended, true);
    assert.equal(call.snapshot().dropped, undefined);
    assert.throws(() => call.requireJoinable(guest), code('conflict'));
    assert.throws(() => call.rejoin(guest), code('conflict'));
  });

  it('a call of two ends when the visitor is gone past the grace period: there is nothing to rejoin', () => {
    const { call } = Call.begin(
      { id: 'c2', sessionID: 's', action: { type: 'request', by: visitor, useAudio: true, useVideo: false }, visitor, agent, media, timing: { ringMs: 1000, graceMs: 5000 } },
      undefined,
    );
    call.apply({ type: 'accept', by: agent });
    call.join(visitor.id);
    call.join(agent.id);
    call.disconnected(visitor.id, new Date(0));
    assert.equal(call.deadlineReached(`grace:${visitor.id}`, new Date(5000))?.events[0]?.type, 'ended');
    assert.throws(() => call.rejoin(visitor), code('forbidden'));
  });
});
