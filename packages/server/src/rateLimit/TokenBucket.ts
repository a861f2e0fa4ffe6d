/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. `take()` spends one token
 * when there is one. Time comes from a clock function so tests need no sleeps.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;
  #rate: number;
  #burst: number;

  constructor(
    rate: number,
    burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now();
  }

  take(cost = 1): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** Multiplies rate and burst (an agent's connection gets a larger bucket once it is known to be an agent). */
  scale(factor: number): void {
    this.#rate *= factor;
    this.#burst *= factor;
  }
}
