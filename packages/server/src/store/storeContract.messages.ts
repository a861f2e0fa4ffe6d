import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, Party } from '@parley/protocol';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import type { AppendMessageInput, MessagePageQuery, Store } from './Store.ts';

/*
 * The message half of the Store contract (appendMessage, listMessages), run by describeStoreContract
 * inside its own describe block: `current()` is that test's fresh store.
 */

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };
const ann: Party = { id: 'a1', role: 'agent', name: 'Ann' };
const system: Party = { id: 'system', role: 'system', name: 'Parley' };

/** A text message input; `body` defaults to a text derived from the id. */
function text(
  id: string,
  sessionID: string,
  from: Party,
  clientId?: string,
  body = `text of ${id}`,
): AppendMessageInput {
  const input: AppendMessageInput = { id, sessionID, from, kind: 'text', text: body, at: at(30) };
  if (clientId !== undefined) input.clientId = clientId;
  return input;
}

const seqs = (messages: Message[]): number[] => messages.map((m) => m.seq);

/** A page as `[seqs, more]`, for compact assertions. */
async function pageOf(store: Store, sessionID: string, query: MessagePageQuery): Promise<[number[], boolean]> {
  const page = await store.listMessages(sessionID, query);
  return [seqs(page.messages), page.more];
}

function event(id: string, sessionID: string, body: string, minute = 30): AppendMessageInput {
  return { id, sessionID, from: system, kind: 'event', text: body, at: at(minute) };
}

