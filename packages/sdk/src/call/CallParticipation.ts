import { ParleyError } from '../errors.ts';
import type { CallParticipant, CallRequester, CallSnapshot, FrameSender, IceServerInfo, IceTransportPolicy, MediaAccess, Party } from '../wire.ts';
import type { ResolvedCallOptions } from './callOptions.ts';
import { CallDevices } from './CallDevices.ts';
import type { DeviceChoice, DeviceSelection, DevicesInUse } from './devices.ts';
import type { CallStatsRow, DeviceChangedEvent, DeviceListChangedEvent, VideoConnectionState, VideoErrorEvent } from './events.ts';
import { LocalMedia, type MediaFailure, type MediaOutcome } from './LocalMedia.ts';
import type { CallView } from './MediaHandler.ts';
import type { LinkSignal } from './PeerLink.ts';
import { createJanusTransport } from './janus/JanusTransport.ts';
import type { MediaTransport } from './MediaTransport.ts';
import { PeerMesh } from './PeerMesh.ts';
import type { ConnectionQuality } from './quality/linkQuality.ts';
import { QualityWatch } from './quality/QualityWatch.ts';
import { SilenceWatch } from './quality/SilenceWatch.ts';
import { SpeakerWatch } from './quality/SpeakerWatch.ts';
import { VideoFallback, type FallbackAction } from './quality/VideoFallback.ts';
import { ScreenShare } from './ScreenShare.ts';

/** Least time between two joins asked for because the media server could not be reached (its access may have changed). */
const UNREACHABLE_REJOIN_MS = 3000;
/** Signals kept for links not made yet (before the devices opened, or while the media goes through an SFU). */
const MAX_EARLY_SIGNALS = 200;

/** Who sends what. */
export interface Sending {
  audio: boolean;
  video: boolean;
  /** The camera is on but not sent: the link cannot carry it (the audio fallback). */
  videoPaused?: boolean;
}

/** What a {@link CallParticipation} is built from and how it reports to the call. */
export interface CallParticipationDeps {
  sessionID: string;
  callId: string;
  self: Party;
  /** This page (see `call.join`'s `page`): named in every join and signal, so the call is on this page of the party. */
  page: string;
  /** Where to draw (`document.getElementById(divID)`); set by `accept` for a participation prepared while ringing. */
  divID: string | null;
  options: ResolvedCallOptions;
  request: CallRequester;
  send: FrameSender;
  /** A participant as the call now describes it. */
  participant(id: string): CallParticipant | undefined;
  /** The remote participants to link to: the joined ones, and prepared ones. */
  joinedRemoteIds(): string[];
  /** Of those, the ones whose invitation into the running call rings (prepared, not joined): nothing sent or drawn yet. */
  heldRemoteIds(): string[];
  /** A request's result (`call.join`, `call.screen`): the call as it stands. */
  onJoined(call: CallSnapshot): void;
  /** What this page sends changed. */
  onSending(sending: Sending): void;
  /** Neither camera nor microphone could be opened. */
  onNothingToSend(): void;
  onLinkState(remoteId: string, state: VideoConnectionState): void;
  /** The shown quality of a link changed (this page's own id: its sending). */
  onQuality(participantId: string, quality: ConnectionQuality): void;
  /** The loudest remote participant changed (groups of three or more). */
  onActiveSpeaker(participantId: string | null): void;
  /** The devices chosen for this conversation's calls (the call opens them; it records fallbacks in it). */
  devices: DeviceSelection;
  /** A device changed: chosen, or a fallback after an unplug (the sending update, if any, came first). */
  onDeviceChanged(event: Omit<DeviceChangedEvent, 'sessionID'>): void;
  /** Devices were plugged in or out. */
  onDeviceListChanged(event: Omit<DeviceListChangedEvent, 'sessionID'>): void;
  onError(error: Omit<VideoErrorEvent, 'sessionID'>): void;
  /** Checks the signaling socket at once; false when it was dead (it is being replaced). Absent: nothing to check. */
  checkConnection?(): Promise<boolean>;
}

