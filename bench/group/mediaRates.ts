/*
 * How much media each participant received from each other one over a held call: decoded video frames
 * per second and audio packets per second, from two `getCallStats()` samples of every page. This is what
 * a degraded call looks like in numbers (a mesh on two cores decodes fewer frames than the camera sends).
 */
import type { CallStatsRow } from '@parley/sdk';
import { median } from '../escalation/timing.ts';

/** Two samples of one receiver, with the Node-side monotonic time (ms) of each. */
export interface ReceiverSamples {
  receiver: string;
  from: { at: number; rows: CallStatsRow[] };
  to: { at: number; rows: CallStatsRow[] };
}

/** What one receiver got from one sender. */
export interface PairRate {
  receiver: string;
  sender: string;
  framesPerSecond: number;
  audioPacketsPerSecond: number;
}

/**
 * Rates per (receiver, sender) pair over the two samples. `senders` names everyone who should be received
 * (by id); a sender missing from a sample counts as nothing received.
 */
export function pairRates(samples: ReceiverSamples[], senders: string[]): PairRate[] {
  const out: PairRate[] = [];
  for (const { receiver, from, to } of samples) {
    const seconds = (to.at - from.at) / 1000;
    for (const sender of senders) {
      if (sender === receiver) continue;
      const a = from.rows.find((r) => r.participantId === sender);
      const b = to.rows.find((r) => r.participantId === sender);
      const rate = (key: 'videoFramesDecoded' | 'audioPacketsReceived') => (seconds > 0 && b ? Math.max(0, b[key] - (a?.[key] ?? 0)) / seconds : 0);
      out.push({ receiver, sender, framesPerSecond: rate('videoFramesDecoded'), audioPacketsPerSecond: rate('audioPacketsReceived') });
    }
  }
  return out;
}

/** The spread of the pairs' rates, and the pairs that received nothing at all. */
export interface RateSummary {
  pairs: number;
  /** Frames decoded per second by all receivers together: the video work the browsers did. */
  totalFramesPerSecond: number;
  framesPerSecond: { min: number; median: number; max: number };
  audioPacketsPerSecond: { min: number; median: number; max: number };
  /** Pairs with no decoded frame over the whole span, as "receiver ← sender". */
  silentVideo: string[];
  /** Pairs with no audio packet over the whole span. */
  silentAudio: string[];
}

/** Summarises pair rates (NaNs when there are no pairs). */
export function summarizeRates(rates: PairRate[]): RateSummary {
  const spreadOf = (values: number[]) => ({
    min: values.length ? Math.min(...values) : Number.NaN,
    median: median(values),
    max: values.length ? Math.max(...values) : Number.NaN,
  });
  return {
    pairs: rates.length,
    totalFramesPerSecond: rates.reduce((sum, r) => sum + r.framesPerSecond, 0),
    framesPerSecond: spreadOf(rates.map((r) => r.framesPerSecond)),
    audioPacketsPerSecond: spreadOf(rates.map((r) => r.audioPacketsPerSecond)),
    silentVideo: rates.filter((r) => r.framesPerSecond === 0).map((r) => `${r.receiver} ← ${r.sender}`),
    silentAudio: rates.filter((r) => r.audioPacketsPerSecond === 0).map((r) => `${r.receiver} ← ${r.sender}`),
  };
}
