import type { QueuedConversation, QueueUpdatedFrame } from '../wire.ts';

/**
 * An agent's view of the waiting queue: its first `limit` entries, oldest first, and how many wait in all.
 * Kept from one page (`queue.list`) and the server's news (`queue.updated`), so it never needs the whole queue.
 * When entries leave and the view holds fewer than it could, {@link QueueView.missing} says how many to fetch
 * after the last one.
 */
export class QueueView {
  #entries: QueuedConversation[] = [];
  #size = 0;

  constructor(readonly limit: number) {}

  /** The entries held, oldest first (at most `limit`). */
  get entries(): QueuedConversation[] {
    return [...this.#entries];
  }

  /** How many conversations wait in all, as the server last said. */
  get size(): number {
    return this.#size;
  }

  /** How many entries the view lacks to show `min(limit, size)`; 0 when it is full. */
  get missing(): number {
    return Math.max(0, Math.min(this.limit, this.#size) - this.#entries.length);
  }

  /** The sessionID to page after when filling the view (undefined: from the start). */
  get last(): string | undefined {
    return this.#entries.at(-1)?.sessionID;
  }

  /** Starts over from the queue's first page. */
  reset(page: readonly QueuedConversation[], size: number): void {
    this.#entries = page.slice(0, this.limit);
    this.#size = size;
  }

  /** Adds a page that follows the held entries (ones already held are skipped). */
  append(page: readonly QueuedConversation[], size: number): void {
    const held = new Set(this.#entries.map((q) => q.sessionID));
    this.#entries = [...this.#entries, ...page.filter((q) => !held.has(q.sessionID))].slice(0, this.limit);
    this.#size = size;
  }

  /** Applies one `queue.updated`: drops what left, inserts what came at its position when the view reaches it. */
  apply(frame: QueueUpdatedFrame): void {
    if (frame.removed && frame.removed.length > 0) {
      const removed = new Set(frame.removed);
      this.#entries = this.#entries.filter((q) => !removed.has(q.sessionID));
    }
    const added = frame.added;
    if (added !== undefined && frame.position !== undefined && frame.position <= this.#entries.length && frame.position < this.limit) {
      if (!this.#entries.some((q) => q.sessionID === added.sessionID)) {
        this.#entries.splice(frame.position, 0, added);
        this.#entries.length = Math.min(this.#entries.length, this.limit);
      }
    }
    this.#size = frame.size;
  }
}
