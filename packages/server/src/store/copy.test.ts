import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Party } from '@parley/protocol';
import { copyStore, StoreCopyError, verifyStoreCopy, type StoreCopyFailure } from './copy.ts';
import { openPostgresStore, openSqliteStore, StoreConflictError, type Store } from './index.ts';
import { at } from './storeContract.fixtures.ts';
import { COPIED_TABLES } from './tables.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres.ts';

/*
 * `parley db copy` below the CLI: a populated store copied into fresh PostgreSQL databases (made
 * for this file and dropped after it), compared row by row; and every way it refuses or fails,
 * each leaving the target without rows.
 */

/** What seedInstallation made, to check a copy against. */
interface Seeded {
  conversations: string[];
  rows: Record<string, number>;
}

const system: Party = { id: 'system', role: 'system', name: 'Parley' };

/**
 * Fills `store` like a small installation: 3 agents, 5 visitors, `conversations` conversations
 * (queued, active with members, closed), messages with client ids and events, calls (live and
 * ended) with their media and guest redemptions, and chosen presence. Ids mix cases and
 * punctuation so that byte order and a collation's order differ.
 */
async function seedInstallation(store: Store, conversations = 12): Promise<Seeded> {
  const agents: Party[] = [];
  for (const [i, name] of ['Ann', 'bob', 'Cy-3'].entries()) {
    const id = `agent-${name}`;
    await store.createAgent({ id, email: `${name.toLowerCase()}@example.com`, name, passwordHash: `hash-${i}`, createdAt: at(i) });
    agents.push({ id, role: 'agent', name });
  }
  const visitors: Party[] = [];
  for (let i = 0; i < 5; i++) {
    const id = i % 2 === 0 ? `V_${i}` : `v-${i}`;
    await store.createVisitor({ id, name: `Visitor ${i}`, email: i === 0 ? null : `v${i}@example.com`, createdAt: at(i) });
    visitors.push({ id, role: 'visitor', name: `Visitor ${i}` });
  }
  const ids: string[] = [];
  let messages = 0;
  let members = 0;
  let calls = 0;
  let redemptions = 0;
  for (let c = 0; c < conversations; c++) {
    const id = c % 3 === 0 ? `Conv-${c}` : `conv_${c}`;
    const visitor = visitors[c % visitors.length]!;
    const agent = agents[c % agents.length]!;
    ids.push(id);
    await store.createConversation({ id, visitorId: visitor.id, visitorInfo: { page: `/p/${c}` }, firstMessage: null, createdAt: at(10 + c) });
    for (let m = 0; m < (c % 4) * 3; m++) {
      const from = m % 2 === 0 ? visitor : agent;
      await store.appendMessage({ id: `${id}-m${m}`, sessionID: id, from, kind: 'text', text: `message ${m} of ${id}`, clientId: `k${m}`, at: at(20 + m) });
      messages += 1;
    }
    if (c % 4 === 0) continue; // queued
    await store.assignConversation(id, agent.id, at(30));
    await store.appendMessage({ id: `${id}-joined`, sessionID: id, from: system, kind: 'event', text: `${agent.name} joined`, at: at(31) });
    messages += 1;
    for (const other of agents.filter((a) => a.id !== agent.id).slice(0, c % 3)) {
      await store.addConversationMember({ sessionID: id, agentId: other.id, addedById: agent.id, at: at(32) });
      members += 1;
    }
    if (c % 2 === 1) {
      // A call, with its transcript event, media and (every other one) a redeemed guest link; ended when the chat is.
      const ended = c % 4 === 3;
      const callId = `call-${id}`;
      const call = {
        id: callId,
        sessionID: id,
        state: ended ? 'ended' : 'active',
        revision: 1,
        nextDeadlineAt: ended ? null : at(35),
        data: { participants: [visitor.id, agent.id], topology: 'mesh' },
        createdAt: at(33),
        updatedAt: at(34),
        endedAt: ended ? at(39) : null,
      };
      const event = { id: `${callId}-started`, sessionID: id, from: system, kind: 'event' as const, text: 'call started', at: at(33) };
      const redemption = c % 3 === 0 ? { jti: `jti-${c}`, callId, guestId: `guest-${c}`, at: at(34), expiresAt: at(50) } : undefined;
      await store.commitCall({ call, expectedRevision: null, events: [event], ...(redemption ? { redemption } : {}) });
      await store.saveCallMedia(callId, { room: 1000 + c, pin: `pin-${c}` });
      calls += 1;
      redemptions += redemption ? 1 : 0;
      messages += 1;
    }
    if (c % 4 === 3) await store.closeConversation(id, agent, at(40));
  }
  await store.setChosenPresence(agents[0]!.id, 'away', at(41));
  await store.setChosenPresence(agents[1]!.id, 'online', at(42));
  // The deployment's settings travel with the data (the token secret keeps tokens valid); who is connected does not.
  await store.setting('token_secret', () => `secret-${conversations}-0123456789abcdef0123456789`, at(43));
  await store.beatNode({ id: 'node-a', url: 'http://127.0.0.1:3000', startedAt: at(43) }, at(44));
  await store.setNodeParty('node-a', agents[0]!, 2, at(44));
  return {
    conversations: ids,
    rows: {
      agents: agents.length,
      visitors: visitors.length,
      conversations,
      conversation_members: members,
      messages,
      calls,
      call_media: calls,
      guest_redemptions: redemptions,
      agent_presence: 2,
      settings: 1,
    },
  };
}

