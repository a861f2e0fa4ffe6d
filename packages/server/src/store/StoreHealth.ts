import type { Logger } from 'pino';
import { TypedEmitter } from '../events/TypedEmitter.ts';
import { unavailableReason } from './unavailable.ts';

/** Whether the database answers, and if not, since when and why (fixed words, safe for `/healthz`). */
export type StoreHealthState = { healthy: true } | { healthy: false; reason: string; since: string };

export interface StoreHealthEvents {
  /** The database stopped answering, or answers again. */
  change: [state: StoreHealthState];
}

export interface StoreHealthOptions {
  /** Asks the database a trivial question (Store.ping). */
  ping: () => Promise<void>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Between probes while healthy (ms): an outage nobody's request has hit yet still shows. Default 5000. */
  healthyIntervalMs?: number;
  /** Between probes while unhealthy (ms): how soon a recovery shows. Default 1000. */
  unhealthyIntervalMs?: number;
  /** A probe unanswered this long counts as failed (ms). Default 5000. */
  probeTimeoutMs?: number;
}

/**
 * Follows whether the store's database answers. A request that fails with an `unavailable` error marks it
 * unhealthy at once ({@link failed}); then it is probed every second until it answers, and every few seconds
 * while it does. Nothing waits for it: requests still go to the database (and fail fast while it is away), so
 * the node recovers as soon as the database does, and `/healthz` tells a load balancer meanwhile.
 */
export class StoreHealth extends TypedEmitter<StoreHealthEvents> {
  readonly #options: StoreHealthOptions;
  #state: StoreHealthState = { healthy: true };
  #timer: NodeJS.Timeout | null = null;
  #probing = false;
  #running = false;

  constructor(options: StoreHealthOptions) {
    super((err) => options.log.error({ err }, 'store health listener failed'));
    this.#options = options;
  }

  get state(): StoreHealthState {
    return this.#state;
  }

  /** Starts probing. */
  start(): void {
    this.#running = true;
    this.#schedule();
  }

  /** Stops probing (the store is closing). */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * A store operation failed. When the failure says the database is unavailable (see unavailableReason), it is
   * unhealthy now and probed every second; any other failure (a constraint, a session the server ended for
   * idling) changes nothing.
   */
  failed(err: unknown): void {
    if (unavailableReason(err) !== null) this.#unhealthy(err);
  }

  #schedule(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    const { healthyIntervalMs = 5000, unhealthyIntervalMs = 1000 } = this.#options;
    this.#timer = setTimeout(() => void this.#probe(), this.#state.healthy ? healthyIntervalMs : unhealthyIntervalMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    this.#timer = null;
    if (this.#probing || !this.#running) return;
    this.#probing = true;
    try {
      await withTimeout(this.#options.ping(), this.#options.probeTimeoutMs ?? 5000);
      this.#healthy();
    } catch (err) {
      this.#unhealthy(err);
    } finally {
      this.#probing = false;
      this.#schedule();
    }
  }

  #unhealthy(err: unknown): void {
    const reason = unavailableReason(err) ?? 'the database does not answer';
    const wasHealthy = this.#state.healthy;
    if (!wasHealthy && this.#state.reason === reason) return;
    this.#state = { healthy: false, reason, since: this.#state.healthy ? new Date().toISOString() : this.#state.since };
    if (wasHealthy) {
      this.#options.log.error({ err, reason }, 'the database is unavailable; requests that need it fail until it is back');
      this.#schedule();
    }
    this.emit('change', this.#state);
  }

  #healthy(): void {
    if (this.#state.healthy) return;
    this.#options.log.info({ down: this.#state }, 'the database is available again');
    this.#state = { healthy: true };
    this.emit('change', this.#state);
  }
}

/** `promise`, or a rejection once `ms` have passed without it settling. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
