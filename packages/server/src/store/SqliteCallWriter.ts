import type Database from 'better-sqlite3';
import type { Message } from '@parley/protocol';
import { liveCallConflict, messageRow, revisionConflict } from './callCommit.ts';
import { callToRow, messageFromRow, type CallRow, type MessageRow } from './schema.ts';
import { sqliteSeqTaker } from './sqliteSeqs.ts';
import { StoreConflictError } from './Store.ts';
import type { CallCommit } from './Store.ts';

/**
 * `Store.commitCall` on SQLite: one synchronous better-sqlite3 transaction, so nothing else in this process
 * (the message appender's group commit included) can interleave with it. Same steps as on PostgreSQL
 * (callCommit.ts): the call row by compare-and-set, the guest link's redemption, the transcript events.
 */
export class SqliteCallWriter {
  readonly #commit: Database.Transaction<(commit: CallCommit) => Message[]>;

  constructor(sqlite: Database.Database, isUniqueViolation: (err: unknown) => boolean) {
    const insertCall = sqlite.prepare<[CallRow]>(
      'INSERT INTO calls (id, conversation_id, state, revision, next_deadline_at, data, created_at, updated_at, ended_at) ' +
        'VALUES (@id, @conversation_id, @state, @revision, @next_deadline_at, @data, @created_at, @updated_at, @ended_at)',
    );
    const updateCall = sqlite.prepare<[CallRow & { expected: number }]>(
      'UPDATE calls SET state = @state, revision = @revision, next_deadline_at = @next_deadline_at, data = @data, ' +
        'updated_at = @updated_at, ended_at = @ended_at WHERE id = @id AND revision = @expected',
    );
    const insertRedemption = sqlite.prepare<[string, string, string, string, string]>(
      'INSERT INTO guest_redemptions (jti, call_id, guest_id, redeemed_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    const takeSeqs = sqliteSeqTaker(sqlite);
    const insertMessage = sqlite.prepare<[ReturnType<typeof messageRow>], MessageRow>(
      'INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at) ' +
        'VALUES (@id, @conversation_id, @seq, @from_id, @from_role, @from_name, @kind, @text, @client_id, @at) RETURNING *',
    );

    this.#commit = sqlite.transaction((commit: CallCommit): Message[] => {
      const row = callToRow(commit.call);
      if (commit.expectedRevision === null) {
        try {
          insertCall.run(row);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          throw liveCallConflict(commit, err);
        }
      } else if (updateCall.run({ ...row, expected: commit.expectedRevision }).changes !== 1) {
        throw revisionConflict(commit);
      }
      const redemption = commit.redemption;
      if (redemption) {
        try {
          insertRedemption.run(redemption.jti, redemption.callId, redemption.guestId, redemption.at, redemption.expiresAt);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          throw new StoreConflictError(`guest link ${redemption.jti} was redeemed already`, { cause: err, conflict: 'redeemed' });
        }
      }
      return commit.events.map((event) => {
        const seq = takeSeqs(event.sessionID, 1, null);
        if (seq === null) throw new Error(`conversation ${event.sessionID} does not exist`);
        const stored = insertMessage.get(messageRow(event, seq));
        if (stored === undefined) throw new Error('the event was not stored');
        return messageFromRow(stored);
      });
    });
  }

  commit(commit: CallCommit): Message[] {
    return this.#commit.immediate(commit);
  }
}
