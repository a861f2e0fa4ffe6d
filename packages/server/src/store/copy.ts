import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { describePostgresUrlError, embeddedStorePath, redactUrl, type StoreLocation } from './index.ts';
import { PostgresStore } from './PostgresStore.ts';
import { SqliteStore } from './SqliteStore.ts';
import type { SqlStore } from './SqlStore.ts';
import { lastSeqOf } from './schema.ts';
import { COPIED_TABLES, type StoreTable } from './tables.ts';

/*
 * `parley db copy`: copies a whole store (the embedded SQLite file, or the PostgreSQL database
 * DATABASE_URL names) into an empty PostgreSQL database, table by table in the order of
 * COPIED_TABLES, rows as they are (ids, seqs, client ids, times), so that a server started on the
 * target carries on where the source stopped.
 *
 * All of it is one transaction on the target, verified before it commits: a failure at any point
 * (a row PostgreSQL refuses, a lost connection, a verification that does not match) leaves the
 * target with its schema and no rows. The source is read in one transaction too, so the copy is
 * one consistent snapshot even if a server is still writing to it (what it writes afterwards is
 * not copied: stop the server first).
 */

/** Rows read (and written) at a time. */
export const DEFAULT_COPY_PAGE_SIZE = 1000;

/** PostgreSQL takes at most this many parameters in one statement. */
const MAX_BIND_PARAMETERS = 65_535;

/** How long the copy waits for a lock on the target's tables (another client using them) before it gives up. */
const TARGET_LOCK_TIMEOUT = '10s';

/** Why a copy stopped. */
export type StoreCopyFailure =
  /** The source store cannot be opened (missing, unreachable, migration failed). */
  | 'source'
  /** The target cannot be used (unreachable, login refused, no such database, not PostgreSQL, migration failed). */
  | 'target'
  /** The target has rows already. */
  | 'target_not_empty'
  /** Reading or writing rows failed; nothing was committed. */
  | 'copy'
  /** The copied rows do not match the source; nothing was committed. */
  | 'verification';

/** A copy that stopped; the message says what went wrong (URLs with their passwords hidden). */
export class StoreCopyError extends Error {
  override readonly name = 'StoreCopyError';
  readonly reason: StoreCopyFailure;

