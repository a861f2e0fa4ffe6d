import { useEffect, useState } from 'preact/hooks';

/**
 * A tiny observable state holder: the models write with `set`, the components read with `useStore`.
 * Listeners that throw are caught and logged so one broken view never stops the others.
 */
export class Store<S extends object> {
  private value: S;
  private readonly listeners = new Set<(state: S) => void>();

  constructor(initial: S) {
    this.value = initial;
  }

  /** The current state. */
  get state(): S {
    return this.value;
  }

  /** Merges a change into the state and tells the listeners. */
  set(patch: Partial<S>): void {
    this.value = { ...this.value, ...patch };
    for (const listener of this.listeners) {
      try {
        listener(this.value);
      } catch (err) {
        console.error('Parley widget: a view failed to update', err);
      }
    }
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (state: S) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Re-renders the component whenever the store changes. */
export function useStore<S extends object>(store: Store<S>): S {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(setState);
  }, [store]);
  return state;
}
