import { ParleyServerError } from '../errors.ts';

export interface QueueAdmissionOptions {
  /** Most conversations waiting from one client address (MAX_QUEUED_PER_IP). */
  perAddress: number;
  /** Most conversations waiting in all (MAX_QUEUED_TOTAL). */
  total: number;
  /** The ids of the conversations waiting when this node starts (their addresses are not known). */
  queuedAtStart: () => Promise<string[]>;
}

/**
 * Who may wait in the queue: at most so many conversations from one client address, and so many in all, so a
 * flood from one address fills its own share and never the queue other visitors wait in. It follows every
 * conversation entering the queue (`admit`) and leaving it (taken or closed: `left`).
 */
export class QueueAdmission {
  readonly #options: QueueAdmissionOptions;
  /** Every waiting conversation → its client address ('' for one found at start). */
  readonly #queued = new Map<string, string>();
  readonly #perAddress = new Map<string, number>();
  #loaded: Promise<void> | null = null;

  constructor(options: QueueAdmissionOptions) {
    this.#options = options;
  }

  /**
   * Admits a new conversation from `address` to the queue, or throws: `rate_limited` when that address has
   * its share waiting, `capacity` when the queue is full. Nothing awaits between the check and the count.
   */
  async admit(sessionID: string, address: string): Promise<void> {
    await (this.#loaded ??= this.#load());
    const { perAddress, total } = this.#options;
    const mine = this.#perAddress.get(address) ?? 0;
    if (mine >= perAddress) {
      throw ParleyServerError.rateLimited(`${mine} conversations from your address are waiting, the most MAX_QUEUED_PER_IP allows (${perAddress}); wait for an agent`);
    }
    if (this.#queued.size >= total) {
      throw new ParleyServerError('capacity', `${this.#queued.size} conversations are waiting, the most MAX_QUEUED_TOTAL allows (${total}); try again shortly`);
    }
    this.#queued.set(sessionID, address);
    this.#perAddress.set(address, mine + 1);
  }

  /** A conversation left the queue (an agent took it, it closed, or it was never created). */
  left(sessionID: string): void {
    const address = this.#queued.get(sessionID);
    if (address === undefined) return;
    this.#queued.delete(sessionID);
    const n = (this.#perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.#perAddress.set(address, n);
    else this.#perAddress.delete(address);
  }

  async #load(): Promise<void> {
    for (const id of await this.#options.queuedAtStart()) if (!this.#queued.has(id)) this.#queued.set(id, '');
  }
}
