import type { CallParticipant } from '../wire.ts';
import type { ConnectionQuality, VideoConnectionState, VideoParticipant, VideoParticipantEventName } from './events.ts';

/** What some participant events carry besides the participant. */
export interface RosterDetail {
  connectionState?: VideoConnectionState;
  quality?: ConnectionQuality;
  reason?: 'network' | 'user';
}

/** How the roster reports a participant change. */
export type RosterListener = (participant: VideoParticipant, eventName: VideoParticipantEventName, detail?: RosterDetail) => void;

/**
 * The participants of one call, as the server last described them, with this page's own media
 * state taking precedence for itself (so a late echo never flips it back). Each change becomes a
 * participant event: remote joins and leaves, and everyone's mute, camera and screen-share changes.
 */
export class ParticipantRoster {
  private list: CallParticipant[] = [];
  private selfMedia: { audio: boolean; video: boolean; videoPaused?: boolean } | null = null;

  constructor(
    private readonly selfId: string,
    private readonly listener: RosterListener,
  ) {}

  /** Everyone in the call, as public snapshots. */
  get participants(): VideoParticipant[] {
    return this.list.map(toPublic);
  }

  /** The remote participants that joined the media session. */
  get joinedRemotes(): CallParticipant[] {
    return this.list.filter((p) => p.id !== this.selfId && p.joined);
  }

  /**
   * The remote participants this page links to: the joined ones, and one that prepared its path while the call
   * rang (its link was made then, and goes on until it joins).
   */
  get linkedRemotes(): CallParticipant[] {
    return this.list.filter((p) => p.id !== this.selfId && (p.joined || p.prepared === true));
  }

  /** A participant by id. */
  get(id: string): CallParticipant | undefined {
    return this.list.find((p) => p.id === id);
  }

  /** Takes the server's list and reports what changed. */
  update(next: readonly CallParticipant[]): void {
    const previous = new Map(this.list.map((p) => [p.id, p]));
    this.list = next.map((p) => (p.id === this.selfId && this.selfMedia ? { ...p, ...this.selfMedia } : { ...p }));
    for (const p of this.list) this.diff(previous.get(p.id), p);
    for (const [id, old] of previous) {
      if (id !== this.selfId && old.joined && !this.list.some((p) => p.id === id)) this.listener(toPublic(old), 'participantLeft');
    }
  }

  /** This page's own media changed (mute, camera). */
  setSelfMedia(media: { audio: boolean; video: boolean; videoPaused?: boolean }): void {
    this.selfMedia = { ...media };
    const self = this.get(this.selfId);
    if (!self) return;
    const next = { ...self, ...media };
    this.list = this.list.map((p) => (p.id === this.selfId ? next : p));
    this.diff(self, next);
  }

  /** A link's state changed: reported as `connectionStateChanged`. */
  connectionChanged(remoteId: string, state: VideoConnectionState): void {
    const participant = this.get(remoteId);
    if (participant) this.listener(toPublic(participant), 'connectionStateChanged', { connectionState: state });
  }

  /** A link's quality level changed (this page's own id: its sending): reported as `connectionQuality`. */
  qualityChanged(participantId: string, quality: ConnectionQuality): void {
    const participant = this.get(participantId);
    if (participant) this.listener(toPublic(participant), 'connectionQuality', { quality });
  }

  /** The call ended: every joined remote participant leaves; the roster empties. */
  clear(): void {
    const remotes = this.joinedRemotes;
    this.list = [];
    this.selfMedia = null;
    for (const p of remotes) this.listener(toPublic(p), 'participantLeft');
  }

  private diff(before: CallParticipant | undefined, after: CallParticipant): void {
    const remote = after.id !== this.selfId;
    const wasJoined = before?.joined ?? false;
    if (remote && after.joined && !wasJoined) this.listener(toPublic(after), 'participantJoined');
    if (remote && !after.joined && wasJoined) this.listener(toPublic(after), 'participantLeft');
    if (!before) return;
    if (before.audio !== after.audio) this.listener(toPublic(after), after.audio ? 'audioUnmuted' : 'audioMuted');
    if (before.video !== after.video) {
      this.listener(toPublic(after), after.video ? 'videoEnabled' : 'videoDisabled');
      this.listener(toPublic(after), after.video ? 'videoResumed' : 'videoPaused', { reason: 'user' });
    } else if (after.video && (before.videoPaused ?? false) !== (after.videoPaused ?? false)) {
      this.listener(toPublic(after), after.videoPaused ? 'videoPaused' : 'videoResumed', { reason: 'network' });
    }
    if (before.screen !== after.screen) this.listener(toPublic(after), after.screen ? 'screenShareStarted' : 'screenShareStopped');
  }
}

function toPublic(p: CallParticipant): VideoParticipant {
  return {
    id: p.id,
    role: p.role,
    name: p.name,
    audio: p.audio,
    video: p.video,
    screen: p.screen ?? false,
    videoPaused: p.video && (p.videoPaused ?? false),
    joined: p.joined,
    invitedBy: p.invitedBy ?? null,
  };
}
