/** The part of `window.localStorage` the SDK uses. Pass your own to keep state elsewhere. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Storage that lives as long as the page (used where localStorage is missing or blocked). */
export class MemoryStorage implements KeyValueStorage {
  private readonly items = new Map<string, string>();

  /** The value stored under `key`, or null. */
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  /** Stores `value` under `key`. */
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }

  /** Forgets `key` (nothing happens when it is not stored). */
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** `window.localStorage` when present and writable (it throws in some private modes), else memory. */
export function defaultStorage(): KeyValueStorage {
  try {
    if (typeof localStorage !== 'undefined' && localStorage) {
      const probe = 'parley:probe';
      localStorage.setItem(probe, '1');
      localStorage.removeItem(probe);
      return localStorage;
    }
  } catch {
    // blocked (sandboxed iframe, private mode): fall through
  }
  return new MemoryStorage();
}

/** Reads a JSON value; a missing or unreadable entry is null. */
export function readJson<T>(storage: KeyValueStorage, key: string): T | null {
  try {
    const raw = storage.getItem(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null;
  }
}

/** Writes a JSON value; a full or blocked storage is reported, not thrown. */
export function writeJson(storage: KeyValueStorage, key: string, value: unknown): void {
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch (err) {
    console.warn(`Parley: could not save ${key}`, err);
  }
}

/** Storage keys, namespaced by server so one page can talk to several servers. */
export const storageKeys = {
  visitorIdentity: (server: string): string => `parley:${server}:visitor`,
  outbox: (server: string, identityId: string): string => `parley:${server}:outbox:${identityId}`,
};