/** Every row of every store table in a SQLite file, sorted, by table. */
function sqliteRows(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    // SQLite keeps no seq counter on the conversation (sqliteSeqs.ts): a copy sets it from the messages.
    const lastSeq = db.prepare<[string], { s: number }>('SELECT coalesce(max(seq), 0) AS s FROM messages WHERE conversation_id = ?');
    const rowsOf = (table: string): unknown[] => {
      const rows = db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
      if (table === 'conversations') for (const row of rows) row['last_seq'] = lastSeq.get(String(row['id']))?.s;
      return rows;
    };
    return Object.fromEntries(COPIED_TABLES.map((t) => [t.name, sortRows(rowsOf(t.name))]));
  } finally {
    db.close();
  }
}

/** Every row of every store table in a PostgreSQL database, sorted, by table. */
async function postgresRows(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of COPIED_TABLES) out[t.name] = sortRows((await client.query(`SELECT * FROM ${t.name}`)).rows);
    return out;
  } finally {
    await client.end();
  }
}

/** Rows in one order whatever the database's collation (by their JSON text, compared by code unit). */
function sortRows(rows: unknown[]): unknown[] {
  return rows
    .map((row) => [JSON.stringify(row), row] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of COPIED_TABLES) out[t.name] = Number((await client.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n);
    return out;
  } finally {
    await client.end();
  }
}

const noRows = Object.fromEntries(COPIED_TABLES.map((t) => [t.name, 0]));

