import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Party } from '@parley/protocol';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import type { CallRecord, Store } from './Store.ts';

/*
 * The Store contract for the nodes of one deployment: heartbeats, the parties each node holds, settings made
 * once, due deadlines, conversation positions and the deployment-wide lock. With `openNode` (an adapter several
 * processes share, PostgreSQL), the races are also run between stores on the same database, as nodes run them.
 */

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };
const ann: Party = { id: 'a1', role: 'agent', name: 'Ann' };
const bob: Party = { id: 'a2', role: 'agent', name: 'Bob' };

/** Node `id`, started at minute `minute`. */
function node(id: string, minute: number): { id: string; url: string; startedAt: string } {
  return { id, url: `http://${id}.internal:8080`, startedAt: at(minute) };
}

/** A live call `id` of conversation `sessionID` due at `nextDeadlineAt`. */
function call(id: string, sessionID: string, nextDeadlineAt: string | null, overrides: Partial<CallRecord> = {}): CallRecord {
  return { id, sessionID, state: 'ringing', revision: 1, nextDeadlineAt, data: {}, createdAt: at(2), updatedAt: at(2), endedAt: null, ...overrides };
}

/** Node ids sorted, each with its parties sorted by id: reapers may return them in any order. */
function sorted(reaped: Array<{ nodeId: string; parties: Party[] }>): Array<{ nodeId: string; parties: Party[] }> {
  return reaped
    .map((r) => ({ nodeId: r.nodeId, parties: [...r.parties].sort((a, b) => a.id.localeCompare(b.id)) }))
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}

/** `count` nodes beaten at minute 1 (dead before minute 5), node i holding party `p<i>`; plus `live`, beaten at 10. */
async function seedDeadNodes(store: Store, count: number): Promise<Array<{ nodeId: string; parties: Party[] }>> {
  const dead = Array.from({ length: count }, (_, i) => ({
    nodeId: `dead-${String(i).padStart(2, '0')}`,
    parties: [{ id: `p${i}`, role: 'visitor', name: `Visitor ${i}` } satisfies Party],
  }));
  for (const { nodeId, parties } of dead) {
    await store.beatNode(node(nodeId, 0), at(1));
    for (const party of parties) await store.setNodeParty(nodeId, party, 1, at(1));
  }
  await store.beatNode(node('live', 0), at(10));
  await store.setNodeParty('live', ann, 1, at(10));
  return dead;
}

/** After the reapers ran: each dead node was returned once in all, with its parties; the live node is untouched. */
async function assertReapedOnce(store: Store, results: Array<Array<{ nodeId: string; parties: Party[] }>>, dead: Array<{ nodeId: string; parties: Party[] }>) {
  assert.deepEqual(sorted(results.flat()), dead, 'every dead node, exactly once');
  assert.deepEqual(
    (await store.listNodes(at(0))).map((n) => n.id),
    ['live'],
  );
  assert.deepEqual(await store.listConnectedAgents(), new Map([['a1', ['live']]]));
  assert.deepEqual(await store.partyNodes('p0'), []);
}

/**
 * A holder of lock `name` on `store`: logs its entry, waits (so that an overlapping holder would enter
 * meanwhile), queries the store while holding the lock, logs its exit, and returns its label.
 */
function holder(store: Store, name: string, label: string, log: string[]): Promise<string> {
  return store.withLock(name, async () => {
    log.push(`enter ${label}`);
    await delay(15);
    await store.listNodes(at(0));
    log.push(`exit ${label}`);
    return label;
  });
}

/** The log of lock holders shows each one entering and leaving before the next enters. */
function assertOneAtATime(log: string[], labels: string[]): void {
  assert.equal(log.length, labels.length * 2, log.join(', '));
  for (let i = 0; i < log.length; i += 2) {
    const label = log[i]?.replace(/^enter /, '');
    assert.equal(log[i + 1], `exit ${label}`, `no holder enters before ${label} left: ${log.join(', ')}`);
  }
  assert.deepEqual(log.filter((e) => e.startsWith('enter ')).map((e) => e.slice(6)).sort(), [...labels].sort());
}

/** A promise and its resolve function. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * @param current the store of the running test (fresh, migrated, empty)
 * @param openNode opens another store on current()'s database, as another node would; only for adapters that
 *   several processes share (where withLock excludes across them)
 */
