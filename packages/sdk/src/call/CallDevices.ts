import { ParleyError } from '../errors.ts';
import { addedDevices, checkChoice, listDevices, trackKindOf, type DeviceChoice, type DeviceList, type DeviceSelection, type DevicesInUse } from './devices.ts';
import type { DeviceChangedEvent, DeviceListChangedEvent } from './events.ts';
import { mediaErrorCode, type LocalMedia, type MediaFailure } from './LocalMedia.ts';
import type { CallView, MediaHandler, MediaTrackLike } from './MediaHandler.ts';
import type { MediaTransport } from './MediaTransport.ts';

/** What {@link CallDevices} works with, and how it reports to the participation that owns it. */
export interface CallDevicesDeps {
  media: MediaHandler;
  selection: DeviceSelection;
  localMedia: LocalMedia;
  /** The links that send this page's tracks (null before joining: they take the stream's tracks when made). */
  transport(): MediaTransport | null;
  /** Where the call is drawn (its elements play the sound). */
  view(): CallView;
  /** A device changed (chosen, or a fallback after an unplug). */
  onChanged(event: Omit<DeviceChangedEvent, 'sessionID'>): void;
  /** Devices were plugged in or out. */
  onListChanged(event: Omit<DeviceListChangedEvent, 'sessionID'>): void;
  /** An unplugged device could not be replaced: this kind is no longer sent. */
  onLost(kind: 'audio' | 'video', failure: MediaFailure): void;
}

/**
 * The devices of one call in progress: switches camera and microphone with `replaceTrack` on every link (the
 * new device opens first, the links switch, then the old one stops: no renegotiation, no gap), the speaker
 * on the view, falls back to the default device when one is unplugged, and tells of devices plugged in.
 * One change at a time: changes queue.
 */
export class CallDevices {
  readonly #deps: CallDevicesDeps;
  #queue: Promise<void> = Promise.resolve();
  #known: Promise<DeviceList>;
  readonly #stopWatching: () => void;
  #closed = false;

  constructor(deps: CallDevicesDeps) {
    this.#deps = deps;
    this.#known = listDevices(deps.media).catch(() => ({ cameras: [], microphones: [], speakers: [] }));
    this.#stopWatching = deps.media.watchDevices(() => void this.#listChanged());
  }

  /** What is in use: the open tracks' devices, else the choice for when they open. */
  get inUse(): DevicesInUse {
    const { selection, localMedia } = this.#deps;
    const deviceOf = (kind: 'audio' | 'video') => localMedia.track(kind)?.getSettings().deviceId ?? selection.idFor(kind) ?? null;
    return { camera: deviceOf('video'), microphone: deviceOf('audio'), speaker: selection.speaker };
  }

  /**
   * Switches to the chosen devices (a kind not open now, e.g. the camera while it is off, is used when it opens).
   * @throws ParleyError `device_not_found`, `invalid_frame` (nothing changed), `not_supported` (speaker),
   *   `unavailable` (the device is there but could not be started).
   */
  set(choice: DeviceChoice): Promise<void> {
    return this.#serially(async () => {
      await checkChoice(this.#deps.media, choice);
      const before = this.inUse;
      if (choice.speaker !== undefined && choice.speaker !== before.speaker) await this.#deps.view().setSpeaker(choice.speaker);
      for (const kind of ['microphone', 'camera'] as const) {
        const id = choice[kind];
        if (id === undefined) continue;
        const trackKind = trackKindOf(kind);
        if (this.#deps.localMedia.track(trackKind) && id !== before[kind]) await this.#switch(trackKind, id);
      }
      this.#deps.selection.apply(choice);
      const after = this.inUse;
      for (const kind of ['camera', 'microphone', 'speaker'] as const) {
        if (after[kind] !== before[kind]) this.#deps.onChanged({ kind, deviceId: after[kind], previousId: before[kind], reason: 'selected' });
      }
    });
  }

  /** Applies the chosen speaker to a new view (a failure is the view's to report; the call goes on). */
  applySpeaker(view: CallView): Promise<void> {
    const speaker = this.#deps.selection.speaker;
    return speaker ? view.setSpeaker(speaker) : Promise.resolve();
  }

  /** A track ended by itself (its device was unplugged): the default device of that kind takes its place. */
  trackEnded(kind: 'audio' | 'video', track: MediaTrackLike): void {
    void this.#serially(async () => {
      const { localMedia, selection } = this.#deps;
      if (this.#closed || localMedia.track(kind) !== null) return; // already replaced, or another track is live
      const deviceKind = kind === 'audio' ? 'microphone' : 'camera';
      const previousId = track.getSettings().deviceId ?? selection.idFor(kind) ?? null;
      if (kind === 'audio') selection.microphone = null; // the choice is gone with the device: the default from now on
      else selection.camera = null;
      let replacement: MediaTrackLike;
      try {
        replacement = await localMedia.openDevice(kind, null);
      } catch (error) {
        await this.#deps.transport()?.setTrack(kind, null);
        localMedia.stopTrack(kind);
        const what = kind === 'audio' ? 'microphone' : 'camera';
        this.#deps.onLost(kind, { device: kind, code: mediaErrorCode(error), message: `${what}: it was unplugged and no other could be opened`, cause: error });
        this.#deps.onChanged({ kind: deviceKind, deviceId: null, previousId, reason: 'unplugged' });
        return;
      }
      replacement.enabled = track.enabled;
      await this.#deps.transport()?.setTrack(kind, replacement);
      localMedia.adopt(replacement);
      this.#deps.onChanged({ kind: deviceKind, deviceId: replacement.getSettings().deviceId ?? null, previousId, reason: 'unplugged' });
    });
  }

  /** Stops listening for devices. */
  close(): void {
    this.#closed = true;
    this.#stopWatching();
  }

  /** Opens `id`, switches every link to it, then stops the old device. */
  async #switch(kind: 'audio' | 'video', id: string): Promise<void> {
    let track: MediaTrackLike;
    try {
      track = await this.#deps.localMedia.openDevice(kind, id);
    } catch (error) {
      const code = mediaErrorCode(error);
      if (code === 'media-missing') throw ParleyError.deviceNotFound(`the ${kind === 'audio' ? 'microphone' : 'camera'} "${id}" is not there`, error);
      throw ParleyError.unavailable(`the ${kind === 'audio' ? 'microphone' : 'camera'} could not be started`, error);
    }
    const old = this.#deps.localMedia.track(kind);
    if (old) track.enabled = old.enabled;
    try {
      await this.#deps.transport()?.setTrack(kind, track);
    } catch (error) {
      track.stop();
      throw ParleyError.from(error, 'internal');
    }
    this.#deps.localMedia.adopt(track);
  }

  async #listChanged(): Promise<void> {
    if (this.#closed) return;
    const previous = await this.#known;
    const next = listDevices(this.#deps.media);
    this.#known = next.catch(() => previous);
    const devices = await next.catch(() => null);
    if (!devices || this.#closed) return;
    this.#deps.onListChanged({ devices, added: addedDevices(previous, devices) });
  }

  #serially(step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => {});
    return run;
  }
}
