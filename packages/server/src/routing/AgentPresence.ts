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
  store: Pick<Store, 'listAgents' | 'setChosenPresence' | 'listChosenPresence' | 'listConnectedAgents'>;
  bus: Bus;
  /** This node's id: the store's view of other nodes leaves it out. */
  nodeId: string;
  onListenerError: (err: unknown) => void;
}

/**
 * Agents' presence as everyone sees it, across the nodes: connections and choices go into the
 * {@link PresenceRegistry}, every change of an agent's presence is told to all agents (`presence.changed`), and
 * the other nodes hear that they should read the store again. Connections elsewhere are read from the store
 * (which the nodes keep: see NodeRegistry) on every heartbeat and whenever another node announces a change.
 *
 * An agent's first connection on a node tells everyone its presence; its last connection closing here tells
 * nothing until the store says it has no connection on any node either ({@link goneEverywhere}).
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
    await this.refresh(); // who is connected on other nodes, as of now
    return (await this.#options.store.listAgents()).map((a) => ({ id: a.id, name: a.name, presence: this.presenceOf(a.id) }));
  }

  connected(agent: Party): Presence {
    const { registry, bus } = this.#options;
    const change = registry.connected(agent.id);
    if (registry.localConnections(agent.id) === 1) {
      // Whatever this node believed of the others: everyone hears this agent is here now.
      this.#tell(agent, change.after);
      bus.announce({ kind: 'presence', agentId: agent.id });
      if (change.after === 'online') this.emit('online', agent);
    }
    return change.after;
  }

  /** A connection closed here; whether the agent went offline is for the store to say (see {@link goneEverywhere}). */
  disconnected(agent: Party): void {
    this.#options.registry.disconnected(agent.id);
  }

  /** The agent has no connection on any node any more: everyone hears it is offline. */
  goneEverywhere(agent: Party): void {
    const { registry, bus } = this.#options;
    registry.goneElsewhere(agent.id);
    if (registry.presenceOf(agent.id) !== 'offline') return; // connected here again meanwhile
    this.#tell(agent, 'offline');
    bus.announce({ kind: 'presence', agentId: agent.id });
  }

  /** Reads what every agent chose (a node starting) and who is connected on other nodes. */
  async load(): Promise<void> {
    for (const [agentId, chosen] of await this.#options.store.listChosenPresence()) this.#options.registry.choose(agentId, chosen);
    await this.refresh();
  }

  /** Reads from the store where agents are connected and what they chose (a heartbeat, another node's news). */
  async refresh(): Promise<void> {
    const { store, registry, nodeId } = this.#options;
    const [connected, chosen] = await Promise.all([store.listConnectedAgents(), store.listChosenPresence()]);
    registry.setElsewhere(new Map([...connected].map(([agentId, nodes]) => [agentId, nodes.filter((n) => n !== nodeId).length])));
    for (const [agentId, choice] of chosen) registry.choose(agentId, choice);
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
    this.#tell(agent, change.after);
    this.#options.bus.announce({ kind: 'presence', agentId: agent.id });
    if (change.after === 'online') this.emit('online', agent);
  }

  #tell(agent: Party, presence: Presence): void {
    this.#options.bus.publish(topics.agents, { type: 'presence.changed', agent: { id: agent.id, name: agent.name, presence } });
  }
}
