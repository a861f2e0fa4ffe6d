import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Party } from '@parley/protocol';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { latestMigrationNames, openSqliteStore, SqliteStore, storeMigrations } from './index.ts';
import type { AppendMessageInput } from './index.ts';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import { describeStoreContract } from './storeContract.ts';

let root: string;
let counter = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'parley-store-test-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});
/** A database path that does not exist yet, in a directory that does not exist yet either. */
const freshPath = (): string => join(root, `run-${++counter}`, 'data', 'parley.db');

describeStoreContract('SqliteStore (file)', () => openSqliteStore(freshPath()));
describeStoreContract('SqliteStore (:memory:)', () => openSqliteStore(':memory:'));

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };

/** Vera's text message `id` with clientId `clientId`. */
function fromVera(id: string, clientId: string, text = id): AppendMessageInput {
  return { id, sessionID: 'c1', from: vera, kind: 'text', text, clientId, at: at(3) };
}

/** Names of the schema objects matching `where` (a fixed SQL condition on sqlite_master). */
function schemaObjects(path: string, where: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(`SELECT type, name FROM sqlite_master WHERE ${where} ORDER BY name`).all();
    return (rows as Array<{ type: string; name: string }>).map((r) => `${r.type} ${r.name}`);
  } finally {
    db.close();
  }
}

