import type { ConversationSnapshot, ServerFrame } from '@parley/protocol';
import { createVisitor, loginAgent } from '../packages/server/test/support/http.ts';
import { ProtocolClient, type ConnectedClient } from '../packages/server/test/support/ProtocolClient.ts';
import type { ChatFleet, DeliveryListener, FleetPlan, OrderCounts } from './fleet.ts';
import { closeClients, condition, forEachLimited } from './fleet.ts';
import { SeqTally } from './seqTally.ts';

/*
 * A fleet speaking Parley's raw wire protocol: tokens over HTTP, `auth` on every socket, `chat.start`
 * from the visitors, and `message.send` for the load. A message counts as delivered when the agent's
 * socket receives its `message` frame, i.e. once it was stored, acknowledged and fanned out. The agents may
 * sit on another node of the same deployment than the visitors (`agentBaseUrl`); each agent socket's seqs are
 * tallied, so a frame heard twice or out of order is counted.
 * Every socket is a lean ProtocolClient: no frame log, frames straight to the handlers below.
 */

const CONNECT_TIMEOUT_MS = 15_000;
const SETUP_TIMEOUT_MS = 60_000;
const HTTP_CONCURRENCY = 16;
const CONNECT_CONCURRENCY = 64;
const CHAT_START_CONCURRENCY = 8;

interface Agent {
  id: string;
  token: string;
  client: ConnectedClient | null;
}

interface Visitor {
  token: string;
  client: ConnectedClient | null;
  sessionID: string | null;
}

/** Drives Parley agents and visitors for one load-generator thread. */
export class ParleyFleet implements ChatFleet {
  readonly conversations: number;
  readonly connections: number;
  readonly errors = { count: 0, first: null as string | null };
  onDelivered: DeliveryListener = () => undefined;

  readonly #plan: FleetPlan;
  readonly #agents: Agent[] = [];
  readonly #visitors: Visitor[] = [];
  readonly #conversationBySession = new Map<string, number>();
  /** Sessions assigned to this fleet's agents. */
  readonly #assigned = new Set<string>();
  /** Sessions the server gave to an agent of another thread (a setup failure). */
  readonly #strays = new Set<string>();
  readonly #assignedWaiters = new Map<string, () => void>();
  /** The seqs the agents' sockets heard, per conversation (one agent per conversation). */
  readonly #order = new SeqTally<string>();
  #onSetupProgress: () => void = () => undefined;

  constructor(plan: FleetPlan) {
    this.#plan = plan;
    this.conversations = plan.conversations;
    this.connections = plan.agents.length + plan.visitors;
  }

