/*
 * Proving media in a page, with numbers. The in-page tools (e2e/support/page: the media probe and the call driver)
 * are bundled once with esbuild and installed as an init script, so they run before the page's own scripts
 * and see every RTCPeerConnection the SDK makes. Media "flows" when the remote <video data-participant-id>
 * has a width and its currentTime advances, and inbound-rtp framesDecoded and audio packetsReceived rise
 * between two samples. "Video off" is frames standing still while audio packets keep rising. Every wait
 * here is bounded by counts of packets or frames, with a timeout only as an upper limit.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { CallStatsRow } from '@parley/sdk';
import type { InboundSample, RenderedCall, TimelineEntry } from './page/probe.ts';
import { ROOT, waitFor } from './harness.ts';

export type { AudioWatch, InboundSample, RenderedCall, TimelineEntry } from './page/probe.ts';

/** The id of the div each test page renders its call into. */
export const CALL_DIV_ID = 'video';
/** A page of the server that serves as the document's origin (JSON, no CSP of its own). */
const ORIGIN_PATH = '/healthz';
/** The bare call page: a div to render into and the server's own SDK, nothing else. */
const CALL_PAGE_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley call test</title>' +
  '<link rel="icon" href="data:,"></head><body>' +
  `<div id="${CALL_DIV_ID}"></div><script src="/sdk/parley.js"></script></body></html>`;

/** Audio packets (20 ms each) that must arrive while video stands still before "video off" is proven. */
const AUDIO_PACKETS_WINDOW = 50;
/** Video frames that must be decoded while audio is silent before "audio off" is proven. */
const VIDEO_FRAMES_WINDOW = 45;

