import type { Presence } from '@parley/protocol';

/** What routing knows about an agent when it picks one. */
export interface RoutingCandidate {
  id: string;
  presence: Presence;
  /** Active conversations assigned now. */
  active: number;
  /** When the agent was last given a conversation (ms since epoch); 0 if never. */
  lastAssignedAt: number;
}

/**
 * Picks the agent a waiting conversation is offered to: online, below `maxChats`, with the fewest active
 * conversations; ties go to the agent who has waited longest since their last assignment, then by id so the
 * choice is deterministic. Returns null when nobody is available (the conversation stays queued).
 */
export function pickAgent(candidates: Iterable<RoutingCandidate>, maxChats: number): RoutingCandidate | null {
  let best: RoutingCandidate | null = null;
  for (const c of candidates) {
    if (c.presence !== 'online' || c.active >= maxChats) continue;
    if (
      best === null ||
      c.active < best.active ||
      (c.active === best.active && (c.lastAssignedAt < best.lastAssignedAt || (c.lastAssignedAt === best.lastAssignedAt && c.id < best.id)))
    ) {
      best = c;
    }
  }
  return best;
}
