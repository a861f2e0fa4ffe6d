import { randomUUID } from 'node:crypto';
import type { CallSnapshot, ConversationSnapshot, Message, Party, VisitorInfo } from '@parley/protocol';
import { LIMITS, checkMessageText, mayClose } from '@parley/protocol';
import type { Logger } from 'pino';
import { requireAgent } from '../auth/roles.ts';
import type { Bus, BusSubscriber } from '../bus/Bus.ts';
import { topics } from '../bus/topics.ts';
import { ParleyServerError } from '../errors.ts';
import type { AgentPresence } from '../routing/AgentPresence.ts';
import type { Queue, QueuePage } from '../routing/Queue.ts';
import { Router } from '../routing/Router.ts';
import type { ConversationRecord, MessagePage, Store } from '../store/Store.ts';
import { InFlight } from './InFlight.ts';
import type { OpenConversations } from './OpenConversations.ts';
import type { QueueAdmission } from './QueueAdmission.ts';
import { toSnapshot } from './snapshots.ts';
import type { Transcript } from './Transcript.ts';

/** What conversations need of calls (the call service provides it). */
export interface ConversationCalls {
  /** The live call of a conversation, for its snapshot; null when there is none. */
  liveCall(sessionID: string): CallSnapshot | null;
  /** Invites an agent just added to the conversation into its call in progress, if any. Throws (`capacity`) to refuse the addition. */
  inviteMember(sessionID: string, by: Party, agent: Party): Promise<void>;
  /** The conversation closed: its call ends (and is stored) before members hear of the close. */
  conversationClosed(event: { sessionID: string; by: Party }): Promise<void>;
}

export interface ConversationServiceOptions {
  store: Store;
  bus: Bus;
  log: Logger;
  open: OpenConversations;
  transcript: Transcript;
  queue: Queue;
  presence: AgentPresence;
  calls: ConversationCalls;
  /** Most active conversations routing gives one agent. */
  agentMaxChats: number;
  /** Who may wait in the queue (per client address and in all). */
  admission: QueueAdmission;
}

/**
 * The conversation domain: opening, messages, typing, taking from the queue, adding members, closing.
 * Authorization lives here: every method takes the acting party and checks it may act. Routing (who gets a
 * waiting conversation) is the {@link Router}'s; the messages themselves are the {@link Transcript}'s.
 */
export class ConversationService {
  readonly #options: ConversationServiceOptions;
  readonly #open: OpenConversations;
  readonly #transcript: Transcript;
  readonly #router: Router;
  readonly #inFlight = new InFlight();
  /** Per visitor: its chat.start in progress. Starts of one visitor run one at a time, so it has one open conversation. */
  readonly #starting = new Map<string, Promise<unknown>>();

  constructor(options: ConversationServiceOptions) {
    this.#options = options;
    this.#open = options.open;
    this.#transcript = options.transcript;
    this.#router = new Router({
      store: options.store,
      presence: options.presence.registry,
      maxChats: options.agentMaxChats,
      assign: async (sessionID, agentId) => (await this.#assign(sessionID, agentId)) !== null,
      lock: (pass) => options.store.withLock('routing', pass),
      refresh: () => options.presence.refresh(),
      log: options.log,
    });
    options.presence.on('online', () => this.#router.route());
  }

  // ------------------------------------------------------------------ visitors

