/*
 * How good a media link is, from the browser's own statistics. A link is sampled about once a second; each sample
 * is the difference of the cumulative counters since the previous one (loss over the last interval, not since the
 * call began), plus the round-trip time and jitter the browser reports now.
 *
 * Levels, set for conversation (ITU-T G.114 counts a one-way delay under 150 ms as good and over 400 ms as
 * unacceptable; Opus hides a few per cent of loss, not ten):
 *   good  loss < 2 %,  round trip < 300 ms, jitter < 30 ms
 *   fair  loss < 8 %,  round trip < 600 ms, jitter < 60 ms
 *   poor  anything worse, while packets still arrive
 *   lost  nothing arrived during the interval, or the connection is disconnected or failed
 * A level gets worse after two samples in a row say so and better after three: a single bad second does not
 * flap the icon, and a recovering link shows it only once it holds.
 */
import type { StatsReportLike } from '../MediaHandler.ts';

/** The quality of one link, as shown on a tile. */
export type ConnectionQuality = 'good' | 'fair' | 'poor' | 'lost';

const ORDER: Record<ConnectionQuality, number> = { good: 0, fair: 1, poor: 2, lost: 3 };

/** The limits of `good` and `fair` (a value at or above a limit is the next level down). */
export const QUALITY_LIMITS = {
  good: { lossPct: 2, roundTripTimeMs: 300, jitterMs: 30 },
  fair: { lossPct: 8, roundTripTimeMs: 600, jitterMs: 60 },
} as const;

/** Samples in a row needed to go to a worse level, and to a better one. */
export const QUALITY_HYSTERESIS = { worse: 2, better: 3 } as const;

/** Cumulative counters and current values read from one `getStats()` report. */
export interface LinkReading {
  /** Inbound packets received and lost, over every inbound stream (what this page receives). */
  packetsReceived: number;
  packetsLost: number;
  /** The largest inbound audio jitter now, in ms (video jitter follows frame pacing, not the network alone). */
  jitterMs?: number;
  /** Of the selected candidate pair. */
  roundTripTimeMs?: number;
  /** The sender's bandwidth estimate (selected candidate pair), in kbit/s. */
  availableOutgoingBitrateKbps?: number;
  /** What the remote side reports of this page's outgoing media (remote-inbound-rtp): packets sent and lost. */
  packetsSent: number;
  remotePacketsLost: number;
  /** Bytes received on the transport: media, RTCP and feedback alike (anything the far end sent); absent without transport stats. */
  bytesReceived?: number;
}

/** Reads a stats report into a {@link LinkReading}. */
export function readLink(report: StatsReportLike): LinkReading {
  const reading: LinkReading = { packetsReceived: 0, packetsLost: 0, packetsSent: 0, remotePacketsLost: 0 };
  report.forEach((stat) => {
    if (stat.type === 'inbound-rtp') {
      reading.packetsReceived += num(stat.packetsReceived);
      reading.packetsLost += Math.max(0, num(stat.packetsLost));
      const audio = (stat.kind ?? stat.mediaType) === 'audio';
      if (audio && typeof stat.jitter === 'number') reading.jitterMs = Math.max(reading.jitterMs ?? 0, stat.jitter * 1000);
    } else if (stat.type === 'outbound-rtp') {
      reading.packetsSent += num(stat.packetsSent);
    } else if (stat.type === 'transport') {
      reading.bytesReceived = (reading.bytesReceived ?? 0) + num(stat.bytesReceived);
    } else if (stat.type === 'remote-inbound-rtp') {
      reading.remotePacketsLost += Math.max(0, num(stat.packetsLost));
    } else if (stat.type === 'candidate-pair' && stat.state === 'succeeded' && (stat.nominated === true || stat.selected === true)) {
      if (typeof stat.currentRoundTripTime === 'number') reading.roundTripTimeMs = stat.currentRoundTripTime * 1000;
      if (typeof stat.availableOutgoingBitrate === 'number') reading.availableOutgoingBitrateKbps = stat.availableOutgoingBitrate / 1000;
    }
  });
  return reading;
}

