import { Parley, type ConnectionState, type Contact, type Message, type Party, type Visitor } from '@parley/sdk';
import { Store } from './Store.ts';

/** Where the chat stands for the visitor. */
export type ChatPhase = 'idle' | 'connecting' | 'failed' | 'ready';

/** A message the visitor sent that the server has not stored yet. */
export interface PendingMessage {
  clientId: string;
  text: string;
}

/** What the chat panel shows. */
export interface ChatState {
  phase: ChatPhase;
  connection: ConnectionState;
  /** The conversation, once there is one. */
  contact: Contact | null;
  /** `none` before the first message, then the conversation's status. */
  status: 'none' | 'queued' | 'active' | 'closed';
  agent: Party | null;
  messages: Message[];
  pending: PendingMessage[];
  /** Who is typing on the other side, or null. */
  typing: string | null;
  /** New messages from the agent while the panel was hidden. */
  unread: number;
  /** The last error worth showing (a message that could not be sent). */
  error: string | null;
}

/** What the chat model tells the frame's shell. */
export interface ChatCallbacks {
  /** A conversation was attached (start, resume, another tab): calls attach to it. */
  onContact(contact: Contact): void;
  /** Whether the visitor has an open conversation. */
  onConversationActive(active: boolean): void;
  onUnread(count: number): void;
}

/** A typing indicator with no refresh for this long is cleared. */
const TYPING_STALE_MS = 8_000;

/**
 * The visitor's chat: connects through the SDK, resumes the open conversation (same one after a
 * reload or on another page of the site), starts one with the first message, and turns the
 * conversation's events into {@link ChatState}.
 */
export class ChatModel {
  readonly store = new Store<ChatState>({
    phase: 'idle',
    connection: 'disconnected',
    contact: null,
    status: 'none',
    agent: null,
    messages: [],
    pending: [],
    typing: null,
    unread: 0,
    error: null,
  });
  private visitor: Visitor | null = null;
  private detach: Array<() => void> = [];
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private visible = false;

  constructor(
    private readonly server: string,
    private readonly page: string,
    private readonly callbacks: ChatCallbacks,
  ) {}

  /** Connects (once; again after a failure). */
  async connect(): Promise<void> {
    const { phase } = this.store.state;
    if (phase === 'connecting' || phase === 'ready') return;
    this.store.set({ phase: 'connecting', error: null });
    try {
      const visitor = await Parley.connectVisitor({
        server: this.server,
        info: { page: this.page.slice(0, 2048), userAgent: navigator.userAgent.slice(0, 512) },
      });
      this.visitor = visitor;
      visitor.on('connectionStateChanged', (connection) => this.store.set({ connection }));
      visitor.on('contact', (contact) => this.attach(contact));
      this.store.set({ phase: 'ready', connection: visitor.connectionState });
      if (visitor.contact) this.attach(visitor.contact);
      else this.callbacks.onConversationActive(false);
    } catch (err) {
      console.warn('Parley widget: could not connect', err);
      this.store.set({ phase: 'failed' });
    }
  }

  /** The panel was shown or hidden: unread messages count only while hidden. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && this.store.state.unread > 0) {
      this.store.set({ unread: 0 });
      this.callbacks.onUnread(0);
    }
  }

  /** Sends a message, starting the conversation with it when there is none. */
  async send(text: string): Promise<void> {
    const body = text.trim();
    if (!body || !this.visitor) return;
    const contact = this.store.state.contact;
    try {
      if (!contact || contact.status === 'closed') {
        const started = await this.visitor.startChat({ text: body });
        this.attach(started);
        return;
      }
      const sending = contact.sendMessage(body);
      this.refreshPending(contact);
      await sending;
      this.refreshPending(contact);
    } catch (err) {
      console.warn('Parley widget: a message was not sent', err);
      this.store.set({ error: (err as Error).message || 'not sent' });
      if (contact) this.refreshPending(contact);
    }
  }

  /** The visitor is typing (or stopped). */
  setTyping(typing: boolean): void {
    const contact = this.store.state.contact;
    if (contact && contact.status !== 'closed') contact.setTyping(typing);
  }

  /** Ends the conversation for everyone. */
  async endChat(): Promise<void> {
    await this.store.state.contact?.close();
  }

  /** After a closed conversation: back to an empty chat (the next message starts a new one). */
  startOver(): void {
    this.release();
    this.store.set({ contact: null, status: 'none', agent: null, messages: [], pending: [], typing: null, error: null });
  }

  private attach(contact: Contact): void {
    if (this.store.state.contact === contact) return;
    this.release();
    const update = (): void =>
      this.store.set({ status: contact.status, agent: contact.agent });
    this.detach = [
      contact.on('message', (message) => this.received(contact, message)),
      contact.on('typing', (e) => {
        if (e.from.role === 'visitor') return;
        clearTimeout(this.typingTimer);
        this.store.set({ typing: e.typing ? e.from.name : null });
        if (e.typing) this.typingTimer = setTimeout(() => this.store.set({ typing: null }), TYPING_STALE_MS);
      }),
      contact.on('updated', update),
      contact.on('closed', () => {
        update();
        this.store.set({ typing: null, pending: [] });
        this.callbacks.onConversationActive(false);
      }),
    ];
    this.store.set({
      contact,
      status: contact.status,
      agent: contact.agent,
      messages: contact.messages,
      typing: null,
      error: null,
    });
    this.refreshPending(contact);
    this.callbacks.onConversationActive(contact.status !== 'closed');
    this.callbacks.onContact(contact);
  }

  private received(contact: Contact, message: Message): void {
    const patch: Partial<ChatState> = { messages: [...this.store.state.messages, message] };
    if (message.from.role !== 'visitor' && message.from.role !== 'system' && message.kind === 'text') {
      patch.typing = null;
      if (!this.visible) {
        patch.unread = this.store.state.unread + 1;
        this.callbacks.onUnread(patch.unread);
      }
    }
    this.store.set(patch);
    this.refreshPending(contact);
  }

  private refreshPending(contact: Contact): void {
    const pending = contact.pendingMessages
      .filter((entry) => entry.sessionID === contact.sessionID)
      .map((entry) => ({ clientId: entry.clientId, text: entry.text }));
    this.store.set({ pending });
  }

  private release(): void {
    for (const off of this.detach) off();
    this.detach = [];
    clearTimeout(this.typingTimer);
  }
}
