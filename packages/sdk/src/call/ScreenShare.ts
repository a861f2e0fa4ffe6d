import { ParleyError } from '../errors.ts';
import type { MediaHandler, MediaStreamLike, MediaTrackLike } from './MediaHandler.ts';

/** What a {@link ScreenShare} is built from and how it acts on the call. */
export interface ScreenShareDeps {
  media: Pick<MediaHandler, 'getDisplayMedia' | 'createStream'>;
  /**
   * Tells the server this page shares (`on`, in the stream `streamId`) or stopped (`call.screen`); rejects
   * with the server's refusal, e.g. `screen_share_busy` when someone else shares.
   */
  announce(on: boolean, streamId: string): Promise<void>;
  /** Sends `track` as this page's screen on every link (null: stops sending it; audio and camera stay as they are). */
  send(track: MediaTrackLike | null): Promise<void>;
  /** The screen this page shares changed (null: it stopped): the "you are sharing" preview follows. */
  onChanged(stream: MediaStreamLike | null): void;
  /** A stop that nobody awaited (the browser's own "Stop sharing") failed a step. */
  onError(error: unknown): void;
}

/**
 * This page's shared screen in one call. The screen goes in a stream of its own, made once for the call, so
 * its id — announced in the call state — stays the same across shares and receivers always tell it from the
 * camera. Starting asks the user for a screen, window or tab, announces it (the server lets one participant
 * share at a time) and only then sends it; stopping, or the browser's own "Stop sharing" (the track's `ended`),
 * stops sending, releases the capture and announces the stop. Starts and stops run one after another.
 */
export class ScreenShare {
  /** The stream the screen is sent in, for the call's life. */
  readonly stream: MediaStreamLike;
  readonly #deps: ScreenShareDeps;
  #track: MediaTrackLike | null = null;
  /** A start or stop is under way: the call state may say either meanwhile. */
  #busy = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #ended = () => {
    this.stop().catch((err: unknown) => this.#deps.onError(err));
  };

  constructor(deps: ScreenShareDeps) {
    this.#deps = deps;
    this.stream = deps.media.createStream();
  }

  /** This page shares its screen now. */
  get sharing(): boolean {
    return this.#track !== null;
  }

  /**
   * Asks for a screen and shares it; nothing happens when this page shares already.
   * @throws ParleyError `forbidden` (the user cancelled the picker, or sharing is not allowed),
   *   `unavailable` (this browser cannot share a screen), `screen_share_busy` (someone else shares),
   *   or the server's refusal of the announcement.
   */
  start(): Promise<void> {
    return this.#serially(async () => {
      if (this.#track || this.#closed) return;
      const track = await this.#capture();
      if (this.#closed) return track.stop();
      try {
        await this.#deps.announce(true, this.stream.id);
      } catch (err) {
        track.stop();
        throw err;
      }
      if (this.#closed) return track.stop();
      for (const old of this.stream.getTracks()) this.stream.removeTrack(old);
      this.stream.addTrack(track);
      this.#track = track;
      track.addEventListener('ended', this.#ended);
      await this.#deps.send(track);
      this.#deps.onChanged(this.stream);
    });
  }

  /** Stops sharing (the browser's own "Stop sharing" does the same); nothing happens when this page does not share. */
  stop(): Promise<void> {
    return this.#serially(async () => {
      const track = this.#release();
      if (!track) return;
      await this.#deps.send(null);
      if (!this.#closed) await this.#deps.announce(false, this.stream.id);
    });
  }

  /**
   * The call state as the server has it says this page shares (`screen`): when it does not (the page was
   * reloaded while sharing, or a stop was not heard), the stop is announced again.
   */
  reconcile(screen: boolean): void {
    if (!screen || this.#track || this.#busy > 0 || this.#closed) return;
    this.#serially(() => this.#deps.announce(false, this.stream.id)).catch((err: unknown) => this.#deps.onError(err));
  }

  /** The call is over for this page: the capture is released (nothing is announced). */
  close(): void {
    this.#closed = true;
    this.#release();
  }

  #release(): MediaTrackLike | null {
    const track = this.#track;
    if (!track) return null;
    this.#track = null;
    track.removeEventListener('ended', this.#ended);
    track.stop();
    this.stream.removeTrack(track);
    this.#deps.onChanged(null);
    return track;
  }

  async #capture(): Promise<MediaTrackLike> {
    let captured: MediaStreamLike;
    try {
      captured = await this.#deps.media.getDisplayMedia();
    } catch (err) {
      throw captureError(err);
    }
    const [track, ...others] = captured.getVideoTracks();
    for (const other of [...others, ...captured.getAudioTracks()]) other.stop(); // the picture only
    if (!track) throw new ParleyError('unavailable', 'the browser shared no picture of the screen');
    return track;
  }

  #serially<T>(step: () => Promise<T>): Promise<T> {
    this.#busy++;
    const run = this.#queue.then(step).finally(() => this.#busy--);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** A getDisplayMedia rejection as a ParleyError. */
function captureError(err: unknown): ParleyError {
  const name = typeof err === 'object' && err !== null ? String((err as { name?: unknown }).name) : '';
  const detail = err instanceof Error && err.message ? ` (${err.message})` : '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'AbortError') {
    return new ParleyError('forbidden', `screen sharing was cancelled or is not allowed${detail}`, { cause: err });
  }
  return new ParleyError('unavailable', `the screen could not be shared${detail}`, { cause: err });
}