export function describeNodeContract(current: () => Store, openNode?: () => Promise<Store>): void {
  describe('nodes', () => {
    it('beatNode is false on the first beat, true after, and false again once the node was reaped (its row back)', async () => {
      const store = current();
      assert.equal(await store.beatNode(node('n1', 1), at(1)), false, 'first beat');
      assert.equal(await store.beatNode(node('n1', 1), at(2)), true, 'second beat');
      assert.deepEqual(await store.listNodes(at(0)), [{ id: 'n1', url: 'http://n1.internal:8080', startedAt: at(1), heartbeatAt: at(2) }]);

      assert.deepEqual(await store.reapDeadNodes(at(10)), [{ nodeId: 'n1', parties: [] }]);
      assert.deepEqual(await store.listNodes(at(0)), []);
      assert.equal(await store.beatNode(node('n1', 1), at(11)), false, 'the row was gone');
      assert.deepEqual(await store.listNodes(at(0)), [{ id: 'n1', url: 'http://n1.internal:8080', startedAt: at(1), heartbeatAt: at(11) }]);
      assert.equal(await store.beatNode(node('n1', 1), at(12)), true);
    });

    it('listNodes(since) lists the nodes beaten at or after since, oldest first', async () => {
      const store = current();
      // Ids and heartbeats sort against the start times, so only startedAt can give this order.
      await store.beatNode(node('b-first', 1), at(9));
      await store.beatNode(node('a-second', 2), at(5));
      await store.beatNode(node('c-stale', 0), at(4));
      assert.deepEqual(await store.listNodes(at(5)), [
        { id: 'b-first', url: 'http://b-first.internal:8080', startedAt: at(1), heartbeatAt: at(9) },
        { id: 'a-second', url: 'http://a-second.internal:8080', startedAt: at(2), heartbeatAt: at(5) },
      ]);
      assert.deepEqual(
        (await store.listNodes(at(9))).map((n) => n.id),
        ['b-first'],
      );
      assert.deepEqual(await store.listNodes(at(10)), []);
    });

    it('reapDeadNodes removes only the nodes beaten before `before`, returning and deleting their parties', async () => {
      const store = current();
      await store.beatNode(node('dead-1', 0), at(1));
      await store.beatNode(node('dead-2', 0), at(2));
      await store.beatNode(node('live', 0), at(5)); // exactly at `before`: alive
      await store.setNodeParty('dead-1', vera, 1, at(1));
      await store.setNodeParty('dead-1', ann, 2, at(1));
      await store.setNodeParty('dead-2', bob, 1, at(2));
      await store.setNodeParty('live', ann, 1, at(5));
      await store.setNodeParty('live', vera, 3, at(5));

      assert.deepEqual(sorted(await store.reapDeadNodes(at(5))), [
        { nodeId: 'dead-1', parties: [ann, vera] },
        { nodeId: 'dead-2', parties: [bob] },
      ]);
      assert.deepEqual(
        (await store.listNodes(at(0))).map((n) => n.id),
        ['live'],
      );
      assert.deepEqual(await store.partyNodes('v1'), ['live']);
      assert.deepEqual(await store.partyNodes('a1'), ['live']);
      assert.deepEqual(await store.partyNodes('a2'), []);
      assert.deepEqual(await store.listConnectedAgents(), new Map([['a1', ['live']]]));
      assert.deepEqual(await store.reapDeadNodes(at(5)), [], 'nothing left to reap');
    });

    it('of reapers at once, each dead node is returned to one only', async () => {
      const store = current();
      const dead = await seedDeadNodes(store, 12);
      const results = await Promise.all([store.reapDeadNodes(at(5)), store.reapDeadNodes(at(5)), store.reapDeadNodes(at(5))]);
      await assertReapedOnce(store, results, dead);
    });
  });

  describe('party rows', () => {
    it('setNodeParty adds a row, updates its count, and removes it at 0', async () => {
      const store = current();
      await store.setNodeParty('n1', ann, 1, at(1));
      await store.setNodeParty('n1', ann, 3, at(2));
      await store.setNodeParty('n2', ann, 1, at(2));
      assert.deepEqual(await store.partyNodes('a1'), ['n1', 'n2'], 'one row per node, whatever its count');
      await store.setNodeParty('n1', ann, 0, at(3));
      assert.deepEqual(await store.partyNodes('a1'), ['n2']);
      await store.setNodeParty('n1', ann, 0, at(3)); // nothing to remove: no error
      await store.setNodeParty('n2', ann, 0, at(4));
      assert.deepEqual(await store.partyNodes('a1'), []);
      assert.deepEqual(await store.listConnectedAgents(), new Map());
    });

    it('replaceNodeParties replaces the rows of its node only, leaving out counts of 0', async () => {
      const store = current();
      await store.setNodeParty('n1', ann, 1, at(1));
      await store.setNodeParty('n1', vera, 1, at(1));
      await store.setNodeParty('n2', ann, 2, at(1));
      await store.setNodeParty('n2', bob, 1, at(1));
      await store.replaceNodeParties(
        'n1',
        [
          { party: bob, connections: 2 },
          { party: vera, connections: 0 },
        ],
        at(2),
      );
      assert.deepEqual(await store.partyNodes('a1'), ['n2']);
      assert.deepEqual(await store.partyNodes('a2'), ['n1', 'n2']);
      assert.deepEqual(await store.partyNodes('v1'), []);

      // Many parties at once (more than one batch of rows).
      const many = Array.from({ length: 1200 }, (_, i) => ({ party: { id: `agent-${i}`, role: 'agent', name: `Agent ${i}` } satisfies Party, connections: 1 }));
      await store.replaceNodeParties('n1', many, at(3));
      const agents = await store.listConnectedAgents();
      assert.equal(agents.size, 1202, 'the 1200 of n1, and Ann and Bob on n2');
      assert.deepEqual(agents.get('agent-1199'), ['n1']);
      assert.deepEqual(agents.get('a2'), ['n2'], 'Bob was replaced on n1');

      await store.replaceNodeParties('n1', [], at(4));
      assert.deepEqual(await store.listConnectedAgents(), new Map([['a1', ['n2']], ['a2', ['n2']]]));
    });

    it('refuses a replacement naming a party twice: nothing written, and what other callers commit meanwhile stays', async () => {
      const store = current();
      await seedParties(store);
      await store.setNodeParty('n1', ann, 1, at(1));
      for (let i = 0; i < 30; i++) await createConversation(store, `c${i}`, 1);
      const refused = store.replaceNodeParties(
        'n1',
        [
          { party: bob, connections: 1 },
          { party: bob, connections: 2 },
        ],
        at(2),
      );
      // Calls committed while the replacement is under way, each a few turns of the microtask queue later.
      const commits = Array.from({ length: 30 }, async (_, i) => {
        for (let turn = 0; turn < i; turn++) await null;
        await store.commitCall({ call: call(`call${i}`, `c${i}`, at(5)), expectedRevision: null, events: [] });
      });
      await assert.rejects(refused);
      await Promise.all(commits);
      assert.deepEqual(await store.partyNodes('a1'), ['n1'], 'the rows before stay');
      assert.deepEqual(await store.partyNodes('a2'), []);
      assert.equal((await store.listLiveCalls()).length, 30, 'every acknowledged call is stored');
    });

    it('partyNodes names the nodes holding a party; listConnectedAgents lists agents only, with their nodes', async () => {
      const store = current();
      const system: Party = { id: 'system', role: 'system', name: 'Parley' };
      await store.setNodeParty('n2', ann, 1, at(1));
      await store.setNodeParty('n1', ann, 2, at(1));
      await store.setNodeParty('n3', bob, 1, at(1));
      await store.setNodeParty('n1', vera, 1, at(1));
      await store.setNodeParty('n1', system, 1, at(1));
      assert.deepEqual([...(await store.partyNodes('a1'))].sort(), ['n1', 'n2']);
      assert.deepEqual(await store.partyNodes('v1'), ['n1']);
      assert.deepEqual(await store.partyNodes('nobody'), []);
      const agents = await store.listConnectedAgents();
      assert.deepEqual(new Map([...agents].map(([id, nodes]) => [id, [...nodes].sort()])), new Map([['a1', ['n1', 'n2']], ['a2', ['n3']]]));
    });
  });

  describe('settings', () => {
    it('the first writer wins, and make is not called when the setting is there', async () => {
      const store = current();
      const made: string[] = [];
      const make = (value: string) => () => {
        made.push(value);
        return value;
      };
      assert.equal(await store.setting('token-secret', make('first'), at(1)), 'first');
      assert.equal(await store.setting('token-secret', make('second'), at(2)), 'first');
      assert.equal(await store.setting('other', make('third'), at(2)), 'third', 'each name is its own');
      assert.deepEqual(made, ['first', 'third']);
    });

    it('first calls at once agree on one value', async () => {
      const store = current();
      const values = await Promise.all(['A', 'B', 'C', 'D'].map((v) => store.setting('token-secret', () => v, at(1))));
      assert.equal(new Set(values).size, 1, values.join(', '));
      assert.ok(['A', 'B', 'C', 'D'].includes(values[0] ?? ''), `a value one caller made: ${values[0]}`);
      assert.equal(await store.setting('token-secret', () => 'late', at(2)), values[0]);
    });
  });

  describe('due calls', () => {
    it('lists the live calls due at or before `before`, soonest first, up to `limit`; ended calls never', async () => {
      const store = current();
      await seedParties(store);
      for (let i = 1; i <= 6; i++) await createConversation(store, `c${i}`, 1);
      await store.commitCall({ call: call('k1', 'c1', at(10)), expectedRevision: null, events: [] });
      await store.commitCall({ call: call('k2', 'c2', at(5)), expectedRevision: null, events: [] });
      await store.commitCall({ call: call('k3', 'c3', at(20)), expectedRevision: null, events: [] });
      await store.commitCall({ call: call('k4', 'c4', null), expectedRevision: null, events: [] });
      await store.commitCall({ call: call('k5', 'c5', at(1)), expectedRevision: null, events: [] });
      // Ended with its deadline still set: never due.
      const ended = call('k5', 'c5', at(1), { state: 'ended', revision: 2, endedAt: at(3), updatedAt: at(3) });
      await store.commitCall({ call: ended, expectedRevision: 1, events: [] });
      await store.commitCall({ call: call('k6', 'c6', at(15)), expectedRevision: null, events: [] });

      assert.deepEqual(await store.listDueCalls(at(15), 10), [
        { id: 'k2', sessionID: 'c2' },
        { id: 'k1', sessionID: 'c1' },
        { id: 'k6', sessionID: 'c6' },
      ]);
      assert.deepEqual(await store.listDueCalls(at(15), 2), [
        { id: 'k2', sessionID: 'c2' },
        { id: 'k1', sessionID: 'c1' },
      ]);
      assert.deepEqual(await store.listDueCalls(at(4), 10), []);
      await store.commitCall({ call: call('k2', 'c2', null, { revision: 2 }), expectedRevision: 1, events: [] });
      assert.deepEqual(
        (await store.listDueCalls(at(30), 10)).map((c) => c.id),
        ['k1', 'k6', 'k3'],
      );
    });
  });

  describe('conversation positions', () => {
    it('gives each conversation its last seq and the call changed last since the time asked; unknown ids are absent', async () => {
      const store = current();
      await seedParties(store);
      await createConversation(store, 'c1', 1);
      await createConversation(store, 'c2', 1);
      for (let i = 1; i <= 3; i++) await store.appendMessage({ id: `m${i}`, sessionID: 'c1', from: vera, kind: 'text', text: `t${i}`, at: at(2) });
      // `old` was created first but changed last (at 9); `new` is live, changed at 6.
      await store.commitCall({ call: call('old', 'c1', null, { createdAt: at(2), updatedAt: at(2) }), expectedRevision: null, events: [] });
      const ended = call('old', 'c1', null, { state: 'ended', revision: 2, createdAt: at(2), updatedAt: at(9), endedAt: at(9) });
      await store.commitCall({ call: ended, expectedRevision: 1, events: [] });
      await store.commitCall({ call: call('new', 'c1', null, { createdAt: at(5), updatedAt: at(6) }), expectedRevision: null, events: [] });

      assert.deepEqual(
        await store.conversationPositions(['c1', 'c2', 'ghost'], at(0)),
        new Map([
          ['c1', { lastSeq: 3, call: { id: 'old', revision: 2 } }],
          ['c2', { lastSeq: 0, call: null }],
        ]),
      );
      assert.deepEqual((await store.conversationPositions(['c1'], at(9))).get('c1'), { lastSeq: 3, call: { id: 'old', revision: 2 } }, 'at callsSince counts');
      assert.deepEqual((await store.conversationPositions(['c1'], at(10))).get('c1'), { lastSeq: 3, call: null }, 'no change since');
      await store.commitCall({ call: call('new', 'c1', null, { revision: 4, createdAt: at(5), updatedAt: at(12) }), expectedRevision: 1, events: [] });
      assert.deepEqual((await store.conversationPositions(['c1'], at(10))).get('c1'), { lastSeq: 3, call: { id: 'new', revision: 4 } });
      assert.deepEqual(await store.conversationPositions([], at(0)), new Map());
    });

    it('answers for more than 500 ids at once', async () => {
      const store = current();
      await seedParties(store);
      for (const id of ['p0', 'p1', 'p2']) await createConversation(store, id, 1);
      await store.appendMessage({ id: 'm1', sessionID: 'p2', from: vera, kind: 'text', text: 'hi', at: at(2) });
      await store.commitCall({ call: call('k2', 'p2', null), expectedRevision: null, events: [] });
      const ids = Array.from({ length: 1200 }, (_, i) => `ghost-${i}`);
      ids[0] = 'p0';
      ids[700] = 'p1';
      ids[1199] = 'p2';
      assert.deepEqual(
        await store.conversationPositions(ids, at(0)),
        new Map([
          ['p0', { lastSeq: 0, call: null }],
          ['p1', { lastSeq: 0, call: null }],
          ['p2', { lastSeq: 1, call: { id: 'k2', revision: 1 } }],
        ]),
      );
    });
  });

  describe('withLock', () => {
    it('holders of one name run one at a time, and each gets its own result', { timeout: 20_000 }, async () => {
      const store = current();
      const log: string[] = [];
      const labels = ['h1', 'h2', 'h3', 'h4'];
      assert.deepEqual(await Promise.all(labels.map((l) => holder(store, 'routing', l, log))), labels);
      assertOneAtATime(log, labels);
    });

    it('holders of different names may hold them at once', { timeout: 10_000 }, async () => {
      const store = current();
      // Each waits inside its lock for the other to be inside its own: this ends only if they overlap.
      const inA = signal();
      const inB = signal();
      const [a, b] = await Promise.all([
        store.withLock('routing', async () => {
          inA.resolve();
          await inB.promise;
          return 'a';
        }),
        store.withLock('sweeper', async () => {
          inB.resolve();
          await inA.promise;
          return 'b';
        }),
      ]);
      assert.deepEqual([a, b], ['a', 'b']);
    });

    it('a holder that throws releases the lock: the next one runs', { timeout: 20_000 }, async () => {
      const store = current();
      const failing = store.withLock('routing', async () => {
        await delay(10);
        throw new Error('routing failed');
      });
      const next = store.withLock('routing', async () => 'next ran');
      await assert.rejects(failing, /routing failed/);
      assert.equal(await next, 'next ran');
      assert.equal(await store.withLock('routing', async () => 'and later ones'), 'and later ones');
    });
  });

  if (openNode) describeAcrossNodes(current, openNode);
}

