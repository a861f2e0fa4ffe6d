import { TokenBucket } from './TokenBucket.ts';

/** Per-IP buckets for the unauthenticated routes; all are forgotten when too many addresses were seen. */
export class IpLimiter {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Spends one token of this address; false when it has none left. */
  take(ip: string): boolean {
    let bucket = this.#buckets.get(ip);
    if (!bucket) {
      if (this.#buckets.size > 100_000) this.#buckets.clear();
      this.#buckets.set(ip, (bucket = new TokenBucket(this.rate, this.burst)));
    }
    return bucket.take();
  }
}
