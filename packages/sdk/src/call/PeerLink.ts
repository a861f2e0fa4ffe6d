import type { IceCandidate, SessionDescription } from '../wire.ts';
import type { VideoConnectionState } from './events.ts';
import type { MediaStreamLike, MediaTrackLike, PeerConnectionLike, RtpSenderLike } from './MediaHandler.ts';
import { startAtFullResolution, withStartBitrate } from './fullResolutionStart.ts';
import { RemoteTracks } from './RemoteTracks.ts';

/** What a page sends: its microphone, its camera, and its shared screen (a second video, in a stream of its own). */
export type SendKind = 'audio' | 'video' | 'screen';

/** What a link sends to its remote peer through the server. */
export interface LinkSignal {
  description?: SessionDescription;
  candidate?: IceCandidate | null;
}

/** How a {@link PeerLink} reports to its owner. */
export interface PeerLinkCallbacks {
  /** A description or candidate for the remote peer. */
  onSignal(signal: LinkSignal): void;
  /** The link's state changed (`failed` is final). */
  onStateChanged(state: VideoConnectionState): void;
  /** The remote stream gained a track (it holds every track received so far). */
  onRemoteStream(stream: MediaStreamLike): void;
  /** A negotiation step failed (logged; the link keeps going). */
  onError(error: unknown): void;
}

/** Everything a {@link PeerLink} is built from. */
export interface PeerLinkOptions {
  remoteId: string;
  /** Perfect negotiation: the polite side yields in an offer collision (the party whose id sorts higher). */
  polite: boolean;
  pc: PeerConnectionLike;
  /** Tracks sent from the start, with the stream they belong to. */
  localStream: MediaStreamLike;
  /** The stream this page's screen is sent in (its id tells receivers the screen from the camera). */
  screenStream: MediaStreamLike;
  /** Collects the remote microphone and camera. */
  remoteStream: MediaStreamLike;
  /** Collects the remote screen. */
  remoteScreen: MediaStreamLike;
  /** The id of the stream the remote peer sends its screen in, as its call state announces it (null: not sharing). */
  remoteScreenStreamId(): string | null;
  /** After the link is disconnected this long, the impolite side restarts ICE (the polite one waits for `failed`). */
  iceRestartDelayMs: number;
  /** A link not connected within this long at first is failed. */
  failAfterMs: number;
  /**
   * A link that was connected and dropped is failed once it has been unconnected this long: longer than
   * `failAfterMs`, since the network may be away for a while (a tunnel, a Wi-Fi switch) and ICE is restarted
   * until it is back. Past the call's grace period the server ends the party's part anyway.
   */
  lostAfterMs: number;
  /**
   * How long this side waits for the remote peer's first offer before it adds its own tracks (and so offers
   * itself); null adds them at once. The polite side waits, so a new call starts with one offer instead of two
   * colliding ones; a link made for an incoming offer waits for that offer.
   */
  awaitOfferMs: number | null;
  /**
   * Prepared while the call rings: these kinds are negotiated with no track (a `sendrecv` transceiver in the
   * local stream), so that `setTrack` later only replaces the track; the local stream's tracks are not sent.
   */
  hold?: ReadonlyArray<'audio' | 'video'>;
}

/** An offer left unanswered this long is taken as lost (an answer takes well under a second on a live link). */
const LOST_OFFER_MS = 3_000;
/** How often, and how far apart, `refreshVideo` tries to turn a sender's encodings back on when it is refused. */
const TURN_BACK_ON_ATTEMPTS = 5;
const TURN_BACK_ON_RETRY_MS = 100;

/**
 * One RTCPeerConnection to one remote participant, negotiated with the perfect-negotiation pattern
 * (either side may renegotiate at any time; in a collision the polite side rolls back and answers),
 * candidates trickled as they come, and ICE restarted when the network drops.
 */
export class PeerLink {
  readonly remoteId: string;
  private readonly pc: PeerConnectionLike;
  private readonly options: PeerLinkOptions;
  private readonly callbacks: PeerLinkCallbacks;
  private readonly senders = new Map<string, RtpSenderLike>();
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private inbound: Promise<void> = Promise.resolve();
  private stateValue: VideoConnectionState = 'connecting';
  private everConnected = false;
  private closed = false;
  /** A `refreshVideo` under way. */
  private refreshing: Promise<void> | null = null;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private failTimer: ReturnType<typeof setTimeout> | null = null;
  /** When this side's offer now waiting for its answer was sent (null: none waiting). */
  private offeredAt: number | null = null;
  /** DTLS fingerprint of the remote peer connection last heard from. */
  private remoteFingerprint: string | null = null;
  /** Local tracks have been added to the peer connection. */
  private attached = false;
  private attachTimer: ReturnType<typeof setTimeout> | null = null;
  /** The kinds negotiated with no track until `release` (the options' `hold`), or null: sending. */
  private holdKinds: ReadonlyArray<'audio' | 'video'> | null;
  /** Tracks chosen (setTrack) before the local tracks were attached, by kind. */
  private readonly pendingTracks = new Map<SendKind, MediaTrackLike | null>();
  /** Every track received, sorted into the camera stream and the screen stream. */
  private readonly received: RemoteTracks;

