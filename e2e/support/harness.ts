/*
 * End-to-end harness: starts real Parley servers (the built CLI) on fresh data directories, creates
 * agents through the CLI, and drives the system Chromium through playwright-core. Tests register
 * what they start in `after` hooks; nothing here sleeps for a fixed time — `waitFor` polls a condition
 * with a bound instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Repository root (this file lives in <root>/e2e). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The server CLI under test: the built bundle, or another build named by PARLEY_CLI. */
const CLI = process.env.PARLEY_CLI ?? join(ROOT, 'packages/server/dist/cli.js');
/** Where the Chromium binary is expected (Debian's `chromium` package). */
export const CHROMIUM_PATH = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each major step, kept for inspection and the README (gitignored). */
export const SCREENSHOT_DIR = join(ROOT, 'test-results/screenshots');

/** Chromium flags for headless runs with fake camera and microphone (see docs/architecture). */
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** A running Parley server started by the harness. */
export interface ParleyServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** WebSocket endpoint, e.g. ws://127.0.0.1:41234/ws */
  wsUrl: string;
  dataDir: string;
  pid: number;
  /** Everything the process wrote so far (for failure messages). */
  output(): string;
  /** Graceful stop (SIGTERM, then SIGKILL if it lingers). Removes the data directory if the harness made it. */
  stop(): Promise<void>;
  /** Sends a signal and waits for the process to exit. Keeps the data directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  /** Reuse this data directory (restart tests); by default a fresh temporary one is made. */
  dataDir?: string;
  /** Listen on this port (restart tests that reconnect to the same URL); by default a free one. */
  port?: number;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  /** The address to listen on and to be reached at (default 127.0.0.1; a test's own network namespace gives another). */
  host?: string;
  /** How long to wait for /healthz. */
  readyTimeoutMs?: number;
}

/** Makes a fresh temporary directory; the caller removes it (see `removeDir`). */
export async function makeTempDir(prefix = 'parley-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory made by `makeTempDir`. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`The server is not built: ${CLI} is missing. Run \`npm run build\` in ${ROOT} first.`);
  }
}

/** A TCP port free right now on 127.0.0.1, for a daemon a test starts next. */
export async function freePort(): Promise<number> {
  // Below the range the kernel hands to outgoing connections (32768-60999): a port listen(0) gave back is in that
  // range, and any connection made before the daemon binds it (a browser's, the store's) may take it meanwhile.
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FREE_PORT_FROM + Math.floor(Math.random() * FREE_PORT_SPAN);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${FREE_PORT_FROM} and ${FREE_PORT_FROM + FREE_PORT_SPAN - 1} on 127.0.0.1`);
}

const FREE_PORT_FROM = 20_000;
const FREE_PORT_SPAN = 12_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** A system binary for a test: the path in `envVar` when set, else `name` on PATH, else `fallback`. */
export function systemBinary(name: string, envVar: string, fallback: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  const found = which.status === 0 ? which.stdout.trim() : '';
  return found || fallback;
}

/** The last `lines` lines of a child's output, for a failure message. */
export const tail = (text: string, lines = 40): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** A service a test started and owns: what it printed so far, and `stop` (the process, then its directory). */
export interface TestDaemon {
  output(): string;
  /** `running (pid N)`, or how it ended (`exited with code 1`, `killed by SIGSEGV`): for failure messages. */
  state(): string;
  stop(): Promise<void>;
  /** Sends `signal` (SIGKILL: a crash) and resolves once it exited; its directory stays until `stop`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** How {@link startDaemon} starts a service and knows it is ready. */
export interface DaemonOptions {
  /** For messages, e.g. `janus`. */
  name: string;
  binary: string;
  args: string[];
  /** The service's own temporary directory (its configuration), removed by `stop`. */
  dir: string;
  /** True once the service answers. */
  ready: () => Promise<boolean>;
  /** What `ready` waits for, for the failure message. */
  what: string;
  timeoutMs: number;
  /** How much of its output to keep. Default 100,000 characters. */
  keepOutput?: number;
}

/**
 * Starts `binary args` in the foreground as a child of the test, keeping the tail of its output, and resolves once
 * `ready()` holds. When it cannot be spawned, exits, or is not ready in time, it is stopped (directory removed)
 * and the error names the command and ends with the tail of its output.
 */
export async function startDaemon(opts: DaemonOptions): Promise<TestDaemon> {
  const child = spawn(opts.binary, opts.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = opts.keepOutput ?? 100_000;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-keep)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-keep)));
  let spawnError: Error | null = null;
  child.once('error', (error) => (spawnError = error));
  const daemon: TestDaemon = {
    output: () => output,
    state: () =>
      child.exitCode !== null ? `exited with code ${child.exitCode}` : child.signalCode !== null ? `killed by ${child.signalCode}` : `running (pid ${child.pid})`,
    async stop() {
      await stopProcess(child);
      await removeDir(opts.dir);
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited(child);
    },
  };
  try {
    await waitFor(
      async () => {
        if (spawnError) throw spawnError;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
        return opts.ready();
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 50, what: opts.what },
    );
  } catch (error) {
    await daemon.stop();
    const command = [opts.binary, ...opts.args].join(' ');
    throw new Error(`${opts.name} did not start (${command}): ${(error as Error).message}\n--- ${opts.name} output (tail) ---\n${tail(output)}`);
  }
  return daemon;
}

/** Stops a child process the harness started: SIGTERM, SIGKILL if it lingers 5 s; resolves once it exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const lingering = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited(child);
  clearTimeout(lingering);
}

/**
 * Starts `node packages/server/dist/cli.js start` on 127.0.0.1 with a free port, a fresh (or the
 * given) DATA_DIR, LOG_LEVEL=warn and DEMO_AGENT=false, and resolves once `/healthz` answers 200.
 * Throws with the server's output if it exits or does not become healthy in time.
 */
export async function startParley(opts: StartOptions = {}): Promise<ParleyServer> {
  assertBuilt();
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await makeTempDir());
  await mkdir(dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: opts.host ?? '127.0.0.1',
      LOG_LEVEL: 'warn',
      DEMO_AGENT: 'false',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;

  const server: ParleyServer = {
    url,
    wsUrl: `ws://${opts.host ?? '127.0.0.1'}:${port}/ws`,
    dataDir,
    pid: child.pid ?? -1,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited(child);
    },
    async stop() {
      await stopProcess(child);
      if (ownsDataDir) await removeDir(dataDir);
    },
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it was healthy`);
        }
        try {
          const res = await fetch(`${url}/healthz`);
          return res.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: opts.readyTimeoutMs ?? 15_000, intervalMs: 50, what: `${url}/healthz to answer 200` },
    );
  } catch (error) {
    await server.stop();
    throw new Error(`Parley did not start: ${(error as Error).message}\n--- server output ---\n${output}`);
  }
  return server;
}

/** An agent account to create with the CLI. */
export interface AgentAccount {
  email: string;
  name: string;
  password: string;
}

/** Creates an agent with `parley agent create` against DATA_DIR=dataDir (and DATABASE_URL when `env` has it). Throws with the CLI's output on failure. */
export function createAgent(dataDir: string, account: AgentAccount, env: Record<string, string> = {}): void {
  assertBuilt();
  const run = spawnSync(
    process.execPath,
    [CLI, 'agent', 'create', '--email', account.email, '--name', account.name, '--password', account.password],
    { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 20_000 },
  );
  if (run.status !== 0) {
    throw new Error(`parley agent create failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
}

