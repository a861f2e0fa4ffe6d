import type { Logger } from 'pino';
import type { Store } from '../store/Store.ts';
import { pickAgent } from './pickAgent.ts';
import type { PresenceRegistry } from './PresenceRegistry.ts';

export interface RouterOptions {
  store: Pick<Store, 'listQueuedConversations' | 'countActiveByAgent'>;
  presence: Pick<PresenceRegistry, 'connectedAgents' | 'presenceOf' | 'lastAssignedAt'>;
  /** Most active conversations an agent is routed (AGENT_MAX_CHATS). */
  maxChats: number;
  /** Assigns a waiting conversation to an agent; false when it was no longer waiting. */
  assign: (sessionID: string, agentId: string) => Promise<boolean>;
  /** Runs a pass holding the deployment's routing lock: one pass at a time on all nodes. */
  lock: (pass: () => Promise<void>) => Promise<void>;
  /** Reads again who is connected on other nodes, before a pass picks. */
  refresh: () => Promise<void>;
  log: Logger;
}

/**
 * Offers waiting conversations to free agents (see {@link pickAgent} for who gets one), one routing pass at
 * a time in the whole deployment: a pass holds the routing lock, and reads the agents' loads and presence
 * inside it, so two nodes never pick from the same stale counts (and the assignment itself is a
 * compare-and-set: a conversation is never assigned twice). Triggers that arrive while a pass is queued share
 * it, so a burst of new chats costs one pass.
 */
export class Router {
  readonly #options: RouterOptions;
  #pass: Promise<void> = Promise.resolve();
  /** A pass is queued and has not started: further triggers ride along with it. */
  #pending = false;

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  /** Queues a routing pass (a conversation is waiting, or an agent became free or came online). */
  route(): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#pass = this.#pass
      .then(async () => {
        this.#pending = false;
        await this.#options.lock(async () => {
          await this.#options.refresh();
          await this.#routeWaiting();
        });
      })
      .catch((err: unknown) => {
        this.#pending = false;
        this.#options.log.error({ err }, 'routing failed');
      });
  }

  /** Resolves once the queued passes have run (for graceful shutdown). */
  idle(): Promise<void> {
    return this.#pass;
  }

  async #routeWaiting(): Promise<void> {
    const { store, presence, maxChats, assign } = this.#options;
    if (!presence.connectedAgents().some((id) => presence.presenceOf(id) === 'online')) return;
    const queued = await store.listQueuedConversations();
    if (queued.length === 0) return;
    const active = await store.countActiveByAgent();
    for (const record of queued) {
      const candidates = presence.connectedAgents().map((id) => ({
        id,
        presence: presence.presenceOf(id),
        active: active.get(id) ?? 0,
        lastAssignedAt: presence.lastAssignedAt(id),
      }));
      const agent = pickAgent(candidates, maxChats);
      if (agent === null) return;
      if (await assign(record.id, agent.id)) active.set(agent.id, agent.active + 1);
    }
  }
}
