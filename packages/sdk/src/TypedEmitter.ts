/** Maps each event name to the tuple of arguments its listeners receive. */
export type EventMap<T> = { [K in keyof T]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;

interface Registration {
  /** A `Listener` of the event it is registered under. */
  listener: unknown;
  once: boolean;
}

/**
 * A small typed event emitter. `on` and `once` return a function that removes the listener.
 * A listener that throws is caught and reported with `console.error`: it never breaks the SDK
 * or the other listeners of the same event.
 *
 * @example
 * ```ts
 * const stop = contact.on('message', (m) => render(m));
 * stop(); // no more messages
 * ```
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  private readonly registrations = new Map<keyof Events, Registration[]>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    return this.add(event, listener, false);
  }

  /** Adds a listener called at most once; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    return this.add(event, listener, true);
  }

  /** Removes a listener added with `on` or `once`. Removing an unknown listener does nothing. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.registrations.get(event);
    if (!list) return;
    const index = list.findIndex((r) => r.listener === listener);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.registrations.delete(event);
  }

  /** Removes every listener of one event, or of all events. */
  removeAllListeners(event?: keyof Events): void {
    if (event === undefined) this.registrations.clear();
    else this.registrations.delete(event);
  }

  /** How many listeners an event has. */
  listenerCount(event: keyof Events): number {
    return this.registrations.get(event)?.length ?? 0;
  }

  /** Calls every listener of `event` in the order they were added. Returns whether there was any. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.registrations.get(event);
    if (!list || list.length === 0) return false;
    for (const registration of [...list]) {
      const listener = registration.listener as Listener<Events[K]>;
      if (registration.once) this.off(event, listener);
      try {
        listener(...args);
      } catch (err) {
        console.error(`Parley: a "${String(event)}" listener threw`, err);
      }
    }
    return true;
  }

  private add<K extends keyof Events>(event: K, listener: Listener<Events[K]>, once: boolean): () => void {
    let list = this.registrations.get(event);
    if (!list) {
      list = [];
      this.registrations.set(event, list);
    }
    list.push({ listener, once });
    return () => this.off(event, listener);
  }
}
