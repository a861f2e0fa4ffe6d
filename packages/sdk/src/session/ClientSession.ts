import { SYSTEM_PARTY } from '@parley/protocol/party';
import { callStoragePrefix } from '../call/CallStorage.ts';
import { resolveCallOptions, type CallOptions, type ResolvedCallOptions } from '../call/callOptions.ts';
import { Contact, type ContactLink } from '../conversation/Contact.ts';
import { Outbox } from '../conversation/Outbox.ts';
import { ParleyError } from '../errors.ts';
import type { HttpClient } from '../http.ts';
import type { ConnectEnvironment, ConnectOptions } from '../options.ts';
import type { RetryPolicy } from '../signaling/retryPolicy.ts';
import {
  SignalingChannel,
  type ConnectionState,
  type WebSocketConstructor,
} from '../signaling/SignalingChannel.ts';
import { storageKeys, type KeyValueStorage } from '../storage.ts';
import type { ConversationSnapshot, Party, PushFrame, ReadyFrame, VisitorInfo } from '../wire.ts';

/** Everything a {@link ClientSession} is built from. */
export interface ClientSessionOptions {
  /** Normalised server base URL (the storage namespace). */
  server: string;
  websocketUrl: string;
  token: string;
  http: HttpClient;
  storage: KeyValueStorage;
  info?: VisitorInfo;
  WebSocket?: WebSocketConstructor;
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  retryPolicy?: RetryPolicy;
  /** The call engine's options (media handler, timings). */
  call?: CallOptions;
}

/** The session options shared by visitors and agents, from the resolved environment and the caller's options. */
export function sessionOptionsFrom(env: ConnectEnvironment, options: ConnectOptions, token: string): ClientSessionOptions {
  return {
    server: env.address.base,
    websocketUrl: env.address.websocket,
    token,
    http: env.http,
    storage: env.storage,
    WebSocket: options.WebSocket,
    requestTimeoutMs: options.requestTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    retryPolicy: options.retryPolicy,
    call: options.call,
  };
}

/** How a {@link ClientSession} reports to the Visitor or Agent that owns it. */
export interface ClientSessionCallbacks {
  onStateChanged(state: ConnectionState): void;
  /** A pushed frame the session does not handle itself (queue, presence, unknown conversations, errors). */
  onPush(frame: PushFrame): void;
  /** A conversation was opened and handed out. */
  onContactAdded(contact: Contact): void;
  /** A handed-out conversation closed. */
  onContactRemoved(contact: Contact): void;
  /** A `ready` after a reconnection (the first one is the result of `start`). */
  onReconnected(ready: ReadyFrame): void;
  /** The connection stopped for good (`null`: `disconnect()` was called). */
  onDisconnected(error: ParleyError | null): void;
}

/**
 * The machinery shared by visitors and agents: one {@link SignalingChannel}, the open conversations
 * (one {@link Contact} per sessionID), the dispatch of conversation frames to them, and the resume
 * after every reconnection (sync from the last seq seen, re-send the outbox).
 */
export class ClientSession {
  /** The one connection to the server. */
  readonly channel: SignalingChannel;
  private readonly options: ClientSessionOptions;
  private readonly callbacks: ClientSessionCallbacks;
  private identity: Party | null = null;
  private link: ContactLink | null = null;
  /** Every contact, opened or opening, by sessionID. */
  private readonly contacts = new Map<string, Contact>();
  /** Contacts still loading their history. */
  private readonly opening = new Map<string, Promise<Contact>>();
  /** Contacts handed out (open ones), in the order they were opened. */
  private readonly handedOut = new Set<string>();
  private callOptionsValue: ResolvedCallOptions | null = null;

  constructor(options: ClientSessionOptions, callbacks: ClientSessionCallbacks) {
    this.options = options;
    this.callbacks = callbacks;
    this.channel = new SignalingChannel({
      url: options.websocketUrl,
      token: options.token,
      info: options.info,
      WebSocket: options.WebSocket,
      requestTimeoutMs: options.requestTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      retryPolicy: options.retryPolicy,
      inCall: () => [...this.contacts.values()].some((contact) => contact.inCall),
    });
    this.channel.on('connectionStateChanged', (state) => callbacks.onStateChanged(state));
    this.channel.on('frame', (frame) => this.dispatch(frame));
    this.channel.on('ready', (ready, { reconnected }) => {
      if (!reconnected) return;
      callbacks.onReconnected(ready);
      this.adopt(ready).catch((err) => this.warn('resume after reconnection failed', err));
    });
    this.channel.on('disconnected', (error) => {
      for (const contact of this.contacts.values()) contact.parentClosed();
      callbacks.onDisconnected(error);
    });
  }

  /** Who this connection is, once started. */
  get self(): Party {
    if (!this.identity) throw new ParleyError('conflict', 'the session is not started');
    return this.identity;
  }

  /** Open conversations handed out, oldest first. */
  get openContacts(): Contact[] {
    const list: Contact[] = [];
    for (const id of this.handedOut) {
      const contact = this.contacts.get(id);
      if (contact) list.push(contact);
    }
    return list;
  }

  /** The call options, resolved when first needed (the browser handler is only made in browsers that call). */
  private get callOptions(): ResolvedCallOptions {
    this.callOptionsValue ??= resolveCallOptions(this.options.call);
    return this.callOptionsValue;
  }

