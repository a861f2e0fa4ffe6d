/*
 * bench:quality's outages: the visitor's link goes down for 3 s and for 20 s, and the visitor moves to a new
 * address, in a Parley call (mesh, and through a Janus on the host side of the veth) and in a bare WebRTC call (the
 * baseline: only what the browser does by itself). Measured each time at both ends: when media flows again (video
 * and audio, the later of the four; see e2e/support/mediaBack.ts), and the longest stretch without a new audio
 * packet at either end over the outage and the recovery (which includes the outage itself).
 */
import type { Browser } from 'playwright-core';
import { Cleanup } from '../../e2e/support/harness.ts';
import { startJanus } from '../../e2e/support/janus.ts';
import { timeToMediaBack, type CallEnd } from '../../e2e/support/mediaBack.ts';
import type { NetworkNamespace } from '../../e2e/support/netns.ts';
import { callAcrossVeth } from '../../e2e/support/vethCall.ts';
import type { AudioWatch } from '../../e2e/support/media.ts';
import { openBareCall } from './bareCall.ts';

export const OUTAGES = ['down 3 s', 'down 20 s', 'new address'] as const;
export type Outage = (typeof OUTAGES)[number];

/** How long media is given to come back before the figure is "not back". */
export const BACK_WITHIN_MS = 30_000;
/** The call settles this long between outages. */
const SETTLE_MS = 5000;

export interface OutageResult {
  outage: Outage;
  /** Network back (or moved) → media flowing again at both ends, the later of video and audio; null: not within BACK_WITHIN_MS. */
  backMs: number | null;
  videoBackMs: number | null;
  audioBackMs: number | null;
  /** The longest time without a new audio packet at either end, from the outage's start until media was back (or given up on). */
  longestAudioGapMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One outage of the visitor's link, measured at both ends. */
export async function measureOutage(ns: NetworkNamespace, ends: CallEnd[], outage: Outage): Promise<OutageResult> {
  await Promise.all(ends.map((e) => e.page.evaluate(() => window.parleyProbe.startAudioWatch(20))));
  let since: number;
  if (outage === 'new address') {
    since = Date.now();
    ns.moveParty();
  } else {
    ns.setLink(false);
    await sleep(outage === 'down 3 s' ? 3000 : 20_000);
    ns.setLink(true);
    since = Date.now();
  }
  const back = await timeToMediaBack(ends, since, BACK_WITHIN_MS).catch(() => null);
  const watches: AudioWatch[] = await Promise.all(ends.map((e) => e.page.evaluate(() => window.parleyProbe.stopAudioWatch())));
  const latest = (kind: 'video' | 'audio') => (back ? Math.round(Math.max(...[...back.values()].map((b) => b[kind]))) : null);
  const [videoBackMs, audioBackMs] = [latest('video'), latest('audio')];
  return {
    outage,
    backMs: videoBackMs === null || audioBackMs === null ? null : Math.max(videoBackMs, audioBackMs),
    videoBackMs,
    audioBackMs,
    longestAudioGapMs: Math.round(Math.max(...watches.map((w) => w.longestGapMs))),
  };
}

export type OutageVariant = 'mesh' | 'janus' | 'bare';

/** `cycles` rounds of the three outages in one Parley call (mesh or through Janus), which is then ended. */
export async function parleyOutages(ns: NetworkNamespace, cycles: number, variant: 'mesh' | 'janus', log: (line: string) => void): Promise<OutageResult[]> {
  const local = new Cleanup();
  try {
    const env: Record<string, string> = { CALL_GRACE_SECONDS: '60' };
    if (variant === 'janus') {
      const janus = await startJanus({ reach: { host: ns.hostAddress, iceInterfaces: ns.hostAddress } });
      local.add(() => janus.stop());
      env.JANUS_URL = janus.url;
    }
    const { agent, visitor } = await callAcrossVeth(ns, local, env);
    const results: OutageResult[] = [];
    for (let c = 0; c < cycles; c++) {
      for (const outage of OUTAGES) {
        await sleep(SETTLE_MS);
        results.push(await measureOutage(ns, [agent, visitor], outage));
        log(`bench:quality: ${variant}, cycle ${c + 1}: ${JSON.stringify(results.at(-1))}`);
      }
    }
    return results;
  } finally {
    await local.run();
  }
}

/** The baseline: each outage in a bare call of its own (one that did not recover would spoil the next). */
export async function bareOutages(ns: NetworkNamespace, cycles: number, browsers: { here: Browser; behind: Browser }, origin: string, log: (line: string) => void): Promise<OutageResult[]> {
  const results: OutageResult[] = [];
  for (let c = 0; c < cycles; c++) {
    for (const outage of OUTAGES) {
      const local = new Cleanup();
      try {
        const ends = await openBareCall(browsers, origin, local);
        await sleep(SETTLE_MS);
        results.push(await measureOutage(ns, ends, outage));
        log(`bench:quality: bare, cycle ${c + 1}: ${JSON.stringify(results.at(-1))}`);
      } finally {
        await local.run();
      }
    }
  }
  return results;
}
