import type { Contact } from '../conversation/Contact.ts';
import { ParleyError } from '../errors.ts';
import { resolveEnvironment, type ConnectEnvironment, type ConnectOptions } from '../options.ts';
import type { ConnectionState } from '../signaling/SignalingChannel.ts';
import { TypedEmitter } from '../TypedEmitter.ts';
import type { AgentLoginResponse, AgentSummary, Party, Presence, PushFrame, QueuedConversation } from '../wire.ts';
import { ClientSession, sessionOptionsFrom } from './ClientSession.ts';
import { QueueView } from './QueueView.ts';

/** Entries in an agent's queue view (the first page); `queue.list` pages hold at most 100. */
const QUEUE_VIEW_LIMIT = 50;
/** News arriving together fills a gap in the view once. */
const QUEUE_REFILL_DELAY_MS = 50;

/** Options of `Parley.connectAgent`: sign in with email and password, or reuse a token. */
export type AgentConnectOptions = ConnectOptions & ({ email: string; password: string } | { token: string });

/** Events of an {@link Agent}. */
export interface AgentEvents {
  /** A conversation was assigned to this agent (by routing or by `accept`). One Contact per sessionID. */
  contact: [contact: Contact];
  /** A conversation left `contacts` (it was closed). */
  contactRemoved: [contact: Contact];
  /**
   * The waiting queue changed. Carries the agent's view of it: the first {@link Agent.queueLimit} waiting
   * conversations, oldest first (never the whole queue), and `size`, how many wait in all.
   */
  queue: [queue: QueuedConversation[], info: { size: number }];
  /** An agent's presence changed (a colleague's, or this agent's own). */
  presence: [agent: AgentSummary];
  /** The connection state changed. */
  connectionStateChanged: [state: ConnectionState];
  /** The connection stopped for good: `null` after `disconnect()`, else why (e.g. `unauthorized`). */
  disconnected: [error: ParleyError | null];
  /** The server reported an error not tied to a request (e.g. `rate_limited`). */
  error: [error: ParleyError];
}

/**
 * A support agent's connection: the conversations assigned to it, the waiting queue, presence.
 *
 * @example
 * ```ts
 * const agent = await Parley.connectAgent({ server, email: 'ana@example.com', password });
 * agent.on('contact', (contact) => openTab(contact));
 * agent.on('queue', (queue, { size }) => renderQueue(queue, size - queue.length)); // first 50, and K more
 * const waiting = await agent.queue();
 * if (waiting[0]) await agent.accept(waiting[0].sessionID);
 * ```
 */
export class Agent extends TypedEmitter<AgentEvents> {
  private readonly session: ClientSession;
  private identity: Party = { id: '', role: 'agent', name: '' };
  private presenceValue: Presence = 'online';
  private readonly tokenValue: string;
  private readonly queueView = new QueueView(QUEUE_VIEW_LIMIT);
  private queueRefill: ReturnType<typeof setTimeout> | null = null;

  private constructor(env: ConnectEnvironment, options: ConnectOptions, token: string) {
    super();
    this.tokenValue = token;
    this.session = new ClientSession(
      sessionOptionsFrom(env, options, token),
      {
        onStateChanged: (state) => this.emit('connectionStateChanged', state),
        onPush: (frame) => this.handlePush(frame),
        onContactAdded: (contact) => this.emit('contact', contact),
        onContactRemoved: (contact) => this.emit('contactRemoved', contact),
        onReconnected: (ready) => {
          if (ready.presence) this.presenceValue = ready.presence;
          this.reloadQueue(); // news missed while away: start the view over
        },
        onDisconnected: (error) => this.emit('disconnected', error),
      },
    );
  }

  /**
   * Signs in (`POST /api/agents/login`) or uses the given token, then connects.
   * @throws ParleyError `unauthorized` (wrong password or token), `unavailable`, …
   */
  static async connect(options: AgentConnectOptions): Promise<Agent> {
    const env = resolveEnvironment(options);
    let token: string;
    if ('token' in options) {
      token = options.token;
    } else {
      const login = await env.http.post<AgentLoginResponse>('/api/agents/login', {
        email: options.email,
        password: options.password,
      });
      token = login.token;
    }
    env.http.token = token;
    const agent = new Agent(env, options, token);
    const ready = await agent.session.start();
    agent.identity = ready.identity;
    if (ready.presence) agent.presenceValue = ready.presence;
    return agent;
  }

  /** The agent's id. */
  get id(): string {
    return this.identity.id;
  }

  /** The agent's display name. */
  get name(): string {
    return this.identity.name;
  }

