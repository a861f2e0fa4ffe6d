/**
 * Counts events per key over a sliding window: at most `limit` in any `windowMs`. Keys with nothing left in
 * the window are forgotten, so memory follows the keys active in the last window only.
 */
export class SlidingWindow {
  readonly #events = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Records one event of `key`; returns 0 when it fits, or how many ms until it would (nothing recorded). */
  take(key: string, now = Date.now()): number {
    const since = now - this.windowMs;
    const times = (this.#events.get(key) ?? []).filter((t) => t > since);
    if (times.length >= this.limit) {
      this.#events.set(key, times);
      return (times[0] ?? now) + this.windowMs - now;
    }
    times.push(now);
    this.#events.set(key, times);
    if (this.#events.size > 10_000) this.#prune(since);
    return 0;
  }

  /** Forgets a key (its conversation closed). */
  forget(key: string): void {
    this.#events.delete(key);
  }

  #prune(since: number): void {
    for (const [key, times] of this.#events) if ((times.at(-1) ?? 0) <= since) this.#events.delete(key);
  }
}
