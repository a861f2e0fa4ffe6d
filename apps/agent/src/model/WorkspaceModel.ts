import { Parley, ParleyError, type Agent, type AgentSummary, type Contact, type Message, type QueuedConversation, type VideoInvite } from '@parley/sdk';
import { playCallRing, playMessageChime } from '../media/chime.ts';
import { strings } from '../strings.ts';
import { ConversationState, type CallRequest, type ConversationSignals } from './ConversationState.ts';
import { loadSelection, saveSelection } from './selectionStore.ts';
import { clearToken, loadToken, saveToken } from './tokenStore.ts';

/** Where the workspace is: signed out (with why), connecting, or working. */
export type Phase =
  | { kind: 'signedOut'; error: string | null }
  | { kind: 'connecting'; resuming: boolean }
  | { kind: 'ready' };

/** The agent's connection state as the header shows it. */
export type Connection = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** A line for the screen reader's live region; `n` changes on every announcement so repeats are read. */
export interface Announcement {
  text: string;
  n: number;
}

/** What the page around the model provides (so the model stays free of `document`). */
export interface WorkspaceEnvironment {
  server: string;
  /** True while the agent can see the page (tab visible). */
  pageVisible(): boolean;
}

/**
 * The workspace's state and actions, on top of one {@link Agent}: sign-in and resume, presence, the
 * queue, the agent's conversations with unread counts, what to announce, when to make a sound.
 * Components read it and call its actions; `subscribe` tells them when to redraw.
 */
export class WorkspaceModel {
  phase: Phase = { kind: 'signedOut', error: null };
  agent: Agent | null = null;
  conversations: ConversationState[] = [];
  /** The first waiting visitors (the SDK's bounded queue view), oldest first. */
  queue: QueuedConversation[] = [];
  /** How many visitors wait in all; more than `queue.length` when the queue is longer than the view. */
  queueSize = 0;
  selectedId: string | null = null;
  presence: 'online' | 'away' = 'online';
  connection: Connection = 'connecting';
  announcement: Announcement = { text: '', n: 0 };
  /** A short notice about the last failed action (accept lost to a colleague, …). */
  notice: string | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly seenQueue = new Set<string>();
  private readonly accepting = new Set<string>();
  private unbindAgent: Array<() => void> = [];
  private readonly signals: ConversationSignals;

  constructor(private readonly env: WorkspaceEnvironment) {
    this.signals = {
      changed: () => this.changed(),
      incoming: (state, message) => this.onIncoming(state, message),
      callRequested: (state, request) => this.onCallRequested(state, request),
      callInvited: (state, invite) => this.onCallInvited(state, invite),
      callAnnouncement: (kind, state) => this.onCallAnnouncement(kind, state),
    };
  }

  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The conversation shown in the main pane. */
  get selected(): ConversationState | null {
    return this.conversations.find((c) => c.id === this.selectedId) ?? null;
  }

  /** The conversation whose call is live, if any (the agent is in one call at a time). */
  get liveCall(): ConversationState | null {
    return this.conversations.find((c) => c.callLive) ?? null;
  }

  /** What needs attention: waiting visitors plus unread messages (the tab title's count). */
  get attentionCount(): number {
    return this.queueSize + this.conversations.reduce((n, c) => n + c.unread, 0);
  }

  /** Resumes with the token kept in this tab, if there is one. */
  async resume(): Promise<void> {
    const token = loadToken();
    if (!token) return;
    this.setPhase({ kind: 'connecting', resuming: true });
    try {
      await this.start(await Parley.connectAgent({ server: this.env.server, token }));
    } catch (error) {
      clearToken();
      const expired = error instanceof ParleyError && error.code === 'unauthorized';
      this.setPhase({ kind: 'signedOut', error: expired ? strings.signIn.expired : strings.signIn.unreachable });
    }
  }

  /** Signs in with email and password. */
  async signIn(email: string, password: string): Promise<void> {
    this.setPhase({ kind: 'connecting', resuming: false });
    try {
      const agent = await Parley.connectAgent({ server: this.env.server, email, password });
      saveToken(agent.token);
      await this.start(agent);
    } catch (error) {
      const wrong = error instanceof ParleyError && (error.code === 'unauthorized' || error.code === 'invalid_frame');
      this.setPhase({ kind: 'signedOut', error: wrong ? strings.signIn.failed : strings.signIn.unreachable });
    }
  }

  /** Signs out: ends a running call, disconnects and forgets the token. */
  async signOut(): Promise<void> {
    const live = this.liveCall;
    if (live) await live.contact.endVideo().catch(() => undefined);
    clearToken();
    saveSelection(null);
    this.stop();
    this.setPhase({ kind: 'signedOut', error: null });
  }

  /** Sets presence for routing. */
  async setPresence(presence: 'online' | 'away'): Promise<void> {
    if (!this.agent) return;
    this.presence = presence;
    this.changed();
    await this.agent.setPresence(presence);
  }

  /** Takes a waiting visitor and opens the conversation. */
  async accept(sessionID: string): Promise<void> {
    if (!this.agent || this.accepting.has(sessionID)) return;
    this.accepting.add(sessionID);
    this.notice = null;
    try {
      const contact = await this.agent.accept(sessionID);
      this.select(this.adopt(contact, false).id);
    } catch {
      this.notice = strings.queue.acceptFailed;
      const agent = this.agent;
      this.setQueue(await agent.queue().catch(() => this.queue), agent.queueSize, false);
    } finally {
      this.accepting.delete(sessionID);
      this.changed();
    }
  }

