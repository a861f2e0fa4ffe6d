/*
 * A deployment of real Parley node processes for a test: N nodes (the built CLI) sharing a fresh PostgreSQL
 * database and Redis, behind a real HAProxy configured from deploy/haproxy.cfg (scripts/haproxyConfig.mjs). A node
 * can be killed (SIGKILL: a crash), stopped and started again on its port; with `redisViaProxy` each node reaches
 * Redis through a TCP proxy of the test, which can cut that node's bus. Nodes of one test hear only each other:
 * Redis channels are named after the deployment's id, which lives in its database.
 *
 * `stop()` kills everything, removes every directory and drops the database; it is safe to call twice.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { renderHaproxyConfig } from '../../../../scripts/haproxyConfig.mjs';
import {
  createAgent as createAgentWithCli,
  freePort,
  makeTempDir,
  removeDir,
  startDaemon,
  startParley,
  systemBinary,
  tail,
  waitFor,
  type AgentAccount,
  type ParleyServer,
  type TestDaemon,
} from '../../../../e2e/support/harness.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { TcpProxy } from './TcpProxy.ts';

export const REDIS_URL = process.env['PARLEY_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface ClusterOptions {
  nodes?: number;
  /** For every node. */
  env?: Record<string, string>;
  /** For node i only (its first run). */
  nodeEnv?: (i: number) => Record<string, string>;
  /** Each node reaches Redis through its own TcpProxy (`cluster.redisProxies[i]`). */
  redisViaProxy?: boolean;
}

export interface ClusterNode {
  /** node1, node2, …: also its NODE_ID and its server name in HAProxy. */
  name: string;
  port: number;
  url: string;
  dataDir: string;
  /** The running process; null while killed or stopped. */
  process: ParleyServer | null;
  /** What every run of this node printed, including killed ones. */
  output(): string;
}

