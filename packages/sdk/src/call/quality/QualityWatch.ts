/*
 * Watches the quality of a call's links, about once a second: one level per remote participant (what this page
 * receives from it) and one for this page's own sending (the worst of its sending links: in a mesh every link
 * sends, through Janus the publishing one). It reads the transport's peer connections, rates each interval
 * (linkQuality.ts) and reports a level when the shown one changes. It owns nothing but its timer.
 */
import type { PeerConnectionLike } from '../MediaHandler.ts';
import { intervalOf, QualityMeter, rateInterval, rateSending, readLink, worseOf, type ConnectionQuality, type LinkInterval, type LinkReading } from './linkQuality.ts';

/** How often the links are sampled. */
export const QUALITY_SAMPLE_MS = 1000;

/** One peer connection of the call, as the transport holds it. */
export interface QualityLink {
  /** The remote participant whose media arrives on it, or null when it only sends (a Janus publisher). */
  receivesFrom: string | null;
  /** Whether this page's media goes out on it. */
  sends: boolean;
  peerConnection: PeerConnectionLike;
}

/** What the watch reads from and reports to. */
export interface QualityWatchDeps {
  /** This page's party id: the id its own sending level is reported under. */
  selfId: string;
  links(): QualityLink[];
  onQuality(participantId: string, quality: ConnectionQuality): void;
  /** Each second, this page's sending over its sending links: the lowest estimate, the most loss, the longest round trip. */
  onSending?(interval: LinkInterval): void;
}

/** The latest figures of one participant's link, for `getCallStats()`. */
export interface QualityFigures {
  quality: ConnectionQuality;
  availableOutgoingBitrateKbps?: number;
}

export class QualityWatch {
  readonly #deps: QualityWatchDeps;
  readonly #previous = new WeakMap<PeerConnectionLike, LinkReading>();
  readonly #meters = new Map<string, QualityMeter>();
  readonly #bitrates = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #sampling = false;

  constructor(deps: QualityWatchDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sample(), QUALITY_SAMPLE_MS);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The shown level and latest figures of a participant's link (this page's own under its id). */
  figures(participantId: string): QualityFigures | null {
    const meter = this.#meters.get(participantId);
    if (!meter) return null;
    const figures: QualityFigures = { quality: meter.level };
    // Through Janus one publishing connection carries this page's media to everyone: its estimate is every row's.
    const bitrate = this.#bitrates.get(participantId) ?? this.#bitrates.get(this.#deps.selfId);
    if (bitrate !== undefined) figures.availableOutgoingBitrateKbps = Math.round(bitrate);
    return figures;
  }

  /** Samples every link once (the timer calls it; tests call it directly). */
  async sample(): Promise<void> {
    if (this.#sampling) return; // a slow getStats: skip a tick rather than pile up
    this.#sampling = true;
    try {
      const links = this.#deps.links();
      const intervals = await Promise.all(links.map((link) => this.#interval(link)));
      let sending: ConnectionQuality | null = null;
      let worst: LinkInterval | null = null;
      const present = new Set<string>();
      links.forEach((link, i) => {
        const interval = intervals[i];
        if (!interval) return; // its first reading: nothing to compare with yet
        const connected = isConnected(link.peerConnection);
        if (!connected) interval.heard = false;
        if (link.receivesFrom !== null) {
          present.add(link.receivesFrom);
          this.#rate(link.receivesFrom, rateInterval(interval, connected));
          if (link.sends && interval.availableOutgoingBitrateKbps !== undefined) this.#bitrates.set(link.receivesFrom, interval.availableOutgoingBitrateKbps);
        }
        if (link.sends) {
          worst = worst === null ? interval : worstSending(worst, interval);
          const rated = rateSending(interval, connected);
          sending = sending === null ? rated : worseOf(sending, rated);
          if (interval.availableOutgoingBitrateKbps !== undefined) this.#bitrates.set(this.#deps.selfId, interval.availableOutgoingBitrateKbps);
        }
      });
      if (sending !== null) {
        present.add(this.#deps.selfId);
        this.#rate(this.#deps.selfId, sending);
      }
      if (worst !== null) this.#deps.onSending?.(worst);
      for (const id of [...this.#meters.keys()]) {
        if (!present.has(id) && !links.some((l) => l.receivesFrom === id)) {
          this.#meters.delete(id); // left the call: a returning participant starts afresh
          this.#bitrates.delete(id);
        }
      }
    } finally {
      this.#sampling = false;
    }
  }

  async #interval(link: QualityLink): Promise<LinkInterval | null> {
    const pc = link.peerConnection;
    const reading = readLink(await pc.getStats().catch(() => ({ forEach: () => undefined })));
    const previous = this.#previous.get(pc);
    this.#previous.set(pc, reading);
    return previous ? intervalOf(previous, reading) : null;
  }

  #rate(participantId: string, rated: ConnectionQuality): void {
    let meter = this.#meters.get(participantId);
    if (!meter) {
      this.#meters.set(participantId, (meter = new QualityMeter()));
      this.#deps.onQuality(participantId, meter.level); // a new link shows its level from the start
    }
    const changed = meter.update(rated);
    if (changed) this.#deps.onQuality(participantId, changed);
  }
}

function isConnected(pc: PeerConnectionLike): boolean {
  return pc.connectionState !== 'disconnected' && pc.connectionState !== 'failed' && pc.connectionState !== 'closed';
}

/** The worse of two sending intervals, measure by measure. */
function worstSending(a: LinkInterval, b: LinkInterval): LinkInterval {
  const worst: LinkInterval = {
    ...a,
    sendLossPct: Math.max(a.sendLossPct, b.sendLossPct),
    lossPct: Math.max(a.lossPct, b.lossPct),
    receiving: a.receiving && b.receiving,
    heard: a.heard !== false && b.heard !== false,
  };
  const least = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
  const most = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
  const estimate = least(a.availableOutgoingBitrateKbps, b.availableOutgoingBitrateKbps);
  const rtt = most(a.roundTripTimeMs, b.roundTripTimeMs);
  if (estimate !== undefined) worst.availableOutgoingBitrateKbps = estimate;
  else delete worst.availableOutgoingBitrateKbps;
  if (rtt !== undefined) worst.roundTripTimeMs = rtt;
  else delete worst.roundTripTimeMs;
  return worst;
}