  /**
   * Opens a conversation for a visitor, or returns its open one: a visitor has at most one open conversation,
   * however many connections start one at once. Routes it to an agent when one is free. A new conversation
   * waits in the queue only within the caps of {@link QueueAdmission} (`address`: the client's).
   */
  async startChat(
    visitor: Party,
    input: { text?: string | undefined; clientId?: string | undefined; info?: VisitorInfo | undefined; address: string },
  ): Promise<{ conversation: ConversationSnapshot; message: Message | null }> {
    if (visitor.role !== 'visitor') throw ParleyServerError.forbidden('only visitors start chats');
    const before = this.#starting.get(visitor.id) ?? Promise.resolve();
    const run = before.then(() => this.#startChat(visitor, input));
    const settled = run.catch(() => undefined);
    this.#starting.set(visitor.id, settled);
    void settled.then(() => {
      if (this.#starting.get(visitor.id) === settled) this.#starting.delete(visitor.id);
    });
    return run;
  }

  async #startChat(
    visitor: Party,
    input: { text?: string | undefined; clientId?: string | undefined; info?: VisitorInfo | undefined; address: string },
  ): Promise<{ conversation: ConversationSnapshot; message: Message | null }> {
    const { store, bus, log, queue, admission } = this.#options;
    return this.#inFlight.track(async () => {
      const existing = (await store.listOpenConversationsForVisitor(visitor.id))[0];
      let record = existing ?? null;
      if (record !== null) await this.#open.keep(record);
      else {
        const id = randomUUID();
        await admission.admit(id, input.address);
        record = await store
          .createConversation({
          id,
          visitorId: visitor.id,
          visitorInfo: input.info ?? {},
          firstMessage: input.text?.slice(0, 200) ?? null,
          createdAt: new Date().toISOString(),
          })
          .catch((err: unknown) => {
            admission.left(id);
            throw err;
          });
        log.info({ sessionID: record.id, visitorId: visitor.id }, 'conversation started');
        await this.#open.keep(record, []); // a new conversation has no members yet: no need to ask the store
      }
      const sessionID = record.id;
      let message: Message | null = null;
      if (input.text !== undefined) {
        message = (await this.#transcript.append(sessionID, visitor, 'text', input.text, input.clientId ?? randomUUID())).message;
      }
      bus.publish(topics.party(visitor.id), { type: 'conversation.updated', conversation: this.#snapshotOf(this.#open.get(sessionID)) });
      if (existing === undefined) {
        queue.added(sessionID);
        this.#router.route();
      }
      return { conversation: this.#snapshotOf(this.#open.get(sessionID)), message };
    });
  }

  // ------------------------------------------------------------------ both sides

  /** Stores a text message and publishes it. Idempotent on clientId; `origin` gets it in its `result` only. */
  async sendMessage(from: Party, sessionID: string, clientId: string, text: string, origin?: BusSubscriber) {
    const problem = checkMessageText(text);
    if (problem) throw new ParleyServerError(problem.code, problem.message);
    const record = await this.#open.requireMember(from, sessionID);
    if (record.status === 'closed') throw ParleyServerError.conflict('the conversation is closed');
    return this.#inFlight.track(() => this.#transcript.append(sessionID, from, 'text', text, clientId, origin));
  }

  /** Tells the other members that `from` is typing (or stopped). */
  async typing(from: Party, sessionID: string, typing: boolean): Promise<void> {
    const record = await this.#open.requireMember(from, sessionID);
    if (record.status === 'closed') return;
    this.#options.bus.publish(topics.conversation(sessionID), { type: 'typing', sessionID, from, typing }, { exceptParty: from.id });
  }

  /** Closes a conversation (its visitor or its agent, as `mayClose` of the protocol says; not an added colleague); its call ends first. */
  async close(by: Party, sessionID: string): Promise<ConversationSnapshot> {
    const record = await this.#open.requireMember(by, sessionID);
    const refusal = mayClose(by, { visitorId: record.visitor.id, agentId: record.agent?.id ?? null });
    if (refusal) throw new ParleyServerError(refusal.code, refusal.message);
    if (record.status === 'closed') throw ParleyServerError.conflict('the conversation is already closed');
    const { store, bus, log, queue } = this.#options;
    return this.#inFlight.track(async () => {
      const closed = await store.closeConversation(sessionID, by, new Date().toISOString());
      if (closed === null) throw ParleyServerError.conflict('the conversation is already closed');
      await this.#options.calls.conversationClosed({ sessionID, by });
      await this.#transcript.appendEvent(sessionID, `${by.name} closed the conversation`);
      const final = { ...closed, lastSeq: this.#open.get(sessionID).lastSeq };
      this.#open.drop(sessionID);
      this.#options.admission.left(sessionID);
      bus.publish(topics.conversation(sessionID), { type: 'conversation.closed', sessionID, by });
      if (record.status === 'queued') queue.removed(sessionID);
      else this.#router.route();
      log.info({ sessionID, by: by.id }, 'conversation closed');
      return this.#snapshotOf(final);
    });
  }

  /** Messages after `afterSeq` (at most one page) with the conversation's snapshot. */
  async sync(party: Party, sessionID: string, afterSeq: number) {
    const record = await this.#open.requireMember(party, sessionID);
    const page = await this.#options.store.listMessages(sessionID, { afterSeq, limit: LIMITS.maxPageSize });
    return { conversation: this.#snapshotOf(record), messages: page.messages, more: page.more };
  }

  /** One page of history for the HTTP API. */
  async history(party: Party, sessionID: string, query: { before?: number; after?: number; limit: number }): Promise<MessagePage> {
    await this.#open.requireMember(party, sessionID);
    return this.#options.store.listMessages(sessionID, {
      limit: query.limit,
      ...(query.after !== undefined ? { afterSeq: query.after } : {}),
      ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
    });
  }

  /** Open conversations of a visitor, or the active ones an agent has or is a member of. */
  async openConversationsOf(party: Party): Promise<ConversationSnapshot[]> {
    const { store } = this.#options;
    const records =
      party.role === 'visitor'
        ? await store.listOpenConversationsForVisitor(party.id)
        : party.role === 'agent'
          ? [...(await store.listOpenConversationsForAgent(party.id)), ...(await store.listOpenConversationsAsMember(party.id))]
          : [];
    for (const r of records) await this.#open.keep(r);
    return records.map((r) => this.#snapshotOf(r));
  }

  // ------------------------------------------------------------------ agents

  /** One page of the waiting queue (see {@link Queue.page}). */
  async queue(agent: Party, query: { limit?: number | undefined; after?: string | undefined } = {}): Promise<QueuePage> {
    requireAgent(agent);
    return this.#options.queue.page(query);
  }

  /** An agent takes a waiting conversation. `conflict` when someone else was faster. */
  async accept(agent: Party, sessionID: string): Promise<ConversationSnapshot> {
    requireAgent(agent);
    return this.#inFlight.track(async () => {
      const record = await this.#options.store.getConversation(sessionID);
      if (record === null) throw ParleyServerError.notFound('conversation');
      if (record.status !== 'queued') throw ParleyServerError.conflict('the conversation is no longer waiting');
      const assigned = await this.#assign(record.id, agent.id);
      if (assigned === null) throw ParleyServerError.conflict('another agent took the conversation first');
      return assigned;
    });
  }

