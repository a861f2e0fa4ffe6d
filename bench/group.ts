/*
 * bench:group — group calls peer-to-peer (mesh) against group calls through a Janus VideoRoom, in one run on
 * one machine: how long the 3rd and the 4th participant take to join (to the first decoded frame at
 * everyone), and what a held 6-party call costs the Parley server (which carries no media), Janus, and the
 * browsers. Real servers (the built CLI), the real SDK, headless Chromium with fake devices, loopback only.
 * Prints both topologies side by side, with the machine's cores and load, and one JSON line.
 *
 *   npm run build && npm run bench:group                  # 3 join runs of each, 60 s spans
 *   npm run bench:group -- --runs 5 --seconds 30          # more joins, shorter spans
 *   npm run bench:group -- --only janus --skip joins      # the held call through Janus alone
 */
import { cpus, loadavg } from 'node:os';
import type { Browser } from 'playwright-core';
import { Cleanup, launchBrowser } from '../e2e/support/harness.ts';
import { startJanus, type JanusServer } from '../e2e/support/janus.ts';
import { parseGroupArgs, USAGE } from './group/args.ts';
import { guardCleanup } from './runGuard.ts';
import { holdCall } from './group/hold.ts';
import { summarizeJoins, type JoinTiming } from './group/joinTiming.ts';
import { joinRun, type Topology } from './group/joins.ts';
import { jsonRecord, renderHoldTable, renderJoinTable, renderPairs, renderProblems, type GroupResults } from './group/report.ts';

const parsed = parseGroupArgs(process.argv.slice(2));
if ('problem' in parsed) {
  if (parsed.problem === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  console.error(`bench:group: ${parsed.problem}\n\n${USAGE}`);
  process.exit(2);
}
const opts = parsed;

/** Everything started here, stopped in reverse order at the end, on the deadline or on Ctrl-C. */
const cleanup = new Cleanup();
const guard = guardCleanup('bench:group', opts.timeoutSeconds, cleanup);

/** The server's environment for a topology: a mesh big enough for six, or the Janus to use. */
function serverEnv(topology: Topology, janus: JanusServer | null): Record<string, string> {
  if (topology === 'mesh') return { MESH_MAX_PARTICIPANTS: '6' };
  if (!janus) throw new Error('the janus topology needs a Janus');
  return { JANUS_URL: janus.url };
}

async function withJanus<T>(topology: Topology, body: (janus: JanusServer | null) => Promise<T>): Promise<T> {
  if (topology !== 'janus') return body(null);
  const janus = await startJanus();
  cleanup.add(() => janus.stop());
  try {
    return await body(janus);
  } finally {
    await janus.stop();
  }
}

const loads = () => loadavg().map((l) => Number(l.toFixed(2)));
const results: GroupResults = {
  startedAt: new Date(),
  node: process.version,
  cores: cpus().length,
  loadAtStart: loads(),
  loadAtEnd: [],
  topologies: opts.topologies,
  runs: opts.runs,
  joins: {},
  holds: {},
};

try {
  console.log(`bench:group: ${results.cores} cores, load average ${results.loadAtStart.join(' / ')} (1/5/15 min) at the start`);
  const browser: Browser = await launchBrowser();
  cleanup.add(() => browser.close());

  if (opts.joins) {
    console.log(`\nJoins: ${opts.runs} run(s) of each topology, alternating`);
    const timings = new Map<Topology, { third: JoinTiming[]; fourth: JoinTiming[]; thirdFailed: number; fourthFailed: number; failures: string[] }>();
    for (const t of opts.topologies) timings.set(t, { third: [], fourth: [], thirdFailed: 0, fourthFailed: 0, failures: [] });
    // One Janus serves every join run of the SFU; each run has a fresh Parley server.
    const janus = opts.topologies.includes('janus') ? await startJanus() : null;
    if (janus) cleanup.add(() => janus.stop());
    for (let i = 0; i < opts.runs; i++) {
      for (const topology of opts.topologies) {
        const label = `${topology} run ${i + 1}`;
        const run = await joinRun(browser, topology, serverEnv(topology, janus), label);
        const into = timings.get(topology)!;
        if (run.third) into.third.push(run.third);
        else into.thirdFailed += 1;
        if (run.fourth) into.fourth.push(run.fourth);
        else into.fourthFailed += 1;
        into.failures.push(...run.failures.map((f) => `${label}: ${f}`));
        const show = (t: JoinTiming | null) => (t ? `${t.everyoneMs.toFixed(0)} ms` : 'FAILED');
        console.log(`  ${label.padEnd(12)}: 3rd ${show(run.third)}, 4th ${show(run.fourth)}${run.failures.length ? ` — ${run.failures.join('; ')}` : ''}`);
      }
    }
    await janus?.stop();
    for (const [topology, t] of timings) {
      results.joins[topology] = { third: summarizeJoins(t.third, t.thirdFailed), fourth: summarizeJoins(t.fourth, t.fourthFailed), failures: t.failures };
    }
  }

  if (opts.hold) {
    console.log(`\nHeld call: idle ${opts.seconds} s, 2-party ${opts.twoPartySeconds} s, 6-party ${opts.seconds} s, on a fresh server for each topology`);
    for (const topology of opts.topologies) {
      results.holds[topology] = await withJanus(topology, (janus) =>
        holdCall(browser, topology, serverEnv(topology, janus), {
          seconds: opts.seconds,
          twoPartySeconds: opts.twoPartySeconds,
          janusConfigDir: janus?.configDir ?? null,
          log: (line) => console.log(line),
        }),
      );
    }
  }

  results.loadAtEnd = loads();
  console.log(
    `\nbench:group ${results.startedAt.toISOString().slice(0, 10)}, Node ${results.node}, ${results.cores} cores, ` +
      `load average ${results.loadAtStart.join(' / ')} at the start, ${results.loadAtEnd.join(' / ')} at the end (1/5/15 min)`,
  );
  const joinTable = renderJoinTable(results);
  if (joinTable) console.log(`\n${joinTable}\n\nTimes are each page's epoch clock (performance.timeOrigin + performance.now()); first frames are seen by polling getCallStats() in the page every 20 ms.`);
  const holdTable = renderHoldTable(results);
  if (holdTable) console.log(`\n${holdTable}`);
  for (const topology of opts.topologies) {
    const hold = results.holds[topology];
    if (hold && hold.pairs.length > 0) console.log(`\n${topology}, 6-party call: decoded frames/s, receiver ← each sender\n${renderPairs(hold)}`);
  }
  const problems = renderProblems(results);
  if (problems.length > 0) console.log(`\nWhat went wrong:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  console.log(`\n${jsonRecord(results)}`);
} catch (error) {
  console.error('bench:group failed:', error);
  process.exitCode = 1;
} finally {
  guard.finish();
  if (!guard.aborting) await cleanup.run().catch((error: unknown) => console.error('bench:group: cleanup:', error));
}