/** Asserts that `work` rejects with a StoreCopyError of `reason` whose message matches `pattern`. */
async function assertCopyError(work: Promise<unknown>, reason: StoreCopyFailure, pattern: RegExp): Promise<StoreCopyError> {
  let caught: unknown;
  await work.then(
    () => assert.fail(`expected a StoreCopyError (${reason})`),
    (err: unknown) => (caught = err),
  );
  assert.ok(caught instanceof StoreCopyError, `expected a StoreCopyError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

describe('copyStore', () => {
  let dataDir = '';
  let seeded: Seeded;
  const databases: TestDatabase[] = [];
  const database = async (label: string) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'parley-copy-'));
    const store = await openSqliteStore(join(dataDir, 'parley.db'));
    try {
      seeded = await seedInstallation(store);
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    for (const db of databases) await db.drop();
  });

  it('copies every row of the SQLite store, in pages, and verifies counts and last seqs', async () => {
    const target = await database('copy');
    const report = await copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: target.url, pageSize: 4 });

    assert.deepEqual(Object.fromEntries(report.tables.map((t) => [t.table, t.rows])), seeded.rows);
    assert.ok(seeded.rows['conversation_members']! > 4 && seeded.rows['messages']! > 4, 'several pages of the composite and the plain key');
    assert.equal(report.conversations, seeded.conversations.length);
    assert.equal(report.source, `SQLite ${join(dataDir, 'parley.db')}`);
    assert.deepEqual(await postgresRows(target.url), sqliteRows(join(dataDir, 'parley.db')));
  });

  it('leaves a store a server carries on with: next seq, idempotent client ids, members', async () => {
    const target = await database('carryon');
    await copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: target.url });
    const source = await openSqliteStore(join(dataDir, 'parley.db'));
    const copy = await openPostgresStore(target.url);
    try {
      for (const id of seeded.conversations) {
        assert.deepEqual(await copy.getConversation(id), await source.getConversation(id));
        assert.deepEqual(await copy.listMessages(id, { limit: 100 }), await source.listMessages(id, { limit: 100 }));
        assert.deepEqual(await copy.listConversationMembers(id), await source.listConversationMembers(id));
        const calls = await source.listCalls(id);
        assert.deepEqual(await copy.listCalls(id), calls);
        for (const call of calls) assert.deepEqual(await copy.getCallMedia(call.id), await source.getCallMedia(call.id));
      }
      assert.deepEqual(await copy.listChosenPresence(), await source.listChosenPresence());
      const live = await copy.listLiveCalls();
      assert.deepEqual(live, await source.listLiveCalls());
      // A guest link redeemed before the copy stays redeemed after it.
      const call = live.find((c) => c.id === 'call-Conv-9');
      assert.ok(call, 'conversation 9 has a live call with a redeemed guest link');
      await assert.rejects(
        copy.commitCall({
          call: { ...call, revision: call.revision + 1 },
          expectedRevision: call.revision,
          events: [],
          redemption: { jti: 'jti-9', callId: call.id, guestId: 'another guest', at: at(52), expiresAt: at(60) },
        }),
        (err: unknown) => err instanceof StoreConflictError && err.conflict === 'redeemed',
      );
      const busy = seeded.conversations[3]!; // 9 messages from its visitor and agent, then the join event
      const before = await source.getConversation(busy);
      assert.ok(before);
      const visitor = before.visitor;
      const next = await copy.appendMessage({ id: 'after-copy', sessionID: busy, from: visitor, kind: 'text', text: 'still there?', clientId: 'k-new', at: at(50) });
      assert.equal(next.message.seq, before.lastSeq + 1);
      const retried = await copy.appendMessage({ id: 'retry', sessionID: busy, from: visitor, kind: 'text', text: 'message 0', clientId: 'k0', at: at(51) });
      assert.equal(retried.duplicate, true);
      assert.equal(retried.message.id, `${busy}-m0`);
      assert.equal((await copy.getAgentByEmail('ANN@example.com'))?.id, 'agent-Ann');
    } finally {
      await copy.close();
      await source.close();
    }
  });

  it('copies a PostgreSQL store (DATABASE_URL) into another', async () => {
    const sourceDb = await database('pgsource');
    const source = await openPostgresStore(sourceDb.url);
    let rows: Record<string, number>;
    try {
      rows = (await seedInstallation(source, 7)).rows;
    } finally {
      await source.close();
    }
    const target = await database('pgtarget');
    const report = await copyStore({ source: { dataDir, databaseUrl: sourceDb.url }, targetUrl: target.url, pageSize: 3 });
    assert.deepEqual(Object.fromEntries(report.tables.map((t) => [t.table, t.rows])), rows);
    assert.deepEqual(await postgresRows(target.url), await postgresRows(sourceDb.url));
  });

  it('refuses a target with rows, naming the tables, and changes nothing', async () => {
    const target = await database('full');
    const store = await openPostgresStore(target.url);
    try {
      await store.createAgent({ id: 'x', email: 'x@example.com', name: 'X', passwordHash: 'h' });
    } finally {
      await store.close();
    }
    const error = await assertCopyError(
      copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: target.url }),
      'target_not_empty',
      /table agents has rows/,
    );
    assert.doesNotMatch(error.message, /table visitors/);
    assert.deepEqual(await rowCounts(target.url), { ...noRows, agents: 1 });
  });

  it('leaves the target without rows when a row fails half-way (one transaction)', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'parley-copy-broken-'));
    try {
      const store = await openSqliteStore(join(broken, 'parley.db'));
      try {
        const { conversations } = await seedInstallation(store, 6);
        // SQLite keeps a NUL character in text; PostgreSQL refuses it, so the messages table fails.
        await store.appendMessage({ id: 'zz-nul', sessionID: conversations[1]!, from: system, kind: 'event', text: 'a\u0000b', at: at(45) });
      } finally {
        await store.close();
      }
      const target = await database('broken');
      await assertCopyError(
        copyStore({ source: { dataDir: broken, databaseUrl: null }, targetUrl: target.url, pageSize: 5 }),
        'copy',
        /copying table messages failed at the rows after id = .*: invalid byte sequence/,
      );
      assert.deepEqual(await rowCounts(target.url), noRows, 'agents, visitors and conversations were rolled back too');
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('verifies: a copy that differs from its source is named, table and conversation', async () => {
    const target = await database('verify');
    await copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: target.url });
    const busy = seeded.conversations[5]!;
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      await client.query('UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1', [busy]);
      await client.query('DELETE FROM conversation_members WHERE ctid IN (SELECT ctid FROM conversation_members LIMIT 1)');
    } finally {
      await client.end();
    }
    const error = await assertCopyError(verifyStoreCopy({ dataDir, databaseUrl: null }, target.url), 'verification', /does not match/);
    assert.match(error.message, /table conversation_members has \d+ rows in the source and \d+ in the target/);
    assert.match(error.message, new RegExp(`conversation ${busy}: last seq (\\d+) \\(messages up to \\1\\) in the source, \\d+ \\(messages up to \\1\\) in the target`));
  });

  it('says what is wrong with the target, its password hidden', async () => {
    await assertCopyError(
      copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: 'postgres://parley:s3cret-pw@127.0.0.1:1/parley' }),
      'target',
      /^--to=postgres:\/\/parley:\*\*\*@127\.0\.0\.1:1\/parley: cannot reach the PostgreSQL server \(ECONNREFUSED/,
    );
    const missing = new URL((await database('exists')).url);
    missing.pathname = '/parley_no_such_database';
    missing.password = 's3cret-pw';
    const error = await assertCopyError(
      copyStore({ source: { dataDir, databaseUrl: null }, targetUrl: missing.href }),
      'target',
      /the database does not exist/,
    );
    assert.doesNotMatch(error.message, /s3cret-pw/);
  });

  it('says so when there is no embedded store to copy', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'parley-copy-none-'));
    try {
      const target = await database('nosource');
      await assertCopyError(
        copyStore({ source: { dataDir: empty, databaseUrl: null }, targetUrl: target.url }),
        'source',
        /no embedded store at .*parley\.db: set DATA_DIR/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
