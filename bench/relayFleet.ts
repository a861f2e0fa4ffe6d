import type { ServerFrame } from '@parley/protocol';
import { ProtocolClient } from '../packages/server/test/support/ProtocolClient.ts';
import type { ChatFleet, DeliveryListener, FleetPlan } from './fleet.ts';
import { closeClients, forEachLimited } from './fleet.ts';

/*
 * A fleet for the bare relay (bench/relay.ts). Same topology as with Parley — a few agent sockets, each
 * carrying many conversations, and one socket per visitor — and the same frames on the wire (the
 * visitor sends Parley's `message.send` JSON); the relay forwards it to the agent's socket untouched.
 * The sockets are lean ProtocolClients, opened without `auth` (the relay has none).
 */

const CONNECT_TIMEOUT_MS = 15_000;
const CONNECT_CONCURRENCY = 64;

/** Drives relay sockets for one load-generator thread. */
export class RelayFleet implements ChatFleet {
  readonly conversations: number;
  readonly connections: number;
  readonly errors = { count: 0, first: null as string | null };
  onDelivered: DeliveryListener = () => undefined;

  readonly #plan: FleetPlan;
  readonly #agentSockets: ProtocolClient[] = [];
  readonly #visitorSockets: ProtocolClient[] = [];

  constructor(plan: FleetPlan) {
    this.#plan = plan;
    this.conversations = plan.conversations;
    this.connections = plan.agents.length + plan.visitors;
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  async connect(): Promise<void> {
    const agentIDs = this.#plan.agents.map((_, i) => this.#agentID(i));
    await forEachLimited(agentIDs, CONNECT_CONCURRENCY, async (agentID, i) => {
      this.#agentSockets[i] = await this.#open(`agent=${agentID}`, (frame) => this.#onAgentFrame(frame));
    });
    const visitors = Array.from({ length: this.#plan.visitors }, (_, i) => i);
    await forEachLimited(visitors, CONNECT_CONCURRENCY, async (i) => {
      const agentID = this.#agentID(i % agentIDs.length);
      this.#visitorSockets[i] = await this.#open(`conv=${this.#sessionID(i)}&agent=${agentID}`);
    });
  }

  startChats(): Promise<void> {
    return Promise.resolve(); // a relay conversation exists as soon as both sockets are open
  }

  goOnline(): Promise<void> {
    return Promise.resolve();
  }

  send(conversation: number, clientId: string, text: string): void {
    const socket = this.#visitorSockets[conversation];
    if (!socket) throw new Error(`conversation ${conversation} is not connected`);
    socket.send({ type: 'message.send', id: clientId, sessionID: this.#sessionID(conversation), clientId, text });
  }

  close(): Promise<void> {
    return closeClients([...this.#agentSockets, ...this.#visitorSockets]);
  }


  /** The relay hands the agent the visitor's own `message.send` frame, not a server frame. */
  #onAgentFrame(received: ServerFrame): void {
    const frame = received as unknown as { type?: string; sessionID?: string; clientId?: string };
    if (frame.type !== 'message.send' || frame.sessionID === undefined || frame.clientId === undefined) return;
    const conversation = Number(frame.sessionID.slice(frame.sessionID.lastIndexOf('c') + 1));
    this.onDelivered(conversation, frame.clientId);
  }

  /** Opens `/ws?query` of the relay; the query names the conversation and the agent. */
  #open(query: string, onFrame?: (frame: ServerFrame) => void): Promise<ProtocolClient> {
    return ProtocolClient.open(this.#plan.baseUrl, { lean: true, connectTimeoutMs: CONNECT_TIMEOUT_MS, query, ...(onFrame ? { onFrame } : {}) });
  }

  #agentID(i: number): string {
    return `t${this.#plan.thread}a${i}`;
  }

  #sessionID(conversation: number): string {
    return `t${this.#plan.thread}c${conversation}`;
  }
}