  /** The agent as a party of conversations. */
  get party(): Party {
    return this.identity;
  }

  /** The token this connection uses (keep it to reconnect without the password, until it expires). */
  get token(): string {
    return this.tokenValue;
  }

  /** This agent's presence as last known. */
  get presence(): Presence {
    return this.presenceValue;
  }

  /** Open conversations assigned to this agent, oldest first. A closed one is removed. */
  get contacts(): Contact[] {
    return this.session.openContacts;
  }

  /** The connection state. */
  get connectionState(): ConnectionState {
    return this.session.channel.state;
  }

  /**
   * One page of the conversations waiting for an agent, oldest first. Without options: the first
   * {@link Agent.queueLimit} (50), which also become the view `'queue'` events carry. `limit` is at most 100;
   * `after` is the sessionID of the last entry of the previous page. {@link Agent.queueSize} says how many wait.
   * Long fields are cut by the server: first message to 120 characters, page URL to 200, user agent to 120.
   * @throws ParleyError `invalid_frame` (limit out of range), `not_found` (unknown `after`).
   * @example
   * ```ts
   * const first = await agent.queue();
   * const second = await agent.queue({ limit: 50, after: first.at(-1)?.sessionID });
   * ```
   */
  async queue(options: { limit?: number; after?: string } = {}): Promise<QueuedConversation[]> {
    const { queue, size } = await this.session.channel.request('queue.list', options);
    if (options.after === undefined && (options.limit === undefined || options.limit >= QUEUE_VIEW_LIMIT)) this.queueView.reset(queue, size);
    return queue;
  }

  /** How many conversations wait in all, as last heard (after `queue()` or a `'queue'` event). */
  get queueSize(): number {
    return this.queueView.size;
  }

  /** How many entries the queue view (the `'queue'` event, `queue()` without options) holds at most. */
  get queueLimit(): number {
    return this.queueView.limit;
  }

  /**
   * Takes a waiting conversation. Resolves with its Contact — the same object the `'contact'` event gives.
   * @throws ParleyError `conflict` when another agent took it first, `not_found`.
   */
  async accept(sessionID: string): Promise<Contact> {
    const { conversation } = await this.session.channel.request('conversation.accept', { sessionID });
    return this.session.ensureContact(conversation);
  }

  /** Sets this agent's availability for routing. */
  async setPresence(presence: 'online' | 'away'): Promise<void> {
    const result = await this.session.channel.request('presence.set', { presence });
    this.presenceValue = result.presence;
  }

  /** Colleagues and their presence (those that can be added to a conversation). */
  async agents(): Promise<AgentSummary[]> {
    const { agents } = await this.session.channel.request('agents.list', {});
    return agents;
  }

  /** Closes the connection. */
  disconnect(): void {
    if (this.queueRefill !== null) clearTimeout(this.queueRefill);
    this.queueRefill = null;
    this.session.disconnect();
  }

  private emitQueue(): void {
    this.emit('queue', this.queueView.entries, { size: this.queueView.size });
  }

  /** Entries left the view and more wait behind: fetch the ones that now fall inside it (once per burst). */
  private scheduleQueueRefill(): void {
    if (this.queueRefill !== null) return;
    this.queueRefill = setTimeout(() => {
      this.queueRefill = null;
      const missing = this.queueView.missing;
      if (missing === 0) return this.emitQueue();
      const after = this.queueView.last;
      this.session.channel.request('queue.list', after === undefined ? { limit: missing } : { limit: missing, after }).then(
        ({ queue, size }) => {
          this.queueView.append(queue, size); // skips what news brought meanwhile
          this.emitQueue();
        },
        () => this.reloadQueue(),
      );
    }, QUEUE_REFILL_DELAY_MS);
  }

  /** Starts the view over from the first page, then tells listeners. */
  private reloadQueue(): void {
    this.session.channel.request('queue.list', { limit: QUEUE_VIEW_LIMIT }).then(
      ({ queue, size }) => {
        this.queueView.reset(queue, size);
        this.emitQueue();
      },
      () => undefined, // disconnected again: the next reconnection reloads
    );
  }

  private handlePush(frame: PushFrame): void {
    switch (frame.type) {
      case 'queue.updated':
        this.queueView.apply(frame);
        if (this.queueView.missing > 0) this.scheduleQueueRefill();
        else this.emitQueue();
        return;
      case 'presence.changed':
        if (frame.agent.id === this.identity.id) this.presenceValue = frame.agent.presence;
        this.emit('presence', frame.agent);
        return;
      case 'error':
        this.emit('error', ParleyError.fromBody(frame));
        return;
      default:
        return;
    }
  }
}
