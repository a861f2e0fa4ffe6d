import type { Kysely } from 'kysely';
import type { Message } from '@parley/protocol';
import { callToRow, messageFromRow, type ParleyDatabase } from './schema.ts';
import { StoreConflictError } from './Store.ts';
import type { AppendMessageInput, CallCommit } from './Store.ts';

/**
 * `Store.commitCall` on a kysely connection that can hold a transaction across awaits (PostgreSQL's pool).
 * In one transaction: the call row by compare-and-set on its revision (or inserted, refused when the
 * conversation has a live call), the guest link's redemption (refused when recorded before), then the
 * transcript events with the conversation's next seqs. Locks are taken call row first, conversation row
 * second; a message append takes only the conversation row, so the two cannot deadlock.
 *
 * @param isUniqueViolation the dialect's test for a unique-key violation
 */
export async function commitCallWithKysely(
  db: Kysely<ParleyDatabase>,
  commit: CallCommit,
  isUniqueViolation: (err: unknown) => boolean,
): Promise<Message[]> {
  const row = callToRow(commit.call);
  return db.transaction().execute(async (tx) => {
    if (commit.expectedRevision === null) {
      try {
        await tx.insertInto('calls').values(row).execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw liveCallConflict(commit, err);
      }
    } else {
      const updated = await tx
        .updateTable('calls')
        .set({ state: row.state, revision: row.revision, next_deadline_at: row.next_deadline_at, data: row.data, updated_at: row.updated_at, ended_at: row.ended_at })
        .where('id', '=', row.id)
        .where('revision', '=', commit.expectedRevision)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw revisionConflict(commit);
    }
    const redemption = commit.redemption;
    if (redemption) {
      try {
        await tx
          .insertInto('guest_redemptions')
          .values({ jti: redemption.jti, call_id: redemption.callId, guest_id: redemption.guestId, redeemed_at: redemption.at, expires_at: redemption.expiresAt })
          .execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw new StoreConflictError(`guest link ${redemption.jti} was redeemed already`, { cause: err, conflict: 'redeemed' });
      }
    }
    const messages: Message[] = [];
    for (const event of commit.events) {
      const next = await tx
        .updateTable('conversations')
        .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
        .where('id', '=', event.sessionID)
        .returning('last_seq')
        .executeTakeFirst();
      if (next === undefined) throw new Error(`conversation ${event.sessionID} does not exist`);
      const stored = await tx.insertInto('messages').values(messageRow(event, Number(next.last_seq))).returningAll().executeTakeFirstOrThrow();
      messages.push(messageFromRow(stored));
    }
    return messages;
  });
}

/** The `messages` row of an event appended with `seq`. */
export function messageRow(event: AppendMessageInput, seq: number) {
  return {
    id: event.id,
    conversation_id: event.sessionID,
    seq,
    from_id: event.from.id,
    from_role: event.from.role,
    from_name: event.from.name,
    kind: event.kind,
    text: event.text,
    client_id: event.clientId ?? null,
    at: event.at,
  };
}

export function revisionConflict(commit: CallCommit): StoreConflictError {
  return new StoreConflictError(`call ${commit.call.id} is not at revision ${commit.expectedRevision} any more`, { conflict: 'revision' });
}

export function liveCallConflict(commit: CallCommit, cause: unknown): StoreConflictError {
  return new StoreConflictError(`conversation ${commit.call.sessionID} has a live call already (or call ${commit.call.id} exists)`, {
    cause,
    conflict: 'liveCall',
  });
}
