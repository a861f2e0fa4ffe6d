import type { Contact } from '../conversation/Contact.ts';
import { ParleyError } from '../errors.ts';
import { newId } from '../ids.ts';
import { resolveEnvironment, type ConnectEnvironment, type ConnectOptions } from '../options.ts';
import type { ConnectionState } from '../signaling/SignalingChannel.ts';
import { readJson, storageKeys, writeJson } from '../storage.ts';
import { TypedEmitter } from '../TypedEmitter.ts';
import type { CreateVisitorResponse, Party, PushFrame, VisitorInfo } from '../wire.ts';
import { ClientSession, sessionOptionsFrom } from './ClientSession.ts';

/** Options of `Parley.connectVisitor`. */
export interface VisitorConnectOptions extends ConnectOptions {
  /** Display name for a new visitor (an identity kept from an earlier visit keeps its name). */
  name?: string;
  /** Email for a new visitor. */
  email?: string;
  /** Where the visitor is; default: the page URL and user agent when in a browser. */
  info?: VisitorInfo;
}

/** Events of a {@link Visitor}. */
export interface VisitorEvents {
  /** A conversation appeared (started here, in another tab, or resumed after reconnecting). */
  contact: [contact: Contact];
  /** The connection state changed; `'reconnecting'` means messages wait in the outbox. */
  connectionStateChanged: [state: ConnectionState];
  /** The connection stopped for good: `null` after `disconnect()`, else why (e.g. `unauthorized`). */
  disconnected: [error: ParleyError | null];
  /** The server reported an error not tied to a request (e.g. `rate_limited`). */
  error: [error: ParleyError];
}

/** What is kept in storage to be the same visitor after a reload. */
interface StoredVisitor {
  visitorId: string;
  token: string;
}

/**
 * A website visitor's connection. The identity is kept in storage (per server), so a reload resumes
 * the same visitor and its open conversation.
 *
 * @example
 * ```ts
 * const visitor = await Parley.connectVisitor({ server: 'https://chat.example.com', name: 'Ada' });
 * const contact = visitor.contact ?? (await visitor.startChat({ text: 'Hi, I need help' }));
 * contact.on('message', (m) => console.log(`${m.from.name}: ${m.text}`));
 * ```
 */
export class Visitor extends TypedEmitter<VisitorEvents> {
  private readonly session: ClientSession;
  private identity: Party = { id: '', role: 'visitor', name: '' };
  private starting: Promise<Contact> | null = null;

  private constructor(env: ConnectEnvironment, options: VisitorConnectOptions, token: string) {
    super();
    this.session = new ClientSession(
      { ...sessionOptionsFrom(env, options, token), info: options.info ?? browserInfo() },
      {
        onStateChanged: (state) => this.emit('connectionStateChanged', state),
        onPush: (frame) => this.handlePush(frame),
        onContactAdded: (contact) => this.emit('contact', contact),
        onContactRemoved: () => {},
        onReconnected: () => {},
        onDisconnected: (error) => this.emit('disconnected', error),
      },
    );
  }

  /**
   * Connects as a visitor: reuses the identity kept in storage for this server, or creates one
   * (`POST /api/visitors`) when there is none or the server refuses it.
   * @throws ParleyError `unavailable` (server unreachable), `invalid_frame` (bad options), …
   */
  static async connect(options: VisitorConnectOptions): Promise<Visitor> {
    const env = resolveEnvironment(options);
    const key = storageKeys.visitorIdentity(env.address.base);
    const stored = readJson<StoredVisitor>(env.storage, key);
    if (stored && typeof stored.token === 'string') {
      try {
        return await Visitor.open(env, options, stored.token);
      } catch (err) {
        if (!(err instanceof ParleyError && err.code === 'unauthorized')) throw err;
        env.storage.removeItem(key);
      }
    }
    const created = await env.http.post<CreateVisitorResponse>('/api/visitors', {
      name: options.name,
      email: options.email,
      info: options.info ?? browserInfo(),
    });
    writeJson(env.storage, key, { visitorId: created.visitor.id, token: created.token } satisfies StoredVisitor);
    return Visitor.open(env, options, created.token);
  }

  private static async open(env: ConnectEnvironment, options: VisitorConnectOptions, token: string): Promise<Visitor> {
    env.http.token = token;
    const visitor = new Visitor(env, options, token);
    const ready = await visitor.session.start();
    visitor.identity = ready.identity;
    return visitor;
  }

  /** The visitor's id. */
  get id(): string {
    return this.identity.id;
  }

  /** The visitor's display name. */
  get name(): string {
    return this.identity.name;
  }

  /** The visitor as a party of conversations. */
  get party(): Party {
    return this.identity;
  }

  /** The open conversation (resumed after a reload), or null. */
  get contact(): Contact | null {
    const open = this.session.openContacts;
    return open[open.length - 1] ?? null;
  }

  /** The connection state. */
  get connectionState(): ConnectionState {
    return this.session.channel.state;
  }

  /**
   * Opens a conversation, queued until an agent takes it; `text` is stored as its first message.
   * When a conversation is already open, resolves with it (and `text` is not sent).
   * @throws ParleyError `too_large` / `invalid_frame` for a bad text, `unavailable`, `timeout`.
   */
  startChat(options: { text?: string } = {}): Promise<Contact> {
    const existing = this.contact;
    if (existing) return Promise.resolve(existing);
    if (!this.starting) {
      this.starting = this.requestChat(options.text).finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  /** Closes the connection. Unsent messages stay stored and are sent on the next visit. */
  disconnect(): void {
    this.session.disconnect();
  }

  private async requestChat(text: string | undefined): Promise<Contact> {
    const body = text === undefined ? {} : { text, clientId: newId() };
    const { conversation } = await this.session.channel.request('chat.start', body);
    return this.session.ensureContact(conversation);
  }

  private handlePush(frame: PushFrame): void {
    switch (frame.type) {
      case 'conversation.updated':
        // A conversation this page does not know yet (started in another tab).
        if (frame.conversation.status !== 'closed') {
          this.session
            .ensureContact(frame.conversation)
            .catch((err) => console.warn('Parley: could not open a conversation started elsewhere', err));
        }
        return;
      case 'error':
        this.emit('error', ParleyError.fromBody(frame));
        return;
      default:
        return;
    }
  }
}

/** The page URL and user agent, when running in a browser. */
function browserInfo(): VisitorInfo | undefined {
  if (typeof location === 'undefined' || typeof navigator === 'undefined') return undefined;
  return { page: String(location.href).slice(0, 2048), userAgent: String(navigator.userAgent).slice(0, 512) };
}
