import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { createAgent } from '../packages/server/src/app.ts';
import { openStore } from '../packages/server/src/store/index.ts';

/*
 * The servers under test, each run as a child process so that its memory and CPU are its own:
 * Parley from its built CLI, and the bare relay bundled by esbuild the same way the CLI is.
 */

/** Repository root (bench/ sits directly under it). */
export const ROOT = join(import.meta.dirname, '..');
export const PARLEY_CLI = join(ROOT, 'packages/server/dist/cli.js');
/** Bundles live under node_modules so that `ws` resolves from them. */
const BUILD_DIR = join(ROOT, 'node_modules/.cache/parley-bench');

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Every child this process started and has not yet seen exit; killed on any exit. */
const children = new Set<ChildProcess>();

/** Kills every child still running (synchronously; safe in an exit handler). */
export function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Bundles the relay and the load-generator thread; returns their paths. */
export async function buildBenchScripts(): Promise<{ relay: string; loadWorker: string }> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const relay = join(BUILD_DIR, 'relay.mjs');
  const loadWorker = join(BUILD_DIR, 'loadWorker.mjs');
  const common: BuildOptions = { bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['ws', 'zod'], logLevel: 'warning' };
  await Promise.all([
    build({ ...common, entryPoints: [join(ROOT, 'bench/relayMain.ts')], outfile: relay }),
    build({ ...common, entryPoints: [join(ROOT, 'bench/loadWorker.ts')], outfile: loadWorker }),
  ]);
  return { relay, loadWorker };
}

/** A server running as a child process. */
export class ServerProcess {
  readonly pid: number;
  readonly baseUrl: string;
  /** The child's V8 inspector (it is started with `--inspect=127.0.0.1:0`). */
  readonly inspectorUrl: string;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, baseUrl: string, inspectorUrl: string) {
    if (child.pid === undefined) throw new Error('child has no pid');
    this.pid = child.pid;
    this.baseUrl = baseUrl;
    this.inspectorUrl = inspectorUrl;
    this.#child = child;
  }

  /**
   * Starts `node --inspect=127.0.0.1:0 ...args` and waits for the line announcing its address
   * (`... listening on http://127.0.0.1:PORT` or `ws://127.0.0.1:PORT/ws`).
   */
  static start(args: string[], env: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not announce its address within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${args.join(' ')} ${why}\n${output.slice(-2000)}`));
      };
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = /^(?!Debugger).*listening on (?:http|ws):\/\/(127\.0\.0\.1):(\d+)/m.exec(output);
        const inspector = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(output);
        if (!match || !inspector?.[1]) return;
        clearTimeout(timer);
        child.off('exit', onEarlyExit);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining so the child never blocks on a full pipe
        child.stderr?.off('data', onData);
        resolve(new ServerProcess(child, `http://${match[1]}:${match[2]}`, inspector[1]));
      };
      const echoStderr = (chunk: Buffer): void => {
        if (process.env.BENCH_VERBOSE) process.stderr.write(chunk);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.stderr?.on('data', echoStderr);
      const onEarlyExit = (code: number | null, signal: string | null): void => fail(`exited early (${signal ?? code})`);
      child.once('exit', onEarlyExit);
    });
  }

  /** Calls `listener` with each chunk the child prints from now on (stdout and stderr); returns how to stop. */
  onOutput(listener: (text: string) => void): () => void {
    const onData = (chunk: Buffer): void => listener(chunk.toString());
    this.#child.stdout?.on('data', onData);
    this.#child.stderr?.on('data', onData);
    return () => {
      this.#child.stdout?.off('data', onData);
      this.#child.stderr?.off('data', onData);
    };
  }

  /** Kills the server at once (SIGKILL), as a crash would; resolves once it has exited. */
  kill(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Asks the server to stop (SIGTERM), and kills it if it has not exited in time. */
  stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/** Where a measured Parley keeps its data: SQLite under `dataDir`, or PostgreSQL at `databaseUrl` when set. */
export interface ParleyStorage {
  dataDir: string;
  databaseUrl: string | null;
}

/**
 * Creates Parley agent accounts in the server's store before it starts, the way `parley agent create`
 * does (the same function, the same store), in this process: one CLI process per agent cost a second each.
 */
export async function createParleyAgents(storage: ParleyStorage, count: number): Promise<{ email: string; password: string }[]> {
  const store = await openStore(storage);
  try {
    const accounts = Array.from({ length: count }, (_, i) => ({ email: `bench-agent-${i}@parley.local`, password: `bench-password-${i}-not-secret` }));
    await Promise.all(accounts.map((account, i) => createAgent(store, { ...account, name: `Bench Agent ${i}` })));
    return accounts;
  } finally {
    await store.close();
  }
}

/** The environment Parley runs the benchmark with: loopback, fresh data, no demo, limits out of the way. */
export function parleyEnv(storage: ParleyStorage, conversations: number): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: storage.dataDir,
    // Empty means unset, so a DATABASE_URL of the caller's own never turns a SQLite run into something else.
    DATABASE_URL: storage.databaseUrl ?? '',
    LOG_LEVEL: 'warn',
    DEMO_AGENT: 'false',
    // The benchmark floods on purpose; the per-connection limits are for abuse, not for this.
    RATE_LIMIT_RPS: '100000',
    RATE_LIMIT_BURST: '100000',
    // Every simulated visitor comes from loopback: one address, many honest visitors.
    VISITORS_PER_IP_PER_MINUTE: '1000000',
    MAX_QUEUED_PER_IP: '1000000',
    MAX_QUEUED_TOTAL: '1000000',
    // Every load-generating connection comes from loopback.
    MAX_CONNECTIONS_PER_IP: '1000000',
    // The server's ceiling is 1000 chats per agent.
    AGENT_MAX_CHATS: String(Math.min(1000, Math.max(5, conversations))),
  };
}

/** Fails with a useful message when the server CLI has not been built. */
export function requireParleyBuild(): void {
  if (!existsSync(PARLEY_CLI)) {
    throw new Error(`${PARLEY_CLI} is missing; run \`npm run build\` first`);
  }
}
