import { Kysely, PostgresDialect, sql } from 'kysely';
import { migrateStoreToLatest } from './migrations.ts';
import { createPostgresPool, withoutQueryTimeout, type PostgresPoolOptions } from './postgresPool.ts';
import { PostgresMessageAppender } from './PostgresMessageAppender.ts';
import type { ParleyDatabase } from './schema.ts';
import { SqlStore } from './SqlStore.ts';
import type { Message } from '@parley/protocol';
import { commitCallWithKysely } from './callCommit.ts';
import type { AppendMessageInput, AppendMessageResult, CallCommit } from './Store.ts';

/** Options of {@link PostgresStore}: how its pool connects and how long it waits. */
export type PostgresStoreOptions = PostgresPoolOptions;

/**
 * Key of the session advisory lock held while migrating: a node never runs a migration another
 * node is running; it waits, then finds the migrations applied. (kysely's Migrator takes a lock
 * of its own too, but only after it has created its bookkeeping tables.)
 */
const MIGRATION_LOCK_KEY = 0x7061726c; // 'parl'

/**
 * The Store on PostgreSQL, through a `pg` pool, queried with kysely.
 *
 * appendMessage writes the appends of one event-loop turn in one transaction that locks their
 * conversations' rows (`SELECT … FOR UPDATE`, in id order) and, under those locks, looks for the
 * clientIds, inserts the messages and bumps `last_seq` (PostgresMessageAppender): seqs are gapless
 * and ordered per conversation across every node and connection, and a retried clientId finds the
 * stored message (the lock makes the earlier sender's commit visible to it). Within this process,
 * seqs follow call order as on SQLite.
 *
 * Text columns sort by the database's collation; ties between equal times are broken by id, which
 * matches SQLite's byte order under a C or C.UTF-8 collation (the PostgreSQL default on Debian).
 *
 * Call `migrate` before anything else (openPostgresStore does).
 */
export class PostgresStore extends SqlStore {
  /** Made on the first append (after migrate). */
  #appender: PostgresMessageAppender | null = null;

  /** Does not connect: the first query does (migrate, in openPostgresStore). */
  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    super(new Kysely<ParleyDatabase>({ dialect: new PostgresDialect({ pool: createPostgresPool(connectionString, options) }) }));
  }

  /**
   * Applies pending migrations in one transaction (PostgreSQL's DDL is transactional), under a
   * session advisory lock on one connection so that nodes starting together migrate one at a time.
   */
  protected async runMigrations(): Promise<void> {
    // Unbounded: waiting for another node's migration, or a long one, is no outage.
    await withoutQueryTimeout(() =>
      this.db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
        try {
          await migrateStoreToLatest(conn);
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
        }
      }),
    );
  }

  /** Waits for the appends already requested, then ends the pool. */
  protected async closeConnection(): Promise<void> {
    await this.#appender?.drain();
    await this.db.destroy();
  }

  protected isUniqueViolation(err: unknown): boolean {
    return err instanceof Error && 'code' in err && err.code === '23505';
  }

  /**
   * Also records the conversation's first text message when none was given at creation. Does not
   * check the status (the domain appends the closing event after closing). Group commit, with the
   * conversations locked in a fixed order: see PostgresMessageAppender.
   *
   * @throws Error when the conversation does not exist.
   */
  async appendMessage(input: AppendMessageInput): Promise<AppendMessageResult> {
    await this.ready();
    this.#appender ??= new PostgresMessageAppender(this.db);
    return this.#appender.append(input);
  }

  /**
   * The lock is a session advisory lock on a connection of its own, so `fn` may use the pool freely; a node that
   * dies holding it loses its connection, and PostgreSQL releases the lock. Callers of one node queue in memory first.
   */
  override withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return super.withLock(name, () =>
      this.db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(hashtext(${`parley:${name}`}))`.execute(conn);
        try {
          return await fn();
        } finally {
          await sql`select pg_advisory_unlock(hashtext(${`parley:${name}`}))`.execute(conn);
        }
      }),
    );
  }

  async commitCall(commit: CallCommit): Promise<Message[]> {
    await this.ready();
    return commitCallWithKysely(this.db, commit, (err) => this.isUniqueViolation(err));
  }
}