/** Registers the appendMessage / listMessages part of the contract. */
export function describeMessageContract(current: () => Store): void {
  describe('appendMessage', () => {
    it('numbers messages 1, 2, 3… per conversation and bumps lastSeq', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 2);
      const first = await store.appendMessage({
        id: 'm1',
        sessionID: 'c1',
        from: vera,
        kind: 'text',
        text: 'Hi, is anyone there?',
        clientId: 'k1',
        at: at(3),
      });
      assert.deepEqual(first, {
        duplicate: false,
        message: {
          id: 'm1',
          seq: 1,
          sessionID: 'c1',
          from: vera,
          kind: 'text',
          text: 'Hi, is anyone there?',
          at: at(3),
          clientId: 'k1',
        },
      });
      const joined = await store.appendMessage(event('m2', 'c1', 'Ann joined the conversation', 4));
      assert.equal(joined.message.seq, 2);
      assert.equal('clientId' in joined.message, false, 'no clientId key without a clientId');
      const reply = await store.appendMessage(text('m3', 'c1', ann, 'k1'));
      assert.equal(reply.message.seq, 3);
      const elsewhere = await store.appendMessage(text('m4', 'c2', vera, 'k1'));
      assert.equal(elsewhere.message.seq, 1, 'own numbering per conversation');

      assert.equal((await store.getConversation('c1'))?.lastSeq, 3);
      assert.equal((await store.getConversation('c2'))?.lastSeq, 1);
      const stored = await store.listMessages('c1', { afterSeq: 0, limit: 10 });
      assert.deepEqual(stored.messages, [first.message, joined.message, reply.message]);
    });

    it('returns the stored message for a retried clientId, storing nothing', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      const original = await store.appendMessage(text('m1', 'c1', vera, 'k1', 'first try'));
      await store.appendMessage(text('m2', 'c1', vera, 'k2'));
      const retry = await store.appendMessage(text('m3', 'c1', vera, 'k1', 'first try'));
      assert.equal(retry.duplicate, true);
      assert.deepEqual(retry.message, original.message);
      assert.equal((await store.getConversation('c1'))?.lastSeq, 2);
      const page = await store.listMessages('c1', { limit: 10 });
      assert.deepEqual(
        page.messages.map((m) => m.id),
        ['m1', 'm2'],
      );
    });

    it('scopes clientIds to the sender and the conversation', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 2);
      const results = [
        await store.appendMessage(text('m1', 'c1', vera, 'same')),
        await store.appendMessage(text('m2', 'c1', ann, 'same')),
        await store.appendMessage(text('m3', 'c2', vera, 'same')),
      ];
      assert.deepEqual(
        results.map((r) => r.duplicate),
        [false, false, false],
      );
      assert.equal((await store.getConversation('c1'))?.lastSeq, 2);
    });

    it('never treats messages without clientId as duplicates', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      for (let i = 1; i <= 3; i++) {
        const r = await store.appendMessage(event(`e${i}`, 'c1', 'same', i));
        assert.equal(r.duplicate, false);
        assert.equal(r.message.seq, i);
      }
    });

    it('rejects an unknown conversation and stores nothing', async () => {
      const store = current();
      await seedParties(store);
      await assert.rejects(store.appendMessage(text('m1', 'ghost', vera, 'k1')));
      assert.deepEqual(await store.listMessages('ghost', { limit: 10 }), { messages: [], more: false });
    });

    it('rejects a reused message id without leaving a gap in seq', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.appendMessage(text('m1', 'c1', vera, 'k1'));
      await assert.rejects(store.appendMessage(text('m1', 'c1', vera, 'k2')));
      assert.equal((await store.getConversation('c1'))?.lastSeq, 1, 'the failed append took no seq');
      assert.equal((await store.appendMessage(text('m2', 'c1', vera, 'k3'))).message.seq, 2);
    });

    it('keeps seqs gapless when one of many simultaneous appends fails', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.appendMessage(text('taken', 'c1', vera, 'k0'));
      const settled = await Promise.allSettled([
        store.appendMessage(text('m1', 'c1', vera, 'k1')),
        store.appendMessage(text('taken', 'c1', vera, 'k2')),
        store.appendMessage(text('m3', 'ghost', vera, 'k3')),
        store.appendMessage(text('m4', 'c1', vera, 'k4')),
      ]);
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
      );
      const page = await store.listMessages('c1', { limit: 10 });
      assert.deepEqual(seqs(page.messages), [1, 2, 3]);
      assert.deepEqual(
        page.messages.map((m) => m.id),
        ['taken', 'm1', 'm4'],
      );
    });

    it('gives simultaneous appends distinct, gapless seqs in call order', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 2);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.appendMessage(text(`m${i}`, i % 2 === 0 ? 'c1' : 'c2', vera, `k${i}`)),
        ),
      );
      for (const sessionID of ['c1', 'c2']) {
        const mine = results.filter((r) => r.message.sessionID === sessionID).map((r) => r.message.seq);
        assert.deepEqual(mine, Array.from({ length: 100 }, (_, i) => i + 1), `${sessionID}: 1..100 in call order`);
        const page = await store.listMessages(sessionID, { afterSeq: 0, limit: 500 });
        assert.deepEqual(seqs(page.messages), mine);
        assert.equal((await store.getConversation(sessionID))?.lastSeq, 100);
      }
    });

    it('stores a clientId once when it is sent several times at once', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.appendMessage(text(`m${i}`, 'c1', vera, 'k1'))),
      );
      assert.equal(results.filter((r) => !r.duplicate).length, 1);
      assert.ok(results.every((r) => r.message.id === results[0]?.message.id && r.message.seq === 1));
      assert.equal((await store.getConversation('c1'))?.lastSeq, 1);
    });

    it('appends to a closed conversation (the closing event follows the close)', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await store.closeConversation('c1', vera, at(2));
      const r = await store.appendMessage(event('e1', 'c1', 'Vera closed the conversation', 2));
      assert.equal(r.message.seq, 1);
    });

    it('keeps the first text message for the queue view', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'empty', 1);
      await store.createConversation({
        id: 'given',
        visitorId: 'v1',
        visitorInfo: {},
        firstMessage: 'Opening',
        createdAt: at(2),
      });
      await store.appendMessage(event('e1', 'empty', 'an event', 3));
      assert.equal((await store.getConversation('empty'))?.firstMessage, null, 'events do not count');
      await store.appendMessage(text('m1', 'empty', vera, 'k1', 'Where is my order?'));
      await store.appendMessage(text('m2', 'empty', vera, 'k2', 'Hello?'));
      await store.appendMessage(text('m3', 'given', vera, 'k3', 'Later text'));
      assert.equal((await store.getConversation('empty'))?.firstMessage, 'Where is my order?');
      assert.equal((await store.getConversation('given'))?.firstMessage, 'Opening');
    });
  });

  describe('listMessages', () => {
    /** c1 holds seqs 1..10; c2 holds 3 messages that must never leak into c1's pages. */
    async function seedTen(store: Store): Promise<void> {
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 2);
      for (let i = 1; i <= 10; i++) await store.appendMessage(text(`m${i}`, 'c1', i % 2 ? vera : ann, `k${i}`));
      for (let i = 1; i <= 3; i++) await store.appendMessage(text(`x${i}`, 'c2', vera, `k${i}`));
    }

    it('without bounds returns the newest `limit`, oldest first, and whether older remain', async () => {
      const store = current();
      await seedTen(store);
      const page = await store.listMessages('c1', { limit: 3 });
      assert.deepEqual(seqs(page.messages), [8, 9, 10]);
      assert.equal(page.more, true);
      assert.ok(page.messages.every((m) => m.sessionID === 'c1'));
      const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      assert.deepEqual(await pageOf(store, 'c1', { limit: 10 }), [ten, false]);
      assert.deepEqual(await pageOf(store, 'c1', { limit: 50 }), [ten, false]);
    });

    it('with beforeSeq returns the newest `limit` before it, oldest first', async () => {
      const store = current();
      await seedTen(store);
      assert.deepEqual(await pageOf(store, 'c1', { beforeSeq: 8, limit: 3 }), [[5, 6, 7], true]);
      assert.deepEqual(await pageOf(store, 'c1', { beforeSeq: 4, limit: 3 }), [[1, 2, 3], false]);
      assert.deepEqual(await pageOf(store, 'c1', { beforeSeq: 3, limit: 5 }), [[1, 2], false]);
      assert.deepEqual(await store.listMessages('c1', { beforeSeq: 1, limit: 5 }), { messages: [], more: false });
    });

    it('with afterSeq returns the oldest `limit` after it, and whether newer remain', async () => {
      const store = current();
      await seedTen(store);
      assert.deepEqual(await pageOf(store, 'c1', { afterSeq: 0, limit: 4 }), [[1, 2, 3, 4], true]);
      assert.deepEqual(await pageOf(store, 'c1', { afterSeq: 6, limit: 4 }), [[7, 8, 9, 10], false]);
      assert.deepEqual(await pageOf(store, 'c1', { afterSeq: 8, limit: 4 }), [[9, 10], false]);
      assert.deepEqual(await store.listMessages('c1', { afterSeq: 10, limit: 4 }), { messages: [], more: false });
    });

    it('with both bounds returns the range, oldest first', async () => {
      const store = current();
      await seedTen(store);
      assert.deepEqual(await pageOf(store, 'c1', { afterSeq: 2, beforeSeq: 8, limit: 3 }), [[3, 4, 5], true]);
      assert.deepEqual(await pageOf(store, 'c1', { afterSeq: 2, beforeSeq: 8, limit: 5 }), [[3, 4, 5, 6, 7], false]);
    });

    it('pages forward and backward through a conversation, each message exactly once', async () => {
      const store = current();
      await seedTen(store);
      const forward: number[] = [];
      for (let after = 0, more = true; more; ) {
        const page = await store.listMessages('c1', { afterSeq: after, limit: 3 });
        forward.push(...seqs(page.messages));
        after = page.messages.at(-1)?.seq ?? after;
        more = page.more;
      }
      assert.deepEqual(forward, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const backward: number[] = [];
      let page = await store.listMessages('c1', { limit: 4 });
      backward.unshift(...seqs(page.messages));
      while (page.more) {
        page = await store.listMessages('c1', { beforeSeq: page.messages[0]?.seq ?? 0, limit: 4 });
        backward.unshift(...seqs(page.messages));
      }
      assert.deepEqual(backward, forward);
    });

    it('returns full messages and an empty page for an unknown conversation', async () => {
      const store = current();
      await seedTen(store);
      const [m2] = (await store.listMessages('c1', { afterSeq: 1, limit: 1 })).messages;
      assert.deepEqual(m2, {
        id: 'm2',
        seq: 2,
        sessionID: 'c1',
        from: ann,
        kind: 'text',
        text: 'text of m2',
        at: at(30),
        clientId: 'k2',
      });
      assert.deepEqual(await store.listMessages('ghost', { limit: 10 }), { messages: [], more: false });
      assert.deepEqual(await store.listMessages('ghost', { afterSeq: 0, limit: 10 }), { messages: [], more: false });
    });
  });
}
