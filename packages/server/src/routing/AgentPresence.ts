import type { AgentSummary, Party, Presence } from '@parley/protocol';
import { requireAgent } from '../auth/roles.ts';
import type { Bus } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import { TypedEmitter } from '../events/TypedEmitter.ts';
import type { Store } from '../store/Store.ts';
import type { PresenceRegistry } from './PresenceRegistry.ts';

export interface AgentPresenceEvents {
  /** An agent became online (connected, or chose online): routing may offer it a conversation. */
  online: [agent: Party];
}

export interface AgentPresenceOptions {
  registry: PresenceRegistry;
  store: Pick<Store, 'listAgents' | 'setChosenPresence' | 'listChosenPresence'>;
  bus: Bus;
  onListenerError: (err: unknown) => void;
}

/**
 * Agents' presence as everyone sees it: connections and choices go into the {@link PresenceRegistry}, and
 * every change of an agent's presence is announced to all agents (`presence.changed`).
 */
export class AgentPresence extends TypedEmitter<AgentPresenceEvents> {
  readonly #options: AgentPresenceOptions;

  constructor(options: AgentPresenceOptions) {
    super(options.onListenerError);
    this.#options = options;
  }

  /** Who is connected, what each chose, when each was last given a conversation (routing reads it). */
  get registry(): PresenceRegistry {
    return this.#options.registry;
  }

  presenceOf(agentId: string): Presence {
    return this.#options.registry.presenceOf(agentId);
  }

  /** The presence an agent has once connected: what it last chose, online by default. */
  presenceOnConnect(agentId: string): 'online' | 'away' {
    return this.#options.registry.presenceOnConnect(agentId);
  }

  /** Every agent, with its presence (the `agents.list` request). */
  async list(agent: Party): Promise<AgentSummary[]> {
    requireAgent(agent);
    return (await this.#options.store.listAgents()).map((a) => ({ id: a.id, name: a.name, presence: this.presenceOf(a.id) }));
  }

  connected(agent: Party): Presence {
    const change = this.#options.registry.connected(agent.id);
    this.#changed(agent, change);
    return change.after;
  }

  disconnected(agent: Party): void {
    this.#changed(agent, this.#options.registry.disconnected(agent.id));
  }

  /** Reads what every agent chose (a node starting); connections start at none. */
  async load(): Promise<void> {
    for (const [agentId, chosen] of await this.#options.store.listChosenPresence()) this.#options.registry.choose(agentId, chosen);
  }

  /** The agent chooses online or away; the choice is stored, so it lasts across reconnections and restarts. */
  async choose(agent: Party, presence: 'online' | 'away'): Promise<Presence> {
    requireAgent(agent);
    await this.#options.store.setChosenPresence(agent.id, presence, new Date().toISOString());
    const change = this.#options.registry.choose(agent.id, presence);
    this.#changed(agent, change);
    return change.after;
  }

  #changed(agent: Party, change: { before: Presence; after: Presence }): void {
    if (change.before === change.after) return;
    this.#options.bus.publish(topics.agents, { type: 'presence.changed', agent: { id: agent.id, name: agent.name, presence: change.after } });
    if (change.after === 'online') this.emit('online', agent);
  }
}
