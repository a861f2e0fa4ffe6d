/** What CorkedWrites needs of a socket: Node's writable cork and uncork. */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly destroyed?: boolean;
}

/**
 * Frames written to one socket during one turn of the event loop leave in one system call. The first write of a
 * turn corks the socket; every socket corked this turn is uncorked together at the end of the turn
 * (setImmediate), and Node then writes what each holds with a single `writev`. An agent that hears of fifty
 * conversations' messages stored by one group commit gets them in one write instead of fifty; the order of the
 * frames on each socket is unchanged. What waits is never delayed past the current turn.
 */
export class CorkedWrites {
  readonly #corked = new Set<Corkable>();
  #scheduled: ReturnType<typeof setImmediate> | null = null;

  /** Holds the socket's writes until the end of this turn (once a turn; later calls do nothing). */
  hold(socket: Corkable): void {
    if (this.#corked.has(socket)) return;
    socket.cork();
    this.#corked.add(socket);
    this.#scheduled ??= setImmediate(() => this.release());
  }

  /** Uncorks every socket held now (the end of the turn; also before a socket closes). */
  release(): void {
    if (this.#scheduled !== null) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    const sockets = [...this.#corked];
    this.#corked.clear();
    for (const socket of sockets) {
      if (socket.destroyed !== true) socket.uncork();
    }
  }

  /** Sockets held at the moment (for the tests). */
  get held(): number {
    return this.#corked.size;
  }
}
