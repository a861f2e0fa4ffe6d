import { checkMessageText } from '@parley/protocol/limits';
import { SYSTEM_PARTY } from '@parley/protocol/party';
import { ContactVideoApi } from '../call/ContactVideoApi.ts';
import type { ResolvedCallOptions } from '../call/callOptions.ts';
import { ParleyError } from '../errors.ts';
import type { KeyValueStorage } from '../storage.ts';
import type {
  ConversationSnapshot,
  GuestInvite,
  FireAndForgetFrame,
  ConversationStatus,
  HistoryResponse,
  Message,
  Party,
  RequestBody,
  RequestResults,
  RequestType,
  VisitorInfo,
} from '../wire.ts';
import type { ContactEvents } from './contactEvents.ts';
import { MessageLog } from './MessageLog.ts';
import { MessageSender } from './MessageSender.ts';
import type { Outbox, OutboxEntry } from './Outbox.ts';

/** What a {@link Contact} needs from the connection that owns it. */
export interface ContactLink {
  /** The identity of this page (the visitor or the agent). */
  self: Party;
  outbox: Outbox;
  request<T extends RequestType>(
    type: T,
    body: RequestBody<T>,
    options?: { waitForConnection?: boolean },
  ): Promise<RequestResults[T]>;
  sendTyping(sessionID: string, typing: boolean): boolean;
  /** Sends a frame that expects no answer (call signaling); false when offline. */
  send(frame: FireAndForgetFrame): boolean;
  /** Checks the signaling socket at once; false when it was dead and is being replaced. */
  checkConnection?(): Promise<boolean>;
  storage: KeyValueStorage;
  /** Storage key prefix of call records (the sessionID follows). */
  callStoragePrefix: string;
  callOptions: ResolvedCallOptions;
  isConnected(): boolean;
  history(sessionID: string, query: { before?: number; limit: number }): Promise<HistoryResponse>;
  /** The conversation closed: the owner forgets it. */
  onClosed(contact: Contact): void;
}

/** How many messages one history page holds when a conversation is opened or paged back. */
export const HISTORY_PAGE_SIZE = 100;
/** A `typing: true` is repeated at most this often while the user keeps typing. */
const TYPING_REPEAT_MS = 3_000;

/**
 * One conversation between a visitor and an agent, the same shape on both sides. Messages arrive in
 * order and exactly once through `on('message')`; messages sent with `sendMessage` survive dropped
 * connections and page reloads. Obtained from `Visitor.startChat()`, `Visitor.contact`,
 * `Agent.accept()` or the agent's `'contact'` event — never constructed directly.
 *
 * This class holds the chat only. Calls (media escalation, group calls) attach to a Contact as a
 * separate engine fed by the same session, so this file does not grow with them.
 *
 * @example
 * ```ts
 * contact.messages.forEach(render);           // history loaded so far
 * contact.on('message', render);              // everything new, in order
 * await contact.sendMessage('Hello!');        // resolves once stored
 * ```
 */
export class Contact extends ContactVideoApi<ContactEvents> {
  private snapshot: ConversationSnapshot;
  private readonly log = new MessageLog();
  private readonly sender: MessageSender;
  private olderAvailable = false;
  private seeded = false;
  private detached = false;
  private syncing: Promise<void> | null = null;
  private syncRequested = false;
  private closedEmitted = false;
  private typingSent = false;
  private typingSentAt = 0;

  /** @internal Created by the SDK. */
  constructor(
    snapshot: ConversationSnapshot,
    private readonly link: ContactLink,
  ) {
    super(
      {
        sessionID: snapshot.sessionID,
        self: link.self,
        request: (type, body) => link.request(type, body),
        send: (frame) => link.send(frame),
        ...(link.checkConnection ? { checkConnection: link.checkConnection } : {}),
        storage: link.storage,
        storagePrefix: link.callStoragePrefix,
        options: link.callOptions,
      },
      snapshot.call,
    );
    this.snapshot = snapshot;
    this.sender = new MessageSender({
      sessionID: snapshot.sessionID,
      outbox: link.outbox,
      transmit: (entry: OutboxEntry) =>
        link
          .request(
            'message.send',
            { sessionID: entry.sessionID, clientId: entry.clientId, text: entry.text },
            { waitForConnection: false },
          )
          .then((r) => r.message),
      isConnected: () => link.isConnected(),
      onStored: (message) => this.deliver(message),
    });
  }

  /** The conversation id. */
  get sessionID(): string {
    return this.snapshot.sessionID;
  }

  /** The real-time session id: the same value as `sessionID` (the agent workspace's name for it). */
  get rtSessionID(): string {
    return this.snapshot.sessionID;
  }

  /** The visitor's id. */
  get visitorId(): string {
    return this.snapshot.visitor.id;
  }

  /** The assigned agent's id, or null while the conversation waits in the queue. */
  get agentId(): string | null {
    return this.snapshot.agent?.id ?? null;
  }

  /** The visitor. */
  get visitor(): Party {
    return this.snapshot.visitor;
  }

  /** The assigned agent, or null while queued. */
  get agent(): Party | null {
    return this.snapshot.agent;
  }

