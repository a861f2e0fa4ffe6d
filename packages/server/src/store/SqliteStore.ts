import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateStoreToLatest } from './migrations.ts';
import { SqliteCallWriter } from './SqliteCallWriter.ts';
import { SqliteMessageAppender } from './SqliteMessageAppender.ts';
import type { ParleyDatabase } from './schema.ts';
import { SqlStore } from './SqlStore.ts';
import type { Message, Party } from '@parley/protocol';
import type { AppendMessageInput, AppendMessageResult, CallCommit } from './Store.ts';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing (ms). Default 5000. */
  busyTimeoutMs?: number;
}

/** The connection settings in effect, as SQLite reports them. */
export interface SqliteConnectionSettings {
  /** `wal` for a database file; `memory` for ':memory:'. */
  journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
  foreignKeys: boolean;
  busyTimeoutMs: number;
}

/** Pages written to the WAL between two automatic checkpoints (about 4 MB with 4 KB pages; SQLite's default). */
const WAL_CHECKPOINT_PAGES = 1000;
/** What the WAL file is cut back to after a checkpoint. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * The embedded Store: one SQLite database file through better-sqlite3, queried with kysely.
 *
 * The connection runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a
 * crash or kill of the process (not necessarily a power loss of the machine), and readers never
 * block the writer. better-sqlite3 is synchronous, so each statement runs without yielding to other
 * callers. Writes that read-then-write are single compare-and-set statements (assign, close) or one
 * synchronous transaction (append, see SqliteMessageAppender), so concurrent async callers in this
 * process cannot interleave inside them. appendMessage, the hot path, uses prepared statements and
 * group commit; everything else goes through kysely.
 *
 * Call `migrate` before anything else (openSqliteStore does).
 */
export class SqliteStore extends SqlStore {
  /** The database file, or ':memory:'. */
  readonly path: string;
  readonly #sqlite: Database.Database;
  /** Prepared once the schema exists (after migrate). */
  #appender: SqliteMessageAppender | null = null;
  #callWriter: SqliteCallWriter | null = null;

  /**
   * Opens (creating it and its directory when missing) the database at `path`; ':memory:' for a
   * private in-memory database. Does not migrate.
   */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    const sqlite = new Database(path);
    try {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      // A checkpoint runs inside a commit, on the event loop, and stops the server for as long as it copies: a
      // long interval copies a busy conversation's pages fewer times but stalls longer (10,000 pages: 120-170 ms
      // about once a second at 2,000 msg/s, which set the chat p99), so checkpoints stay short and frequent.
      // Durability is unchanged; the WAL file is cut back to the limit after each checkpoint.
      sqlite.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      sqlite.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    } catch (err) {
      sqlite.close();
      throw err;
    }
    super(new Kysely<ParleyDatabase>({ dialect: new SqliteDialect({ database: sqlite }) }));
    this.path = path;
    this.#sqlite = sqlite;
  }

  /** The effective pragmas of this connection (for health output and tests). */
  connectionSettings(): SqliteConnectionSettings {
    this.assertOpen();
    const read = (name: string): unknown => this.#sqlite.pragma(name, { simple: true });
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      foreignKeys: Number(read('foreign_keys')) === 1,
      busyTimeoutMs: Number(read('busy_timeout')),
    };
  }

  /**
   * Applies pending migrations in one IMMEDIATE transaction: all or nothing, and a second process
   * migrating the same file at once waits instead of interleaving.
   */
  protected async runMigrations(): Promise<void> {
    this.#sqlite.exec('BEGIN IMMEDIATE');
    try {
      await migrateStoreToLatest(this.db);
      this.#sqlite.exec('COMMIT');
    } catch (err) {
      if (this.#sqlite.inTransaction) this.#sqlite.exec('ROLLBACK');
      throw err;
    }
  }

  /** Closes the database (WAL is checkpointed). */
  protected async closeConnection(): Promise<void> {
    // Appends already requested are committed, and answered, before the database goes.
    this.#appender?.flush();
    this.#appender = null;
    await this.db.destroy();
  }

  protected isUniqueViolation(err: unknown): boolean {
    const code = err instanceof Error && 'code' in err ? err.code : undefined;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  }

  /**
   * Also records the conversation's first text message when none was given at creation, so the
   * queue shows what the visitor wrote. Does not check the status: the domain decides who may
   * write to a closed conversation (it appends the closing event after closing).
   *
   * @throws Error when the conversation does not exist.
   */
  async appendMessage(input: AppendMessageInput): Promise<AppendMessageResult> {
    await this.ready();
    this.#appender ??= new SqliteMessageAppender(this.#sqlite);
    return this.#appender.append(input);
  }

  /** Synchronous, so it runs between two group commits of the appender, never inside one. */
  async commitCall(commit: CallCommit): Promise<Message[]> {
    await this.ready();
    this.#callWriter ??= new SqliteCallWriter(this.#sqlite, (err) => this.isUniqueViolation(err));
    return this.#callWriter.commit(commit);
  }

  /*
   * The two multi-statement writes of the nodes' rows, as synchronous better-sqlite3 transactions: a kysely
   * transaction would stay open across awaits on the one connection this store shares with the message appender
   * and the call writer, whose writes would then land inside it (and a nested BEGIN would fail).
   */

  override async reapDeadNodes(before: string, alsoNodeId?: string): Promise<Array<{ nodeId: string; parties: Party[] }>> {
    await this.ready();
    return this.#sqlite.transaction(() => {
      const dead = (
        this.#sqlite.prepare('DELETE FROM nodes WHERE heartbeat_at < ? OR id = ? RETURNING id').all(before, alsoNodeId ?? null) as Array<{ id: string }>
      ).map((r) => r.id);
      if (alsoNodeId !== undefined && !dead.includes(alsoNodeId)) dead.push(alsoNodeId);
      const take = this.#sqlite.prepare('DELETE FROM node_parties WHERE node_id = ? RETURNING party_id, party_role, party_name');
      return dead.map((nodeId) => ({
        nodeId,
        parties: (take.all(nodeId) as Array<{ party_id: string; party_role: Party['role']; party_name: string }>).map((r) => ({
          id: r.party_id,
          role: r.party_role,
          name: r.party_name,
        })),
      }));
    })();
  }

  override async replaceNodeParties(nodeId: string, parties: ReadonlyArray<{ party: Party; connections: number }>, at: string): Promise<void> {
    await this.ready();
    const named = new Set<string>();
    for (const { party } of parties) {
      if (named.has(party.id)) throw new Error(`replaceNodeParties: party ${party.id} is named twice for node ${nodeId}`);
      named.add(party.id);
    }
    const insert = this.#sqlite.prepare(
      'INSERT INTO node_parties (node_id, party_id, party_role, party_name, connections, since) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#sqlite.transaction(() => {
      this.#sqlite.prepare('DELETE FROM node_parties WHERE node_id = ?').run(nodeId);
      for (const { party, connections } of parties) if (connections > 0) insert.run(nodeId, party.id, party.role, party.name, connections, at);
    })();
  }
}