/**
 * This page's part in one call: its camera and microphone, its `call.join` (again after a reconnect), its links
 * (a {@link PeerMesh}, or Janus) and its drawing. Closed by the call when it ends.
 *
 * A call is prepared while it rings (`prepare`): the links (peer-to-peer, or Janus's publisher and subscriptions)
 * are negotiated and connected with transceivers for the call's audio and video but no track, nothing drawn and
 * nothing reported. Once the call is
 * accepted (`accept` on the answering page, `join` on both) the devices' tracks go onto those transceivers with
 * `replaceTrack`, with no offer or answer on the way. The asking page opens its devices when it asks; the
 * answering page only when it accepts.
 */
export class CallParticipation {
  readonly #deps: CallParticipationDeps;
  readonly #localMedia: LocalMedia;
  readonly #screen: ScreenShare;
  readonly #devices: CallDevices;
  /** The devices opening, once they were asked for (at once, or for a prepared answer when it is accepted). */
  #mediaReady: Promise<MediaOutcome> | null = null;
  readonly #wanted: Sending;
  #sending: Sending = { audio: false, video: false };
  #iceServers: IceServerInfo[] = [];
  #iceTransportPolicy: IceTransportPolicy | undefined;
  /** The early `call.join` of a call that rings, while it is under way. */
  #preparing: Promise<void> | null = null;
  /** Prepared for an invitation into the running call (its `call.join`s say `prepare`), not for a ring. */
  #invitation = false;
  /** The call was accepted: the links send this page's devices (set once, never unset). */
  #released = false;
  /** A `call.join` of the accepted call was answered: the server takes this page's link reports. */
  #inCall = false;
  #transport: MediaTransport | null = null;
  #mediaAccess: MediaAccess = { kind: 'mesh' };
  /** Signals that came after joining but before the camera was open. */
  #earlySignals: Array<{ from: string; signal: LinkSignal }> = [];
  #view: CallView | null = null;
  #joining = false;
  /** A join for fresh media access was asked for while another join was under way: made once that one is done. */
  #joinAgain = false;
  /** The moves of the call's media this page followed (`call.updated` with `mediaMoved`). */
  #mediaMoves = 0;
  #unreachableRejoinAt = -Infinity;
  #closed = false;
  /** The last state of each link, reported again after a rejoin. */
  readonly #linkStates = new Map<string, VideoConnectionState>();
  readonly #speakers: SpeakerWatch;
  readonly #quality: QualityWatch;
  readonly #fallback = new VideoFallback();
  readonly #silence: SilenceWatch;

