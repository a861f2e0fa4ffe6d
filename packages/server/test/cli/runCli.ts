import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, ROOT, tail, waitFor } from '../../../../e2e/support/harness.ts';
import { TEST_SECRET } from '../support/server.ts';

/*
 * The `parley` command as a user runs it, in a process of its own: by default the TypeScript
 * source through tsx (always the code under test, built or not); PARLEY_CLI names a bundle to run
 * instead (e.g. packages/server/dist/cli.js).
 */

const CLI = process.env['PARLEY_CLI'] ?? join(ROOT, 'packages/server/src/cli.ts');
const CLI_ARGS = CLI.endsWith('.ts') ? ['--import', 'tsx', CLI] : [CLI];

/** How a finished run ended and what it printed. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `parley` process. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when it exits; rejects (after killing it) when it runs past `timeoutMs`. */
  exited(timeoutMs: number): Promise<CliResult>;
  /** SIGTERM, then SIGKILL if it lingers; resolves when it is gone. */
  stop(): Promise<void>;
}

/**
 * Starts `parley ...args` from the repository root. The environment is this process's without
 * DATABASE_URL (a run never picks up the caller's database by accident), plus `env`.
 */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const base = { ...process.env };
  delete base['DATABASE_URL'];
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async exited(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`parley ${args.join(' ')} did not exit within ${timeoutMs} ms\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([done, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const lingering = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(lingering);
    },
  };
}

/** The environment of a test's `parley` run: DATA_DIR, quiet logs, no demo agent, the tests' token secret, then `extra`. */
export function cliEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATA_DIR: dataDir, LOG_LEVEL: 'warn', DEMO_AGENT: 'false', TOKEN_SECRET: TEST_SECRET, ...extra };
}

/**
 * How long a command that should finish by itself may take before the test fails it: a bound for a
 * loaded machine (tsx compiles the CLI on each start), scaled like every test limit.
 */
export const CLI_TIMEOUT_MS = 60_000 * (Number(process.env['PARLEY_TEST_TIMEOUT_SCALE'] ?? 1) || 1);

/** Runs `parley ...args` to its end (failing the test if it runs past CLI_TIMEOUT_MS). */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return startCli(args, env).exited(CLI_TIMEOUT_MS);
}

/** Whether anything accepts a TCP connection on 127.0.0.1:port right now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A `parley start` that answers /healthz. */
export interface CliServer {
  url: string;
  port: number;
  process: CliProcess;
}

/**
 * Runs `parley start` on a free loopback port and resolves once `/healthz` answers 200; fails with
 * its output when it exits first or does not get there within CLI_TIMEOUT_MS (it is stopped then).
 */
export async function startCliServer(env: Record<string, string>): Promise<CliServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startCli(['start'], { ...env, PORT: String(port), HOST: '127.0.0.1' });
  try {
    await waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new Error(`parley start exited (${server.child.exitCode}): ${server.stderr()}`);
        return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
      },
      { timeoutMs: CLI_TIMEOUT_MS, what: `${url}/healthz to answer 200`, seen: () => server.stderr() },
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url, port, process: server };
}
