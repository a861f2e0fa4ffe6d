import type { Presence } from '@parley/protocol';

/**
 * Agents' presence on this node: what each agent chose (online or away) and how many connections it has.
 * An agent with no connection is offline whatever it chose; its choice is remembered for its next connection.
 */
export class PresenceRegistry {
  readonly #chosen = new Map<string, 'online' | 'away'>();
  readonly #connections = new Map<string, number>();
  readonly #lastAssignedAt = new Map<string, number>();

  presenceOf(agentId: string): Presence {
    if ((this.#connections.get(agentId) ?? 0) === 0) return 'offline';
    return this.#chosen.get(agentId) ?? 'online';
  }

  /** The presence an agent has once connected: what it last chose, online by default. */
  presenceOnConnect(agentId: string): 'online' | 'away' {
    return this.#chosen.get(agentId) ?? 'online';
  }

  /** Counts a new connection; returns the presence before and after. */
  connected(agentId: string): { before: Presence; after: Presence } {
    const before = this.presenceOf(agentId);
    this.#connections.set(agentId, (this.#connections.get(agentId) ?? 0) + 1);
    return { before, after: this.presenceOf(agentId) };
  }

  disconnected(agentId: string): { before: Presence; after: Presence } {
    const before = this.presenceOf(agentId);
    const left = (this.#connections.get(agentId) ?? 1) - 1;
    if (left <= 0) this.#connections.delete(agentId);
    else this.#connections.set(agentId, left);
    return { before, after: this.presenceOf(agentId) };
  }

  choose(agentId: string, presence: 'online' | 'away'): { before: Presence; after: Presence } {
    const before = this.presenceOf(agentId);
    this.#chosen.set(agentId, presence);
    return { before, after: this.presenceOf(agentId) };
  }

  markAssigned(agentId: string, at = Date.now()): void {
    this.#lastAssignedAt.set(agentId, at);
  }

  lastAssignedAt(agentId: string): number {
    return this.#lastAssignedAt.get(agentId) ?? 0;
  }

  /** Ids of agents with at least one connection. */
  connectedAgents(): string[] {
    return [...this.#connections.keys()];
  }
}
