import type Database from 'better-sqlite3';

/**
 * Takes `count` seqs of a conversation: returns the last of them (the seqs are `last - count + 1 … last`), or
 * null when the conversation does not exist. Records `firstText` as the conversation's first message when it has
 * none yet.
 */
export type SeqTaker = (sessionID: string, count: number, firstText: string | null) => number | null;

/**
 * How SQLite numbers messages: a conversation's next seq follows the highest seq of its messages, read from their
 * `(conversation_id, seq)` index inside the write transaction (BEGIN IMMEDIATE: one writer at a time, in this
 * process and in any other on the same file), so the seqs stay gapless and unique without a counter. No page of
 * the `conversations` table changes for it (only a conversation's first text message writes its row, once): a
 * counter on the row cost each batch a page of that table per conversation, about 0.7 of the 3.7 pages a message
 * wrote to the WAL. `conversations.last_seq` is therefore left as it was on SQLite; readers take a conversation's
 * last seq from its messages on every dialect (SqlStore). PostgreSQL keeps the counter: its appends lock the row.
 *
 * Call the taker only inside a write transaction, and insert the seqs it gave before it is called again for the
 * same conversation.
 */
export function sqliteSeqTaker(sqlite: Database.Database): SeqTaker {
  const read = sqlite.prepare<{ id: string }, { last_seq: number; untitled: 0 | 1 }>(
    'SELECT coalesce((SELECT max(seq) FROM messages WHERE conversation_id = @id), 0) AS last_seq, first_message IS NULL AS untitled ' +
      'FROM conversations WHERE id = @id',
  );
  const title = sqlite.prepare<[string, string]>('UPDATE conversations SET first_message = ? WHERE id = ? AND first_message IS NULL');
  return (sessionID, count, firstText) => {
    const row = read.get({ id: sessionID });
    if (row === undefined) return null;
    if (row.untitled === 1 && firstText !== null) title.run(firstText, sessionID);
    return row.last_seq + count;
  };
}
