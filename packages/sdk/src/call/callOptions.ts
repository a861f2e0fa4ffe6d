/*
 * The call engine's options and their defaults. A leaf of the call folder: the engine, its participation
 * and the media transports all read the resolved options, and none of them has to import another for it.
 */
import { BrowserMediaHandler } from './BrowserMediaHandler.ts';
import type { DeviceChoice } from './devices.ts';
import type { MediaHandler } from './MediaHandler.ts';

/** Options of the call engine (all optional), given as `ConnectOptions.call`. */
export interface CallOptions {
  /** The browser boundary: peer connections, devices, rendering. Default: the real browser. */
  media?: MediaHandler;
  /** ICE candidates gathered ahead of need. Default 2. */
  iceCandidatePoolSize?: number;
  /** How long a dropped link waits before restarting ICE. Default 2 s. */
  iceRestartDelayMs?: number;
  /** How long a new link may take to connect before it is failed. Default 15 s. */
  linkFailAfterMs?: number;
  /**
   * How long a link that was connected may stay dropped (ICE restarted meanwhile) before it is failed, which
   * ends the call. Default 60 s; the server's grace period usually decides first.
   */
  linkLostAfterMs?: number;
  /**
   * How long the polite side of a new link waits for the other side's offer before offering itself, so that a
   * call normally starts with one offer rather than two colliding ones. Default 1.5 s.
   */
  offerWaitMs?: number;
  /**
   * The camera, microphone and speaker calls open (ids from `Parley.listDevices()`); a guest chooses its
   * devices this way before joining. Default: the browser's. `contact.setDevices()` changes them later.
   */
  devices?: DeviceChoice;
  /**
   * The audio fallback: stop sending video while this page's link cannot carry it next to the audio, and bring it
   * back once the link recovers (README, "Call quality"). Default true; false keeps sending whatever the link does.
   */
  videoFallback?: boolean;
}

/** {@link CallOptions} with every default applied: timings and the browser boundary of the call engine. */
export interface ResolvedCallOptions {
  media: MediaHandler;
  iceCandidatePoolSize: number;
  iceRestartDelayMs: number;
  linkFailAfterMs: number;
  linkLostAfterMs: number;
  offerWaitMs: number;
  devices: DeviceChoice;
  videoFallback: boolean;
}

/** Applies the defaults (the real browser's media, 2 pooled candidates, 2 s ICE restart, 15 s link failure, 60 s for a dropped link, 1.5 s offer wait). */
export function resolveCallOptions(options: CallOptions = {}): ResolvedCallOptions {
  return {
    media: options.media ?? new BrowserMediaHandler(),
    iceCandidatePoolSize: options.iceCandidatePoolSize ?? 2,
    iceRestartDelayMs: options.iceRestartDelayMs ?? 2_000,
    linkFailAfterMs: options.linkFailAfterMs ?? 15_000,
    linkLostAfterMs: options.linkLostAfterMs ?? 60_000,
    offerWaitMs: options.offerWaitMs ?? 1_500,
    devices: { ...options.devices },
    videoFallback: options.videoFallback ?? true,
  };
}
