/*
 * bench:escalation — how long from the agent's accept to the first decoded remote frame on both sides, for a
 * Parley call (real server, real SDK, headless Chromium with fake devices) against a bare WebRTC call between
 * two pages measured in the same run. Prints the medians side by side with the ratio (target ≤ 0.6×), a
 * breakdown of where the time goes when the target is missed, and one JSON line.
 *
 *   npm run build && npm run bench:escalation                 # 10 runs of each
 *   npm run bench:escalation -- --runs 20 --breakdown         # more runs, always print the breakdown
 *   npm run bench:escalation -- --only baseline               # the baseline alone (needs nothing of Parley)
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../e2e/support/harness.ts';
import { openBaseline, type CallBench } from './escalation/baseline.ts';
import { RunFailed, openParley, preparedAfterMs } from './escalation/parleyRuns.ts';
import { jsonRecord, renderBreakdown, renderTable, targetMet } from './escalation/report.ts';
import { summarize, type RunTiming, type TimingSummary } from './escalation/timing.ts';

const USAGE = `Usage: npm run bench:escalation -- [options]

  --runs N              measured runs of each half (10; at least 1)
  --warmup N            unmeasured runs of each half first (1): the first call of a page warms codecs up
  --only parley|baseline  measure one half only
  --breakdown           print where the time goes even when the target is met
  --timeout S           hard limit on the whole run (300)
  --help`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    breakdown: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '300' },
    help: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const timeoutSeconds = Number(values.timeout);
if (values.help || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0 || !(timeoutSeconds > 0) || (values.only && !['parley', 'baseline'].includes(values.only))) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

const startedAt = new Date();
let browser: Browser | null = null;
const deadline = setTimeout(() => {
  console.error(`bench:escalation: the ${timeoutSeconds} s limit expired; stopping`);
  void browser?.close().finally(() => process.exit(1));
}, timeoutSeconds * 1000);

try {
  browser = await launchBrowser();
  // Both halves stay open and their runs alternate, so whatever else the machine does weighs on both alike.
  const halves: Array<{ name: 'baseline' | 'parley'; bench: CallBench; runs: RunTiming[]; failures: string[] }> = [];
  if (values.only !== 'parley') halves.push({ name: 'baseline', bench: await openBaseline(browser), runs: [], failures: [] });
  if (values.only !== 'baseline') halves.push({ name: 'parley', bench: await openParley(browser), runs: [], failures: [] });
  /** One run; a call that never showed a frame is counted and reported, and the bench goes on. */
  const attempt = async (half: (typeof halves)[number], label: string): Promise<RunTiming | null> => {
    try {
      return await half.bench.run(label);
    } catch (error) {
      if (!(error instanceof RunFailed)) throw error;
      half.failures.push(error.message);
      console.log(`  ${label}: FAILED — ${error.message}`);
      return null;
    }
  };
  try {
    for (let i = 0; i < warmup; i++) {
      for (const half of halves) await attempt(half, `${half.name} warm-up ${i + 1}`);
    }
    for (let i = 0; i < runs; i++) {
      for (const half of halves) {
        const run = await attempt(half, `${half.name} run ${i + 1}`);
        if (!run) continue;
        half.runs.push(run);
        console.log(`  ${half.name.padEnd(8)} run ${String(i + 1).padStart(2)}: agent ${run.firstFrameMs.agent.toFixed(0)} ms, visitor ${run.firstFrameMs.visitor.toFixed(0)} ms`);
      }
    }
  } finally {
    for (const half of halves) await half.bench.close();
  }
  const summaryOf = (name: string): TimingSummary | null => {
    const half = halves.find((h) => h.name === name);
    return half ? summarize(half.runs) : null;
  };
  for (const half of halves) {
    if (half.failures.length > 0) console.log(`\n${half.name}: ${half.failures.length} call(s) showed no frame within 20 s (listed above)`);
  }
  const baseline = summaryOf('baseline');
  const parley = summaryOf('parley');
  const load = loadavg().map((l) => l.toFixed(1)).join(' / ');
  console.log(`\nbench:escalation ${startedAt.toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores, load average ${load} (1/5/15 min)\n`);
  console.log(renderTable(parley, baseline));
  if (preparedAfterMs.length > 0) {
    const sorted = [...preparedAfterMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`\nparley: the path prepared while it rang was connected on both pages a median ${median.toFixed(0)} ms after the request (max ${sorted.at(-1)!.toFixed(0)} ms), before the accept`);
  }
  if (values.breakdown || targetMet(parley, baseline) === false) console.log(`\n${renderBreakdown(parley, baseline)}`);
  console.log(`\n${jsonRecord(parley, baseline, startedAt)}`);
} catch (error) {
  console.error('bench:escalation failed:', error);
  process.exitCode = 1;
} finally {
  await browser?.close().catch(() => {});
  clearTimeout(deadline);
}
