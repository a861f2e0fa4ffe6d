import type { Kysely } from 'kysely';
import { appendCarefully, appendInOneStatement, clientKey } from './PostgresAppendStatements.ts';
import type { ParleyDatabase } from './schema.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';

/** Most appends written by one statement. */
const MAX_BATCH = 512;
/**
 * Most batches being written at once. One at a time makes the biggest batches: each is everything that
 * came while the one before was written, and each costs PostgreSQL a parse, a plan and a commit. A second
 * starts only when that many appends wait (see EXTRA_FLIGHT_BACKLOG): then the first is slow (a big batch,
 * or a lock held by another node), and the second uses the time. Well under the pool's size, so that
 * other queries find a connection.
 */
const MAX_FLIGHTS = 2;
/** Appends waiting that start another batch while one is being written. */
const EXTRA_FLIGHT_BACKLOG = 16;

interface PendingAppend {
  input: AppendMessageInput;
  resolve: (result: AppendMessageResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The PostgreSQL hot path of `Store.appendMessage`.
 *
 * Group commit, as on SQLite: the appends requested during one turn of the event loop are written
 * together, in one statement and one round trip (appendInOneStatement), so a busy server pays one commit
 * (one WAL flush) for many messages, instead of six round trips and a flush for each. Every append of
 * the batch settles only after that commit: nothing is acknowledged before it is stored. When the
 * statement cannot settle the batch (another node stored one of its clientIds while it waited for a
 * lock, or a message id is taken) it stores nothing, and a careful transaction writes the batch instead
 * (appendCarefully). A clientId repeated within the batch is written once; its later appends are
 * answered as duplicates of the first. A conversation that does not exist fails its appends only; if
 * the database fails the batch as a whole (it went away), every append of the batch rejects.
 *
 * Seqs follow call order within a conversation: a conversation is in at most one batch being written at
 * a time, and the appends to it wait, in order, for the next batch. Batches of other conversations may
 * be written at the same time.
 */
export class PostgresMessageAppender {
  readonly #db: Kysely<ParleyDatabase>;
  readonly #pending: PendingAppend[] = [];
  /** Conversations in a batch being written now. */
  readonly #busy = new Set<string>();
  readonly #flights = new Set<Promise<void>>();
  #scheduled: ReturnType<typeof setImmediate> | null = null;

  constructor(db: Kysely<ParleyDatabase>) {
    this.#db = db;
  }

  /** Queues an append for this turn's batch; settles once that batch committed. */
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

  /** Starts writing batches of the pending appends, as many as may fly. */
  #start(): void {
    while (this.#flights.size < MAX_FLIGHTS && (this.#flights.size === 0 || this.#pending.length >= EXTRA_FLIGHT_BACKLOG)) {
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
    const { unique, repeatOf } = splitRepeats(batch.map((pending) => pending.input));
    let results: (AppendMessageResult | Error)[];
    try {
      results = (await appendInOneStatement(this.#db, unique)) ?? (await appendCarefully(this.#db, unique));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const first = repeatOf[i] ?? -1;
      const result = results[first];
      if (result === undefined) pending.reject(new Error('append outcome missing'));
      else if (result instanceof Error) pending.reject(result);
      // A clientId repeated within the batch: the later appends are duplicates of the first.
      else pending.resolve(unique[first] === pending.input ? result : { message: result.message, duplicate: true });
    });
  }
}

/**
 * The batch without repeats of a clientId (the first append of each stays): `repeatOf[i]` is the index in
 * `unique` of input i, or of the first append with its clientId.
 */
export function splitRepeats(inputs: readonly AppendMessageInput[]): { unique: AppendMessageInput[]; repeatOf: number[] } {
  const unique: AppendMessageInput[] = [];
  const firstByKey = new Map<string, number>();
  const repeatOf = inputs.map((input) => {
    const key = input.clientId === undefined ? null : clientKey(input.sessionID, input.from.id, input.clientId);
    const first = key === null ? undefined : firstByKey.get(key);
    if (first !== undefined) return first;
    unique.push(input);
    if (key !== null) firstByKey.set(key, unique.length - 1);
    return unique.length - 1;
  });
  return { unique, repeatOf };
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
  // Not splice(…, ...waiting): a long queue would overflow the call's arguments.
  pending.length = 0;
  for (const item of waiting) pending.push(item);
  return batch;
}
