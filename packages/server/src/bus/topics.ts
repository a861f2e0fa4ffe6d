import type { ServerFrame } from '@parley/protocol';

/*
 * The bus topics, each typed by the frames it carries. Every publisher and subscriber names a topic through
 * these helpers, never by building its string, so a new adapter (Redis) and a reader see the whole set here.
 *
 *   conversation(sessionID)  every member of a conversation: its messages, typing, updates, close, call changes
 *   party(id)                every connection of one visitor, agent or guest: assignments and signaling
 *   agents                   every connected agent: queue and presence news
 */

declare const carries: unique symbol;

/** A bus topic that carries frames of type `F`. Made by the helpers below only. */
export type Topic<F extends ServerFrame = ServerFrame> = string & { readonly [carries]: F };

/** Frames a conversation's members hear. */
export type ConversationFrame = Extract<
  ServerFrame,
  { type: 'message' | 'typing' | 'conversation.updated' | 'conversation.closed' | 'call.updated' }
>;
/** Frames addressed to one party's connections. */
export type PartyFrame = Extract<ServerFrame, { type: 'conversation.updated' | 'conversation.assigned' | 'signal' }>;
/** Frames every connected agent hears. */
export type AgentsFrame = Extract<ServerFrame, { type: 'queue.updated' | 'presence.changed' }>;

const topic = <F extends ServerFrame>(name: string) => name as Topic<F>;

export const topics = {
  /** Every member of one conversation. */
  conversation: (sessionID: string): Topic<ConversationFrame> => topic(`conv:${sessionID}`),
  /** Every connection of one party. */
  party: (partyId: string): Topic<PartyFrame> => topic(`party:${partyId}`),
  /** Every connected agent. */
  agents: topic<AgentsFrame>('agents'),
} as const;

/** The conversation a topic is of, or null for another topic. */
export function conversationOf(topic: string): string | null {
  return topic.startsWith('conv:') ? topic.slice('conv:'.length) : null;
}
