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

/** Runs `work` on a connection to the base URL, ending the connection after. */
async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = await connectPgAdmin();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** Drops `name`, closing whatever is still connected to it. */
const dropDatabase = (admin: pg.Client, name: string) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);

/** Every database a test makes starts with this. */
export const TEST_DATABASE_PREFIX = 'parley_test_';

/**
 * The part of a database's name that says which test run made it: under scripts/test.mjs, whose
 * PARLEY_TEST_RUN is `<runner pid>-<file number>`, `r<runner pid>_<file number>` — the same for every
 * process of a file, so that the runner finds what its run left behind (dropRunDatabases); outside it,
 * the process's pid.
 */
function runPart(): string {
  const run = /^(\d+)-(\d+)$/.exec(process.env['PARLEY_TEST_RUN'] ?? '');
  return run ? `r${run[1]}_${run[2]}` : String(process.pid);
}

/**
 * Drops every database still left by the test run of runner `runnerPid` and returns their names: each
 * test drops its own, so a name here is a test that did not (or a file killed before it could).
 */
export function dropRunDatabases(runnerPid: number): Promise<string[]> {
  const pattern = `${TEST_DATABASE_PREFIX}r${runnerPid}_`.replaceAll('_', '\\_') + '%';
  return withAdmin(async (admin) => {
    const found = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname', [pattern]);
    const names = found.rows.map((r) => r.datname);
    for (const name of names) await dropDatabase(admin, name);
    return names;
  });
}

/**
 * Makes an empty database `parley_test_<run>_<random>` (`<run>` as runPart says; `label` added for
 * reading).
 */
export async function createTestDatabase(label = ''): Promise<TestDatabase> {
  const suffix = label ? `_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}` : '';
  const name = `${TEST_DATABASE_PREFIX}${runPart()}_${randomBytes(4).toString('hex')}${suffix}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  let dropped = false;
  return {
    name,
    url: pgUrlOf(name),
    async drop() {
      if (dropped) return;
      await withAdmin((admin) => dropDatabase(admin, name));
      dropped = true;
    },
  };
}
