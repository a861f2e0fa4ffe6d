import type { Party } from '@parley/protocol';
import type { Logger } from 'pino';
import { KeyedSerial } from '../events/KeyedSerial.ts';
import type { Store } from '../store/Store.ts';

export interface NodeRegistryOptions {
  store: Pick<Store, 'beatNode' | 'reapDeadNodes' | 'setNodeParty' | 'replaceNodeParties' | 'partyNodes'>;
  nodeId: string;
  /** Where this node is reached (its own URL), for operators reading the nodes table. */
  url: () => string;
  heartbeatMs: number;
  deadAfterMs: number;
  log: Logger;
  /** A party has no connection left on any node: its last one closed here, or its node died. */
  partyGone: (party: Party) => Promise<void>;
  /** Runs after every heartbeat (presence refresh and the like); its failures are logged. */
  tick?: () => Promise<void>;
}

/**
 * This node's row among the deployment's nodes, and the parties it holds connections of. Every node writes a
 * heartbeat every `heartbeatMs`; a node without one for `deadAfterMs` is dead, and whichever survivor reaps it
 * first turns its connections into "gone" for the parties that have no connection on another node (their calls
 * then wait the grace period for them). A node that was counted dead while alive (a long pause) writes what it
 * holds again. A single node is a deployment of one: the same rows, reaped by its own next start.
 */
export class NodeRegistry {
  readonly #options: NodeRegistryOptions;
  readonly #startedAt = new Date().toISOString();
  /** Connections this node holds, per party. */
  readonly #held = new Map<string, { party: Party; connections: number }>();
  readonly #writes = new KeyedSerial();
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> | null = null;
  #stopping = false;
  /** Dead nodes this node noticed, and when (for /metrics and tests). */
  #reaped = 0;

  constructor(options: NodeRegistryOptions) {
    this.#options = options;
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  get reapedNodes(): number {
    return this.#reaped;
  }

  /**
   * Joins the deployment: an earlier run of this node id (killed, restarted) is reaped first, then the first
   * heartbeat is written and the beat starts.
   */
  async start(): Promise<void> {
    await this.#reap(this.#options.nodeId);
    await this.#options.store.beatNode({ id: this.#options.nodeId, url: this.#options.url(), startedAt: this.#startedAt }, new Date().toISOString());
    this.#timer = setInterval(() => void this.#beat(), this.#options.heartbeatMs);
    this.#timer.unref();
  }

  /** A connection of `party` authenticated here. */
  connected(party: Party): void {
    if (this.#stopping) return;
    const entry = this.#held.get(party.id) ?? { party, connections: 0 };
    entry.connections++;
    this.#held.set(party.id, entry);
    if (entry.connections === 1) this.#write(party);
  }

  /**
   * A connection of `party` closed here. When it was the party's last on this node and the party has none on
   * another node either, `partyGone` runs (after the store says so).
   */
  disconnected(party: Party): void {
    if (this.#stopping) return; // a node going down leaves its rows: a survivor, or its next start, reaps them
    const entry = this.#held.get(party.id);
    if (!entry) return;
    entry.connections--;
    if (entry.connections > 0) return;
    this.#held.delete(party.id);
    this.#write(party, async () => {
      if (this.#held.has(party.id)) return; // back on this node meanwhile
      if ((await this.#options.store.partyNodes(party.id)).length > 0) return; // connected elsewhere
      await this.#options.partyGone(party);
    });
  }

  /** Stops the beat. The rows stay: this node's connections are closing, and whoever reaps the node settles them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#beating;
    await this.#writes.idle();
  }

  /** Writes the party's connection count of this node (serially per party), then `after`. */
  #write(party: Party, after?: () => Promise<void>): void {
    void this.#writes
      .run(party.id, async () => {
        const connections = this.#held.get(party.id)?.connections ?? 0;
        await this.#options.store.setNodeParty(this.#options.nodeId, party, connections, new Date().toISOString());
        await after?.();
      })
      .catch((err: unknown) => this.#options.log.warn({ err, partyId: party.id }, 'the connection count of a party could not be written'));
  }

  #beat(): Promise<void> {
    this.#beating ??= this.#beatOnce().finally(() => {
      this.#beating = null;
    });
    return this.#beating;
  }

  async #beatOnce(): Promise<void> {
    if (this.#stopping) return;
    const { store, log } = this.#options;
    try {
      const known = await store.beatNode({ id: this.#options.nodeId, url: this.#options.url(), startedAt: this.#startedAt }, new Date().toISOString());
      if (!known) {
        log.warn('this node had been counted dead (no heartbeat in time); it writes its connections again');
        await store.replaceNodeParties(this.#options.nodeId, [...this.#held.values()], new Date().toISOString());
      }
      await this.#reap();
      await this.#options.tick?.();
    } catch (err) {
      log.warn({ err }, 'heartbeat failed');
    }
  }

  /** Reaps dead nodes (and, at start, this node's earlier run): their parties are gone unless connected elsewhere. */
  async #reap(alsoNodeId?: string): Promise<void> {
    const { store, log } = this.#options;
    const before = new Date(Date.now() - this.#options.deadAfterMs).toISOString();
    const dead = await store.reapDeadNodes(before, alsoNodeId);
    for (const { nodeId, parties } of dead) {
      if (nodeId !== this.#options.nodeId) this.#reaped++;
      else if (parties.length === 0) continue;
      log.info({ node: nodeId, parties: parties.length }, nodeId === this.#options.nodeId ? 'an earlier run of this node was reaped' : 'a node is dead: its connections are gone');
      for (const party of parties) {
        if (this.#held.has(party.id)) continue;
        try {
          if ((await store.partyNodes(party.id)).length > 0) continue;
          await this.#options.partyGone(party);
        } catch (err) {
          log.warn({ err, partyId: party.id }, 'a party of a dead node could not be settled');
        }
      }
    }
  }
}
