import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Party } from '@parley/protocol';
import { ParleyServerError } from '../errors.ts';
import { Call } from './Call.ts';

const visitor: Party = { id: 'v', role: 'visitor', name: 'Vera' };
const agent: Party = { id: 'a', role: 'agent', name: 'Ada' };
const colleague: Party = { id: 'c', role: 'agent', name: 'Cy' };
const guest: Party = { id: 'g', role: 'guest', name: 'Gil' };
const media = { topology: 'mesh' as const, capacity: 3, capacityHint: 'use an SFU' };

function ringing() {
  return Call.begin(
    { id: 'call', sessionID: 's', action: { type: 'request', by: visitor, useAudio: true, useVideo: false }, visitor, agent, media, timing: { ringMs: 1000, graceMs: 5000 } },
    undefined,
  );
}

function accepted() {
  const { call } = ringing();
  call.apply({ type: 'accept', by: agent });
  return call;
}

describe('Call', () => {
  it('rings with a deadline, and says who asked', () => {
    const { call, change } = ringing();
    assert.equal(call.state, 'requested');
    assert.equal(call.kind, 'voice call');
    assert.ok(call.expiresAt);
    assert.deepEqual(change.events, [{ type: 'requested', by: visitor }]);
  });

  it('refuses an illegal action and changes nothing', () => {
    const { call } = ringing();
    assert.throws(() => call.apply({ type: 'accept', by: visitor }), (err: unknown) => err instanceof ParleyServerError && err.code === 'forbidden');
    assert.equal(call.state, 'requested');
  });

  it('accepting stops the ring; the first connected link starts the call', () => {
    const call = accepted();
    assert.equal(call.expiresAt, null);
    call.join(visitor.id);
    assert.deepEqual(call.connectionChanged(visitor, 'connected').events, [{ type: 'started' }]);
    assert.equal(call.state, 'active');
  });

  it('while it rings, its two parties prepare their path and may signal to each other; nobody else does', () => {
    const { call } = ringing();
    assert.throws(() => call.requireSignalPath(agent, visitor.id), /join the call before signaling/);
    for (const party of [visitor, agent]) call.requirePreparable(party);
    const before = call.revision;
    assert.deepEqual(call.prepare(visitor.id), { events: [] });
    assert.ok(call.revision > before, 'the others hear that the visitor prepared');
    assert.equal(call.snapshot().participants.find((p) => p.id === visitor.id)?.prepared, true);
    call.requireSignalPath(visitor, agent.id);
    assert.throws(() => call.requireSignalPath(agent, visitor.id), /join the call before signaling/, 'the agent has not prepared');
    const again = call.revision;
    call.prepare(visitor.id);
    assert.equal(call.revision, again, 'preparing again (a reload) changes nothing');
    // Preparing is not joining: no grace period, no connection report, no one counted as in the media.
    assert.equal(call.participant(visitor.id)?.joined, false);
    assert.throws(() => call.connectionChanged(visitor, 'connected'), /join the call first/);
    assert.throws(() => call.requirePreparable(colleague), (err: unknown) => err instanceof ParleyServerError && err.code === 'forbidden');

  });

  it('a prepared link goes on into the accepted call; once it stopped ringing, nothing prepares', () => {
    const { call } = ringing();
    call.prepare(visitor.id);
    call.prepare(agent.id);
    call.apply({ type: 'accept', by: agent });
    call.requireSignalPath(agent, visitor.id);
    assert.throws(() => call.requirePreparable(visitor), /only an invitation not taken up yet/);
    assert.equal(call.prepare(visitor.id), null);
    call.join(visitor.id);
    call.join(agent.id);
    assert.deepEqual(call.connectionChanged(visitor, 'connected').events, [{ type: 'started' }]);
    call.hangup(visitor, false);
    assert.equal(call.prepare(agent.id), null);
  });

  it('a party on two pages is in the call on the last that prepared or joined: signals come from it and go to it', () => {
    const { call } = ringing();
    call.prepare(visitor.id, 'visitorPage1');
    call.prepare(agent.id, 'agentTab-two');
    const before = call.revision;
    call.prepare(agent.id, 'agentTab-one');
    assert.ok(call.revision > before, 'the visitor hears the agent is on another page now');
    const again = call.revision;
    assert.deepEqual(call.prepare(agent.id, 'agentTab-one'), { events: [] });
    assert.equal(call.revision, again, 'the same page preparing again after a reconnect changes nothing');
    assert.equal(call.participant(agent.id)?.page, 'agentTab-one');
    assert.equal(call.requireSignalPath(visitor, agent.id, 'visitorPage1').page, 'agentTab-one', 'signals are for the page that prepared last');
    assert.throws(() => call.requireSignalPath(agent, visitor.id, 'agentTab-two'), /another page of yours/);
    call.apply({ type: 'accept', by: agent });
    call.join(agent.id, 'agentTab-two'); // accepted on the other tab
    assert.equal(call.snapshot().participants.find((p) => p.id === agent.id)?.page, 'agentTab-two');
    call.requireSignalPath(agent, visitor.id, 'agentTab-two');
    assert.throws(() => call.requireSignalPath(agent, visitor.id, 'agentTab-one'), /another page of yours/, 'the tab that prepared is out of the call');
    call.join(visitor.id); // a client that names no page: nothing is filtered for it
    assert.equal(call.participant(visitor.id)?.page, undefined);
    call.requireSignalPath(visitor, agent.id, 'anyPage00');
    assert.equal(Call.fromRecord(call.toRecord()).participant(agent.id)?.page, 'agentTab-two', 'the page is stored with the call');
  });

  it('a participant invited into a running peer-to-peer call prepares while its invitation rings; joining ends that', () => {
    const call = accepted();
    call.join(visitor.id);
    call.join(agent.id);
    assert.throws(() => call.requirePreparable(agent), /only an invitation not taken up yet/);
    call.invite(colleague, agent);
    call.requirePreparable(colleague);
    assert.deepEqual(call.prepare(colleague.id), { events: [] });
    const me = () => call.snapshot().participants.find((p) => p.id === colleague.id);
    assert.equal(me()?.prepared, true);
    assert.equal(me()?.joined, false, 'preparing is not joining: the others do not count it in');
    call.requireSignalPath(colleague, visitor.id);
    call.requireSignalPath(visitor, colleague.id);
    call.join(colleague.id);
    assert.equal(me()?.joined, true);
    assert.throws(() => call.requirePreparable(colleague), /only an invitation not taken up yet/);
  });

  it('a guest hanging up only leaves; the visitor hanging up ends the call', () => {
    const call = accepted();
    call.invite(guest, agent);
    const left = call.hangup(guest, false);
    assert.equal(left.events[0]?.type, 'participantLeft');
    assert.equal(call.participant(guest.id), undefined);
    const ended = call.hangup(visitor, false);
    assert.equal(ended.events[0]?.type, 'ended');
    assert.equal(call.state, 'ended');
  });

  it('every change gives the snapshot a higher revision; a refused action or a repeated report does not', () => {
    const { call } = ringing();
    const revisions = [call.snapshot().revision];
    const step = (what: string, change: () => unknown) => {
      change();
      const revision = call.snapshot().revision;
      assert.ok(revision > revisions.at(-1)!, `${what}: revision ${revision} after ${revisions.at(-1)}`);
      revisions.push(revision);
    };
    step('accept', () => call.apply({ type: 'accept', by: agent }));
    step('visitor joins', () => call.join(visitor.id));
    step('agent joins', () => call.join(agent.id));
    step('link connected', () => call.connectionChanged(visitor, 'connected'));
    step('camera on', () => call.mediaChanged(visitor, true, true));
    step('guest invited', () => call.invite(guest, agent));
    step('agent disconnected', () => call.disconnected(agent.id));
    step('guest leaves', () => call.leave(guest));
    const settled = call.snapshot().revision;
    call.connectionChanged(visitor, 'connected');
    assert.throws(() => call.apply({ type: 'accept', by: agent }));
    assert.equal(call.snapshot().revision, settled, 'nothing changed, so the revision did not either');
    step('hang up', () => call.hangup(visitor, false));
  });

  it('a paused video is call state: it holds only with the camera on, and a repeat changes nothing', () => {
    const call = accepted();
    call.join(visitor.id);
    const visitorOf = () => call.snapshot().participants.find((p) => p.id === visitor.id)!;
    assert.ok(call.mediaChanged(visitor, true, true, true));
    assert.equal(visitorOf().videoPaused, true);
    const revision = call.snapshot().revision;
    assert.equal(call.mediaChanged(visitor, true, true, true), null, 'the same report again is no change');
    assert.equal(call.snapshot().revision, revision);
    call.mediaChanged(visitor, true, false, true);
    assert.equal(visitorOf().videoPaused, false, 'a camera that is off is not paused');
    call.mediaChanged(visitor, true, true);
    assert.equal(visitorOf().videoPaused, false);
  });

  it('refuses one person more than its capacity', () => {
    const call = accepted();
    call.invite(colleague, agent);
    assert.throws(() => call.invite(guest, agent), (err: unknown) => err instanceof ParleyServerError && err.code === 'capacity');
    assert.equal(call.snapshot().participants.length, 3);
  });

  it('ends (closed) with its conversation', () => {
    const call = accepted();
    const change = call.parentClosed(agent);
    assert.deepEqual(change.events[0], { type: 'ended', reason: 'closed', by: agent, durationMs: null });
  });

  it('keeps its deadlines as state: grace and invitation deadlines come and go with the participants', () => {
    const call = accepted();
    assert.deepEqual(call.deadlines(), []);
    call.join(visitor.id);
    const now = new Date('2026-01-01T10:00:00Z');
    call.disconnected(visitor.id, now);
    assert.deepEqual(
      call.deadlines().map((d) => [d.name, d.at.toISOString()]),
      [['grace:v', '2026-01-01T10:00:05.000Z']],
    );
    // Losing the connection again does not push the deadline back.
    assert.equal(call.disconnected(visitor.id, new Date('2026-01-01T10:00:03Z')), null);
    call.join(visitor.id);
    assert.deepEqual(call.deadlines(), []);
    call.invite(colleague, agent);
    assert.deepEqual(
      call.deadlines().map((d) => d.name),
      ['invite:c'],
    );
  });

  it('acts on a deadline only once it is due, and only once', () => {
    const call = accepted();
    call.join(visitor.id);
    call.join(agent.id);
    call.invite(colleague, agent);
    const [invite] = call.deadlines();
    assert.ok(invite);
    assert.equal(call.deadlineReached('invite:c', new Date(invite.at.getTime() - 1)), null, 'not due yet');
    const change = call.deadlineReached('invite:c', invite.at);
    assert.deepEqual(change?.events.map((e) => e.type), ['participantLeft']);
    assert.equal(call.deadlineReached('invite:c', invite.at), null, 'fired twice does nothing');
    assert.equal(call.participant(colleague.id), undefined);
  });

  it('expires its ring from the stored time, and ends on the grace deadline of the visitor', () => {
    const { call } = ringing();
    assert.ok(call.expiresAt);
    assert.equal(call.deadlineReached('ring', new Date(call.expiresAt.getTime() - 1)), null);
    assert.equal(call.deadlineReached('ring', call.expiresAt)?.events[0]?.type, 'ended');
    const live = accepted();
    live.join(visitor.id);
    live.disconnected(visitor.id, new Date(0));
    const ended = live.deadlineReached('grace:v', new Date(5000));
    assert.deepEqual(ended?.events.map((e) => e.type), ['ended']);
    assert.deepEqual(live.deadlines(), []);
  });

  it('comes back from its store record exactly as it was', () => {
    const call = accepted();
    call.join(visitor.id);
    call.join(agent.id);
    call.connectionChanged(visitor, 'connected');
    call.invite(guest, agent);
    call.takeGuestLink(5);
    call.disconnected(agent.id);
    const record = call.toRecord();
    const restored = Call.fromRecord(JSON.parse(JSON.stringify(record)) as typeof record);
    assert.deepEqual(restored.snapshot(), call.snapshot());
    assert.deepEqual(restored.toRecord(new Date(record.updatedAt)), record);
    assert.equal(restored.revision, call.revision);
    assert.deepEqual(restored.deadlines(), call.deadlines());
    assert.equal(record.state, 'active');
    assert.equal(record.nextDeadlineAt, call.deadlines().map((d) => d.at.toISOString()).sort()[0]);
  });

  describe('screen sharing', () => {
    function joined() {
      const call = accepted();
      for (const party of [visitor, agent]) call.join(party.id);
      call.connectionChanged(visitor, 'connected');
      return call;
    }

    it('is call state: a participant starts and stops, with a transcript event each time, and the stored call keeps it', () => {
      const call = joined();
      const before = call.revision;
      assert.deepEqual(call.shareScreen(visitor, true, 'stream-1')?.events, [{ type: 'screenShareStarted', by: visitor }]);
      assert.ok(call.revision > before);
      const sharer = call.snapshot().participants.find((p) => p.id === visitor.id);
      assert.deepEqual([sharer?.screen, sharer?.screenStream], [true, 'stream-1']);
      const record = call.toRecord();
      const restored = Call.fromRecord(JSON.parse(JSON.stringify(record)) as typeof record);
      assert.deepEqual(restored.snapshot(), call.snapshot());
      assert.deepEqual(restored.shareScreen(visitor, false, null)?.events, [{ type: 'screenShareStopped', by: visitor }]);
      const after = restored.snapshot().participants.find((p) => p.id === visitor.id);
      assert.deepEqual([after?.screen, after?.screenStream], [false, 'stream-1'], 'the stream id stays known after the stop');
    });

    it('a repeated start or stop changes nothing; a new stream id is taken without a second transcript line', () => {
      const call = joined();
      call.shareScreen(agent, true, 'stream-1');
      const revision = call.revision;
      assert.equal(call.shareScreen(agent, true, 'stream-1'), null);
      assert.equal(call.revision, revision);
      assert.deepEqual(call.shareScreen(agent, true, 'stream-2')?.events, []);
      assert.equal(call.participant(agent.id)?.screenStream, 'stream-2');
      call.shareScreen(agent, false, null);
      assert.equal(call.shareScreen(agent, false, null), null);
    });

    it('one sharer at a time: a second one is refused with screen_share_busy, and may share once the first stopped', () => {
      const call = joined();
      call.shareScreen(visitor, true, 'stream-v');
      assert.throws(
        () => call.shareScreen(agent, true, 'stream-a'),
        (err: unknown) => err instanceof ParleyServerError && err.code === 'screen_share_busy' && err.message.includes('Vera'),
      );
      assert.equal(call.participant(agent.id)?.screen, false);
      call.shareScreen(visitor, false, null);
      assert.equal(call.shareScreen(agent, true, 'stream-a')?.events[0]?.type, 'screenShareStarted');
    });

    it('only a joined participant of a call in progress shares; an outsider is forbidden; starting needs a stream id', () => {
      const stranger: Party = { id: 'x', role: 'visitor', name: 'Xan' };
      const { call: ringingCall } = ringing();
      assert.throws(() => ringingCall.shareScreen(visitor, true, 's'), (err: unknown) => err instanceof ParleyServerError && err.code === 'conflict');
      const call = accepted();
      assert.throws(() => call.shareScreen(visitor, true, 's'), (err: unknown) => err instanceof ParleyServerError && err.code === 'conflict');
      call.join(visitor.id);
      assert.throws(() => call.shareScreen(stranger, true, 's'), (err: unknown) => err instanceof ParleyServerError && err.code === 'forbidden');
      assert.throws(() => call.shareScreen(visitor, true, null), (err: unknown) => err instanceof ParleyServerError && err.code === 'invalid_frame');
    });

    it('a call stored before screen sharing existed reads as nobody sharing', () => {
      const call = joined();
      const record = JSON.parse(JSON.stringify(call.toRecord())) as ReturnType<Call['toRecord']>;
      const data = record.data as { participants: Array<Record<string, unknown>> };
      for (const p of data.participants) {
        delete p.screen;
        delete p.screenStream;
      }
      const restored = Call.fromRecord(record);
      assert.deepEqual(restored.snapshot().participants.map((p) => [p.screen, p.screenStream]), [[false, null], [false, null]]);
    });
  });
});
