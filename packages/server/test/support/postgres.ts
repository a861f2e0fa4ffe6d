import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * PostgreSQL databases for tests: each is made for one test file (or one server) and dropped after it, so runs
 * never see each other's data. PostgreSQL must be reachable: without it the test fails, it is never skipped.
 * Base URL: PARLEY_TEST_PG_URL, else the local server with trust authentication.
 */

export const PG_BASE_URL = process.env['PARLEY_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of `database` on the base URL's server. */
export function pgUrlOf(database: string): string {
  const url = new URL(PG_BASE_URL);
  url.pathname = `/${database}`;
  return url.href;
}

/** A database made for a test, and how to drop it. */
export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, closing whatever is still connected to it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Connects to the base URL, naming it and PARLEY_TEST_PG_URL when PostgreSQL is not there. */
export async function connectPgAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(`PostgreSQL is not reachable at ${PG_BASE_URL} (set PARLEY_TEST_PG_URL to another server): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return client;
}

/** Makes an empty database `parley_test_<pid>_<random>` (`label` added for reading). */
export async function createTestDatabase(label = ''): Promise<TestDatabase> {
  const suffix = label ? `_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}` : '';
  const name = `parley_test_${process.pid}_${randomBytes(4).toString('hex')}${suffix}`;
  const admin = await connectPgAdmin();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    name,
    url: pgUrlOf(name),
    async drop() {
      if (dropped) return;
      dropped = true;
      const client = await connectPgAdmin();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