/** A script for a page (an init script, a baseline page): `entry` (relative to the repository root) bundled as one IIFE. */
export async function pageScript(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no bundle for ${entry}`);
  return file.text;
}

let bundle: Promise<string> | null = null;

/** The in-page tools as one IIFE script (built once per process). */
export function inPageScript(): Promise<string> {
  bundle ??= pageScript('e2e/support/page/index.ts');
  return bundle;
}

/** Installs the probe and the driver in `page`, from its next navigation on. */
export async function installInPageTools(page: Page): Promise<void> {
  await page.addInitScript({ content: await inPageScript() });
}

/**
 * Loads the bare call page on the server's origin: navigates to a page the server really serves (so the
 * document has the server's origin and its loopback address space, and the SDK goes through the real
 * Origin checks), then writes a document holding only the call div and `<script src="/sdk/parley.js">`,
 * fetched from the server. Resolves once `window.Parley` and the in-page tools are there.
 */
export async function loadCallPage(page: Page, baseUrl: string): Promise<void> {
  const response = await page.goto(`${baseUrl}${ORIGIN_PATH}`);
  if (response?.status() !== 200) throw new Error(`GET ${baseUrl}${ORIGIN_PATH} answered ${response?.status() ?? 'nothing'}`);
  await page.setContent(CALL_PAGE_HTML);
  await page.waitForFunction(() => Boolean(window.Parley && window.parleyE2E && window.parleyProbe), null, { timeout: 10_000 });
}

/** Inbound media of the page, summed over its live peer connections. */
export function sampleInbound(page: Page): Promise<InboundSample> {
  return page.evaluate(() => window.parleyProbe.sample());
}

/** What the call div holds now. */
export function renderedCall(page: Page, divId = CALL_DIV_ID): Promise<RenderedCall> {
  return page.evaluate((id) => window.parleyProbe.rendered(id), divId);
}

/** The probe's timeline (epoch ms) since the last `clearTimeline`. */
export function timeline(page: Page): Promise<TimelineEntry[]> {
  return page.evaluate(() => window.parleyProbe.timeline.slice());
}

/** How many of the page's timeline entries start with `what`, after the epoch time `since`. */
export async function timelineCount(page: Page, what: string, since = 0): Promise<number> {
  return (await timeline(page)).filter((e) => e.what.startsWith(what) && e.at > since).length;
}

/** `contact.getCallStats()` in the page (throws with the SDK's error code when it rejects). */
export async function sdkCallStats(page: Page): Promise<CallStatsRow[]> {
  const result = await page.evaluate(() => window.parleyE2E.act('getCallStats', []));
  if (!result.ok) throw new Error(`getCallStats rejected: ${result.code}: ${result.message}`);
  return result.value as CallStatsRow[];
}

/** What `waitForMediaFlowing` saw. */
export interface MediaFlow {
  before: InboundSample;
  after: InboundSample;
  videoBefore: RenderedCall;
  videoAfter: RenderedCall;
  sdkBefore: CallStatsRow[];
  sdkAfter: CallStatsRow[];
}

export interface FlowOptions {
  /** Expect video (default true): frames decoded, a rendered remote video with a width and a moving clock. */
  video?: boolean;
  /** Expect audio packets (default true). */
  audio?: boolean;
  /** The remote participant expected in the div and in getCallStats (checked when given). */
  remoteId?: string;
  divId?: string;
  /** What is waited for, for failure messages. */
  what?: string;
  timeoutMs?: number;
}

const sum = (rows: CallStatsRow[], key: 'audioPacketsReceived' | 'videoFramesDecoded', id?: string): number =>
  rows.filter((r) => id === undefined || r.participantId === id).reduce((n, r) => n + (r[key] ?? 0), 0);

/**
 * Waits until media demonstrably flows into `page`: inbound frames (and/or audio packets) rise between two
 * samples, in the page's own statistics and in the SDK's `getCallStats()`; for video, the remote
 * `<video data-participant-id>` has `videoWidth > 0` and its `currentTime` advances.
 */
export async function waitForMediaFlowing(page: Page, opts: FlowOptions = {}): Promise<MediaFlow> {
  const { video = true, audio = true, remoteId, divId = CALL_DIV_ID, what = 'media to flow', timeoutMs = 15_000 } = opts;
  const remote = (r: RenderedCall) => r.remoteVideos.find((v) => remoteId === undefined || v.participantId === remoteId);
  const context = async (): Promise<string> =>
    `${what} in ${page.url()}: probe ${JSON.stringify(await sampleInbound(page))}, div ${JSON.stringify(await renderedCall(page, divId))}`;
  const first = async () => {
    const s = await sampleInbound(page);
    const r = await renderedCall(page, divId);
    if (video && (s.videoFramesDecoded === 0 || !(remote(r)?.videoWidth ?? 0))) return null;
    if (audio && s.audioPacketsReceived === 0) return null;
    return { s, r, sdk: await sdkCallStats(page) };
  };
  const start = await waitFor(first, { timeoutMs, what: `first media (${what})` }).catch(async (e: Error) => {
    throw new Error(`${e.message}; ${await context()}`);
  });
  const rose = async () => {
    const s = await sampleInbound(page);
    const r = await renderedCall(page, divId);
    const sdk = await sdkCallStats(page);
    if (video) {
      const v = remote(r);
      if (!(s.videoFramesDecoded > start.s.videoFramesDecoded)) return null;
      if (!v || v.videoWidth === 0 || !(v.currentTime > (remote(start.r)?.currentTime ?? 0))) return null;
      if (!(sum(sdk, 'videoFramesDecoded', remoteId) > sum(start.sdk, 'videoFramesDecoded', remoteId))) return null;
    }
    if (audio) {
      if (!(s.audioPacketsReceived > start.s.audioPacketsReceived)) return null;
      if (!(sum(sdk, 'audioPacketsReceived', remoteId) > sum(start.sdk, 'audioPacketsReceived', remoteId))) return null;
    }
    return { s, r, sdk };
  };
  const end = await waitFor(rose, { timeoutMs, what: `rising media (${what})` }).catch(async (e: Error) => {
    throw new Error(`${e.message}; at start ${JSON.stringify(start)}; now ${await context()}, sdk ${JSON.stringify(await sdkCallStats(page))}`);
  });
  return { before: start.s, after: end.s, videoBefore: start.r, videoAfter: end.r, sdkBefore: start.sdk, sdkAfter: end.sdk };
}

/** Two samples proving one kind of media stood still while the other kind kept flowing. */
export interface StillWhileFlowing {
  from: InboundSample;
  to: InboundSample;
}

/**
 * Waits until video stands still while audio flows: across a stretch in which `AUDIO_PACKETS_WINDOW` audio
 * packets arrive, not a single video frame is decoded. Frames still in flight when video was turned off
 * simply restart the stretch.
 */
export function waitForVideoStill(page: Page, what = 'video to stop while audio goes on', timeoutMs = 15_000): Promise<StillWhileFlowing> {
  return waitForStillness(page, what, timeoutMs, (from, to) => {
    if (to.videoFramesDecoded !== from.videoFramesDecoded) return 'restart';
    return to.audioPacketsReceived - from.audioPacketsReceived >= AUDIO_PACKETS_WINDOW ? 'done' : 'wait';
  });
}

/**
 * Received audio energy (`totalAudioEnergy`) that counts as silence across one stretch. A muted track still
 * sends silent packets whose energy grows by about 1e-8 per second; the fake microphone's tone adds about
 * 1e-4 per second. The bound sits between the two, far from both.
 */
export const SILENT_ENERGY = 1e-6;

/**
 * Waits until received audio is silent while video flows: across a stretch in which `VIDEO_FRAMES_WINDOW`
 * frames are decoded, the inbound audio energy grows by less than `SILENT_ENERGY`.
 */
export function waitForAudioSilent(page: Page, what = 'audio to go silent while video goes on', timeoutMs = 15_000): Promise<StillWhileFlowing> {
  return waitForStillness(page, what, timeoutMs, (from, to) => {
    if (to.audioEnergy - from.audioEnergy >= SILENT_ENERGY) return 'restart';
    return to.videoFramesDecoded - from.videoFramesDecoded >= VIDEO_FRAMES_WINDOW ? 'done' : 'wait';
  });
}

/** Waits until the received audio energy has grown by at least ten times `SILENT_ENERGY`: sound is back. */
export async function waitForAudioAudible(page: Page, what = 'audio to be heard', timeoutMs = 15_000): Promise<void> {
  const from = await sampleInbound(page);
  let last = from;
  await waitFor(
    async () => {
      last = await sampleInbound(page);
      return last.audioEnergy - from.audioEnergy >= 10 * SILENT_ENERGY;
    },
    { timeoutMs, intervalMs: 100, what },
  ).catch((error: Error) => {
    throw new Error(`${error.message} in ${page.url()}; from ${JSON.stringify(from)} to ${JSON.stringify(last)}`);
  });
}

async function waitForStillness(
  page: Page,
  what: string,
  timeoutMs: number,
  judge: (from: InboundSample, to: InboundSample) => 'done' | 'wait' | 'restart',
): Promise<StillWhileFlowing> {
  let from = await sampleInbound(page);
  const seen: InboundSample[] = [from];
  try {
    return await waitFor(
      async () => {
        const to = await sampleInbound(page);
        if (seen.length < 40) seen.push(to);
        const verdict = judge(from, to);
        if (verdict === 'restart') from = to;
        return verdict === 'done' ? { from, to } : null;
      },
      { timeoutMs, intervalMs: 100, what },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} in ${page.url()}; samples ${JSON.stringify(seen.slice(-6))}`);
  }
}
