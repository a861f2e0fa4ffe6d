import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Party } from '@parley/protocol';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import { describeCallContract } from './storeContract.calls.ts';
import { describeMessageContract } from './storeContract.messages.ts';
import { describeNodeContract } from './storeContract.nodes.ts';
import { StoreConflictError } from './Store.ts';
import type { Store } from './Store.ts';

/*
 * The behaviour every Store adapter must have, as a node:test suite. Each adapter's test file runs
 * it against a fresh, migrated, empty store per test:
 *
 *   describeStoreContract('SqliteStore (:memory:)', () => openSqliteStore(':memory:'));
 *
 * Only the Store port is used here, never an adapter's internals.
 */

/** How an adapter's database is shared, for the parts of the contract that race between nodes. */
export interface StoreContractOptions {
  /**
   * Opens another store on the database of the store `open` made last, as another node would (closed by the
   * test). Only for adapters several processes share as one deployment (PostgreSQL).
   */
  openNode?: () => Promise<Store>;
}

/** Runs the Store contract against stores made by `open` (each fresh, migrated and empty). */
export function describeStoreContract(name: string, open: () => Promise<Store>, options: StoreContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const current = (): Store => store;

    describe('lifecycle', () => {
      it('migrate() again on a migrated store changes nothing', async () => {
        await seedParties(store);
        await store.migrate();
        await store.migrate();
        assert.equal(await store.countAgents(), 2);
      });

      it('close() is idempotent and every method rejects afterwards', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        await store.close();
        await store.close();
        const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['migrate', () => store.migrate()],
          ['createAgent', () => store.createAgent({ id: 'a9', email: 'x@y.z', name: 'X', passwordHash: 'h' })],
          ['getAgent', () => store.getAgent('a1')],
          ['getAgentByEmail', () => store.getAgentByEmail('ann@example.com')],
          ['listAgents', () => store.listAgents()],
          ['countAgents', () => store.countAgents()],
          ['createVisitor', () => store.createVisitor({ id: 'v9', name: 'V', email: null })],
          ['getVisitor', () => store.getVisitor('v1')],
          ['createConversation', () => createConversation(store, 'c9', 9)],
          ['getConversation', () => store.getConversation('c1')],
          ['listOpenConversationsForVisitor', () => store.listOpenConversationsForVisitor('v1')],
          ['listOpenConversationsForAgent', () => store.listOpenConversationsForAgent('a1')],
          ['listQueuedConversations', () => store.listQueuedConversations()],
          ['countActiveByAgent', () => store.countActiveByAgent()],
          ['assignConversation', () => store.assignConversation('c1', 'a1', at(2))],
          ['closeConversation', () => store.closeConversation('c1', vera, at(2))],
          [
            'appendMessage',
            () => store.appendMessage({ id: 'm1', sessionID: 'c1', from: vera, kind: 'text', text: 'x', at: at(2) }),
          ],
          ['listMessages', () => store.listMessages('c1', { limit: 10 })],
        ];
        for (const [method, call] of calls) await assert.rejects(call(), Error, `${method} after close`);
      });

      it('an append requested just before close() still settles as stored', async () => {
        const { vera } = await seedParties(store);
        await createConversation(store, 'c1', 1);
        const bye = { id: 'm1', sessionID: 'c1', from: vera, kind: 'text', text: 'bye', at: at(2) } as const;
        const pending = store.appendMessage(bye);
        await store.close();
        const { message, duplicate } = await pending;
        assert.equal(duplicate, false);
        assert.equal(message.seq, 1);
      });
    });

    describe('agents', () => {
      it('creates an agent and reads it back by id and by email', async () => {
        const created = await store.createAgent({
          id: 'a1',
          email: 'Ann@Example.COM',
          name: 'Ann',
          passwordHash: 'scrypt$hash',
          createdAt: at(5),
        });
        const expected = {
          id: 'a1',
          email: 'Ann@Example.COM',
          name: 'Ann',
          passwordHash: 'scrypt$hash',
          createdAt: at(5),
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await store.getAgent('a1'), expected);
        assert.deepEqual(await store.getAgentByEmail('ann@example.com'), expected, 'lower case');
        assert.deepEqual(await store.getAgentByEmail('ANN@EXAMPLE.COM'), expected, 'upper case');
        assert.equal(await store.getAgent('nobody'), null);
        assert.equal(await store.getAgentByEmail('nobody@example.com'), null);
      });

      it('defaults createdAt to now, as ISO 8601', async () => {
        const before = Date.now();
        const created = await store.createAgent({ id: 'a1', email: 'a@b.c', name: 'A', passwordHash: 'h' });
        const stamp = Date.parse(created.createdAt);
        assert.equal(new Date(stamp).toISOString(), created.createdAt);
        assert.ok(stamp >= before - 1000 && stamp <= Date.now() + 1000, 'createdAt is about now');
        assert.equal((await store.getAgent('a1'))?.createdAt, created.createdAt);
      });

      it('refuses a second agent with the same email in any case, or the same id', async () => {
        await store.createAgent({ id: 'a1', email: 'ann@example.com', name: 'Ann', passwordHash: 'h' });
        await assert.rejects(
          store.createAgent({ id: 'a2', email: 'ANN@Example.com', name: 'Other Ann', passwordHash: 'h' }),
          StoreConflictError,
        );
        await assert.rejects(
          store.createAgent({ id: 'a1', email: 'else@example.com', name: 'Else', passwordHash: 'h' }),
          StoreConflictError,
        );
        assert.equal(await store.countAgents(), 1);
        assert.equal((await store.getAgent('a1'))?.name, 'Ann');
        assert.equal(await store.getAgent('a2'), null);
      });

      it('lists agents oldest first and counts them', async () => {
        assert.equal(await store.countAgents(), 0);
        assert.deepEqual(await store.listAgents(), []);
        await store.createAgent({ id: 'late', email: 'l@x.io', name: 'Late', passwordHash: 'h', createdAt: at(9) });
        await store.createAgent({ id: 'early', email: 'e@x.io', name: 'Early', passwordHash: 'h', createdAt: at(1) });
        await store.createAgent({ id: 'mid', email: 'm@x.io', name: 'Mid', passwordHash: 'h', createdAt: at(5) });
        assert.deepEqual(
          (await store.listAgents()).map((a) => a.id),
          ['early', 'mid', 'late'],
        );
        assert.equal(await store.countAgents(), 3);
      });
    });

    describe('visitors', () => {
      it('creates visitors with and without email and reads them back', async () => {
        const anon = await store.createVisitor({ id: 'v1', name: 'Visitor 42', email: null, createdAt: at(1) });
        const named = await store.createVisitor({
          id: 'v2',
          name: 'Vera',
          email: 'vera@example.com',
          createdAt: at(2),
        });
        assert.deepEqual(anon, { id: 'v1', name: 'Visitor 42', email: null, createdAt: at(1) });
        assert.deepEqual(await store.getVisitor('v1'), anon);
        assert.deepEqual(await store.getVisitor('v2'), named);
        assert.equal(await store.getVisitor('v3'), null);
      });

      it('defaults createdAt to now and refuses a duplicate id', async () => {
        const created = await store.createVisitor({ id: 'v1', name: 'V', email: null });
        assert.equal(new Date(Date.parse(created.createdAt)).toISOString(), created.createdAt);
        await assert.rejects(store.createVisitor({ id: 'v1', name: 'W', email: null }), StoreConflictError);
        assert.equal((await store.getVisitor('v1'))?.name, 'V');
      });
    });

    describe('conversations', () => {
      it('creates a queued conversation with lastSeq 0 and reads it back', async () => {
        await seedParties(store);
        const created = await store.createConversation({
          id: 'c1',
          visitorId: 'v1',
          visitorInfo: { page: 'https://shop.example/cart', userAgent: 'Firefox' },
          firstMessage: 'Hello?',
          createdAt: at(3),
        });
        const expected = {
          id: 'c1',
          status: 'queued',
          visitor: { id: 'v1', role: 'visitor', name: 'Vera' },
          agent: null,
          visitorInfo: { page: 'https://shop.example/cart', userAgent: 'Firefox' },
          lastSeq: 0,
          firstMessage: 'Hello?',
          createdAt: at(3),
          assignedAt: null,
          closedAt: null,
          closedBy: null,
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await store.getConversation('c1'), expected);
        assert.equal(await store.getConversation('c2'), null);
      });

      it('keeps an empty visitorInfo empty', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        assert.deepEqual((await store.getConversation('c1'))?.visitorInfo, {});
      });

      it('refuses a duplicate id, and a conversation of an unknown visitor', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        await assert.rejects(createConversation(store, 'c1', 2), StoreConflictError);
        await assert.rejects(createConversation(store, 'c2', 2, 'ghost'));
        assert.equal(await store.getConversation('c2'), null);
        assert.equal((await store.getConversation('c1'))?.createdAt, at(1));
      });

      it('assigns a queued conversation once (compare-and-set)', async () => {
        const { ann } = await seedParties(store);
        await createConversation(store, 'c1', 1);
        const assigned = await store.assignConversation('c1', 'a1', at(4));
        assert.equal(assigned?.status, 'active');
        assert.deepEqual(assigned?.agent, ann);
        assert.equal(assigned?.assignedAt, at(4));
        assert.deepEqual(await store.getConversation('c1'), assigned);

        assert.equal(await store.assignConversation('c1', 'a2', at(5)), null, 'already active');
        assert.deepEqual((await store.getConversation('c1'))?.agent, ann, 'unchanged');
        assert.equal(await store.assignConversation('nope', 'a1', at(5)), null, 'unknown conversation');
      });

      it('does not assign to an unknown agent', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        await assert.rejects(store.assignConversation('c1', 'ghost', at(2)));
        assert.equal((await store.getConversation('c1'))?.status, 'queued');
      });

      it('lets exactly one of two simultaneous assigns win', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        const [first, second] = await Promise.all([
          store.assignConversation('c1', 'a1', at(2)),
          store.assignConversation('c1', 'a2', at(2)),
        ]);
        const winners = [first, second].filter((r) => r !== null);
        assert.equal(winners.length, 1);
        assert.deepEqual((await store.getConversation('c1'))?.agent, winners[0]?.agent);
      });

      it('closes a queued or active conversation once (compare-and-set)', async () => {
        const { vera, ann } = await seedParties(store);
        await createConversation(store, 'c1', 1);
        await createConversation(store, 'c2', 2);
        await store.assignConversation('c2', 'a1', at(3));

        const closedQueued = await store.closeConversation('c1', vera, at(4));
        assert.equal(closedQueued?.status, 'closed');
        assert.equal(closedQueued?.closedAt, at(4));
        assert.deepEqual(closedQueued?.closedBy, vera);
        assert.equal(closedQueued?.agent, null);

        const closedActive = await store.closeConversation('c2', ann, at(5));
        assert.deepEqual(closedActive?.closedBy, ann);
        assert.deepEqual(closedActive?.agent, ann, 'keeps its agent');
        assert.equal(closedActive?.assignedAt, at(3));
        assert.deepEqual(await store.getConversation('c2'), closedActive);

        assert.equal(await store.closeConversation('c2', vera, at(6)), null, 'already closed');
        assert.deepEqual((await store.getConversation('c2'))?.closedBy, ann, 'first close stands');
        assert.equal((await store.getConversation('c2'))?.closedAt, at(5));
        assert.equal(await store.closeConversation('nope', vera, at(6)), null, 'unknown conversation');
        assert.equal(await store.assignConversation('c1', 'a1', at(7)), null, 'a closed conversation is not assigned');
      });

      it('records a system party as closer', async () => {
        await seedParties(store);
        await createConversation(store, 'c1', 1);
        const system: Party = { id: 'system', role: 'system', name: 'Parley' };
        assert.deepEqual((await store.closeConversation('c1', system, at(2)))?.closedBy, system);
      });

      it('lets exactly one of several simultaneous closes win', async () => {
        const { vera, ann } = await seedParties(store);
        await createConversation(store, 'c1', 1);
        await store.assignConversation('c1', 'a1', at(2));
        const results = await Promise.all([
          store.closeConversation('c1', vera, at(3)),
          store.closeConversation('c1', ann, at(3)),
          store.closeConversation('c1', vera, at(3)),
        ]);
        assert.equal(results.filter((r) => r !== null).length, 1);
      });

      it('lists open conversations of a visitor, oldest first', async () => {
        const { vera } = await seedParties(store);
        await store.createVisitor({ id: 'v2', name: 'Walt', email: null });
        await createConversation(store, 'a-later', 5);
        await createConversation(store, 'b-earlier', 2);
        await createConversation(store, 'closed', 1);
        await createConversation(store, 'other', 0, 'v2');
        await store.assignConversation('a-later', 'a1', at(6));
        await store.closeConversation('closed', vera, at(7));
        const open = await store.listOpenConversationsForVisitor('v1');
        assert.deepEqual(
          open.map((c) => [c.id, c.status]),
          [
            ['b-earlier', 'queued'],
            ['a-later', 'active'],
          ],
        );
        assert.deepEqual(open[1], await store.getConversation('a-later'));
        assert.deepEqual(await store.listOpenConversationsForVisitor('nobody'), []);
      });

      it('lists active conversations of an agent, oldest first', async () => {
        const { vera } = await seedParties(store);
        for (const [id, minute] of [['c3', 1], ['c1', 3], ['c2', 2], ['c4', 4], ['c5', 5]] as const) {
          await createConversation(store, id, minute);
        }
        await store.assignConversation('c3', 'a1', at(10));
        await store.assignConversation('c1', 'a1', at(11));
        await store.assignConversation('c2', 'a2', at(12));
        await store.assignConversation('c4', 'a1', at(13));
        await store.closeConversation('c4', vera, at(14));
        assert.deepEqual(
          (await store.listOpenConversationsForAgent('a1')).map((c) => c.id),
          ['c3', 'c1'],
        );
        assert.deepEqual(
          (await store.listOpenConversationsForAgent('a2')).map((c) => c.id),
          ['c2'],
        );
        assert.deepEqual(await store.listOpenConversationsForAgent('nobody'), []);
      });

      it('lists the queue oldest first, without active or closed conversations', async () => {
        const { vera } = await seedParties(store);
        // Ids sort against creation time, so only created_at can give this order.
        await createConversation(store, 'q-a', 30);
        await createConversation(store, 'q-c', 10);
        await createConversation(store, 'taken', 5);
        await createConversation(store, 'q-b', 20);
        await createConversation(store, 'gone', 1);
        await store.assignConversation('taken', 'a1', at(40));
        await store.closeConversation('gone', vera, at(40));
        const queue = await store.listQueuedConversations();
        assert.deepEqual(
          queue.map((c) => c.id),
          ['q-c', 'q-b', 'q-a'],
        );
        assert.ok(queue.every((c) => c.status === 'queued' && c.agent === null));
      });

      it('counts active conversations per agent', async () => {
        const { vera } = await seedParties(store);
        assert.deepEqual(await store.countActiveByAgent(), new Map());
        for (let i = 1; i <= 5; i++) await createConversation(store, `c${i}`, i);
        await store.assignConversation('c1', 'a1', at(10));
        await store.assignConversation('c2', 'a1', at(10));
        await store.assignConversation('c3', 'a2', at(10));
        await store.assignConversation('c4', 'a2', at(10));
        await store.closeConversation('c4', vera, at(11));
        assert.deepEqual(
          await store.countActiveByAgent(),
          new Map([
            ['a1', 2],
            ['a2', 1],
          ]),
        );
      });
    });

    describe('conversation members', () => {
      it('adds an agent once, lists members in order, and lists the conversations an agent was added to', async () => {
        await seedParties(store);
        await store.createAgent({ id: 'a3', email: 'cy@example.com', name: 'Cy', passwordHash: 'h3', createdAt: at(2) });
        await createConversation(store, 'c1', 1);
        await createConversation(store, 'c2', 2);
        await store.assignConversation('c1', 'a1', at(3));
        await store.assignConversation('c2', 'a1', at(3));
        assert.equal(await store.addConversationMember({ sessionID: 'c1', agentId: 'a2', addedById: 'a1', at: at(4) }), true);
        assert.equal(await store.addConversationMember({ sessionID: 'c1', agentId: 'a2', addedById: 'a1', at: at(5) }), false);
        assert.equal(await store.addConversationMember({ sessionID: 'c1', agentId: 'a3', addedById: 'a1', at: at(6) }), true);
        assert.equal(await store.addConversationMember({ sessionID: 'c2', agentId: 'a2', addedById: 'a1', at: at(7) }), true);
        assert.deepEqual(await store.listConversationMembers('c1'), [
          { id: 'a2', role: 'agent', name: 'Bob' },
          { id: 'a3', role: 'agent', name: 'Cy' },
        ]);
        assert.deepEqual(await store.listConversationMembers('c9'), []);
        assert.deepEqual((await store.listOpenConversationsAsMember('a2')).map((c) => c.id), ['c1', 'c2']);
        await store.closeConversation('c2', { id: 'a1', role: 'agent', name: 'Ann' }, at(8));
        assert.deepEqual((await store.listOpenConversationsAsMember('a2')).map((c) => c.id), ['c1']);
        assert.deepEqual(await store.listOpenConversationsAsMember('a1'), []);
      });

      it('refuses members of a conversation or an agent that does not exist', async () => {
        await seedParties(store);
        await assert.rejects(store.addConversationMember({ sessionID: 'nope', agentId: 'a2', addedById: 'a1', at: at(1) }));
        await createConversation(store, 'c1', 1);
        await assert.rejects(store.addConversationMember({ sessionID: 'c1', agentId: 'nobody', addedById: 'a1', at: at(1) }));
      });
    });

    describeMessageContract(current);
    describeCallContract(current);
    describeNodeContract(current, options.openNode);
  });
}
