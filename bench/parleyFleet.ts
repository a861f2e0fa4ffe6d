import type { WebSocket } from 'ws';
import type {
  AgentLoginResponse,
  ClientFrame,
  ConversationSnapshot,
  CreateVisitorResponse,
  ServerFrame,
} from '@parley/protocol';
import { PROTOCOL_VERSION } from '@parley/protocol';
import type { ChatFleet, DeliveryListener, FleetPlan } from './fleet.ts';
import { closeSockets, condition, forEachLimited, openSocket } from './fleet.ts';

/*
 * A fleet speaking Parley's raw wire protocol: tokens over HTTP, `auth` on every socket, `chat.start`
 * from the visitors, and `message.send` for the load. A message counts as delivered when the agent's
 * socket receives its `message` frame, i.e. once it was stored, acknowledged and fanned out.
 */

const CONNECT_TIMEOUT_MS = 15_000;
const SETUP_TIMEOUT_MS = 60_000;
const HTTP_CONCURRENCY = 16;
const CONNECT_CONCURRENCY = 64;
const RATE_LIMITED_RETRY_MS = 500;
const CHAT_START_CONCURRENCY = 8;

interface Agent {
  id: string;
  token: string;
  socket: WebSocket | null;
}

interface Visitor {
  token: string;
  socket: WebSocket | null;
  sessionID: string | null;
}

/** Drives Parley agents and visitors for one load-generator thread. */
export class ParleyFleet implements ChatFleet {
  readonly conversations: number;
  readonly connections: number;
  readonly errors = { count: 0, first: null as string | null };
  onDelivered: DeliveryListener = () => undefined;

  readonly #plan: FleetPlan;
  readonly #wsUrl: string;
  readonly #agents: Agent[] = [];
  readonly #visitors: Visitor[] = [];
  readonly #conversationBySession = new Map<string, number>();
  /** Sessions assigned to this fleet's agents. */
  readonly #assigned = new Set<string>();
  /** Sessions the server gave to an agent of another thread (a setup failure). */
  readonly #strays = new Set<string>();
  readonly #assignedWaiters = new Map<string, () => void>();
  readonly #pending = new Map<string, (frame: ServerFrame) => void>();
  #requestCount = 0;
  #onSetupProgress: () => void = () => undefined;

  constructor(plan: FleetPlan) {
    this.#plan = plan;
    this.#wsUrl = `${plan.baseUrl.replace(/^http/, 'ws')}/ws`;
    this.conversations = plan.conversations;
    this.connections = plan.agents.length + plan.visitors;
  }

  async prepare(): Promise<void> {
    await forEachLimited(this.#plan.agents, HTTP_CONCURRENCY, async (account) => {
      const body = await this.#post<AgentLoginResponse>('/api/agents/login', account);
      this.#agents.push({ id: body.agent.id, token: body.token, socket: null });
    });
    const names = Array.from({ length: this.#plan.visitors }, (_, i) => `Visitor ${this.#plan.thread}-${i}`);
    await forEachLimited(names, HTTP_CONCURRENCY, async (name) => {
      const body = await this.#post<CreateVisitorResponse>('/api/visitors', { name });
      this.#visitors.push({ token: body.token, socket: null, sessionID: null });
    });
  }

  async connect(): Promise<void> {
    await forEachLimited(this.#agents, CONNECT_CONCURRENCY, async (agent) => {
      agent.socket = await this.#authenticate(agent.token, (frame) => this.#onAgentFrame(frame));
    });
    // Routing must not pick these agents while another thread starts its conversations (see startChats).
    await this.#setPresence('away');
    await forEachLimited(this.#visitors, CONNECT_CONCURRENCY, async (visitor) => {
      visitor.socket = await this.#authenticate(visitor.token, (frame) => this.#onVisitorFrame(frame));
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
      const data = await this.#request(visitor.socket, { type: 'chat.start', id: this.#nextId() });
      const snapshot = (data as { conversation: ConversationSnapshot }).conversation;
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
    if (!visitor?.socket || !visitor.sessionID) throw new Error(`conversation ${conversation} is not started`);
    const frame: ClientFrame = { type: 'message.send', id: clientId, sessionID: visitor.sessionID, clientId, text };
    visitor.socket.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    return closeSockets([...this.#agents, ...this.#visitors].flatMap((party) => (party.socket ? [party.socket] : [])));
  }


  #onAgentFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message': {
        const { message } = frame;
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

  #onCommonFrame(frame: ServerFrame): void {
    if (frame.type === 'result' || frame.type === 'error') {
      const answer = frame.id === undefined ? undefined : this.#pending.get(frame.id);
      if (answer && frame.id !== undefined) {
        this.#pending.delete(frame.id);
        answer(frame);
        return;
      }
      if (frame.type === 'error') {
        this.errors.count++;
        this.errors.first ??= `${frame.code}: ${frame.message}`;
      }
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
    await Promise.all(this.#agents.map((agent) => this.#request(agent.socket, { type: 'presence.set', id: this.#nextId(), presence })));
  }

  #allStarted(): boolean {
    return this.#conversationBySession.size >= this.conversations;
  }

  async #authenticate(token: string, onFrame: (frame: ServerFrame) => void): Promise<WebSocket> {
    const socket = await openSocket(this.#wsUrl, CONNECT_TIMEOUT_MS);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to auth')), CONNECT_TIMEOUT_MS);
      socket.once('close', (code) => reject(new Error(`socket closed (${code}) during auth`)));
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (frame.type === 'error' && frame.id === undefined) {
          clearTimeout(timer);
          reject(new Error(`auth refused: ${frame.code} ${frame.message}`));
        }
        onFrame(frame);
      });
      const auth: ClientFrame = { type: 'auth', v: PROTOCOL_VERSION, token };
      socket.send(JSON.stringify(auth));
    });
    return socket;
  }

  #request(socket: WebSocket | null, frame: ClientFrame & { id: string }): Promise<unknown> {
    if (!socket) return Promise.reject(new Error('socket not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(frame.id);
        reject(new Error(`no answer to ${frame.type} within ${SETUP_TIMEOUT_MS} ms`));
      }, SETUP_TIMEOUT_MS);
      this.#pending.set(frame.id, (answer) => {
        clearTimeout(timer);
        if (answer.type === 'result') resolve(answer.data);
        else if (answer.type === 'error') reject(new Error(`${frame.type} failed: ${answer.code} ${answer.message}`));
      });
      socket.send(JSON.stringify(frame));
    });
  }

  #nextId(): string {
    return `setup-${this.#plan.thread}-${++this.#requestCount}`;
  }

  /** POSTs JSON; waits and retries while the server answers 429 (sign-ins are limited per IP address). */
  async #post<T>(path: string, body: unknown): Promise<T> {
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    for (;;) {
      const response = await fetch(`${this.#plan.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.ok) return (await response.json()) as T;
      const text = await response.text();
      if (response.status !== 429 || Date.now() > deadline) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`);
      await new Promise((resolve) => setTimeout(resolve, RATE_LIMITED_RETRY_MS));
    }
  }
}
