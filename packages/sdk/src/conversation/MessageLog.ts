import type { Message } from '../wire.ts';

/**
 * A conversation's messages in `seq` order, delivered exactly once. Messages may arrive twice
 * (a `result` and a `message` frame), out of order, or with gaps (a frame lost on a dropped socket);
 * the log keeps what it has seen, buffers what is ahead of a gap, and releases messages only once
 * every earlier seq has been released.
 *
 * Until {@link MessageLog.seed} is called (the history page of a freshly opened conversation), every
 * live message is buffered.
 */
export class MessageLog {
  private readonly items: Message[] = [];
  private readonly ahead = new Map<number, Message>();
  private seeded = false;
  private lastSeqValue = 0;

  /** Highest seq released so far (every seq up to it has been released). */
  get lastSeq(): number {
    return this.lastSeqValue;
  }

  /** Seq of the oldest message held, or `lastSeq + 1` when none is held. */
  get firstSeq(): number {
    return this.items[0]?.seq ?? this.lastSeqValue + 1;
  }

  /** True while messages wait behind a missing seq. */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  /** The messages held, oldest first (a copy). */
  get messages(): Message[] {
    return this.items.slice();
  }

  /**
   * Sets the history known when the conversation was opened (not released as new). Returns the
   * buffered live messages that now follow it without a gap, in order: these are new.
   */
  seed(history: readonly Message[]): Message[] {
    const sorted = uniqueBySeq(history);
    this.items.splice(0, this.items.length, ...sorted);
    this.lastSeqValue = Math.max(this.lastSeqValue, sorted[sorted.length - 1]?.seq ?? 0);
    this.seeded = true;
    for (const seq of this.ahead.keys()) if (seq <= this.lastSeqValue) this.ahead.delete(seq);
    return this.drain();
  }

  /** Offers a live message. Returns the messages released by it, in order (empty for a duplicate or a gap). */
  accept(message: Message): Message[] {
    if (message.seq <= this.lastSeqValue || this.ahead.has(message.seq)) return [];
    this.ahead.set(message.seq, message);
    return this.seeded ? this.drain() : [];
  }

  /** Adds older history in front (from paging back). Returns the messages actually added, oldest first. */
  prepend(older: readonly Message[]): Message[] {
    const first = this.firstSeq;
    const added = uniqueBySeq(older).filter((m) => m.seq < first);
    this.items.unshift(...added);
    return added;
  }

  private drain(): Message[] {
    const released: Message[] = [];
    let next = this.ahead.get(this.lastSeqValue + 1);
    while (next) {
      this.ahead.delete(next.seq);
      this.items.push(next);
      released.push(next);
      this.lastSeqValue = next.seq;
      next = this.ahead.get(this.lastSeqValue + 1);
    }
    return released;
  }
}

function uniqueBySeq(messages: readonly Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of messages) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
