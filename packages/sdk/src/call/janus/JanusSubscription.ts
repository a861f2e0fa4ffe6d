import type { MediaStreamLike, PeerConnectionLike } from '../MediaHandler.ts';
import { RemoteTracks } from '../RemoteTracks.ts';
import { SCREEN_DESCRIPTION, type SfuAccess } from './JanusPublisher.ts';
import { RemoteCandidates, type HandleEvent, type JanusHandle, type JanusSession, type PluginEvent } from './JanusSession.ts';

/** How a {@link JanusSubscription} reports to the transport. */
export interface SubscriptionCallbacks {
  /** The stream gained a track (it holds every track received so far). */
  onStream(stream: MediaStreamLike): void;
  /** The peer connection's state changed. */
  onConnectionState(state: PeerConnectionLike['connectionState']): void;
  /** Janus dropped this subscription (hangup, detached): the transport subscribes again if the feed is still there. */
  onLost(reason: string): void;
  /** A step failed (logged; the link's state tells the rest). */
  onError(error: unknown): void;
}

/**
 * What this page receives from one remote participant: a subscriber handle on that participant's feed
 * and a peer connection answering Janus's offers (the first one, and any later one when the feed changes,
 * as when the participant starts sharing its screen). The screen is told from the camera by the m-line it
 * arrives on: Janus lists each stream of the subscription with its mid and the publisher's description.
 */
export class JanusSubscription {
  private handle: JanusHandle | null = null;
  private answering: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly remoteCandidates: RemoteCandidates;
  private readonly received: RemoteTracks;
  /** The feed's streams (its mids) this subscription carries or asked for. */
  private readonly feedMids = new Set<string>();
  private started = false;

  constructor(
    readonly feed: number,
    readonly peerConnection: PeerConnectionLike,
    /** Microphone and camera. */
    readonly stream: MediaStreamLike,
    /** The shared screen. */
    readonly screen: MediaStreamLike,
    private readonly callbacks: SubscriptionCallbacks,
  ) {
    const pc = peerConnection;
    this.received = new RemoteTracks(stream, screen);
    this.remoteCandidates = new RemoteCandidates(pc, (err) => {
      if (!this.closed) callbacks.onError(err);
    });
    pc.ontrack = ({ track, transceiver }) => {
      const mid = transceiver?.mid ?? pc.getTransceivers().find((t) => t.receiver.track === track)?.mid ?? null;
      this.received.add(track, mid);
      this.received.sort();
      callbacks.onStream(stream);
    };
    pc.onicecandidate = ({ candidate }) => this.handle?.trickle(candidate ? candidate.toJSON() : null);
    pc.onconnectionstatechange = () => {
      if (!this.closed) callbacks.onConnectionState(pc.connectionState);
    };
  }

  /**
   * Subscribes to the feed and answers Janus's offer. Resolves once the answer is sent (media follows).
   * On failure the subscription is closed. @throws JanusError when the room refuses (e.g. the feed is gone).
   */
  async start(session: JanusSession, access: SfuAccess): Promise<void> {
    try {
      this.handle = await session.attach((event) => this.onEvent(event));
      if (this.closed) return this.handle.detach();
      const attached = await this.handle.message({ request: 'join', ptype: 'subscriber', room: access.room, pin: access.pin, streams: [{ feed: this.feed }] });
      this.learnStreams(attached);
      await this.answer(attached);
      this.started = true;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Closes the connection and detaches the handle. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pc = this.peerConnection;
    pc.ontrack = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.close();
    this.handle?.detach();
  }

  /**
   * The feed publishes these streams now (its mids, from the room's `publishers` event): a stream added since
   * the subscription began (a screen being shared) is subscribed to with `update`, and Janus offers again. The
   * streams already received are not touched, so audio and camera go on as they were.
   */
  follow(mids: readonly string[]): void {
    const handle = this.handle;
    if (this.closed || !this.started || !handle) return;
    const added = mids.filter((mid) => !this.feedMids.has(mid));
    if (added.length === 0) return;
    for (const mid of added) this.feedMids.add(mid);
    handle
      .message({ request: 'update', subscribe: added.map((mid) => ({ feed: this.feed, mid })) })
      .then((updated) => {
        this.learnStreams(updated);
        return this.answer(updated);
      })
      .catch((err: unknown) => {
        if (!this.closed) console.warn(`Parley: could not receive the new stream of feed ${this.feed} through Janus`, err);
      });
  }

  /**
   * Notes the feed's streams this subscription carries and which m-lines carry the publisher's screen (from the
   * `streams` of an `attached` or `updated` event).
   */
  private learnStreams(event: PluginEvent): void {
    const streams = event.data.streams;
    if (!Array.isArray(streams)) return;
    for (const entry of streams as Array<{ mid?: unknown; feed_mid?: unknown; feed_description?: unknown }>) {
      if (typeof entry.feed_mid === 'string') this.feedMids.add(entry.feed_mid);
      if (entry.feed_description === SCREEN_DESCRIPTION && typeof entry.mid === 'string') this.received.markScreen(entry.mid);
    }
    if (this.received.sort()) this.callbacks.onStream(this.stream);
  }

  /** Answers an offer from Janus with `start`. Offers are answered one after another. */
  private answer(event: PluginEvent): Promise<void> {
    const run = this.answering.then(async () => {
      const offer = event.jsep;
      if (this.closed || !this.handle || offer?.type !== 'offer') return;
      const pc = this.peerConnection;
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription();
      this.remoteCandidates.flush();
      const local = pc.localDescription;
      if (!local || this.closed) return;
      await this.handle.message({ request: 'start' }, { type: 'answer', sdp: local.sdp });
    });
    this.answering = run.catch(() => {});
    return run;
  }

  private onEvent(event: HandleEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'plugin': {
        const { data } = event.event;
        if (typeof data.error_code === 'number') {
          this.callbacks.onError(new Error(`Janus VideoRoom error ${data.error_code}: ${String(data.error)}`));
          return;
        }
        // The feed changed (a track added, a stream gone): Janus lists the streams and offers again.
        this.learnStreams(event.event);
        if (event.event.jsep) this.answer(event.event).catch((err: unknown) => this.callbacks.onError(err));
        return;
      }
      case 'trickle':
        return this.remoteCandidates.add(event.candidate);
      case 'hangup':
        return this.callbacks.onLost(`Janus closed the subscription (${event.reason})`);
      case 'detached':
        return this.callbacks.onLost('Janus detached the subscription');
      case 'webrtcup':
        return;
    }
  }
}
