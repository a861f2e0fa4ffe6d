import { AsyncLocalStorage } from 'node:async_hooks';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';

/** How the PostgreSQL pool connects and how long it waits. */
export interface PostgresPoolOptions {
  /** Most connections in the pool. Default 10. */
  maxConnections?: number;
  /**
   * How long opening a connection, or waiting for a free one, may take before it fails (ms). Default: the
   * URL's `connect_timeout` (seconds, as libpq reads it), else 5000.
   */
  connectTimeoutMs?: number;
  /**
   * How long a query may go without an answer before it fails and its connection is dropped (ms). Default:
   * the URL's `query_timeout` (ms, as node-postgres reads it), else 15000. Migrations are not bounded.
   */
  queryTimeoutMs?: number;
  /** An idle connection failed (the server went away, or ended it); the pool drops it and goes on. */
  onIdleError?: (err: Error) => void;
}

/** A server session left inside a transaction this long is ended by the server, releasing its locks (ms). */
const IDLE_IN_TRANSACTION_MS = 60_000;

/** Set while work runs that may take as long as it needs (migrations, which may wait for another node's). */
const unbounded = new AsyncLocalStorage<true>();
/** Calls of withoutQueryTimeout not yet settled. */
let unboundedRuns = 0;

/**
 * Runs `work` with no query timeout on the queries it makes. Once no such work runs, the storage is disabled
 * again: while an AsyncLocalStorage is enabled, Node runs its hooks on every promise the process makes, and a
 * server that migrated at start paid them on every message for as long as it ran (4% of its CPU under load).
 */
export async function withoutQueryTimeout<T>(work: () => Promise<T>): Promise<T> {
  unboundedRuns++;
  try {
    return await unbounded.run(true, work);
  } finally {
    if (--unboundedRuns === 0) unbounded.disable();
  }
}

/**
 * A `pg` pool for kysely that never hangs a request and never crashes the process:
 * - connecting (and waiting for a free connection) is bounded, and so is every query: a connection whose
 *   peer went silent (a black-holed network) fails the query within the timeout instead of holding it;
 * - a connection whose query went unanswered is dropped, not handed out again: it may still be inside the
 *   caller's transaction, holding its locks, when the network comes back;
 * - a connection that fails, idle or lent out, never crashes the process: an idle one is reported to
 *   `onIdleError`, a lent one to its caller's next query; either is dropped (the pool opens new ones on demand).
 */
export function createPostgresPool(connectionString: string, options: PostgresPoolOptions = {}): PostgresPool {
  const fromUrl = timeoutsInUrl(connectionString);
  const queryTimeoutMs = options.queryTimeoutMs ?? fromUrl.queryTimeoutMs ?? 15_000;
  const pool = new pg.Pool({
    connectionString: fromUrl.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? fromUrl.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  return {
    async connect() {
      const client = await pool.connect();
      let unanswered: Error | undefined;
      // pg-pool listens for errors of idle connections only; one lost while lent out would be an uncaught
      // exception. Its caller hears of it from its next query ('not queryable'), and it is not kept.
      let lost: Error | undefined;
      const onLost = (err: Error) => (lost = err);
      client.on('error', onLost);
      const query = (text: string, values: ReadonlyArray<unknown>) => {
        const bound = unbounded.getStore() === true ? undefined : queryTimeoutMs;
        return client.query({ text, values: [...values], query_timeout: bound } as pg.QueryConfig).catch((err: unknown) => {
          if (err instanceof Error && /query read timeout/i.test(err.message)) unanswered = err;
          throw err;
        });
      };
      // Releasing with an error makes pg-pool end the connection instead of keeping it.
      const release = () => {
        client.off('error', onLost);
        client.release(unanswered ?? lost);
      };
      return { query, release } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/**
 * The timeouts a DATABASE_URL may carry, and the URL to give `pg`: without `query_timeout`, which `pg`
 * would apply to every query, migrations included, where this pool applies it per query.
 */
function timeoutsInUrl(raw: string): { connectionString: string; connectTimeoutMs?: number; queryTimeoutMs?: number } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { connectionString: raw };
  }
  const positive = (value: string | null): number | undefined => {
    const n = Number(value);
    return value !== null && Number.isFinite(n) && n > 0 ? n : undefined;
  };
  const connectSeconds = positive(url.searchParams.get('connect_timeout'));
  const queryTimeoutMs = positive(url.searchParams.get('query_timeout'));
  const carries = url.searchParams.has('query_timeout');
  url.searchParams.delete('query_timeout');
  return {
    connectionString: carries ? url.href : raw,
    ...(connectSeconds !== undefined ? { connectTimeoutMs: connectSeconds * 1000 } : {}),
    ...(queryTimeoutMs !== undefined ? { queryTimeoutMs } : {}),
  };
}
