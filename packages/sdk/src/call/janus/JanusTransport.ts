import type { IceServerInfo } from '../../wire.ts';
import { statsRow } from '../callStats.ts';
import type { QualityLink } from '../quality/QualityWatch.ts';
import type { CallStatsRow, VideoConnectionState } from '../events.ts';
import type { MediaStreamLike, MediaTrackLike, PeerConnectionLike } from '../MediaHandler.ts';
import type { MediaTransport, MediaTransportDeps } from '../MediaTransport.ts';
import type { SendKind } from '../PeerLink.ts';
import { JanusPublisher, type RoomFeed, type SfuAccess } from './JanusPublisher.ts';
import { browserSocket, JanusError, JanusSession, type JanusSocketFactory } from './JanusSession.ts';
import { JanusSubscription } from './JanusSubscription.ts';

export type { JanusSocketFactory } from './JanusSession.ts';

/** VideoRoom refusals that no retry can fix: this page may not be in the room (any more). */
const FINAL_JOIN_ERRORS = new Set([
  426, // no such room: the call ended
  433, // unauthorized: wrong PIN, or the token was withdrawn
]);
/** Reconnection to Janus after the socket dropped: first delay, doubled up to the cap. */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 4_000;

/** A remote participant this page receives (or waits to receive) media from. */
interface Remote {
  readonly id: string;
  state: VideoConnectionState;
  everConnected: boolean;
  failTimer: ReturnType<typeof setTimeout> | null;
  subscription: JanusSubscription | null;
  /** A feed Janus refused to subscribe to: not tried again until `restartStalled` or a new feed. */
  refusedFeed: number | null;
}

/**
 * Media through the call's Janus VideoRoom. `access` comes from `call.join`; `createSocket` opens the
 * WebSocket to Janus (the global `WebSocket` by default; injectable for tests).
 */
export function createJanusTransport(access: SfuAccess, deps: MediaTransportDeps, createSocket: JanusSocketFactory = browserSocket): MediaTransport {
  return new JanusTransport(access, deps, createSocket);
}

/**
 * This page's media in an SFU call: one Janus session, a {@link JanusPublisher} sending this page's
 * tracks, and a {@link JanusSubscription} per remote participant whose feed is published — matched by
 * the feed's display, which is the participant's party id. A remote participant whose feed is not
 * published yet is subscribed to when Janus announces it. When the socket to Janus drops, everything is
 * made again (same room, PIN and token); links not connected within `linkFailAfterMs` are `failed`.
 */
export class JanusTransport implements MediaTransport {
  private readonly remotes = new Map<string, Remote>();
  /** Feeds published by others, by party id. */
  private readonly feeds = new Map<string, number>();
  /** What this page sends, by kind (kept across reconnections). */
  private readonly tracks = new Map<SendKind, MediaTrackLike | null>();
  private session: JanusSession | null = null;
  private publisher: JanusPublisher | null = null;
  private connecting = false;
  /** Bumped on every (re)connection: results of an older one are dropped. */
  private generation = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectDelayMs = RECONNECT_FIRST_MS;
  private closed = false;
  /** Out of the room for good (kicked, room gone, refused): no more attempts. */
  private removed = false;
  /** The kinds published with no track while the call rings (null once released, or when not prepared). */
  private hold: ReadonlyArray<'audio' | 'video'> | null;

  constructor(
    private readonly access: SfuAccess,
    private readonly deps: MediaTransportDeps,
    private readonly createSocket: JanusSocketFactory,
  ) {
    this.hold = deps.hold ?? null;
    if (!this.hold) {
      for (const track of deps.localStream.getTracks()) if (track.kind === 'audio' || track.kind === 'video') this.tracks.set(track.kind, track);
      const screen = deps.screenStream.getVideoTracks().find((t) => t.readyState === 'live');
      if (screen) this.tracks.set('screen', screen);
    }
    void this.connect();
  }

  /** Joined and published while the call rings, with nothing sent yet. */
  get holding(): boolean {
    return this.hold !== null;
  }

