/*
 * Waiting on state that changes as frames and log lines arrive: whoever changes it calls `notify()`, and a
 * waiter's probe is checked again at each change until it gives a value or its time is up.
 */

/** The waiters of one changing state. */
export class Changes {
  readonly #waiters = new Set<() => void>();

  /** The state changed: every waiter checks its probe again. */
  notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  /**
   * Resolves with `probe()` once it is not null (checked now and at each change), or with null after
   * `timeoutMs` or as soon as `stop()` holds.
   */
  until<T>(probe: () => T | null, timeoutMs: number, stop: () => boolean = () => false): Promise<T | null> {
    const now = stop() ? null : probe();
    if (now !== null || stop()) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (value: T | null): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const check = (): void => {
        if (stop()) return done(null);
        const value = probe();
        if (value !== null) done(value);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.#waiters.add(check);
    });
  }
}
