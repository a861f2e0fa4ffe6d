import { readJson, writeJson, type KeyValueStorage } from '../storage.ts';

/** What is remembered of a live call, so a reloaded page rejoins it and draws into the same div. */
export interface StoredCall {
  callId: string;
  divID: string | null;
}

/** The stored record of one conversation's call (one key per sessionID). */
export class CallStorage {
  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string,
  ) {}

  /** The remembered call, or null. */
  read(): StoredCall | null {
    const value = readJson<StoredCall>(this.storage, this.key);
    return value && typeof value.callId === 'string' ? value : null;
  }

  /** Remembers the call this page takes part in. */
  write(value: StoredCall): void {
    writeJson(this.storage, this.key, value);
  }

  /** Forgets it (the call ended). */
  clear(): void {
    try {
      this.storage.removeItem(this.key);
    } catch {
      // blocked storage: nothing to clear
    }
  }
}

/** The storage key prefix of call records for a server; the sessionID follows it. */
export const callStoragePrefix = (server: string): string => `parley:${server}:call:`;
