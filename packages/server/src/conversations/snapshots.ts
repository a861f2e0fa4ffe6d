import type { ConversationSnapshot, Party } from '@parley/protocol';
import type { ConversationRecord } from '../store/Store.ts';

/**
 * A conversation as clients see it, without its call. `members`: agents added besides the conversation's own
 * agent (the wire calls them `participants`).
 */
export function toSnapshot(record: ConversationRecord, members: Party[] = []): Omit<ConversationSnapshot, 'call'> {
  return {
    sessionID: record.id,
    status: record.status,
    visitor: record.visitor,
    agent: record.agent,
    participants: members,
    lastSeq: record.lastSeq,
    createdAt: record.createdAt,
    closedAt: record.closedAt,
    visitorInfo: record.visitorInfo,
  };
}
