import { Kysely, PostgresDialect, sql } from 'kysely';
import { migrateStoreToLatest } from './migrations.ts';
import { createPostgresPool, withoutQueryTimeout, type PostgresPoolOptions } from './postgresPool.ts';
import { messageFromRow, type ParleyDatabase } from './schema.ts';
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
 * appendMessage locks the conversation's row (`SELECT … FOR UPDATE`) and, in the same
 * transaction, looks for the clientId, bumps `last_seq` and inserts the message: seqs are
 * gapless and ordered per conversation across every node and connection, and a retried clientId
 * finds the stored message (the lock makes the earlier sender's commit visible to it). Within
 * this process, appends to one conversation are also sent one after another, so seqs follow call
 * order as on SQLite.
 *
 * Text columns sort by the database's collation; ties between equal times are broken by id, which
 * matches SQLite's byte order under a C or C.UTF-8 collation (the PostgreSQL default on Debian).
 *
 * Call `migrate` before anything else (openPostgresStore does).
 */
export class PostgresStore extends SqlStore {
  /** Per conversation: the last append sent, which the next one waits for. */
  readonly #appendChains = new Map<string, Promise<unknown>>();
  readonly #inFlight = new Set<Promise<unknown>>();

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
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await this.db.destroy();
  }

  protected isUniqueViolation(err: unknown): boolean {
    return err instanceof Error && 'code' in err && err.code === '23505';
  }

  /**
   * Also records the conversation's first text message when none was given at creation. Does not
   * check the status (the domain appends the closing event after closing).
   *
   * @throws Error when the conversation does not exist.
   */
  async appendMessage(input: AppendMessageInput): Promise<AppendMessageResult> {
    await this.ready();
    const previous = this.#appendChains.get(input.sessionID);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.#appendNow(input));
    this.#appendChains.set(input.sessionID, run);
    this.#inFlight.add(run);
    try {
      return await run;
    } finally {
      this.#inFlight.delete(run);
      if (this.#appendChains.get(input.sessionID) === run) this.#appendChains.delete(input.sessionID);
    }
  }

  async commitCall(commit: CallCommit): Promise<Message[]> {
    await this.ready();
    return commitCallWithKysely(this.db, commit, (err) => this.isUniqueViolation(err));
  }

  #appendNow(input: AppendMessageInput): Promise<AppendMessageResult> {
    const clientId = input.clientId ?? null;
    return this.db.transaction().execute(async (tx) => {
      const conversation = await tx
        .selectFrom('conversations')
        .select('id')
        .where('id', '=', input.sessionID)
        .forUpdate()
        .executeTakeFirst();
      if (conversation === undefined) throw new Error(`conversation ${input.sessionID} does not exist`);
      if (clientId !== null) {
        const stored = await tx
          .selectFrom('messages')
          .selectAll()
          .where('conversation_id', '=', input.sessionID)
          .where('from_id', '=', input.from.id)
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        if (stored !== undefined) return { message: messageFromRow(stored), duplicate: true };
      }
      const { last_seq: seq } = await tx
        .updateTable('conversations')
        .set((eb) => ({
          last_seq: eb('last_seq', '+', 1),
          first_message: eb.fn.coalesce('first_message', eb.val(input.kind === 'text' ? input.text : null)),
        }))
        .where('id', '=', input.sessionID)
        .returning('last_seq')
        .executeTakeFirstOrThrow();
      const row = await tx
        .insertInto('messages')
        .values({
          id: input.id,
          conversation_id: input.sessionID,
          seq,
          from_id: input.from.id,
          from_role: input.from.role,
          from_name: input.from.name,
          kind: input.kind,
          text: input.text,
          client_id: clientId,
          at: input.at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { message: messageFromRow(row), duplicate: false };
    });
  }
}