  /** Connects, authenticates and opens every conversation listed in `ready`. */
  async start(): Promise<ReadyFrame> {
    const ready = await this.channel.connect();
    this.identity = ready.identity;
    const outbox = new Outbox(this.options.storage, storageKeys.outbox(this.options.server, ready.identity.id));
    this.link = this.makeLink(outbox);
    await this.adopt(ready);
    return ready;
  }

  /** The Contact for a conversation, opened (history loaded) once; the same object on every call. */
  ensureContact(snapshot: ConversationSnapshot): Promise<Contact> {
    const id = snapshot.sessionID;
    const known = this.contacts.get(id);
    if (known) {
      known.applySnapshot(snapshot);
      return this.opening.get(id) ?? Promise.resolve(known);
    }
    if (!this.link) return Promise.reject(new ParleyError('conflict', 'the session is not started'));
    if (snapshot.status === 'closed') return Promise.reject(new ParleyError('conflict', 'the conversation is closed'));
    const contact = new Contact(snapshot, this.link);
    this.contacts.set(id, contact);
    const opened = contact.open().then(
      () => {
        this.opening.delete(id);
        if (this.contacts.get(id) !== contact) return contact; // closed while opening
        this.handedOut.add(id);
        this.callbacks.onContactAdded(contact);
        contact.activateCalls();
        return contact;
      },
      (err: unknown) => {
        this.opening.delete(id);
        if (this.contacts.get(id) === contact) this.contacts.delete(id);
        contact.parentClosed();
        throw ParleyError.from(err);
      },
    );
    this.opening.set(id, opened);
    return opened;
  }

  /** Closes the connection for good; contacts stop sending (their outbox stays stored). */
  disconnect(): void {
    this.channel.disconnect();
  }

  /** Opens the listed conversations, resumes the known ones, and checks on known ones not listed. */
  private async adopt(ready: ReadyFrame): Promise<void> {
    const listed = new Set(ready.conversations.map((c) => c.sessionID));
    this.link?.outbox.retainOnly(new Set([...listed, ...this.contacts.keys()]));
    const tasks: Promise<unknown>[] = [];
    for (const snapshot of ready.conversations) {
      const contact = this.contacts.get(snapshot.sessionID);
      const opening = this.opening.get(snapshot.sessionID);
      if (opening) {
        // Its first load may have been cut by the drop: open it again if so.
        tasks.push(opening.catch(() => this.ensureContact(snapshot)));
      } else if (contact) {
        contact.applySnapshot(snapshot);
        tasks.push(contact.connectionRestored());
      } else {
        tasks.push(this.ensureContact(snapshot));
      }
    }
    for (const [id, contact] of this.contacts) {
      if (listed.has(id) || this.opening.has(id)) continue;
      // Not open for us any more (closed or taken away while offline): the sync tells which.
      tasks.push(
        contact.resync().catch((err: unknown) => {
          if (err instanceof ParleyError && err.final) contact.markClosed(SYSTEM_PARTY);
          else throw err;
        }),
      );
    }
    const results = await Promise.allSettled(tasks);
    for (const result of results) {
      if (result.status === 'rejected') this.warn('could not resume a conversation', result.reason);
    }
  }

  private dispatch(frame: PushFrame): void {
    switch (frame.type) {
      case 'message':
        this.contacts.get(frame.message.sessionID)?.deliver(frame.message);
        return;
      case 'typing':
        this.contacts.get(frame.sessionID)?.receiveTyping(frame.from, frame.typing);
        return;
      case 'conversation.closed':
        this.contacts.get(frame.sessionID)?.markClosed(frame.by);
        return;
      case 'conversation.updated': {
        const contact = this.contacts.get(frame.conversation.sessionID);
        if (contact) contact.applySnapshot(frame.conversation);
        else this.callbacks.onPush(frame);
        return;
      }
      case 'conversation.assigned':
        this.ensureContact(frame.conversation).catch((err) => this.warn('could not open an assigned conversation', err));
        return;
      case 'call.updated':
        this.contacts.get(frame.call.sessionID)?.receiveCall(frame.call);
        return;
      case 'signal':
        this.contacts.get(frame.sessionID)?.receiveSignal(frame);
        return;
      case 'error':
      case 'queue.updated':
      case 'presence.changed':
        this.callbacks.onPush(frame);
        return;
      default: {
        const unknown: never = frame;
        void unknown;
      }
    }
  }

  /** Reports a background failure, unless it only happened because the connection is gone. */
  private warn(what: string, err: unknown): void {
    if (this.channel.state === 'disconnected') return;
    console.warn(`Parley: ${what}`, err);
  }

  private makeLink(outbox: Outbox): ContactLink {
    const channel = this.channel;
    return {
      self: this.self,
      outbox,
      request: (type, body, options) => channel.request(type, body, options),
      sendTyping: (sessionID, typing) => channel.send({ type: 'typing', sessionID, typing }),
      send: (frame) => channel.send(frame),
      checkConnection: () => channel.verify(),
      storage: this.options.storage,
      callStoragePrefix: callStoragePrefix(this.options.server),
      callOptions: this.callOptions,
      isConnected: () => channel.state === 'connected',
      history: (sessionID, query) => this.options.http.history(sessionID, query),
      onClosed: (contact) => {
        const id = contact.sessionID;
        if (this.contacts.get(id) === contact) this.contacts.delete(id);
        if (this.handedOut.delete(id)) this.callbacks.onContactRemoved(contact);
      },
    };
  }
}
