/*
 * bench:quality — a call on a link that weakens and recovers, for real: the visitor's Chromium runs in a network
 * namespace of this run's own (e2e/support/netns.ts), joined by a veth pair whose visitor side is capped with tc tbf
 * (this kernel has no netem). Each cycle: the open link, then the cap for a while, then the cap lifted. Measured per
 * cycle: the cap → the agent rating the visitor poor, → the video paused (the audio fallback); what the agent's ear
 * got under the cap once settled (audio packets a second, the share of audio concealed: played from nothing); the
 * lift → good again, → the video resumed, → frames decoded again. The baseline, in the same run: the same cycles with
 * the fallback switched off (`call.videoFallback: false`), which is what every page did before it.
 *
 *   npm run build && npm run bench:quality                 # 2 cycles of each, 60 kbit/s, 20 s capped
 *   npm run bench:quality -- --cycles 3 --kbit 100 --capped 30
 * Needs root and iproute2 (ip, tc), as the e2e test does. Prints a table and one JSON line.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CallPage, escalate, type DriverEvent } from '../e2e/support/callParties.ts';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, Cleanup, createAgent, startParley, waitFor } from '../e2e/support/harness.ts';
import { waitForMediaFlowing } from '../e2e/support/media.ts';
import { createNetworkNamespace, type NetworkNamespace } from '../e2e/support/netns.ts';
import { guardCleanup } from './runGuard.ts';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '2' }, kbit: { type: 'string', default: '60' }, capped: { type: 'string', default: '20' }, timeout: { type: 'string', default: '900' } },
});
const cycles = Number(values.cycles);
const kbit = Number(values.kbit);
const cappedSeconds = Number(values.capped);
for (const [name, v] of Object.entries({ cycles, kbit, capped: cappedSeconds })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench:quality: --${name} takes a whole number from 1, not ${JSON.stringify(v)}`);
    process.exit(2);
  }
}

const cleanup = new Cleanup();
const guard = guardCleanup('bench:quality', Number(values.timeout), cleanup);

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

interface Cycle {
  capToPoorMs: number | null;
  capToPausedMs: number | null;
  /** Over the last half of the capped stretch. */
  audioPacketsPerSecond: number;
  audioConcealedPct: number;
  liftToGoodMs: number | null;
  liftToResumedMs: number | null;
  liftToFramesMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function firstEvent(page: CallPage, name: string, since: number, match: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<DriverEvent | null> {
  return page.waitForEvent(name, { since, match, timeoutMs }).catch(() => null);
}

async function runVariant(ns: NetworkNamespace, url: string, browsers: { here: Browser; behind: Browser }, fallback: boolean): Promise<Cycle[]> {
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
      });
      console.error(`bench:quality: fallback ${fallback ? 'on' : 'off'}, cycle ${c + 1}: ${JSON.stringify(results.at(-1))}`);
    }
  } finally {
    ns.uncap();
    await agent.party.context.close();
    await visitor.party.context.close();
  }
  return results;
}

const median = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : Math.round((v[mid - 1]! + v[mid]!) / 2);
};

const ns = await createNetworkNamespace(1 + ((process.pid + 50) % 250));
cleanup.add(() => ns.remove());
const server = await startParley({ host: ns.hostAddress });
cleanup.add(() => server.stop());
const serverDir = server.dataDir;
const args = [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${server.url}`];
const here = await chromium.launch({ executablePath: CHROMIUM_PATH, args });
cleanup.add(() => here.close());
const behind = await chromium.launch({ executablePath: ns.chromium, args });
cleanup.add(() => behind.close());
const load = loadavg()[0];
try {
  const withFallback = await runVariant(ns, server.url, { here, behind }, true);
  const without = await runVariant(ns, server.url, { here, behind }, false);
  const keys: Array<[keyof Cycle, string]> = [
    ['capToPoorMs', 'cap → rated poor (ms)'],
    ['capToPausedMs', 'cap → video paused (ms)'],
    ['audioPacketsPerSecond', 'audio packets/s under the cap'],
    ['audioConcealedPct', 'audio concealed under the cap (%)'],
    ['liftToGoodMs', 'lift → rated good (ms)'],
    ['liftToResumedMs', 'lift → video resumed (ms)'],
    ['liftToFramesMs', 'lift → frames decoded (ms)'],
  ];
  console.log(`\nbench:quality — ${cycles} cycles each, cap ${kbit} kbit/s for ${cappedSeconds} s; ${cpus().length} cores, load ${load?.toFixed(2)} at start (medians)\n`);
  console.log(`${'measure'.padEnd(36)} ${'fallback on'.padStart(12)} ${'off (baseline)'.padStart(15)}`);
  for (const [key, label] of keys) {
    const a = median(withFallback.map((c) => c[key]));
    const b = median(without.map((c) => c[key]));
    console.log(`${label.padEnd(36)} ${String(a ?? '—').padStart(12)} ${String(b ?? '—').padStart(15)}`);
  }
  console.log(JSON.stringify({ bench: 'quality', date: new Date().toISOString(), cycles, kbit, cappedSeconds, withFallback, without }));
} finally {
  guard.finish();
  await cleanup.run();
}
