/*
 * An in-process stand-in for WebRTC, for the SDK's Node tests (never imported by the SDK itself).
 * FakePeerConnection keeps the browser's negotiation semantics that perfect negotiation relies on:
 * an operations chain, implicit offer/answer in setLocalDescription, implicit rollback when an offer
 * arrives in have-local-offer, addTrack transceivers matched by a remote offer, negotiationneeded,
 * trickled candidates, ICE restarts (new ufrags), and connection states driven by a FakeNetwork.
 */
import { DomCallView } from '../call/DomCallView.ts';
import type {
  CallView,
  MediaDeviceInfoLike,
  MediaHandler,
  MediaRequest,
  MediaStreamLike,
  MediaTrackLike,
  PeerConnectionConfig,
  PeerConnectionLike,
  RtpSenderLike,
  RtpTransceiverLike,
  SendParametersLike,
  StatsReportLike,
  TrackEventLike,
} from '../call/MediaHandler.ts';
import type { IceCandidate, SessionDescription } from '../wire.ts';
import { FakeDocument } from './FakeDom.ts';

let counter = 0;
const nextId = (prefix: string) => `${prefix}${++counter}`;

export class FakeTrack implements MediaTrackLike {
  readonly id = nextId('track');
  enabled = true;
  readyState: 'live' | 'ended' = 'live';
  private readonly endedListeners = new Set<() => void>();
  constructor(
    readonly kind: 'audio' | 'video',
    readonly deviceId = `default-${kind}`,
  ) {}
  stop(): void {
    this.readyState = 'ended';
  }
  getSettings(): { deviceId?: string } {
    return { deviceId: this.deviceId };
  }
  addEventListener(_type: 'ended', listener: () => void): void {
    this.endedListeners.add(listener);
  }
  removeEventListener(_type: 'ended', listener: () => void): void {
    this.endedListeners.delete(listener);
  }
  /** The track ends by itself, as when the user clicks the browser's own "Stop sharing": `ended` fires. */
  endByBrowser(): void {
    this.unplug();
  }
  /** The device went away: the track ends by itself and says so (as the browser does on an unplug). */
  unplug(): void {
    this.readyState = 'ended';
    for (const listener of [...this.endedListeners]) listener();
  }
}

