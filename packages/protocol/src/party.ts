/*
 * Who takes part in a conversation. A leaf of the protocol: no zod, no imports, so the browser SDK
 * can use it as `@parley/protocol/party` without pulling the frame schemas in.
 */

/** Every role an identity can hold in a conversation, in the order the schemas list them. */
export const ROLES = ['visitor', 'agent', 'guest', 'system'] as const;

/** Who an identity is in a conversation. */
export type Role = (typeof ROLES)[number];

/** A party in a conversation: the visitor, an agent, a guest, or the system (for events). */
export interface Party {
  id: string;
  role: Role;
  name: string;
}

/** The author of system events (joined, closed, call lifecycle) and who closed a conversation nobody is known to have closed. */
export const SYSTEM_PARTY: Party = { id: 'system', role: 'system', name: 'Parley' };
