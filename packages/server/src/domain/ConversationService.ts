import { randomUUID } from 'node:crypto';
import type {
  AgentSummary,
  CallSnapshot,
  ConversationSnapshot,
  Message,
  Party,
  Presence,
  QueuedConversation,
  VisitorInfo,
} from '@parley/protocol';
import { LIMITS, checkMessageText } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Bus, BusSubscriber } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import { ParleyServerError } from '../errors.ts';
import type { ConversationRecord, MessagePage, Store } from '../store/Store.ts';
import { PresenceRegistry } from './PresenceRegistry.ts';
import { pickAgent } from './routing.ts';
import { uuidv7 } from './uuidv7.ts';
import { SYSTEM_PARTY, toQueued, toSnapshot } from './snapshots.ts';

export interface ConversationServiceOptions {
  store: Store;
  bus: Bus;
  log: Logger;
  agentMaxChats: number;
}

/**
 * The conversation domain: opening, routing, messages, typing, closing, and agents' presence.
 * Authorization lives here: every method takes the acting party and checks it may act.
 * Messages of one conversation are stored and published one at a time, so every subscriber sees them in seq order.
 */
export class ConversationService {
  readonly presence = new PresenceRegistry();
  readonly #store: Store;
  readonly #bus: Bus;
  readonly #log: Logger;
  readonly #maxChats: number;
  /** Open conversations this node has touched; closed ones are dropped. */
  readonly #open = new Map<string, ConversationRecord>();
  /** Added agents of the open conversations in #open (loaded with them). */
  readonly #members = new Map<string, Party[]>();
  readonly #chains = new Map<string, Promise<unknown>>();
  #routing: Promise<void> = Promise.resolve();
  /** A routing pass is queued and has not started: further triggers ride along with it. */
  #routePending = false;
  #queueBroadcastPending = false;
  #inFlight = 0;
  readonly #closedListeners: Array<(sessionID: string, by: Party) => Promise<void>> = [];
  #callOf: (sessionID: string) => CallSnapshot | null = () => null;
  #inviteToCall: (sessionID: string, by: Party, agent: Party) => void = () => {};
  #idle: (() => void) | null = null;

  constructor(options: ConversationServiceOptions) {
    this.#store = options.store;
    this.#bus = options.bus;
    this.#log = options.log;
    this.#maxChats = options.agentMaxChats;
  }

  // ------------------------------------------------------------------ visitors

