/*
 * A deployment of real Parley node processes for a test: N nodes (the built CLI, `node packages/server/dist/cli.js
 * start`) sharing a fresh PostgreSQL database and Redis, behind a real HAProxy configured from deploy/haproxy.cfg
 * (scripts/haproxyConfig.mjs): the test runs what the file ships. A node can be killed (SIGKILL: a crash), stopped
 * and started again on its port; with `redisViaProxy` each node reaches Redis through a TCP proxy of the test's, so
 * one node's link to Redis, or every node's, can be cut and given back.
 *
 * Redis: every cluster uses the same server (PARLEY_TEST_REDIS_URL, else redis://127.0.0.1:6379) and no key prefix
 * of its own. Clusters of tests running at once still never hear each other: a deployment names its channels after
 * its id, which is made once in its database, and each cluster has a database of its own. (A Redis database number,
 * redis://…/N, would not separate them: pub/sub channels are shared by all database numbers.)
 *
 * Nodes beat every 500 ms and count as dead after 2 s (NODE_HEARTBEAT_MS, NODE_DEAD_MS; `env` changes them).
 * Every wait has a bound and, when it gives up, says what it waited for with the tail of what every node and
 * HAProxy printed. `stop()` kills everything, removes every directory and drops the database; it is safe to call
 * twice (register it in the test's `after`).
 *
 * @example
 *   const cluster = await startCluster({ nodes: 2 });
 *   after(() => cluster.stop());
 *   await cluster.kill(0);
 *   await cluster.waitBalancerSees(0, false);
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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
  /** How many nodes (default 2). */
  nodes?: number;
  /** For every node, over the harness's own (REDIS_URL here names the Redis behind the proxies too). */
  env?: Record<string, string>;
  /** For node i only (its first run). */
  nodeEnv?: (i: number) => Record<string, string>;
  /** Each node reaches Redis through its own TcpProxy (`cluster.nodes[i].redis`, `cutRedis`, `restoreRedis`). */
  redisViaProxy?: boolean;
  /** An HAProxy in front (default true); without it `cluster.url` throws and tests talk to the nodes directly. */
  haproxy?: boolean;
}

export interface ClusterNode {
  /** node1, node2, …: its NODE_ID, and its server name in HAProxy. */
  name: string;
  /** The same as `name`: what its /healthz answers name. */
  nodeId: string;
  port: number;
  /** The node itself, bypassing the balancer. */
  url: string;
  dataDir: string;
  /** The running process; null while killed or stopped. */
  process: ParleyServer | null;
  /** The running process's pid; null while killed or stopped. */
  readonly pid: number | null;
  /** Its own link to Redis, with `redisViaProxy`; else null. */
  redis: TcpProxy | null;
  /** What every run of this node printed, killed ones included. */
  output(): string;
}