  constructor(options: PeerLinkOptions, callbacks: PeerLinkCallbacks) {
    this.options = options;
    this.callbacks = callbacks;
    this.remoteId = options.remoteId;
    this.holdKinds = options.hold ?? null;
    this.received = new RemoteTracks(options.remoteStream, options.remoteScreen);
    const pc = (this.pc = options.pc);
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onicecandidate = ({ candidate }) => {
      // End-of-candidates is implied; only real candidates are trickled.
      if (candidate && !this.closed) this.callbacks.onSignal({ candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => this.connectionChanged();
    pc.ontrack = ({ track, streams }) => {
      // The screen comes in a stream of its own: its id (the msid) is the one the sharer announced.
      this.received.add(track, streams[0]?.id ?? null);
      this.sortTracks();
      this.callbacks.onRemoteStream(this.options.remoteStream);
    };
    if (options.awaitOfferMs === null) this.attachLocalTracks();
    else this.attachTimer = setTimeout(() => this.attachLocalTracks(), options.awaitOfferMs);
    this.armFailTimer();
  }

  /** Adds the local tracks to the peer connection, once (a later change goes through setTrack). */
  private attachLocalTracks(): void {
    if (this.attached || this.closed) return;
    this.attached = true;
    if (this.attachTimer) clearTimeout(this.attachTimer);
    this.attachTimer = null;
    const held = this.holdKinds;
    const tracks = new Map<SendKind, MediaTrackLike | null>(held ? [] : this.options.localStream.getTracks().map((t) => [t.kind as SendKind, t]));
    const screen = this.options.screenStream.getVideoTracks().find((t) => t.readyState === 'live');
    if (screen && !held) tracks.set('screen', screen);
    for (const [kind, track] of this.pendingTracks) tracks.set(kind, track);
    for (const [kind, track] of tracks) if (track) this.addSender(kind, track);
    for (const kind of held ?? []) if (!this.senders.has(kind)) this.senders.set(kind, this.reserve(kind));
  }

  /**
   * A sender of `kind` with no track yet, negotiated to send: the transceiver the remote offer brought for that
   * kind (made to send, in the local stream), or a new one. Its track comes later through `replaceTrack`.
   */
  private reserve(kind: 'audio' | 'video'): RtpSenderLike {
    const taken = new Set(this.senders.values());
    const offered = this.pc
      .getTransceivers()
      .find((t) => t.receiver.track.kind === kind && t.direction === 'recvonly' && t.sender.track === null && !taken.has(t.sender));
    if (!offered) return this.pc.addTransceiver(kind, { direction: 'sendrecv', streams: [this.options.localStream] }).sender;
    offered.direction = 'sendrecv';
    offered.sender.setStreams?.(this.options.localStream);
    return offered.sender;
  }

  private addSender(kind: SendKind, track: MediaTrackLike): void {
    this.senders.set(kind, this.pc.addTrack(track, this.streamFor(kind)));
  }

  private streamFor(kind: SendKind): MediaStreamLike {
    return kind === 'screen' ? this.options.screenStream : this.options.localStream;
  }

  /** Whether this link still sends nothing (made with `hold`, not released yet). */
  get held(): boolean {
    return this.holdKinds !== null;
  }

  /**
   * Sends what this page sends on a link made with `hold`: the microphone and camera go onto the senders negotiated
   * for them (`replaceTrack`, no new offer), and a screen shared meanwhile is added. `fullResolution`: the camera
   * starts at full resolution (see startAtFullResolution; for a call of two, where one encoder runs).
   */
  async release(fullResolution = false): Promise<void> {
    if (this.holdKinds === null || this.closed) return;
    this.holdKinds = null;
    if (!this.attached) return; // attaches the local tracks when it does
    const { localStream, screenStream } = this.options;
    const screen = screenStream.getVideoTracks().find((t) => t.readyState === 'live') ?? null;
    await Promise.all([
      this.setTrack('audio', localStream.getAudioTracks()[0] ?? null),
      this.setTrack('video', localStream.getVideoTracks()[0] ?? null),
      ...(screen ? [this.setTrack('screen', screen)] : []),
    ]);
    const camera = this.senders.get('video');
    if (fullResolution && camera?.track) await startAtFullResolution(camera, () => !this.closed);
  }

  /**
   * Sorts the tracks received into the camera stream and the screen stream by the screen's stream id the call
   * state announces now (it may come before or after the track). True when either stream changed.
   */
  sortTracks(): boolean {
    this.received.markScreen(this.options.remoteScreenStreamId());
    return this.received.sort();
  }

  /** The link's state. */
  get state(): VideoConnectionState {
    return this.stateValue;
  }

  /** The remote stream: microphone and camera (tracks arrive over time). */
  get remoteStream(): MediaStreamLike {
    return this.options.remoteStream;
  }

  /** The remote screen (its video track, while the remote peer shares one). */
  get remoteScreen(): MediaStreamLike {
    return this.options.remoteScreen;
  }

  /** The peer connection (for stats). */
  get peerConnection(): PeerConnectionLike {
    return this.pc;
  }

  /**
   * True when `description` is an offer from another peer connection than the one this link talks
   * to (the remote page was reloaded): the owner replaces this link.
   */
  isFromNewPeer(description: SessionDescription): boolean {
    if (description.type !== 'offer') return false;
    const incoming = fingerprintOf(description.sdp);
    return incoming !== null && this.remoteFingerprint !== null && incoming !== this.remoteFingerprint;
  }

  /** Applies a signal from the remote peer. Signals are applied one after another, in order. */
  receive(signal: LinkSignal): void {
    this.inbound = this.inbound
      .then(() => this.apply(signal))
      .catch((err: unknown) => {
        if (!this.closed) this.callbacks.onError(err);
      });
  }

  /**
   * Sends `track` in place of the current track of its kind (no renegotiation), or adds it when
   * the link has never sent that kind (renegotiates). `null` stops sending that kind.
   */
  async setTrack(kind: SendKind, track: MediaTrackLike | null): Promise<void> {
    if (this.closed) return;
    if (!this.attached) {
      this.pendingTracks.set(kind, track);
      return;
    }
    const sender = this.senders.get(kind);
    if (!sender) {
      if (track) this.addSender(kind, track);
      return;
    }
    await sender.replaceTrack(track);
  }

  /**
   * Restarts ICE now (the next offer carries new credentials, and candidates are gathered afresh); used after the
   * signaling reconnects, on a link that is not connected or, with `evenIfConnected`, on one that still looks
   * connected while nothing arrives on it (the network moved: ICE takes seconds to notice, and only a gathering
   * under way picks up the new address). An offer still waiting for its answer went out on the old connection
   * and may be lost: it is rolled back first, so the restart goes out as a fresh offer at once.
   */
  restart(evenIfConnected = false): void {
    if (this.closed || (this.stateValue === 'connected' && !evenIfConnected)) return;
    // A link that never connected and sent its first offer moments ago (made after the signaling came back, say, when
    // the call's media moved) has nothing to restart: rolling that offer back would leave its answer stale and the
    // next offer's m-lines out of order for the other side (seen with every Janus of a pool killed).
    if (!this.everConnected && this.offeredAt !== null && Date.now() - this.offeredAt < LOST_OFFER_MS) return;
    if (this.pc.signalingState === 'have-local-offer' && !this.makingOffer) {
      this.offeredAt = null;
      this.pc
        .setLocalDescription({ type: 'rollback' })
        .then(() => !this.closed && this.pc.restartIce())
        .catch((err: unknown) => !this.closed && this.callbacks.onError(err));
      return;
    }
    this.pc.restartIce();
  }

  /**
   * Starts this link's video afresh with a key frame. After media stopped for a while (an outage, a move), the far
   * end's decoder waits for one, and asks for it only every few seconds (Chromium: 3 s without a decoded frame); its
   * requests sent while the network was away are lost. Turning the encodings off and on again restarts the encoder,
   * whose first frame is a key frame. Encodings already off are left so.
   */
  refreshVideo(): Promise<void> {
    // One at a time: a reconnection and media heard again both ask, and an overlapping one would read the other's "off".
    this.refreshing ??= this.restartEncoders().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async restartEncoders(): Promise<void> {
    for (const kind of ['video', 'screen'] as const) {
      const sender = this.senders.get(kind);
      if (this.closed || !sender?.track || !sender.getParameters || !sender.setParameters) continue;
      const off = sender.getParameters();
      const on = off.encodings.map((e) => e.active !== false);
      if (!on.some(Boolean)) continue;
      for (const e of off.encodings) e.active = false;
      try {
        await sender.setParameters(off);
      } finally {
        await this.turnBackOn(sender, on);
      }
    }
  }

  /**
   * Turns a sender's encodings back on after `restartEncoders` turned them off. Parameters read before a
   * renegotiation (an ICE restart: the rejoin after an outage asks for one) are refused: they are read again and set
   * again, a few times, so the video is never left off. Encodings someone else changed meanwhile are left as they are.
   */
  private async turnBackOn(sender: RtpSenderLike, on: boolean[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return;
      const back = sender.getParameters!();
      if (back.encodings.some((e) => e.active !== false)) return;
      back.encodings.forEach((e, i) => (e.active = on[i] ?? true));
      try {
        await sender.setParameters!(back);
        return;
      } catch (err) {
        if (attempt >= TURN_BACK_ON_ATTEMPTS) throw err;
        await new Promise((retry) => setTimeout(retry, TURN_BACK_ON_RETRY_MS));
      }
    }
  }

  /** Closes the peer connection; no more callbacks. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    if (this.attachTimer) clearTimeout(this.attachTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.ontrack = null;
    this.pc.close();
  }

  private async negotiate(): Promise<void> {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.offeredAt = Date.now();
      this.sendLocalDescription();
    } catch (err) {
      if (!this.closed) this.callbacks.onError(err);
    } finally {
      this.makingOffer = false;
    }
  }

  private async apply({ description, candidate }: LinkSignal): Promise<void> {
    if (this.closed) return;
    if (description) {
      this.remoteFingerprint = fingerprintOf(description.sdp) ?? this.remoteFingerprint;
      const pc = this.pc;
      const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      // An offer of ours unanswered this long was lost (sent while the network was away): yield to theirs.
      const ourOfferLost = !this.makingOffer && this.offeredAt !== null && Date.now() - this.offeredAt > LOST_OFFER_MS;
      this.ignoreOffer = !this.options.polite && collision && !ourOfferLost;
      if (this.ignoreOffer) return;
      if (description.type === 'answer' && pc.signalingState !== 'have-local-offer') return; // a stale answer
      this.settingRemoteAnswer = description.type === 'answer';
      try {
        // What this page sends starts its estimate higher (the remote's codecs are the ones it sends with).
        await pc.setRemoteDescription(description.sdp === undefined ? description : { ...description, sdp: withStartBitrate(description.sdp)! });
      } finally {
        this.settingRemoteAnswer = false;
      }
      this.offeredAt = null; // answered, or rolled back for theirs
      if (description.type === 'offer') {
        // Tracks added now ride on the offered transceivers: the answer carries them, no second offer needed.
        this.attachLocalTracks();
        await pc.setLocalDescription();
        this.sendLocalDescription();
      }
      return;
    }
    if (candidate) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.ignoreOffer) throw err;
      }
    }
  }

  private sendLocalDescription(): void {
    const local = this.pc.localDescription;
    if (!local || this.closed) return;
    this.callbacks.onSignal({ description: { type: local.type as SessionDescription['type'], sdp: local.sdp } });
  }

  private connectionChanged(): void {
    if (this.closed) return;
    switch (this.pc.connectionState) {
      case 'connected': {
        const back = this.stateValue === 'reconnecting';
        this.everConnected = true;
        this.clearTimers();
        this.setState('connected');
        // Reconnected on another path: what was in flight on the old one is lost, and the far end needs a key frame.
        if (back) this.refreshVideo().catch((err: unknown) => !this.closed && this.callbacks.onError(err));
        return;
      }
      case 'disconnected':
        this.setState(this.everConnected ? 'reconnecting' : 'connecting');
        this.armFailTimer();
        if (!this.options.polite && !this.restartTimer) {
          this.restartTimer = setTimeout(() => {
            this.restartTimer = null;
            this.restart();
          }, this.options.iceRestartDelayMs);
        }
        return;
      case 'failed':
        this.setState(this.everConnected ? 'reconnecting' : 'connecting');
        this.armFailTimer();
        this.pc.restartIce();
        return;
      case 'new':
      case 'connecting':
        if (this.stateValue !== 'connected') return;
        this.setState('reconnecting');
        this.armFailTimer();
        return;
      case 'closed':
        return;
    }
  }

  private armFailTimer(): void {
    if (this.failTimer) return;
    this.failTimer = setTimeout(() => {
      this.failTimer = null;
      if (this.closed || this.stateValue === 'connected') return;
      this.clearTimers();
      this.setState('failed');
    }, this.everConnected ? this.options.lostAfterMs : this.options.failAfterMs);
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.failTimer) clearTimeout(this.failTimer);
    this.restartTimer = null;
    this.failTimer = null;
  }

  private setState(state: VideoConnectionState): void {
    if (this.stateValue === state || this.stateValue === 'failed') return;
    this.stateValue = state;
    this.callbacks.onStateChanged(state);
  }
}

/** The `a=fingerprint` of an SDP: it identifies the peer connection that made it. */
export function fingerprintOf(sdp: string | undefined): string | null {
  if (!sdp) return null;
  const match = /^a=fingerprint:(.+)$/m.exec(sdp);
  return match?.[1]?.trim() ?? null;
}