/** The races of nodes sharing a database, between stores as separate as nodes are (their own connections). */
function describeAcrossNodes(current: () => Store, openNode: () => Promise<Store>): void {
  /** Runs `work` with current() and `count` other nodes' stores, closing those whatever happens. */
  async function withNodes(count: number, work: (nodes: Store[]) => Promise<void>): Promise<void> {
    const others = await Promise.all(Array.from({ length: count }, () => openNode()));
    try {
      await work([current(), ...others]);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  }

  describe('across nodes', () => {
    it('reapers on several nodes at once return each dead node to one only', { timeout: 30_000 }, async () => {
      await withNodes(2, async (nodes) => {
        const dead = await seedDeadNodes(current(), 20);
        const results = await Promise.all(nodes.flatMap((s) => [s.reapDeadNodes(at(5)), s.reapDeadNodes(at(5))]));
        await assertReapedOnce(current(), results, dead);
      });
    });

    it('first calls of a setting on two nodes agree on one value', { timeout: 30_000 }, async () => {
      await withNodes(1, async ([a, b]) => {
        assert.ok(a && b);
        for (let i = 0; i < 10; i++) {
          const [fromA, fromB]: string[] = await Promise.all([a.setting(`s${i}`, () => `A${i}`, at(1)), b.setting(`s${i}`, () => `B${i}`, at(1))]);
          assert.equal(fromA, fromB, `setting s${i}`);
          assert.ok(fromA === `A${i}` || fromA === `B${i}`, `a value one node made: ${fromA}`);
        }
      });
    });

    it('withLock excludes holders on different nodes', { timeout: 30_000 }, async () => {
      await withNodes(2, async (nodes) => {
        const log: string[] = [];
        const labels = nodes.flatMap((_, n) => [`n${n}-1`, `n${n}-2`]);
        const results = await Promise.all(labels.map((label, i) => holder(nodes[i % nodes.length] as Store, 'routing', label, log)));
        assert.deepEqual(results, labels);
        assertOneAtATime(log, labels);
      });
    });

    it('a holder that throws on one node releases the lock for another node', { timeout: 20_000 }, async () => {
      await withNodes(1, async ([a, b]) => {
        assert.ok(a && b);
        const entered = signal();
        const failing = a.withLock('routing', async () => {
          entered.resolve();
          await delay(10);
          throw new Error('routing failed');
        });
        await entered.promise;
        let done = false;
        const next = b.withLock('routing', async () => 'other node ran').finally(() => (done = true));
        await assert.rejects(failing, /routing failed/);
        // Node a keeps querying meanwhile, so that its pool closing an idle connection cannot be what frees the lock.
        const busy = (async () => {
          while (!done) await a.ping();
        })();
        assert.equal(await next, 'other node ran');
        await busy;
      });
    });
  });
}
