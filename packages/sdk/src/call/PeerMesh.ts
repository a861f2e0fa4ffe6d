import type { IceServerInfo } from '../wire.ts';
import type { CallStatsRow } from './events.ts';
import type { MediaStreamLike, MediaTrackLike } from './MediaHandler.ts';
import type { MediaTransport, MediaTransportDeps } from './MediaTransport.ts';
import { PeerLink, type LinkSignal, type SendKind } from './PeerLink.ts';
import { statsRow } from './callStats.ts';
import type { QualityLink } from './quality/QualityWatch.ts';

export type PeerMeshDeps = MediaTransportDeps;

/**
 * This page's links in one call: one {@link PeerLink} per joined remote participant, keyed by
 * participant id (a full mesh — 1:1 is the two-party case). Routes incoming signals, replaces a
 * link when the remote page was reloaded, and fans track changes out to every link.
 */
export class PeerMesh implements MediaTransport {
  private readonly links = new Map<string, PeerLink>();
  private closed = false;
  /** The kinds links made now negotiate without sending (the call rings), or null once released. */
  private hold: ReadonlyArray<'audio' | 'video'> | null;
  /** Remote participants whose invitation rings: linked (prepared), nothing sent to them or drawn of them yet. */
  private heldRemotes: ReadonlySet<string> = new Set();
  /** The page of its party each link was made for (see `remotePage`). */
  private readonly linkPages = new Map<string, string | undefined>();

  constructor(private readonly deps: PeerMeshDeps) {
    this.hold = deps.hold ?? null;
  }

  /** Whether the links still send nothing (prepared while the call rang, not released yet). */
  get holding(): boolean {
    return this.hold !== null;
  }

  /**
   * The call was accepted: every link sends the local stream's microphone and camera from now on, on the
   * transceivers negotiated while it rang (`replaceTrack`: no new offer), and links made later send from the start.
   */
  async release(): Promise<void> {
    const kinds = this.hold;
    if (kinds === null || this.closed) return;
    this.hold = null;
    // A link that could not connect while it rang is made afresh by the next sync, sending from the start.
    for (const [id, link] of this.links) if (link.state === 'failed') this.drop(id);
    // One other party: its camera starts at full resolution (with more, several encoders share the machine and may
    // need to scale down at once).
    const released = [...this.links.values()].filter((link) => !this.heldRemotes.has(link.remoteId));
    await Promise.all(released.map((link) => link.release(released.length === 1)));
  }

  /** ICE servers for links made from now on (a rejoin may bring fresh TURN credentials). */
  set iceServers(list: IceServerInfo[]) {
    this.deps.iceServers = list;
  }

  /** The remote ids media is exchanged with (links to participants whose invitation still rings are left out). */
  get remoteIds(): string[] {
    return [...this.links.keys()].filter((id) => !this.heldRemotes.has(id));
  }

  /**
   * Links to exactly these remote participants: new ones are made, others closed. `held`: those of them whose
   * invitation rings (prepared, not joined): their links send nothing until they join.
   */
  sync(joinedRemoteIds: readonly string[], held: ReadonlySet<string> = new Set()): void {
    const wanted = new Set(joinedRemoteIds);
    const wasHeld = this.heldRemotes;
    this.heldRemotes = held;
    for (const id of wanted) {
      // The party took the call to another of its pages (accepted there): the old page's peer connection is gone.
      const page = this.deps.remotePage?.(id);
      const linkedTo = this.linkPages.get(id);
      if (page !== undefined && linkedTo !== undefined && linkedTo !== page) this.drop(id);
      else if (linkedTo === undefined && this.links.has(id)) this.linkPages.set(id, page); // made before its page was known
      this.ensure(id);
    }
    if (!this.hold) {
      for (const [id, link] of this.links) {
        if (!wasHeld.has(id) || held.has(id)) continue;
        link.release().catch((err: unknown) => console.warn(`Parley: could not send to ${id}`, err)); // it joined
      }
    }
    for (const id of [...this.links.keys()]) if (!wanted.has(id)) this.drop(id);
  }

  /** Closes the link to `remoteId`. */
  private drop(remoteId: string): void {
    this.links.get(remoteId)?.close();
    this.links.delete(remoteId);
    this.linkPages.delete(remoteId);
    this.deps.onLinkClosed(remoteId);
  }

