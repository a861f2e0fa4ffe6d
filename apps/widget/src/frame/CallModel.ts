import type { Contact, ContactEvents, DeviceCheck, DeviceKind } from '@parley/sdk';
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
  /** The pre-call check (preview, level, pickers) is open. */
  checking: boolean;
  /** A line about devices: one that was unplugged mid-call, or a new one to offer (with `offer`). */
  deviceNote: string | null;
  offer: { kind: DeviceKind; id: string; label: string } | null;
  /** Dropped from a call that goes on (the connection was away past the grace period): "Rejoin" brings it back. */
  canRejoin: boolean;
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
    checking: false,
    deviceNote: null,
    offer: null,
    canRejoin: false,
  });
  private contact: Contact | null = null;
  private check: DeviceCheck | null = null;
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
        this.store.set({ invite: null, link: null, notice: e.reason === 'dropped' ? t.droppedOut : t.callEnded(reason) });
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
      contact.on('deviceChanged', (e) => {
        if (e.reason === 'unplugged') this.store.set({ deviceNote: t.deviceUnplugged(e.kind, e.deviceId !== null), offer: null });
      }),
      contact.on('deviceListChanged', (e) => {
        const added = e.added.find((d) => d.kind !== 'camera' || this.store.state.cameraOn);
        if (added) this.store.set({ deviceNote: t.deviceAdded(added.label), offer: { kind: added.kind, id: added.id, label: added.label } });
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
    this.store.set({ notice: null, mediaProblem: null, deviceNote: null });
    this.callbacks.onCallStarting();
    try {
      await this.takeCheckedDevices(contact);
      await contact.requestVideoUpgrade(CALL_MEDIA_ID, true, video);
    } catch (err) {
      this.store.set({ notice: (err as Error).message });
    }
  }

  /** Accepts the agent's invitation. */
  async accept(): Promise<void> {
    const invite = this.store.state.invite;
    if (!invite) return;
    this.store.set({ invite: null, notice: null, mediaProblem: null, deviceNote: null });
    this.callbacks.onCallStarting();
    try {
      if (this.contact) await this.takeCheckedDevices(this.contact);
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

  /** Comes back into the call this page was dropped from. */
  async rejoin(): Promise<void> {
    const contact = this.contact;
    if (!contact) return;
    this.store.set({ notice: null, mediaProblem: null });
    this.callbacks.onCallStarting();
    await contact.rejoinVideo(CALL_MEDIA_ID).catch((err: Error) => this.store.set({ notice: err.message }));
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
    this.closeCheck();
    this.store.set({ mediaProblem: null });
    if (LIVE.has(this.store.state.state) || this.store.state.state === 'requested') await this.end();
  }

  /** Opens or closes the pre-call check. */
  toggleCheck(): void {
    if (this.store.state.checking) this.closeCheck();
    else this.store.set({ checking: true, mediaProblem: null });
  }

  /** The check's panel opened its devices (it closes them when it goes). */
  checkOpened(check: DeviceCheck | null): void {
    this.check = check;
  }

  /** The check could not open a device: today's help, before the call. */
  checkFailed(device: Device, missing: boolean): void {
    this.callbacks.onCallStarting(); // the help lives with the call controls
    this.store.set({ mediaProblem: { device, missing } });
  }

  /** Switches to the device offered after it was plugged in. */
  async useOffered(): Promise<void> {
    const offer = this.store.state.offer;
    this.store.set({ offer: null, deviceNote: null });
    if (offer) await this.contact?.setDevices({ [offer.kind]: offer.id }).catch((err: Error) => this.store.set({ notice: err.message }));
  }

  /** Hides the last notice. */
  dismissNotice(): void {
    this.store.set({ notice: null });
  }

  /** The devices picked in the check become the call's; the check lets go of them first. */
  private async takeCheckedDevices(contact: Contact): Promise<void> {
    const choice = this.check?.choice;
    this.closeCheck();
    if (choice) await contact.setDevices(choice).catch((err: unknown) => console.warn('Parley widget: the checked devices could not be used', err));
  }

  private closeCheck(): void {
    this.check?.close();
    this.check = null;
    if (this.store.state.checking) this.store.set({ checking: false });
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
      canRejoin: video.canRejoin,
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
