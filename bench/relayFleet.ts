import type { WebSocket } from 'ws';
import type { ChatFleet, DeliveryListener, FleetPlan } from './fleet.ts';
import { closeSockets, forEachLimited, openSocket } from './fleet.ts';

/*
 * A fleet for the bare relay (bench/relay.ts). Same topology as with Parley — a few agent sockets, each
 * carrying many conversations, and one socket per visitor — and the same frames on the wire (the
 * visitor sends Parley's `message.send` JSON); the relay forwards it to the agent's socket untouched.
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
  readonly #wsUrl: string;
  readonly #agentSockets: WebSocket[] = [];
  readonly #visitorSockets: WebSocket[] = [];

  constructor(plan: FleetPlan) {
    this.#plan = plan;
    this.#wsUrl = `${plan.baseUrl.replace(/^http/, 'ws')}/ws`;
    this.conversations = plan.conversations;
    this.connections = plan.agents.length + plan.visitors;
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  async connect(): Promise<void> {
    const agentIDs = this.#plan.agents.map((_, i) => this.#agentID(i));
    await forEachLimited(agentIDs, CONNECT_CONCURRENCY, async (agentID, i) => {
      const socket = await openSocket(`${this.#wsUrl}?agent=${agentID}`, CONNECT_TIMEOUT_MS);
      socket.on('message', (data) => this.#onAgentFrame(data.toString()));
      this.#agentSockets[i] = socket;
    });
    const visitors = Array.from({ length: this.#plan.visitors }, (_, i) => i);
    await forEachLimited(visitors, CONNECT_CONCURRENCY, async (i) => {
      const agentID = this.#agentID(i % agentIDs.length);
      const url = `${this.#wsUrl}?conv=${this.#sessionID(i)}&agent=${agentID}`;
      this.#visitorSockets[i] = await openSocket(url, CONNECT_TIMEOUT_MS);
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
    socket.send(JSON.stringify({ type: 'message.send', id: clientId, sessionID: this.#sessionID(conversation), clientId, text }));
  }

  close(): Promise<void> {
    return closeSockets([...this.#agentSockets, ...this.#visitorSockets]);
  }


  #onAgentFrame(raw: string): void {
    const frame = JSON.parse(raw) as { type?: string; sessionID?: string; clientId?: string };
    if (frame.type !== 'message.send' || frame.sessionID === undefined || frame.clientId === undefined) return;
    const conversation = Number(frame.sessionID.slice(frame.sessionID.lastIndexOf('c') + 1));
    this.onDelivered(conversation, frame.clientId);
  }

  #agentID(i: number): string {
    return `t${this.#plan.thread}a${i}`;
  }

  #sessionID(conversation: number): string {
    return `t${this.#plan.thread}c${conversation}`;
  }
}