export class FakeStream implements MediaStreamLike {
  readonly id: string;
  private readonly tracks: MediaTrackLike[] = [];
  constructor(tracks: MediaTrackLike[] = [], id = nextId('stream')) {
    this.id = id;
    this.tracks.push(...tracks);
  }
  getTracks(): MediaTrackLike[] {
    return [...this.tracks];
  }
  getAudioTracks(): MediaTrackLike[] {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks(): MediaTrackLike[] {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  addTrack(track: MediaTrackLike): void {
    if (!this.tracks.includes(track)) this.tracks.push(track);
  }
  removeTrack(track: MediaTrackLike): void {
    const i = this.tracks.indexOf(track);
    if (i >= 0) this.tracks.splice(i, 1);
  }
}

/** The network every fake peer connection of a test shares. */
export class FakeNetwork {
  up = true;
  readonly peers = new Set<FakePeerConnection>();

  /** Cuts the network: connected links go `disconnected` and need an ICE restart to come back. */
  drop(): void {
    this.up = false;
    for (const pc of this.peers) pc.networkDropped();
  }

  /** The network is back (links reconnect once ICE is restarted). */
  restore(): void {
    this.up = true;
    for (const pc of this.peers) pc.checkConnected();
  }
}

class FakeSender implements RtpSenderLike {
  everHadTrack = false;
  constructor(
    public track: MediaTrackLike | null,
    private readonly transceiver: FakeTransceiver,
  ) {
    this.everHadTrack = track !== null;
  }
  replaceTrack(track: MediaTrackLike | null): Promise<void> {
    if (track) this.everHadTrack = true;
    this.track = track;
    return Promise.resolve();
  }
  setStreams(...streams: MediaStreamLike[]): void {
    this.transceiver.streamId = streams[0]?.id ?? '-';
  }
  /** One encoding; every `setParameters` is logged as the encodings' `active` flags. */
  encodings: Array<{ active?: boolean }> = [{ active: true }];
  readonly parameterLog: boolean[][] = [];
  /** The degradation preference set, and every one set in order. */
  degradationPreference: SendParametersLike['degradationPreference'];
  readonly preferenceLog: Array<SendParametersLike['degradationPreference']> = [];
  getParameters(): SendParametersLike {
    return { encodings: this.encodings.map((e) => ({ ...e })), ...(this.degradationPreference ? { degradationPreference: this.degradationPreference } : {}) };
  }
  setParameters(parameters: SendParametersLike): Promise<void> {
    if (parameters.degradationPreference !== this.degradationPreference) {
      // A change of preference alone is logged apart from the encodings' flags.
      this.preferenceLog.push(parameters.degradationPreference);
      this.degradationPreference = parameters.degradationPreference;
      return Promise.resolve();
    }
    this.encodings = parameters.encodings.map((e) => ({ ...e }));
    this.parameterLog.push(this.encodings.map((e) => e.active !== false));
    return Promise.resolve();
  }
}

class FakeTransceiver implements RtpTransceiverLike {
  mid: string | null = null;
  direction: RtpTransceiverLike['direction'] = 'recvonly';
  offeredSend = false;
  remoteSending = false;
  /** The stream id the sender put its track in (the msid), '-' for none. */
  streamId = '-';
  readonly receiver: { track: FakeTrack };
  readonly sender: FakeSender;
  constructor(readonly kind: 'audio' | 'video', track: MediaTrackLike | null, readonly fromAddTrack: boolean) {
    this.sender = new FakeSender(track, this);
    this.receiver = { track: new FakeTrack(kind) };
  }
  /** Offers to send: made by addTrack or addTransceiver, or set to send (as a browser's `direction`). */
  get sends(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'sendonly';
  }
}

interface MLine {
  kind: 'audio' | 'video';
  mid: string;
  sending: boolean;
  streamId: string;
}

function parse(sdp: string | undefined): { ufrag: string; lines: MLine[] } {
  const text = sdp ?? '';
  const ufrag = /^a=ice-ufrag:(\S+)$/m.exec(text)?.[1] ?? '';
  const lines: MLine[] = [];
  for (const m of text.matchAll(/^m=(audio|video) (\S+) (send|recv) (\S+)$/gm)) {
    lines.push({ kind: m[1] as 'audio' | 'video', mid: m[2]!, sending: m[3] === 'send', streamId: m[4]! });
  }
  return { ufrag, lines };
}

const invalidState = (message: string) => Object.assign(new Error(message), { name: 'InvalidStateError' });

export class FakePeerConnection implements PeerConnectionLike {
  readonly id = nextId('pc');
  signalingState: PeerConnectionLike['signalingState'] = 'stable';
  connectionState: PeerConnectionLike['connectionState'] = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  onnegotiationneeded: (() => void) | null = null;
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: ((event: TrackEventLike) => void) | null = null;
  /** Every description this connection applied or created, for assertions. */
  readonly log: string[] = [];
  rollbacks = 0;
  restarts = 0;
  private readonly transceivers: FakeTransceiver[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private ufrag = nextId('u');
  private restartPending = false;
  private needCheckQueued = false;
  private midCounter = 0;
  private stableLocal: { type: string; sdp: string } | null = null;
  private offerUndo: { mids: FakeTransceiver[]; ufrag: string; restarted: boolean } | null = null;
  private readonly remoteUfrags = new Set<string>();
  private closed = false;
  private statsCalls = 0;

  constructor(
    readonly network: FakeNetwork,
    readonly config: PeerConnectionConfig,
  ) {
    network.peers.add(this);
  }

  addTrack(track: MediaTrackLike, ...streams: MediaStreamLike[]): RtpSenderLike {
    const reusable = this.transceivers.find((t) => t.kind === track.kind && !t.sender.everHadTrack && !t.sends);
    const transceiver = reusable ?? new FakeTransceiver(track.kind as 'audio' | 'video', null, true);
    if (!reusable) this.transceivers.push(transceiver);
    transceiver.streamId = streams[0]?.id ?? '-';
    transceiver.sender.track = track;
    transceiver.sender.everHadTrack = true;
    transceiver.direction = 'sendrecv';
    this.queueNegotiationCheck();
    return transceiver.sender;
  }

  addTransceiver(kind: 'audio' | 'video', init: { direction: 'sendrecv' | 'sendonly'; streams: MediaStreamLike[] }): RtpTransceiverLike {
    const transceiver = new FakeTransceiver(kind, null, true);
    transceiver.direction = init.direction;
    transceiver.streamId = init.streams[0]?.id ?? '-';
    this.transceivers.push(transceiver);
    this.queueNegotiationCheck();
    return transceiver;
  }

  getTransceivers(): RtpTransceiverLike[] {
    return [...this.transceivers];
  }

  restartIce(): void {
    this.restarts++;
    this.restartPending = true;
    this.queueNegotiationCheck();
  }

  setLocalDescription(description?: SessionDescription): Promise<void> {
    return this.enqueue(() => {
      if (description?.type === 'rollback') return this.rollback();
      const type = description?.type ?? (this.signalingState === 'have-remote-offer' ? 'answer' : 'offer');
      if (type === 'offer') {
        if (this.signalingState !== 'stable' && this.signalingState !== 'have-local-offer') throw invalidState(`offer in ${this.signalingState}`);
        const undo = { mids: [] as FakeTransceiver[], ufrag: this.ufrag, restarted: this.restartPending };
        for (const t of this.transceivers) {
          if (t.mid === null) {
            while (this.transceivers.some((x) => x.mid === String(this.midCounter))) this.midCounter++;
            t.mid = String(this.midCounter++);
            undo.mids.push(t);
          }
        }
        if (this.restartPending) this.ufrag = nextId('u');
        this.restartPending = false;
        if (this.signalingState === 'stable') this.offerUndo = undo;
        this.localDescription = { type: 'offer', sdp: this.sdp(this.transceivers) };
        this.signalingState = 'have-local-offer';
      } else {
        if (this.signalingState !== 'have-remote-offer') throw invalidState(`answer in ${this.signalingState}`);
        const order = parse(this.remoteDescription?.sdp).lines.map((l) => this.transceivers.find((t) => t.mid === l.mid)!);
        this.localDescription = { type: 'answer', sdp: this.sdp(order) };
        this.becomeStable();
      }
      this.log.push(`local ${this.localDescription.type}`);
      setTimeout(() => this.emitCandidate(), 0);
    });
  }

  setRemoteDescription(description: SessionDescription): Promise<void> {
    return this.enqueue(() => {
      const { ufrag, lines } = parse(description.sdp);
      if (description.type === 'rollback') return this.rollback();
      if (description.type === 'offer') {
        if (this.signalingState === 'have-local-offer') this.rollback();
        if (this.signalingState !== 'stable') throw invalidState(`remote offer in ${this.signalingState}`);
        for (const line of lines) {
          let t = this.transceivers.find((x) => x.mid === line.mid);
          t ??= this.transceivers.find((x) => x.mid === null && x.kind === line.kind && x.fromAddTrack);
          if (!t) {
            t = new FakeTransceiver(line.kind, null, false);
            this.transceivers.push(t);
          }
          t.mid = line.mid;
        }
        const previousUfrag = parse(this.remoteDescription?.sdp).ufrag;
        if (previousUfrag && previousUfrag !== ufrag) this.ufrag = nextId('u'); // the remote restarted ICE
        this.remoteDescription = { type: 'offer', sdp: description.sdp ?? '' };
        this.signalingState = 'have-remote-offer';
      } else if (description.type === 'answer') {
        if (this.signalingState !== 'have-local-offer') throw invalidState(`remote answer in ${this.signalingState}`);
        this.remoteDescription = { type: 'answer', sdp: description.sdp ?? '' };
        this.becomeStable();
      }
      this.log.push(`remote ${description.type}`);
      for (const line of lines) {
        const t = this.transceivers.find((x) => x.mid === line.mid);
        if (t && line.sending && !t.remoteSending) {
          t.remoteSending = true;
          const streams = line.streamId === '-' ? [] : [new FakeStream([t.receiver.track], line.streamId)];
          this.ontrack?.({ track: t.receiver.track, streams, transceiver: t });
        }
      }
      this.checkConnected();
    });
  }

  addIceCandidate(candidate?: IceCandidate): Promise<void> {
    return this.enqueue(() => {
      if (!this.remoteDescription) throw invalidState('no remote description');
      const ufrag = /^candidate:fake (\S+)/.exec(candidate?.candidate ?? '')?.[1];
      if (ufrag) this.remoteUfrags.add(ufrag);
      this.checkConnected();
    });
  }

  getStats(): Promise<StatsReportLike> {
    const calls = ++this.statsCalls;
    const connected = this.connectionState === 'connected';
    const stats = new Map<string, Record<string, unknown>>();
    for (const t of this.transceivers) {
      if (!t.remoteSending) continue;
      stats.set(`in-${t.mid}`, {
        type: 'inbound-rtp',
        kind: t.kind,
        packetsReceived: connected ? 50 * calls : 0,
        packetsLost: connected ? calls : 0,
        ...(t.kind === 'video' ? { framesDecoded: connected ? 30 * calls : 0 } : {}),
      });
    }
    stats.set('pair', { type: 'candidate-pair', state: connected ? 'succeeded' : 'in-progress', nominated: true, currentRoundTripTime: 0.012 });
    return Promise.resolve(stats);
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
    this.network.peers.delete(this);
  }

  /** The live track sent on the transceiver of stream `streamId` (a screen), or null. */
  sendingFromStream(streamId: string): MediaTrackLike | null {
    const track = this.transceivers.find((t) => t.streamId === streamId)?.sender.track ?? null;
    return track?.readyState === 'live' ? track : null;
  }

  /** Is this connection sending a live, enabled track of `kind`? */
  sending(kind: 'audio' | 'video'): boolean {
    return this.transceivers.some((t) => t.kind === kind && t.sender.track?.readyState === 'live');
  }

  /** @internal */
  networkDropped(): void {
    this.remoteUfrags.clear();
    if (this.connectionState === 'connected') this.setConnection('disconnected');
  }

  /** @internal Connected once both descriptions are set, stable, and a candidate of the current remote ufrag arrived. */
  checkConnected(): void {
    if (this.closed || !this.network.up || this.connectionState === 'connected') return;
    if (!this.localDescription || !this.remoteDescription || this.signalingState !== 'stable') return;
    if (!this.remoteUfrags.has(parse(this.remoteDescription.sdp).ufrag)) return;
    if (this.connectionState === 'new') this.setConnection('connecting');
    setTimeout(() => {
      if (!this.closed && this.network.up && this.connectionState !== 'connected') this.setConnection('connected');
    }, 1);
  }

  private sdp(transceivers: FakeTransceiver[]): string {
    const lines = ['v=0', `a=fingerprint:sha-256 ${this.id}`, `a=ice-ufrag:${this.ufrag}`];
    for (const t of transceivers) {
      t.offeredSend = t.sends;
      lines.push(`m=${t.kind} ${t.mid} ${t.offeredSend ? 'send' : 'recv'} ${t.streamId}`);
    }
    return lines.join('\n');
  }

  private rollback(): void {
    if (this.signalingState !== 'have-local-offer') throw invalidState(`rollback in ${this.signalingState}`);
    this.rollbacks++;
    const undo = this.offerUndo;
    if (undo) {
      for (const t of undo.mids) t.mid = null;
      this.ufrag = undo.ufrag;
      this.restartPending = this.restartPending || undo.restarted;
    }
    this.localDescription = this.stableLocal;
    this.signalingState = 'stable';
    this.log.push('rollback');
    this.queueNegotiationCheck();
  }

  private becomeStable(): void {
    this.signalingState = 'stable';
    this.offerUndo = null;
    this.stableLocal = this.localDescription;
    this.queueNegotiationCheck();
  }

  private needsNegotiation(): boolean {
    if (this.restartPending) return true;
    return this.transceivers.some((t) => t.mid === null || t.offeredSend !== t.sends);
  }

  private queueNegotiationCheck(): void {
    if (this.needCheckQueued) return;
    this.needCheckQueued = true;
    setTimeout(() => {
      this.needCheckQueued = false;
      void this.enqueue(() => {
        if (!this.closed && this.signalingState === 'stable' && this.needsNegotiation()) this.onnegotiationneeded?.();
      });
    }, 0);
  }

  private emitCandidate(): void {
    if (this.closed) return;
    const ufrag = this.ufrag;
    this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate: `candidate:fake ${ufrag}`, sdpMid: '0', sdpMLineIndex: 0 }) } });
  }

  private setConnection(state: PeerConnectionLike['connectionState']): void {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }

  private enqueue(op: () => void): Promise<void> {
    const run = this.chain.then(async () => {
      await new Promise((r) => setTimeout(r, 0));
      if (this.closed) throw invalidState('closed');
      op();
    });
    this.chain = run.catch(() => {});
    return run;
  }
}