  /**
   * The conversation's members besides its visitor and agent: other agents added to it (colleagues,
   * supervisors, see {@link Contact.addParticipant}), in the order they were added. A copy.
   * (The people in a call are its participants: `contact.video.participants`.)
   */
  get members(): Party[] {
    // The wire still calls them `participants`.
    return [...(this.snapshot.participants ?? [])];
  }

  /**
   * The same as {@link Contact.members}.
   * @deprecated Use `members`: "participants" are the people in a call (`contact.video.participants`).
   */
  get participants(): Party[] {
    return this.members;
  }

  /** `queued` (waiting for an agent), `active` or `closed`. */
  get status(): ConversationStatus {
    return this.snapshot.status;
  }

  /** Where the visitor is (page, browser), as the visitor's SDK reported it. */
  get visitorInfo(): VisitorInfo {
    return this.snapshot.visitorInfo;
  }

  /** The latest snapshot the server sent. */
  get conversation(): ConversationSnapshot {
    return this.snapshot;
  }

  /** History loaded so far plus every message since, in order (a copy). */
  get messages(): Message[] {
    return this.log.messages;
  }

  /** Messages sent from this identity that the server has not acknowledged yet, oldest first. */
  get pendingMessages(): OutboxEntry[] {
    return this.sender.pending;
  }

  /** True when older messages than `messages[0]` exist on the server (see {@link Contact.loadOlder}). */
  get hasOlder(): boolean {
    return this.olderAvailable && this.log.firstSeq > 1;
  }

  /**
   * Sends a chat message. Resolves with the stored message once the server has acknowledged it;
   * while offline it waits and is re-sent (with the same client id) after reconnecting, even after a
   * page reload. The message also arrives through `on('message')`.
   * @throws ParleyError `invalid_frame` (empty), `too_large` (over 4000 characters), `conflict`
   *   (conversation closed), `forbidden`; or `unavailable` if `disconnect()` was called before it was sent.
   */
  sendMessage(text: string): Promise<Message> {
    if (typeof text !== 'string') return Promise.reject(ParleyError.invalid('message text is empty'));
    const problem = checkMessageText(text);
    if (problem) return Promise.reject(new ParleyError(problem.code, problem.message));
    if (this.status === 'closed') {
      return Promise.reject(new ParleyError('conflict', 'the conversation is closed'));
    }
    if (this.typingSent) this.setTyping(false);
    return this.sender.enqueue(text);
  }

  /**
   * Tells the other members whether this side is typing. Cheap to call on every keystroke:
   * repeated `true`s are sent at most every few seconds, and nothing is sent while offline.
   */
  setTyping(typing: boolean): void {
    if (this.status === 'closed') return;
    const now = Date.now();
    if (typing && this.typingSent && now - this.typingSentAt < TYPING_REPEAT_MS) return;
    if (!typing && !this.typingSent) return;
    if (this.link.sendTyping(this.sessionID, typing)) {
      this.typingSent = typing;
      this.typingSentAt = now;
    }
  }

  /**
   * Loads the page of history before the oldest message held (over HTTP) and puts it in front of
   * `messages`. Resolves with the messages added, oldest first (empty at the beginning).
   * These are history: they are not emitted as `'message'`.
   */
  async loadOlder(limit = HISTORY_PAGE_SIZE): Promise<Message[]> {
    const before = this.log.firstSeq;
    if (before <= 1) return [];
    const page = await this.link.history(this.sessionID, { before, limit });
    const added = this.log.prepend(page.messages);
    this.olderAvailable = page.more;
    return added;
  }

  /**
   * Closes the conversation for everyone. Resolves once the server has closed it (at once if it
   * already is). `'closed'` fires too.
   */
  async close(): Promise<void> {
    if (this.status === 'closed') return;
    try {
      const { conversation } = await this.link.request('conversation.close', { sessionID: this.sessionID });
      this.markClosed(this.link.self);
      this.applySnapshot(conversation);
    } catch (err) {
      if (!(err instanceof ParleyError && err.code === 'conflict')) throw err;
      this.markClosed(this.link.self);
    }
  }

  /**
   * Agent: brings an online colleague or supervisor into the conversation. It sees the transcript, gets this
   * conversation through its Agent's `'contact'` event and, while a call is in progress, a `'videoInvite'`.
   * Adding a colleague who is a member already only invites it into the call.
   * @throws ParleyError `capacity` (the call is full; nothing changed), `conflict` (offline, in it already,
   *   conversation not active), `not_found`, `forbidden`.
   * @example
   * ```ts
   * const online = (await agent.agents()).filter((a) => a.presence === 'online' && a.id !== agent.id);
   * await contact.addParticipant(online[0].id);
   * ```
   */
  async addParticipant(agentId: string): Promise<void> {
    const { conversation } = await this.link.request('conversation.addParticipant', { sessionID: this.sessionID, agentId });
    this.applySnapshot(conversation);
  }

