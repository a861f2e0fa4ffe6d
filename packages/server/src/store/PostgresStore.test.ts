import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Party } from '@parley/protocol';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { latestMigrationNames, openPostgresStore, openStore, storeMigrations } from './index.ts';
import type { Store } from './index.ts';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';
import { describeStoreContract } from './storeContract.ts';
import { createTestDatabase, pgUrlOf, type TestDatabase } from '../../test/support/postgres.ts';

/*
 * Runs the Store contract on PostgreSQL, in a database made for this run and dropped after it
 * (passed or not). PostgreSQL must be reachable: without it this file fails, it is never skipped.
 * Base URL: PARLEY_TEST_PG_URL, else the local server with trust authentication.
 */

let database: TestDatabase | null = null;
let runUrl = '';
let runDatabase = '';
/** A client on the run's database, to reset it between tests. */
let runClient: pg.Client | null = null;

before(async () => {
  database = await createTestDatabase('store');
  runUrl = database.url;
  runDatabase = database.name;
  runClient = new pg.Client({ connectionString: runUrl });
  await runClient.connect();
});

after(async () => {
  await runClient?.end();
  await database?.drop();
});

/** Empties the run's database (schema and kysely's bookkeeping included). */
async function resetDatabase(): Promise<void> {
  assert.ok(runClient, 'the run database was created');
  await runClient.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
}

describeStoreContract(
  'PostgresStore',
  async () => {
    await resetDatabase();
    return openPostgresStore(runUrl);
  },
  { openNode: () => openPostgresStore(runUrl) },
);

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };

describe('PostgresStore (PostgreSQL specifics)', () => {
  it('migrates once when several nodes start at the same time', async () => {
    await resetDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(runUrl)));
    try {
      assert.ok(runClient);
      const applied = await runClient.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
      assert.deepEqual(
        applied.rows.map((r) => r.name),
        [...latestMigrationNames],
      );
      await seedParties(stores[0] as Store);
      assert.equal(await (stores[3] as Store).countAgents(), 2);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps seqs gapless and clientIds unique across stores (nodes) appending at once', async () => {
    await resetDatabase();
    const nodes = await Promise.all(Array.from({ length: 3 }, () => openPostgresStore(runUrl)));
    try {
      const first = nodes[0] as Store;
      await seedParties(first);
      await createConversation(first, 'c1', 1);
      const sends = [];
      for (let i = 0; i < 30; i++) {
        for (const [n, node] of nodes.entries()) {
          // Every node sends each clientId once: 30 messages stored, the rest duplicates.
          const input = { id: `m${i}-${n}`, sessionID: 'c1', from: vera, kind: 'text', text: `t${i}`, clientId: `k${i}`, at: at(2) } as const;
          sends.push(node.appendMessage(input));
        }
      }
      const results = await Promise.all(sends);
      assert.equal(results.filter((r) => !r.duplicate).length, 30);
      const page = await first.listMessages('c1', { limit: 100 });
      assert.deepEqual(
        page.messages.map((m) => m.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.equal(new Set(page.messages.map((m) => m.clientId)).size, 30);
      assert.equal((await first.getConversation('c1'))?.lastSeq, 30);
    } finally {
      await Promise.all(nodes.map((s) => s.close()));
    }
  });

  it('brings a database of migration 0004 to 0005: counters set from the messages, numbering on, older versions refused', async () => {
    await resetDatabase();
    const olderNames = latestMigrationNames.filter((name) => name < '0005');
    const older = { getMigrations: async () => Object.fromEntries(olderNames.map((name) => [name, storeMigrations[name]!])) };
    const raw = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: runUrl, max: 1 }) }) });
    try {
      assert.equal((await new Migrator({ db: raw, provider: older }).migrateToLatest()).error, undefined);
      assert.ok(runClient);
      await runClient.query(`
        INSERT INTO visitors (id, name, created_at) VALUES ('v1', 'Vera', '${at(0)}');
        INSERT INTO conversations (id, status, visitor_id, last_seq, created_at) VALUES ('c1', 'active', 'v1', 5, '${at(1)}');
        INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
          VALUES ('m1', 'c1', 1, 'v1', 'visitor', 'Vera', 'text', 'one', 'k1', '${at(2)}'), ('m2', 'c1', 2, 'v1', 'visitor', 'Vera', 'text', 'two', 'k2', '${at(3)}')`);
      const store = await openPostgresStore(runUrl);
      try {
        const next = await store.appendMessage({ id: 'm3', sessionID: 'c1', from: vera, kind: 'text', text: 'three', clientId: 'k3', at: at(4) });
        assert.equal(next.message.seq, 3, 'numbered on from the messages: the counter of 5 was set to 2 by the migration');
        assert.equal((await store.getConversation('c1'))?.lastSeq, 3);
      } finally {
        await store.close();
      }
      const refused = await new Migrator({ db: raw, provider: older }).migrateToLatest();
      assert.match(String(refused.error), /0005_seqs_from_messages/, 'a version without 0005 refuses the database');
    } finally {
      await raw.destroy();
    }
  });
});

describe('openStore (PostgreSQL configuration)', () => {
  it('stops with DATABASE_URL named when the database does not exist', async () => {
    const url = pgUrlOf(`${runDatabase}_missing`);
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: url }), (err: Error) => {
      assert.match(err.message, /^DATABASE_URL=postgres:\/\/.*_missing: the database does not exist/);
      return true;
    });
  });

  it('stops with DATABASE_URL named when nothing listens there, hiding the password', async () => {
    const url = 'postgres://parley:secret-pass@127.0.0.1:1/parley';
    await assert.rejects(openStore({ dataDir: '/nonexistent', databaseUrl: url }), (err: Error) => {
      assert.match(err.message, /^DATABASE_URL=postgres:\/\/parley:\*\*\*@127\.0\.0\.1:1\/parley: cannot reach the PostgreSQL server/);
      assert.doesNotMatch(err.message, /secret-pass/);
      return true;
    });
  });
});
