import { sql, type Kysely } from 'kysely';
import type { Message } from '@parley/protocol';
import { messageFromRow, type MessageRow, type ParleyDatabase } from './schema.ts';
import { StoreConflictError } from './Store.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/** Most appends written by one transaction. */
const MAX_BATCH = 512;
/**
 * Most transactions of appends in flight at once. A commit waits for its WAL flush; while it does, the
 * next batch can take its locks on other conversations and insert. Kept well under the pool's size so
 * that the other queries always find a connection.
 */
const MAX_FLIGHTS = 3;

interface PendingAppend {
  input: AppendMessageInput;
  resolve: (result: AppendMessageResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The PostgreSQL hot path of `Store.appendMessage`.
 *
 * Group commit, as on SQLite: the appends requested during one turn of the event loop are written by
 * one transaction, so a busy server pays one commit (one WAL flush) and a handful of round trips for
 * many messages instead of for each. The transaction
 *
 * 1. locks the batch's conversations, `SELECT … ORDER BY id FOR UPDATE`: in one fixed order, so two nodes
 *    locking overlapping sets wait for each other and never deadlock. Each conversation's `last_seq` is
 *    read under that lock, and whatever another node appended before is committed and visible;
 * 2. reads the messages already stored under the batch's clientIds (the unique index on
 *    (conversation, sender, clientId)); those appends are duplicates and take no seq, nor do repeats of a
 *    clientId within the batch;
 * 3. numbers the new messages from `last_seq` in call order, inserts them in one statement and sets each
 *    conversation's `last_seq` (and first text message) in one more;
 * 4. commits; only then does any append of the batch settle: nothing is acknowledged before it is stored.
 *
 * A message whose id exists already (ids are made unique by the caller, so this is a caller's bug) is
 * skipped by `ON CONFLICT DO NOTHING`; the transaction is then rolled back and the batch written again
 * without it, so its seq is not left as a gap. A conversation that does not exist fails its appends only.
 * If the transaction fails as a whole (the database went away), every append of the batch rejects.
 *
 * Seqs follow call order within a conversation: a conversation is in at most one transaction at a time,
 * and appends to it wait in order for the next one. Several transactions (of other conversations) may
 * be in flight at once.
 */
export class PostgresMessageAppender {
  readonly #db: Kysely<ParleyDatabase>;
  readonly #pending: PendingAppend[] = [];
  /** Conversations in a transaction now. */
  readonly #busy = new Set<string>();
  readonly #flights = new Set<Promise<void>>();
  #scheduled: ReturnType<typeof setImmediate> | null = null;

  constructor(db: Kysely<ParleyDatabase>) {
    this.#db = db;
  }

  /** Queues an append for this turn's transaction; settles once that transaction committed. */
  append(input: AppendMessageInput): Promise<AppendMessageResult> {
    return new Promise<AppendMessageResult>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every append requested so far (and any requested meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flights.size > 0) {
      this.#start();
      await Promise.allSettled([...this.#flights]);
    }
  }

  #schedule(): void {
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = null;
      this.#start();
    });
  }

  /** Starts transactions for the pending appends, as many as may fly. */
  #start(): void {
    while (this.#flights.size < MAX_FLIGHTS) {
      const batch = takeBatch(this.#pending, this.#busy, MAX_BATCH);
      if (batch.length === 0) return;
      const sessions = new Set(batch.map((p) => p.input.sessionID));
      for (const id of sessions) this.#busy.add(id);
      const flight = this.#write(batch).finally(() => {
        for (const id of sessions) this.#busy.delete(id);
        this.#flights.delete(flight);
        if (this.#pending.length > 0) this.#schedule();
      });
      this.#flights.add(flight);
    }
  }