  /** The call was accepted: the publisher sends the microphone and camera on the streams published while it rang. */
  async release(): Promise<void> {
    if (this.hold === null || this.closed) return;
    this.hold = null;
    const { localStream } = this.deps;
    await Promise.all([
      this.setTrack('audio', localStream.getAudioTracks()[0] ?? null),
      this.setTrack('video', localStream.getVideoTracks()[0] ?? null),
    ]);
    if (this.remotes.size <= 1) await this.publisher?.startAtFullResolution(); // a call of two (see PeerMesh.release)
  }

  /** ICE servers for connections made from now on. */
  set iceServers(list: IceServerInfo[]) {
    this.deps.iceServers = list;
  }

  /** The remote participants media is (being) received from. */
  get remoteIds(): string[] {
    return [...this.remotes.keys()];
  }

  /** Receive media from exactly these remote participants: new ones are subscribed to, others dropped. */
  sync(joinedRemoteIds: readonly string[]): void {
    if (this.closed) return;
    const wanted = new Set(joinedRemoteIds);
    wanted.delete(this.access.display);
    for (const [id, remote] of this.remotes) {
      if (wanted.has(id)) continue;
      this.drop(remote);
      this.remotes.delete(id);
      this.deps.onLinkClosed(id);
    }
    for (const id of wanted) {
      if (this.remotes.has(id)) continue;
      const remote: Remote = { id, state: 'connecting', everConnected: false, failTimer: null, subscription: null, refusedFeed: null };
      this.remotes.set(id, remote);
      this.armFailTimer(remote);
      this.deps.onRemoteStream(id, null);
    }
    this.subscribeAll();
  }

  /** Signals between pages are a mesh thing: through Janus there are none. */
  receive(): void {}

  /** A remote participant's stream (microphone and camera), when it has tracks. */
  remoteStream(remoteId: string): MediaStreamLike | null {
    const stream = this.remotes.get(remoteId)?.subscription?.stream;
    return stream && stream.getTracks().length > 0 ? stream : null;
  }

  /** A remote participant's shared screen, once its screen stream was received. */
  remoteScreen(remoteId: string): MediaStreamLike | null {
    const stream = this.remotes.get(remoteId)?.subscription?.screen;
    return stream && stream.getTracks().length > 0 ? stream : null;
  }

  /**
   * Sends `track` (or nothing) as this page's `kind`: the publisher's sender is switched, no renegotiation; a
   * kind never published (the first screen) is added with a `configure`.
   */
  async setTrack(kind: SendKind, track: MediaTrackLike | null): Promise<void> {
    this.tracks.set(kind, track);
    await this.publisher?.setTrack(kind, track);
  }

  /** The signaling came back: reconnect to Janus if the socket is gone, else restart what is not connected. */
  restartStalled(): void {
    if (this.closed || this.removed) return;
    if (!this.session) {
      this.reconnectDelayMs = RECONNECT_FIRST_MS;
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      void this.connect();
      return;
    }
    this.publisher?.restartIce();
    for (const remote of this.remotes.values()) {
      if (remote.state === 'connected') continue;
      remote.refusedFeed = null;
      this.unsubscribe(remote);
      this.armFailTimer(remote);
    }
    this.subscribeAll();
  }

  /** One stats row per remote participant (zeros while nothing is received from it). */
  stats(): Promise<CallStatsRow[]> {
    return Promise.all(
      [...this.remotes.values()].map(async (remote): Promise<CallStatsRow> => {
        const pc = remote.subscription?.peerConnection;
        return pc ? statsRow(remote.id, await pc.getStats()) : { participantId: remote.id, audioPacketsReceived: 0, videoFramesDecoded: 0 };
      }),
    );
  }

  /** The publishing connection sends; each subscription receives one remote participant. */
  qualityLinks(): QualityLink[] {
    const links: QualityLink[] = [];
    if (this.publisher) links.push({ receivesFrom: null, sends: true, peerConnection: this.publisher.peerConnection });
    for (const remote of this.remotes.values()) {
      const pc = remote.subscription?.peerConnection;
      if (pc) links.push({ receivesFrom: remote.id, sends: false, peerConnection: pc });
    }
    return links;
  }

