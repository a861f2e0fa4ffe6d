import { availableParallelism, totalmem } from 'node:os';
import { parseClusterArgs } from './clusterArgs.ts';
import { CLUSTER_TARGET_NAMES, type ClusterFigures } from './clusterFigures.ts';
import { measureTarget } from './clusterMeasure.ts';
import { REDIS_URL } from './clusterNodes.ts';
import { boundNotes, clusterJson, integrityChecks, renderChecks, renderFailover, renderLoadTable, type ClusterResults } from './clusterReport.ts';
import { FAILOVER_NODE_ENV, SEND_INTERVAL_MS, runFailover, type FailoverFigures } from './failover.ts';
import { machineLoad } from './procStats.ts';
import { benchLog, guardRun } from './runGuard.ts';
import { buildBenchScripts, requireParleyBuild } from './servers.ts';

/*
 * `npm run bench:cluster`: the chat load of bench:chat on the bare relay, one node on SQLite, one node on
 * PostgreSQL with Redis, and two such nodes with every conversation split across them (visitor on the first,
 * agent on the second), measured one after the other in the same run; then the failover of two nodes over a
 * number of SIGKILLs. Prints the tables, the counts that must be zero, what bounded each figure, and one JSON
 * line. Bounded: a hard timeout (or Ctrl-C) kills every child, drops the run's databases and exits non-zero.
 * Exits 4 when a count that must be zero is not.
 */

const options = parseClusterArgs(process.argv.slice(2));
const startedAt = new Date();
const log = benchLog('cluster', startedAt);
const guard = guardRun(options.timeoutSeconds, log);

try {
  requireParleyBuild();
  const plan = [
    ...options.targets.map((t) => CLUSTER_TARGET_NAMES[t]),
    ...(options.kills > 0 ? [`failover over ${options.kills} kills`] : []),
  ];
  log(
    `${options.visitors} visitors, ${options.agents} agents, ${options.conversations} conversations, ${options.workers} load threads; ` +
      `${plan.join(', ')}; Redis ${REDIS_URL}; ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  const scripts = await buildBenchScripts();
  const loadBefore = await machineLoad(2_000);
  log(`machine before the run: ${loadBefore.toFixed(2)} cores busy${loadBefore > 0.2 ? ' — other processes are running; figures will be noisy' : ''}`);
  const results: ClusterResults = {};
  for (const target of options.targets) {
    const say = (line: string): void => log(`${CLUSTER_TARGET_NAMES[target]}: ${line}`);
    const figures: ClusterFigures = await measureTarget(target, options, scripts, say);
    results[target] = figures;
  }
  let failover: FailoverFigures | null = null;
  if (options.kills > 0) failover = await runFailover(options.kills, (line) => log(`failover: ${line}`));

  console.log(`\nParley cluster benchmark — ${startedAt.toISOString()}\n`);
  if (options.targets.length > 0) {
    console.log(renderLoadTable(results, options));
    console.log('');
    for (const target of options.targets) {
      const settings = results[target]?.databaseSettings;
      if (settings) console.log(`${CLUSTER_TARGET_NAMES[target]}: ${settings}`);
    }
    for (const note of boundNotes(results)) console.log(`- ${note}`);
    console.log('');
  }
  if (failover) {
    console.log(
      `Failover: 2 nodes (PostgreSQL + Redis), NODE_HEARTBEAT_MS=${FAILOVER_NODE_ENV.NODE_HEARTBEAT_MS} NODE_DEAD_MS=${FAILOVER_NODE_ENV.NODE_DEAD_MS}; ` +
        `a visitor and an agent each sending a message every ${SEND_INTERVAL_MS} ms; ${failover.kills} SIGKILLs, alternately of the visitor's and the agent's node\n`,
    );
    console.log(renderFailover(failover));
    if (failover.errors.length > 0) console.log(`errors seen by the parties: ${failover.errors.join('; ')}`);
    console.log('');
  }
  const checks = integrityChecks(results, failover);
  console.log(renderChecks(checks));
  console.log('');
  console.log(clusterJson(results, failover, options, startedAt, loadBefore));
  guard.finish();
  if (checks.some((c) => c.value !== 0)) {
    log('a count that must be zero is not (see above)');
    process.exitCode = 4;
  }
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  guard.finish();
  await guard.abort(1);
}