  /** A signal from a remote participant (the server relays only between joined participants). */
  receive(from: string, signal: LinkSignal): void {
    if (this.closed) return;
    let link = this.links.get(from);
    if (link && signal.description && link.isFromNewPeer(signal.description)) {
      link.close(); // the remote page was reloaded: its new peer connection needs a new link
      this.links.delete(from);
      link = undefined;
    }
    (link ?? this.ensure(from, signal.description?.type === 'offer')).receive(signal);
  }

  /** The remote stream of a link (microphone and camera), when it has tracks. */
  remoteStream(remoteId: string): MediaStreamLike | null {
    const link = this.links.get(remoteId);
    link?.sortTracks(); // the call state may have announced (or withdrawn) a screen since the tracks came
    const stream = link?.remoteStream;
    return stream && stream.getTracks().length > 0 ? stream : null;
  }

  /** The remote screen of a link, when its screen track came. */
  remoteScreen(remoteId: string): MediaStreamLike | null {
    const link = this.links.get(remoteId);
    link?.sortTracks();
    const stream = link?.remoteScreen;
    return stream && stream.getTracks().length > 0 ? stream : null;
  }

  /** Sends `track` (or nothing) as this page's track of `kind` on every link. */
  async setTrack(kind: SendKind, track: MediaTrackLike | null): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.setTrack(kind, track)));
  }

  /** Restarts ICE on links that are not connected, or that media stopped on (after the signaling came back). */
  restartStalled(silent: ReadonlySet<string> = new Set()): void {
    for (const link of this.links.values()) link.restart(silent.has(link.remoteId));
  }

  /** Sends the link to `remoteId` a key frame now (media from it came back after a silence: so does ours to it). */
  refreshVideo(remoteId: string): void {
    this.links.get(remoteId)?.refreshVideo().catch((err: unknown) => console.warn(`Parley: could not restart the video to ${remoteId}`, err));
  }

  /** One stats row per link. */
  stats(): Promise<CallStatsRow[]> {
    return Promise.all(this.inCall().map(async (link) => statsRow(link.remoteId, await link.peerConnection.getStats())));
  }

  /** Every link both sends this page's media and receives its participant's. */
  qualityLinks(): QualityLink[] {
    return this.inCall().map((link) => ({ receivesFrom: link.remoteId, sends: true, peerConnection: link.peerConnection }));
  }

  /** The links media is exchanged on: all but those to participants whose invitation rings. */
  private inCall(): PeerLink[] {
    return [...this.links.values()].filter((link) => !this.heldRemotes.has(link.remoteId));
  }

  /** Closes every link. */
  close(): void {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.linkPages.clear();
  }

  /** The link to a participant, made when missing; `forOffer`: made to answer an offer that is arriving now. */
  private ensure(remoteId: string, forOffer = false): PeerLink {
    const known = this.links.get(remoteId);
    if (known) return known;
    const { options, selfId } = this.deps;
    const { iceServers, iceTransportPolicy } = this.deps;
    const pc = options.media.createPeerConnection({ iceServers, iceCandidatePoolSize: options.iceCandidatePoolSize, ...(iceTransportPolicy ? { iceTransportPolicy } : {}) });
    const link = new PeerLink(
      {
        remoteId,
        polite: selfId > remoteId,
        awaitOfferMs: forOffer || selfId > remoteId ? options.offerWaitMs : null,
        pc,
        localStream: this.deps.localStream,
        screenStream: this.deps.screenStream,
        remoteStream: options.media.createStream(),
        remoteScreen: options.media.createStream(),
        remoteScreenStreamId: () => this.deps.remoteScreenStreamId(remoteId),
        iceRestartDelayMs: options.iceRestartDelayMs,
        failAfterMs: options.linkFailAfterMs,
        lostAfterMs: options.linkLostAfterMs,
        ...(this.hold ? { hold: this.hold } : this.heldRemotes.has(remoteId) ? { hold: ['audio', 'video'] as const } : {}),
      },
      {
        onSignal: (signal) => this.deps.sendSignal(remoteId, signal),
        onStateChanged: (state) => this.deps.onLinkState(remoteId, state),
        onRemoteStream: () => this.deps.onRemoteStream(remoteId, this.remoteStream(remoteId)),
        onError: (err) => console.warn(`Parley: negotiation with ${remoteId} failed a step`, err),
      },
    );
    this.links.set(remoteId, link);
    this.linkPages.set(remoteId, this.deps.remotePage?.(remoteId));
    this.deps.onRemoteStream(remoteId, null);
    return link;
  }
}