  /** Leaves the room and closes every connection and the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const remote of this.remotes.values()) this.drop(remote);
    this.remotes.clear();
    this.teardown();
  }

  /** Opens a session, joins the room and publishes; then subscribes to the wanted feeds. */
  private async connect(): Promise<void> {
    if (this.closed || this.removed || this.connecting || this.session) return;
    this.connecting = true;
    const generation = ++this.generation;
    const stale = () => this.closed || generation !== this.generation;
    try {
      const session = await JanusSession.open(this.access.url, this.createSocket);
      if (stale()) return session.close();
      this.session = session;
      session.onClosed = (reason) => this.lost(generation, reason);
      const pc = this.newPeerConnection();
      const streams = { camera: this.deps.localStream, screen: this.deps.screenStream };
      const publisher = await JanusPublisher.join(session, this.access, pc, streams, this.tracks, {
        onPublished: (feeds) => !stale() && this.published(feeds),
        onUnpublished: (feed) => !stale() && this.unpublished(feed),
        onRemoved: (reason) => !stale() && this.removedFromRoom(reason),
        onLost: (reason) => this.lost(generation, reason),
        onError: (err) => !stale() && console.warn('Parley: publishing to the Janus room failed a step', err),
      }, this.hold ?? []);
      if (stale()) return publisher.close();
      this.publisher = publisher;
      this.reconnectDelayMs = RECONNECT_FIRST_MS;
      this.subscribeAll();
    } catch (err) {
      if (stale()) return;
      if (err instanceof JanusError && FINAL_JOIN_ERRORS.has(err.code)) {
        console.warn('Parley: the Janus room refused this page', err);
        this.removed = true;
        this.teardown();
        for (const remote of this.remotes.values()) this.setState(remote, 'failed');
        return;
      }
      this.lost(generation, err instanceof Error ? err.message : String(err));
      this.deps.onUnreachable?.(); // perhaps the room moved to another Janus: the participation may ask where
    } finally {
      if (generation === this.generation) this.connecting = false;
    }
  }