  /** Writes one batch, settling each of its appends (never rejects). */
  async #write(batch: PendingAppend[]): Promise<void> {
    let remaining = batch;
    while (remaining.length > 0) {
      let outcome: BatchOutcome;
      try {
        outcome = await this.#transaction(remaining.map((p) => p.input));
      } catch (error) {
        for (const pending of remaining) pending.reject(error);
        return;
      }
      if (outcome.type === 'committed') {
        remaining.forEach((pending, i) => {
          const result = outcome.results[i];
          if (result === undefined) pending.reject(new Error('append outcome missing'));
          else if (result instanceof Error) pending.reject(result);
          else pending.resolve(result);
        });
        return;
      }
      // Rolled back: the appends whose id was taken fail, the others are written again.
      const taken = new Set(outcome.taken);
      remaining.forEach((pending, i) => {
        if (taken.has(i)) pending.reject(new StoreConflictError(`message id ${pending.input.id} exists already`));
      });
      remaining = remaining.filter((_, i) => !taken.has(i));
    }
  }

  /** One transaction over the batch; see the class comment. */
  #transaction(inputs: AppendMessageInput[]): Promise<BatchOutcome> {
    return this.#db.transaction().execute(async (tx) => {
      const sessionIDs = [...new Set(inputs.map((input) => input.sessionID))];
      const locked = await sql<{ id: string; last_seq: number }>`
        SELECT id, last_seq FROM conversations WHERE id = ANY(${sessionIDs}::text[]) ORDER BY id FOR UPDATE`.execute(tx);
      const lastSeqs = new Map(locked.rows.map((row) => [row.id, Number(row.last_seq)]));

      const keyed = inputs.filter((input) => input.clientId !== undefined && lastSeqs.has(input.sessionID));
      const stored = new Map<string, MessageRow>();
      if (keyed.length > 0) {
        const found = await sql<MessageRow>`
          SELECT m.* FROM messages m
          JOIN unnest(${keyed.map((i) => i.sessionID)}::text[], ${keyed.map((i) => i.from.id)}::text[], ${keyed.map((i) => i.clientId)}::text[])
            AS k(conversation_id, from_id, client_id)
            ON m.conversation_id = k.conversation_id AND m.from_id = k.from_id AND m.client_id = k.client_id`.execute(tx);
        for (const row of found.rows) stored.set(clientKey(row.conversation_id, row.from_id, row.client_id ?? ''), row);
      }

      const plan = planAppends(inputs, lastSeqs, stored);
      if (plan.rows.length > 0) {
        const column = <K extends keyof MessageRow>(name: K): MessageRow[K][] => plan.rows.map((row) => row[name]);
        const inserted = await sql<{ id: string; conversation_id: string; seq: number }>`
          INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
          SELECT * FROM unnest(
            ${column('id')}::text[], ${column('conversation_id')}::text[], ${column('seq')}::int[], ${column('from_id')}::text[],
            ${column('from_role')}::text[], ${column('from_name')}::text[], ${column('kind')}::text[], ${column('text')}::text[],
            ${column('client_id')}::text[], ${column('at')}::text[])
          ON CONFLICT DO NOTHING
          RETURNING id, conversation_id, seq`.execute(tx);
        const taken = rowsNotInserted(plan.rows, inserted.rows).map((r) => plan.rowInputs[r] ?? -1);
        if (taken.length > 0) throw new Rollback(taken);
        await sql`
          UPDATE conversations c SET last_seq = v.last_seq, first_message = coalesce(c.first_message, v.first_message)
          FROM unnest(
            ${plan.conversations.map((c) => c.id)}::text[], ${plan.conversations.map((c) => c.lastSeq)}::int[],
            ${plan.conversations.map((c) => c.firstText)}::text[]) AS v(id, last_seq, first_message)
          WHERE c.id = v.id`.execute(tx);
      }
      return { type: 'committed', results: plan.results } as const;
    }).catch((error: unknown) => {
      if (error instanceof Rollback) return { type: 'rolledBack', taken: error.taken } as const;
      throw error;
    });
  }
}

type BatchOutcome =
  | { type: 'committed'; results: (AppendMessageResult | Error)[] }
  /** `taken`: the inputs (by index) whose message id exists already. */
  | { type: 'rolledBack'; taken: number[] };

/** Thrown inside the transaction to roll it back when message ids were taken. */
class Rollback extends Error {
  /** Indexes of the inputs whose id was taken. */
  readonly taken: number[];
  constructor(taken: number[]) {
    super(`message ids taken by ${taken.length} append(s)`);
    this.taken = taken;
  }
}

