/** Tuning of the reconnection backoff. */
export interface RetryPolicyOptions {
  /** Ceiling of the first delay. Default 500 ms. */
  baseDelayMs?: number;
  /** No delay is longer than this. Default 30 s. */
  maxDelayMs?: number;
  /** After this many attempts in a row the SDK gives up (`null`). Default 100 (roughly 25 minutes). */
  maxAttempts?: number;
  /** Source of randomness in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

/** The defaults of {@link nextRetryDelayMs}. */
export const DEFAULT_RETRY_POLICY = { baseDelayMs: 500, maxDelayMs: 30_000, maxAttempts: 100 } as const;

/**
 * How long to wait before reconnection attempt number `attempt` (0 for the first retry), or `null`
 * to give up. Exponential backoff with full jitter: a uniformly random delay between 0 and
 * `min(maxDelayMs, baseDelayMs * 2^attempt)`, so that many clients dropped at once (a server restart)
 * do not come back at the same instant.
 *
 * @example
 * ```ts
 * nextRetryDelayMs(0); // 0..500
 * nextRetryDelayMs(3); // 0..4000
 * nextRetryDelayMs(100); // null: give up
 * ```
 */
export function nextRetryDelayMs(attempt: number, options: RetryPolicyOptions = {}): number | null {
  const base = options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs;
  const maxAttempts = options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts;
  const random = options.random ?? Math.random;
  if (!(attempt >= 0) || attempt >= maxAttempts) return null;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** A reconnection policy: the delay before attempt `attempt`, or null to stop trying. */
export type RetryPolicy = (attempt: number) => number | null;
