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

/** Resolves once `condition()` holds (checked every few ms), or rejects after `timeoutMs`. */
export async function until(condition: () => boolean, label: string, timeoutMs = 5_000): Promise<void> {
  // A monotonic clock: the wall clock may jump on shared machines.
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${label}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A reconnection policy that retries at once (a few ms), for fast tests. */
export const immediateRetry = (attempt: number): number | null => (attempt < 50 ? 5 : null);