/** The devices a FakeMediaHandler starts with: one camera, one microphone, one speaker, each the default. */
const DEFAULT_DEVICES: MediaDeviceInfoLike[] = [
  { kind: 'videoinput', deviceId: 'default-video', label: 'Fake camera' },
  { kind: 'audioinput', deviceId: 'default-audio', label: 'Fake microphone' },
  { kind: 'audiooutput', deviceId: 'default-speaker', label: 'Fake speaker' },
];

/**
 * A MediaHandler made of fakes: devices that can be denied, plugged in and unplugged (`plug`, `unplug`), peer
 * connections on a FakeNetwork, a FakeDocument.
 */
export class FakeMediaHandler implements MediaHandler {
  /** DOMException names getUserMedia rejects with, per device (e.g. `{ video: 'NotAllowedError' }`); `screen`: getDisplayMedia's. */
  deny: { audio?: string; video?: string; screen?: string } = {};
  /** Screens handed out by getDisplayMedia, in order. */
  readonly screens: FakeTrack[] = [];
  readonly peerConnections: FakePeerConnection[] = [];
  readonly requests: MediaRequest[] = [];
  readonly tracks: FakeTrack[] = [];
  /** The devices there are now. */
  devices: MediaDeviceInfoLike[] = [...DEFAULT_DEVICES];
  private readonly deviceWatchers = new Set<() => void>();

