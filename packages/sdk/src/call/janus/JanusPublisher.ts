import type { MediaAccess } from '../../wire.ts';
import type { MediaStreamLike, MediaTrackLike, PeerConnectionLike, RtpSenderLike } from '../MediaHandler.ts';
import { startAtFullResolution, withStartBitrate } from '../fullResolutionStart.ts';
import type { SendKind } from '../PeerLink.ts';
import { RemoteCandidates, type HandleEvent, type JanusHandle, type JanusSession, type PluginEvent } from './JanusSession.ts';

/** What `call.join` hands out for a call through Janus: the room, its PIN, this participant's token and display. */
export type SfuAccess = Extract<MediaAccess, { kind: 'sfu' }>;

/** The description a screen stream is published with: subscribers tell it from the camera by it (`feed_description`). */
export const SCREEN_DESCRIPTION = 'screen';

/** A feed published in the room: Janus's feed id, the party id it was published as, and the mids of its streams. */
export interface RoomFeed {
  feed: number;
  display: string;
  mids: string[];
}

/** The streams a publisher sends its tracks in: microphone and camera, and the shared screen. */
export interface PublishedStreams {
  camera: MediaStreamLike;
  screen: MediaStreamLike;
}

/** How a {@link JanusPublisher} reports to the transport. */
export interface PublisherCallbacks {
  /** Feeds now published in the room (the room's list on joining, then each newcomer). */
  onPublished(feeds: RoomFeed[]): void;
  /** A feed stopped (unpublished, or its publisher left). */
  onUnpublished(feed: number): void;
  /** This page's place in the room is gone for good: kicked, or the room was destroyed. */
  onRemoved(reason: string): void;
  /** Janus dropped this page's publishing connection: the transport starts over. */
  onLost(reason: string): void;
  /** Something failed that does not stop the call (logged). */
  onError(error: unknown): void;
}

/**
 * This page in the call's VideoRoom: joins as a publisher (PIN, token, its party id as display), then
 * publishes its tracks with an offer, renegotiating (`configure`) when a kind is added later or ICE
 * restarts. A shared screen is one more stream of the same feed, published with the description
 * {@link SCREEN_DESCRIPTION}. Also the page's ear in the room: Janus announces feeds coming and going to publishers.
 */
export class JanusPublisher {
  private readonly senders = new Map<string, RtpSenderLike>();
  private negotiation: Promise<void> = Promise.resolve();
  private published = false;
  private attached = false;
  private closed = false;
  private handle: JanusHandle | null = null;
  private readonly remoteCandidates: RemoteCandidates;

