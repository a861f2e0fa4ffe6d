import { availableParallelism, totalmem } from 'node:os';
import type { BenchTarget } from './args.ts';
import { parseBenchArgs } from './args.ts';
import type { TargetFigures } from './figures.ts';
import { measureServer } from './measureServer.ts';
import { machineLoad } from './procStats.ts';
import { bottleneckNotes, jsonRecord, renderTable } from './report.ts';
import { buildBenchScripts, killAllChildren, requireParleyBuild } from './servers.ts';

/*
 * `npm run bench:chat`: many conversations over real sockets on loopback, against Parley and against a
 * bare `ws` relay measured in the same run. Prints a side-by-side table and one JSON line.
 * Bounded: a hard timeout kills every child and exits non-zero.
 */

const options = parseBenchArgs(process.argv.slice(2));
const startedAt = new Date();
const log = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
};

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    killAllChildren();
    process.exit(130);
  });
}
const hardStop = setTimeout(() => {
  log(`hard timeout of ${options.timeoutSeconds} s reached; killing the servers`);
  killAllChildren();
  process.exit(3);
}, options.timeoutSeconds * 1000);

try {
  if (options.targets.includes('parley')) requireParleyBuild();
  log(
    `${options.visitors} visitors, ${options.agents} agents, ${options.conversations} conversations, ` +
      `${options.workers} load threads; ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  const scripts = await buildBenchScripts();
  const loadBefore = await machineLoad(2_000);
  log(`machine before the run: ${loadBefore.toFixed(2)} cores busy${loadBefore > 0.2 ? ' — other processes are running; figures will be noisy' : ''}`);
  const results: Partial<Record<BenchTarget, TargetFigures>> = {};
  for (const target of options.targets) {
    const say = (line: string): void => log(`${target}: ${line}`);
    results[target] = await measureServer(target, options, scripts, say);
  }
  console.log(`\nParley chat benchmark — ${startedAt.toISOString()}\n`);
  console.log(renderTable(results, options));
  console.log('');
  for (const note of bottleneckNotes(results)) console.log(`- ${note}`);
  console.log('');
  console.log(jsonRecord(results, options, startedAt, loadBefore));
  clearTimeout(hardStop);
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  killAllChildren();
  process.exitCode = 1;
  clearTimeout(hardStop);
}
