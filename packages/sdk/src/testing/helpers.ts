/* Test helpers for the SDK's Node tests (never imported by the SDK itself). */
import type { EventMap, TypedEmitter } from '../TypedEmitter.ts';

/** Resolves with the arguments of the next `event` (that satisfies `accept`), or rejects after `timeoutMs`. */
export function waitFor<E extends EventMap<E>, K extends keyof E>(
  emitter: TypedEmitter<E>,
  event: K,
  accept: (...args: E[K]) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out waiting for "${String(event)}"`));
    }, timeoutMs);
    const stop = emitter.on(event, (...args: E[K]) => {
      if (!accept(...args)) return;
      clearTimeout(timer);
      stop();
      resolve(args);
    });
  });
}

/**
 * Resolves once `condition()` holds (checked every few ms), or rejects after `timeoutMs` with what it waited
 * for (`label`) and, when `seen` is given, what it saw last (e.g. `() => ({ state: contact.video.state })`).
 */
export async function until(condition: () => boolean, label: string, timeoutMs = 5_000, seen?: () => unknown): Promise<void> {
  // A monotonic clock: the wall clock may jump on shared machines.
  const started = performance.now();
  while (!condition()) {
    const waited = performance.now() - started;
    if (waited > timeoutMs) throw new Error(`timed out after ${Math.round(waited)} ms waiting until ${label}${seen ? `; saw ${describe(seen)}` : ''}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What a `seen` callback returns, as one line (never throws). */
function describe(seen: () => unknown): string {
  try {
    return JSON.stringify(seen()) ?? 'undefined';
  } catch (err) {
    return `(could not describe: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** A reconnection policy that retries at once (a few ms), for fast tests. */
export const immediateRetry = (attempt: number): number | null => (attempt < 50 ? 5 : null);
