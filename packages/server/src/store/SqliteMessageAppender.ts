import type Database from 'better-sqlite3';
import type { Message } from '@parley/protocol';
import { clientKey } from './PostgresAppendStatements.ts';
import { messageFromRow, type MessageRow } from './schema.ts';
import { sqliteSeqTaker } from './sqliteSeqs.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/** Most appends committed by one transaction. */
const MAX_BATCH = 512;

interface PendingAppend {
  input: AppendMessageInput;
  resolve: (result: AppendMessageResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; result: AppendMessageResult } | { ok: false; error: unknown };

/** Which path wrote a batch; counted for the tests and the benchmark's breakdown. */
export interface AppenderCounts {
  /** Batches written by the one-pass path. */
  fastBatches: number;
  /** Batches written message by message, each in its own savepoint (a retried clientId, a taken id, a repeat). */
  carefulBatches: number;
}

/** Thrown inside the one-pass transaction to roll it back: the batch needs the careful path. */
class NeedsCarefulPath extends Error {}

/**
 * The SQLite hot path of `Store.appendMessage`, on prepared better-sqlite3 statements.
 *
 * Group commit: appends requested during one turn of the event loop are written by a single transaction at
 * the end of that turn (setImmediate). A commit costs far more than an append, so a busy server writes many
 * messages per commit. A promise settles only after its transaction committed: nothing is acknowledged before
 * it is durable. Appends are applied in call order, so seqs follow call order within a conversation.
 * better-sqlite3 runs the whole transaction synchronously, so no other caller in this process can interleave
 * with it, and BEGIN IMMEDIATE keeps other processes on the same file out until it commits.
 *
 * A batch is first written in one pass: one read of each conversation's highest seq takes its seqs
 * (sqliteSeqs.ts: no counter on the conversation's row to write), then each message is inserted with
 * `ON CONFLICT DO NOTHING` (the unique index on (conversation, sender, clientId) and the primary key). No read
 * looks for the clientId first: a retried one (rare: a send whose answer was lost) makes its insert do nothing,
 * and the whole transaction is rolled back, so no seq it took is left as a gap. Such a batch, or one that repeats a clientId, is then written the
 * careful way: message by message, each in its own savepoint after a look-up of its clientId, so one failing
 * append does not affect the others and a retry is answered with the message stored before.
 */
export class SqliteMessageAppender {
  readonly #pending: PendingAppend[] = [];
  #scheduled: ReturnType<typeof setImmediate> | null = null;
  readonly #writeInOnePass: Database.Transaction<(batch: readonly PendingAppend[]) => Outcome[]>;
  readonly #writeCarefully: Database.Transaction<(batch: readonly PendingAppend[]) => Outcome[]>;
  readonly counts: AppenderCounts = { fastBatches: 0, carefulBatches: 0 };

  constructor(sqlite: Database.Database) {
    const findByClientId = sqlite.prepare<[string, string, string], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND from_id = ? AND client_id = ?',
    );
    // The first text message is also kept on the conversation for the queue view.
    const takeSeqs = sqliteSeqTaker(sqlite);
    type InsertParams = [string, string, number, string, string, string, string, string, string | null, string];
    const columns = '(id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
    const insert = sqlite.prepare<InsertParams>(`INSERT INTO messages ${columns}`);
    const insertUnlessTaken = sqlite.prepare<InsertParams>(`INSERT INTO messages ${columns} ON CONFLICT DO NOTHING`);

    const store = (input: AppendMessageInput, seq: number, statement: Database.Statement<InsertParams>): Database.RunResult => {
      const { id, sessionID, from, kind, text, at } = input;
      return statement.run(id, sessionID, seq, from.id, from.role, from.name, kind, text, input.clientId ?? null, at);
    };

    /** One append with its clientId looked up first; inside a transaction it runs in a savepoint. */
    const appendOne = sqlite.transaction((input: AppendMessageInput): AppendMessageResult => {
      const clientId = input.clientId ?? null;
      if (clientId !== null) {
        const stored = findByClientId.get(input.sessionID, input.from.id, clientId);
        if (stored !== undefined) return { message: messageFromRow(stored), duplicate: true };
      }
      const seq = takeSeqs(input.sessionID, 1, input.kind === 'text' ? input.text : null);
      if (seq === null) throw missingConversation(input.sessionID);
      store(input, seq, insert);
      return { message: messageOf(input, seq), duplicate: false };
    });

