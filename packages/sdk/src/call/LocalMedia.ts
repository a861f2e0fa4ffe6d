import type { DeviceSelection } from './devices.ts';
import type { VideoErrorCode } from './events.ts';
import type { MediaHandler, MediaRequest, MediaStreamLike, MediaTrackLike } from './MediaHandler.ts';

/** A device that could not be opened. */
export interface MediaFailure {
  device: 'audio' | 'video' | 'both';
  code: VideoErrorCode;
  message: string;
  cause: unknown;
}

/** What `acquire` obtained. */
export interface MediaOutcome {
  audio: boolean;
  video: boolean;
  failures: MediaFailure[];
}

/**
 * This page's camera and microphone for one call: opened with fallbacks (audio and video, else
 * audio only, else video only) on the devices chosen in `devices`, held in one stream that every peer
 * link sends from, released at the end. A track that ends by itself (its device was unplugged) is
 * reported to `onEnded`.
 */
export class LocalMedia {
  /** The stream every link sends; tracks come and go as the camera is turned off and on. */
  readonly stream: MediaStreamLike;
  private released = false;
  private readonly endedListeners = new Map<MediaTrackLike, () => void>();

  constructor(
    private readonly handler: MediaHandler,
    private readonly devices: DeviceSelection,
    private readonly onEnded: (kind: 'audio' | 'video', track: MediaTrackLike) => void = () => {},
  ) {
    this.stream = handler.createStream();
  }

  /** The live track of a kind, or null. */
  track(kind: 'audio' | 'video'): MediaTrackLike | null {
    return this.stream.getTracks().find((t) => t.kind === kind && t.readyState === 'live') ?? null;
  }

  /** Opens what is asked, falling back to whatever works. Never rejects. */
  async acquire(want: { audio: boolean; video: boolean }): Promise<MediaOutcome> {
    if (!want.audio && !want.video) return { audio: false, video: false, failures: [] };
    const first = await this.open(want);
    if (first.ok) return { audio: want.audio, video: want.video, failures: [] };
    const both = want.audio && want.video;
    if (both) {
      const audioOnly = await this.open({ audio: true, video: false });
      if (audioOnly.ok) return { audio: true, video: false, failures: [failure('video', first.error)] };
      const videoOnly = await this.open({ audio: false, video: true });
      if (videoOnly.ok) return { audio: false, video: true, failures: [failure('audio', audioOnly.error)] };
    }
    return { audio: false, video: false, failures: [failure(both ? 'both' : want.audio ? 'audio' : 'video', first.error)] };
  }

  /**
   * Opens one more device (the camera for `enableVideo`, the microphone when it failed at first).
   * @throws MediaFailure when the device cannot be opened.
   */
  async openTrack(kind: 'audio' | 'video'): Promise<MediaTrackLike> {
    const result = await this.open({ audio: kind === 'audio', video: kind === 'video' });
    if (!result.ok) throw failure(kind, result.error);
    const track = this.track(kind);
    if (!track) throw failure(kind, new Error(`no ${kind} track was delivered`));
    return track;
  }

  /**
   * Opens a device of `kind` (`deviceId`, or the default with null) without touching the track in use, so
   * the links can switch to it before the old one stops. Hand the track to {@link adopt} (or stop it).
   * @throws the browser's DOMException (`OverconstrainedError` for an id that is gone).
   */
  async openDevice(kind: 'audio' | 'video', deviceId: string | null): Promise<MediaTrackLike> {
    const request: MediaRequest = { audio: kind === 'audio', video: kind === 'video' };
    if (deviceId) request[kind === 'audio' ? 'audioDeviceId' : 'videoDeviceId'] = deviceId;
    const opened = await this.handler.getUserMedia(request);
    const [track, ...extra] = opened.getTracks().filter((t) => t.kind === kind);
    for (const other of opened.getTracks()) if (other !== track) other.stop();
    if (!track || extra.length > 0) throw new Error(`no ${kind} track was delivered`);
    if (this.released) track.stop();
    return track;
  }

  /** Makes `track` this page's track of its kind: the old one stops (its mute state carries over). */
  adopt(track: MediaTrackLike): void {
    const kind = track.kind as 'audio' | 'video';
    const old = this.track(kind);
    if (old) track.enabled = old.enabled;
    this.stopTrack(kind);
    if (this.released) return track.stop();
    this.add(track);
  }

  /** Stops a device (the camera light goes off) and drops its track from the stream. */
  stopTrack(kind: 'audio' | 'video'): void {
    for (const track of this.stream.getTracks()) if (track.kind === kind) this.drop(track);
  }

  /** Stops every device; later acquisitions are stopped at once. */
  release(): void {
    this.released = true;
    for (const track of this.stream.getTracks()) this.drop(track);
  }

  private async open(request: MediaRequest): Promise<{ ok: true } | { ok: false; error: unknown }> {
    let opened: MediaStreamLike;
    try {
      const audioDeviceId = request.audio ? this.devices.idFor('audio') : undefined;
      const videoDeviceId = request.video ? this.devices.idFor('video') : undefined;
      opened = await this.handler.getUserMedia({ ...request, ...(audioDeviceId ? { audioDeviceId } : {}), ...(videoDeviceId ? { videoDeviceId } : {}) });
    } catch (error) {
      return { ok: false, error };
    }
    for (const track of opened.getTracks()) {
      if (this.released) {
        track.stop();
        continue;
      }
      this.stopTrack(track.kind as 'audio' | 'video');
      this.add(track);
    }
    return { ok: true };
  }

  private add(track: MediaTrackLike): void {
    const listener = () => {
      if (this.endedListeners.get(track) === listener) this.onEnded(track.kind as 'audio' | 'video', track);
    };
    this.endedListeners.set(track, listener);
    track.addEventListener('ended', listener);
    this.stream.addTrack(track);
  }

  private drop(track: MediaTrackLike): void {
    const listener = this.endedListeners.get(track);
    if (listener) track.removeEventListener('ended', listener);
    this.endedListeners.delete(track);
    track.stop();
    this.stream.removeTrack(track);
  }
}

/** Maps a getUserMedia rejection (a DOMException name) to a Parley code. */
export function mediaErrorCode(error: unknown): VideoErrorCode {
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'media-denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return 'media-missing';
  return 'media-failed';
}

function failure(device: MediaFailure['device'], cause: unknown): MediaFailure {
  const code = mediaErrorCode(cause);
  const what = device === 'both' ? 'camera and microphone' : device === 'audio' ? 'microphone' : 'camera';
  const reason = code === 'media-denied' ? 'access was denied' : code === 'media-missing' ? 'none was found' : 'it could not be started';
  const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
  return { device, code, message: `${what}: ${reason}${detail}`, cause };
}