/** What one interval between two readings says. */
export interface LinkInterval {
  /** Inbound loss over the interval, in per cent (0 when nothing was expected). */
  lossPct: number;
  /** Whether any inbound packet arrived during the interval. */
  receiving: boolean;
  /** Outbound loss over the interval as the remote side reports it, in per cent. */
  sendLossPct: number;
  /**
   * False when nothing at all came from the far end during the interval (no media, no RTCP, no feedback), or the
   * connection was down: the network was away, and the interval's figures say nothing about what the link carries.
   */
  heard?: boolean;
  roundTripTimeMs?: number;
  jitterMs?: number;
  availableOutgoingBitrateKbps?: number;
}

/** The interval from `previous` to `current`. */
export function intervalOf(previous: LinkReading, current: LinkReading): LinkInterval {
  const received = Math.max(0, current.packetsReceived - previous.packetsReceived);
  const lost = Math.max(0, current.packetsLost - previous.packetsLost);
  const sent = Math.max(0, current.packetsSent - previous.packetsSent);
  const sendLost = Math.max(0, current.remotePacketsLost - previous.remotePacketsLost);
  const interval: LinkInterval = {
    lossPct: percent(lost, received + lost),
    receiving: received > 0,
    sendLossPct: percent(sendLost, sent),
  };
  if (current.bytesReceived !== undefined && previous.bytesReceived !== undefined) interval.heard = current.bytesReceived > previous.bytesReceived;
  if (current.roundTripTimeMs !== undefined) interval.roundTripTimeMs = current.roundTripTimeMs;
  if (current.jitterMs !== undefined) interval.jitterMs = current.jitterMs;
  if (current.availableOutgoingBitrateKbps !== undefined) interval.availableOutgoingBitrateKbps = current.availableOutgoingBitrateKbps;
  return interval;
}

/** The level one interval alone says (before hysteresis). `connected` false: the connection is disconnected or failed. */
export function rateInterval(interval: LinkInterval, connected = true): ConnectionQuality {
  if (!connected || !interval.receiving) return 'lost';
  const within = (limits: (typeof QUALITY_LIMITS)[keyof typeof QUALITY_LIMITS]) =>
    interval.lossPct < limits.lossPct && (interval.roundTripTimeMs ?? 0) < limits.roundTripTimeMs && (interval.jitterMs ?? 0) < limits.jitterMs;
  if (within(QUALITY_LIMITS.good)) return 'good';
  if (within(QUALITY_LIMITS.fair)) return 'fair';
  return 'poor';
}

/**
 * The shown level of one link, moved by rated intervals with hysteresis. Starts `good`: a link that just
 * connected has shown nothing bad yet.
 */
export class QualityMeter {
  #level: ConnectionQuality = 'good';
  #pending: ConnectionQuality | null = null;
  #count = 0;

  get level(): ConnectionQuality {
    return this.#level;
  }

  /** Takes one rated interval; returns the new level when the shown level changed, else null. */
  update(rated: ConnectionQuality): ConnectionQuality | null {
    if (rated === this.#level) {
      this.#pending = null;
      this.#count = 0;
      return null;
    }
    const worse = ORDER[rated] > ORDER[this.#level];
    // Moving on towards the same side keeps counting; the level reached is the latest one rated.
    if (this.#pending !== null && ORDER[this.#pending] > ORDER[this.#level] === worse) this.#count += 1;
    else this.#count = 1;
    this.#pending = rated;
    if (this.#count < (worse ? QUALITY_HYSTERESIS.worse : QUALITY_HYSTERESIS.better)) return null;
    this.#level = rated;
    this.#pending = null;
    this.#count = 0;
    return rated;
  }
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The level of this page's sending on one link: the loss the far end reports and the round trip. */
export function rateSending(interval: LinkInterval, connected = true): ConnectionQuality {
  if (!connected) return 'lost';
  return rateInterval({ ...interval, lossPct: interval.sendLossPct, receiving: true, jitterMs: 0 }, true);
}

/** The worse of two levels. */
export function worseOf(a: ConnectionQuality, b: ConnectionQuality): ConnectionQuality {
  return ORDER[a] >= ORDER[b] ? a : b;
}