/**
 * Launches the system Chromium headless with fake media devices.
 * Fails loudly when Chromium is missing: these tests need a real browser and are never skipped.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}. The end-to-end tests drive a real browser and are never skipped: ` +
        'install it with `apt-get install -y chromium` (or run .ci/run, which does), ' +
        'or point PARLEY_CHROMIUM at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
}

/** One person in a test: their own browser context (own storage) and a page. */
export interface Party {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far, for failure messages. */
  errors: string[];
}

/** Opens a separate browser context for one party, with camera and microphone granted. */
export async function newParty(browser: Browser, baseURL?: string): Promise<Party> {
  const context = await browser.newContext({
    ...(baseURL ? { baseURL } : {}),
    permissions: ['camera', 'microphone'],
    viewport: { width: 1200, height: 800 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { context, page, errors };
}

export interface WaitOptions {
  /** Upper bound before failing; a bound, not an expected duration. */
  timeoutMs?: number;
  intervalMs?: number;
  /** What is being waited for, for the failure message. */
  what?: string;
  /** What the test saw instead, for the failure message (e.g. `() => page.locator('#status').textContent()`). */
  seen?: () => unknown;
}

/**
 * Polls `predicate` until it returns a truthy value and resolves with that value.
 * A predicate that throws fails the wait at once. Rejects after `timeoutMs` with what it waited for, the
 * predicate's last value and, when `seen` is given, what that says.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition', seen }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) {
      const saw = seen ? `; saw ${await describeSeen(seen)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${inspect(value)})${saw}`);
    }
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

/** What a `seen` callback returns, on one line; it never throws (the page may be gone). */
async function describeSeen(seen: () => unknown): Promise<string> {
  try {
    return inspect(await seen(), { depth: 4, breakLength: Infinity });
  } catch (err) {
    return `(could not look: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Saves a viewport screenshot as test-results/screenshots/<name>.png (animations stopped, caret steady). */
export async function viewportShot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', caret: 'initial' });
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Collects cleanup steps and runs them last-in first-out; each step runs even if an earlier one failed.
 * @example const cleanup = new Cleanup(); after(() => cleanup.run()); cleanup.add(() => server.stop());
 */
export class Cleanup {
  private readonly steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const failures: unknown[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
  }
}
