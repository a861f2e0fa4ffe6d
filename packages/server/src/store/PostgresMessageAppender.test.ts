import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Party } from '@parley/protocol';
import { openPostgresStore } from './index.ts';
import type { AppendMessageInput, AppendMessageResult, Store } from './index.ts';
import { clientKey, planAppends, rowsNotInserted } from './PostgresAppendStatements.ts';
import { splitRepeats, takeBatch } from './PostgresMessageAppender.ts';
import type { MessageRow } from './schema.ts';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres.ts';

/*
 * The batched append path on PostgreSQL: its planning (pure), and several stores (nodes) appending batches
 * to the same conversations at once, in a database made for this file and dropped after it. PostgreSQL
 * must be reachable: without it this file fails, it is never skipped.
 */

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };

function text(id: string, sessionID: string, clientId?: string, body = `text of ${id}`): AppendMessageInput {
  return { id, sessionID, from: vera, kind: 'text', text: body, at: at(5), ...(clientId !== undefined ? { clientId } : {}) };
}

describe('takeBatch', () => {
  it('takes appends in order, leaving those of busy conversations (and every later one of theirs) waiting', () => {
    const pending = ['a', 'b', 'a', 'c', 'b'].map((sessionID, n) => ({ input: { sessionID }, n }));
    const batch = takeBatch(pending, new Set(['b']), 10);
    assert.deepEqual(batch.map((p) => p.n), [0, 2, 3]);
    assert.deepEqual(pending.map((p) => p.n), [1, 4]);
  });

  it('takes at most `max`; the rest keep their order', () => {
    const pending = Array.from({ length: 5 }, (_, n) => ({ input: { sessionID: 'a' }, n }));
    assert.deepEqual(takeBatch(pending, new Set(), 2).map((p) => p.n), [0, 1]);
    assert.deepEqual(pending.map((p) => p.n), [2, 3, 4]);
  });
});

describe('splitRepeats', () => {
  it('keeps the first append of each clientId and points its repeats at it', () => {
    const inputs = [text('m1', 'c1', 'k1'), text('m2', 'c1'), text('m3', 'c1', 'k1'), text('m4', 'c2', 'k1'), text('m5', 'c1')];
    const { unique, repeatOf } = splitRepeats(inputs);
    assert.deepEqual(unique.map((i) => i.id), ['m1', 'm2', 'm4', 'm5']);
    assert.deepEqual(repeatOf, [0, 1, 0, 2, 3]);
  });
});

