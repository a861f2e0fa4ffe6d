import { join } from 'node:path';
import { PostgresStore } from './PostgresStore.ts';
import type { PostgresStoreOptions } from './PostgresStore.ts';
import { SqliteStore } from './SqliteStore.ts';
import type { Store } from './Store.ts';

export type {
  AgentRecord,
  AppendMessageInput,
  AppendMessageResult,
  ConversationRecord,
  MessagePage,
  MessagePageQuery,
  Store,
  VisitorRecord,
} from './Store.ts';
export { StoreConflictError } from './Store.ts';
export { SqliteStore } from './SqliteStore.ts';
export type { SqliteConnectionSettings, SqliteStoreOptions } from './SqliteStore.ts';
export { PostgresStore } from './PostgresStore.ts';
export type { PostgresStoreOptions } from './PostgresStore.ts';
export { latestMigrationNames, migrateStoreToLatest, storeMigrationProvider, storeMigrations } from './migrations.ts';
export type { ParleyDatabase } from './schema.ts';

/**
 * Opens the SQLite database at `path` (creating the file and its directory when missing; ':memory:'
 * for a private in-memory database) and brings its schema up to date.
 *
 * @throws when the file cannot be opened or a migration fails (the database is closed again).
 * @example
 * const store = await openSqliteStore(embeddedStorePath(config.dataDir));
 */
export function openSqliteStore(path: string): Promise<Store> {
  return migrated(new SqliteStore(path));
}

/**
 * Connects to the PostgreSQL database at `url` and brings its schema up to date (waiting for
 * another node that is migrating it).
 *
 * @throws when the server cannot be reached, refuses the login, has no such database, or a
 *   migration fails (the pool is ended again).
 */
export function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<Store> {
  return migrated(new PostgresStore(url, options));
}

/** The embedded store's file in a data directory (DATA_DIR). */
export function embeddedStorePath(dataDir: string): string {
  return join(dataDir, 'parley.db');
}

/** Where the store lives: PostgreSQL at `databaseUrl` when set, else SQLite under `dataDir`. */
export interface StoreLocation {
  dataDir: string;
  databaseUrl: string | null;
}

/**
 * Opens the store the configuration names: PostgreSQL when DATABASE_URL is set, else the embedded
 * SQLite file `parley.db` in DATA_DIR. Migrated and ready. `postgres` tunes the PostgreSQL pool.
 *
 * @throws Error naming DATABASE_URL (its password hidden) and what went wrong, when PostgreSQL
 *   cannot be used.
 */
export async function openStore(location: StoreLocation, postgres?: PostgresStoreOptions): Promise<Store> {
  if (location.databaseUrl === null) return openSqliteStore(embeddedStorePath(location.dataDir));
  try {
    return await openPostgresStore(location.databaseUrl, postgres);
  } catch (err) {
    throw new Error(describePostgresUrlError('DATABASE_URL', location.databaseUrl, err), { cause: err });
  }
}

/** The URL with its password replaced by `***`, fit for logs and error messages. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * `NAME=<url, password hidden>: what went wrong`, for an error connecting to (or migrating) the
 * PostgreSQL database at `url`, which came from the setting `name` (DATABASE_URL, `--to`).
 */
export function describePostgresUrlError(name: string, url: string, err: unknown): string {
  return `${name}=${redactUrl(url)}: ${describePostgresError(err)}`;
}

/** What went wrong connecting to PostgreSQL or migrating it, in words. */
function describePostgresError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case '3D000':
      return `the database does not exist (${message}); create it first, e.g. createdb`;
    case '28P01':
    case '28000':
      return `the server refused the login (${message}); check the user name and password`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return `cannot reach the PostgreSQL server (${code}: ${message})`;
    default:
      if (/timeout/i.test(message)) {
        return `no answer in time: the server is unreachable or is not a PostgreSQL server (${message})`;
      }
      if (/terminated unexpectedly/i.test(message)) {
        return `the server closed the connection unexpectedly: is it a PostgreSQL server, on that port? (${message})`;
      }
      if (/password must be a string/i.test(message)) return `the server asks for a password and the URL has none (${message})`;
      return message;
  }
}

/** Migrates `store`, closing it again when that fails. */
async function migrated(store: Store): Promise<Store> {
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
