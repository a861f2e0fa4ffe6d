import type { Contact, Message, Party, VideoInvite, VideoParticipant } from '@parley/sdk';

/** The call snapshot of a contact (`contact.video`). */
export type VideoSnapshot = Contact['video'];
/** A visitor's request for a call (`'requestVideoUpgrade'`). */
export interface CallRequest {
  sessionID: string;
  useAudio: boolean;
  useVideo: boolean;
  from: Party;
}
/** The state of the media link to the visitor. */
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** What the workspace shows about the call of one conversation. */
export interface CallView {
  video: VideoSnapshot;
  /** The media link's state, once media is being set up. */
  link: LinkState | null;
  /** When media first connected on this page (epoch ms), for the duration. */
  startedAt: number | null;
  muted: boolean;
  /** Whether this side sends video; null: as the call started (`video.useVideo`). */
  videoOn: boolean | null;
  /** A visitor's request waiting for Accept or Decline. */
  request: CallRequest | null;
  /** A colleague brought this agent into the conversation's running call: Accept or Decline. */
  invite: VideoInvite | null;
  /** Who is heard loudest now (a participant id; `null`: nobody). */
  speaker: string | null;
  /** Why the last call ended, until the next one starts. */
  endReason: string | null;
  /** The last problem on this side (camera denied, …). */
  error: string | null;
}

/** How a conversation reports what needs the agent's attention. */
export interface ConversationSignals {
  /** Something visible changed. */
  changed(): void;
  /** A message from someone else arrived (live, not history). */
  incoming(state: ConversationState, message: Message): void;
  /** The visitor asks for a call. */
  callRequested(state: ConversationState, request: CallRequest): void;
  /** A colleague invites this agent into the running call. */
  callInvited(state: ConversationState, invite: VideoInvite): void;
  /** Call state worth announcing: `connected`, `reconnecting`, `failed`, `ended:<reason>`. */
  callAnnouncement(kind: string, state: ConversationState): void;
}

/** How long a typing indicator stays without a repeat (the SDK repeats `true` every 3 s). */
const TYPING_STALE_MS = 7_000;

/**
 * One conversation as the workspace shows it: the Contact plus what the page adds — unread count,
 * the visitor's typing, the call's link state and duration, a pending call request. Listens to the
 * Contact's events and reports through {@link ConversationSignals}.
 */
export class ConversationState {
  readonly contact: Contact;
  messages: Message[];
  unread = 0;
  typing: Party | null = null;
  closed = false;
  call: CallView;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly unbind: Array<() => void> = [];

  constructor(
    contact: Contact,
    private readonly selfId: string,
    private readonly signals: ConversationSignals,
  ) {
    this.contact = contact;
    this.messages = contact.messages;
    this.closed = contact.status === 'closed';
    this.call = {
      video: contact.video,
      link: null,
      startedAt: contact.video.state === 'active' ? Date.now() : null,
      muted: false,
      videoOn: null,
      request: null,
      invite: null,
      speaker: null,
      endReason: null,
      error: null,
    };
    this.listen();
  }

  /** The conversation id. */
  get id(): string {
    return this.contact.sessionID;
  }

  /** The visitor's display name. */
  get visitorName(): string {
    return this.contact.visitor.name;
  }

  /**
   * True while a call is ringing, or connecting or running with this agent in it (joined, or invited by a
   * colleague). A colleague of the conversation who is not in its call sees the conversation, not the call.
   */
  get callLive(): boolean {
    const state = this.call.video.state;
    if (state === 'requested' || state === 'invited') return true;
    return (state === 'connecting' || state === 'active') && this.self !== null;
  }

  /** This agent as a participant of the call, if it is in it (or invited into it). */
  get self(): VideoParticipant | null {
    return this.call.video.participants.find((p) => p.id === this.selfId) ?? null;
  }

  /** The other participants of the call, this agent excluded (joined or still invited). */
  get others(): VideoParticipant[] {
    return this.call.video.participants.filter((p) => p.id !== this.selfId);
  }

  /** True when this agent was added to the call by a colleague: hanging up is leaving, it cannot end it for all. */
  get addedToCall(): boolean {
    return (this.self?.invitedBy ?? null) !== null;
  }

  /** The agent has read everything. */
  markRead(): void {
    if (this.unread === 0) return;
    this.unread = 0;
    this.signals.changed();
  }

  /** Updates the local call flags after a control was used. */
  patchCall(patch: Partial<CallView>): void {
    this.call = { ...this.call, ...patch };
    this.signals.changed();
  }

  /** Stops listening (the workspace forgets this conversation). */
  dispose(): void {
    for (const off of this.unbind.splice(0)) off();
    if (this.typingTimer) clearTimeout(this.typingTimer);
  }

  private listen(): void {
    const c = this.contact;
    this.unbind.push(
      c.on('message', (message) => {
        this.messages = c.messages;
        if (message.kind === 'text' && message.from.id === this.typing?.id) this.setTyping(null);
        if (message.from.id !== this.selfId && message.from.role !== 'system') {
          this.unread += 1;
          this.signals.incoming(this, message);
        }
        this.signals.changed();
      }),
      c.on('typing', (event) => {
        if (event.from.id === this.selfId) return;
        this.setTyping(event.typing ? event.from : null);
      }),
      c.on('updated', () => this.signals.changed()),
      c.on('closed', () => {
        this.closed = true;
        this.setTyping(null);
        this.signals.changed();
      }),
      c.on('requestVideoUpgrade', (request) => {
        this.patchCall({ request, endReason: null, error: null });
        this.signals.callRequested(this, request);
      }),
      c.on('videoInvite', (invite) => {
        // The visitor's kind of invitation never reaches an agent; this one is a colleague's.
        this.patchCall({ invite, endReason: null, error: null });
        this.signals.callInvited(this, invite);
      }),
      c.on('videoStateChanged', (video) => {
        const ringing = video.state === 'requested';
        const me = video.participants.find((p) => p.id === this.selfId);
        // The invitation is gone once this agent joined, declined, or is no longer in the call.
        const invited = me !== undefined && !me.joined && (video.state === 'connecting' || video.state === 'active');
        this.patchCall({ video, ...(ringing ? {} : { request: null }), ...(invited ? {} : { invite: null }) });
      }),
      c.on('activeSpeaker', (event) => {
        if (event.participantId !== this.call.speaker) this.patchCall({ speaker: event.participantId });
      }),
      c.on('videoStarted', () => {
        this.patchCall({ startedAt: Date.now(), link: 'connected', endReason: null, error: null });
        this.signals.callAnnouncement('connected', this);
      }),
      c.on('videoEnded', (event) => {
        this.patchCall({
          video: c.video,
          startedAt: null,
          link: null,
          muted: false,
          videoOn: null,
          request: null,
          invite: null,
          speaker: null,
          endReason: event.reason,
        });
        this.signals.callAnnouncement(`ended:${event.reason}`, this);
      }),
      c.on('videoError', (event) => this.patchCall({ error: event.message })),
      c.bindVideoParticipantEvent((event, name) => {
        if (name === 'connectionStateChanged' && event.connectionState && event.participant.id !== this.selfId) {
          this.patchCall({ link: event.connectionState });
          if (event.connectionState !== 'connected') this.signals.callAnnouncement(event.connectionState, this);
        } else {
          this.signals.changed();
        }
      }),
    );
  }

  private setTyping(who: Party | null): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = who ? setTimeout(() => this.setTyping(null), TYPING_STALE_MS) : null;
    if (this.typing?.id === who?.id) return;
    this.typing = who;
    this.signals.changed();
  }
}
