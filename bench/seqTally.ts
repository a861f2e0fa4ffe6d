import type { OrderCounts } from './fleet.ts';

/*
 * What one receiving connection saw of each conversation's order. Every message of a conversation has a seq,
 * one more than the previous; a receiver that hears a conversation live must hear each seq once and in order.
 * The first seq heard of a conversation is where its count starts (what came before is history).
 */

interface Heard {
  /** The first seq heard. */
  first: number;
  /** The highest seq heard. */
  last: number;
  /** Seqs between `first` and `last` jumped over and not heard yet. */
  skipped: Set<number>;
  /** Seqs below `first` heard after it (each came after a later one). */
  below: Set<number>;
}

/** Counts duplicated and out-of-order seqs per conversation, as they arrive on one connection. */
export class SeqTally<K = string> {
  readonly #heard = new Map<K, Heard>();
  #duplicated = 0;
  #reordered = 0;

  /** Records that `seq` of conversation `key` arrived. */
  see(key: K, seq: number): void {
    const heard = this.#heard.get(key);
    if (!heard) {
      this.#heard.set(key, { first: seq, last: seq, skipped: new Set(), below: new Set() });
      return;
    }
    if (seq > heard.last) {
      for (let s = heard.last + 1; s < seq; s++) heard.skipped.add(s);
      heard.last = seq;
    } else if (heard.skipped.delete(seq)) {
      this.#reordered++;
    } else if (seq >= heard.first) {
      this.#duplicated++;
    } else if (heard.below.has(seq)) {
      this.#duplicated++;
    } else {
      heard.below.add(seq);
      this.#reordered++;
    }
  }

  /** The counts since the previous call (the seqs heard stay known). */
  take(): OrderCounts {
    const counts = { duplicated: this.#duplicated, reordered: this.#reordered };
    this.#duplicated = 0;
    this.#reordered = 0;
    return counts;
  }

  /** Seqs jumped over and not heard since, over every conversation. */
  get missing(): number {
    let n = 0;
    for (const heard of this.#heard.values()) n += heard.skipped.size;
    return n;
  }
}