  /** The session or the publishing connection is gone (or never came): everything is made again after a pause. */
  private lost(generation: number, reason: string): void {
    if (this.closed || this.removed || generation !== this.generation) return;
    // Said once per outage, not on every attempt.
    if (this.reconnectDelayMs === RECONNECT_FIRST_MS) console.warn(`Parley: lost the Janus room (${reason}); reconnecting`);
    this.generation++;
    this.connecting = false;
    this.teardown();
    for (const remote of this.remotes.values()) {
      this.unsubscribe(remote);
      this.armFailTimer(remote);
    }
    if (this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  /** Kicked, or the room was destroyed: the call is over for this page (Parley says so separately). */
  private removedFromRoom(reason: string): void {
    this.removed = true;
    console.info(`Parley: left the Janus room (${reason})`);
    this.teardown();
    for (const remote of this.remotes.values()) this.unsubscribe(remote);
  }

  /** Closes the publisher and the session (not the remotes' records). */
  private teardown(): void {
    this.publisher?.close();
    this.publisher = null;
    this.feeds.clear();
    const session = this.session;
    this.session = null;
    if (session) {
      session.onClosed = null;
      session.close();
    }
  }

  private published(feeds: RoomFeed[]): void {
    for (const { feed, display, mids } of feeds) {
      if (display === this.access.display) continue;
      this.feeds.set(display, feed);
      // A feed already received that gained a stream (a shared screen): the subscription takes it in as well.
      const subscription = this.remotes.get(display)?.subscription;
      if (subscription?.feed === feed) subscription.follow(mids);
    }
    this.subscribeAll();
  }

  private unpublished(feed: number): void {
    for (const [display, known] of this.feeds) if (known === feed) this.feeds.delete(display);
    for (const remote of this.remotes.values()) {
      if (remote.subscription?.feed !== feed) continue;
      this.unsubscribe(remote);
      this.armFailTimer(remote);
    }
  }

  /** Subscribes every wanted remote whose feed is published and not (being) subscribed to. */
  private subscribeAll(): void {
    if (!this.publisher) return;
    for (const remote of this.remotes.values()) {
      const feed = this.feeds.get(remote.id);
      if (feed === undefined || feed === remote.refusedFeed || remote.subscription?.feed === feed) continue;
      this.subscribe(remote, feed);
    }
  }

  /** Subscribes to `feed` for `remote`, in place of any subscription it had. */
  private subscribe(remote: Remote, feed: number): void {
    const session = this.session;
    if (!session) return;
    this.unsubscribe(remote);
    // Events count only while this subscription is the remote's (not replaced, dropped or closed).
    const mine = () => !this.closed && remote.subscription === subscription;
    const { media } = this.deps.options;
    const subscription: JanusSubscription = new JanusSubscription(feed, this.newPeerConnection(), media.createStream(), media.createStream(), {
      onStream: (stream) => mine() && this.deps.onRemoteStream(remote.id, stream.getTracks().length > 0 ? stream : null),
      onConnectionState: (state) => mine() && this.connectionChanged(remote, state),
      onLost: (reason) => {
        if (!mine()) return;
        console.warn(`Parley: the subscription to ${remote.id} dropped (${reason}); subscribing again`);
        this.unsubscribe(remote);
        this.armFailTimer(remote);
        this.subscribeAll();
      },
      onError: (err) => {
        if (!mine()) return;
        console.warn(`Parley: receiving from ${remote.id} through Janus failed`, err);
        this.setState(remote, 'failed');
      },
    });
    remote.subscription = subscription;
    subscription.start(session, this.access).catch((err: unknown) => {
      if (!mine()) return;
      this.unsubscribe(remote);
      if (err instanceof JanusError && err.code === 428) return; // no such feed: it went away meanwhile
      console.warn(`Parley: could not subscribe to ${remote.id} through Janus`, err);
      remote.refusedFeed = feed;
      this.setState(remote, 'failed');
    });
  }

  /** Closes a remote's subscription; its tile stays, without a stream, until it is subscribed again. */
  private unsubscribe(remote: Remote): void {
    if (!remote.subscription) return;
    remote.subscription.close();
    remote.subscription = null;
    this.deps.onRemoteStream(remote.id, null);
    if (remote.state === 'connected') this.setState(remote, 'reconnecting');
  }

  /** A remote is no longer wanted: its subscription and timers go. */
  private drop(remote: Remote): void {
    if (remote.failTimer) clearTimeout(remote.failTimer);
    remote.failTimer = null;
    remote.subscription?.close();
    remote.subscription = null;
  }

  private connectionChanged(remote: Remote, state: PeerConnectionLike['connectionState']): void {
    switch (state) {
      case 'connected':
        remote.everConnected = true;
        if (remote.failTimer) clearTimeout(remote.failTimer);
        remote.failTimer = null;
        this.setState(remote, 'connected');
        return;
      case 'disconnected':
        this.setState(remote, remote.everConnected ? 'reconnecting' : 'connecting');
        this.armFailTimer(remote);
        return;
      case 'failed':
        // Janus offers afresh to a new subscription: simpler and surer than an ICE restart of this one.
        this.unsubscribe(remote);
        this.setState(remote, remote.everConnected ? 'reconnecting' : 'connecting');
        this.armFailTimer(remote);
        this.subscribeAll();
        return;
      case 'new':
      case 'connecting':
      case 'closed':
        return;
    }
  }

  /** Fails a remote that is not connected within `linkFailAfterMs` (`linkLostAfterMs` once it was connected). */
  private armFailTimer(remote: Remote): void {
    if (remote.failTimer || remote.state === 'failed') return;
    remote.failTimer = setTimeout(() => {
      remote.failTimer = null;
      if (!this.closed && this.remotes.get(remote.id) === remote && remote.state !== 'connected') this.setState(remote, 'failed');
    }, remote.everConnected ? this.deps.options.linkLostAfterMs : this.deps.options.linkFailAfterMs);
  }

  private setState(remote: Remote, state: VideoConnectionState): void {
    if (remote.state === state || this.closed) return;
    remote.state = state;
    this.deps.onLinkState(remote.id, state);
  }

  private newPeerConnection(): PeerConnectionLike {
    const { options, iceServers, iceTransportPolicy } = this.deps;
    return options.media.createPeerConnection({ iceServers, iceCandidatePoolSize: options.iceCandidatePoolSize, ...(iceTransportPolicy ? { iceTransportPolicy } : {}) });
  }
}