  /**
   * An agent of the conversation adds a colleague as a member: the member sees the transcript, gets the
   * conversation (`conversation.assigned`) and, while a call is in progress, an invitation into it. Adding a
   * member again only invites it into the call. Refused as a whole (nothing changes) when the call is full.
   */
  async addMember(by: Party, sessionID: string, agentId: string): Promise<ConversationSnapshot> {
    requireAgent(by);
    const { store, bus, log, presence, calls } = this.#options;
    const record = await this.#open.requireMember(by, sessionID);
    if (record.status !== 'active') throw ParleyServerError.conflict(`the conversation is ${record.status}; colleagues join active conversations`);
    if (agentId === by.id || agentId === record.agent?.id) throw ParleyServerError.conflict('that agent is in the conversation already');
    const target = await store.getAgent(agentId);
    if (target === null) throw ParleyServerError.notFound('agent');
    if (presence.presenceOf(agentId) === 'offline') throw ParleyServerError.conflict(`${target.name} is offline`);
    const agent: Party = { id: target.id, role: 'agent', name: target.name };
    return this.#inFlight.track(async () => {
      await calls.inviteMember(sessionID, by, agent); // throws `capacity` before anything changed
      const added = await store.addConversationMember({ sessionID, agentId, addedById: by.id, at: new Date().toISOString() });
      if (added) {
        this.#open.addMember(sessionID, agent);
        await this.#transcript.appendEvent(sessionID, `${by.name} added ${agent.name} to the conversation`);
      }
      const snapshot = this.#snapshotOf(this.#open.get(sessionID));
      bus.publish(topics.party(agentId), { type: 'conversation.assigned', conversation: snapshot });
      if (added) bus.publish(topics.conversation(sessionID), { type: 'conversation.updated', conversation: snapshot });
      log.info({ sessionID, by: by.id, agentId, added }, 'member added');
      return snapshot;
    });
  }

  /** Resolves when no write is in flight (for graceful shutdown). */
  async drain(): Promise<void> {
    await this.#router.idle();
    await this.#inFlight.idle();
    await this.#transcript.idle();
  }

  // ------------------------------------------------------------------ internals

  /** Compare-and-set assignment, then the joined event and the announcements. */
  async #assign(sessionID: string, agentId: string): Promise<ConversationSnapshot | null> {
    const { store, bus, log, presence, queue } = this.#options;
    const assigned = await store.assignConversation(sessionID, agentId, new Date().toISOString());
    if (assigned === null) return null;
    this.#options.admission.left(sessionID);
    presence.registry.markAssigned(agentId);
    this.#open.update(assigned);
    await this.#transcript.appendEvent(sessionID, `${assigned.agent?.name ?? 'An agent'} joined the conversation`);
    const snapshot = this.#snapshotOf(this.#open.get(sessionID));
    bus.publish(topics.party(agentId), { type: 'conversation.assigned', conversation: snapshot });
    bus.publish(topics.conversation(sessionID), { type: 'conversation.updated', conversation: snapshot });
    queue.removed(sessionID);
    log.info({ sessionID, agentId }, 'conversation assigned');
    return snapshot;
  }

  #snapshotOf(record: ConversationRecord): ConversationSnapshot {
    return { ...toSnapshot(record, this.#open.membersOf(record.id)), call: record.status === 'closed' ? null : this.#options.calls.liveCall(record.id) };
  }
}