export interface Cluster {
  /** The balancer, e.g. http://127.0.0.1:41234 (throws when started with `haproxy: false`). */
  readonly url: string;
  /** HAProxy's stats page (each node's state as the balancer sees it). */
  readonly statsUrl: string;
  databaseUrl: string;
  nodes: ClusterNode[];
  /** Each node's link to Redis, with `redisViaProxy` (the same as `nodes[i].redis`). */
  redisProxies: TcpProxy[];
  /** Sends `signal` (default SIGKILL: a crash) to node i and waits for it to exit. Nothing when it is not running. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts node i again on its port, data directory and settings (after a kill or a stop), `env` added for this run; resolves once its /healthz is 200. */
  start(i: number, env?: Record<string, string>): Promise<void>;
  /** Stops node i if it runs (SIGTERM, as a deploy does) and starts it again; see `start`. */
  restart(i: number, env?: Record<string, string>): Promise<void>;
  /** Waits until node i itself answers /healthz with 200. */
  waitHealthy(i: number, timeoutMs?: number): Promise<void>;
  /** Waits until HAProxy counts node i `UP` or `DOWN` (from its stats socket). */
  waitBalancer(i: number, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** Waits until HAProxy counts node i in rotation (`up`) or out of it. */
  waitBalancerSees(i: number, up: boolean, timeoutMs?: number): Promise<void>;
  /** HAProxy's state of each node right now (node name → UP, DOWN, …). */
  balancerStates(): Promise<Map<string, string>>;
  /** Cuts node i's link to Redis, or every node's (see TcpProxy.cut); needs `redisViaProxy`. */
  cutRedis(i?: number): void;
  /** Gives node i's link to Redis back, or every node's; needs `redisViaProxy`. */
  restoreRedis(i?: number): void;
  /** What node i printed (every run). */
  output(i: number): string;
  /** Creates an agent in the deployment's database (`parley agent create`); the nodes see it at once. */
  createAgent(account: AgentAccount): void;
  /** The tail of everything the nodes and HAProxy printed, for failure messages. */
  describe(): string;
  /** Kills every node and HAProxy, closes the proxies, removes the directories, drops the database. Idempotent. */
  stop(): Promise<void>;
}

/** HAProxy's view of the servers of backend `parley_nodes`, from its stats socket: server name → status (UP, DOWN, …). */
async function readBalancerStates(socketPath: string): Promise<Map<string, string>> {
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

async function answers200(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

/** `url` (a redis:// URL) with its host and port replaced by 127.0.0.1:`port`, keeping credentials and database. */
function throughProxy(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return proxied.href;
}

/** Starts a deployment of `options.nodes` real node processes (see the file's header). */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 2;
  const redisUrl = options.env?.['REDIS_URL'] ?? REDIS_URL;
  let db: TestDatabase | null = null;
  let haproxy: TestDaemon | null = null;
  let haproxyDir: string | null = null;
  const nodes: ClusterNode[] = [];
  const redisProxies: TcpProxy[] = [];
  /** What earlier runs of each node printed. */
  const outputs: string[] = [];

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      for (const node of nodes) await node.process?.kill('SIGKILL').catch(() => undefined);
      await haproxy?.stop().catch(() => undefined);
      if (haproxyDir) await removeDir(haproxyDir).catch(() => undefined);
      for (const proxy of redisProxies) await proxy.close().catch(() => undefined);
      for (const node of nodes) await removeDir(node.dataDir).catch(() => undefined);
      await db?.drop();
    })());

  const describe = () =>
    [...nodes.map((n) => `--- ${n.name} (tail) ---\n${tail(n.output())}`), ...(haproxy ? [`--- haproxy (tail) ---\n${tail(haproxy.output())}`] : [])].join('\n');
  /** Waits for `probe`, failing with what every process printed. */
  const waitLoudly = async (probe: () => Promise<boolean>, what: string, timeoutMs: number, seen?: () => unknown) => {
    try {
      await waitFor(probe, { timeoutMs, intervalMs: 100, what, ...(seen ? { seen } : {}) });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${describe()}`);
    }
  };
  const nodeAt = (i: number): ClusterNode => {
    const node = nodes[i];
    if (!node) throw new Error(`the cluster has nodes 0 to ${nodes.length - 1}, not ${i}`);
    return node;
  };
  const proxiesOf = (i: number | undefined): TcpProxy[] => {
    if (!options.redisViaProxy) throw new Error('the cluster was started without redisViaProxy: its nodes reach Redis directly');
    return i === undefined ? redisProxies : [nodeAt(i).redis as TcpProxy];
  };

  try {
    db = await createTestDatabase('cluster');
    const database = db;
    const target = new URL(redisUrl);
    for (let i = 0; i < count; i++) {
      const redis = options.redisViaProxy ? await TcpProxy.start(target.hostname, Number(target.port || 6379)) : null;
      if (redis) redisProxies.push(redis);
      const name = `node${i + 1}`;
      const port = await freePort();
      const dataDir = await makeTempDir(`parley-${name}-`);
      outputs.push('');
      const node: ClusterNode = {
        name,
        nodeId: name,
        port,
        url: `http://127.0.0.1:${port}`,
        dataDir,
        process: null,
        get pid() {
          return this.process?.pid ?? null;
        },
        redis,
        output: () => (outputs[i] ?? '') + (node.process?.output() ?? ''),
      };
      nodes.push(node);
    }
    const balancerPort = await freePort();
    const statsPort = await freePort();
    const balancerUrl = `http://127.0.0.1:${balancerPort}`;
    const envOf = (i: number, extra: Record<string, string> = {}): Record<string, string> => {
      const node = nodeAt(i);
      return {
        NODE_HEARTBEAT_MS: '500',
        NODE_DEAD_MS: '2000',
        // Every node is reached through the balancer, whose origin the pages use.
        PUBLIC_URL: balancerUrl,
        ALLOWED_ORIGINS: `${balancerUrl},${node.url}`,
        TRUST_PROXY: '127.0.0.1',
        ...options.env,
        ...extra,
        DATABASE_URL: database.url,
        REDIS_URL: node.redis ? throughProxy(redisUrl, node.redis.port) : redisUrl,
        NODE_ID: node.name,
      };
    };
    const start = async (i: number, extra?: Record<string, string>) => {
      const node = nodeAt(i);
      if (node.process) throw new Error(`${node.name} is running already`);
      if (outputs[i]) outputs[i] += `--- ${node.name} started again ---\n`;
      // startParley fails with the node's output when it exits or is not healthy in time.
      node.process = await startParley({ dataDir: node.dataDir, port: node.port, env: envOf(i, extra), readyTimeoutMs: 30_000 });
    };
    const kill = async (i: number, signal: NodeJS.Signals = 'SIGKILL') => {
      const node = nodeAt(i);
      const running = node.process;
      if (!running) return;
      await running.kill(signal);
      outputs[i] += `${running.output()}--- ${node.name} (pid ${running.pid}) ended by ${signal} ---\n`;
      node.process = null;
    };
    // The first node migrates the database (and makes the deployment's id and token secret); the others start after.
    await start(0, options.nodeEnv?.(0));
    await Promise.all(nodes.slice(1).map((_, k) => start(k + 1, options.nodeEnv?.(k + 1))));

    let statsSocket: string | null = null;
    if (options.haproxy !== false) {
      const binary = systemBinary('haproxy', 'PARLEY_HAPROXY', '/usr/sbin/haproxy');
      if (!existsSync(binary)) {
        throw new Error(`HAProxy is missing at ${binary}: the tests of many nodes run behind a real one (apt-get install -y haproxy, or .ci/run).`);
      }
      const dir = await makeTempDir('parley-haproxy-');
      haproxyDir = dir;
      statsSocket = join(dir, 'stats.sock');
      const cfg = join(dir, 'haproxy.cfg');
      // With a line per request: a failure through the balancer shows who closed what, and when.
      const rendered = renderHaproxyConfig({ port: balancerPort, statsPort, statsSocket, log: true, nodes: nodes.map((n) => ({ name: n.name, port: n.port })) });
      await writeFile(cfg, rendered);
      haproxy = await startDaemon({ name: 'haproxy', binary, args: ['-db', '-f', cfg], dir, ready: () => accepts(balancerPort), what: 'HAProxy to accept connections', timeoutMs: 10_000 });
    }
    const withBalancer = (): string => {
      if (statsSocket === null) throw new Error('the cluster was started with haproxy: false');
      return statsSocket;
    };

    const waitBalancer = async (i: number, state: 'UP' | 'DOWN', timeoutMs = 15_000) => {
      const socket = withBalancer();
      const name = nodeAt(i).name;
      let last = 'not read';
      await waitLoudly(
        async () => (last = (await readBalancerStates(socket)).get(name) ?? 'not listed') === state,
        `HAProxy to count ${name} ${state}`,
        timeoutMs,
        () => `${name} ${last}`,
      );
    };
    const cluster: Cluster = {
      get url() {
        withBalancer();
        return balancerUrl;
      },
      get statsUrl() {
        withBalancer();
        return `http://127.0.0.1:${statsPort}/`;
      },
      databaseUrl: database.url,
      nodes,
      redisProxies,
      kill,
      start,
      async restart(i, env) {
        await kill(i, 'SIGTERM');
        await start(i, env);
      },
      async waitHealthy(i, timeoutMs = 15_000) {
        const node = nodeAt(i);
        await waitLoudly(
          async () => {
            if (node.process === null) throw new Error(`${node.name} is not running`);
            return answers200(node.url);
          },
          `${node.name} (${node.url}/healthz) to answer 200`,
          timeoutMs,
        );
      },
      waitBalancer,
      waitBalancerSees: (i, up, timeoutMs) => waitBalancer(i, up ? 'UP' : 'DOWN', timeoutMs),
      balancerStates: () => readBalancerStates(withBalancer()),
      cutRedis: (i) => proxiesOf(i).forEach((p) => p.cut()),
      restoreRedis: (i) => proxiesOf(i).forEach((p) => p.restore()),
      output: (i) => nodeAt(i).output(),
      createAgent(account) {
        createAgentWithCli(nodeAt(0).dataDir, account, { DATABASE_URL: database.url });
      },
      describe,
      stop,
    };
    if (haproxy) for (let i = 0; i < nodes.length; i++) await cluster.waitBalancer(i, 'UP');
    return cluster;
  } catch (err) {
    const described = describe();
    await stop();
    throw new Error(`the cluster did not start: ${(err as Error).message}\n${described}`);
  }
}
