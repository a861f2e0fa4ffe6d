import type { Presence } from '@parley/protocol';

/**
 * Agents' presence as this node knows it: what each agent chose (online or away), how many connections it has
 * here, and on how many other nodes it is connected (as the store last said). An agent with no connection
 * anywhere is offline whatever it chose; its choice is remembered for its next connection.
 */
export class PresenceRegistry {
  readonly #chosen = new Map<string, 'online' | 'away'>();
  readonly #connections = new Map<string, number>();
  /** Per agent: other nodes holding its connections. */
  readonly #elsewhere = new Map<string, number>();
  readonly #lastAssignedAt = new Map<string, number>();

  presenceOf(agentId: string): Presence {
    if ((this.#connections.get(agentId) ?? 0) === 0 && (this.#elsewhere.get(agentId) ?? 0) === 0) return 'offline';
    return this.#chosen.get(agentId) ?? 'online';
  }

  /** Connections of the agent on this node. */
  localConnections(agentId: string): number {
    return this.#connections.get(agentId) ?? 0;
  }

  /** What the store says of the other nodes: per agent, how many hold its connections; agents absent have none. */
  setElsewhere(nodesPerAgent: ReadonlyMap<string, number>): void {
    this.#elsewhere.clear();
    for (const [agentId, nodes] of nodesPerAgent) if (nodes > 0) this.#elsewhere.set(agentId, nodes);
  }

  /** The agent has no connection on another node (its last one there closed, or that node died). */
  goneElsewhere(agentId: string): void {
    this.#elsewhere.delete(agentId);
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

  /** Ids of agents with at least one connection, here or elsewhere. */
  connectedAgents(): string[] {
    return [...new Set([...this.#connections.keys(), ...this.#elsewhere.keys()])];
  }
}