  /** `openDevices`: open the camera and microphone now (false: a prepared answer opens them on `accept`). */
  constructor(deps: CallParticipationDeps, want: Sending, openDevices = true) {
    this.#deps = deps;
    this.#wanted = { ...want };
    this.#localMedia = new LocalMedia(deps.options.media, deps.devices, (kind, track) => this.#devices.trackEnded(kind, track));
    this.#quality = new QualityWatch({
      selfId: deps.self.id,
      links: () => this.#transport?.qualityLinks() ?? [],
      onQuality: (id, quality) => {
        if (this.#closed) return;
        this.#view?.setQuality(id === deps.self.id ? 'local' : id, quality);
        deps.onQuality(id, quality);
      },
      onSending: (interval) => {
        if (this.#closed || !this.#sending.video || !deps.options.videoFallback) return;
        const action = this.#fallback.update(interval);
        if (action) void this.#fallBack(action);
      },
    });
    // Media stopping is the first sign of a dropped or moved network, long before ICE or the socket notice: the
    // tile says reconnecting, the socket is checked at once (a dead one is replaced, and the join and ICE restart
    // follow its reconnection), and once media comes back this page's video restarts with a key frame.
    this.#silence = new SilenceWatch({
      links: () => this.#transport?.qualityLinks() ?? [],
      onSilent: (id) => {
        this.#view?.setReconnecting(id, true);
        void this.#deps.checkConnection?.();
      },
      onHeard: (id) => {
        if (this.#closed) return;
        this.#view?.setReconnecting(id, this.#linkStates.get(id) === 'reconnecting');
        this.#transport?.refreshVideo?.(id);
      },
    });
    this.#speakers = new SpeakerWatch({
      stats: () => this.stats(),
      sendsAudio: (id) => deps.participant(id)?.audio !== false,
      onSpeaker: (id) => {
        this.#view?.setActiveSpeaker(id);
        deps.onActiveSpeaker(id);
      },
    });
    const { sessionID, callId } = deps;
    this.#screen = new ScreenShare({
      media: deps.options.media,
      announce: async (on, stream) => deps.onJoined((await deps.request('call.screen', { sessionID, callId, on, ...(on ? { stream } : {}) })).call),
      send: async (track) => this.#transport?.setTrack('screen', track),
      onChanged: (stream) => this.#ensureView().showLocalScreen(stream),
      onError: (err) => this.#reportError('signaling-failed', 'could not stop sharing the screen', err),
    });
    this.#devices = new CallDevices({
      media: deps.options.media,
      selection: deps.devices,
      localMedia: this.#localMedia,
      transport: () => this.#transport,
      view: () => this.#ensureView(),
      onChanged: (event) => {
        if (this.#closed) return;
        this.#renderLocal();
        deps.onSending(this.#sending); // contact.video.devices changed
        deps.onDeviceChanged(event);
      },
      onListChanged: (event) => !this.#closed && deps.onDeviceListChanged(event),
      onLost: (kind, failure) => {
        if (this.#closed) return;
        this.#reportMediaFailure(failure);
        this.#updateSending({ ...this.#sending, [kind]: false });
      },
    });
    if (openDevices) void this.#opened();
  }

  /** The devices, opened on the first call. */
  #opened(): Promise<MediaOutcome> {
    this.#mediaReady ??= this.#localMedia.acquire(this.#wanted).then((outcome) => {
      if (this.#closed) return outcome;
      for (const failure of outcome.failures) this.#reportMediaFailure(failure);
      this.#sending = { audio: outcome.audio, video: outcome.video };
      this.#deps.onSending(this.#sending);
      if (!outcome.audio && !outcome.video) this.#deps.onNothingToSend();
      else if (this.#released) this.#renderLocal();
      return outcome;
    });
    return this.#mediaReady;
  }

  /** This page's join was answered: it is in the call (until another page of the party joins it). */
  get joinedHere(): boolean {
    return this.#inCall;
  }

  /** Prepared (the server answered this page's prepare) and not joined: another page of the party may take it over. */
  get preparedOnly(): boolean {
    return this.#transport !== null && !this.#inCall && !this.#joining;
  }

  /** The links exist and send nothing yet: prepared while the call rings. */
  get #held(): boolean {
    return this.#transport?.holding === true;
  }

  /**
   * The call rings: prepares the media path (a `call.join` before the answer). Peer-to-peer, its link connects to
   * the other party's prepared one; through Janus, it joins the room, publishes and subscribes to the other's feed.
   * Nothing is opened, sent or drawn while nobody has answered. Refused (a server that does not prepare, the call
   * no longer ringing): the join after the answer makes the links as before.
   */
  prepare(invitation = false): void {
    if (this.#preparing || this.#transport || this.#joining || this.#closed) return;
    this.#invitation = invitation;
    this.#preparing = this.#requestJoin(invitation)
      .then((result) => {
        if (this.#closed || this.#transport) return;
        this.#iceServers = result.iceServers;
        this.#mediaAccess = result.media;
        this.#iceTransportPolicy = result.iceTransportPolicy;
        // Held even when the call was accepted meanwhile: the release (waiting for this) sends the devices once open.
        this.#transport = this.#createTransport(this.#holdKinds());
        this.#deps.onJoined(result.call); // may close this path: another page of the party prepared since
        if (this.#closed) return;
        for (const { from, signal } of this.#earlySignals.splice(0)) this.#transport.receive(from, signal);
        this.participantsChanged();
      })
      .catch(() => undefined) // not prepared: the links are made once the call is joined
      .finally(() => {
        this.#preparing = null;
      });
  }

  /** A `call.join` from this page; `prepareOnly`: an invitation into a running call, prepared while it rings. */
  #requestJoin(prepareOnly: boolean) {
    const { sessionID, callId, page } = this.#deps;
    return this.#deps.request('call.join', { sessionID, callId, page, ...(prepareOnly ? { prepare: true } : {}) });
  }

  /** What a prepared link negotiates: the kinds the call was asked with. */
  #holdKinds(): Array<'audio' | 'video'> {
    return [...(this.#wanted.audio ? ['audio' as const] : []), ...(this.#wanted.video ? ['video' as const] : [])];
  }

  /**
   * This page accepted the call (a participation prepared while it rang): it draws into `divID`, opens its
   * devices, and its prepared links send them as soon as they are open, without waiting for the answer's round trip.
   */
  accept(divID: string | null): void {
    if (this.#closed) return;
    this.#deps.divID = divID;
    this.#release();
  }

  /**
   * From the accept on: once the devices are open, the prepared links send them (`replaceTrack`), and what was
   * held back while ringing starts: drawing, the quality and silence watches, link states reported.
   */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    void this.#opened().then(async (outcome) => {
      await this.#preparing;
      if (this.#closed || (!outcome.audio && !outcome.video)) return;
      this.#renderLocal();
      const transport = this.#transport;
      if (!transport?.holding) return;
      await transport.release();
      if (this.#closed) return;
      this.#startWatching();
      for (const [peerId, state] of this.#linkStates) this.#deps.onLinkState(peerId, state);
      this.participantsChanged();
    });
  }

  /** Tells the server how each link is (it takes link reports once this page joined). */
  #reportLinkStates(): void {
    const { sessionID, callId } = this.#deps;
    for (const [peerId, state] of this.#linkStates) this.#deps.send({ type: 'call.connection', sessionID, callId, peerId, state });
  }

  #startWatching(): void {
    this.#quality.start();
    this.#silence.start();
  }

  /** The call this participation is in. */
  get callId(): string {
    return this.#deps.callId;
  }

  /** Joins the call (once; `rejoin` for later joins). Links are made once the devices are open. */
  join(): void {
    if (this.#joining || this.#closed || (this.#inCall && this.#transport)) return;
    this.#joining = true;
    this.#release(); // a prepared link sends as soon as the devices are open, not after this join's round trip
    this.#requestJoin(false)
      .then(async (result) => {
        if (this.#closed) return;
        this.#inCall = true;
        this.#iceServers = result.iceServers;
        this.#iceTransportPolicy = result.iceTransportPolicy;
        this.#deps.onJoined(result.call);
        const outcome = await this.#opened();
        await this.#preparing;
        if (this.#closed || (!outcome.audio && !outcome.video)) return;
        if (this.#sending.audio !== this.#wanted.audio || this.#sending.video !== this.#wanted.video) this.#sendMedia();
        if (this.#transport && sameMedia(result.media, this.#mediaAccess)) {
          // Prepared while it rang: the server counts this page as joined now, so it hears how each link is.
          this.#reportLinkStates();
          return;
        }
        this.#transport?.close();
        this.#mediaAccess = result.media;
        this.#transport = this.#createTransport();
        this.#startWatching();
        for (const { from, signal } of this.#earlySignals.splice(0)) this.#transport.receive(from, signal);
        this.participantsChanged();
      })
      .catch((err: unknown) => this.#reportError('signaling-failed', 'could not join the call', err))
      .finally(() => this.#joined());
  }

  /** The signaling reconnected: join again, then restart ICE on links that are not connected or that media stopped on. */
  rejoin(): void {
    if (this.#held && !this.#released) return this.#prepareAgain();
    if (!this.#transport || this.#joining || this.#closed) return this.join();
    this.#joining = true;
    this.#requestJoin(false)
      .then(({ call, iceServers, media }) => {
        if (this.#closed || !this.#transport) return;
        this.#transport.iceServers = iceServers;
        this.#deps.onJoined(call);
        if (!sameMedia(media, this.#mediaAccess)) return this.#switchMedia(media);
        // The server (perhaps a restarted one) knows nothing of the links that kept running: say how each is.
        this.#reportLinkStates();
        this.#transport.restartStalled(this.#silence.silentIds());
      })
      .catch((err: unknown) => this.#reportError('signaling-failed', 'could not rejoin the call', err))
      .finally(() => this.#joined());
  }

  /**
   * The call's media moved (its Janus died; the room is on another one now): join again for the new access,
   * then publish and subscribe there. `moves` counts the moves so far; one already followed is ignored.
   */
  mediaMoved(moves: number): void {
    if (moves <= this.#mediaMoves || this.#closed) return;
    this.#mediaMoves = moves;
    this.#renewAccess();
  }

  /** The signaling reconnected while the call rings: prepare again (a restarted server knows nothing), and restart ICE where it stalled. */
  #prepareAgain(): void {
    this.#requestJoin(this.#invitation)
      .then((result) => {
        if (this.#closed || !this.#transport) return;
        this.#transport.iceServers = result.iceServers;
        this.#deps.onJoined(result.call);
        this.#transport.restartStalled();
      })
      .catch(() => undefined); // the call stopped ringing meanwhile: what it became says what follows
  }

  /** Joins again (now, or after the join under way) for the media access as it is now. */
  #renewAccess(): void {
    if (this.#closed) return;
    if (this.#joining) this.#joinAgain = true;
    else this.rejoin();
  }

  #joined(): void {
    this.#joining = false;
    if (!this.#joinAgain) return;
    this.#joinAgain = false;
    this.#renewAccess();
  }

  /** The media is somewhere else now: the old transport goes, a new one reaches the new place and publishes there. */
  #switchMedia(media: MediaAccess): void {
    this.#transport?.close();
    this.#mediaAccess = media;
    this.#transport = this.#createTransport();
    for (const { from, signal } of this.#earlySignals.splice(0)) this.#transport.receive(from, signal);
    this.participantsChanged();
  }

  /** Participants joined, left or changed media: links and drawing follow (drawing once the call was accepted). */
  participantsChanged(): void {
    if (!this.#transport) return;
    this.#transport.sync(this.#deps.joinedRemoteIds(), new Set(this.#deps.heldRemoteIds()));
    if (!this.#released) return;
    this.#screen.reconcile(this.#deps.participant(this.#deps.self.id)?.screen ?? false);
    for (const id of this.#transport.remoteIds) this.#renderRemote(id);
    this.#speakers.watch(this.#transport.remoteIds.length >= 2);
  }

  /**
   * A signal from a remote participant. Kept while there are no peer-to-peer links to give it to: before the
   * devices opened, or while this page's media goes through Janus and the other's already went peer-to-peer
   * (no Janus left), until this page's access follows.
   */
  receive(from: string, signal: LinkSignal): void {
    if (this.#closed) return;
    if (this.#transport && this.#mediaAccess.kind === 'mesh') this.#transport.receive(from, signal);
    else if (this.#earlySignals.length < MAX_EARLY_SIGNALS) this.#earlySignals.push({ from, signal });
  }

  /** Turns the camera on (opening it again) or off (releasing it). Audio is untouched. */
  async setVideo(on: boolean): Promise<void> {
    await this.#opened();
    if (on === this.#sending.video || this.#closed) return;
    this.#fallback.reset(); // the user decides now; a pause for the network starts afresh
    if (on) {
      const track = await this.#open('video');
      await this.#transport?.setTrack('video', track);
    } else {
      await this.#transport?.setTrack('video', null);
      this.#localMedia.stopTrack('video'); // the camera is released, not just blanked
    }
    this.#updateSending({ ...this.#sending, video: on });
  }

  /** Mutes or unmutes the microphone (opening it when it could not be opened at first). */
  async setAudio(on: boolean): Promise<void> {
    await this.#opened();
    if (on === this.#sending.audio || this.#closed) return;
    let track = this.#localMedia.track('audio');
    if (on && !track) {
      track = await this.#open('audio');
      await this.#transport?.setTrack('audio', track);
    }
    if (track) track.enabled = on;
    this.#updateSending({ ...this.#sending, audio: on });
  }

  /** Shares this page's screen (see {@link ScreenShare.start}). */
  shareScreen(on: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new ParleyError('conflict', 'this page is not in a call'));
    return on ? this.#screen.start() : this.#screen.stop();
  }

  /** Switches camera, microphone and/or speaker (see {@link CallDevices.set}). */
  async setDevices(choice: DeviceChoice): Promise<void> {
    await this.#opened();
    if (this.#closed) throw new ParleyError('conflict', 'the call is over');
    await this.#devices.set(choice);
  }

  /** The devices in use. */
  get devicesInUse(): DevicesInUse {
    return this.#devices.inUse;
  }

  /** One stats row per remote participant, with its link's quality once sampled. */
  async stats(): Promise<CallStatsRow[]> {
    const rows = (await this.#transport?.stats()) ?? [];
    return rows.map((row) => ({ ...row, ...this.#quality.figures(row.participantId) }));
  }

  /** Closes the links, releases the devices, removes what was drawn. */
  close(): void {
    this.#closed = true;
    this.#screen.close();
    this.#devices.close();
    this.#speakers.watch(false);
    this.#quality.stop();
    this.#silence.stop();
    this.#transport?.close();
    this.#transport = null;
    this.#earlySignals = [];
    this.#view?.clear();
    this.#view = null;
    this.#localMedia.release();
  }

  async #open(kind: 'audio' | 'video') {
    try {
      return await this.#localMedia.openTrack(kind);
    } catch (failure) {
      this.#reportMediaFailure(failure as MediaFailure);
      throw new ParleyError('unavailable', (failure as MediaFailure).message ?? `${kind} unavailable`);
    }
  }

  /** `hold`: prepared while the call rings, the links negotiate these kinds and send nothing until released. */
  #createTransport(hold?: ReadonlyArray<'audio' | 'video'>): MediaTransport {
    const { sessionID, callId } = this.#deps;
    const policy = this.#iceTransportPolicy;
    const deps = {
      selfId: this.#deps.self.id,
      options: this.#deps.options,
      localStream: this.#localMedia.stream,
      screenStream: this.#screen.stream,
      remoteScreenStreamId: (remoteId: string) => this.#deps.participant(remoteId)?.screenStream ?? null,
      remotePage: (remoteId: string) => this.#deps.participant(remoteId)?.page,
      iceServers: this.#iceServers,
      ...(policy ? { iceTransportPolicy: policy } : {}),
      ...(hold ? { hold } : {}),
      sendSignal: (to: string, signal: LinkSignal) => this.#deps.send({ type: 'signal', sessionID, callId, to, page: this.#deps.page, ...signal }),
      onLinkState: (peerId: string, state: VideoConnectionState) => {
        if (this.#closed) return;
        this.#linkStates.set(peerId, state);
        if (!this.#released) {
          // Prepared while it rings (told once the call is accepted). Nothing flows to miss yet, so a drop of the link is
          // the first sign of a moved network: the socket is checked now, and a dead one replaced (this page then
          // prepares again and ICE restarts), rather than when the heartbeat or the accept finds it dead.
          if (state === 'reconnecting') void this.#deps.checkConnection?.();
          return;
        }
        this.#view?.setReconnecting(peerId, state === 'reconnecting');
        if (this.#inCall) this.#deps.send({ type: 'call.connection', sessionID, callId, peerId, state });
        this.#deps.onLinkState(peerId, state);
      },
      onRemoteStream: (remoteId: string) => this.#released && this.#renderRemote(remoteId),
      onLinkClosed: (remoteId: string) => {
        this.#linkStates.delete(remoteId);
        this.#view?.removeRemote(remoteId);
      },
      // The media server could not be reached again: if its room moved, a join tells where to (at most every few seconds).
      onUnreachable: () => {
        const now = Date.now();
        if (this.#closed || now - this.#unreachableRejoinAt < UNREACHABLE_REJOIN_MS) return;
        this.#unreachableRejoinAt = now;
        this.#renewAccess();
      },
    } satisfies ConstructorParameters<typeof PeerMesh>[0];
    return this.#mediaAccess.kind === 'sfu' ? createJanusTransport(this.#mediaAccess, deps) : new PeerMesh(deps);
  }

  #updateSending(next: Sending): void {
    this.#sending = next;
    this.#sendMedia();
    this.#renderLocal();
    this.#deps.onSending({ ...next, videoPaused: this.#videoPaused });
  }

  /** The camera is on and the audio fallback holds it back (a try not yet held counts as paused). */
  get #videoPaused(): boolean {
    return this.#sending.video && this.#fallback.paused;
  }

  #sendMedia(): void {
    if (!this.#transport && !this.#joining) return; // sent when joining
    const { sessionID, callId } = this.#deps;
    const { audio, video } = this.#sending;
    this.#deps.send({ type: 'call.media', sessionID, callId, audio, video, ...(this.#videoPaused ? { videoPaused: true } : {}) });
  }

  /** Carries out the audio fallback's decision: stop sending the camera, send it again on trial, or say it is back. */
  async #fallBack(action: FallbackAction): Promise<void> {
    const camera = this.#localMedia.track('video');
    if (action === 'pause') await this.#transport?.setTrack('video', null);
    else if (action === 'try') await this.#transport?.setTrack('video', camera);
    if (this.#closed || action === 'try') return; // receivers hear of a try only once it held
    this.#updateSending({ ...this.#sending });
  }

  #renderLocal(): void {
    this.#ensureView().showLocal(this.#localMedia.stream, this.#deps.self.name, this.#sending.video);
  }

  #renderRemote(remoteId: string): void {
    if (!this.#transport?.remoteIds.includes(remoteId)) return;
    const participant = this.#deps.participant(remoteId);
    const stream = this.#transport.remoteStream(remoteId);
    const name = participant?.name ?? remoteId;
    const view = this.#ensureView();
    const paused = participant?.video === true && participant.videoPaused === true;
    view.showRemote(remoteId, name, stream, (participant?.video ?? true) && !paused);
    view.setPaused(remoteId, paused);
    view.showScreen(remoteId, name, participant?.screen ? this.#transport.remoteScreen(remoteId) : null);
  }

  #ensureView(): CallView {
    if (this.#view) return this.#view;
    const view = (this.#view = this.#deps.options.media.createView(this.#deps.divID));
    this.#devices.applySpeaker(view).catch((err: unknown) => console.warn('Parley: the chosen speaker could not be used', err));
    return view;
  }

  #reportMediaFailure(failure: MediaFailure): void {
    this.#deps.onError({ code: failure.code, message: failure.message, device: failure.device, cause: failure.cause });
  }

  #reportError(code: VideoErrorEvent['code'], message: string, cause: unknown): void {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    this.#deps.onError({ code, message: message + detail, cause });
  }
}

/** Two accesses reach the same media (the same Janus room, or both peer-to-peer); join tokens may differ. */
function sameMedia(a: MediaAccess, b: MediaAccess): boolean {
  if (a.kind === 'mesh' || b.kind === 'mesh') return a.kind === b.kind;
  return a.url === b.url && a.room === b.room && a.pin === b.pin;
}