describe('planAppends', () => {
  it('numbers new messages from each conversation’s last seq, in call order', () => {
    const plan = planAppends([text('m1', 'c1'), text('m2', 'c2'), text('m3', 'c1')], new Map([['c1', 4], ['c2', 0]]), new Map());
    assert.deepEqual(plan.rows.map((r) => [r.id, r.seq]), [['m1', 5], ['m2', 1], ['m3', 6]]);
    assert.deepEqual(plan.rowInputs, [0, 1, 2]);
    assert.deepEqual(plan.conversations, [
      { id: 'c1', lastSeq: 6, firstText: 'text of m1' },
      { id: 'c2', lastSeq: 1, firstText: 'text of m2' },
    ]);
  });

  it('gives no seq to a stored clientId nor to its repeat within the batch, and fails unknown conversations alone', () => {
    const storedRow: MessageRow = { ...planAppends([text('old', 'c1', 'k1')], new Map([['c1', 0]]), new Map()).rows[0]! };
    const stored = new Map([[clientKey('c1', 'v1', 'k1'), storedRow]]);
    const plan = planAppends(
      [text('m1', 'c1', 'k1'), text('m2', 'c1', 'k2'), text('m3', 'ghost', 'k3'), text('m4', 'c1', 'k2'), text('m5', 'c1')],
      new Map([['c1', 1]]),
      stored,
    );
    const [dup, fresh, ghost, repeat, plain] = plan.results;
    assert.deepEqual(dup, { message: { ...(fresh as AppendMessageResult).message, id: 'old', seq: 1, clientId: 'k1', text: 'text of old' }, duplicate: true });
    assert.equal((fresh as AppendMessageResult).message.seq, 2);
    assert.ok(ghost instanceof Error && /ghost does not exist/.test(ghost.message));
    assert.deepEqual(repeat, { message: (fresh as AppendMessageResult).message, duplicate: true });
    assert.equal((plain as AppendMessageResult).message.seq, 3);
    assert.deepEqual(plan.rowInputs, [1, 4]);
    assert.deepEqual(plan.conversations, [{ id: 'c1', lastSeq: 3, firstText: 'text of m2' }]);
  });

  it('keeps an event out of the first text message', () => {
    const event: AppendMessageInput = { id: 'e1', sessionID: 'c1', from: vera, kind: 'event', text: 'joined', at: at(5) };
    assert.equal(planAppends([event], new Map([['c1', 0]]), new Map()).conversations[0]?.firstText, null);
    assert.equal(planAppends([event, text('m1', 'c1')], new Map([['c1', 0]]), new Map()).conversations[0]?.firstText, 'text of m1');
  });

  it('tells apart which of two rows with one id the insert skipped', () => {
    const { rows } = planAppends([text('same', 'c1'), text('same', 'c1'), text('other', 'c1')], new Map([['c1', 0]]), new Map());
    const inserted = [{ id: 'same', conversation_id: 'c1', seq: 1 }, { id: 'other', conversation_id: 'c1', seq: 3 }];
    assert.deepEqual(rowsNotInserted(rows, inserted), [1]);
  });
});

