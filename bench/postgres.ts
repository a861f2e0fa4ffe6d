import { existsSync } from 'node:fs';
import type pg from 'pg';
import { connectPgAdmin, createTestDatabase } from '../packages/server/test/support/postgres.ts';
import type { ProcessSet } from './procStats.ts';
import { registerTeardown } from './teardown.ts';

/*
 * PostgreSQL for a measured Parley: a database made for the one server and dropped after it, also when
 * the run is interrupted (see teardown.ts), and the backend processes that serve it, whose CPU time is
 * PostgreSQL's share of the cost of a message. The server is the one the tests use (PARLEY_TEST_PG_URL,
 * else the local server with trust authentication); without it the run fails, naming it.
 */

/** A database made for one measured server. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** The processes serving this database, for the CPU meter. */
  processes: ProcessSet;
  /** The server's version and the settings that bound a commit, in words. */
  describe(): Promise<string>;
  /** Counters that tell how the database was written, so far (see DatabaseCounters). */
  counters(): Promise<DatabaseCounters>;
  /** Drops the database (ending whatever is still connected to it) and the admin connection. Safe to call twice. */
  drop(): Promise<void>;
}

/** Cumulative counters of PostgreSQL's statistics views. */
export interface DatabaseCounters {
  /** Transactions committed in the benchmark's database (pg_stat_database; each flushes the WAL). */
  commits: number;
  /** WAL flushes to disk by the whole cluster (pg_stat_wal), other databases' included. */
  walSyncs: number;
}

/** PostgreSQL's own processes that serve every database of the cluster. */
const SHARED_BACKEND_TYPES = ['walwriter', 'checkpointer', 'background writer'];

/** Makes a fresh, empty database for one measured server. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const database = await createTestDatabase('bench');
  let admin: pg.Client | null = null;
  let dropping: Promise<void> | null = null;
  const drop = (): Promise<void> => {
    dropping ??= (async () => {
      unregister();
      await admin?.end().catch(() => undefined);
      await database.drop();
    })();
    return dropping;
  };
  const unregister = registerTeardown(`drop PostgreSQL database ${database.name}`, drop);
  try {
    admin = await connectPgAdmin();
  } catch (error) {
    await drop();
    throw error;
  }
  const connected = admin;
  const pids = async (where: string, param: unknown): Promise<number[]> => {
    const result = await connected.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE ${where}`, [param]);
    const listed = result.rows.map((row) => row.pid);
    const here = listed.filter((pid) => existsSync(`/proc/${pid}`));
    if (listed.length > 0 && here.length === 0) {
      throw new Error(`PostgreSQL's processes (${listed.join(', ')}) are not on this machine; its CPU cannot be measured`);
    }
    return here;
  };
  return {
    name: database.name,
    url: database.url,
    processes: {
      own: () => pids('datname = $1', database.name),
      shared: () => pids('backend_type = ANY($1)', SHARED_BACKEND_TYPES),
    },
    async counters() {
      // A backend reports its counts at most once a second; over a phase of seconds that is close enough.
      const result = await connected.query<{ commits: string; wal_syncs: string }>(
        'SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS commits, (SELECT wal_sync FROM pg_stat_wal) AS wal_syncs',
        [database.name],
      );
      const row = result.rows[0];
      return { commits: Number(row?.commits ?? 0), walSyncs: Number(row?.wal_syncs ?? 0) };
    },
    async describe() {
      const names = ['server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay', 'shared_buffers'];
      const result = await connected.query<{ name: string; setting: string; unit: string | null }>(
        'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
        [names],
      );
      const byName = new Map(result.rows.map((row) => [row.name, row.unit ? `${row.setting} × ${row.unit}` : row.setting]));
      return names.map((name) => `${name} ${byName.get(name) ?? '?'}`).join(', ');
    },
    drop,
  };
}