  constructor(
    readonly network: FakeNetwork,
    readonly document: FakeDocument = new FakeDocument(),
  ) {}

  createPeerConnection(config: PeerConnectionConfig): PeerConnectionLike {
    const pc = new FakePeerConnection(this.network, config);
    this.peerConnections.push(pc);
    return pc;
  }

  async getUserMedia(request: MediaRequest): Promise<MediaStreamLike> {
    this.requests.push({ ...request });
    await new Promise((r) => setTimeout(r, 0));
    const refused = (request.audio && this.deny.audio) || (request.video && this.deny.video);
    if (refused) throw Object.assign(new Error(`${refused} (fake)`), { name: refused });
    const tracks: FakeTrack[] = [];
    if (request.audio) tracks.push(new FakeTrack('audio', this.deviceFor('audioinput', request.audioDeviceId)));
    if (request.video) tracks.push(new FakeTrack('video', this.deviceFor('videoinput', request.videoDeviceId)));
    this.tracks.push(...tracks);
    return new FakeStream(tracks);
  }

  async getDisplayMedia(): Promise<MediaStreamLike> {
    await new Promise((r) => setTimeout(r, 0));
    if (this.deny.screen) throw Object.assign(new Error(`${this.deny.screen} (fake)`), { name: this.deny.screen });
    const track = new FakeTrack('video');
    this.screens.push(track);
    return new FakeStream([track]);
  }

