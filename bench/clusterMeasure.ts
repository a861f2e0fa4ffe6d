import type { BenchTarget } from './args.ts';
import type { ClusterOptions, ClusterTarget } from './clusterArgs.ts';
import { BenchNode, REDIS_URL, localRedisPid, makeNodes } from './clusterNodes.ts';
import { SECOND_NODE, REDIS, sumOrder, type ClusterFigures } from './clusterFigures.ts';
import { LoadGenerator } from './loadGenerator.ts';
import { runLoadPhases, startPhaseMeter, type BenchScripts } from './measureServer.ts';
import { createBenchDatabase, type BenchDatabase } from './postgres.ts';
import { ServerProcess, createParleyAgents } from './servers.ts';

/*
 * The chat load of bench:chat (the same fleets, phases and figures) on one set-up of bench:cluster: start its
 * servers, open the connections, start the conversations, run the throughput and latency phases, stop
 * everything. On two nodes the visitors connect to the first and the agents to the second, so every message
 * crosses from one node to the other through PostgreSQL and Redis.
 */

/** The servers of one set-up while they run. */
interface Running {
  /** The first (or only) server: the visitors' side, and the agents' unless `agentUrl` says otherwise. */
  url: string;
  agentUrl: string | null;
  pid: number;
  also: Record<string, number>;
  agents: { email: string; password: string }[];
  serverName: string;
}

/** Runs the chat load on one set-up and returns its figures; its servers, database and data are gone after. */
export async function measureTarget(
  target: ClusterTarget,
  options: ClusterOptions,
  scripts: BenchScripts,
  log: (line: string) => void,
): Promise<ClusterFigures> {
  const database = target === 'postgres' || target === 'single' || target === 'split' ? await createBenchDatabase() : null;
  const bus = target === 'single' || target === 'split';
  const nodes: BenchNode[] = [];
  let relay: ServerProcess | null = null;
  try {
    let running: Running;
    let databaseSettings: string | null = null;
    if (target === 'relay') {
      relay = await ServerProcess.start([scripts.relay], { PORT: '0', HOST: '127.0.0.1' });
      const agents = Array.from({ length: options.agents }, (_, i) => ({ email: `agent-${i}`, password: '' }));
      running = { url: relay.baseUrl, agentUrl: null, pid: relay.pid, also: {}, agents, serverName: 'relay' };
    } else {
      if (database) {
        databaseSettings = await database.describe();
        log(`fresh PostgreSQL database ${database.name} (${databaseSettings})`);
      }
      const spec = { databaseUrl: database?.url ?? null, redisUrl: bus ? REDIS_URL : null, conversations: options.conversations };
      nodes.push(...(await makeNodes(`bench-${target}`, target === 'split' ? 2 : 1, spec)));
      const first = nodes[0] as BenchNode;
      log(`creating ${options.agents} agents`);
      const agents = await createParleyAgents({ dataDir: first.dataDir, databaseUrl: spec.databaseUrl }, options.agents);
      for (const node of nodes) await node.start();
      const second = nodes[1];
      const also: Record<string, number> = second ? { [SECOND_NODE]: second.process.pid } : {};
      if (bus) {
        const redisPid = await localRedisPid();
        if (redisPid !== null) also[REDIS] = redisPid;
        else log('Redis does not run on this machine: its CPU is not measured');
      }
      running = { url: first.url, agentUrl: second?.url ?? null, pid: first.process.pid, also, agents, serverName: second ? 'node 1' : 'node' };
    }
    log(`${running.serverName} pid ${running.pid} at ${running.url}${running.agentUrl ? `, ${SECOND_NODE} at ${running.agentUrl}` : ''}`);
    const figures = await runLoad(target, running, options, scripts, database, log);
    return { ...figures, databaseSettings };
  } finally {
    await relay?.stop();
    for (const node of nodes) await node.remove();
    // The nodes have stopped (or never started): nothing holds the database any more.
    await database?.drop();
  }
}

async function runLoad(
  target: ClusterTarget,
  running: Running,
  options: ClusterOptions,
  scripts: BenchScripts,
  database: BenchDatabase | null,
  log: (line: string) => void,
): Promise<Omit<ClusterFigures, 'databaseSettings'>> {
  const benchTarget: BenchTarget = target === 'relay' ? 'relay' : target === 'sqlite' ? 'sqlite' : 'postgres';
  const load = new LoadGenerator(scripts.loadWorker, {
    target: benchTarget,
    baseUrl: running.url,
    ...(running.agentUrl ? { agentBaseUrl: running.agentUrl } : {}),
    agents: running.agents,
    visitors: options.visitors,
    conversations: options.conversations,
    threads: options.workers,
  });
  try {
    const connections = options.visitors + options.agents;
    if (target !== 'relay') log(`getting ${options.visitors} visitor and ${options.agents} agent tokens over HTTP`);
    await load.all({ type: 'prepare' });
    log(`opening ${connections} connections`);
    await load.all({ type: 'connect' });
    log(`starting ${options.conversations} conversations`);
    await load.each({ type: 'startChats' });
    await load.all({ type: 'goOnline' });
    const phases = await runLoadPhases(load, options, () => startPhaseMeter(running.pid, database, running.also), log);
    await load.all({ type: 'close' });
    return {
      target,
      connections,
      processes: { server: running.serverName, also: Object.keys(running.also) },
      throughput: { ...phases.throughput, order: sumOrder(phases.throughputResults) },
      latency: { ...phases.latency, order: sumOrder(phases.latencyResults) },
    };
  } finally {
    await load.terminate();
  }
}
