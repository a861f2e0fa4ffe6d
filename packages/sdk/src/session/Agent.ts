import type { Contact } from '../conversation/Contact.ts';
import { ParleyError } from '../errors.ts';
import { resolveEnvironment, type ConnectEnvironment, type ConnectOptions } from '../options.ts';
import type { ConnectionState } from '../signaling/SignalingChannel.ts';
import { TypedEmitter } from '../TypedEmitter.ts';
import type { AgentLoginResponse, AgentSummary, Party, Presence, PushFrame, QueuedConversation } from '../wire.ts';
import { ClientSession, sessionOptionsFrom } from './ClientSession.ts';

/** Options of `Parley.connectAgent`: sign in with email and password, or reuse a token. */
export type AgentConnectOptions = ConnectOptions & ({ email: string; password: string } | { token: string });

/** Events of an {@link Agent}. */
export interface AgentEvents {
  /** A conversation was assigned to this agent (by routing or by `accept`). One Contact per sessionID. */
  contact: [contact: Contact];
  /** A conversation left `contacts` (it was closed). */
  contactRemoved: [contact: Contact];
  /** The waiting queue changed; carries the whole queue. */
  queue: [queue: QueuedConversation[]];
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
 * agent.on('queue', (queue) => renderQueue(queue));
 * const waiting = await agent.queue();
 * if (waiting[0]) await agent.accept(waiting[0].sessionID);
 * ```
 */
export class Agent extends TypedEmitter<AgentEvents> {
  private readonly session: ClientSession;
  private identity: Party = { id: '', role: 'agent', name: '' };
  private presenceValue: Presence = 'online';
  private readonly tokenValue: string;

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

  /** The conversations waiting for an agent, oldest first. */
  async queue(): Promise<QueuedConversation[]> {
    const { queue } = await this.session.channel.request('queue.list', {});
    return queue;
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
    this.session.disconnect();
  }

  private handlePush(frame: PushFrame): void {
    switch (frame.type) {
      case 'queue.changed':
        this.emit('queue', frame.queue);
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