  private constructor(
    readonly peerConnection: PeerConnectionLike,
    private readonly streams: PublishedStreams,
    private readonly callbacks: PublisherCallbacks,
  ) {
    const pc = peerConnection;
    this.remoteCandidates = new RemoteCandidates(pc, (err) => this.failed(err));
    pc.onnegotiationneeded = () => {
      this.negotiation = this.negotiation.then(() => this.offer()).catch((err: unknown) => this.failed(err));
    };
    pc.onicecandidate = ({ candidate }) => this.handle?.trickle(candidate ? candidate.toJSON() : null);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && !this.closed) pc.restartIce(); // the next offer carries new credentials
    };
  }

  /**
   * Attaches a handle, joins the room and starts publishing `tracks`. Resolves once joined (publishing
   * goes on in the background). @throws JanusError when the room refuses the join (wrong PIN or token).
   */
  static async join(
    session: JanusSession,
    access: SfuAccess,
    pc: PeerConnectionLike,
    streams: PublishedStreams,
    tracks: ReadonlyMap<SendKind, MediaTrackLike | null>,
    callbacks: PublisherCallbacks,
    /** Kinds published with no track yet (prepared while the call rings): their tracks come with `setTrack`. */
    reserve: ReadonlyArray<'audio' | 'video'> = [],
  ): Promise<JanusPublisher> {
    const publisher = new JanusPublisher(pc, streams, callbacks);
    try {
      publisher.handle = await session.attach((event) => publisher.onEvent(event));
      const joined = await publisher.handle.message({
        request: 'join',
        ptype: 'publisher',
        room: access.room,
        pin: access.pin,
        token: access.token,
        display: access.display,
      });
      callbacks.onPublished(feedsOf(joined.data.publishers));
    } catch (err) {
      publisher.close();
      throw err;
    }
    publisher.attach(tracks, reserve);
    return publisher;
  }

  /** Sends `track` as this page's `kind` (null: nothing); a kind never sent before is added with a new offer. */
  async setTrack(kind: SendKind, track: MediaTrackLike | null): Promise<void> {
    if (this.closed || !this.attached) return;
    const sender = this.senders.get(kind);
    if (!sender) {
      if (track) this.add(kind, track);
      return;
    }
    await sender.replaceTrack(track);
  }

  /** The camera starts at full resolution (see startAtFullResolution). */
  async startAtFullResolution(): Promise<void> {
    const camera = this.senders.get('video');
    if (camera?.track && !this.closed) await startAtFullResolution(camera, () => !this.closed);
  }

  private add(kind: SendKind, track: MediaTrackLike): void {
    this.senders.set(kind, this.peerConnection.addTrack(track, kind === 'screen' ? this.streams.screen : this.streams.camera));
  }

  /** Restarts ICE (after the network came back), unless connected. */
  restartIce(): void {
    if (!this.closed && this.peerConnection.connectionState !== 'connected') this.peerConnection.restartIce();
  }

  /** Leaves the room (the session's end takes the handle with it) and closes the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pc = this.peerConnection;
    pc.onnegotiationneeded = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.close();
    this.handle?.detach();
  }

  private attach(tracks: ReadonlyMap<SendKind, MediaTrackLike | null>, reserve: ReadonlyArray<'audio' | 'video'>): void {
    if (this.closed) return;
    this.attached = true;
    for (const [kind, track] of tracks) if (track) this.add(kind, track);
    for (const kind of reserve) {
      if (!this.senders.has(kind)) this.senders.set(kind, this.peerConnection.addTransceiver(kind, { direction: 'sendonly', streams: [this.streams.camera] }).sender);
    }
  }

  /** The `descriptions` of a publish or configure: the screen's m-line, once it has one. */
  private descriptions(): Array<{ mid: string; description: string }> {
    const screen = this.senders.get('screen');
    const mid = screen ? this.peerConnection.getTransceivers().find((t) => t.sender === screen)?.mid : null;
    return mid ? [{ mid, description: SCREEN_DESCRIPTION }] : [];
  }

  /** One offer/answer round with the room: `publish` the first time, `configure` after. */
  private async offer(): Promise<void> {
    const pc = this.peerConnection;
    if (this.closed || !this.handle || pc.signalingState !== 'stable') return;
    await pc.setLocalDescription();
    const local = pc.localDescription;
    if (!local || this.closed) return;
    const descriptions = this.descriptions();
    const request = { request: this.published ? 'configure' : 'publish', ...(descriptions.length > 0 ? { descriptions } : {}) };
    const answer = await this.handle.message(request, { type: 'offer', sdp: local.sdp });
    this.published = true;
    if (this.closed) return;
    if (answer.jsep?.type !== 'answer') throw new Error('Janus accepted the offer without an answer');
    await pc.setRemoteDescription({ ...answer.jsep, sdp: withStartBitrate(answer.jsep.sdp) ?? answer.jsep.sdp }); // a higher start for what it publishes
    this.remoteCandidates.flush();
  }

  private onEvent(event: HandleEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'plugin':
        return this.onPluginEvent(event.event);
      case 'trickle':
        return this.remoteCandidates.add(event.candidate);
      case 'hangup':
        return this.callbacks.onLost(`Janus closed the publishing connection (${event.reason})`);
      case 'detached':
        return this.callbacks.onLost('Janus detached the publishing handle');
      case 'webrtcup':
        return;
    }
  }

  private onPluginEvent({ data }: PluginEvent): void {
    if (data.videoroom === 'destroyed') return this.callbacks.onRemoved('the room was closed');
    if (data.videoroom !== 'event') return; // talking, stopped-talking, …
    if (typeof data.error_code === 'number') {
      this.callbacks.onError(new Error(`Janus VideoRoom error ${data.error_code}: ${String(data.error)}`));
      return;
    }
    if (Array.isArray(data.publishers)) this.callbacks.onPublished(feedsOf(data.publishers));
    if (typeof data.unpublished === 'number') this.callbacks.onUnpublished(data.unpublished);
    if (typeof data.leaving === 'number') this.callbacks.onUnpublished(data.leaving);
    if (data.leaving === 'ok' && data.reason === 'kicked') this.callbacks.onRemoved('removed from the room');
  }

  private failed(err: unknown): void {
    if (!this.closed) this.callbacks.onError(err);
  }
}

/** The feeds of a VideoRoom `publishers` list that carry a display (the party id). */
function feedsOf(list: unknown): RoomFeed[] {
  if (!Array.isArray(list)) return [];
  const feeds: RoomFeed[] = [];
  for (const entry of list as Array<{ id?: unknown; display?: unknown; streams?: unknown }>) {
    if (typeof entry.id !== 'number' || typeof entry.display !== 'string') continue;
    const streams = Array.isArray(entry.streams) ? (entry.streams as Array<{ mid?: unknown; disabled?: unknown }>) : [];
    const mids = streams.filter((st) => typeof st.mid === 'string' && st.disabled !== true).map((st) => st.mid as string);
    feeds.push({ feed: entry.id, display: entry.display, mids });
  }
  return feeds;
}
