import type { MediaStreamLike, MediaTrackLike } from './MediaHandler.ts';

/**
 * The tracks received from one remote participant, sorted into two streams: its camera stream (microphone and
 * camera) and its screen stream. Each track is received with a key that tells where it came from — the stream id
 * the sender put it in (peer-to-peer, the SDP's msid) or the m-line it arrived on (through Janus) — and which key
 * is the screen's may be learnt before or after the track arrives, so the sorting can be done again at any time.
 * A key once known as the screen's stays so: a screen that stopped keeps its (idle) track, which must never
 * take the camera's place. Per stream and kind the track received last wins (a renegotiated link may bring a new one).
 */
export class RemoteTracks {
  private readonly tracks: Array<{ track: MediaTrackLike; key: string | null }> = [];
  private readonly screenKeys = new Set<string>();

  constructor(
    /** Microphone and camera. */
    readonly camera: MediaStreamLike,
    /** The shared screen. */
    readonly screen: MediaStreamLike,
  ) {}

  /** A track arrived (again: it moves to the end). */
  add(track: MediaTrackLike, key: string | null): void {
    const known = this.tracks.findIndex((t) => t.track === track);
    if (known >= 0) this.tracks.splice(known, 1);
    this.tracks.push({ track, key });
  }

  /** Tracks received with `key` are the screen (null: nothing learnt). */
  markScreen(key: string | null): void {
    if (key !== null) this.screenKeys.add(key);
  }

  /** Puts each track into the stream it belongs to. True when either stream changed. */
  sort(): boolean {
    const live = this.tracks.filter((t) => t.track.readyState === 'live');
    const camera = new Map<string, MediaTrackLike>();
    let screen: MediaTrackLike | null = null;
    for (const { track, key } of live) {
      if (key === null || !this.screenKeys.has(key)) camera.set(track.kind, track);
      else if (track.kind === 'video') screen = track;
    }
    const cameraChanged = fill(this.camera, [...camera.values()]);
    const screenChanged = fill(this.screen, screen ? [screen] : []);
    return cameraChanged || screenChanged;
  }
}

/** Makes `stream` hold exactly `tracks`; true when that changed it. */
function fill(stream: MediaStreamLike, tracks: MediaTrackLike[]): boolean {
  let changed = false;
  for (const old of stream.getTracks()) {
    if (tracks.includes(old)) continue;
    stream.removeTrack(old);
    changed = true;
  }
  for (const track of tracks) {
    if (stream.getTracks().includes(track)) continue;
    stream.addTrack(track);
    changed = true;
  }
  return changed;
}
