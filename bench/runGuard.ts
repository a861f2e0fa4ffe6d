import { killAllChildren } from './servers.ts';
import { runTeardowns } from './teardown.ts';

/*
 * What keeps a benchmark run bounded: every child is killed when the process exits; Ctrl-C, SIGTERM and a hard
 * time limit kill the servers, undo what the run made outside itself (its PostgreSQL databases, see
 * teardown.ts) and exit non-zero.
 */

/** How long an interrupted run waits for its clean-up (dropping its PostgreSQL databases) before it exits anyway. */
const TEARDOWN_TIMEOUT_MS = 10_000;

export interface RunGuard {
  /**
   * Kills the servers, undoes what the run made outside itself, and exits with `code`. Once: a signal also
   * makes the run itself fail (its servers are gone), and that failure must not exit before the clean-up is done.
   */
  abort(code: number): Promise<never>;
  /** The run is over: the hard time limit no longer applies. */
  finish(): void;
}

/** Guards the run of this process, which must end within `timeoutSeconds`. */
export function guardRun(timeoutSeconds: number, log: (line: string) => void): RunGuard {
  let aborting: Promise<never> | null = null;
  const abort = (code: number): Promise<never> => {
    aborting ??= (async () => {
      killAllChildren();
      for (const problem of await runTeardowns(TEARDOWN_TIMEOUT_MS)) log(`clean-up failed: ${problem}`);
      process.exit(code);
    })();
    return aborting;
  };
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void abort(130);
    });
  }
  const hardStop = setTimeout(() => {
    log(`hard timeout of ${timeoutSeconds} s reached; killing the servers`);
    void abort(3);
  }, timeoutSeconds * 1000);
  return { abort, finish: () => clearTimeout(hardStop) };
}

/** A logger to stderr that stamps each line with `name` and the seconds since `startedAt`. */
export function benchLog(name: string, startedAt: Date): (line: string) => void {
  return (line) => {
    process.stderr.write(`[${name} ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  };
}

/** What {@link guardCleanup} gives back. */
export interface CleanupGuard {
  /** True once the run is being stopped early. */
  readonly aborting: boolean;
  /** The run ended by itself: the hard time limit no longer applies. */
  finish(): void;
}

/**
 * The same bound for a run whose processes the e2e harness started (browsers, servers, Janus, a network namespace),
 * all registered in `cleanup`: on the time limit, Ctrl-C or SIGTERM, the cleanup runs (for at most 30 s) and the
 * process exits non-zero.
 */
export function guardCleanup(name: string, timeoutSeconds: number, cleanup: { run(): Promise<void> }): CleanupGuard {
  let aborting = false;
  const abort = async (why: string): Promise<void> => {
    if (aborting) return;
    aborting = true;
    console.error(`${name}: ${why}; stopping`);
    await Promise.race([cleanup.run().catch(() => {}), new Promise((done) => setTimeout(done, 30_000))]);
    process.exit(1);
  };
  const hardStop = setTimeout(() => void abort(`the ${timeoutSeconds} s limit expired`), timeoutSeconds * 1000);
  process.once('SIGINT', () => void abort('interrupted'));
  process.once('SIGTERM', () => void abort('terminated'));
  return {
    get aborting() {
      return aborting;
    },
    finish: () => clearTimeout(hardStop),
  };
}
