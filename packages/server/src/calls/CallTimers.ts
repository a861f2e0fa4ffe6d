import type { CallDeadline } from './Call.ts';

/** A timer of a call: one per deadline (its ring, a participant's grace period or invitation). */
export type CallTimer = CallDeadline;

/**
 * The timers this node arms for its calls. The deadlines themselves are call state; a timer only makes this
 * node act on time. Timers never keep the process alive.
 */
export class CallTimers {
  readonly #timers = new Map<string, NodeJS.Timeout>();

  /** Arms a timer unless it is armed already. */
  arm(callId: string, timer: CallTimer, ms: number, fire: () => void): void {
    const key = `${callId}/${timer}`;
    if (this.#timers.has(key)) return;
    const handle = setTimeout(() => {
      this.#timers.delete(key);
      fire();
    }, ms);
    handle.unref();
    this.#timers.set(key, handle);
  }

  /** Disarms a timer; true when it was armed. */
  disarm(callId: string, timer: CallTimer): boolean {
    const key = `${callId}/${timer}`;
    const handle = this.#timers.get(key);
    if (!handle) return false;
    clearTimeout(handle);
    this.#timers.delete(key);
    return true;
  }

  /** Disarms the timers of one call that are not named in `timers`. */
  keepOnly(callId: string, timers: readonly CallTimer[]): void {
    const keep = new Set(timers.map((t) => `${callId}/${t}`));
    for (const [key, handle] of this.#timers) {
      if (!key.startsWith(`${callId}/`) || keep.has(key)) continue;
      clearTimeout(handle);
      this.#timers.delete(key);
    }
  }

  /** Disarms every timer of one call. */
  disarmCall(callId: string): void {
    for (const [key, handle] of this.#timers) {
      if (!key.startsWith(`${callId}/`)) continue;
      clearTimeout(handle);
      this.#timers.delete(key);
    }
  }

  /** Disarms everything (shutdown). */
  disarmAll(): void {
    for (const handle of this.#timers.values()) clearTimeout(handle);
    this.#timers.clear();
  }
}