  /**
   * Either side, during a call: a signed link for one more person (a family member, a technician) to join the
   * call. It expires (15 minutes by default), admits one person, and opens a guest page on the Parley server.
   * @throws ParleyError `conflict` (no call in progress), `capacity` (the call is full), `forbidden`.
   * @example
   * ```ts
   * const { url } = await contact.createGuestInvite();
   * await navigator.clipboard.writeText(url);
   * ```
   */
  createGuestInvite(): Promise<GuestInvite> {
    return this.link.request('guest.invite', { sessionID: this.sessionID });
  }

  // ------------------------------------------------------------------ fed by the SDK (internal)

  /**
   * @internal Loads the last page of history, then syncs what followed, then starts sending the
   * outbox. Messages held when this resolves are history; later ones are emitted.
   */
  async open(): Promise<void> {
    const lastSeq = this.snapshot.lastSeq;
    if (lastSeq > 0) {
      let history: Message[];
      try {
        const page = await this.link.history(this.sessionID, { before: lastSeq + 1, limit: HISTORY_PAGE_SIZE });
        history = page.messages;
        this.olderAvailable = page.more;
      } catch (err) {
        if (err instanceof ParleyError && err.final) throw err;
        // HTTP unreachable (a proxy, CORS): take the same page over the socket.
        const afterSeq = Math.max(0, lastSeq - HISTORY_PAGE_SIZE);
        const page = await this.link.request('conversation.sync', { sessionID: this.sessionID, afterSeq });
        history = page.messages.filter((m) => m.seq <= lastSeq);
        this.olderAvailable = afterSeq > 0;
      }
      this.log.seed(history);
    } else {
      this.log.seed([]);
    }
    this.seeded = true;
    await this.resync();
    if (this.status === 'closed') this.sender.stop(new ParleyError('conflict', 'the conversation is closed'), true);
    else this.sender.start();
  }

  /** @internal The connection is back: fetch what was missed and re-send the outbox. */
  connectionRestored(): Promise<void> {
    this.call.connectionRestored(this.snapshot.call);
    this.sender.flush();
    return this.resync();
  }

  /**
   * @internal Fetches every message after the last one released (`conversation.sync`, paging while
   * `more`). Concurrent calls share one run; a call during a run causes one more round.
   */
  resync(): Promise<void> {
    this.syncRequested = true;
    if (!this.syncing) {
      this.syncing = this.runSync().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  /** @internal A `message` frame, a `result` or a sync page: released in order, once. */
  deliver(message: Message): void {
    for (const released of this.log.accept(message)) this.emit('message', released);
    if (this.seeded && this.log.hasGap) {
      this.resync().catch((err) => {
        if (!this.detached) console.warn('Parley: sync failed; it is retried after the next reconnection', err);
      });
    }
  }

  /** @internal Handed out: call events may fire now (a live call found at load resumes). */
  activateCalls(): void {
    setTimeout(() => this.call.activate(), 0);
  }

  /** @internal A `typing` frame. */
  receiveTyping(from: Party, typing: boolean): void {
    this.emit('typing', { sessionID: this.sessionID, from, typing });
  }

  /** @internal A newer snapshot (`conversation.updated`, a sync, a `ready`). */
  applySnapshot(next: ConversationSnapshot): void {
    const previous = this.snapshot;
    this.snapshot = next;
    if (next.call) this.call.apply(next.call);
    const changed =
      previous.status !== next.status ||
      previous.agent?.id !== next.agent?.id ||
      previous.agent?.name !== next.agent?.name ||
      previous.visitor.name !== next.visitor.name;
    if (changed) this.emit('updated', next);
    if (next.status === 'closed' && previous.status !== 'closed') this.markClosed(SYSTEM_PARTY);
  }

  /** @internal The conversation was closed (`conversation.closed`, or learnt from a snapshot). */
  markClosed(by: Party): void {
    if (this.closedEmitted) return;
    this.closedEmitted = true;
    if (this.snapshot.status !== 'closed') {
      this.snapshot = { ...this.snapshot, status: 'closed', closedAt: this.snapshot.closedAt ?? new Date().toISOString() };
    }
    this.sender.stop(new ParleyError('conflict', 'the conversation was closed'), true);
    this.typingSent = false;
    this.call.parentClosed('closed');
    this.link.onClosed(this);
    this.emit('closed', { sessionID: this.sessionID, by });
  }

  /** @internal The owner disconnected: stop sending (the outbox stays stored for the next page). */
  parentClosed(): void {
    this.detached = true;
    this.call.parentClosed(null);
    this.sender.stop(ParleyError.unavailable('disconnected before the message was sent'), false);
  }

  private async runSync(): Promise<void> {
    while (this.syncRequested) {
      this.syncRequested = false;
      try {
        let more = true;
        while (more) {
          const page = await this.link.request('conversation.sync', {
            sessionID: this.sessionID,
            afterSeq: this.log.lastSeq,
          });
          for (const message of page.messages) {
            for (const released of this.log.accept(message)) this.emit('message', released);
          }
          this.applySnapshot(page.conversation);
          more = page.more && page.messages.length > 0;
        }
      } catch (err) {
        if (!this.syncRequested) throw err;
      }
    }
  }
}
