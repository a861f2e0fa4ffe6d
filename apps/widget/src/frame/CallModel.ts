import type { Contact, ContactEvents } from '@parley/sdk';
import { strings as t } from '../strings.ts';
import { Store } from './Store.ts';

/** The agent's invitation (`contact.on('videoInvite')`). */
export type VideoInvite = ContactEvents['videoInvite'][0];
/** A guest link for the running call (`contact.createGuestInvite()`). */
export type GuestLink = Awaited<ReturnType<Contact['createGuestInvite']>>;
/** `contact.video.state`. */
export type VideoState = ContactEvents['videoStateChanged'][0]['state'];
type Device = 'audio' | 'video' | 'both';

/** The element the SDK draws the call into (always in the page, so it is there before any call). */
export const CALL_MEDIA_ID = 'parley-call-media';

/** What the call parts of the panel show. */
export interface CallState {
  state: VideoState;
  /** The call carries video (else voice only). */
  useVideo: boolean;
  /** This side's microphone / camera are on. */
  micOn: boolean;
  cameraOn: boolean;
  /** This side shares its screen. */
  sharing: boolean;
  /** Someone in the call shares a screen (the call area shows it, even in a voice call). */
  screenShown: boolean;
  /** The link to the agent: connecting, connected, reconnecting, failed (null outside calls). */
  link: 'connecting' | 'connected' | 'reconnecting' | 'failed' | null;
  /** A pending invitation from the agent. */
  invite: VideoInvite | null;
  /** A line to show (and announce) about the last call: ended with a reason, declined, an error. */
  notice: string | null;
  /** The camera and/or microphone were refused or are missing. */
  mediaProblem: { device: Device; missing: boolean } | null;
}

/** What the call model asks of the frame's shell. */
export interface CallCallbacks {
  /** An invitation arrived: show the panel and move focus to it; alert a hidden tab. */
  onInvite(invite: VideoInvite): void;
  /** A call is about to start: load the call controls now. */
  onCallStarting(): void;
}

const LIVE: ReadonlySet<VideoState> = new Set(['connecting', 'active']);

/**
 * The visitor's side of calls in the current conversation: asks for a call ("Video call", "Voice
 * call"), answers the agent's invitation, and runs the in-call controls, turning the SDK's call
 * events into {@link CallState}. The SDK draws the media into {@link CALL_MEDIA_ID}.
 */
export class CallModel {
  readonly store = new Store<CallState>({
    state: 'idle',
    useVideo: false,
    micOn: true,
    cameraOn: true,
    sharing: false,
    screenShown: false,
    link: null,
    invite: null,
    notice: null,
    mediaProblem: null,
  });
  private contact: Contact | null = null;
  private detach: Array<() => void> = [];

  constructor(private readonly callbacks: CallCallbacks) {}

  /** Follows the calls of this conversation (a call already running after a reload resumes). */
  attach(contact: Contact): void {
    if (this.contact === contact) return;
    for (const off of this.detach) off();
    this.contact = contact;
    this.detach = [
      contact.on('videoStateChanged', () => this.applySnapshot(contact)),
      contact.on('videoInvite', (invite) => {
        this.store.set({ invite, notice: null, mediaProblem: null });
        this.callbacks.onInvite(invite);
      }),
      contact.on('responseVideoUpgrade', (e) => {
        if (!e.response) this.store.set({ notice: t.declinedByAgent });
      }),
      contact.on('videoStarted', () => this.store.set({ link: 'connected' })),
      contact.on('videoEnded', (e) => {
        const reason = t.endReasons[e.reason] ?? e.reason;
        this.store.set({ invite: null, link: null, notice: t.callEnded(reason) });
      }),
      contact.on('videoError', (e) => {
        if (e.code === 'media-denied' || e.code === 'media-missing' || e.code === 'media-failed') {
          const device = e.device ?? 'both';
          this.store.set({
            mediaProblem: { device, missing: e.code === 'media-missing' },
            cameraOn: device === 'audio' ? this.store.state.cameraOn : false,
            micOn: device === 'video' ? this.store.state.micOn : false,
          });
        }
      }),
      contact.on('videoParticipant', (event, name) => {
        if (name === 'connectionStateChanged' && event.connectionState && event.participant.role !== 'visitor') {
          this.store.set({ link: event.connectionState });
        }
        if (event.participant.id === contact.visitorId || name === 'screenShareStarted' || name === 'screenShareStopped') this.applySnapshot(contact);
      }),
    ];
    this.applySnapshot(contact);
  }

