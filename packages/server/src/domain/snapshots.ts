import type { ConversationSnapshot, Party, QueuedConversation } from '@parley/protocol';
import type { ConversationRecord } from '../store/Store.ts';

/** The system party, author of event messages. */
export const SYSTEM_PARTY: Party = { id: 'system', role: 'system', name: 'Parley' };

export function toSnapshot(record: ConversationRecord, participants: Party[] = []): ConversationSnapshot {
  return {
    sessionID: record.id,
    status: record.status,
    visitor: record.visitor,
    agent: record.agent,
    participants,
    lastSeq: record.lastSeq,
    createdAt: record.createdAt,
    closedAt: record.closedAt,
    visitorInfo: record.visitorInfo,
  };
}

export function toQueued(record: ConversationRecord): QueuedConversation {
  return {
    sessionID: record.id,
    visitor: record.visitor,
    waitingSince: record.createdAt,
    firstMessage: record.firstMessage,
    visitorInfo: record.visitorInfo,
  };
}