export interface Cluster {
  /** The balancer, e.g. http://127.0.0.1:41234. */
  url: string;
  databaseUrl: string;
  nodes: ClusterNode[];
  redisProxies: TcpProxy[];
  /** Sends `signal` to node i and waits for it to exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node i again on its port (after a kill or a stop), with `env` added for this run. */
  start(i: number, env?: Record<string, string>): Promise<void>;
  /** Waits until HAProxy counts node i `UP` or `DOWN`. */
  waitBalancer(i: number, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** Creates an agent in the deployment's database (`parley agent create`). */
  createAgent(account: AgentAccount): void;
  /** Everything the nodes and HAProxy printed, for failure messages. */
  describe(): string;
  stop(): Promise<void>;
}

/** HAProxy's view of its servers, from its stats socket: server name → status (UP, DOWN, …). */
async function balancerStates(socketPath: string): Promise<Map<string, string>> {
  const csv = await new Promise<string>((resolve, reject) => {
    const socket = connect(socketPath, () => socket.end('show stat\n'));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
  const [header, ...rows] = csv.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const name = columns.indexOf('svname');
  const status = columns.indexOf('status');
  const proxy = columns.indexOf('pxname');
  const states = new Map<string, string>();
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[proxy] === 'parley_nodes' && cells[name] !== 'BACKEND') states.set(cells[name] ?? '', (cells[status] ?? '').split(' ')[0] ?? '');
  }
  return states;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => (socket.destroy(), done(true)));
    socket.once('error', () => (socket.destroy(), done(false)));
  });
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 2;
  let db: TestDatabase | null = null;
  let haproxy: TestDaemon | null = null;
  const nodes: ClusterNode[] = [];
  const redisProxies: TcpProxy[] = [];
  const outputs: string[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const node of nodes) await node.process?.kill('SIGKILL').catch(() => undefined);
    await haproxy?.stop().catch(() => undefined);
    for (const proxy of redisProxies) await proxy.close().catch(() => undefined);
    for (const node of nodes) await removeDir(node.dataDir).catch(() => undefined);
    await db?.drop();
  };

  try {
    db = await createTestDatabase('cluster');
    const url = new URL(REDIS_URL);
    for (let i = 0; i < count; i++) {
      if (options.redisViaProxy) redisProxies.push(await TcpProxy.start(url.hostname, Number(url.port || 6379)));
      const name = `node${i + 1}`;
      const port = await freePort();
      const dataDir = await makeTempDir(`parley-${name}-`);
      outputs.push('');
      const index = i;
      nodes.push({ name, port, url: `http://127.0.0.1:${port}`, dataDir, process: null, output: () => outputs[index] + (nodes[index]?.process?.output() ?? '') });
    }
    const balancerPort = await freePort();
    const balancerUrl = `http://127.0.0.1:${balancerPort}`;
    const envOf = (i: number, extra: Record<string, string> = {}): Record<string, string> => ({
      DATABASE_URL: (db as TestDatabase).url,
      REDIS_URL: options.redisViaProxy ? `redis://127.0.0.1:${(redisProxies[i] as TcpProxy).port}` : REDIS_URL,
      NODE_ID: (nodes[i] as ClusterNode).name,
      NODE_HEARTBEAT_MS: '500',
      NODE_DEAD_MS: '2000',
      // Every node is reached through the balancer, whose origin the pages use.
      PUBLIC_URL: balancerUrl,
      ALLOWED_ORIGINS: `${balancerUrl},${(nodes[i] as ClusterNode).url}`,
      TRUST_PROXY: '127.0.0.1',
      ...options.env,
      ...extra,
    });
    const start = async (i: number, extra?: Record<string, string>) => {
      const node = nodes[i] as ClusterNode;
      if (node.process) throw new Error(`${node.name} is running already`);
      node.process = await startParley({ dataDir: node.dataDir, port: node.port, env: envOf(i, extra), readyTimeoutMs: 30_000 });
    };
    // The first node migrates the database; the others start beside it.
    await start(0, options.nodeEnv?.(0));
    await Promise.all(nodes.slice(1).map((_, k) => start(k + 1, options.nodeEnv?.(k + 1))));

    const binary = systemBinary('haproxy', 'PARLEY_HAPROXY', '/usr/sbin/haproxy');
    if (!existsSync(binary)) {
      throw new Error(`HAProxy is missing at ${binary}: the tests of many nodes run behind a real one (apt-get install -y haproxy, or .ci/run).`);
    }
    const dir = await makeTempDir('parley-haproxy-');
    const statsSocket = join(dir, 'stats.sock');
    const cfg = join(dir, 'haproxy.cfg');
    await writeFile(cfg, renderHaproxyConfig({ port: balancerPort, nodes: nodes.map((n) => ({ name: n.name, port: n.port })), statsSocket }));
    haproxy = await startDaemon({ name: 'haproxy', binary, args: ['-db', '-f', cfg], dir, ready: () => accepts(balancerPort), what: 'HAProxy to accept connections', timeoutMs: 10_000 });

    const cluster: Cluster = {
      url: balancerUrl,
      databaseUrl: db.url,
      nodes,
      redisProxies,
      async kill(i, signal = 'SIGKILL') {
        const node = nodes[i] as ClusterNode;
        const running = node.process;
        if (!running) return;
        await running.kill(signal);
        outputs[i] += running.output();
        node.process = null;
      },
      start,
      async waitBalancer(i, state, timeoutMs = 15_000) {
        const name = (nodes[i] as ClusterNode).name;
        await waitFor(async () => (await balancerStates(statsSocket)).get(name) === state, {
          timeoutMs,
          intervalMs: 100,
          what: `HAProxy to count ${name} ${state}`,
        });
      },
      createAgent(account) {
        createAgentWithCli((nodes[0] as ClusterNode).dataDir, account, { DATABASE_URL: (db as TestDatabase).url });
      },
      describe() {
        return [...nodes.map((n) => `--- ${n.name} (tail) ---\n${tail(n.output())}`), `--- haproxy (tail) ---\n${tail(haproxy?.output() ?? '')}`].join('\n');
      },
      stop,
    };
    for (let i = 0; i < nodes.length; i++) await cluster.waitBalancer(i, 'UP');
    return cluster;
  } catch (err) {
    const described = nodes.map((n) => `--- ${n.name} ---\n${tail(n.output())}`).join('\n');
    await stop();
    throw new Error(`the cluster did not start: ${(err as Error).message}\n${described}`);
  }
}