  /** Visitor asks for a call. */
  async request(video: boolean): Promise<void> {
    const contact = this.contact;
    if (!contact) return;
    this.store.set({ notice: null, mediaProblem: null });
    this.callbacks.onCallStarting();
    try {
      await contact.requestVideoUpgrade(CALL_MEDIA_ID, true, video);
    } catch (err) {
      this.store.set({ notice: (err as Error).message });
    }
  }

  /** Accepts the agent's invitation. */
  async accept(): Promise<void> {
    const invite = this.store.state.invite;
    if (!invite) return;
    this.store.set({ invite: null, notice: null, mediaProblem: null });
    this.callbacks.onCallStarting();
    try {
      await invite.accept(CALL_MEDIA_ID);
    } catch (err) {
      this.store.set({ notice: (err as Error).message });
    }
  }

  /** Declines the agent's invitation. */
  async decline(): Promise<void> {
    const invite = this.store.state.invite;
    this.store.set({ invite: null });
    await invite?.decline().catch((err: Error) => this.store.set({ notice: err.message }));
  }

  /** Ends the call (or withdraws the request). */
  async end(): Promise<void> {
    await this.contact?.endVideo().catch((err: Error) => this.store.set({ notice: err.message }));
  }

  /**
   * A link for one more person to join the running call (the call controls copy it and show it).
   * @throws ParleyError `capacity` (the call is full), `conflict` (no call in progress); its message is for the visitor.
   */
  createGuestLink(): Promise<GuestLink> {
    if (!this.contact) return Promise.reject(new Error(t.inviteNoCall));
    return this.contact.createGuestInvite();
  }

  /** Mute / Unmute. */
  async toggleMic(): Promise<void> {
    const contact = this.contact;
    if (!contact) return;
    const on = !this.store.state.micOn;
    try {
      await (on ? contact.unmuteAudio() : contact.muteAudio());
      this.store.set({ micOn: on });
    } catch (err) {
      this.store.set({ notice: (err as Error).message });
    }
  }

  /** Camera off / Camera on. */
  async toggleCamera(): Promise<void> {
    const contact = this.contact;
    if (!contact) return;
    const on = !this.store.state.cameraOn;
    try {
      await (on ? contact.enableVideo() : contact.disableVideo());
      this.store.set({ cameraOn: on, mediaProblem: on ? null : this.store.state.mediaProblem });
    } catch (err) {
      this.store.set({ notice: (err as Error).message });
    }
  }

  /** Share screen / Stop sharing (one sharer at a time: someone else sharing is said plainly). */
  async toggleScreenShare(): Promise<void> {
    const contact = this.contact;
    if (!contact) return;
    try {
      await (this.store.state.sharing ? contact.stopScreenShare() : contact.startScreenShare());
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.store.set({ notice: code === 'screen_share_busy' ? t.screenBusy : (err as Error).message });
    }
  }

  /** After a refused camera: go on with voice only (the call keeps its audio). */
  continueVoiceOnly(): void {
    this.store.set({ mediaProblem: null, cameraOn: false });
  }

  /** After a refused device: leave the call and keep chatting. */
  async continueChatOnly(): Promise<void> {
    this.store.set({ mediaProblem: null });
    if (LIVE.has(this.store.state.state) || this.store.state.state === 'requested') await this.end();
  }

  /** Hides the last notice. */
  dismissNotice(): void {
    this.store.set({ notice: null });
  }

  private applySnapshot(contact: Contact): void {
    const video = contact.video;
    const self = video.participants.find((p) => p.id === contact.visitorId);
    const live = LIVE.has(video.state);
    const patch: Partial<CallState> = {
      state: video.state,
      useVideo: video.useVideo,
      sharing: live && (self?.screen ?? false),
      screenShown: live && video.participants.some((p) => p.screen),
    };
    if (self) {
      patch.micOn = self.audio;
      patch.cameraOn = self.video;
    } else if (!live) {
      patch.micOn = true;
      patch.cameraOn = true;
    }
    if (video.state !== 'invited') patch.invite = null;
    if (live && this.store.state.link === null) patch.link = 'connecting';
    if (!live && video.state !== 'requested') patch.link = null;
    this.store.set(patch);
    if (live || video.state === 'requested') this.callbacks.onCallStarting();
  }
}