    this.#writeCarefully = sqlite.transaction((batch: readonly PendingAppend[]): Outcome[] =>
      batch.map((pending): Outcome => {
        try {
          return { ok: true, result: appendOne(pending.input) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );

    this.#writeInOnePass = sqlite.transaction((batch: readonly PendingAppend[]): Outcome[] => {
      const plan = planBatch(batch);
      if (plan === null) throw new NeedsCarefulPath();
      // The seq before this batch's first message, per conversation that exists.
      const before = new Map<string, number>();
      for (const [sessionID, { count, firstText }] of plan) {
        const last = takeSeqs(sessionID, count, firstText);
        if (last !== null) before.set(sessionID, last - count);
      }
      return batch.map(({ input }): Outcome => {
        const last = before.get(input.sessionID);
        if (last === undefined) return { ok: false, error: missingConversation(input.sessionID) };
        const seq = last + 1;
        before.set(input.sessionID, seq);
        if (store(input, seq, insertUnlessTaken).changes !== 1) throw new NeedsCarefulPath();
        return { ok: true, result: { message: messageOf(input, seq), duplicate: false } };
      });
    });
  }

  /** Queues an append for this turn's transaction; settles once that transaction committed. */
  append(input: AppendMessageInput): Promise<AppendMessageResult> {
    return new Promise<AppendMessageResult>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      this.#scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Writes every queued append now (also before the database closes). */
  flush(): void {
    if (this.#scheduled !== null) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    while (this.#pending.length > 0) this.#commit(this.#pending.splice(0, MAX_BATCH));
  }

  #commit(batch: PendingAppend[]): void {
    let outcomes: Outcome[];
    try {
      outcomes = this.#write(batch);
    } catch (error) {
      // The commit itself failed: nothing of this batch is stored.
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) pending.reject(new Error('append outcome missing'));
      else if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
  }

  #write(batch: PendingAppend[]): Outcome[] {
    try {
      const outcomes = this.#writeInOnePass.immediate(batch);
      this.counts.fastBatches++;
      return outcomes;
    } catch {
      // A retried clientId or a taken id (NeedsCarefulPath), or any other failure: nothing of the pass is
      // stored. The careful path sets the failing appends apart, or fails as a whole if the commit does.
    }
    this.counts.carefulBatches++;
    return this.#writeCarefully.immediate(batch);
  }
}

/**
 * Per conversation, in order of first appearance: how many messages the batch adds and its first text message
 * (or null). Null when a clientId repeats within the batch: only the careful path answers the repeat as a
 * duplicate of the first.
 */
export function planBatch(batch: readonly { input: AppendMessageInput }[]): Map<string, { count: number; firstText: string | null }> | null {
  const plan = new Map<string, { count: number; firstText: string | null }>();
  const keys = new Set<string>();
  for (const { input } of batch) {
    if (input.clientId !== undefined) {
      const key = clientKey(input.sessionID, input.from.id, input.clientId);
      if (keys.has(key)) return null;
      keys.add(key);
    }
    const text = input.kind === 'text' ? input.text : null;
    const entry = plan.get(input.sessionID);
    if (entry === undefined) plan.set(input.sessionID, { count: 1, firstText: text });
    else {
      entry.count++;
      entry.firstText ??= text;
    }
  }
  return plan;
}

function messageOf(input: AppendMessageInput, seq: number): Message {
  const { from } = input;
  const message: Message = {
    id: input.id,
    seq,
    sessionID: input.sessionID,
    from: { id: from.id, role: from.role, name: from.name },
    kind: input.kind,
    text: input.text,
    at: input.at,
  };
  if (input.clientId !== undefined) message.clientId = input.clientId;
  return message;
}

function missingConversation(sessionID: string): Error {
  return new Error(`conversation ${sessionID} does not exist`);
}
