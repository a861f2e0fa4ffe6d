import { sql, type Kysely } from 'kysely';
import type { Message } from '@parley/protocol';
import { messageFromRow, type MessageRow, type ParleyDatabase } from './schema.ts';
import { StoreConflictError } from './Store.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/*
 * The SQL that writes a batch of appends (see PostgresMessageAppender): one statement that does it all
 * in one round trip, and a careful transaction for when that statement cannot.
 *
 * Both lock the batch's conversations with `SELECT … ORDER BY id FOR UPDATE`: in one fixed order, so two
 * nodes locking overlapping sets wait for each other and never deadlock, and each conversation's
 * `last_seq` is read as the node before us left it. Neither commits a seq it did not store: a gap is
 * never written.
 */

/** One append's outcome: its result, or why it failed. */
export type AppendOutcome = AppendMessageResult | Error;

/** What the one statement returns: a new message's seq, or a stored message under the same clientId. */
export interface StatementRow {
  /** Index of the input in the batch. */
  ord: number;
  seq: number;
  /** Null for a message this statement stored; the stored message's columns otherwise. */
  id: string | null;
  from_role: MessageRow['from_role'] | null;
  from_name: string | null;
  kind: MessageRow['kind'] | null;
  text: string | null;
  at: string | null;
}

/**
 * Writes a batch (no clientId twice) in one statement, autocommitted: it locks the conversations,
 * finds the clientIds stored already, numbers the new messages from each `last_seq` in batch order,
 * inserts them and moves `last_seq` (and the first text message).
 *
 * The statement reads the stored clientIds with the snapshot it started with. A message that another
 * node committed while this statement waited for its lock is not seen there; inserting it again then
 * violates the unique index on (conversation, sender, clientId), and so would a message id that exists
 * already. The whole statement then fails, nothing of it is stored, and the result is null: write the
 * batch with appendCarefully.
 *
 * @returns one outcome per input, or null when the batch needs the careful path.
 */
export async function appendInOneStatement(db: Kysely<ParleyDatabase>, inputs: readonly AppendMessageInput[]): Promise<AppendOutcome[] | null> {
  const column = <T>(pick: (input: AppendMessageInput, ord: number) => T): T[] => inputs.map(pick);
  let rows: StatementRow[];
  try {
    ({ rows } = await sql<StatementRow>`
      WITH batch AS (
        SELECT * FROM unnest(
          ${column((_, i) => i)}::int[], ${column((i) => i.id)}::text[], ${column((i) => i.sessionID)}::text[],
          ${column((i) => i.from.id)}::text[], ${column((i) => i.from.role)}::text[], ${column((i) => i.from.name)}::text[],
          ${column((i) => i.kind)}::text[], ${column((i) => i.text)}::text[], ${column((i) => i.clientId ?? null)}::text[],
          ${column((i) => i.at)}::text[])
          AS b(ord, id, conversation_id, from_id, from_role, from_name, kind, text, client_id, at)
      ), locked AS (
        SELECT id, last_seq FROM conversations WHERE id = ANY(${[...new Set(column((i) => i.sessionID))]}::text[]) ORDER BY id FOR UPDATE
      ), stored AS (
        SELECT b.ord, m.seq, m.id, m.from_role, m.from_name, m.kind, m.text, m.at
        FROM batch b JOIN messages m ON m.conversation_id = b.conversation_id AND m.from_id = b.from_id AND m.client_id = b.client_id
      ), fresh AS (
        SELECT b.*, (l.last_seq + row_number() OVER (PARTITION BY b.conversation_id ORDER BY b.ord))::int AS seq
        FROM batch b JOIN locked l ON l.id = b.conversation_id
        WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.ord = b.ord)
      ), inserted AS (
        INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at)
        SELECT id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at FROM fresh
      ), bumped AS (
        UPDATE conversations c SET last_seq = f.last_seq, first_message = coalesce(c.first_message, f.first_text)
        FROM (
          SELECT conversation_id, max(seq) AS last_seq, (array_agg(text ORDER BY ord) FILTER (WHERE kind = 'text'))[1] AS first_text
          FROM fresh GROUP BY conversation_id
        ) f
        WHERE c.id = f.conversation_id
      )
      SELECT ord, seq, NULL AS id, NULL AS from_role, NULL AS from_name, NULL AS kind, NULL AS text, NULL AS at FROM fresh
      UNION ALL
      SELECT ord, seq, id, from_role, from_name, kind, text, at FROM stored`.execute(db));
  } catch (error) {
    if (isUniqueViolation(error)) return null;
    throw error;
  }
  return outcomesFromStatement(inputs, rows);
}

/** Each input's outcome from the one statement's rows: an input without a row has no conversation. */
export function outcomesFromStatement(inputs: readonly AppendMessageInput[], rows: readonly StatementRow[]): AppendOutcome[] {
  const byOrd = new Map(rows.map((row) => [Number(row.ord), row]));
  return inputs.map((input, ord): AppendOutcome => {
    const row = byOrd.get(ord);
    if (row === undefined) return new Error(`conversation ${input.sessionID} does not exist`);
    const stored = row.id !== null;
    const message = messageFromRow({
      id: row.id ?? input.id,
      conversation_id: input.sessionID,
      seq: Number(row.seq),
      from_id: input.from.id,
      from_role: row.from_role ?? input.from.role,
      from_name: row.from_name ?? input.from.name,
      kind: row.kind ?? input.kind,
      text: row.text ?? input.text,
      client_id: input.clientId ?? null,
      at: row.at ?? input.at,
    });
    return { message, duplicate: stored };
  });
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

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === '23505';
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
