/*
 * bench:quality's cap cycles: the open link, then the visitor's sending side capped with tc tbf, then the cap lifted;
 * measured at the agent's page (see bench/quality.ts for what each figure means).
 */
import type { Browser, Page } from 'playwright-core';
import { CallPage, escalate, type DriverEvent } from '../../e2e/support/callParties.ts';
import { createAgent, waitFor } from '../../e2e/support/harness.ts';
import { waitForMediaFlowing } from '../../e2e/support/media.ts';
import type { NetworkNamespace } from '../../e2e/support/netns.ts';

/** Inbound audio at a page: packets, and samples played and concealed (summed over its live connections). */
async function earOf(page: Page): Promise<{ at: number; packets: number; samples: number; concealed: number }> {
  return page.evaluate(async () => {
    let packets = 0;
    let samples = 0;
    let concealed = 0;
    for (const pc of window.parleyProbe.peerConnections()) {
      (await pc.getStats()).forEach((s: { type: string; kind?: string; packetsReceived?: number; totalSamplesReceived?: number; concealedSamples?: number }) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
        packets += s.packetsReceived ?? 0;
        samples += s.totalSamplesReceived ?? 0;
        concealed += s.concealedSamples ?? 0;
      });
    }
    return { at: performance.timeOrigin + performance.now(), packets, samples, concealed };
  });
}

export interface Cycle {
  capToPoorMs: number | null;
  capToPausedMs: number | null;
  /** Over the last half of the capped stretch. */
  audioPacketsPerSecond: number;
  audioConcealedPct: number;
  liftToGoodMs: number | null;
  liftToResumedMs: number | null;
  liftToFramesMs: number;
  /** The longest time without a new audio packet at the agent, from the cap until frames came back after the lift. */
  longestAudioGapMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function firstEvent(page: CallPage, name: string, since: number, match: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<DriverEvent | null> {
  return page.waitForEvent(name, { since, match, timeoutMs }).catch(() => null);
}

/** How the cap cycles run: how many, how hard a cap, for how long. */
export interface CapPlan {
  cycles: number;
  kbit: number;
  cappedSeconds: number;
}

/** `plan.cycles` cap cycles in one call, with the audio fallback on or off; `serverDir` is the server's data dir. */
export async function capCycles(ns: NetworkNamespace, url: string, serverDir: string, browsers: { here: Browser; behind: Browser }, fallback: boolean, plan: CapPlan, log: (line: string) => void): Promise<Cycle[]> {
  const { cycles, kbit, cappedSeconds } = plan;
  const account = { email: `q${fallback ? 'on' : 'off'}@example.test`, name: 'Quinn Agent', password: 'correct horse battery' };
  createAgent(serverDir, account);
  const agent = await CallPage.open(browsers.here, url, 'agent');
  await agent.connectAgent(account);
  const visitor = await CallPage.open(browsers.behind, url, 'visitor');
  await visitor.connectVisitor('Vera Visitor', { videoFallback: fallback });
  const sessionID = await visitor.startChat('hello');
  await waitFor(async () => (await agent.sessionID()) === sessionID, { what: 'the conversation to reach the agent' });
  await escalate({ server: null as never, account, agent, visitor, sessionID });
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'visitor → agent' });
  const about = (e: Record<string, unknown>) => (e.participant as { id?: string } | undefined)?.id === visitor.id;
  const results: Cycle[] = [];
  try {
    for (let c = 0; c < cycles; c++) {
      await sleep(8000); // the open link, settled
      const since = await agent.eventCount();
      await agent.page.evaluate(() => window.parleyProbe.startAudioWatch(20));
      ns.cap(kbit);
      const cappedAt = Date.now();
      const poor = firstEvent(agent, 'participant:connectionQuality', since, (e) => about(e) && ['poor', 'lost'].includes(String(e.quality)), cappedSeconds * 1000);
      const paused = firstEvent(agent, 'participant:videoPaused', since, (e) => about(e) && e.reason === 'network', cappedSeconds * 1000);
      await sleep((cappedSeconds * 1000) / 2);
      const earFrom = await earOf(agent.page);
      await sleep((cappedSeconds * 1000) / 2);
      const earTo = await earOf(agent.page);
      const [poorAt, pausedAt] = [await poor, await paused];
      const liftSince = await agent.eventCount();
      ns.uncap();
      const liftedAt = Date.now();
      const good = firstEvent(agent, 'participant:connectionQuality', liftSince, (e) => about(e) && e.quality === 'good', 40_000);
      const resumed = pausedAt ? firstEvent(agent, 'participant:videoResumed', liftSince, (e) => about(e) && e.reason === 'network', 60_000) : Promise.resolve(null);
      await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'frames again after the lift', timeoutMs: 60_000 });
      const framesMs = Date.now() - liftedAt;
      const watch = await agent.page.evaluate(() => window.parleyProbe.stopAudioWatch());
      const [goodAt, resumedAt] = [await good, await resumed];
      const seconds = (earTo.at - earFrom.at) / 1000;
      const samples = earTo.samples - earFrom.samples;
      results.push({
        capToPoorMs: poorAt ? Math.round(poorAt.at - cappedAt) : null,
        capToPausedMs: pausedAt ? Math.round(pausedAt.at - cappedAt) : null,
        audioPacketsPerSecond: Math.round((earTo.packets - earFrom.packets) / seconds),
        audioConcealedPct: samples > 0 ? Math.round(((earTo.concealed - earFrom.concealed) / samples) * 1000) / 10 : 100,
        liftToGoodMs: goodAt ? Math.round(goodAt.at - liftedAt) : null,
        liftToResumedMs: resumedAt ? Math.round(resumedAt.at - liftedAt) : null,
        liftToFramesMs: framesMs,
        longestAudioGapMs: Math.round(watch.longestGapMs),
      });
      log(`bench:quality: fallback ${fallback ? 'on' : 'off'}, cycle ${c + 1}: ${JSON.stringify(results.at(-1))}`);
    }
  } finally {
    ns.uncap();
    await agent.party.context.close();
    await visitor.party.context.close();
  }
  return results;
}

