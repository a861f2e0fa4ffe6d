import type Database from 'better-sqlite3';
import type { Message } from '@parley/protocol';
import { messageFromRow, type MessageRow } from './schema.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/** Most appends committed by one transaction. */
const MAX_BATCH = 512;

interface PendingAppend {
  input: AppendMessageInput;
  resolve: (result: AppendMessageResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; result: AppendMessageResult } | { ok: false; error: unknown };

/**
 * The SQLite hot path of `Store.appendMessage`, on prepared better-sqlite3 statements.
 *
 * Group commit: appends requested during one turn of the event loop are written by a single
 * transaction at the end of that turn (setImmediate), each inside its own savepoint, so one
 * failing append does not affect the others. A commit costs far more than an append, so a busy
 * server writes many messages per commit. A promise settles only after its transaction committed:
 * nothing is acknowledged before it is durable. Appends are applied in call order, so seqs follow
 * call order within a conversation. better-sqlite3 runs the whole transaction synchronously, so no
 * other caller in this process can interleave with it.
 */
export class SqliteMessageAppender {
  readonly #pending: PendingAppend[] = [];
  #scheduled: ReturnType<typeof setImmediate> | null = null;
  readonly #appendOne: Database.Transaction<(input: AppendMessageInput) => AppendMessageResult>;
  readonly #appendBatch: Database.Transaction<(batch: PendingAppend[]) => Outcome[]>;

  constructor(sqlite: Database.Database) {
    const findByClientId = sqlite.prepare<[string, string, string], MessageRow>(
      'SELECT * FROM messages WHERE conversation_id = ? AND from_id = ? AND client_id = ?',
    );
    // The first text message is also kept on the conversation for the queue view.
    const takeNextSeq = sqlite.prepare<[string | null, string], { last_seq: number }>(
      'UPDATE conversations SET last_seq = last_seq + 1, first_message = coalesce(first_message, ?) ' +
        'WHERE id = ? RETURNING last_seq',
    );
    type InsertParams = [string, string, number, string, string, string, string, string, string | null, string];
    const insert = sqlite.prepare<InsertParams>(
      'INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );

    this.#appendOne = sqlite.transaction((input: AppendMessageInput): AppendMessageResult => {
      const clientId = input.clientId ?? null;
      if (clientId !== null) {
        const stored = findByClientId.get(input.sessionID, input.from.id, clientId);
        if (stored !== undefined) return { message: messageFromRow(stored), duplicate: true };
      }
      const next = takeNextSeq.get(input.kind === 'text' ? input.text : null, input.sessionID);
      if (next === undefined) throw new Error(`conversation ${input.sessionID} does not exist`);
      const { from } = input;
      const seq = next.last_seq;
      const { id, sessionID, kind, text, at } = input;
      insert.run(id, sessionID, seq, from.id, from.role, from.name, kind, text, clientId, at);
      const message: Message = {
        id: input.id,
        seq,
        sessionID: input.sessionID,
        from: { id: from.id, role: from.role, name: from.name },
        kind: input.kind,
        text: input.text,
        at: input.at,
      };
      if (clientId !== null) message.clientId = clientId;
      return { message, duplicate: false };
    });

    // Called inside a transaction, #appendOne runs in a savepoint: a failure undoes only its own writes.
    this.#appendBatch = sqlite.transaction((batch: PendingAppend[]): Outcome[] =>
      batch.map((pending): Outcome => {
        try {
          return { ok: true, result: this.#appendOne(pending.input) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
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
    const [only] = batch;
    if (only !== undefined && batch.length === 1) {
      // A lone append needs no savepoint.
      let result: AppendMessageResult;
      try {
        result = this.#appendOne.immediate(only.input);
      } catch (error) {
        only.reject(error);
        return;
      }
      only.resolve(result);
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = this.#appendBatch.immediate(batch);
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
}
