/*
 * Notices within a second that media stopped arriving on a link, for the recovery from a dropped network. ICE
 * itself takes 5-7 s to call a link whose network went away disconnected, and a party given a new address (a
 * Wi-Fi switch) has a signaling socket that looks connected for tens of seconds; media stopping says so at once.
 * A few times a second it reads each receiving link's synchronization sources (when its latest audio or video packet
 * was played out: no stats are gathered) and reports a link silent once nothing new came for `silentAfterMs`, and
 * heard again when something does. A link that never delivered anything is not watched. It owns nothing but its timer.
 */
import type { QualityLink } from './QualityWatch.ts';
import type { PeerConnectionLike } from '../MediaHandler.ts';

/** How often the links are read. */
export const SILENCE_POLL_MS = 150;
/** Nothing new for this long is silence: audio packets come every 20 ms, and a loaded page may stall a few hundred. */
export const SILENT_AFTER_MS = 600;

export interface SilenceWatchDeps {
  links(): QualityLink[];
  /** Media from `remoteId` stopped arriving (once per silence). */
  onSilent(remoteId: string): void;
  /** Media from `remoteId` arrives again after a silence. */
  onHeard?(remoteId: string): void;
  now?(): number;
}

interface Heard {
  remoteId: string;
  /** The latest playout time seen among the link's sources. */
  latest: number;
  /** When (by this watch's clock) it last moved. */
  movedAt: number;
  silent: boolean;
}

export class SilenceWatch {
  readonly #deps: SilenceWatchDeps;
  readonly #heard = new Map<PeerConnectionLike, Heard>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(deps: SilenceWatchDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.check(), SILENCE_POLL_MS);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The participants whose media stopped arriving and has not come back. */
  silentIds(): Set<string> {
    this.check(); // media may have come back since the last read
    const live = new Set(this.#deps.links().map((l) => l.peerConnection));
    return new Set([...this.#heard].filter(([pc, h]) => h.silent && live.has(pc)).map(([, h]) => h.remoteId));
  }

  /** Reads every receiving link once (the timer calls it; tests call it directly). */
  check(): void {
    const now = (this.#deps.now ?? Date.now)();
    for (const { receivesFrom, peerConnection: pc } of this.#deps.links()) {
      if (receivesFrom === null || pc.connectionState === 'closed') continue;
      const latest = latestPlayout(pc);
      const heard = this.#heard.get(pc);
      if (!heard) {
        if (latest !== null) this.#heard.set(pc, { remoteId: receivesFrom, latest, movedAt: now, silent: false });
        continue;
      }
      if (latest !== null && latest > heard.latest) {
        heard.latest = latest;
        heard.movedAt = now;
        if (heard.silent) {
          heard.silent = false;
          this.#deps.onHeard?.(receivesFrom);
        }
      } else if (!heard.silent && now - heard.movedAt >= SILENT_AFTER_MS) {
        heard.silent = true;
        this.#deps.onSilent(receivesFrom);
      }
    }
  }
}

/** The latest playout time over the link's receivers' sources, or null when none was heard (or the browser cannot say). */
function latestPlayout(pc: PeerConnectionLike): number | null {
  let latest: number | null = null;
  for (const { receiver } of pc.getTransceivers()) {
    for (const source of receiver.getSynchronizationSources?.() ?? []) {
      if (latest === null || source.timestamp > latest) latest = source.timestamp;
    }
  }
  return latest;
}
