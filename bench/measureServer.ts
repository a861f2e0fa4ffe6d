import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions, BenchTarget } from './args.ts';
import { protocolOf } from './args.ts';
import type { DatabaseActivity, MemoryReading, PhaseFigures, TargetFigures } from './figures.ts';
import { databaseActivity, growth, phaseFigures } from './figures.ts';
import { InspectorSession } from './inspector.ts';
import { LoadGenerator } from './loadGenerator.ts';
import { createBenchDatabase, type BenchDatabase } from './postgres.ts';
import type { CpuShare } from './procStats.ts';
import { residentBytes, startCpuMeter } from './procStats.ts';
import { PARLEY_CLI, ServerProcess, createParleyAgents, parleyEnv } from './servers.ts';
import type { ThreadResults } from './threadMessages.ts';

/*
 * Measures one server: start it as a child, open the connections and read the idle memory, start the
 * conversations, then run the throughput and latency phases, and stop everything.
 */

/** Scripts built for the run (see buildBenchScripts). */
export interface BenchScripts {
  relay: string;
  loadWorker: string;
}

/** Seconds the server gets to settle before a memory reading. */
const SETTLE_MS = 1_000;
/** Time for freed pages to leave the RSS after a forced collection. */
const GC_SETTLE_MS = 300;

/** Runs every phase against one server and returns its figures. */
export async function measureServer(target: BenchTarget, options: BenchOptions, scripts: BenchScripts, log: (line: string) => void): Promise<TargetFigures> {
  const database = target === 'postgres' ? await createBenchDatabase() : null;
  let dataDir: string | null = null;
  try {
    dataDir = mkdtempSync(join(tmpdir(), `parley-bench-${target}-`));
    let agents: { email: string; password: string }[];
    let server: ServerProcess;
    let databaseSettings: string | null = null;
    if (protocolOf(target) === 'parley') {
      if (database) {
        databaseSettings = await database.describe();
        log(`fresh PostgreSQL database ${database.name} (${databaseSettings})`);
      }
      const storage = { dataDir, databaseUrl: database?.url ?? null };
      log(`creating ${options.agents} agents`);
      agents = await createParleyAgents(storage, options.agents);
      const profile = options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [];
      server = await ServerProcess.start([...options.nodeFlags, ...profile, PARLEY_CLI, 'start'], parleyEnv(storage, options.conversations));
    } else {
      agents = Array.from({ length: options.agents }, (_, i) => ({ email: `agent-${i}`, password: '' }));
      server = await ServerProcess.start([...options.nodeFlags, scripts.relay], { PORT: '0', HOST: '127.0.0.1' });
    }
    log(`server pid ${server.pid} at ${server.baseUrl}`);
    try {
      const figures = await measureRunning(target, server, agents, options, scripts, log, database);
      return { ...figures, databaseSettings };
    } finally {
      await server.stop();
    }
  } finally {
    // The server has stopped (or never started): nothing holds the database any more.
    await database?.drop();
    if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureRunning(
  target: BenchTarget,
  server: ServerProcess,
  agents: { email: string; password: string }[],
  options: BenchOptions,
  scripts: BenchScripts,
  log: (line: string) => void,
  database: BenchDatabase | null,
): Promise<Omit<TargetFigures, 'databaseSettings'>> {
  const inspector = await InspectorSession.connect(server.inspectorUrl);
  const readMemory = async (): Promise<MemoryReading> => {
    const rss = residentBytes(server.pid);
    await inspector.collectGarbage();
    await sleep(GC_SETTLE_MS);
    const heap = await inspector.heapUsage();
    return { rss, rssAfterGc: residentBytes(server.pid), heapUsed: heap.usedSize };
  };
  const load = new LoadGenerator(scripts.loadWorker, {
    target,
    baseUrl: server.baseUrl,
    agents,
    visitors: options.visitors,
    conversations: options.conversations,
    threads: options.workers,
  });
  try {
    const connections = options.visitors + options.agents;
    if (protocolOf(target) === 'parley') log(`getting ${options.visitors} visitor and ${options.agents} agent tokens over HTTP`);
    await load.all({ type: 'prepare' });
    await sleep(SETTLE_MS);
    const before = await readMemory();

    log(`opening ${connections} connections`);
    await load.all({ type: 'connect' });
    log(`idling ${options.idleSeconds} s`);
    await sleep(options.idleSeconds * 1000);
    const idle = await readMemory();

    log(`starting ${options.conversations} conversations`);
    await load.each({ type: 'startChats' });
    await load.all({ type: 'goOnline' });
    await sleep(SETTLE_MS);
    const chats = await readMemory();

    const { throughput, latency } = await runLoadPhases(load, options, () => startPhaseMeter(server.pid, database), log);
    const afterLoad = await readMemory();

    await load.all({ type: 'close' });
    return {
      target,
      connections,
      conversations: options.conversations,
      memory: { before, idle, chats, afterLoad },
      perConnection: growth(before, idle, connections),
      perConversation: protocolOf(target) === 'parley' ? growth(idle, chats, options.conversations) : { rss: 0, rssAfterGc: 0, heapUsed: 0 },
      throughput,
      latency,
    };
  } finally {
    inspector.close();
    await load.terminate();
  }
}

/** What a phase meter reads at the end of its phase. */
export type PhaseMeter = () => Promise<[CpuShare, DatabaseActivity | null]>;

/** The two measured phases over a connected load whose conversations are started, with their raw thread results. */
export interface LoadPhases {
  throughput: PhaseFigures;
  latency: PhaseFigures;
  throughputResults: ThreadResults['throughput'][];
  latencyResults: ThreadResults['latency'][];
}

/** Runs the throughput phase, then the latency phase, each measured by a meter `startMeter` starts. */
export async function runLoadPhases(
  load: LoadGenerator,
  options: Pick<BenchOptions, 'seconds' | 'window' | 'rate' | 'conversations'>,
  startMeter: () => Promise<PhaseMeter>,
  log: (line: string) => void,
): Promise<LoadPhases> {
  const warmupMs = Math.min(2_000, (options.seconds * 1000) / 5);
  log(`throughput phase: ${options.seconds} s (+${warmupMs / 1000} s warm-up), window ${options.window}`);
  let meter = await startMeter();
  const throughputResults = await load.all({ type: 'throughput', warmupMs, durationMs: options.seconds * 1000, window: options.window });
  const throughput = phaseFigures(throughputResults, ...(await meter()));

  log(`latency phase: ${options.seconds} s at ${options.rate} msg/s`);
  meter = await startMeter();
  // Each thread offers its share of the rate, in proportion to its conversations.
  const latencyResults = await load.perThread((plan) => ({
    type: 'latency',
    durationMs: options.seconds * 1000,
    rate: (options.rate * plan.conversations) / options.conversations,
  }));
  const latency = phaseFigures(latencyResults, ...(await meter()));
  return { throughput, latency, throughputResults, latencyResults };
}

/**
 * Starts the CPU meter (the server, the processes of `also` by name) and, on PostgreSQL, the database's
 * counters; call the result at the phase's end.
 */
export async function startPhaseMeter(serverPid: number, database: BenchDatabase | null, also: Record<string, number> = {}): Promise<PhaseMeter> {
  const before = await database?.counters();
  const startedAt = performance.now();
  const cpu = await startCpuMeter(serverPid, database?.processes, also);
  return async () => {
    const share = await cpu();
    const after = await database?.counters();
    const seconds = (performance.now() - startedAt) / 1000;
    const activity = before && after ? databaseActivity(before, after, seconds) : null;
    return [share, activity];
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
