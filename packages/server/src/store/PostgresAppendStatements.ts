import { sql, type Kysely } from 'kysely';
import type { Message } from '@parley/protocol';
import { messageFromRow, type MessageRow, type ParleyDatabase } from './schema.ts';
import { StoreConflictError } from './Store.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/*
 * The SQL that writes a batch of appends (see PostgresMessageAppender): one statement that does it all
 * in one round trip, and a careful transaction for the batches that statement cannot write.
 *
 * Both lock the batch's conversations with `SELECT … ORDER BY id FOR UPDATE`: in one fixed order, so two
 * nodes locking overlapping sets wait for each other and never deadlock, and each conversation's
 * `last_seq` is read as the node before us left it. Neither commits a seq it did not store: a gap is
 * never written.
 */

/** One append's outcome: its result, or why it failed. */
export type AppendOutcome = AppendMessageResult | Error;

/**
 * Writes a batch (no clientId twice) in one statement, autocommitted: it locks the conversations, inserts
 * the messages numbered from each `last_seq` in batch order, and moves `last_seq` (and the first text
 * message). The numbering within the batch is worked out here (planAppends); the statement adds the
 * `last_seq` it found under the lock, and returns it so that the answers can say the same.
 *
 * It does not look for stored clientIds: a retried clientId (rare: a send whose answer was lost)
 * violates the unique index on (conversation, sender, clientId), as does a message id that exists
 * already. The whole statement then fails, nothing of it is stored, and the result is null: write the
 * batch with appendCarefully, which looks clientIds up. So it does when PostgreSQL chose it as the
 * victim of a deadlock (see needsCarefulPath).
 *
 * @returns one outcome per input, or null when the batch needs the careful path.
 */
export async function appendInOneStatement(db: Kysely<ParleyDatabase>, inputs: readonly AppendMessageInput[]): Promise<AppendOutcome[] | null> {
  const sessionIDs = [...new Set(inputs.map((input) => input.sessionID))];
  // Seqs relative to each conversation's last_seq: the plan as if every conversation were empty.
  const draft = planAppends(inputs, new Map(sessionIDs.map((id) => [id, 0])), new Map());
  const column = <K extends keyof MessageRow>(name: K): MessageRow[K][] => draft.rows.map((row) => row[name]);
  let locked: { id: string; last_seq: number }[];
  try {
    ({ rows: locked } = await sql<{ id: string; last_seq: number }>`
      WITH locked AS (
        SELECT id, last_seq FROM conversations WHERE id = ANY(${sessionIDs}::text[]) ORDER BY id FOR UPDATE
      ), inserted AS (
        INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
        SELECT b.id, b.conversation_id, l.last_seq + b.seq, b.from_id, b.from_role, b.from_name, b.kind, b.text, b.client_id, b.at
        FROM unnest(
          ${column('id')}::text[], ${column('conversation_id')}::text[], ${column('seq')}::int[], ${column('from_id')}::text[],
          ${column('from_role')}::text[], ${column('from_name')}::text[], ${column('kind')}::text[], ${column('text')}::text[],
          ${column('client_id')}::text[], ${column('at')}::text[])
          AS b(id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
        JOIN locked l ON l.id = b.conversation_id
      ), bumped AS (
        -- Joined with locked, so that no row is locked here before locked has locked it, in order.
        UPDATE conversations c SET last_seq = l.last_seq + v.added, first_message = coalesce(c.first_message, v.first_text)
        FROM locked l JOIN unnest(
          ${draft.conversations.map((c) => c.id)}::text[], ${draft.conversations.map((c) => c.lastSeq)}::int[],
          ${draft.conversations.map((c) => c.firstText)}::text[]) AS v(id, added, first_text) ON v.id = l.id
        WHERE c.id = l.id
      )
      SELECT id, last_seq FROM locked`.execute(db));
  } catch (error) {
    if (needsCarefulPath(error)) return null;
    throw error;
  }
  // The same plan from the seqs found: what was stored. A conversation not locked does not exist.
  return planAppends(inputs, new Map(locked.map((row) => [row.id, Number(row.last_seq)])), new Map()).results;
}

/**
 * Writes a batch (no clientId twice) in a transaction that reads the stored clientIds only after it
 * holds the locks, so it sees every message committed before. An append whose message id exists already
 * fails (StoreConflictError); the transaction is then rolled back and the others are written again, so
 * that id's seq is not left as a gap.
 */
export async function appendCarefully(db: Kysely<ParleyDatabase>, inputs: readonly AppendMessageInput[]): Promise<AppendOutcome[]> {
  const outcomes: AppendOutcome[] = new Array<AppendOutcome>(inputs.length);
  let remaining = inputs.map((input, index) => ({ input, index }));
  while (remaining.length > 0) {
    const attempt = await lockedTransaction(db, remaining.map((r) => r.input));
    if (attempt.type === 'committed') {
      remaining.forEach((r, i) => {
        outcomes[r.index] = attempt.outcomes[i] ?? new Error('append outcome missing');
      });
      return outcomes;
    }
    const taken = new Set(attempt.taken);
    for (const [i, r] of remaining.entries()) {
      if (taken.has(i)) outcomes[r.index] = new StoreConflictError(`message id ${r.input.id} exists already`);
    }
    remaining = remaining.filter((_, i) => !taken.has(i));
  }
  return outcomes;
}

type Attempt = { type: 'committed'; outcomes: AppendOutcome[] } | { type: 'rolledBack'; taken: number[] };

/** Thrown inside the transaction to roll it back when the insert skipped rows (their id was taken). */
class Rollback extends Error {
  /** Indexes of the inputs whose row was skipped. */
  readonly taken: number[];
  constructor(taken: number[]) {
    super(`${taken.length} message id(s) taken`);
    this.taken = taken;
  }
}

function lockedTransaction(db: Kysely<ParleyDatabase>, inputs: readonly AppendMessageInput[]): Promise<Attempt> {
  return db
    .transaction()
    .execute(async (tx): Promise<Attempt> => {
      const sessionIDs = [...new Set(inputs.map((input) => input.sessionID))];
      const locked = await sql<{ id: string; last_seq: number }>`
        SELECT id, last_seq FROM conversations WHERE id = ANY(${sessionIDs}::text[]) ORDER BY id FOR UPDATE`.execute(tx);
      const lastSeqs = new Map(locked.rows.map((row) => [row.id, Number(row.last_seq)]));

      const stored = new Map<string, MessageRow>();
      const keyed = inputs.filter((input) => input.clientId !== undefined && lastSeqs.has(input.sessionID));
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
      return { type: 'committed', outcomes: plan.results };
    })
    .catch((error: unknown): Attempt => {
      if (error instanceof Rollback) return { type: 'rolledBack', taken: error.taken };
      throw error;
    });
}

/**
 * A unique violation (a retried clientId, a taken id), or a deadlock: appends lock conversations in one
 * order, but another transaction that holds a conversation's row (a foreign key to it) and then wants
 * another may still deadlock with a batch, and PostgreSQL fails one of the two. Either way, nothing was
 * stored, and the careful path may write the batch.
 */
function needsCarefulPath(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return code === '23505' || code === '40P01';
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
