import { availableParallelism, totalmem } from 'node:os';
import type { BenchTarget } from './args.ts';
import { parseBenchArgs, protocolOf } from './args.ts';
import type { TargetFigures } from './figures.ts';
import { measureServer } from './measureServer.ts';
import { machineLoad } from './procStats.ts';
import { TARGET_NAMES, bottleneckNotes, jsonRecord, renderTable, renderTargets, targetChecks } from './report.ts';
import { benchLog, guardRun } from './runGuard.ts';
import { buildBenchScripts, requireParleyBuild } from './servers.ts';

/*
 * `npm run bench:chat`: many conversations over real sockets on loopback, against Parley on SQLite, Parley
 * on PostgreSQL (a fresh database each run) and a bare `ws` relay, measured in the same run. Prints a
 * side-by-side table, the targets, what bounded each phase, and one JSON line.
 * Bounded: a hard timeout (or Ctrl-C) kills every child, drops the run's database and exits non-zero.
 */

const options = parseBenchArgs(process.argv.slice(2));
const startedAt = new Date();
const log = benchLog('bench', startedAt);
const guard = guardRun(options.timeoutSeconds, log);

try {
  if (options.targets.some((target) => protocolOf(target) === 'parley')) requireParleyBuild();
  log(
    `${options.visitors} visitors, ${options.agents} agents, ${options.conversations} conversations, ` +
      `${options.workers} load threads; measuring ${options.targets.map((t) => TARGET_NAMES[t]).join(', ')}; ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  const scripts = await buildBenchScripts();
  const loadBefore = await machineLoad(2_000);
  log(`machine before the run: ${loadBefore.toFixed(2)} cores busy${loadBefore > 0.2 ? ' — other processes are running; figures will be noisy' : ''}`);
  const results: Partial<Record<BenchTarget, TargetFigures>> = {};
  for (const target of options.targets) {
    const say = (line: string): void => log(`${TARGET_NAMES[target]}: ${line}`);
    results[target] = await measureServer(target, options, scripts, say);
  }
  console.log(`\nParley chat benchmark — ${startedAt.toISOString()}\n`);
  console.log(renderTable(results, options));
  console.log('');
  console.log(renderTargets(targetChecks(results, options)));
  console.log('');
  for (const target of options.targets) {
    const settings = results[target]?.databaseSettings;
    if (settings) console.log(`${TARGET_NAMES[target]}: ${settings}`);
  }
  for (const note of bottleneckNotes(results)) console.log(`- ${note}`);
  console.log('');
  console.log(jsonRecord(results, options, startedAt, loadBefore));
  guard.finish();
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  guard.finish();
  await guard.abort(1);
}
