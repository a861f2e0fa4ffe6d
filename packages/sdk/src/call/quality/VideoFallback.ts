/*
 * The audio fallback: when this page's link cannot carry its video next to its audio, it stops sending the video
 * before the audio suffers, and brings it back once the link recovers. It decides from this page's sending figures,
 * one interval a second (QualityWatch): the sender's bandwidth estimate, the loss the far end reports, the round trip.
 *
 * Measured on a link capped at 60 kbit/s (tc tbf on a veth pair): with the video on, the estimate falls to about
 * 84 kbit/s within 1-2 s, video arrives at 0 fps and audio loses 5-35 % of its packets; with the video paused, audio
 * arrives whole again after a few seconds under the same cap. With the cap lifted but the video still paused, the
 * round trip drops to a few ms at once while the estimate does not recover (nothing probes while only audio is sent),
 * so the way back is a try: send the video again and watch whether the link holds.
 *
 *   sending ─(estimate < 150 kbit/s or loss ≥ 10 %, 2 s in a row)─▶ paused
 *   paused  ─(audio alone: round trip < 300 ms and loss < 2 %, for the wait)─▶ trying (video sent again)
 *   trying  ─(loss ≥ 5 % or round trip ≥ 300 ms)─▶ paused, the wait doubled (5 → 10 → 20 → 40 → 60 s)
 *   trying  ─(4 s that hold)─▶ sending (resumed; the wait back to 5 s)
 * Receivers hear of the pause at once and of the resume once the try held, so a failed try does not flap the tile.
 *
 * An outage is not a link too weak for video. While the network is away nothing comes from the far end (no media, no
 * RTCP: the interval is not `heard`), and once it is back the far end reports every packet sent into the void as
 * lost, the bandwidth estimate collapses on that loss, and audio's receiver reports come only every few seconds.
 * Measured after a 20 s outage on the veth: video paused 1.3 s after the link came back, on a link that carried it.
 * So an unheard interval counts nothing and starts a settling time (`settleAfterOutage` heard intervals) during
 * which nothing counts either; the state is kept (a pause in place stays, a try goes on afterwards).
 */
import type { LinkInterval } from './linkQuality.ts';

/** The thresholds, in one place (see the file's header for where they come from). */
export const FALLBACK = {
  /** A sending estimate below this cannot carry video worth watching. */
  pauseBelowKbps: 150,
  /** Loss of this page's sending, in per cent, that pauses the video. */
  pauseLossPct: 10,
  /** Intervals in a row that must say so. */
  pauseAfter: 2,
  /** While paused: what a recovered audio-only link looks like. */
  calmRoundTripMs: 300,
  calmLossPct: 2,
  /** While trying: what makes the try fail. */
  tryLossPct: 5,
  tryRoundTripMs: 300,
  /** Intervals a try must hold. */
  tryHolds: 4,
  /** Calm intervals before the first try, and the most after failed ones. */
  firstWait: 5,
  longestWait: 60,
  /** Heard intervals after an outage during which nothing counts (longer than audio's 5 s between receiver reports). */
  settleAfterOutage: 6,
} as const;

export type FallbackState = 'sending' | 'paused' | 'trying';

/** What the page does now: stop sending the video, send it again on trial, or tell everyone it is back. */
export type FallbackAction = 'pause' | 'try' | 'resume';

export class VideoFallback {
  #state: FallbackState = 'sending';
  #count = 0;
  #wait: number = FALLBACK.firstWait;
  /** Heard intervals still to let pass after an outage before any counts. */
  #settling = 0;

  get state(): FallbackState {
    return this.#state;
  }

  /** Whether receivers are to be told the video is paused (paused, or on a try not yet held). */
  get paused(): boolean {
    return this.#state !== 'sending';
  }

  /** Back to sending with nothing counted (the user turned the camera off or on, or the call changed). */
  reset(): void {
    this.#state = 'sending';
    this.#count = 0;
    this.#wait = FALLBACK.firstWait;
    this.#settling = 0;
  }

  /** Takes one interval of this page's sending; returns what to do now, or null. */
  update(interval: LinkInterval): FallbackAction | null {
    if (interval.heard === false) this.#settling = FALLBACK.settleAfterOutage + 1;
    if (this.#settling > 0) {
      this.#settling -= 1;
      this.#count = 0;
      return null;
    }
    const rtt = interval.roundTripTimeMs ?? 0;
    switch (this.#state) {
      case 'sending': {
        const estimate = interval.availableOutgoingBitrateKbps;
        const weak = (estimate !== undefined && estimate < FALLBACK.pauseBelowKbps) || interval.sendLossPct >= FALLBACK.pauseLossPct;
        this.#count = weak ? this.#count + 1 : 0;
        if (this.#count < FALLBACK.pauseAfter) return null;
        return this.#moveTo('paused', 'pause');
      }
      case 'paused': {
        const calm = rtt < FALLBACK.calmRoundTripMs && interval.sendLossPct < FALLBACK.calmLossPct;
        this.#count = calm ? this.#count + 1 : 0;
        if (this.#count < this.#wait) return null;
        return this.#moveTo('trying', 'try');
      }
      case 'trying': {
        if (interval.sendLossPct >= FALLBACK.tryLossPct || rtt >= FALLBACK.tryRoundTripMs) {
          this.#wait = Math.min(this.#wait * 2, FALLBACK.longestWait);
          return this.#moveTo('paused', 'pause');
        }
        this.#count += 1;
        if (this.#count < FALLBACK.tryHolds) return null;
        this.#wait = FALLBACK.firstWait;
        return this.#moveTo('sending', 'resume');
      }
    }
  }

  #moveTo(state: FallbackState, action: FallbackAction): FallbackAction {
    this.#state = state;
    this.#count = 0;
    return action;
  }
}
