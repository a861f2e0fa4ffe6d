/*
 * Clean-up that must happen however the run ends. A measured server undoes what it made in its own
 * `finally`; but Ctrl-C and the hard time limit end the process without unwinding, so whatever lives outside
 * it (a PostgreSQL database made for the run) is also registered here, and undone before the process exits.
 */

type Teardown = () => Promise<void>;

const pending = new Map<symbol, { name: string; run: Teardown }>();

/**
 * Registers `run` (which must be safe to call twice) until the returned function is called: call that
 * after undoing the thing normally.
 */
export function registerTeardown(name: string, run: Teardown): () => void {
  const key = Symbol(name);
  pending.set(key, { name, run });
  return () => {
    pending.delete(key);
  };
}

/**
 * Runs every registered teardown at once and waits for them, at most `timeoutMs`; returns what failed or
 * did not finish, in words.
 */
export async function runTeardowns(timeoutMs: number): Promise<string[]> {
  const all = [...pending.values()];
  pending.clear();
  const problems: string[] = [];
  const finished = Promise.all(
    all.map(({ name, run }) =>
      run().catch((error: unknown) => {
        problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') problems.push(`teardown still running after ${timeoutMs} ms (${all.map((t) => t.name).join(', ')})`);
  return problems;
}
