import type { Party } from '@parley/protocol';
import type { ConversationRecord, Store } from './Store.ts';

/* Fixtures shared by the Store contract suites. */

/** Fixed, ordered timestamps for readable assertions. */
export function at(minute: number): string {
  return new Date(Date.UTC(2025, 0, 1, 9, minute)).toISOString();
}

/** Creates the visitor `v1` (Vera), agents `a1` (Ann) and `a2` (Bob), for the tests to use. */
export async function seedParties(store: Store): Promise<{ vera: Party; ann: Party; bob: Party }> {
  await store.createVisitor({ id: 'v1', name: 'Vera', email: null, createdAt: at(0) });
  await store.createAgent({ id: 'a1', email: 'ann@example.com', name: 'Ann', passwordHash: 'h1', createdAt: at(0) });
  await store.createAgent({ id: 'a2', email: 'bob@example.com', name: 'Bob', passwordHash: 'h2', createdAt: at(1) });
  return {
    vera: { id: 'v1', role: 'visitor', name: 'Vera' },
    ann: { id: 'a1', role: 'agent', name: 'Ann' },
    bob: { id: 'a2', role: 'agent', name: 'Bob' },
  };
}

/** Creates a queued conversation of `visitorId` created at minute `minute`. */
export function createConversation(
  store: Store,
  id: string,
  minute: number,
  visitorId = 'v1',
): Promise<ConversationRecord> {
  return store.createConversation({ id, visitorId, visitorInfo: {}, firstMessage: null, createdAt: at(minute) });
}