  /** `cause`: the database's own error, when there is one. */
  constructor(reason: StoreCopyFailure, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

/** What to copy where. */
export interface StoreCopyOptions {
  /** The installation to copy: its SQLite file under dataDir, or its databaseUrl. */
  source: StoreLocation;
  /** The empty PostgreSQL database to copy into (postgres:// URL). */
  targetUrl: string;
  /** Rows read and written at a time. Default {@link DEFAULT_COPY_PAGE_SIZE}. */
  pageSize?: number;
}

/** Rows of one table. */
export interface TableCount {
  table: string;
  rows: number;
}

/** What a verification compared. */
export interface StoreCopyVerification {
  /** Rows per table, equal on both sides, in the order of COPIED_TABLES. */
  tables: TableCount[];
  /** Conversations whose last seq (stored and of their messages) matched. */
  conversations: number;
}

/** What a finished copy did. */
export interface StoreCopyReport extends StoreCopyVerification {
  /** The source, in words (`SQLite /data/parley.db`, or its URL without the password). */
  source: string;
  /** The target URL without its password. */
  target: string;
  durationMs: number;
}

/**
 * Copies every table of the source store into the empty PostgreSQL database at `targetUrl`, then
 * verifies the copy (rows per table; stored and actual last seq of every conversation) and commits.
 * Both stores are migrated to the current schema first, as a server start would.
 *
 * @throws StoreCopyError; with any reason but 'source' and 'target', the target's tables stay empty.
 * @example
 * const report = await copyStore({ source: config, targetUrl: 'postgres://parley@db/parley' });
 */
export async function copyStore(options: StoreCopyOptions): Promise<StoreCopyReport> {
  const pageSize = Math.max(1, Math.trunc(options.pageSize ?? DEFAULT_COPY_PAGE_SIZE));
  const started = performance.now();
  return withBothEnds(options.source, options.targetUrl, async (source, target) => {
    let verification: StoreCopyVerification;
    try {
      verification = await readSnapshot(source, (from) =>
        target.database.transaction().execute(async (to) => {
          await lockEmptyTarget(to);
          for (const table of COPIED_TABLES) await copyTable(from, to, table, pageSize);
          await setSeqCounters(to);
          return verifyTables(from, to);
        }),
      );
    } catch (err) {
      if (err instanceof StoreCopyError) throw err;
      throw new StoreCopyError('copy', `the copy failed and was rolled back: ${(err as Error).message}`, err);
    }
    return { source: source.description, target: target.description, ...verification, durationMs: performance.now() - started };
  });
}

/**
 * Compares the source store with a PostgreSQL database it was copied to: rows per table, and the
 * stored and actual last seq of every conversation. Read-only on both (apart from migrating them).
 *
 * @throws StoreCopyError 'verification' naming what differs; 'source' or 'target' when one cannot be opened.
 */
export function verifyStoreCopy(source: StoreLocation, targetUrl: string): Promise<StoreCopyVerification> {
  return withBothEnds(source, targetUrl, (from, to) => readSnapshot(from, (tx) => verifyTables(tx, to.database)));
}

/** Opens the source, then the target, runs `work` on them and closes both, whatever happens. */
async function withBothEnds<T>(source: StoreLocation, targetUrl: string, work: (source: CopyEnd, target: CopyEnd) => Promise<T>): Promise<T> {
  const from = await openSource(source);
  try {
    const to = await openTarget(targetUrl);
    try {
      return await work(from, to);
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}

/** One side of a copy: a migrated store, with its kysely handle for generic reads and writes. */
interface CopyEnd {
  database: Kysely<any>;
  dialect: 'sqlite' | 'postgres';
  description: string;
  close(): Promise<void>;
}

/** SqliteStore with its connection in reach: the copy reads tables the Store port has no method for. */
class SqliteCopyEnd extends SqliteStore {
  get database(): Kysely<any> {
    return this.db;
  }
}

/** PostgresStore with its pool in reach, for the same reason. */
class PostgresCopyEnd extends PostgresStore {
  get database(): Kysely<any> {
    return this.db;
  }
}

/** Opens and migrates the store the configuration names (PostgreSQL when databaseUrl is set). */
async function openSource(location: StoreLocation): Promise<CopyEnd> {
  if (location.databaseUrl !== null) {
    const url = location.databaseUrl;
    return openEnd(new PostgresCopyEnd(url, { maxConnections: 2 }), {
      side: 'source',
      dialect: 'postgres',
      description: redactUrl(url),
      describe: (err) => describePostgresUrlError('DATABASE_URL', url, err),
    });
  }
  const path = embeddedStorePath(location.dataDir);
  if (!existsSync(path)) {
    throw new StoreCopyError(
      'source',
      `there is no embedded store at ${path}: set DATA_DIR to the installation's data directory (or DATABASE_URL to its PostgreSQL database)`,
    );
  }
  return openEnd(new SqliteCopyEnd(path), {
    side: 'source',
    dialect: 'sqlite',
    description: `SQLite ${path}`,
    describe: (err) => `${path}: ${err instanceof Error ? err.message : String(err)}`,
  });
}

/** Connects to and migrates the target. */
function openTarget(url: string): Promise<CopyEnd> {
  return openEnd(new PostgresCopyEnd(url, { maxConnections: 2 }), {
    side: 'target',
    dialect: 'postgres',
    description: redactUrl(url),
    describe: (err) => describePostgresUrlError('--to', url, err),
  });
}

/** Migrates `store`; when that fails, closes it and throws a StoreCopyError in the words of `describe`. */
async function openEnd(
  store: SqlStore & { readonly database: Kysely<any> },
  end: { side: 'source' | 'target'; dialect: CopyEnd['dialect']; description: string; describe: (err: unknown) => string },
): Promise<CopyEnd> {
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw new StoreCopyError(end.side, end.describe(err), err);
  }
  return { database: store.database, dialect: end.dialect, description: end.description, close: () => store.close() };
}

/**
 * Runs `work` in one read transaction on the source, so every table is read from the same
 * snapshot (REPEATABLE READ on PostgreSQL; on SQLite a WAL read transaction is one already).
 */
function readSnapshot<T>(source: CopyEnd, work: (from: Kysely<any>) => Promise<T>): Promise<T> {
  const transaction = source.database.transaction();
  const isolated = source.dialect === 'postgres' ? transaction.setIsolationLevel('repeatable read').setAccessMode('read only') : transaction;
  return isolated.execute(work);
}

/**
 * Locks the target's store tables against writers until the copy commits or rolls back, then
 * refuses the copy when any of them has a row: a copy never merges into, or overwrites, data.
 */
async function lockEmptyTarget(to: Kysely<any>): Promise<void> {
  await sql`set local lock_timeout = ${sql.lit(TARGET_LOCK_TIMEOUT)}`.execute(to);
  try {
    await sql`lock table ${sql.join(COPIED_TABLES.map((t) => sql.table(t.name)))} in exclusive mode`.execute(to);
  } catch (err) {
    throw new StoreCopyError('target', `cannot lock the target's tables (is a server using it?): ${(err as Error).message}`, err);
  }
  const filled: string[] = [];
  for (const table of COPIED_TABLES) {
    const row = await to.selectFrom(table.name).select(sql`1`.as('one')).limit(1).executeTakeFirst();
    if (row !== undefined) filled.push(table.name);
  }
  if (filled.length > 0) {
    throw new StoreCopyError(
      'target_not_empty',
      `the target is not empty: ${filled.map((t) => `table ${t} has rows`).join(', ')}. ` +
        'parley db copy only copies into an empty database (its schema may exist); nothing was changed',
    );
  }
}

/** Copies one table page by page, in primary-key order (keyset pagination). Returns the rows copied. */
async function copyTable(from: Kysely<any>, to: Kysely<any>, table: StoreTable, pageSize: number): Promise<number> {
  let copied = 0;
  let after: unknown[] | null = null;
  try {
    for (;;) {
      const rows = await readPage(from, table, after, pageSize);
      if (rows.length === 0) return copied;
      const columns = Object.keys(rows[0]!).length;
      const perInsert = Math.max(1, Math.floor(MAX_BIND_PARAMETERS / Math.max(1, columns)));
      for (let i = 0; i < rows.length; i += perInsert) {
        await to.insertInto(table.name).values(rows.slice(i, i + perInsert)).execute();
      }
      copied += rows.length;
      const last = rows[rows.length - 1]!;
      after = table.primaryKey.map((column) => last[column]);
      if (rows.length < pageSize) return copied;
    }
  } catch (err) {
    if (err instanceof StoreCopyError) throw err;
    const where = after === null ? 'its first rows' : `the rows after ${table.primaryKey.join(', ')} = ${after.map(String).join(', ')}`;
    throw new StoreCopyError('copy', `copying table ${table.name} failed at ${where}: ${(err as Error).message}`, err);
  }
}

/**
 * Sets each conversation's seq counter (`last_seq`, which PostgreSQL's appends move) to the highest seq of its
 * messages: a SQLite source keeps no counter (sqliteSeqs.ts), so its column says nothing.
 */
async function setSeqCounters(to: Kysely<any>): Promise<void> {
  await to.updateTable('conversations as c').set({ last_seq: lastSeqOf('c.id') }).execute();
}

/** Up to `limit` rows of `table` whose primary key comes after `after` (from the start when null), in key order. */
function readPage(db: Kysely<any>, table: StoreTable, after: unknown[] | null, limit: number): Promise<Record<string, unknown>[]> {
  let query = db.selectFrom(table.name).selectAll();
  if (after !== null) {
    const key = sql.join(table.primaryKey.map((column) => sql.ref(column)));
    query = query.where(sql<boolean>`(${key}) > (${sql.join(after)})`);
  }
  for (const column of table.primaryKey) query = query.orderBy(column);
  return query.limit(limit).execute() as Promise<Record<string, unknown>[]>;
}

/** Rows of `table`. */
async function countRows(db: Kysely<any>, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row['n']);
}

/** A conversation's seq counter (`last_seq`; only the target's means anything) and the highest seq of its messages (0 for none). */
interface ConversationSeqs {
  id: string;
  lastSeq: number;
  maxSeq: number;
}

/** Every conversation's id, last_seq and highest message seq, to narrow down. */
function conversationSeqsQuery(db: Kysely<any>) {
  return db
    .selectFrom('conversations as c')
    .select((eb) => [
      'c.id',
      'c.last_seq',
      eb.selectFrom('messages as m').whereRef('m.conversation_id', '=', 'c.id').select((m) => m.fn.max('m.seq').as('s')).as('max_seq'),
    ]);
}

function toConversationSeqs(row: Record<string, unknown>): ConversationSeqs {
  return { id: String(row['id']), lastSeq: Number(row['last_seq']), maxSeq: Number(row['max_seq'] ?? 0) };
}

/** Conversations in id order after `after` (from the first when null), with their seqs. */
async function readConversationSeqs(db: Kysely<any>, after: string | null, limit: number): Promise<ConversationSeqs[]> {
  let query = conversationSeqsQuery(db);
  if (after !== null) query = query.where('c.id', '>', after);
  return (await query.orderBy('c.id').limit(limit).execute()).map(toConversationSeqs);
}

/** The conversations with these ids, with their seqs, by id. */
async function conversationSeqsById(db: Kysely<any>, ids: string[]): Promise<Map<string, ConversationSeqs>> {
  const rows = await conversationSeqsQuery(db).where('c.id', 'in', ids).execute();
  return new Map(rows.map((row) => [String(row['id']), toConversationSeqs(row)]));
}

/** At most this many differences are named in a verification error. */
const DIFFERENCES_SHOWN = 5;

/**
 * Compares rows per table, then every conversation's last seq (its messages' highest seq; on the target also
 * the seq counter its appends move on from), between `from` and `to`. The conversations are paged in the source's id order and looked up by id on the
 * target (the two databases may sort text differently).
 *
 * @throws StoreCopyError 'verification' naming the first differences.
 */
async function verifyTables(from: Kysely<any>, to: Kysely<any>): Promise<StoreCopyVerification> {
  const tables: TableCount[] = [];
  const differences: string[] = [];
  for (const table of COPIED_TABLES) {
    const [rows, copied] = [await countRows(from, table.name), await countRows(to, table.name)];
    if (rows !== copied) differences.push(`table ${table.name} has ${rows} rows in the source and ${copied} in the target`);
    tables.push({ table: table.name, rows });
  }
  let conversations = 0;
  let after: string | null = null;
  for (;;) {
    const page = await readConversationSeqs(from, after, DEFAULT_COPY_PAGE_SIZE);
    if (page.length === 0) break;
    const copies = await conversationSeqsById(to, page.map((c) => c.id));
    for (const original of page) {
      const copy = copies.get(original.id);
      if (copy === undefined) differences.push(`conversation ${original.id} is missing from the target`);
      else if (copy.lastSeq !== original.maxSeq || copy.maxSeq !== original.maxSeq) {
        differences.push(
          `conversation ${original.id}: last seq ${original.maxSeq} (messages up to ${original.maxSeq}) in the source, ` +
            `${copy.lastSeq} (messages up to ${copy.maxSeq}) in the target`,
        );
      } else conversations += 1;
    }
    after = page[page.length - 1]!.id;
  }
  if (differences.length > 0) {
    const more = differences.length > DIFFERENCES_SHOWN ? `; and ${differences.length - DIFFERENCES_SHOWN} more` : '';
    throw new StoreCopyError('verification', `the copy does not match the source: ${differences.slice(0, DIFFERENCES_SHOWN).join('; ')}${more}`);
  }
  return { tables, conversations };
}
