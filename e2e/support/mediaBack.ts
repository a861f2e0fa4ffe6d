/*
 * When media came back after an outage, at each end of a call: per kind (video frames decoded, audio packets
 * received), the start of the first stretch in which the counter kept rising for a second without a 250 ms gap.
 * Used by the network-recovery test and by bench:quality, for Parley's pages and for bare peer connections alike
 * (anything with the in-page probe installed).
 */
import type { Page } from 'playwright-core';
import { waitFor } from './harness.ts';
import { sampleInbound, type InboundSample } from './media.ts';

/** A stretch without a rise this long breaks "flowing" (audio packets come every 20 ms, video frames every 50 or so). */
export const FLOW_GAP_MS = 250;
/** Media is back once it has kept rising this long without such a gap: a straggler or two is not media back. */
export const FLOW_HELD_MS = 1000;

/** One end of a call: a page with the probe, and a name for messages. */
export interface CallEnd {
  readonly page: Page;
  readonly label: string;
}

/** When media came back at one end, per kind, in ms after the moment measured from. */
export interface BackAt {
  video: number;
  audio: number;
}

/**
 * The start of the first stretch in which `rose` held between samples, without a gap of `FLOW_GAP_MS`, for
 * `FLOW_HELD_MS`; null while there is none yet. A rise between two samples is dated at the earlier one.
 */
export function flowingSince(samples: InboundSample[], rose: (a: InboundSample, b: InboundSample) => boolean): number | null {
  let runStart: number | null = null;
  let lastEnd = -Infinity;
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!];
    if (!rose(a, b)) continue;
    if (runStart === null || a.at - lastEnd > FLOW_GAP_MS) runStart = a.at;
    lastEnd = b.at;
    if (lastEnd - runStart >= FLOW_HELD_MS) return runStart;
  }
  return null;
}

/**
 * When media came back at each end after `since` (epoch ms), video and audio apart, since one may come back before
 * the other. Sampled as fast as the pages answer, 50 ms apart; rejects after `timeoutMs` with what was seen.
 */
export async function timeToMediaBack<E extends CallEnd>(ends: E[], since: number, timeoutMs = 30_000): Promise<Map<E, BackAt>> {
  const samples = new Map<E, InboundSample[]>(ends.map((e) => [e, []]));
  const back = new Map<E, BackAt>();
  await waitFor(
    async () => {
      await Promise.all(
        ends.map(async (end) => {
          if (back.has(end)) return;
          const list = samples.get(end)!;
          list.push(await sampleInbound(end.page));
          const video = flowingSince(list, (a, b) => b.videoFramesDecoded > a.videoFramesDecoded);
          const audio = flowingSince(list, (a, b) => b.audioPacketsReceived > a.audioPacketsReceived);
          if (video !== null && audio !== null) back.set(end, { video: Math.max(0, video - since), audio: Math.max(0, audio - since) });
        }),
      );
      return back.size === ends.length;
    },
    { timeoutMs, intervalMs: 50, what: 'media to flow again at both ends', seen: () => Object.fromEntries([...samples].map(([e, s]) => [e.label, s.slice(-3)])) },
  );
  return back;
}

/** One line for messages: the latest of the four, then each end's video and audio. */
export function describeBack(back: Map<CallEnd, BackAt>): string {
  const all = [...back.values()].flatMap((b) => [b.video, b.audio]);
  const ends = [...back].map(([end, b]) => `${end.label} video ${b.video.toFixed(0)} audio ${b.audio.toFixed(0)}`);
  return `${Math.max(...all).toFixed(0)} ms (${ends.join(', ')})`;
}
