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
export { latestMigrationNames, migrateStoreToLatest, storeMigrationProvider, storeMigrations } from './migrations.ts';
export type { ParleyDatabase } from './schema.ts';

/**
 * Opens the SQLite database at `path` (creating the file and its directory when missing; ':memory:'
 * for a private in-memory database) and brings its schema up to date.
 *
 * @throws when the file cannot be opened or a migration fails (the database is closed again).
 * @example
 * const store = await openSqliteStore(join(config.dataDir, 'parley.db'));
 */
export async function openSqliteStore(path: string): Promise<Store> {
  const store = new SqliteStore(path);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
