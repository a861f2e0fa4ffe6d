import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PARLEY_CLI, ServerProcess, parleyEnv } from './servers.ts';
import { registerTeardown } from './teardown.ts';

/*
 * Parley nodes of one deployment, each a child process of its own: the built CLI with the same DATABASE_URL and
 * REDIS_URL, its own NODE_ID, PORT and DATA_DIR. A node keeps its port, so it can be killed and started again
 * at the same address, as a restarted machine behind a balancer would be.
 */

/** The Redis the nodes share: the tests' (PARLEY_TEST_REDIS_URL), else the local one. */
export const REDIS_URL = process.env['PARLEY_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** What every node of one deployment is started with. */
export interface DeploymentSpec {
  /** PostgreSQL of the deployment; null: one node on SQLite in its own DATA_DIR. */
  databaseUrl: string | null;
  /** REDIS_URL, or null for a node alone (SQLite). */
  redisUrl: string | null;
  /** Conversations the load starts (bounds AGENT_MAX_CHATS, as bench:chat sets it). */
  conversations: number;
  /** More environment (heartbeat times, log level), over parleyEnv's. */
  env?: Record<string, string>;
}

/** One node: its id, address and data directory, and its process while it runs. */
export class BenchNode {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly #env: Record<string, string>;
  readonly #unregister: () => void;
  #process: ServerProcess | null = null;

  constructor(id: string, port: number, spec: DeploymentSpec) {
    this.id = id;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.dataDir = mkdtempSync(join(tmpdir(), `parley-bench-${id}-`));
    const dataDir = this.dataDir;
    this.#unregister = registerTeardown(`remove ${dataDir}`, async () => rmSync(dataDir, { recursive: true, force: true }));
    this.#env = {
      ...parleyEnv({ dataDir: this.dataDir, databaseUrl: spec.databaseUrl }, spec.conversations),
      PORT: String(port),
      NODE_ID: id,
      REDIS_URL: spec.redisUrl ?? '',
      ...spec.env,
    };
  }

  /** The running process; throws when the node is down. */
  get process(): ServerProcess {
    if (!this.#process) throw new Error(`node ${this.id} is not running`);
    return this.#process;
  }

  get running(): boolean {
    return this.#process !== null;
  }

  /** Starts the node and waits until it announces its address and /healthz answers ok. */
  async start(): Promise<void> {
    if (this.#process) throw new Error(`node ${this.id} is running already`);
    const started = await ServerProcess.start([PARLEY_CLI, 'start'], this.#env);
    this.#process = started;
    if (started.baseUrl !== this.url) throw new Error(`node ${this.id} listens on ${started.baseUrl}, not ${this.url}`);
    await waitHealthy(this.url);
  }

  /** SIGKILL, as a crash: nothing is flushed, closed or said to anyone. */
  async kill(): Promise<void> {
    const running = this.#process;
    this.#process = null;
    await running?.kill();
  }

  /** Stops the node (SIGTERM) if it runs. */
  async stop(): Promise<void> {
    const running = this.#process;
    this.#process = null;
    await running?.stop();
  }

  /** Stops the node and removes its data directory. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    this.#unregister();
  }
}

/** Makes `count` nodes of one deployment (ids `<label>-1`, `<label>-2`, …, each on a free port); starts none. */
export async function makeNodes(label: string, count: number, spec: DeploymentSpec): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  for (let i = 1; i <= count; i++) nodes.push(new BenchNode(`${label}-${i}`, await freePort(), spec));
  return nodes;
}

const HEALTH_TIMEOUT_MS = 15_000;

/** Resolves once `GET /healthz` answers 200 (the store and the bus reachable). */
export async function waitHealthy(baseUrl: string, timeoutMs = HEALTH_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${baseUrl}/healthz did not answer ok within ${timeoutMs} ms (last: ${last})`);
}

/** A TCP port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The pid of the Redis server at `url` when it runs on this machine (its CPU time is then read from /proc), or
 * null. Redis serves other people's work too: its CPU is reported as shared.
 */
export async function localRedisPid(url: string = REDIS_URL): Promise<number | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3_000 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    return Number.isInteger(pid) && existsSync(`/proc/${pid}/stat`) ? pid : null;
  } finally {
    redis.disconnect();
  }
}