  enumerateDevices(): Promise<MediaDeviceInfoLike[]> {
    return Promise.resolve(this.devices.map((d) => ({ ...d })));
  }

  watchDevices(listener: () => void): () => void {
    this.deviceWatchers.add(listener);
    return () => this.deviceWatchers.delete(listener);
  }

  /** Plugs a device in (`devicechange` fires). */
  plug(device: MediaDeviceInfoLike): void {
    this.devices.push(device);
    for (const watcher of [...this.deviceWatchers]) watcher();
  }

  /** Unplugs a device: it leaves the list, and its live tracks end by themselves. */
  unplug(deviceId: string): void {
    this.devices = this.devices.filter((d) => d.deviceId !== deviceId);
    for (const track of this.tracks) if (track.deviceId === deviceId && track.readyState === 'live') track.unplug();
    for (const watcher of [...this.deviceWatchers]) watcher();
  }

  /** The live tracks of a kind (the ones this page has open). */
  liveTracks(kind: 'audio' | 'video'): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === kind && t.readyState === 'live');
  }

  /** The device a request opens: the id asked for (OverconstrainedError when it is not there), else the first of its kind. */
  private deviceFor(kind: 'audioinput' | 'videoinput', id: string | undefined): string {
    const device = this.devices.find((d) => d.kind === kind && (id === undefined || d.deviceId === id));
    if (!device) throw Object.assign(new Error(`no ${kind} ${id ?? ''} (fake)`), { name: id === undefined ? 'NotFoundError' : 'OverconstrainedError' });
    return device.deviceId;
  }

  createStream(): MediaStreamLike {
    return new FakeStream();
  }

  createView(divID: string | null): CallView {
    return new DomCallView(this.document, divID);
  }

  /** The latest peer connection (fake) this handler made. */
  get lastPeerConnection(): FakePeerConnection | undefined {
    return this.peerConnections[this.peerConnections.length - 1];
  }
}
