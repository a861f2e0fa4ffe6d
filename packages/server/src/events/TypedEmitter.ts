/** Event name → the arguments its listeners get (e.g. `{ closed: [event: Closed] }`). */
export type EventMap<Events> = { [K in keyof Events]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * One typed event map per emitter. Listeners run synchronously, in the order they were added; a listener
 * that throws is reported to `onListenerError` and never breaks the emitter or the listeners after it.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (err: unknown, event: keyof Events) => void) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(...args);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }
}