describe('PostgresStore batched appends (several nodes)', () => {
  let database: TestDatabase | null = null;
  let observer: pg.Client | null = null;

  before(async () => {
    database = await createTestDatabase('appender');
    observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
  });

  after(async () => {
    await observer?.end();
    await database?.drop();
  });

  async function reset(): Promise<void> {
    await observer?.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  }

  async function withNodes(count: number, body: (nodes: Store[]) => Promise<void>): Promise<void> {
    assert.ok(database);
    await reset();
    const nodes = await Promise.all(Array.from({ length: count }, () => openPostgresStore((database as TestDatabase).url)));
    try {
      await body(nodes);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  }

  /**
   * Runs `body` while another connection (standing for another node mid-append) holds the lock on
   * `sessionID` in an open transaction; `body` commits it (`other.query('COMMIT')`) when it wants.
   */
  async function whileLocked(sessionID: string, body: (other: pg.Client) => Promise<void>): Promise<void> {
    const other = new pg.Client({ connectionString: (database as TestDatabase).url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [sessionID]);
      await body(other);
    } finally {
      await other.end();
    }
  }

  /** Resolves once a statement on the database waits for a lock. */
  function someoneWaitsForALock(): Promise<void> {
    return waitFor(async () => {
      const waiting = await observer?.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return (waiting?.rowCount ?? 0) > 0;
    });
  }

  it('keeps seqs gapless, in each node’s call order, with clientIds stored once, when nodes batch over overlapping conversations in opposite orders', async () => {
    await withNodes(3, async (nodes) => {
      const first = nodes[0] as Store;
      await seedParties(first);
      const conversations = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);
      for (const [i, id] of conversations.entries()) await createConversation(first, id, i);
      const orders = [conversations, [...conversations].reverse(), conversations.filter((_, i) => i % 2 === 1).concat(conversations.filter((_, i) => i % 2 === 0))];
      const sends: Promise<{ node: number; round: number; result: AppendMessageResult }>[] = [];
      for (let round = 0; round < 8; round++) {
        // One turn of the event loop per round: each node writes the round as one batch over every conversation.
        for (const [n, node] of nodes.entries()) {
          for (const sessionID of orders[n] as string[]) {
            // Rounds 0-3 are each node's own messages; rounds 4-7 retry one shared clientId per conversation and round.
            const clientId = round < 4 ? `n${n}-r${round}` : `shared-r${round}`;
            const input = text(`m-${n}-${round}-${sessionID}`, sessionID, clientId);
            sends.push(node.appendMessage(input).then((result) => ({ node: n, round, result })));
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const settled = await Promise.all(sends);
      for (const sessionID of conversations) {
        const mine = settled.filter((s) => s.result.message.sessionID === sessionID);
        const stored = mine.filter((s) => !s.result.duplicate);
        assert.equal(stored.length, 3 * 4 + 4, `${sessionID}: every node's own messages, and each shared clientId once`);
        const page = await first.listMessages(sessionID, { limit: 100 });
        assert.deepEqual(page.messages.map((m) => m.seq), Array.from({ length: 16 }, (_, i) => i + 1), `${sessionID}: gapless`);
        assert.equal(new Set(page.messages.map((m) => m.clientId)).size, 16);
        for (const duplicate of mine.filter((s) => s.result.duplicate)) {
          assert.equal(page.messages.find((m) => m.clientId === duplicate.result.message.clientId)?.id, duplicate.result.message.id, 'a duplicate answers with the stored message');
        }
        for (let n = 0; n < nodes.length; n++) {
          // A duplicate answers with another node's message, whose seq says nothing of this node's order.
          const seqs = stored.filter((s) => s.node === n).map((s) => s.result.message.seq);
          assert.ok(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number)), `${sessionID}: node ${n}'s seqs follow its call order`);
        }
        assert.equal((await first.getConversation(sessionID))?.lastSeq, 16);
      }
    });
  });

  it('answers no append of a batch before its transaction committed', async () => {
    await withNodes(1, async ([node]) => {
      const store = node as Store;
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 2);
      await whileLocked('c1', async (blocker) => {
        let answered = 0;
        const appends = [store.appendMessage(text('m1', 'c1', 'k1')), store.appendMessage(text('m2', 'c2', 'k2'))].map((p) =>
          p.then((result) => {
            answered++;
            return result;
          }),
        );
        // The batch waits for the lock on c1 (held by `blocker`); c2's append is in the same batch.
        await someoneWaitsForALock();
        assert.equal(answered, 0, 'nothing is answered while the batch waits');
        const visible = await observer?.query('SELECT id FROM messages');
        assert.equal(visible?.rowCount, 0, 'nothing is stored yet');
        await blocker.query('COMMIT');
        const results = await Promise.all(appends);
        assert.deepEqual(results.map((r) => [r.message.sessionID, r.message.seq, r.duplicate]), [['c1', 1, false], ['c2', 1, false]]);
      });
    });
  });

  it('answers as a duplicate a clientId another node stored while the batch waited for its lock, leaving no gap', async () => {
    await withNodes(1, async ([node]) => {
      const store = node as Store;
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      // Another node, mid-append: it holds c1's lock and has inserted the message under k1, not committed yet.
      await whileLocked('c1', async (other) => {
        await other.query(
          `INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
           VALUES ('theirs', 'c1', 1, 'v1', 'visitor', 'Vera', 'text', 'sent through the other node', 'k1', $1)`,
          [at(5)],
        );
        await other.query(`UPDATE conversations SET last_seq = 1 WHERE id = 'c1'`);
        const retried = store.appendMessage(text('mine', 'c1', 'k1'));
        const next = store.appendMessage(text('next', 'c1', 'k2'));
        await someoneWaitsForALock();
        await other.query('COMMIT');
        const [dup, fresh] = await Promise.all([retried, next]);
        assert.deepEqual([dup.duplicate, dup.message.id, dup.message.seq], [true, 'theirs', 1]);
        assert.deepEqual([fresh.duplicate, fresh.message.seq], [false, 2]);
        const page = await store.listMessages('c1', { limit: 10 });
        assert.deepEqual(page.messages.map((m) => [m.id, m.seq]), [['theirs', 1], ['next', 2]]);
        assert.equal((await store.getConversation('c1'))?.lastSeq, 2);
      });
    });
  });
});

/** Polls `check` until it holds (the test's own timeout bounds it). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}