/**
 * Takes the next batch off `pending`, in order: at most `max` appends, none of a conversation in `busy`
 * (those wait, with every later append of theirs, so a conversation's appends keep their order).
 */
export function takeBatch<T extends { input: { sessionID: string } }>(pending: T[], busy: ReadonlySet<string>, max: number): T[] {
  const batch: T[] = [];
  const waiting: T[] = [];
  for (const item of pending) {
    if (batch.length < max && !busy.has(item.input.sessionID)) batch.push(item);
    else waiting.push(item);
  }
  pending.splice(0, pending.length, ...waiting);
  return batch;
}

/** What one batch writes, worked out from what its locks found. */
export interface AppendPlan {
  /** Per input, in order: its result, or why it fails. */
  results: (AppendMessageResult | Error)[];
  /** The rows to insert, in call order. */
  rows: MessageRow[];
  /** For each row, the index of its input. */
  rowInputs: number[];
  /** Per conversation that gets new messages: its new last seq and its first new text message (or null). */
  conversations: { id: string; lastSeq: number; firstText: string | null }[];
}

/**
 * Numbers a batch's new messages. `lastSeqs` has every conversation that exists (locked); `stored` the
 * messages found under the batch's clientIds (by `clientKey`). Pure: the transaction runs the SQL.
 */
export function planAppends(
  inputs: readonly AppendMessageInput[],
  lastSeqs: ReadonlyMap<string, number>,
  stored: ReadonlyMap<string, MessageRow>,
): AppendPlan {
  const seqs = new Map(lastSeqs);
  const firstTexts = new Map<string, string | null>();
  /** Messages of this batch by clientKey, for repeats within it. */
  const batchMessages = new Map<string, Message>();
  const rows: MessageRow[] = [];
  const rowInputs: number[] = [];
  const results = inputs.map((input, index): AppendMessageResult | Error => {
    const last = seqs.get(input.sessionID);
    if (last === undefined) return new Error(`conversation ${input.sessionID} does not exist`);
    const key = input.clientId === undefined ? null : clientKey(input.sessionID, input.from.id, input.clientId);
    if (key !== null) {
      const earlier = stored.get(key);
      if (earlier !== undefined) return { message: messageFromRow(earlier), duplicate: true };
      const repeated = batchMessages.get(key);
      if (repeated !== undefined) return { message: repeated, duplicate: true };
    }
    const seq = last + 1;
    seqs.set(input.sessionID, seq);
    // The conversation keeps its first text message (coalesce in the UPDATE): this batch's first, if any.
    if (!firstTexts.has(input.sessionID) || firstTexts.get(input.sessionID) === null) {
      firstTexts.set(input.sessionID, input.kind === 'text' ? input.text : null);
    }
    const row: MessageRow = {
      id: input.id,
      conversation_id: input.sessionID,
      seq,
      from_id: input.from.id,
      from_role: input.from.role,
      from_name: input.from.name,
      kind: input.kind,
      text: input.text,
      client_id: input.clientId ?? null,
      at: input.at,
    };
    rows.push(row);
    rowInputs.push(index);
    const message = messageFromRow(row);
    if (key !== null) batchMessages.set(key, message);
    return { message, duplicate: false };
  });
  const conversations = [...firstTexts].map(([id, firstText]) => ({ id, lastSeq: seqs.get(id) ?? 0, firstText }));
  return { results, rows, rowInputs, conversations };
}

/** The key of the unique index on (conversation, sender, clientId). */
export function clientKey(sessionID: string, fromId: string, clientId: string): string {
  return `${sessionID}\u0000${fromId}\u0000${clientId}`;
}

/**
 * Indexes of the rows that the insert skipped (their id was taken): those not returned with their
 * conversation and seq (which tell apart two rows of one id).
 */
export function rowsNotInserted(
  rows: readonly MessageRow[],
  inserted: readonly { id: string; conversation_id: string; seq: number }[],
): number[] {
  const written = new Set(inserted.map((row) => `${row.conversation_id}\u0000${Number(row.seq)}\u0000${row.id}`));
  return rows.flatMap((row, i) => (written.has(`${row.conversation_id}\u0000${row.seq}\u0000${row.id}`) ? [] : [i]));
}