  /** Opens a conversation for a visitor, or returns its open one. Routes it to an agent when one is free. */
  async startChat(
    visitor: Party,
    input: { text?: string | undefined; clientId?: string | undefined; info?: VisitorInfo | undefined },
  ): Promise<{ conversation: ConversationSnapshot; message: Message | null }> {
    if (visitor.role !== 'visitor') throw ParleyServerError.forbidden('only visitors start chats');
    return this.#track(async () => {
      const existing = (await this.#store.listOpenConversationsForVisitor(visitor.id))[0];
      let record = existing ?? null;
      if (record === null) {
        record = await this.#store.createConversation({
          id: randomUUID(),
          visitorId: visitor.id,
          visitorInfo: input.info ?? {},
          firstMessage: input.text?.slice(0, 200) ?? null,
          createdAt: new Date().toISOString(),
        });
        this.#log.info({ sessionID: record.id, visitorId: visitor.id }, 'conversation started');
        this.#members.set(record.id, []); // a new conversation has nobody added yet: no need to ask the store
      }
      await this.#cache(record);
      let message: Message | null = null;
      if (input.text !== undefined) {
        message = (await this.#append(record.id, visitor, 'text', input.text, input.clientId ?? randomUUID())).message;
      }
      this.#bus.publish(topics.party(visitor.id), { type: 'conversation.updated', conversation: this.#snap(this.#cached(record.id)) });
      if (existing === undefined) {
        this.#queueChanged();
        this.#route();
      }
      return { conversation: this.#snap(this.#cached(record.id)), message };
    });
  }

  // ------------------------------------------------------------------ both sides

  /**
   * Stores a text message and publishes it. Idempotent on clientId. `origin`, the sending connection, is left
   * out of the fan-out: it gets the message in its `result`.
   */
  async sendMessage(from: Party, sessionID: string, clientId: string, text: string, origin?: BusSubscriber) {
    const problem = checkMessageText(text);
    if (problem) throw new ParleyServerError(problem.code, problem.message);
    const record = await this.#member(from, sessionID);
    if (record.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    return this.#track(() => this.#append(sessionID, from, 'text', text, clientId, origin));
  }

  /** Tells the other members that `from` is typing (or stopped). */
  async typing(from: Party, sessionID: string, typing: boolean): Promise<void> {
    const record = await this.#member(from, sessionID);
    if (record.status === 'closed') return;
    this.#bus.publish(topics.conversation(sessionID), { type: 'typing', sessionID, from, typing }, { exceptParty: from.id });
  }

  /** Closes a conversation (visitor, or its agent). */
  async close(by: Party, sessionID: string): Promise<ConversationSnapshot> {
    const record = await this.#member(by, sessionID);
    if (record.status === 'closed') throw ParleyServerError.conflict('the conversation is already closed');
    return this.#track(async () => {
      const closed = await this.#store.closeConversation(sessionID, by, new Date().toISOString());
      if (closed === null) throw ParleyServerError.conflict('the conversation is already closed');
      for (const listener of this.#closedListeners) {
        await listener(sessionID, by).catch((err: unknown) => this.#log.error({ err, sessionID }, 'close listener failed'));
      }
      await this.#append(sessionID, SYSTEM_PARTY, 'event', `${by.name} closed the conversation`);
      const final = { ...closed, lastSeq: this.#cached(sessionID).lastSeq };
      this.#open.delete(sessionID);
      this.#members.delete(sessionID);
      this.#bus.publish(topics.conversation(sessionID), { type: 'conversation.closed', sessionID, by });
      if (record.status === 'queued') this.#queueChanged();
      else this.#route();
      this.#log.info({ sessionID, by: by.id }, 'conversation closed');
      return this.#snap(final);
    });
  }

  /** Messages after `afterSeq` (at most one page) with the conversation's snapshot. */
  async sync(party: Party, sessionID: string, afterSeq: number) {
    const record = await this.#member(party, sessionID);
    const page = await this.#store.listMessages(sessionID, { afterSeq, limit: LIMITS.maxPageSize });
    return { conversation: this.#snap(record), messages: page.messages, more: page.more };
  }

  /** One page of history for the HTTP API. */
  async history(party: Party, sessionID: string, query: { before?: number; after?: number; limit: number }): Promise<MessagePage> {
    await this.#member(party, sessionID);
    return this.#store.listMessages(sessionID, {
      limit: query.limit,
      ...(query.after !== undefined ? { afterSeq: query.after } : {}),
      ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
    });
  }

  /** Open conversations of a visitor, or the active ones assigned to an agent. */
  async openConversationsOf(party: Party): Promise<ConversationSnapshot[]> {
    const records =
      party.role === 'visitor'
        ? await this.#store.listOpenConversationsForVisitor(party.id)
        : party.role === 'agent'
          ? [...(await this.#store.listOpenConversationsForAgent(party.id)), ...(await this.#store.listOpenConversationsAsMember(party.id))]
          : [];
    for (const r of records) await this.#cache(r);
    return records.map((r) => this.#snap(r));
  }

  // ------------------------------------------------------------------ agents

  async queue(agent: Party): Promise<QueuedConversation[]> {
    requireAgent(agent);
    return this.queueSnapshot();
  }

  async queueSnapshot(): Promise<QueuedConversation[]> {
    return (await this.#store.listQueuedConversations()).map(toQueued);
  }

  /** An agent takes a waiting conversation. `conflict` when someone else was faster. */
  async accept(agent: Party, sessionID: string): Promise<ConversationSnapshot> {
    requireAgent(agent);
    return this.#track(async () => {
      const record = await this.#store.getConversation(sessionID);
      if (record === null) throw ParleyServerError.notFound('conversation');
      if (record.status !== 'queued') throw ParleyServerError.conflict('the conversation is no longer waiting');
      const assigned = await this.#assign(record.id, agent.id);
      if (assigned === null) throw ParleyServerError.conflict('another agent took the conversation first');
      return assigned;
    });
  }

  /**
   * An agent of the conversation adds a colleague: the colleague sees the transcript, gets the conversation
   * (`conversation.assigned`) and, while a call is in progress, an invitation into it. Adding a member again
   * only invites it into the call. Refused as a whole (nothing changes) when the call is full.
   */
  async addParticipant(by: Party, sessionID: string, agentId: string): Promise<ConversationSnapshot> {
    requireAgent(by);
    const record = await this.#member(by, sessionID);
    if (record.status !== 'active') throw ParleyServerError.conflict(`the conversation is ${record.status}; colleagues join active conversations`);
    if (agentId === by.id || agentId === record.agent?.id) throw ParleyServerError.conflict('that agent is in the conversation already');
    const target = await this.#store.getAgent(agentId);
    if (target === null) throw ParleyServerError.notFound('agent');
    if (this.presence.presenceOf(agentId) === 'offline') throw ParleyServerError.conflict(`${target.name} is offline`);
    const agent: Party = { id: target.id, role: 'agent', name: target.name };
    return this.#track(async () => {
      this.#inviteToCall(sessionID, by, agent); // throws `capacity` before anything changed
      const added = await this.#store.addConversationMember({ sessionID, agentId, addedById: by.id, at: new Date().toISOString() });
      if (added) {
        this.#members.set(sessionID, [...(this.#members.get(sessionID) ?? []), agent]);
        await this.#append(sessionID, SYSTEM_PARTY, 'event', `${by.name} added ${agent.name} to the conversation`);
      }
      const snapshot = this.#snap(this.#cached(sessionID));
      this.#bus.publish(topics.party(agentId), { type: 'conversation.assigned', conversation: snapshot });
      if (added) this.#bus.publish(topics.conversation(sessionID), { type: 'conversation.updated', conversation: snapshot });
      this.#log.info({ sessionID, by: by.id, agentId, added }, 'participant added');
      return snapshot;
    });
  }

  async agents(agent: Party): Promise<AgentSummary[]> {
    requireAgent(agent);
    return (await this.#store.listAgents()).map((a) => ({ id: a.id, name: a.name, presence: this.presence.presenceOf(a.id) }));
  }

  agentConnected(agent: Party): Presence {
    const change = this.presence.connected(agent.id);
    this.#presenceChanged(agent, change);
    return change.after;
  }

  agentDisconnected(agent: Party): void {
    this.#presenceChanged(agent, this.presence.disconnected(agent.id));
  }

  setPresence(agent: Party, presence: 'online' | 'away'): Presence {
    requireAgent(agent);
    const change = this.presence.choose(agent.id, presence);
    this.#presenceChanged(agent, change);
    return change.after;
  }

  /** Loads a conversation and checks that `party` belongs to it; `forbidden`/`not_found` otherwise. */
  requireMember(party: Party, sessionID: string): Promise<ConversationRecord> {
    return this.#member(party, sessionID);
  }

  /** Appends a system event message (call lifecycle and the like) in order with the conversation's messages. */
  async appendEvent(sessionID: string, text: string): Promise<Message> {
    return this.#track(async () => (await this.#append(sessionID, SYSTEM_PARTY, 'event', text)).message);
  }

  /** Called with every conversation that closes, before members hear of it (the call ends first). */
  onClosed(listener: (sessionID: string, by: Party) => Promise<void>): void {
    this.#closedListeners.push(listener);
  }

  /** Invites an added agent into the conversation's call in progress, if any; throws to refuse (set by the call service). */
  setCallInviter(invite: (sessionID: string, by: Party, agent: Party) => void): void {
    this.#inviteToCall = invite;
  }

  /** Supplies the live call of a conversation for snapshots (set by the call service). */
  setCallLookup(lookup: (sessionID: string) => CallSnapshot | null): void {
    this.#callOf = lookup;
  }

  /** Resolves when no write is in flight (for graceful shutdown). */
  async drain(): Promise<void> {
    await this.#routing;
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  // ------------------------------------------------------------------ internals

  #presenceChanged(agent: Party, change: { before: Presence; after: Presence }): void {
    if (change.before === change.after) return;
    this.#bus.publish(topics.agents, { type: 'presence.changed', agent: { id: agent.id, name: agent.name, presence: change.after } });
    if (change.after === 'online') this.#route();
  }

  /**
   * Offers waiting conversations to free agents, one routing pass at a time. Triggers that arrive while a pass
   * is queued share it, so a burst of new chats costs one pass, not one pass per chat.
   */
  #route(): void {
    if (this.#routePending) return;
    this.#routePending = true;
    this.#routing = this.#routing
      .then(async () => {
        this.#routePending = false;
        if (!this.presence.connectedAgents().some((id) => this.presence.presenceOf(id) === 'online')) return;
        const queued = await this.#store.listQueuedConversations();
        if (queued.length === 0) return;
        const active = await this.#store.countActiveByAgent();
        for (const record of queued) {
          const candidates = this.presence.connectedAgents().map((id) => ({
            id,
            presence: this.presence.presenceOf(id),
            active: active.get(id) ?? 0,
            lastAssignedAt: this.presence.lastAssignedAt(id),
          }));
          const agent = pickAgent(candidates, this.#maxChats);
          if (agent === null) return;
          if ((await this.#assign(record.id, agent.id)) !== null) active.set(agent.id, agent.active + 1);
        }
      })
      .catch((err: unknown) => {
        this.#routePending = false;
        this.#log.error({ err }, 'routing failed');
      });
  }

  /** Sends agents the queue once per turn of the event loop, however many changes the turn made. */
  #queueChanged(): void {
    if (this.#queueBroadcastPending) return;
    this.#queueBroadcastPending = true;
    setImmediate(() => {
      this.#queueBroadcastPending = false;
      this.queueSnapshot().then(
        (queue) => this.#bus.publish(topics.agents, { type: 'queue.changed', queue }),
        (err: unknown) => this.#log.error({ err }, 'queue broadcast failed'),
      );
    });
  }

  /** Compare-and-set assignment, then the joined event and the announcements. */
  async #assign(sessionID: string, agentId: string): Promise<ConversationSnapshot | null> {
    const assigned = await this.#store.assignConversation(sessionID, agentId, new Date().toISOString());
    if (assigned === null) return null;
    this.presence.markAssigned(agentId);
    this.#open.set(sessionID, assigned);
    const agent = assigned.agent;
    await this.#append(sessionID, SYSTEM_PARTY, 'event', `${agent?.name ?? 'An agent'} joined the conversation`);
    const snapshot = this.#snap(this.#cached(sessionID));
    this.#bus.publish(topics.party(agentId), { type: 'conversation.assigned', conversation: snapshot });
    this.#bus.publish(topics.conversation(sessionID), { type: 'conversation.updated', conversation: snapshot });
    this.#queueChanged();
    this.#log.info({ sessionID, agentId }, 'conversation assigned');
    return snapshot;
  }

  /** Appends one message, in order with the conversation's other appends, and publishes it. */
  #append(sessionID: string, from: Party, kind: Message['kind'], text: string, clientId?: string, origin?: BusSubscriber) {
    return this.#serial(sessionID, async () => {
      const result = await this.#store.appendMessage({
        id: uuidv7(),
        sessionID,
        from,
        kind,
        text,
        at: new Date().toISOString(),
        ...(clientId !== undefined ? { clientId } : {}),
      });
      if (!result.duplicate) {
        const cached = this.#open.get(sessionID);
        if (cached && cached.lastSeq < result.message.seq) cached.lastSeq = result.message.seq;
        this.#bus.publish(topics.conversation(sessionID), { type: 'message', message: result.message }, origin ? { exceptSubscriber: origin } : {});
      }
      return result;
    });
  }

  #serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return result;
  }

  async #track<T>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await work();
    } finally {
      if (--this.#inFlight === 0 && this.#idle) {
        this.#idle();
        this.#idle = null;
      }
    }
  }

  #snap(record: ConversationRecord): ConversationSnapshot {
    return { ...toSnapshot(record, this.#members.get(record.id) ?? []), call: record.status === 'closed' ? null : this.#callOf(record.id) };
  }

  #cached(sessionID: string): ConversationRecord {
    const record = this.#open.get(sessionID);
    if (!record) throw new Error(`conversation ${sessionID} is not cached`);
    return record;
  }

  /** Loads a conversation and checks that `party` belongs to it. */
  async #member(party: Party, sessionID: string): Promise<ConversationRecord> {
    const record = this.#open.get(sessionID) ?? (await this.#store.getConversation(sessionID));
    if (record === null) throw ParleyServerError.notFound('conversation');
    const members = this.#members.get(sessionID) ?? (await this.#store.listConversationMembers(sessionID));
    const member =
      (party.role === 'visitor' && record.visitor.id === party.id) ||
      (party.role === 'agent' && (record.agent?.id === party.id || members.some((m) => m.id === party.id)));
    if (!member) throw ParleyServerError.forbidden('you are not a member of this conversation');
    if (record.status !== 'closed') {
      this.#open.set(sessionID, record);
      this.#members.set(sessionID, members);
    }
    return record;
  }

  /** Keeps an open conversation and its added agents at hand. */
  async #cache(record: ConversationRecord): Promise<void> {
    this.#open.set(record.id, record);
    if (!this.#members.has(record.id)) this.#members.set(record.id, await this.#store.listConversationMembers(record.id));
  }
}

function requireAgent(party: Party): void {
  if (party.role !== 'agent') throw ParleyServerError.forbidden('only agents may do this');
}