  async prepare(): Promise<void> {
    await forEachLimited(this.#plan.agents, HTTP_CONCURRENCY, async (account) => {
      const body = await loginAgent(this.#agentBaseUrl, account.email, account.password, PATIENCE);
      this.#agents.push({ id: body.agent.id, token: body.token, client: null });
    });
    const names = Array.from({ length: this.#plan.visitors }, (_, i) => `Visitor ${this.#plan.thread}-${i}`);
    await forEachLimited(names, HTTP_CONCURRENCY, async (name) => {
      const body = await createVisitor(this.#plan.baseUrl, name, PATIENCE);
      this.#visitors.push({ token: body.token, client: null, sessionID: null });
    });
  }

  async connect(): Promise<void> {
    await forEachLimited(this.#agents, CONNECT_CONCURRENCY, async (agent) => {
      agent.client = await this.#authenticate(this.#agentBaseUrl, agent.token, (frame) => this.#onAgentFrame(frame));
    });
    // Routing must not pick these agents while another thread starts its conversations (see startChats).
    await this.#setPresence('away');
    await forEachLimited(this.#visitors, CONNECT_CONCURRENCY, async (visitor) => {
      visitor.client = await this.#authenticate(this.#plan.baseUrl, visitor.token, (frame) => this.#onVisitorFrame(frame));
    });
  }

  async startChats(): Promise<void> {
    const ready = () => this.#strays.size > 0 || this.#assigned.size >= this.conversations && this.#allStarted();
    const waiting = condition(ready, SETUP_TIMEOUT_MS, () =>
      `${this.#assigned.size} of ${this.conversations} conversations assigned to this thread's agents`,
    );
    this.#onSetupProgress = waiting.check;
    await this.#setPresence('online');
    // A few chats at a time, each waited for until assigned: a burst of simultaneous chat.start requests
    // builds a long queue, and the server's routing pass costs time in proportion to the queue's length.
    const starting = this.#visitors.slice(0, this.conversations);
    await forEachLimited(starting, CHAT_START_CONCURRENCY, async (visitor, conversation) => {
      const { conversation: snapshot } = await this.#connected(visitor).request('chat.start', {}, SETUP_TIMEOUT_MS);
      visitor.sessionID = snapshot.sessionID;
      this.#conversationBySession.set(snapshot.sessionID, conversation);
      const assigned = new Promise<void>((resolve) => this.#assignedWaiters.set(snapshot.sessionID, resolve));
      this.#noteAgent(snapshot);
      // The agent's conversation.assigned may have come before this result.
      if (this.#assigned.has(snapshot.sessionID)) this.#assignedWaiters.get(snapshot.sessionID)?.();
      waiting.check();
      await Promise.race([assigned, waiting.done]);
    });
    await waiting.done;
    this.#onSetupProgress = () => undefined;
    if (this.#strays.size > 0) {
      throw new Error(
        `${this.#strays.size} conversation(s) were routed to an agent of another load-generator thread; ` +
          'the server routed to an agent whose presence was "away" (run with --workers 1)',
      );
    }
    // Keep routing away from these agents while the next thread starts its conversations.
    await this.#setPresence('away');
  }

  goOnline(): Promise<void> {
    return this.#setPresence('online');
  }

  send(conversation: number, clientId: string, text: string): void {
    const visitor = this.#visitors[conversation];
    if (!visitor?.client || !visitor.sessionID) throw new Error(`conversation ${conversation} is not started`);
    // The clientId doubles as the request id: its result is not waited for, only the agent's `message`.
    visitor.client.send({ type: 'message.send', id: clientId, sessionID: visitor.sessionID, clientId, text });
  }

  takeOrder(): OrderCounts {
    return this.#order.take();
  }

  close(): Promise<void> {
    return closeClients([...this.#agents, ...this.#visitors].flatMap((party) => (party.client ? [party.client] : [])));
  }


  #onAgentFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message': {
        const { message } = frame;
        if (this.#conversationBySession.has(message.sessionID)) this.#order.see(message.sessionID, message.seq);
        if (message.kind !== 'text' || message.from.role !== 'visitor' || message.clientId === undefined) return;
        const conversation = this.#conversationBySession.get(message.sessionID);
        if (conversation !== undefined) this.onDelivered(conversation, message.clientId);
        return;
      }
      case 'conversation.assigned':
        this.#noteAgent(frame.conversation);
        return;
      default:
        this.#onCommonFrame(frame);
    }
  }

  #onVisitorFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'conversation.updated':
        this.#noteAgent(frame.conversation);
        return;
      default:
        this.#onCommonFrame(frame);
    }
  }

  /** Frames both sides handle alike: an error not answering a setup request counts as a failure. */
  #onCommonFrame(frame: ServerFrame): void {
    if (frame.type === 'error') {
      this.errors.count++;
      this.errors.first ??= `${frame.code}: ${frame.message}`;
    }
  }

  /** Records which agent a conversation went to, once it has one. */
  #noteAgent(snapshot: ConversationSnapshot): void {
    if (snapshot.agent === null) return;
    if (this.#agents.some((agent) => agent.id === snapshot.agent?.id)) this.#assigned.add(snapshot.sessionID);
    else if (this.#conversationBySession.has(snapshot.sessionID)) this.#strays.add(snapshot.sessionID);
    else return;
    this.#assignedWaiters.get(snapshot.sessionID)?.();
    this.#assignedWaiters.delete(snapshot.sessionID);
    this.#onSetupProgress();
  }

  async #setPresence(presence: 'online' | 'away'): Promise<void> {
    await Promise.all(this.#agents.map((agent) => this.#connected(agent).request('presence.set', { presence }, SETUP_TIMEOUT_MS)));
  }

  #allStarted(): boolean {
    return this.#conversationBySession.size >= this.conversations;
  }

  get #agentBaseUrl(): string {
    return this.#plan.agentBaseUrl ?? this.#plan.baseUrl;
  }

  #authenticate(baseUrl: string, token: string, onFrame: (frame: ServerFrame) => void): Promise<ConnectedClient> {
    return ProtocolClient.connect(baseUrl, token, { lean: true, onFrame, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  }

  #connected(party: { client: ConnectedClient | null }): ConnectedClient {
    if (!party.client) throw new Error('socket not connected');
    return party.client;
  }
}

/** Sign-ins are limited per IP address: the setup waits out 429s. */
const PATIENCE = { whileRateLimitedMs: SETUP_TIMEOUT_MS };
