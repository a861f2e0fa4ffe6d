import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Party } from '@parley/protocol';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import { StoreConflictError } from './Store.ts';
import type { AppendMessageInput, CallCommit, CallRecord, Store } from './Store.ts';

/* The Store contract for calls, their media, guest redemptions and chosen presence. */

function callRecord(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    id: 'call1',
    sessionID: 'c1',
    state: 'ringing',
    revision: 1,
    nextDeadlineAt: at(5),
    data: { participants: [{ id: 'v1' }], nested: { ok: true } },
    createdAt: at(2),
    updatedAt: at(2),
    endedAt: null,
    ...overrides,
  };
}

const system: Party = { id: 'system', role: 'system', name: 'Parley' };
function event(id: string, text: string): AppendMessageInput {
  return { id, sessionID: 'c1', from: system, kind: 'event', text, at: at(3) };
}

function conflictOf(err: unknown): string | undefined {
  return err instanceof StoreConflictError ? err.conflict : undefined;
}

export function describeCallContract(current: () => Store): void {
  describe('commitCall', () => {
    it('stores a new call with its events in seq order after the messages before them', async () => {
      const store = current();
      const { vera } = await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.appendMessage({ id: 'm1', sessionID: 'c1', from: vera, kind: 'text', text: 'hi', clientId: 'k1', at: at(2) });
      const events = await store.commitCall({ call: callRecord(), expectedRevision: null, events: [event('e1', 'Vera requested a video call')] });
      assert.deepEqual(
        events.map((m) => [m.seq, m.kind, m.text]),
        [[2, 'event', 'Vera requested a video call']],
      );
      assert.deepEqual(await store.getCall('call1'), callRecord());
      assert.equal((await store.getConversation('c1'))?.lastSeq, 2);
      assert.deepEqual(
        (await store.listLiveCalls()).map((c) => c.id),
        ['call1'],
      );
    });

    it('compares the revision: a change made on an old revision writes nothing, events included', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.commitCall({ call: callRecord(), expectedRevision: null, events: [] });
      await store.commitCall({ call: callRecord({ state: 'connecting', revision: 3 }), expectedRevision: 1, events: [event('e1', 'accepted')] });
      const stale: CallCommit = { call: callRecord({ state: 'ended', revision: 4 }), expectedRevision: 1, events: [event('e2', 'ended')] };
      await assert.rejects(store.commitCall(stale), (err) => conflictOf(err) === 'revision');
      const stored = await store.getCall('call1');
      assert.equal(stored?.state, 'connecting');
      assert.equal(stored?.revision, 3);
      const page = await store.listMessages('c1', { limit: 10 });
      assert.deepEqual(
        page.messages.map((m) => m.text),
        ['accepted'],
      );
    });

    it('refuses a second live call in one conversation, and allows one once the first ended', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.commitCall({ call: callRecord(), expectedRevision: null, events: [] });
      const second: CallCommit = { call: callRecord({ id: 'call2' }), expectedRevision: null, events: [event('e1', 'x')] };
      await assert.rejects(store.commitCall(second), (err) => conflictOf(err) === 'liveCall');
      assert.equal((await store.getConversation('c1'))?.lastSeq, 0);
      await store.commitCall({ call: callRecord({ state: 'ended', revision: 2, endedAt: at(4), nextDeadlineAt: null }), expectedRevision: 1, events: [] });
      await store.commitCall(second);
      assert.deepEqual(
        (await store.listCalls('c1')).map((c) => [c.id, c.state]),
        [
          ['call1', 'ended'],
          ['call2', 'ringing'],
        ],
      );
      assert.deepEqual(
        (await store.listLiveCalls()).map((c) => c.id),
        ['call2'],
      );
    });

    it('records a guest link once: of two commits redeeming it, one is stored', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.commitCall({ call: callRecord(), expectedRevision: null, events: [] });
      const redemption = { jti: 'link1', callId: 'call1', guestId: 'g1', at: at(3), expiresAt: at(30) };
      await store.commitCall({ call: callRecord({ revision: 2 }), expectedRevision: 1, events: [], redemption });
      const again: CallCommit = { call: callRecord({ revision: 3 }), expectedRevision: 2, events: [], redemption: { ...redemption, guestId: 'g2' } };
      await assert.rejects(store.commitCall(again), (err) => conflictOf(err) === 'redeemed');
      assert.equal((await store.getCall('call1'))?.revision, 2);
    });

    it('rejects a call of a conversation that does not exist', async () => {
      const store = current();
      await assert.rejects(store.commitCall({ call: callRecord({ sessionID: 'missing' }), expectedRevision: null, events: [] }));
      assert.equal(await store.getCall('call1'), null);
    });
  });

  describe('call media', () => {
    it('saves, replaces, reads and deletes what a call media adapter made', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.commitCall({ call: callRecord(), expectedRevision: null, events: [] });
      assert.equal(await store.getCallMedia('call1'), null);
      await store.saveCallMedia('call1', { room: 1, pin: 'a' });
      await store.saveCallMedia('call1', { room: 1, pin: 'a', tokens: { v1: ['t'] } });
      assert.deepEqual(await store.getCallMedia('call1'), { room: 1, pin: 'a', tokens: { v1: ['t'] } });
      await store.deleteCallMedia('call1');
      assert.equal(await store.getCallMedia('call1'), null);
    });
  });

  describe('chosen presence', () => {
    it('keeps the last choice of each agent', async () => {
      const store = current();
      await seedParties(store);
      assert.equal((await store.listChosenPresence()).size, 0);
      await store.setChosenPresence('a1', 'away', at(1));
      await store.setChosenPresence('a2', 'away', at(1));
      await store.setChosenPresence('a2', 'online', at(2));
      assert.deepEqual(
        [...(await store.listChosenPresence())].sort(),
        [
          ['a1', 'away'],
          ['a2', 'online'],
        ],
      );
    });
  });
}
