/*
 * bench:quality — a call on a link that weakens, drops and moves, for real: the visitor's Chromium runs in a network
 * namespace of this run's own (e2e/support/netns.ts), joined by a veth pair (this kernel has no netem).
 *
 * Cap cycles (bench/quality/capCycles.ts): the open link, then the visitor's side capped with tc tbf for a while,
 * then the cap lifted. Measured per cycle at the agent: the cap → rated poor, → the video paused (the audio
 * fallback); what the ear got under the cap once settled (audio packets a second, the share concealed: played from
 * nothing); the lift → good again, → video resumed, → frames decoded again; the longest audio gap throughout. The
 * baseline, in the same run: the same cycles with the fallback off (`call.videoFallback: false`), which is what
 * every page did before it.
 *
 * Outage cycles (bench/quality/outageCycles.ts): the link down for 3 s, down for 20 s, and a new address, in a
 * Parley call in mesh and through Janus; measured at both ends: network back → media flowing again, and the longest
 * audio gap. The baseline, in the same run: a bare WebRTC call across the same link, with only the browser's own
 * recovery.
 *
 *   npm run build && npm run bench:quality                 # 2 cap cycles of each (60 kbit/s, 20 s), 2 outage cycles
 *   npm run bench:quality -- --cycles 3 --kbit 100 --capped 30 --outage-cycles 3 --only outage
 * Needs root and iproute2 (ip, tc), and Janus for the Janus outages, as the e2e tests do. Prints tables and one
 * JSON line.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, Cleanup, startParley } from '../e2e/support/harness.ts';
import { createNetworkNamespace } from '../e2e/support/netns.ts';
import { capCycles, type Cycle } from './quality/capCycles.ts';
import { BACK_WITHIN_MS, bareOutages, OUTAGES, parleyOutages, type OutageResult } from './quality/outageCycles.ts';
import { guardCleanup } from './runGuard.ts';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '2' },
    kbit: { type: 'string', default: '60' },
    capped: { type: 'string', default: '20' },
    'outage-cycles': { type: 'string', default: '2' },
    only: { type: 'string' },
    timeout: { type: 'string', default: '1500' },
  },
});
const plan = { cycles: Number(values.cycles), kbit: Number(values.kbit), cappedSeconds: Number(values.capped) };
const outageCycles = Number(values['outage-cycles']);
for (const [name, v] of Object.entries({ cycles: plan.cycles, kbit: plan.kbit, capped: plan.cappedSeconds, 'outage-cycles': outageCycles })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench:quality: --${name} takes a whole number from 1, not ${JSON.stringify(v)}`);
    process.exit(2);
  }
}
if (values.only !== undefined && values.only !== 'cap' && values.only !== 'outage') {
  console.error(`bench:quality: --only takes cap or outage, not ${JSON.stringify(values.only)}`);
  process.exit(2);
}
const runCaps = values.only !== 'outage';
const runOutages = values.only !== 'cap';

const cleanup = new Cleanup();
const guard = guardCleanup('bench:quality', Number(values.timeout), cleanup);
const log = (line: string) => console.error(line);

const median = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : Math.round((v[mid - 1]! + v[mid]!) / 2);
};

/** A median cell: '—' when nothing was measured; "n of m" beside it when only some runs gave a figure. */
function cell(xs: Array<number | null>, none = '—'): string {
  const m = median(xs);
  const got = xs.filter((x) => x !== null).length;
  if (m === null) return none;
  return got < xs.length ? `${m} (${got} of ${xs.length})` : String(m);
}

function table(title: string, columns: string[], rows: Array<[string, string[]]>): void {
  console.log(`\n${title}\n`);
  console.log(`${'measure'.padEnd(40)} ${columns.map((c) => c.padStart(18)).join(' ')}`);
  for (const [label, cells] of rows) console.log(`${label.padEnd(40)} ${cells.map((c) => c.padStart(18)).join(' ')}`);
}

const ns = await createNetworkNamespace(1 + ((process.pid + 50) % 250));
cleanup.add(() => ns.remove());
const server = await startParley({ host: ns.hostAddress });
cleanup.add(() => server.stop());
const args = [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${server.url}`];
const here = await chromium.launch({ executablePath: CHROMIUM_PATH, args });
cleanup.add(() => here.close());
const behind = await chromium.launch({ executablePath: ns.chromium, args });
cleanup.add(() => behind.close());
const load = loadavg()[0];
const header = `${cpus().length} cores, load ${load?.toFixed(2)} at start (medians)`;
try {
  const caps: { withFallback: Cycle[]; without: Cycle[] } = { withFallback: [], without: [] };
  if (runCaps) {
    caps.withFallback = await capCycles(ns, server.url, server.dataDir, { here, behind }, true, plan, log);
    caps.without = await capCycles(ns, server.url, server.dataDir, { here, behind }, false, plan, log);
    const keys: Array<[keyof Cycle, string]> = [
      ['capToPoorMs', 'cap → rated poor (ms)'],
      ['capToPausedMs', 'cap → video paused (ms)'],
      ['audioPacketsPerSecond', 'audio packets/s under the cap'],
      ['audioConcealedPct', 'audio concealed under the cap (%)'],
      ['liftToGoodMs', 'lift → rated good (ms)'],
      ['liftToResumedMs', 'lift → video resumed (ms)'],
      ['liftToFramesMs', 'lift → frames decoded (ms)'],
      ['longestAudioGapMs', 'longest audio gap, cap to frames (ms)'],
    ];
    table(
      `bench:quality — ${plan.cycles} cap cycles each, ${plan.kbit} kbit/s for ${plan.cappedSeconds} s; ${header}`,
      ['fallback on', 'off (baseline)'],
      keys.map(([key, label]) => [label, [cell(caps.withFallback.map((c) => c[key])), cell(caps.without.map((c) => c[key]))]]),
    );
  }
  const outages: Record<'mesh' | 'janus' | 'bare', OutageResult[]> = { mesh: [], janus: [], bare: [] };
  if (runOutages) {
    outages.bare = await bareOutages(ns, outageCycles, { here, behind }, server.url, log);
    outages.mesh = await parleyOutages(ns, outageCycles, 'mesh', log);
    outages.janus = await parleyOutages(ns, outageCycles, 'janus', log);
    const of = (list: OutageResult[], outage: string, pick: (r: OutageResult) => number | null) => list.filter((r) => r.outage === outage).map(pick);
    const never = `not in ${BACK_WITHIN_MS / 1000} s`;
    const rows: Array<[string, string[]]> = [];
    for (const outage of OUTAGES) {
      rows.push([`${outage}: back → media at both ends (ms)`, [outages.mesh, outages.janus, outages.bare].map((l) => cell(of(l, outage, (r) => r.backMs), never))]);
      rows.push([`${outage}: longest audio gap (ms)`, [outages.mesh, outages.janus, outages.bare].map((l) => cell(of(l, outage, (r) => r.longestAudioGapMs)))]);
    }
    table(`bench:quality — ${outageCycles} outage cycles each; ${header}`, ['parley mesh', 'parley janus', 'bare (baseline)'], rows);
  }
  console.log(JSON.stringify({ bench: 'quality', date: new Date().toISOString(), plan, outageCycles, caps, outages }));
} finally {
  guard.finish();
  await cleanup.run();
}
