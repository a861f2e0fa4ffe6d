import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startServer, type ParleyServer } from '../../src/index.ts';
import type { StoreLocation } from '../../src/store/index.ts';
import { createVisitor, loginAgent } from './http.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { ProtocolClient } from './ProtocolClient.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** The stores the integration tests run on (scripts/test.mjs runs every file that touches the store on each). */
export type TestStoreKind = 'sqlite' | 'postgres';

/**
 * The store this test process runs on: PARLEY_TEST_STORE, `sqlite` when unset. Anything else is an error,
 * not a silent fallback, so a misspelt choice never passes as a PostgreSQL run.
 */
export function testStoreKind(): TestStoreKind {
  const raw = process.env['PARLEY_TEST_STORE']?.trim() || 'sqlite';
  if (raw === 'sqlite' || raw === 'postgres') return raw;
  throw new Error(`PARLEY_TEST_STORE=${JSON.stringify(raw)}: expected sqlite or postgres`);
}

/** A fresh place for one server's data: a data directory and, on PostgreSQL, a database of its own. */
export interface TestStoreLocation {
  dataDir: string;
  /** The database's URL on PostgreSQL; null on SQLite (parley.db in dataDir). */
  databaseUrl: string | null;
  /** DATA_DIR and, on PostgreSQL, DATABASE_URL: the configuration that points a server at this location. */
  env: Record<string, string>;
  /** Removes the directory and drops the database. Safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Makes a fresh store location for `kind` (testStoreKind() unless given). For tests that start and
 * restart servers on the same data themselves; startTestServer makes one per server.
 */
export async function createTestStoreLocation(kind: TestStoreKind = testStoreKind()): Promise<TestStoreLocation> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-test-'));
  let database: TestDatabase | null = null;
  const remove = async () => {
    try {
      await database?.drop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    if (kind === 'postgres') database = await createTestDatabase('server');
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    dataDir,
    databaseUrl: database?.url ?? null,
    env: { DATA_DIR: dataDir, ...(database ? { DATABASE_URL: database.url } : {}) },
    remove,
  };
}

/** A server startTestServer started: where its store lives, and `stop` to close it and remove that store. */
export type TestServer = ParleyServer & StoreLocation & { stop(): Promise<void> };

/**
 * A Parley server on a free loopback port with a fresh data directory and, when PARLEY_TEST_STORE is
 * `postgres`, a fresh PostgreSQL database; `stop()` closes it and removes both (so does a failed start). A
 * DATABASE_URL in `env` wins over PARLEY_TEST_STORE (`''` for SQLite) and is left alone by `stop()`.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const location = await createTestStoreLocation('DATABASE_URL' in env ? 'sqlite' : testStoreKind());
  try {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DEMO_AGENT: 'false',
      TOKEN_SECRET: TEST_SECRET,
      ...location.env,
      ...env,
    });
    const server = await startServer(config);
    return Object.assign(server, {
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      async stop() {
        try {
          await server.close();
        } finally {
          await location.remove();
        }
      },
    });
  } catch (err) {
    await location.remove();
    throw err;
  }
}

/** A new visitor identity, with a client connected on its token. */
export async function newVisitor(server: ParleyServer, name = 'Vera Visitor') {
  const body = await createVisitor(server.url, name);
  const client = await ProtocolClient.connect(server.url, body.token);
  return { ...body, client };
}

let agentCount = 0;
/** A new agent account, signed in, with a client connected on its token. */
export async function newAgent(server: ParleyServer, name = `Agent ${++agentCount}`) {
  const email = `agent${agentCount}-${Math.random().toString(36).slice(2)}@example.test`;
  await server.createAgent({ email, name, password: 'correct horse battery' });
  const body = await loginAgent(server.url, email, 'correct horse battery');
  const client = await ProtocolClient.connect(server.url, body.token);
  return { ...body, email, client };
}
