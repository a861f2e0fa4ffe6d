import type { IceServerInfo } from '../wire.ts';
import type { CallStatsRow, VideoConnectionState } from './events.ts';
import type { MediaStreamLike, MediaTrackLike } from './MediaHandler.ts';
import type { LinkSignal, SendKind } from './PeerLink.ts';
import type { ResolvedCallOptions } from './callOptions.ts';
import type { QualityLink } from './quality/QualityWatch.ts';

/** What a transport is built from and how it reports to the participation that owns it. */
export interface MediaTransportDeps {
  selfId: string;
  options: ResolvedCallOptions;
  /** The stream this page sends: microphone and camera. */
  localStream: MediaStreamLike;
  /** The stream this page's shared screen is sent in (one for the call's life, so its id stays the same). */
  screenStream: MediaStreamLike;
  /** The id of the stream a remote participant sends its screen in, as the call state announces it (null: not sharing). */
  remoteScreenStreamId(remoteId: string): string | null;
  iceServers: IceServerInfo[];
  /** `relay`: peer connections use TURN candidates only (the server's ICE_TRANSPORT_POLICY). */
  iceTransportPolicy?: 'all' | 'relay';
  /**
   * Prepared while the call rings (mesh): links negotiate these kinds with no track and send nothing until
   * `release`. Absent: links send the local stream's tracks from the start.
   */
  hold?: ReadonlyArray<'audio' | 'video'>;
  /**
   * The page a remote participant is in the call on, as the call state says (mesh): when it changes (the party took
   * the call to another page of its), the link to it is made afresh. Undefined: the remote's client names no page.
   */
  remotePage?(remoteId: string): string | undefined;
  /** Sends a signal to a remote participant through the Parley server (mesh only). */
  sendSignal(to: string, signal: LinkSignal): void;
  /** The media path to a remote participant changed state. */
  onLinkState(remoteId: string, state: VideoConnectionState): void;
  /** A remote participant's stream changed (null: no track yet). */
  onRemoteStream(remoteId: string, stream: MediaStreamLike | null): void;
  /** The media of a participant that left is gone. */
  onLinkClosed(remoteId: string): void;
  /** The media server (SFU) could not be reached again after a drop: the call's media may have moved elsewhere. */
  onUnreachable?(): void;
}

/**
 * How this page's media reaches the others in one call, behind one interface:
 *  - {@link PeerMesh}: a peer connection to every remote participant (the default, up to 4 people);
 *  - JanusTransport: one publishing connection to the call's Janus VideoRoom and one subscription per
 *    remote participant's feed.
 * Remote participants are always named by their party id.
 */
export interface MediaTransport {
  /** ICE servers for connections made from now on. */
  set iceServers(list: IceServerInfo[]);
  /** The remote participants media is (being) received from. */
  readonly remoteIds: string[];
  /**
   * Receive media from exactly these remote participants (the joined ones, and prepared ones): new ones are added,
   * others dropped. `held`: those whose invitation rings, linked with nothing sent or drawn until they join (mesh).
   */
  sync(joinedRemoteIds: readonly string[], held?: ReadonlySet<string>): void;
  /** A signal relayed by the Parley server from a remote participant (mesh only; ignored otherwise). */
  receive(from: string, signal: LinkSignal): void;
  /** A remote participant's stream (microphone and camera), when it has tracks. */
  remoteStream(remoteId: string): MediaStreamLike | null;
  /** A remote participant's shared screen, when a screen track was received from it (it may be idle: see its call state). */
  remoteScreen(remoteId: string): MediaStreamLike | null;
  /**
   * Sends `track` (or nothing) as this page's track of `kind`. `screen` is one more video, in the screen stream:
   * added (a renegotiation that leaves audio and camera as they are) the first time, switched in place after.
   */
  setTrack(kind: SendKind, track: MediaTrackLike | null): Promise<void>;
  /** The signaling came back: restart whatever is not connected, and the paths from the `silent` participants (media stopped). */
  restartStalled(silent?: ReadonlySet<string>): void;
  /** Media from `remoteId` came back after a silence: start this page's video to it afresh, with a key frame (mesh). */
  refreshVideo?(remoteId: string): void;
  /** One stats row per remote participant. */
  stats(): Promise<CallStatsRow[]>;
  /** Every peer connection in use, with what flows on it (for the quality levels). */
  qualityLinks(): QualityLink[];
  /** Prepared while the call rang (`hold`), and not released yet: nothing is sent. */
  readonly holding: boolean;
  /** The call was accepted: send the local stream's microphone and camera on what was prepared (`replaceTrack`). */
  release(): Promise<void>;
  /** Closes every connection. */
  close(): void;
}