  /** The other agents, for "Add people" (this agent left out), in the server's order. */
  async colleagues(): Promise<AgentSummary[]> {
    const agent = this.agent;
    if (!agent) return [];
    return (await agent.agents()).filter((a) => a.id !== agent.id);
  }

  /** Shows a conversation (and marks it read). */
  select(sessionID: string): void {
    this.selectedId = sessionID;
    saveSelection(sessionID);
    this.selected?.markRead();
    this.changed();
  }

  /** The tab became visible: what is on screen counts as read. */
  pageShown(): void {
    this.selected?.markRead();
  }

  /** Removes a closed conversation from the list. */
  dismiss(sessionID: string): void {
    const state = this.conversations.find((c) => c.id === sessionID);
    if (!state) return;
    state.dispose();
    this.conversations = this.conversations.filter((c) => c !== state);
    if (this.selectedId === sessionID) this.selectedId = this.conversations[0]?.id ?? null;
    this.changed();
  }

  /** Says `text` through the live region. */
  announce(text: string): void {
    this.announcement = { text, n: this.announcement.n + 1 };
    this.changed();
  }

  private async start(agent: Agent): Promise<void> {
    this.stop();
    this.agent = agent;
    this.presence = agent.presence === 'away' ? 'away' : 'online';
    this.connection = agent.connectionState;
    const on = this.unbindAgent;
    on.push(
      agent.on('contact', (contact) => this.adopt(contact, true)),
      agent.on('queue', (queue, { size }) => this.setQueue(queue, size, true)),
      agent.on('connectionStateChanged', (state) => {
        this.connection = state;
        this.changed();
      }),
      agent.on('presence', (summary) => {
        if (summary.id !== agent.id || summary.presence === 'offline') return;
        this.presence = summary.presence;
        this.changed();
      }),
      agent.on('disconnected', (error) => {
        if (error && error.code === 'unauthorized') {
          clearToken();
          this.stop();
          this.setPhase({ kind: 'signedOut', error: strings.signIn.expired });
        }
      }),
    );
    for (const contact of agent.contacts) this.adopt(contact, false);
    const kept = loadSelection();
    if (kept && this.conversations.some((c) => c.id === kept)) this.selectedId = kept;
    this.selectedId ??= this.conversations[0]?.id ?? null;
    this.setQueue(await agent.queue().catch(() => []), agent.queueSize, false);
    this.setPhase({ kind: 'ready' });
  }

  private stop(): void {
    for (const off of this.unbindAgent.splice(0)) off();
    for (const state of this.conversations) state.dispose();
    this.agent?.disconnect();
    this.agent = null;
    this.conversations = [];
    this.queue = [];
    this.queueSize = 0;
    this.selectedId = null;
    this.seenQueue.clear();
  }

  /** Wraps a contact once (the `'contact'` event and `accept` hand out the same object). */
  private adopt(contact: Contact, announce: boolean): ConversationState {
    const known = this.conversations.find((c) => c.contact === contact || c.id === contact.sessionID);
    if (known) return known;
    const state = new ConversationState(contact, this.agent?.id ?? '', this.signals);
    this.conversations = [...this.conversations, state];
    if (announce && !this.accepting.has(contact.sessionID)) {
      playMessageChime();
      this.announce(strings.conversation.newConversation(state.visitorName));
    }
    this.selectedId ??= state.id;
    this.changed();
    return state;
  }

  private setQueue(queue: QueuedConversation[], size: number, live: boolean): void {
    const fresh = queue.filter((q) => !this.seenQueue.has(q.sessionID));
    for (const q of queue) this.seenQueue.add(q.sessionID);
    this.queue = queue;
    this.queueSize = Math.max(size, queue.length);
    if (live && fresh.length > 0) {
      playMessageChime();
      this.announce(fresh.map((q) => strings.conversation.newVisitor(q.visitor.name)).join('. '));
    }
    this.changed();
  }

  private onIncoming(state: ConversationState, message: Message): void {
    const onScreen = state.id === this.selectedId && this.env.pageVisible();
    if (onScreen) state.markRead();
    else playMessageChime();
    if (message.kind === 'text') this.announce(strings.conversation.newMessage(message.from.name, message.text));
  }

  private onCallRequested(state: ConversationState, request: CallRequest): void {
    playCallRing();
    if (!this.liveCall || this.liveCall === state) this.select(state.id);
    this.announce(strings.call.request(request.from.name, request.useVideo));
  }

  private onCallInvited(state: ConversationState, invite: VideoInvite): void {
    playCallRing();
    if (!this.liveCall || this.liveCall === state) this.select(state.id);
    this.announce(strings.call.invitedBy(invite.from.name, state.visitorName, invite.useVideo));
  }

  private onCallAnnouncement(kind: string, _state: ConversationState): void {
    const s = strings.call;
    if (kind === 'connected') this.announce(s.state.connected);
    else if (kind === 'reconnecting') this.announce(s.state.reconnecting);
    else if (kind === 'failed') this.announce(s.state.failed);
    else if (kind.startsWith('ended:')) this.announce(s.ended[kind.slice(6)] ?? s.ended.hangup!);
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