describe('SqliteStore (SQLite specifics)', () => {
  it('creates the missing directory and runs WAL, synchronous=NORMAL, foreign keys, busy timeout', async () => {
    const path = freshPath();
    const store = new SqliteStore(path, { busyTimeoutMs: 1234 });
    assert.ok(existsSync(path), 'file and its directories created');
    assert.deepEqual(store.connectionSettings(), {
      journalMode: 'wal',
      synchronous: 1,
      foreignKeys: true,
      busyTimeoutMs: 1234,
    });
    await store.close();
    const other = new Database(path);
    assert.equal(other.pragma('journal_mode', { simple: true }), 'wal', 'WAL is recorded in the file');
    other.close();
  });

  it('enforces foreign keys', async () => {
    const store = await openSqliteStore(':memory:');
    await seedParties(store);
    await assert.rejects(createConversation(store, 'c1', 1, 'no-such-visitor'), /FOREIGN KEY/);
    await store.close();
  });

  it('keeps everything across a reopen, and continues the seq', async () => {
    const path = freshPath();
    const first = await openSqliteStore(path);
    await seedParties(first);
    await createConversation(first, 'c1', 1);
    await first.assignConversation('c1', 'a1', at(2));
    for (let i = 1; i <= 3; i++) {
      await first.appendMessage(fromVera(`m${i}`, `k${i}`));
    }
    const conversation = await first.getConversation('c1');
    const agents = await first.listAgents();
    await first.close();

    const second = await openSqliteStore(path);
    assert.deepEqual(await second.getConversation('c1'), conversation);
    assert.deepEqual(await second.listAgents(), agents);
    assert.deepEqual((await second.getVisitor('v1'))?.name, 'Vera');
    const retry = await second.appendMessage(fromVera('mX', 'k2'));
    assert.equal(retry.duplicate, true, 'clientIds survive the reopen');
    const next = await second.appendMessage(fromVera('m4', 'k4'));
    assert.equal(next.message.seq, 4);
    const page = await second.listMessages('c1', { limit: 10 });
    assert.deepEqual(
      page.messages.map((m) => m.id),
      ['m1', 'm2', 'm3', 'm4'],
    );
    await second.close();
  });

  it('applies migrations once, however often it starts or migrates', async () => {
    const path = freshPath();
    for (let start = 0; start < 3; start++) {
      const store = await openSqliteStore(path);
      await Promise.all([store.migrate(), store.migrate()]);
      await store.migrate();
      if (start === 0) await seedParties(store);
      assert.equal(await store.countAgents(), 2);
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    const applied = db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as Array<{ name: string }>;
    assert.deepEqual(
      applied.map((r) => r.name),
      [...latestMigrationNames],
    );
    db.close();
    assert.deepEqual(
      schemaObjects(path, "name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%'").sort(),
      [
        'index agents_email_lower_key',
        'index calls_conversation_created_idx',
        'index calls_live_conversation_key',
        'index calls_next_deadline_idx',
        'index calls_state_idx',
        'index conversation_members_agent_idx',
        'index conversations_agent_status_idx',
        'index conversations_status_created_idx',
        'index conversations_visitor_status_idx',
        'index guest_redemptions_call_idx',
        'index node_parties_party_idx',
        'index nodes_heartbeat_idx',
        'table agent_presence',
        'table agents',
        'table call_media',
        'table calls',
        'table conversation_members',
        'table conversations',
        'table guest_redemptions',
        'table messages',
        'table node_parties',
        'table nodes',
        'table settings',
        'table visitors',
      ],
    );
  });

  it('brings a database of the counter days to seqs from messages: counters set from them, numbering on, older versions refused', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const older = (names: readonly string[]) => ({ getMigrations: async () => Object.fromEntries(names.map((name) => [name, storeMigrations[name]!])) });
    const olderNames = latestMigrationNames.filter((name) => name < '0005');
    const sqlite = new Database(path);
    const raw = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
    assert.equal((await new Migrator({ db: raw, provider: older(olderNames) }).migrateToLatest()).error, undefined);
    sqlite.exec(`
      INSERT INTO visitors (id, name, created_at) VALUES ('v1', 'Vera', '${at(0)}');
      INSERT INTO conversations (id, status, visitor_id, last_seq, created_at) VALUES ('c1', 'active', 'v1', 5, '${at(1)}'), ('c2', 'active', 'v1', 0, '${at(1)}');
      INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
        VALUES ('m1', 'c1', 1, 'v1', 'visitor', 'Vera', 'text', 'one', 'k1', '${at(2)}'), ('m2', 'c1', 2, 'v1', 'visitor', 'Vera', 'text', 'two', 'k2', '${at(3)}');`);
    await raw.destroy();

    const store = await openSqliteStore(path);
    const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };
    const next = await store.appendMessage({ id: 'm3', sessionID: 'c1', from: vera, kind: 'text', text: 'three', clientId: 'k3', at: at(4) });
    assert.equal(next.message.seq, 3, 'numbered on from the stored messages, not from the counter of 5');
    assert.equal((await store.getConversation('c1'))?.lastSeq, 3);
    assert.equal((await store.getConversation('c2'))?.lastSeq, 0);
    await store.close();
    const migrated = new Database(path);
    const counters = migrated.prepare('SELECT id, last_seq FROM conversations ORDER BY id').all();
    assert.deepEqual(counters, [{ id: 'c1', last_seq: 2 }, { id: 'c2', last_seq: 0 }], 'the migration set each counter from the messages (SQLite moves it no more)');
    const olderVersion = new Kysely<any>({ dialect: new SqliteDialect({ database: migrated }) });
    const refused = await new Migrator({ db: olderVersion, provider: older(olderNames) }).migrateToLatest();
    assert.match(String(refused.error), /0005_seqs_from_messages/, 'a version without 0005 refuses the database');
    await olderVersion.destroy();
  });

  it('rolls a failed migration back completely', async () => {
    const path = freshPath();
    const store = new SqliteStore(path);
    await store.close();
    const db = new Database(path);
    db.exec('CREATE TABLE messages (unrelated TEXT)'); // makes 0001 fail after creating other tables
    db.close();
    await assert.rejects(openSqliteStore(path), /0001_initial/);
    assert.deepEqual(
      schemaObjects(path, "type = 'table'"),
      ['table messages'],
      'no half-made schema, no migration recorded',
    );
  });

  it('shares a database file between two open stores (WAL readers see commits)', async () => {
    const path = freshPath();
    const writer = await openSqliteStore(path);
    const reader = await openSqliteStore(path);
    await seedParties(writer);
    await createConversation(writer, 'c1', 1);
    await writer.appendMessage({ id: 'm1', sessionID: 'c1', from: vera, kind: 'text', text: 'hi', at: at(2) });
    await reader.appendMessage({ id: 'm2', sessionID: 'c1', from: vera, kind: 'text', text: 'hi', at: at(2) });
    await writer.appendMessage({ id: 'm3', sessionID: 'c1', from: vera, kind: 'text', text: 'hi', at: at(2) });
    assert.deepEqual(
      (await reader.listMessages('c1', { limit: 10 })).messages.map((m) => m.seq),
      [1, 2, 3],
    );
    await reader.close();
    await writer.close();
  });

  it('loses no acknowledged message when the process is killed (SIGKILL)', { timeout: 60_000 }, async () => {
    const path = freshPath();
    const setup = await openSqliteStore(path);
    await seedParties(setup);
    await createConversation(setup, 'c1', 1);
    await setup.close();

    const acked = await appendUntilKilled(path, 300);
    assert.ok(acked.length >= 300, `child acknowledged ${acked.length} appends before the kill`);

    const store = await openSqliteStore(path);
    const stored = new Map<number, string>();
    for (let after = 0, more = true; more; ) {
      const page = await store.listMessages('c1', { afterSeq: after, limit: 500 });
      for (const m of page.messages) stored.set(m.seq, m.id);
      after = page.messages.at(-1)?.seq ?? after;
      more = page.more;
    }
    const conversation = await store.getConversation('c1');
    await store.close();
    for (const { seq, id } of acked) assert.equal(stored.get(seq), id, `acknowledged seq ${seq} is stored`);
    const allSeqs = [...stored.keys()];
    assert.deepEqual(
      allSeqs,
      allSeqs.map((_, i) => i + 1),
      'stored seqs are gapless',
    );
    assert.equal(conversation?.lastSeq, allSeqs.length);
  });
});

/**
 * Runs a child process that appends to conversation c1 forever (bursts of 8 concurrent appends,
 * so group commits are exercised) and prints `seq id` after each acknowledgement; SIGKILLs it once
 * `count` acknowledgements were read. Returns the acknowledged messages.
 */
async function appendUntilKilled(path: string, count: number): Promise<Array<{ seq: number; id: string }>> {
  const storeUrl = new URL('./index.ts', import.meta.url).href;
  const script = `
    const { openSqliteStore } = await import(${JSON.stringify(storeUrl)});
    const store = await openSqliteStore(${JSON.stringify(path)});
    const from = { id: 'v1', role: 'visitor', name: 'Vera' };
    for (let burst = 0; ; burst++) {
      await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const id = 'k' + burst + '-' + i;
        const input = { id, sessionID: 'c1', from, kind: 'text', text: id, clientId: id, at: new Date().toISOString() };
        const { message } = await store.appendMessage(input);
        process.stdout.write(message.seq + ' ' + message.id + '\\n');
      }));
    }`;
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const acked: Array<{ seq: number; id: string }> = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const [seq, id] = line.split(' ');
    acked.push({ seq: Number(seq), id: id ?? '' });
    if (acked.length === count) child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL', 'the child was killed, not ended on its own');
  return acked;
}
